"""CORS (``WPS_CORS_ORIGINS``): browsers on the listed origins may call every endpoint.

Preflight OPTIONS is answered for every path (``/wps`` POST with ``Content-Type: text/xml``
included); the headers a client needs to read are exposed (job ``Location``, result ``Link``,
``Preference-Applied``, ``Content-Range`` of ranged downloads, ``ETag``). Nothing is added when no
origin is configured.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from app.settings import Settings

ALLOWED_HEADERS = (
    "Accept",
    "Accept-Language",
    "Authorization",
    "Content-Type",
    "If-None-Match",
    "Prefer",
    "Range",
    "X-API-Key",
    "X-Request-ID",
)
EXPOSED_HEADERS = (
    "Content-Disposition",
    "Content-Range",
    "Accept-Ranges",
    "ETag",
    "Link",
    "Location",
    "Preference-Applied",
    "WWW-Authenticate",
    "X-Request-ID",
)


def install_cors(app: FastAPI, settings: Settings) -> None:
    """Add the CORS middleware when origins are configured (outermost: error answers carry it too)."""
    if not settings.cors_origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "HEAD", "POST", "DELETE", "OPTIONS"],
        allow_headers=list(ALLOWED_HEADERS),
        expose_headers=list(EXPOSED_HEADERS),
        max_age=600,
    )
