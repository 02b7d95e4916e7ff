"""/docs and /redoc in a real browser, with nothing but 127.0.0.1 reachable: each renders every
operation of /openapi.json from the service's own files, asks no other host, and logs no error.

The service runs as a child process (``uvicorn app.main:app``), once for this module; its tests
stay on one xdist worker, which also shares one chromium between them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.browser import PageWatch
from tests.support.service import running_service

pytestmark = pytest.mark.xdist_group("browser-docs")

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
RENDER_TIMEOUT_MS = 30_000  # a 1-2 MB bundle parsed and run on a busy CI machine


@pytest.fixture(scope="module")
def service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real service, configured by its environment as in production."""
    with running_service(tmp_path_factory.mktemp("docs-service") / "data") as url:
        yield url


@pytest.fixture(scope="module")
def openapi(service_url: str) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(f"{service_url}/openapi.json", timeout=10).json()
    return document


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        operation | {"method": method.upper(), "path": path}
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_swagger_ui_renders_every_operation_offline(
    watched: PageWatch, service_url: str, openapi: dict[str, Any]
) -> None:
    page = watched.page
    page.goto(f"{service_url}/docs")
    operations = _operations(openapi)
    blocks = page.locator("#swagger-ui .opblock")
    expect(blocks).to_have_count(len(operations), timeout=RENDER_TIMEOUT_MS)

    methods_and_paths = blocks.evaluate_all(
        """blocks => blocks.map(block => [
            block.querySelector('.opblock-summary-method').textContent,
            block.querySelector('.opblock-summary-path').dataset.path,
        ])"""
    )
    assert sorted(map(tuple, methods_and_paths)) == sorted((op["method"], op["path"]) for op in operations)
    assert page.title() == f"{openapi['info']['title']} - Swagger UI"
    assert "/static/favicon.svg" in watched.local_paths()  # the page's icon, from the service

    watched.screenshot("docs-swagger-ui")
    watched.assert_stayed_local()
    watched.assert_no_errors()


def test_redoc_renders_every_operation_offline(
    watched: PageWatch, service_url: str, openapi: dict[str, Any]
) -> None:
    page = watched.page
    page.goto(f"{service_url}/redoc")
    operations = _operations(openapi)
    sections = page.locator("redoc [data-section-id^='operation/']")
    expect(sections).to_have_count(len(operations), timeout=RENDER_TIMEOUT_MS)

    shown = {section.get_attribute("data-section-id") for section in sections.all()}
    assert shown == {f"operation/{op['operationId']}" for op in operations}
    badges = page.locator("redoc .menu-content label span.operation-type")  # class: its method
    methods = badges.evaluate_all(
        "badges => badges.map(badge => badge.classList[badge.classList.length - 1])"
    )
    assert sorted(methods) == sorted(op["method"].lower() for op in operations)
    assert page.title() == f"{openapi['info']['title']} - ReDoc"
    assert "/static/favicon.svg" in watched.local_paths()

    watched.screenshot("docs-redoc")
    watched.assert_stayed_local()
    watched.assert_no_errors()


def test_favicon_ico_is_an_image_the_browser_decodes(watched: PageWatch, service_url: str) -> None:
    """The icon browsers ask for on their own, decoded as an image by chromium (what a tab shows)."""
    size = watched.page.evaluate(
        """async url => {
            const icon = new Image();
            icon.src = url;
            await icon.decode();
            return [icon.naturalWidth, icon.naturalHeight];
        }""",
        f"{service_url}/favicon.ico?from=test",  # Playwright aborts, unseen, any URL ending in /favicon.ico
    )
    assert size[0] == size[1] >= 16
    assert watched.local_paths() == ["/favicon.ico?from=test"]
    watched.assert_stayed_local()
    watched.assert_no_errors()
