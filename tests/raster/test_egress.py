"""SSRF through GDAL, closed: every connection made for an input, GDAL's range reads and the
service's own requests alike, goes through the egress proxy and to an address checked when it was
opened. Real servers on 127.0.0.1 (and ::1); the forbidden ones serve the same files, so a read
that reached them would succeed: each test asserts that they received nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.model.errors import DataNotAccessible
from app.model.requests import ComplexValue
from app.raster import egress, guard
from app.raster.addresses import IPAddress, system_resolve
from app.raster.egress import guarded_path
from app.raster.fetch import fetch_bytes, resolve_reference
from app.raster.open import open_raster
from app.settings import Settings
from tests.support.dataserver import DataServer
from tests.support.egress_tools import installed, simulated_proxy
from tests.support.fakenet import read_log
from tests.support.rasters import Raster, RasterFactory

PUBLIC = "93.184.216.34"  # a public address; the simulated network routes it to a local server


def make_settings(tmp_path: Path, *allowed: str, timeout: float = 10.0) -> Settings:
    return Settings(data_dir=tmp_path / "data", allowed_hosts=list(allowed), http_timeout=timeout)


def ref(href: str) -> ComplexValue:
    return ComplexValue(href=href)


@pytest.fixture
def raster(tmp_path: Path) -> Raster:
    return RasterFactory(tmp_path / "served")("a.tif", width=200, height=150, blocksize=32)


@pytest.fixture
def forbidden(raster: Raster) -> Iterator[DataServer]:
    """A server the policy does not allow, serving the same files (a read from it would succeed)."""
    with DataServer(raster.path.parent) as server:
        yield server


@pytest.fixture
def forbidden6(raster: Raster) -> Iterator[DataServer]:
    """The same on the IPv6 loopback address."""
    with DataServer(raster.path.parent, host="::1") as server:
        yield server


def read_all(path: str, locator: str = "red") -> np.ndarray:
    return open_raster(path, chunk_size=64, locator=locator).values


# ----------------------------------------------------------------------------- the late redirect


LATE_TARGETS = [
    "http://127.0.0.1:{port}",  # the listed address on a port that is not listed
    "http://localhost:{port}",
    "http://[::ffff:127.0.0.1]:{port}",
    "http://[::ffff:7f00:1]:{port}",
    "http://2130706433:{port}",
    "http://0x7f000001:{port}",
    "http://0177.0.0.1:{port}",
    "http://127.1:{port}",
]


@pytest.mark.parametrize("target", LATE_TARGETS)
def test_late_redirect_of_the_ranged_reads_is_refused(
    tmp_path: Path, raster: Raster, forbidden: DataServer, target: str
) -> None:
    late = target.format(port=forbidden.port)
    with DataServer(raster.path.parent, redirect_ranges=late) as honest_head:
        settings = make_settings(tmp_path, f"127.0.0.1:{honest_head.port}")
        path = resolve_reference(ref(honest_head.url("a.tif")), settings, "red", tmp_path)  # HEAD: fine
        with pytest.raises(DataNotAccessible) as caught:
            read_all(path)
        assert caught.value.locator == "red"
        assert any(entry.status == 302 for entry in honest_head.requests)  # GDAL asked, was redirected
    assert forbidden.requests == []


def test_late_redirect_to_the_ipv6_loopback_is_refused(
    tmp_path: Path, raster: Raster, forbidden6: DataServer
) -> None:
    with DataServer(raster.path.parent, redirect_ranges=forbidden6.base_url) as honest_head:
        settings = make_settings(tmp_path, "127.0.0.1")
        path = resolve_reference(ref(honest_head.url("a.tif")), settings, "red", tmp_path)
        with pytest.raises(DataNotAccessible):
            read_all(path)
    assert forbidden6.requests == []


def test_a_late_redirect_within_the_policy_is_followed(tmp_path: Path, raster: Raster) -> None:
    with DataServer(raster.path.parent) as mirror:
        with DataServer(raster.path.parent, redirect_ranges=mirror.base_url) as origin:
            settings = make_settings(tmp_path, f"127.0.0.1:{origin.port}", f"127.0.0.1:{mirror.port}")
            path = resolve_reference(ref(origin.url("a.tif")), settings, "red", tmp_path)
            np.testing.assert_array_equal(read_all(path), raster.data)
        assert any(entry.range for entry in mirror.requests)


# ----------------------------------------------------------------------------- redirect chains


def test_a_redirect_chain_that_ends_outside_is_refused_to_gdal(
    tmp_path: Path, raster: Raster, forbidden: DataServer
) -> None:
    with DataServer(raster.path.parent) as first, DataServer(raster.path.parent) as second:
        settings = make_settings(tmp_path, f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}")
        chain = first.redirect_url(second.redirect_url(forbidden.url("a.tif"), 307), 301)
        with pytest.raises(DataNotAccessible):  # the service's own hops refuse it early ...
            resolve_reference(ref(chain), settings, "red", tmp_path)
        with pytest.raises(DataNotAccessible):  # ... and GDAL following it alone is refused too
            read_all(guarded_path(chain, settings))
        assert first.requests and second.requests  # both allowed hops were followed
    assert forbidden.requests == []


def test_a_redirect_chain_within_the_policy_reads_through(tmp_path: Path, raster: Raster) -> None:
    with DataServer(raster.path.parent) as first, DataServer(raster.path.parent) as second:
        settings = make_settings(tmp_path, f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}")
        chain = first.redirect_url(second.redirect_url(first.url("a.tif"), 307), 302)
        np.testing.assert_array_equal(read_all(guarded_path(chain, settings)), raster.data)


# ----------------------------------------------------------------------------- DNS rebinding


@pytest.fixture
def service_sees_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's own early check resolves the test's names to the public address."""

    def resolve(host: str, port: int) -> list[IPAddress]:
        return system_resolve(PUBLIC if host.endswith(".example") else host, port)

    monkeypatch.setattr(guard, "system_resolve", resolve)


@pytest.mark.usefixtures("service_sees_public")
def test_dns_rebinding_gets_the_pinned_checked_answer(
    tmp_path: Path, raster: Raster, forbidden: DataServer
) -> None:
    """Public first, 127.0.0.1 afterwards: one resolution, every connection to the checked address."""
    log = tmp_path / "net.log"
    with DataServer(raster.path.parent) as public_server:
        answers = {"rebind.example": [[PUBLIC], ["127.0.0.1"]]}
        routes = {PUBLIC: ("127.0.0.1", public_server.port)}
        with simulated_proxy(log, answers, routes) as proxy, installed(proxy):
            settings = make_settings(tmp_path, "*")
            href = f"http://rebind.example:{forbidden.port}/a.tif"  # the port of the forbidden server
            path = resolve_reference(ref(href), settings, "red", tmp_path)
            np.testing.assert_array_equal(read_all(path), raster.data)
            assert fetch_bytes(ref(href), settings, "red") == raster.path.read_bytes()
    entries = read_log(log)
    assert [entry for entry in entries if "resolve" in entry] == [
        {"resolve": "rebind.example", "answer": [PUBLIC]}
    ]
    assert {entry["connect"] for entry in entries if "connect" in entry} == {PUBLIC}
    assert forbidden.requests == []


@pytest.mark.usefixtures("service_sees_public")
def test_dns_rebinding_after_the_pin_is_refused(
    tmp_path: Path, raster: Raster, forbidden: DataServer
) -> None:
    """Without pinning, the second answer (127.0.0.1) is checked again, and refused."""
    log = tmp_path / "net.log"
    with DataServer(raster.path.parent) as public_server:
        answers = {"rebind.example": [[PUBLIC], ["127.0.0.1"]]}
        routes = {PUBLIC: ("127.0.0.1", public_server.port)}
        with simulated_proxy(log, answers, routes, pin_seconds=0) as proxy, installed(proxy):
            settings = make_settings(tmp_path, "*")
            href = f"http://rebind.example:{forbidden.port}/a.tif"
            path = resolve_reference(ref(href), settings, "red", tmp_path)  # first answer: public
            with pytest.raises(DataNotAccessible):
                read_all(path)  # GDAL's connection gets the rebound answer
    connects = [entry["connect"] for entry in read_log(log) if "connect" in entry]
    assert connects and set(connects) == {PUBLIC}
    assert forbidden.requests == []


@pytest.mark.usefixtures("service_sees_public")
def test_a_name_with_a_private_address_among_public_ones_is_refused(
    tmp_path: Path, raster: Raster, forbidden: DataServer
) -> None:
    log = tmp_path / "net.log"
    answers = {"mixed.example": [[PUBLIC, "127.0.0.1"]]}
    with simulated_proxy(log, answers, {PUBLIC: ("127.0.0.1", 9)}) as proxy, installed(proxy):
        settings = make_settings(tmp_path, "*")
        with pytest.raises(DataNotAccessible, match="egress guard"):
            fetch_bytes(ref(f"http://mixed.example:{forbidden.port}/a.tif"), settings, "zones")
    assert [entry for entry in read_log(log) if "connect" in entry] == []
    assert forbidden.requests == []


# ----------------------------------------------------------------------------- one choke point


def test_gdal_and_the_service_both_connect_through_the_proxy(
    tmp_path: Path, raster: Raster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name only the proxy's network knows: every read works, so every connection went through it;
    libcurl's proxy bypasses in the environment are taken out first."""
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setenv("no_proxy", "data.example")
    monkeypatch.setenv("GDAL_HTTPS_PROXY", "http://127.0.0.1:9")
    log = tmp_path / "net.log"
    with DataServer(raster.path.parent) as server:
        with simulated_proxy(log, {"data.example": [["127.0.0.1"]]}) as proxy, installed(proxy):
            settings = make_settings(tmp_path, "data.example")
            href = f"http://data.example:{server.port}/a.tif"
            path = resolve_reference(ref(href), settings, "red", tmp_path)  # the preflight
            np.testing.assert_array_equal(read_all(path), raster.data)  # GDAL
            assert fetch_bytes(ref(href), settings, "zones") == raster.path.read_bytes()  # the service
        methods = {entry.method for entry in server.requests}
    assert methods == {"HEAD", "GET"}
    assert all(entry["port"] == server.port for entry in read_log(log) if "connect" in entry)
    assert not {"NO_PROXY", "no_proxy", "GDAL_HTTPS_PROXY"} & set(egress.os.environ)
