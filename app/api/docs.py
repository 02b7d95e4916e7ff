"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc): the OpenAPI document, rendered by files this service serves.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, ReDoc's fonts from Google and the favicon
from FastAPI's site: on a machine without internet they stay blank, and elsewhere every visit tells
those hosts who reads the docs. These pages are FastAPI's (same HTML, title and OpenAPI URL) with
every URL pointing at ``/static`` (vendored files, see ``static/vendor/README.md``), ReDoc without
web fonts, and Swagger UI's online validator badge switched off (for a spec not on localhost it is
an image from validator.swagger.io). Like FastAPI's pages, they are left out of the OpenAPI
document and prefix every URL with the ASGI ``root_path``, so they also work behind a proxy prefix.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

from app.api.assets import FAVICON_SVG, STATIC_PATH

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
SWAGGER_UI_JS = "vendor/swagger-ui-dist/swagger-ui-bundle.js"
SWAGGER_UI_CSS = "vendor/swagger-ui-dist/swagger-ui.css"
REDOC_JS = "vendor/redoc/redoc.standalone.js"
SWAGGER_UI_PARAMETERS: dict[str, Any] = {"validatorUrl": None}  # no badge image from validator.swagger.io


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs``, its OAuth2 redirect page and ``/redoc`` (create the app with both URLs None)."""
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url
    parameters = SWAGGER_UI_PARAMETERS | (app.swagger_ui_parameters or {})

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root_path(request)
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=_static(root, SWAGGER_UI_JS),
            swagger_css_url=_static(root, SWAGGER_UI_CSS),
            swagger_favicon_url=_static(root, FAVICON_SVG),
            oauth2_redirect_url=root + redirect_url if redirect_url else None,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=parameters,
        )

    async def redoc(request: Request) -> HTMLResponse:
        root = _root_path(request)
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=_static(root, REDOC_JS),
            redoc_favicon_url=_static(root, FAVICON_SVG),
            with_google_fonts=False,
        )

    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_route(DOCS_PATH, swagger_ui, include_in_schema=False)
    if redirect_url:
        app.add_route(redirect_url, oauth2_redirect, include_in_schema=False)
    app.add_route(REDOC_PATH, redoc, include_in_schema=False)


def _root_path(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _static(root: str, name: str) -> str:
    return f"{root}{STATIC_PATH}/{name}"
