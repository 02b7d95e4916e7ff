"""Users on every face: discovery public, the rest behind credentials, each job its submitter's.

Users: alice and bob (HTTP Basic, bcrypt htpasswd), root (Basic, admin), carol (an API key) and
dave (an OIDC bearer JWT from a local issuer). Every XML and JSON answer is schema-checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.algorithms.registry import default_registry
from app.main import create_app
from app.settings import Settings
from tests.support.credentials import basic, bcrypt_line, key_line
from tests.support.jobs import wait_for_job
from tests.support.json_check import JsonChecker, assert_valid
from tests.support.ogcapi import execute
from tests.support.oidc import OidcIssuer
from tests.support.ows import NS, assert_exception, xml
from tests.support.slow_processes import Slow
from tests.support.wps_v200_requests import execute_xml as execute_v200
from tests.support.wps_v200_requests import job_request, literal
from tests.support.xsd_check import XsdChecker

ALICE, BOB, ROOT = basic("alice", "wonderland"), basic("bob", "builder"), basic("root", "r00t")
CAROL = {"X-API-Key": "carol-secret-key"}
ECHO = {"inputs": {"literal": "hello"}, "outputs": {"literal": {}}, "response": "document"}
GET_CAPABILITIES = {"service": "WPS", "request": "GetCapabilities"}


@pytest.fixture
def issuer() -> Iterator[OidcIssuer]:
    with OidcIssuer() as running:
        yield running


def secured_settings(tmp_path: Path, issuer: OidcIssuer, **extra: Any) -> Settings:
    htpasswd = tmp_path / "htpasswd"
    lines = [bcrypt_line("alice", "wonderland"), bcrypt_line("bob", "builder"), bcrypt_line("root", "r00t")]
    htpasswd.write_text("\n".join(lines) + "\n")
    keys = tmp_path / "api-keys"
    keys.write_text(key_line("carol", "carol-secret-key") + "\n")
    fields: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "public_url": "http://testserver",
        "auth_htpasswd": htpasswd,
        "auth_api_keys": keys,
        "auth_admins": ["root"],
        **issuer.settings_fields(),
        **extra,
    }
    return Settings(**fields)


@contextmanager
def checked_client(settings: Settings) -> Iterator[TestClient]:
    """A test client on the schema-checked app (with the slow test process); checks at exit."""
    xsd = XsdChecker(create_app(settings, default_registry().register(Slow)))
    checker = JsonChecker(xsd)
    with TestClient(checker, raise_server_exceptions=False) as client:
        yield client
    assert_valid(xsd, checker)


@pytest.fixture
def secured(tmp_path: Path, issuer: OidcIssuer) -> Iterator[TestClient]:
    with checked_client(secured_settings(tmp_path, issuer)) as client:
        yield client


@pytest.mark.parametrize(
    "path",
    [
        "/wps?service=WPS&request=GetCapabilities",
        "/wps?service=WPS&version=2.0.0&request=DescribeProcess&identifier=ALL",
        "/",
        "/conformance",
        "/processes",
        "/processes/ndvi",
        "/openapi.json",
        "/docs",
        "/healthz",
        "/readyz",
    ],
)
def test_discovery_stays_public(secured: TestClient, path: str) -> None:
    assert secured.get(path).status_code == 200


def test_without_credentials_every_face_answers_401_in_its_own_format(secured: TestClient) -> None:
    kvp = {"service": "WPS", "version": "1.0.0", "request": "Execute", "identifier": "echo"}
    response = secured.get("/wps", params=kvp | {"DataInputs": "literal=x"})
    assert_exception(response, "NoApplicableCode", 401)
    challenge = response.headers["www-authenticate"]
    assert 'Basic realm="Raster WPS"' in challenge and "Bearer" in challenge and "ApiKey" in challenge
    body = execute_v200(literal("literal", "x"))
    assert_exception(secured.post("/wps", content=body), "NoApplicableCode", 401, version="2.0.0")
    for answer in (execute(secured, "echo", ECHO), secured.get("/jobs"), secured.get(f"/jobs/{'0' * 32}")):
        assert answer.status_code == 401 and answer.headers["content-type"] == "application/problem+json"
        assert "www-authenticate" in answer.headers
    assert secured.get(f"/wps/status/{'0' * 32}").status_code == 401
    assert secured.get(f"/outputs/{'0' * 32}/result.tif").status_code == 401
    assert secured.get("/metrics").status_code == 401


def test_invalid_credentials_are_refused_even_for_discovery(secured: TestClient) -> None:
    for headers in (
        basic("alice", "wrong"),
        basic("mallory", "x"),
        {"X-API-Key": "guess"},
        {"Authorization": "Bearer x.y.z"},
    ):
        response = secured.get("/wps", params=GET_CAPABILITIES, headers=headers)
        assert_exception(response, "NoApplicableCode", 401)
        assert "wrong" not in response.text and "mallory" not in response.text


@pytest.mark.parametrize("who", ["alice", "carol", "dave"])
def test_each_kind_of_credentials_works(secured: TestClient, issuer: OidcIssuer, who: str) -> None:
    headers = {"alice": ALICE, "carol": CAROL, "dave": {"Authorization": f"Bearer {issuer.mint('dave')}"}}[
        who
    ]
    response = execute(secured, "echo", ECHO, **headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"literal": "hello"}


def test_a_job_belongs_to_its_submitter_on_every_face(secured: TestClient) -> None:
    response = execute(secured, "echo", ECHO, Prefer="respond-async", **ALICE)
    assert response.status_code == 201, response.text
    job_id = response.json()["jobID"]
    wait_for_job(lambda path: secured.get(path, headers=ALICE), job_id)
    unknown = "f" * 32
    # bob: the job does not exist, with the very answer an unknown id gets
    for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/results"):
        mine, other = secured.get(path, headers=BOB), secured.get(path.replace(job_id, unknown), headers=BOB)
        assert mine.status_code == other.status_code == 404
        assert mine.json()["type"] == other.json()["type"]
        assert mine.json()["detail"].replace(job_id, unknown) == other.json()["detail"]
    assert secured.delete(f"/jobs/{job_id}", headers=BOB).status_code == 404
    assert secured.get(f"/wps/status/{job_id}", headers=BOB).status_code == 404
    v200 = secured.post("/wps", content=job_request("GetStatus", job_id), headers=BOB)
    assert_exception(v200, "NoSuchJob", 400, version="2.0.0")
    assert job_id not in secured.get("/jobs", headers=BOB).text
    # alice and the admin see it
    assert secured.get(f"/jobs/{job_id}", headers=ALICE).json()["status"] == "successful"
    assert job_id in secured.get("/jobs", headers=ALICE).text
    assert job_id in secured.get("/jobs", headers=ROOT).text
    assert secured.get(f"/jobs/{job_id}/results", headers=ROOT).status_code == 200
    assert secured.delete(f"/jobs/{job_id}", headers=ALICE).status_code == 200


def test_result_files_are_the_owners(secured: TestClient) -> None:
    body = {
        "inputs": {"seconds": 0},
        "outputs": {"result": {"transmissionMode": "reference"}},
        "response": "document",
    }
    response = execute(secured, "slow", body, **ALICE)
    assert response.status_code == 200, response.text
    href = response.json()["result"]["href"].removeprefix("http://testserver")
    assert secured.get(href, headers=ALICE).status_code == 200
    assert secured.get(href, headers=ROOT).status_code == 200
    refused, unknown = (
        secured.get(href, headers=BOB),
        secured.get(href.replace("result", "other"), headers=BOB),
    )
    assert refused.status_code == unknown.status_code == 404 and refused.json() == {
        **unknown.json(),
        "instance": refused.json()["instance"],
    }


def test_wps1_status_location_of_the_owner(secured: TestClient) -> None:
    kvp = {
        "service": "WPS",
        "version": "1.0.0",
        "request": "Execute",
        "identifier": "echo",
        "DataInputs": "literal=x",
        "storeExecuteResponse": "true",
    }
    root = xml(secured.get("/wps", params=kvp, headers=CAROL))
    location = root.get("statusLocation").removeprefix("http://testserver")
    assert xml(secured.get(location, headers=CAROL)).find("wps:Status/wps:ProcessSucceeded", NS) is not None
    assert_exception(secured.get(location, headers=ALICE), "InvalidParameterValue", 404)


def test_per_user_limit_is_429(tmp_path: Path, issuer: OidcIssuer) -> None:
    settings = secured_settings(tmp_path, issuer, auth_max_jobs_per_user=1, max_parallel=1)
    with checked_client(settings) as client:
        slow = {"inputs": {"seconds": 0.2}, "response": "document"}
        first = execute(client, "slow", slow, Prefer="respond-async", **ALICE)
        assert first.status_code == 201, first.text
        second = execute(client, "slow", slow, Prefer="respond-async", **ALICE)
        assert second.status_code == 429 and second.json()["code"] == "ServerBusy"
        kvp = {
            "service": "WPS",
            "version": "1.0.0",
            "request": "Execute",
            "identifier": "echo",
            "DataInputs": "literal=x",
        }
        assert_exception(client.get("/wps", params=kvp, headers=ALICE), "ServerBusy", 429)
        assert execute(client, "echo", ECHO, **BOB).status_code == 200  # the limit is per user
        client.delete(f"/jobs/{first.json()['jobID']}", headers=ALICE)


def test_everything_public_when_asked(tmp_path: Path, issuer: OidcIssuer) -> None:
    with checked_client(secured_settings(tmp_path, issuer, auth_public="all")) as client:
        assert execute(client, "echo", ECHO).status_code == 200
        assert execute(client, "echo", ECHO, **basic("alice", "wrong")).status_code == 401


def test_openapi_declares_the_configured_schemes(secured: TestClient) -> None:
    document = secured.get("/openapi.json").json()
    assert set(document["components"]["securitySchemes"]) == {"basicAuth", "apiKey", "bearerAuth"}
    assert document["paths"]["/processes"]["get"]["security"] == [{}]
    assert {} not in document["security"]
    assert {} in document["paths"]["/wps"]["get"]["security"]


def test_nothing_changes_without_users(client: TestClient) -> None:
    assert execute(client, "echo", ECHO).status_code == 200
    assert execute(client, "echo", ECHO, **ALICE).status_code == 200  # credentials are ignored
    assert "securitySchemes" not in client.get("/openapi.json").json().get("components", {})
