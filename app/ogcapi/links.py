"""What every JSON resource shares: content negotiation, links, JSON responses."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from app.api.ogc.models import Link
from app.settings import Settings

JSON = "application/json"
REL = "http://www.opengis.net/def/rel/ogc/1.0/"
_JSON_RANGES = frozenset({JSON, "application/*", "*/*", "application/problem+json"})


def negotiate(
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
        raise HTTPException(406, f"format {f!r} is not offered; use f=json")
    accept = request.headers.get("accept")
    if accept and not accepts_json(accept):
        raise HTTPException(406, f"none of {accept!r} is offered; this resource is application/json")


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


def url(settings: Settings, path: str, **query: Any) -> str:
    """An absolute URL under the public base URL."""
    params = {key: value for key, value in query.items() if value not in (None, [], ())}
    suffix = f"?{urlencode(params, doseq=True)}" if params else ""
    return f"{settings.public_url}{path}{suffix}"


def link(settings: Settings, path: str, rel: str, type_: str = JSON, title: str | None = None) -> Link:
    """A link to a resource of this service."""
    return Link(href=url(settings, path), rel=rel, type=type_, title=title)


def json_response(
    document: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON response of a model (dumped without ``None`` members) or a plain structure."""
    content = document.dump() if hasattr(document, "dump") else document
    return JSONResponse(content, status_code=status_code, headers=headers, media_type=JSON)


def page_links(
    settings: Settings, path: str, limit: int, offset: int, more: bool, **filters: Any
) -> list[Link]:
    """``self``, and ``next``/``prev`` when there are more items either side of this page."""

    def page(rel: str, start: int) -> Link:
        return Link(
            href=url(settings, path, limit=limit, offset=start or None, **filters), rel=rel, type=JSON
        )

    links = [page("self", offset)]
    if more:
        links.append(page("next", offset + limit))
    if offset > 0:
        links.append(page("prev", max(offset - limit, 0)))
    return links
