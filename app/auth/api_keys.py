"""API keys sent as ``X-API-Key``, stored as SHA-256 hashes in a file of ``user:hexdigest`` lines.

The file is written by the operator, e.g. ``printf '%s' "$KEY" | sha256sum`` for the digest; blank
lines and ``#`` comments are ignored. A user may hold several keys (one line each: rotate without a
gap). A digest listed for two different users is refused for both, with a warning. Keys should be
long random tokens (e.g. ``python -c 'import secrets; print(secrets.token_urlsafe(32))'``): a plain
SHA-256 is fine for those, not for passwords.

Checking compares the key's digest with every stored digest in constant time, without stopping at
the first match, so timing reveals neither whether nor where a key is listed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.auth.watched import WatchedFile

log = logging.getLogger(__name__)

_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class KeyTable:
    """The keys of one version of the file: (user, SHA-256 digest) pairs."""

    entries: tuple[tuple[str, bytes], ...]


def parse_api_keys(text: str, source: str = "api keys") -> KeyTable:
    """Read ``user:hexdigest`` lines; malformed lines and digests shared by two users are dropped."""
    owners: dict[bytes, str] = {}
    shared: set[bytes] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, _, digest = (part.strip() for part in line.partition(":"))
        if not user or not _HEX_DIGEST.fullmatch(digest):
            log.warning("auth: %s line %d is not `user:sha256-hex`; ignored", source, number)
            continue
        value = bytes.fromhex(digest)
        if owners.get(value, user) != user:
            log.warning("auth: %s line %d gives a key another user holds; refused for both", source, number)
            shared.add(value)
        owners.setdefault(value, user)
    return KeyTable(tuple((user, value) for value, user in owners.items() if value not in shared))


class ApiKeys:
    """Finds the owner of an API key in a file that may change at run time. Thread-safe."""

    def __init__(
        self, path: Path, *, reload_interval: float = 2.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._file = WatchedFile(path, parse_api_keys, interval=reload_interval, clock=clock)

    def owner(self, key: str) -> str | None:
        """The user the key belongs to, or None."""
        table, _ = self._file.current()
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        found: str | None = None
        for user, stored in table.entries:
            # every entry is compared, whatever matched before: no early exit
            if hmac.compare_digest(stored, digest):
                found = user
        return found
