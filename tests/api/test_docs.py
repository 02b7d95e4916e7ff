"""/docs, /redoc and /favicon.ico without a browser: every URL the pages name is the service's own
and answers, the icon is a real ICO, the pages stay out of the OpenAPI document, and the vendored
files are the ones vendor/README.md records. (tests/browser/test_docs_offline.py renders them.)"""

from __future__ import annotations

import hashlib
import re
import struct

import pytest
from fastapi.testclient import TestClient

from app.api.assets import STATIC_DIR
from app.main import create_app
from app.settings import Settings

VENDOR = STATIC_DIR / "vendor"
PAGES = ("/docs", "/redoc")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# every URL the pages name: attributes, and the quoted strings of Swagger UI's inline set-up script
REFERENCE = re.compile(r"""(?:src|href|spec-url)="([^"]*)"|url: '([^']*)'|\+ '([^']*)'""")
CONTENT_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


def _references(html: str) -> list[str]:
    return [
        next(group for group in match.groups() if group is not None) for match in REFERENCE.finditer(html)
    ]


@pytest.mark.parametrize("page", PAGES)
def test_docs_pages_name_only_urls_of_the_service(client: TestClient, page: str) -> None:
    html = client.get(page).text
    assert not re.search(r"(?:https?:)?//", html), "an absolute URL: another host would be asked"
    references = _references(html)
    assert "/openapi.json" in references and "/static/favicon.svg" in references
    assert any(url.startswith("/static/vendor/") and url.endswith(".js") for url in references)
    for url in references:
        assert url.startswith("/"), url
        if url.startswith("/docs/oauth2-redirect"):  # an HTML page of its own, used for OAuth2 only
            continue
        answer = client.get(url)
        assert answer.status_code == 200, url
        expected = CONTENT_TYPES[url[url.rindex(".") :]]
        assert answer.headers["content-type"].split(";")[0] == expected, url


def test_docs_pages_keep_their_titles(client: TestClient) -> None:
    assert "<title>Raster WPS - Swagger UI</title>" in client.get("/docs").text
    assert "<title>Raster WPS - ReDoc</title>" in client.get("/redoc").text
    assert client.get("/docs/oauth2-redirect").status_code == 200


def test_swagger_ui_asks_no_online_validator(client: TestClient) -> None:
    """By default Swagger UI shows a badge image from validator.swagger.io for a spec that is not on
    localhost: on a real host name every visit would call it."""
    assert re.search(r'"validatorUrl":\s*null', client.get("/docs").text)


def test_redoc_loads_no_web_fonts(client: TestClient) -> None:
    assert "fonts.googleapis.com" not in client.get("/redoc").text


@pytest.mark.parametrize("page", PAGES)
def test_docs_pages_behind_a_proxy_prefix_name_prefixed_urls(settings: Settings, page: str) -> None:
    with TestClient(create_app(settings), root_path="/geo") as prefixed:
        references = _references(prefixed.get(page).text)
        assert references and all(url.startswith("/geo/") for url in references), references
        for url in references:
            if "/static/" in url:
                assert prefixed.get(url).status_code == 200, url


def test_favicon_ico_is_an_icon_of_png_frames(client: TestClient) -> None:
    answer = client.get("/favicon.ico")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/x-icon"
    data = answer.content
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind) == (0, 1)  # 1: an icon (2 would be a cursor)
    sizes = []
    for index in range(count):
        width, height, _, _, _, _, size, offset = struct.unpack_from("<BBBBHHII", data, 6 + 16 * index)
        frame = data[offset : offset + size]
        assert frame.startswith(PNG_SIGNATURE) and len(frame) == size
        png_width, png_height = struct.unpack_from(">II", frame, 16)  # the IHDR chunk
        assert (png_width, png_height) == (width or 256, height or 256)
        sizes.append(width)
    assert {16, 32} <= set(sizes)


def test_favicon_svg_is_served(client: TestClient) -> None:
    answer = client.get("/static/favicon.svg")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/svg+xml"
    assert answer.text.lstrip().startswith("<svg")


def test_docs_pages_and_icon_stay_out_of_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/docs", "/docs/oauth2-redirect", "/redoc", "/favicon.ico"} & set(paths)
    assert not [path for path in paths if path.startswith("/static")]


@pytest.mark.parametrize("package", ["swagger-ui-dist", "redoc"])
def test_vendored_docs_files_have_the_checksums_their_readme_records(package: str) -> None:
    readme = (VENDOR / "README.md").read_text()
    listed = dict(re.findall(rf"^\| `({package}/[^`]+)` \| `([0-9a-f]{{64}})` \|$", readme, re.M))
    on_disk = {str(path.relative_to(VENDOR)) for path in (VENDOR / package).rglob("*") if path.is_file()}
    assert set(listed) == on_disk
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert (VENDOR / package / "LICENSE").is_file()
