"""Request ids and logs through HTTP: every answer carries ``X-Request-ID``, the lines logged for a
request name it, and no credential or signed URL a client sends ever reaches the logs.

The in-process tests read the app's stdout (capsys); the last one starts the real service
(``uvicorn app.main:app``) and reads what it printed.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.logs import configure_logging
from app.main import create_app
from app.service.operations import WpsService
from app.settings import Settings
from tests.support.credentials import bcrypt_line, key_line
from tests.support.dataserver import DataServer
from tests.support.jobs import wait_for_job
from tests.support.ogcapi import execute
from tests.support.rasters import RasterFactory
from tests.support.service import free_port, service_process

GENERATED = re.compile(r"[0-9a-f]{32}")
ORIGIN = "https://maps.example.org"
PASSWORD, API_KEY, SIGNATURE, CREDENTIAL, TOKEN = (
    "pw-wonder-7781",
    "key-secret-5512",
    "sig-secret-9023",
    "cred-secret-4410",
    "tok-secret-3307",
)
BASIC = base64.b64encode(f"alice:{PASSWORD}".encode()).decode("ascii")
SECRETS = (PASSWORD, API_KEY, SIGNATURE, CREDENTIAL, TOKEN, BASIC)


@pytest.fixture(autouse=True)
def default_logging(tmp_path: Path) -> Iterator[None]:
    """Whatever a test configured, the service's default logging is back afterwards."""
    yield
    configure_logging(Settings(data_dir=tmp_path / "data"))


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` as JSON (fails on any other line)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def users(tmp_path: Path) -> dict[str, Path]:
    """An htpasswd file (alice) and an API keys file (carol)."""
    htpasswd, keys = tmp_path / "htpasswd", tmp_path / "api-keys"
    htpasswd.write_text(bcrypt_line("alice", PASSWORD) + "\n")
    keys.write_text(key_line("carol", API_KEY) + "\n")
    return {"auth_htpasswd": htpasswd, "auth_api_keys": keys}


def signed(url: str) -> str:
    """``url`` presigned the way S3 does it."""
    return f"{url}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={CREDENTIAL}&X-Amz-Signature={SIGNATURE}"


def test_a_sane_request_id_is_echoed_on_every_answer(client: TestClient) -> None:
    for method, path in (("GET", "/processes"), ("GET", "/no/such/path"), ("POST", "/wps"), ("GET", "/wps")):
        response = client.request(method, path, headers={"X-Request-ID": "trace.0042_a-b"})
        assert response.headers["x-request-id"] == "trace.0042_a-b", (method, path, response.status_code)


@pytest.mark.parametrize("given", [None, "", "x" * 129, "has space", "semi;colon", "<b>", "caf\u00e9"])
def test_a_missing_or_insane_request_id_is_replaced_by_a_new_one(
    client: TestClient, given: str | None
) -> None:
    headers = {} if given is None else {b"X-Request-ID": given.encode()}
    first = client.get("/conformance", headers=headers).headers["x-request-id"]
    second = client.get("/conformance", headers=headers).headers["x-request-id"]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second) and first != second


def test_cors_preflights_and_answers_carry_and_expose_the_request_id(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"cors_origins": [ORIGIN]}))
    with TestClient(app, raise_server_exceptions=False) as client:
        preflight = client.options(
            "/wps",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, x-request-id",
                "X-Request-ID": "preflight-1",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["x-request-id"] == "preflight-1"
        assert "x-request-id" in preflight.headers["access-control-allow-headers"].lower()
        answer = client.get("/no/such/path", headers={"Origin": ORIGIN})
        assert answer.status_code == 404 and GENERATED.fullmatch(answer.headers["x-request-id"])
        assert answer.headers["access-control-allow-origin"] == ORIGIN
        assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()


def test_the_lines_of_a_request_carry_its_id(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(self: WpsService, request: object) -> object:
        raise RuntimeError(f"could not read {signed('https://bucket.example/r.tif')}")

    monkeypatch.setattr(WpsService, "describe", fail)
    capsys.readouterr()
    response = client.get("/processes/ndvi", headers={"X-Request-ID": "fault-77"})
    assert response.status_code == 500 and response.headers["x-request-id"] == "fault-77"
    assert "fault-77" in response.json()["detail"]  # the id a user quotes is the one in the logs
    out = capsys.readouterr().out
    (line,) = [line for line in json_lines(out) if line["logger"] == "app.api.errors"]
    assert line["level"] == "ERROR" and line["request_id"] == "fault-77"
    assert "RuntimeError" in line["exception"] and "r.tif?REDACTED" in line["exception"]
    assert not any(secret in out for secret in SECRETS), out


def test_a_job_logs_start_and_end_once_with_its_ids_and_the_request_id(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    headers = {"Prefer": "respond-async", "X-Request-ID": "submit-42"}
    accepted = execute(client, "echo", {"inputs": {"literal": "x"}}, **headers)
    assert accepted.status_code == 201, accepted.text
    job_id = accepted.json()["jobID"]
    assert wait_for_job(client.get, job_id)["status"] == "successful"
    lines = [line for line in json_lines(capsys.readouterr().out) if line.get("job_id") == job_id]
    assert [line["message"] for line in lines] == ["job started", "job succeeded"]
    for line in lines:
        assert (line["process_id"], line["request_id"]) == ("echo", "submit-42")
    assert lines[1]["duration_s"] >= 0


def test_no_secret_a_client_sends_reaches_the_logs(
    tmp_path: Path, rasters: RasterFactory, data_server: DataServer, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts = users(tmp_path)
    settings = Settings(
        data_dir=tmp_path / "data",
        public_url="http://testserver",
        allowed_hosts=["127.0.0.1"],
        log_level="DEBUG",  # everything anyone logs, the libraries' debug lines included
        auth_htpasswd=accounts["auth_htpasswd"],
        auth_api_keys=accounts["auth_api_keys"],
    )
    red = rasters("red.tif")
    body = {
        "inputs": {
            "red": {"href": signed(data_server.url(red.path.name))},
            "nir": {"href": signed(data_server.url("missing.tif"))},
        },
        "response": "document",
    }
    password = {"Authorization": f"Basic {BASIC}"}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        capsys.readouterr()
        executed = client.post("/processes/ndvi/execution", json=body, headers=password)
        assert executed.status_code >= 400  # nir is not there
        kvp = (
            f"red=@href={signed(data_server.url(red.path.name))};nir=@href={signed(data_server.url('x.tif'))}"
        )
        params = {
            "service": "WPS",
            "version": "1.0.0",
            "request": "Execute",
            "identifier": "ndvi",
            "DataInputs": kvp,
        }
        by_key = client.get("/wps", params=params, headers={"X-API-Key": API_KEY})
        assert by_key.status_code == 400  # x.tif is not there
        cookie = {"X-API-Key": API_KEY, "Cookie": f"session={TOKEN}"}
        assert client.get("/jobs", headers=cookie).status_code == 200
        refused = {"Authorization": f"Basic {base64.b64encode(f'alice:{TOKEN}'.encode()).decode()}"}
        assert client.get("/jobs", headers=refused).status_code == 401
        assert client.get("/jobs", headers={"Authorization": f"Bearer {TOKEN}.{TOKEN}"}).status_code == 401
        assert client.get(f"/jobs?access_token={TOKEN}").status_code == 401
    out = capsys.readouterr().out
    lines = json_lines(out)
    assert len(lines) > 10 and any(".tif?REDACTED" in line["message"] for line in lines)  # the fetches
    leaked = [
        secret for secret in (*SECRETS, base64.b64encode(f"alice:{TOKEN}".encode()).decode()) if secret in out
    ]
    assert not leaked, [line for line in out.splitlines() if any(secret in line for secret in leaked)][:5]


def test_the_real_service_prints_json_lines_with_request_ids(tmp_path: Path) -> None:
    port = free_port()
    env = {f"WPS_{name.upper()}": str(path) for name, path in users(tmp_path).items()}
    base = f"http://127.0.0.1:{port}"
    with service_process(tmp_path / "data", port, env):
        answer = httpx.get(f"{base}/healthz", headers={"X-Request-ID": "live-check-1"})
        assert answer.headers["x-request-id"] == "live-check-1"
        generated = httpx.get(f"{base}/processes", headers={"X-API-Key": API_KEY}).headers["x-request-id"]
        kvp = (
            f"red=@href={signed(f'http://127.0.0.1:{free_port()}/r.tif')};nir=@href=http://127.0.0.1:1/n.tif"
        )
        params = {
            "service": "WPS",
            "version": "1.0.0",
            "request": "Execute",
            "identifier": "ndvi",
            "DataInputs": kvp,
        }
        httpx.get(f"{base}/wps", params=params, headers={"Authorization": f"Basic {BASIC}"})
        assert httpx.get(f"{base}/jobs?token={TOKEN}").status_code == 401
    out = (tmp_path / f"service-{port}.log").read_text()
    lines = json_lines(out)  # every line, uvicorn's own included
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    access = {line["request_id"]: line for line in lines if line["logger"] == "uvicorn.access"}
    assert access["live-check-1"]["path"] == "/healthz" and access["live-check-1"]["status"] == 200
    assert access[generated]["path"] == "/processes" and GENERATED.fullmatch(generated)
    assert any("REDACTED" in line["path"] and line["path"].startswith("/wps?") for line in access.values())
    assert all(isinstance(line["duration_s"], float) for line in access.values())
    assert not any(secret in out for secret in SECRETS), out
