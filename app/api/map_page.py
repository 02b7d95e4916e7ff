"""``GET /map``: the built-in web client (processes, a form per process, jobs, results on a map).

The page is a small HTML shell; its code and styles are static files under ``app/web/static/map/``
and Leaflet is vendored under ``app/web/static/vendor/leaflet/``. All URLs in the page are relative, so it
works behind a proxy that mounts the service under a path. What the page needs to know from the
server (the basemap) is embedded as a JSON data block, escaped so that no value can close it.

A Content-Security-Policy lets the browser load scripts, styles and data from this service only,
and images from this service and the configured basemap's origin: the promise that the page
loads nothing from elsewhere is enforced by the browser, not only kept by the page.
"""

from __future__ import annotations

import html
import json
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.api.deps import settings_of
from app.api.routing import ServiceRoute
from app.settings import Settings

router = APIRouter(route_class=ServiceRoute, include_in_schema=False)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - map</title>
<link rel="icon" href="static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="static/vendor/leaflet/leaflet.css">
<link rel="stylesheet" href="static/map/map.css">
<script type="application/json" id="map-config">{config}</script>
<script src="static/vendor/leaflet/leaflet.js" defer></script>
<script type="module" src="static/map/main.js"></script>
</head>
<body>
<aside id="panel">
  <header><h1>{title}</h1><a href="docs">API docs</a></header>
  <section id="process-section">
    <label for="process">Process</label>
    <select id="process" disabled><option>loading...</option></select>
    <p id="process-description"></p>
    <form id="execute-form" novalidate></form>
  </section>
  <section id="job-section" hidden>
    <h2>Job <span id="job-id"></span></h2>
    <progress id="job-progress" max="100" value="0"></progress>
    <p id="job-status" role="status"></p>
    <div id="job-problem" class="problem" hidden></div>
    <div id="job-results"></div>
  </section>
  <section id="jobs-section">
    <h2>Recent jobs <button type="button" id="jobs-refresh" title="Refresh">&#x21bb;</button></h2>
    <ol id="jobs"></ol>
  </section>
</aside>
<main id="map"></main>
</body>
</html>
"""


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request) -> HTMLResponse:
    """The map client's page, with the basemap settings embedded and its content policy."""
    settings = settings_of(request)
    return HTMLResponse(
        render_page(settings),
        headers={"Content-Security-Policy": content_security_policy(settings), "Cache-Control": "no-cache"},
    )


def render_page(settings: Settings) -> str:
    """The page's HTML with the client's configuration as an inert JSON data block."""
    return PAGE.format(title=html.escape(settings.service_title), config=script_json(client_config(settings)))


def client_config(settings: Settings) -> dict[str, object]:
    """What the page learns from the server: the basemap (``url`` empty = none)."""
    return {"basemap": {"url": settings.basemap_url, "attribution": settings.basemap_attribution}}


def script_json(value: object) -> str:
    """JSON safe inside ``<script>``: no ``<``, ``>`` or ``&`` can end the block or start a comment."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def content_security_policy(settings: Settings) -> str:
    """Scripts, styles and requests: this service only; images: also the basemap's tile server."""
    service = _origin(settings.public_url)
    images = " ".join(dict.fromkeys(["'self'", "data:", service, _origin(settings.basemap_url)]))
    connect = " ".join(dict.fromkeys(["'self'", service]))
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {images}".strip(),
            f"connect-src {connect}".strip(),
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ]
    )


def _origin(url: str) -> str:
    """The CSP source of a URL (template): scheme://host[:port]; a ``{s}.`` subdomain becomes ``*.``;
    '' for an empty or relative URL (already 'self')."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return ""
    host = parts.netloc.rpartition("@")[2]
    if host.startswith("{s}."):
        host = "*." + host.removeprefix("{s}.")
    if "{" in host or "}" in host:  # a placeholder CSP cannot express: allow the scheme
        return f"{parts.scheme}:"
    return f"{parts.scheme}://{host}"
