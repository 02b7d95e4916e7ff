"""Links of the JSON face: absolute URLs under the public base URL, paging links."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from app.ogcapi.models import Link
from app.ogcapi.replies import JSON
from app.settings import Settings

REL = "http://www.opengis.net/def/rel/ogc/1.0/"


def url(settings: Settings, path: str, **query: Any) -> str:
    """An absolute URL under the public base URL."""
    params = {key: value for key, value in query.items() if value not in (None, [], ())}
    suffix = f"?{urlencode(params, doseq=True)}" if params else ""
    return f"{settings.public_url}{path}{suffix}"


def link(settings: Settings, path: str, rel: str, type_: str = JSON, title: str | None = None) -> Link:
    """A link to a resource of this service."""
    return Link(href=url(settings, path), rel=rel, type=type_, title=title)


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
