"""Guarded reference handling, against a real HTTP server on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.model.errors import DataNotAccessible, FileSizeExceeded
from app.model.requests import ComplexValue
from app.raster.egress import is_guarded, remote_url
from app.raster.fetch import fetch_bytes, materialize, resolve_reference
from app.raster.guard import check_url, is_public_address
from app.raster.open import open_raster
from app.settings import Settings
from tests.support.dataserver import DataServer
from tests.support.rasters import Raster, RasterFactory

LOOPBACK = ["127.0.0.1"]


def make_settings(tmp_path: Path, **fields: object) -> Settings:
    """Settings on a temporary data dir, whatever the environment says."""
    return Settings(data_dir=tmp_path / "data", **fields)  # type: ignore[arg-type]


@pytest.fixture
def raster(tmp_path: Path) -> Raster:
    return RasterFactory(tmp_path / "served")("a.tif", width=64, height=48, blocksize=16)


@pytest.fixture
def server(raster: Raster) -> Iterator[DataServer]:
    with DataServer(raster.path.parent) as data_server:
        yield data_server


def ref(href: str, **fields: object) -> ComplexValue:
    return ComplexValue(href=href, **fields)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- address classes


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::1",  # 6to4 wrapping 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 wrapping 10.0.0.1
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/a.tif",
        "http://192.168.0.10:8080/a.tif",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/a.tif",
        "http://[::ffff:127.0.0.1]/a.tif",
        "http://[fe80::1]/a.tif",
        "http://0.0.0.0:8000/a.tif",
        "http://2130706433/a.tif",  # 127.0.0.1 as one decimal number
        "http://127.1/a.tif",
        "http://0x7f.0.0.1/a.tif",
        "http://localhost/a.tif",
    ],
)
def test_guard_refuses_non_public_hosts_under_star(tmp_path: Path, url: str) -> None:
    with pytest.raises(DataNotAccessible) as caught:
        check_url(url, make_settings(tmp_path), "raster")
    assert caught.value.locator == "raster"


@pytest.mark.parametrize(
    ("url", "listed"),
    [
        ("http://10.1.2.3/a.tif", "10.1.2.3"),
        ("http://[::1]/a.tif", "::1"),
        ("http://[::1]/a.tif", "[::1]"),
        ("http://LocalHost./a.tif", "localhost"),
        ("http://data.internal.example/a.tif", "*.internal.example"),
    ],
)
def test_guard_allows_non_public_hosts_listed_by_name(tmp_path: Path, url: str, listed: str) -> None:
    check_url(url, make_settings(tmp_path, allowed_hosts=["*", listed]), "raster")


def test_listing_an_address_does_not_list_its_names(tmp_path: Path) -> None:
    with pytest.raises(DataNotAccessible, match="not allowed"):
        check_url("http://localhost/a.tif", make_settings(tmp_path, allowed_hosts=LOOPBACK), "raster")


@pytest.mark.parametrize(
    "url", ["http://user:pw@127.0.0.1/a.tif", "http://127.0.0.1\\@8.8.8.8/", "http://127.0.0.1 /a"]
)
def test_guard_refuses_ambiguous_urls(tmp_path: Path, url: str) -> None:
    with pytest.raises(DataNotAccessible):
        check_url(url, make_settings(tmp_path, allowed_hosts=LOOPBACK), "raster")


# ----------------------------------------------------------------------------- http references


def test_loopback_refused_under_default_settings(tmp_path: Path, server: DataServer) -> None:
    with pytest.raises(DataNotAccessible) as caught:
        resolve_reference(ref(server.url("a.tif")), make_settings(tmp_path), "raster", tmp_path)
    assert caught.value.locator == "raster"
    assert server.requests == []


def test_ipv6_loopback_refused(tmp_path: Path, server: DataServer) -> None:
    href = f"http://[::1]:{server.port}/a.tif"
    with pytest.raises(DataNotAccessible):
        resolve_reference(ref(href), make_settings(tmp_path), "raster", tmp_path)


def test_loopback_allowed_when_listed_by_name(tmp_path: Path, server: DataServer, raster: Raster) -> None:
    settings = make_settings(tmp_path, allowed_hosts=LOOPBACK)
    path = resolve_reference(ref(server.url("a.tif")), settings, "raster", tmp_path)
    assert remote_url(path) == server.url("a.tif") and is_guarded(path)
    opened = open_raster(path, chunk_size=256, locator="raster")
    np.testing.assert_array_equal(opened.values, raster.data)


def test_a_changed_remote_file_is_read_afresh(tmp_path: Path, server: DataServer, raster: Raster) -> None:
    settings = make_settings(tmp_path, allowed_hosts=LOOPBACK)
    first = resolve_reference(ref(server.url("a.tif")), settings, "raster", tmp_path)
    np.testing.assert_array_equal(open_raster(first, chunk_size=256, locator="r").values, raster.data)
    changed = RasterFactory(tmp_path / "other")("a.tif", width=64, height=48, blocksize=16, seed=7)
    raster.path.write_bytes(changed.path.read_bytes())  # a new version at the same URL
    second = resolve_reference(ref(server.url("a.tif")), settings, "raster", tmp_path)
    np.testing.assert_array_equal(open_raster(second, chunk_size=256, locator="r").values, changed.data)


def test_redirect_followed_to_allowed_target(tmp_path: Path, server: DataServer) -> None:
    settings = make_settings(tmp_path, allowed_hosts=LOOPBACK)
    hops = server.redirect_url(server.redirect_url(server.url("a.tif"), 307), 301)
    assert remote_url(resolve_reference(ref(hops), settings, "raster", tmp_path)) == server.url("a.tif")


@pytest.mark.parametrize(
    ("allowed", "target"),
    [
        (LOOPBACK, "http://localhost:{port}/a.tif"),
        (LOOPBACK, "http://169.254.169.254/latest/meta-data/"),
        ([*LOOPBACK, "*"], "http://[::1]:{port}/a.tif"),
        ([*LOOPBACK, "*"], "http://10.0.0.1/a.tif"),
        (LOOPBACK, "file:///etc/passwd"),
    ],
)
def test_redirect_to_disallowed_target_refused(
    tmp_path: Path, server: DataServer, allowed: list[str], target: str
) -> None:
    settings = make_settings(tmp_path, allowed_hosts=allowed)
    href = server.redirect_url(target.format(port=server.port))
    with pytest.raises(DataNotAccessible):
        resolve_reference(ref(href), settings, "raster", tmp_path)
    assert [entry.path.split("?")[0] for entry in server.requests] == ["/redirect"]


def test_too_many_redirects(tmp_path: Path, server: DataServer) -> None:
    href = server.url("a.tif")
    for _ in range(6):
        href = server.redirect_url(href)
    with pytest.raises(DataNotAccessible, match="redirects"):
        resolve_reference(ref(href), make_settings(tmp_path, allowed_hosts=LOOPBACK), "raster", tmp_path)


@pytest.mark.parametrize("status", [403, 404, 410, 500, 503])
def test_error_status_is_data_not_accessible(tmp_path: Path, server: DataServer, status: int) -> None:
    settings = make_settings(tmp_path, allowed_hosts=LOOPBACK)
    with pytest.raises(DataNotAccessible, match=str(status)):
        resolve_reference(ref(f"{server.base_url}/status/{status}"), settings, "raster", tmp_path)


def test_missing_file_is_data_not_accessible(tmp_path: Path, server: DataServer) -> None:
    settings = make_settings(tmp_path, allowed_hosts=LOOPBACK)
    with pytest.raises(DataNotAccessible, match="404"):
        resolve_reference(ref(server.url("missing.tif")), settings, "raster", tmp_path)


def test_size_cap_from_content_length(tmp_path: Path, server: DataServer, raster: Raster) -> None:
    size = raster.path.stat().st_size
    settings = make_settings(tmp_path, allowed_hosts=LOOPBACK, max_input_bytes=size - 1)
    with pytest.raises(FileSizeExceeded) as caught:
        resolve_reference(ref(server.url("a.tif")), settings, "raster", tmp_path)
    assert caught.value.locator == "raster"
    assert server.bytes_sent == 0
    exact = make_settings(tmp_path, allowed_hosts=LOOPBACK, max_input_bytes=size)
    assert is_guarded(resolve_reference(ref(server.url("a.tif")), exact, "raster", tmp_path))


def test_head_refused_falls_back_to_ranged_get(tmp_path: Path, raster: Raster) -> None:
    size = raster.path.stat().st_size
    with DataServer(raster.path.parent, head_allowed=False) as server:
        settings = make_settings(tmp_path, allowed_hosts=LOOPBACK)
        assert is_guarded(resolve_reference(ref(server.url("a.tif")), settings, "r", tmp_path))
        capped = make_settings(tmp_path, allowed_hosts=LOOPBACK, max_input_bytes=size - 1)
        with pytest.raises(FileSizeExceeded):
            resolve_reference(ref(server.url("a.tif")), capped, "r", tmp_path)
        assert [entry.range for entry in server.requests if entry.method == "GET"] == ["bytes=0-0"] * 2


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = make_settings(tmp_path, allowed_hosts=LOOPBACK)
    with pytest.raises(DataNotAccessible, match="could not be fetched"):
        resolve_reference(ref(f"http://127.0.0.1:{port}/a.tif"), settings, "raster", tmp_path)


def test_timeout(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        settings = make_settings(tmp_path, allowed_hosts=LOOPBACK, http_timeout=0.3)
        with pytest.raises(DataNotAccessible, match="timed out"):
            resolve_reference(ref(f"http://127.0.0.1:{port}/a.tif"), settings, "raster", tmp_path)


def test_post_reference_is_downloaded(tmp_path: Path, server: DataServer, raster: Raster) -> None:
    body = raster.path.read_bytes()
    value = ref(f"{server.base_url}/echo", method="POST", body=body)
    workdir = tmp_path / "job"
    path = resolve_reference(value, make_settings(tmp_path, allowed_hosts=LOOPBACK), "raster", workdir)
    assert Path(path).parent == workdir
    assert Path(path).read_bytes() == body
    np.testing.assert_array_equal(open_raster(path, chunk_size=256, locator="r").values, raster.data)


def test_download_respects_cap_and_leaves_nothing(tmp_path: Path, server: DataServer, raster: Raster) -> None:
    size = raster.path.stat().st_size
    settings = make_settings(tmp_path, allowed_hosts=LOOPBACK, max_input_bytes=size // 2)
    value = ref(f"{server.base_url}/chunked/a.tif", headers=(("X-Token", "t"),))
    workdir = tmp_path / "job"
    with pytest.raises(FileSizeExceeded):
        resolve_reference(value, settings, "raster", workdir)
    assert list(workdir.iterdir()) == []


def test_headers_are_forwarded(tmp_path: Path, server: DataServer) -> None:
    value = ref(f"{server.base_url}/headers", headers=(("X-Token", "secret"), ("Host", "evil.example")))
    received = json.loads(fetch_bytes(value, make_settings(tmp_path, allowed_hosts=LOOPBACK), "zones"))
    assert received["x-token"] == "secret"
    assert received["host"] == f"127.0.0.1:{server.port}"


def test_credentials_dropped_on_cross_origin_redirect(tmp_path: Path, server: DataServer) -> None:
    settings = make_settings(tmp_path, allowed_hosts=["127.0.0.1", "localhost"])
    target = f"http://localhost:{server.port}/headers"
    value = ref(server.redirect_url(target), headers=(("Authorization", "Bearer x"), ("X-Other", "kept")))
    received = json.loads(fetch_bytes(value, settings, "zones"))
    assert "authorization" not in received
    assert received["x-other"] == "kept"


# ----------------------------------------------------------------------------- fetch_bytes, materialize


def test_fetch_bytes_inline_and_by_reference(tmp_path: Path, server: DataServer, raster: Raster) -> None:
    settings = make_settings(tmp_path, allowed_hosts=LOOPBACK)
    assert fetch_bytes(ComplexValue(data=b"{}"), settings, "zones") == b"{}"
    assert fetch_bytes(ref(server.url("a.tif")), settings, "zones") == raster.path.read_bytes()


@pytest.mark.parametrize("cap_field", ["max_input_bytes", "max_request_bytes"])
def test_fetch_bytes_cap_while_streaming(tmp_path: Path, server: DataServer, cap_field: str) -> None:
    settings = make_settings(tmp_path, allowed_hosts=LOOPBACK, **{cap_field: 1000})
    with pytest.raises(FileSizeExceeded):  # no Content-Length: counted while streaming
        fetch_bytes(ref(f"{server.base_url}/chunked/a.tif"), settings, "zones")


def test_fetch_bytes_guarded(tmp_path: Path, server: DataServer) -> None:
    with pytest.raises(DataNotAccessible):
        fetch_bytes(ref(server.url("a.tif")), make_settings(tmp_path), "zones")
    assert server.requests == []


def test_materialize_inline_bytes(tmp_path: Path, raster: Raster) -> None:
    workdir = tmp_path / "job"
    value = ComplexValue(data=raster.path.read_bytes())
    path = materialize(value, make_settings(tmp_path), workdir, "raster")
    assert Path(path).parent == workdir
    np.testing.assert_array_equal(open_raster(path, chunk_size=256, locator="r").values, raster.data)


def test_materialize_reference(tmp_path: Path, server: DataServer) -> None:
    settings = make_settings(tmp_path, allowed_hosts=LOOPBACK)
    path = materialize(ref(server.url("a.tif")), settings, tmp_path, "raster")
    assert remote_url(path) == server.url("a.tif") and is_guarded(path)


# ----------------------------------------------------------------------------- file: and other schemes


@pytest.fixture
def jail(tmp_path: Path) -> Path:
    allowed = tmp_path / "allowed"
    (allowed / "sub").mkdir(parents=True)
    (allowed / "sub" / "in.tif").write_bytes(b"inside")
    (tmp_path / "secret.tif").write_bytes(b"outside")
    (allowed / "escape.tif").symlink_to(tmp_path / "secret.tif")
    (allowed / "alias.tif").symlink_to(allowed / "sub" / "in.tif")
    return allowed


def test_file_inside_allowed_dir(tmp_path: Path, jail: Path) -> None:
    settings = make_settings(tmp_path, allowed_input_dirs=[jail])
    for href in (f"file://{jail}/sub/in.tif", f"file:{jail}/sub/in.tif", f"file://{jail}/alias.tif"):
        assert resolve_reference(ref(href), settings, "raster", tmp_path) == str(jail / "sub" / "in.tif")
    assert fetch_bytes(ref(f"file://{jail}/sub/in.tif"), settings, "zones") == b"inside"


@pytest.mark.parametrize(
    "href",
    [
        "file://{root}/secret.tif",
        "file://{jail}/../secret.tif",
        "file://{jail}/sub/../../secret.tif",
        "file://{jail}/%2e%2e/secret.tif",
        "file://{jail}/escape.tif",
        "file://{jail}/missing.tif",
        "file://{jail}/sub",
        "file://otherhost{jail}/sub/in.tif",
        "file:///etc/passwd",
    ],
)
def test_file_outside_allowed_dir_refused(tmp_path: Path, jail: Path, href: str) -> None:
    settings = make_settings(tmp_path, allowed_input_dirs=[jail])
    value = ref(href.format(root=tmp_path, jail=jail))
    with pytest.raises(DataNotAccessible) as caught:
        resolve_reference(value, settings, "raster", tmp_path)
    assert str(tmp_path) not in caught.value.message  # no server paths in client messages
    with pytest.raises(DataNotAccessible):
        fetch_bytes(value, settings, "zones")


def test_file_refused_without_allowed_dirs(tmp_path: Path, jail: Path) -> None:
    with pytest.raises(DataNotAccessible):
        resolve_reference(ref(f"file://{jail}/sub/in.tif"), make_settings(tmp_path), "raster", tmp_path)


@pytest.mark.parametrize(
    "href",
    [
        "ftp://127.0.0.1/a.tif",
        "gopher://127.0.0.1/",
        "data:image/tiff;base64,AAAA",
        "jar:http://127.0.0.1/a.zip!/a.tif",
        "/vsicurl/http://127.0.0.1/a.tif",
        "/etc/passwd",
        "relative/a.tif",
        "s3://bucket/a.tif",
    ],
)
def test_unsupported_schemes_refused(tmp_path: Path, href: str) -> None:
    settings = make_settings(tmp_path, allowed_hosts=["*", "127.0.0.1"], allowed_input_dirs=[tmp_path])
    with pytest.raises(DataNotAccessible, match="not supported"):
        resolve_reference(ref(href), settings, "raster", tmp_path)
    with pytest.raises(DataNotAccessible, match="not supported"):
        fetch_bytes(ref(href), settings, "zones")
