"""OWSLib, unmodified, against a service with users: HTTP Basic (``Authentication``) and API keys
(``headers=``), over real HTTP; without credentials it gets the 401 the service answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from owslib.util import Authentication, ServiceException
from owslib.wps import SYNC, WebProcessingService

from app.main import create_app
from app.settings import Settings
from tests.support.credentials import bcrypt_line, key_line
from tests.support.json_check import JsonChecker, assert_valid
from tests.support.live import LiveServer
from tests.support.service import free_port
from tests.support.xsd_check import XsdChecker


@pytest.fixture
def secured_server(tmp_path: Path) -> Iterator[LiveServer]:
    htpasswd, keys = tmp_path / "htpasswd", tmp_path / "keys"
    htpasswd.write_text(bcrypt_line("alice", "wonderland") + "\n")
    keys.write_text(key_line("robot", "robot-key") + "\n")
    port = free_port()
    settings = Settings(
        data_dir=tmp_path / "data",
        public_url=f"http://127.0.0.1:{port}",
        auth_htpasswd=htpasswd,
        auth_api_keys=keys,
    )
    xsd = XsdChecker(create_app(settings))
    checker = JsonChecker(xsd)
    with LiveServer(checker, port) as server:
        yield server
    assert_valid(xsd, checker)


def run_echo(wps: WebProcessingService) -> str:
    execution = wps.execute("echo", [("literal", "hello")], output=[("literal", False)], mode=SYNC)
    assert execution.status == "ProcessSucceeded", execution.errors
    return str(execution.processOutputs[0].data[0])


def test_basic_auth(secured_server: LiveServer) -> None:
    auth = Authentication(username="alice", password="wonderland")
    wps = WebProcessingService(f"{secured_server.url}/wps", auth=auth)
    assert "echo" in [p.identifier for p in wps.processes]  # discovery works anyway
    assert run_echo(wps) == "hello"


def test_api_key_header(secured_server: LiveServer) -> None:
    wps = WebProcessingService(f"{secured_server.url}/wps", headers={"X-API-Key": "robot-key"})
    assert run_echo(wps) == "hello"


def test_no_credentials_no_execute(secured_server: LiveServer) -> None:
    wps = WebProcessingService(f"{secured_server.url}/wps")
    assert "echo" in [p.identifier for p in wps.processes]
    with pytest.raises(ServiceException, match="authentication required"):
        run_echo(wps)
