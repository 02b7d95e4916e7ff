"""``/static/...``: the files of the browser-facing pages (map client, API docs), all served locally.

Nothing a page of this service loads comes from another origin: the pages work on a machine
without internet, and a browser never tells a CDN who uses the service. Third-party files are
vendored under ``static/vendor/`` with their licences (see ``static/vendor/README.md``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PATH = "/static"


def install_assets(app: FastAPI) -> None:
    """Serve ``STATIC_DIR`` under ``/static`` (with ETag and Last-Modified, as StaticFiles does)."""
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="static")
