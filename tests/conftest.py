"""Shared fixtures: settings on a temporary data dir, an XSD-checking test client, a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.support.dataserver import DataServer
from tests.support.json_check import JsonChecker, assert_valid
from tests.support.live import LiveServer
from tests.support.rasters import RasterFactory
from tests.support.service import free_port
from tests.support.xsd_check import XsdChecker


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on a fresh data dir; loopback data servers allowed by name."""
    return Settings(
        data_dir=tmp_path / "data",
        public_url="http://testserver",
        allowed_hosts=["127.0.0.1", "localhost"],
    )


@pytest.fixture
def checked_app(settings: Settings) -> Iterator[JsonChecker]:
    """The app wrapped so that every XML response is validated against the OGC XSDs and every JSON
    response against the OGC API - Processes schemas; fails the test on any invalid one."""
    xsd = XsdChecker(create_app(settings))
    checker = JsonChecker(xsd)
    yield checker
    assert_valid(xsd, checker)


@pytest.fixture
def client(checked_app: JsonChecker) -> Iterator[TestClient]:
    """A test client on the XSD-checked app (lifespan run)."""
    with TestClient(checked_app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A real HTTP server on 127.0.0.1 whose public URL is its own address."""
    port = free_port()
    settings = Settings(
        data_dir=tmp_path / "live-data",
        public_url=f"http://127.0.0.1:{port}",
        allowed_hosts=["127.0.0.1", "localhost"],
    )
    xsd = XsdChecker(create_app(settings))
    checker = JsonChecker(xsd)
    with LiveServer(checker, port) as server:
        yield server
    assert_valid(xsd, checker)


@pytest.fixture
def rasters(tmp_path: Path) -> RasterFactory:
    """Writes test GeoTIFFs into the folder the data server serves."""
    return RasterFactory(tmp_path / "served")


@pytest.fixture
def data_server(rasters: RasterFactory) -> Iterator[DataServer]:
    """A local HTTP server (Range support, byte counting) over the rasters' folder."""
    with DataServer(rasters.directory) as server:
        yield server
