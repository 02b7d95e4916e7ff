"""The browser-facing side of the service: the map client (``/map``) and every file a page loads.

``static/`` is served under ``/static`` (``app/api/assets.py``): the map client's modules and
styles (``static/map/``), the service's icon, and the third-party files the pages need (Leaflet,
Swagger UI, ReDoc), vendored under ``static/vendor/`` with their licences and checksums
(``static/vendor/README.md``). No page loads anything from a CDN.
"""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
