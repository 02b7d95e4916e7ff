"""``GET /map``: the page, the assets it loads (all local, all there), its configuration and policy.

The page in a real browser is tested in tests/browser/test_map_client.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import bcrypt
import pytest
from fastapi.testclient import TestClient

from app.api.assets import STATIC_DIR
from app.api.map_page import content_security_policy, render_page
from app.main import create_app
from app.settings import Settings

PAGE_URL = "http://testserver/map"
VENDOR = STATIC_DIR / "vendor"


class _References(HTMLParser):
    """The URLs a page loads (stylesheets, icons, scripts) and the ones it links to (anchors)."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "link" and values.get("href"):
            self.loads.append(str(values["href"]))
        elif tag == "script" and values.get("src"):
            self.loads.append(str(values["src"]))
        elif tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))


def _references(html: str) -> _References:
    parser = _References()
    parser.feed(html)
    return parser


def _imports(url: str, text: str) -> list[str]:
    """The URLs a stylesheet (``url(...)``) or an ES module (``import ... from "..."``) loads."""
    if url.endswith(".css"):
        found = re.findall(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", text)
        found = [target for target in found if not target.startswith("#")]  # IE's behavior: url(#...)
    else:
        found = re.findall(r"""(?:^|\s)(?:import|export)\s[^'"]*?from\s+["']([^"']+)["']""", text, re.M)
        found += re.findall(r"""^import\s+["']([^"']+)["']""", text, re.M)
    return [urljoin(url, target) for target in found]


def _config(html: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="map-config">(.*?)</script>', html, re.S)
    assert match is not None
    config: dict[str, object] = json.loads(match.group(1))
    return config


def test_the_page_loads_only_local_assets_and_every_one_answers(client: TestClient) -> None:
    page = client.get("/map")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    references = _references(page.text)
    pending = [urljoin(PAGE_URL, href) for href in references.loads]
    assert any(url.endswith("/static/vendor/leaflet/leaflet.js") for url in pending)
    assert any(url.endswith("/static/favicon.svg") for url in pending)
    seen: set[str] = set()
    while pending:
        url = pending.pop()
        if url in seen:
            continue
        seen.add(url)
        assert urlsplit(url).netloc == "testserver", f"{url} is not served by the service"
        answer = client.get(url)
        assert answer.status_code == 200, url
        if url.endswith((".css", ".js")):
            pending += _imports(url, answer.text)
    paths = {urlsplit(url).path for url in seen}
    # the modules main.js imports and the images leaflet.css names were followed too
    assert {"/static/map/form.js", "/static/map/bbox.js", "/static/vendor/leaflet/images/layers.png"} <= paths
    for href in references.links:
        assert not urlsplit(href).netloc and client.get(urljoin(PAGE_URL, href)).status_code == 200, href


def test_every_reference_is_relative_so_a_path_prefix_works(client: TestClient) -> None:
    references = _references(client.get("/map").text)
    for href in references.loads + references.links:
        assert not href.startswith(("/", "http:", "https:")), href
    for module in (STATIC_DIR / "map").glob("*.js"):
        for target in _imports(f"http://testserver/static/map/{module.name}", module.read_text()):
            assert target.startswith("http://testserver/static/map/"), (module.name, target)
        # requests to the service go through api.js, relative to the page
        assert "fetch(" not in module.read_text() or module.name == "api.js", module.name


def test_the_basemap_is_what_the_settings_say(client: TestClient) -> None:
    assert _config(client.get("/map").text) == {
        "basemap": {
            "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            "attribution": "© OpenStreetMap contributors",
        }
    }


def test_an_empty_environment_variable_means_no_basemap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WPS_BASEMAP_URL", "")
    monkeypatch.setenv("WPS_BASEMAP_ATTRIBUTION", "tiles: ours")
    settings = Settings()
    assert (settings.basemap_url, settings.basemap_attribution) == ("", "tiles: ours")
    assert _config(render_page(settings))["basemap"] == {"url": "", "attribution": "tiles: ours"}


def test_configuration_values_cannot_break_out_of_the_page(tmp_path: Path) -> None:
    hostile = '</script><script>alert(1)</script><!-- & "quoted"'
    settings = Settings(data_dir=tmp_path, basemap_attribution=hostile, service_title="<b>Title</b>")
    html = render_page(settings)
    assert "<script>alert" not in html and "<b>Title" not in html and "&lt;b&gt;Title" in html
    assert _config(html)["basemap"] == {"url": settings.basemap_url, "attribution": hostile}


@pytest.mark.parametrize(
    ("basemap", "images"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
        ("https://{s}.tile.example.org:8443/{z}/{x}/{y}.png", "https://*.tile.example.org:8443"),
        ("http://127.0.0.1:9000/tiles/{z}/{x}/{y}.png", "http://127.0.0.1:9000"),
        ("https://tiles-{s}.example.org/{z}/{x}/{y}.png", "https:"),  # no CSP host pattern for this
        ("basemap/{z}/{x}/{y}.png", ""),  # relative: the service itself
        ("", ""),
    ],
)
def test_the_content_policy_allows_the_service_and_the_basemap_only(
    tmp_path: Path, basemap: str, images: str
) -> None:
    settings = Settings(data_dir=tmp_path, public_url="https://wps.example.org/", basemap_url=basemap)
    policy = dict(directive.split(" ", 1) for directive in content_security_policy(settings).split("; "))
    expected_images = ["'self'", "data:", "https://wps.example.org"] + ([images] if images else [])
    assert policy["img-src"].split() == expected_images
    assert policy["script-src"] == policy["style-src"] == policy["default-src"] == "'self'"
    assert policy["connect-src"].split() == ["'self'", "https://wps.example.org"]
    assert policy["object-src"] == "'none'"


def test_the_page_is_public_while_jobs_ask_for_credentials(tmp_path: Path) -> None:
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"alice:{bcrypt.hashpw(b'secret', bcrypt.gensalt(rounds=4)).decode()}\n")
    settings = Settings(data_dir=tmp_path / "data", public_url="http://testserver", auth_htpasswd=htpasswd)
    with TestClient(create_app(settings)) as client:
        page = client.get("/map")
        assert page.status_code == 200 and "Content-Security-Policy" in page.headers
        jobs = client.get("/jobs")  # the browser's Basic prompt comes from this challenge
        assert jobs.status_code == 401 and "Basic" in jobs.headers["www-authenticate"]
        assert client.get("/jobs", auth=("alice", "secret")).status_code == 200


def test_vendored_leaflet_files_have_the_checksums_their_readme_records() -> None:
    rows = re.findall(
        r"^\| `(leaflet/[^`]+)` \| `([0-9a-f]{64})` \|$", (VENDOR / "README.md").read_text(), re.M
    )
    listed = dict(rows)
    on_disk = {str(path.relative_to(VENDOR)) for path in (VENDOR / "leaflet").rglob("*") if path.is_file()}
    assert set(listed) == on_disk
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
