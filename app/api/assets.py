"""``/static/...``: the files of the browser-facing pages (map client, API docs), all served locally.

Nothing a page of this service loads comes from another origin: the pages work on a machine
without internet, and a browser never tells a CDN who uses the service. Third-party files are
vendored under ``app/web/static/vendor/`` with their licences (see its ``README.md``).

The service's icon is ``app/web/static/favicon.svg`` (the pages link it) and ``/favicon.ico``, which
browsers request on their own for any page that links none.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from app.web import STATIC_DIR

STATIC_PATH = "/static"
FAVICON_SVG = "favicon.svg"  # under STATIC_PATH
FAVICON_ICO = "favicon.ico"
# What browsers expect (and nginx sends). With IANA's image/vnd.microsoft.icon (Python's guess)
# chromium refuses to decode the icon in a page of another origin.
ICO_MEDIA_TYPE = "image/x-icon"


def install_assets(app: FastAPI) -> None:
    """Serve ``STATIC_DIR`` under ``/static`` (with ETag and Last-Modified, as StaticFiles does),
    and the icon at ``/favicon.ico``."""
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="static")

    @app.get(f"/{FAVICON_ICO}", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / FAVICON_ICO, media_type=ICO_MEDIA_TYPE)
