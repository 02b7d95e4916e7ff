"""Content negotiation of the JSON resources: ``f`` and ``Accept`` must admit JSON (else 406)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request

from app.model.errors import HttpError

JSON = "application/json"
_JSON_RANGES = frozenset({JSON, "application/*", "*/*", "application/problem+json"})


async def negotiate(
    request: Request,
    f: Annotated[
        str | None,
        Query(description="Response format; only `json` is offered (anything else answers 406)."),
    ] = None,
) -> None:
    """Refuse with 406 a request that wants something else than JSON (``f`` or ``Accept``).

    HTML is not offered: ``f=html``, or an ``Accept`` header naming only ``text/html``, get 406; a
    browser's usual ``Accept`` (which ends in ``*/*``) gets JSON.
    """
    if f is not None and f.strip().lower() != "json":
        raise HttpError(f"format {f!r} is not offered; use f=json", status=406)
    accept = request.headers.get("accept")
    if accept and not accepts_json(accept):
        raise HttpError(f"none of {accept!r} is offered; this resource is application/json", status=406)


def accepts_json(accept: str) -> bool:
    """Whether an ``Accept`` header admits application/json (with a quality above zero)."""
    for media_range in accept.split(","):
        media, *params = (part.strip() for part in media_range.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media.lower() in _JSON_RANGES and quality > 0:
            return True
    return False
