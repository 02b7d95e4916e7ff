"""Fixtures of the OGC API tests: the same ``client`` and ``live_server`` as elsewhere, JSON-checked too.

Every response passes through the XSD checker (XML) and the JSON checker (the official OGC API -
Processes schemas); a test fails at teardown if any response was invalid.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.algorithms.registry import Registry, default_registry
from app.main import create_app
from app.settings import Settings
from tests.support.json_check import CheckedFactory, JsonChecker
from tests.support.live import LiveServer
from tests.support.service import free_port
from tests.support.slow_processes import Slow
from tests.support.xsd_check import XsdChecker


@pytest.fixture
def checked() -> Iterator[CheckedFactory]:
    """Builds apps wrapped in both checkers; asserts at teardown that every response was valid."""
    made: list[tuple[XsdChecker, JsonChecker]] = []

    def build(settings: Settings, registry: Registry | None = None) -> JsonChecker:
        xsd = XsdChecker(create_app(settings, registry))
        json_checker = JsonChecker(xsd)
        made.append((xsd, json_checker))
        return json_checker

    yield build
    for xsd, json_checker in made:
        assert not xsd.failures, "invalid XML responses:\n" + "\n".join(xsd.failures)
        assert not json_checker.failures, "invalid JSON responses:\n" + "\n".join(json_checker.failures)


@pytest.fixture
def client(settings: Settings, checked: CheckedFactory) -> Iterator[TestClient]:
    """A test client on the checked app (lifespan run)."""
    with TestClient(checked(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def slow_client(tmp_path: Path, checked: CheckedFactory) -> Iterator[TestClient]:
    """One job at a time, and the test-only ``slow`` process registered."""
    settings = Settings(data_dir=tmp_path / "slow-data", public_url="http://testserver", max_parallel=1)
    app = checked(settings, default_registry().register(Slow))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def live_server(tmp_path: Path, checked: CheckedFactory) -> Iterator[LiveServer]:
    """A real HTTP server on 127.0.0.1 whose public URL is its own address."""
    port = free_port()
    settings = Settings(
        data_dir=tmp_path / "live-data",
        public_url=f"http://127.0.0.1:{port}",
        allowed_hosts=["127.0.0.1", "localhost"],
    )
    with LiveServer(checked(settings), port) as server:  # type: ignore[arg-type]  # any ASGI app
        yield server
