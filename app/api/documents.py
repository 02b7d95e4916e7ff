"""Discovery documents rendered once: capabilities and process descriptions, with their ETag.

An app's registry and settings never change while it runs, so the answer to a given
GetCapabilities or DescribeProcess request (of a given face and version) never does either: it is
rendered on first use and served from memory afterwards, with a strong ``ETag`` so that clients
can revalidate with ``If-None-Match`` (304). Errors are never cached. The cache is bounded (least
recently used requests are dropped first).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from app.model.codec import Codec
from app.model.replies import Reply
from app.model.requests import DescribeProcessRequest, GetCapabilitiesRequest

Discovery = GetCapabilitiesRequest | DescribeProcessRequest


class RenderedDocuments:
    """A bounded memo of discovery replies keyed by (face, version, request)."""

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._replies: OrderedDict[tuple[str, str, Discovery], Reply] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, codec: Codec[Any], request: object) -> Reply | None:
        """The reply already rendered for ``request`` under ``codec``, if any (never blocks on I/O)."""
        if not isinstance(request, GetCapabilitiesRequest | DescribeProcessRequest):
            return None
        with self._lock:
            return self._replies.get((codec.face, codec.version, request))

    def reply(self, codec: Codec[Any], request: Discovery, render: Callable[[], Reply]) -> Reply:
        """The cached reply to ``request`` under ``codec``, rendering it (once) when missing."""
        key = (codec.face, codec.version, request)
        with self._lock:
            cached = self._replies.get(key)
            if cached is not None:
                self._replies.move_to_end(key)
                return cached
        rendered = with_etag(render())
        with self._lock:
            self._replies[key] = rendered
            while len(self._replies) > self.capacity:
                self._replies.popitem(last=False)
        return rendered


def with_etag(reply: Reply) -> Reply:
    """The reply with a strong ETag of its body (bytes bodies only) and revalidation required."""
    if not isinstance(reply.body, bytes):
        return reply
    tag = '"' + hashlib.sha256(reply.body).hexdigest()[:32] + '"'
    return replace(reply, headers={**reply.headers, "ETag": tag, "Cache-Control": "no-cache"})
