"""Shared fixtures: settings on a temporary data dir, an XSD-checking test client, a live server,
data servers, and a real PostgreSQL server.

PostgreSQL is started once per test process (each xdist worker has its own) and each test gets a
database of its own. Where it cannot be started, its tests are skipped with the reason in capitals
in the summary (and on stderr): never silently.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.support.dataserver import DataServer
from tests.support.json_check import JsonChecker, assert_valid
from tests.support.live import LiveServer
from tests.support.postgres import PostgresServer, PostgresUnavailable
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


@pytest.fixture
def forbidden(rasters: RasterFactory) -> Iterator[DataServer]:
    """A data server outside the tests' allow-lists (they list other servers by port)."""
    with DataServer(rasters.directory) as server:
        yield server


@pytest.fixture
def late(rasters: RasterFactory, forbidden: DataServer) -> Iterator[DataServer]:
    """HEAD and plain GETs answered, every ranged GET redirected to the forbidden server (the late
    redirect of an attacker, for readers that follow redirects on their own)."""
    with DataServer(rasters.directory, redirect_ranges=forbidden.base_url) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster for this test process."""
    stack = ExitStack()
    try:
        server = stack.enter_context(PostgresServer.start())
    except PostgresUnavailable as exc:
        reason = f"POSTGRESQL UNAVAILABLE, ITS TESTS ARE SKIPPED: {exc}"
        print(f"\nWARNING: {reason}", file=sys.stderr)
        pytest.skip(reason)
    with stack:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database on the test server, dropped afterwards."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)
