"""CORS: preflights answered on every endpoint when origins are configured, nothing sent otherwise."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.support.json_check import JsonChecker, assert_valid
from tests.support.xsd_check import XsdChecker

ORIGIN = "https://maps.example.org"


@pytest.fixture
def cors_client(settings: Settings) -> Iterator[TestClient]:
    xsd = XsdChecker(create_app(settings.model_copy(update={"cors_origins": [ORIGIN]})))
    checker = JsonChecker(xsd)
    with TestClient(checker, raise_server_exceptions=False) as client:
        yield client
    assert_valid(xsd, checker)


def preflight(client: TestClient, path: str, method: str, headers: str) -> dict[str, str]:
    response = client.options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )
    assert response.status_code == 200, (path, response.status_code, response.text)
    return dict(response.headers)


@pytest.mark.parametrize(
    ("path", "method", "headers"),
    [
        ("/wps", "POST", "content-type"),  # text/xml is not a CORS-safelisted type: a preflight comes
        ("/wps", "GET", "authorization"),
        ("/processes/echo/execution", "POST", "content-type, prefer, x-api-key"),
        (f"/jobs/{'0' * 32}", "DELETE", "authorization"),
        (f"/outputs/{'0' * 32}/result.tif", "GET", "range, if-none-match"),
    ],
)
def test_preflights(cors_client: TestClient, path: str, method: str, headers: str) -> None:
    answer = preflight(cors_client, path, method, headers)
    assert answer["access-control-allow-origin"] == ORIGIN
    assert method in answer["access-control-allow-methods"]
    for header in headers.split(","):
        assert header.strip() in answer["access-control-allow-headers"].lower()


def test_answers_expose_what_clients_read(cors_client: TestClient) -> None:
    body = {"inputs": {"literal": "x"}, "response": "document"}
    response = cors_client.post(
        "/processes/echo/execution", json=body, headers={"Origin": ORIGIN, "Prefer": "respond-async"}
    )
    assert response.status_code == 201
    assert response.headers["access-control-allow-origin"] == ORIGIN
    exposed = {name.strip().lower() for name in response.headers["access-control-expose-headers"].split(",")}
    assert {"location", "link", "preference-applied", "content-range", "etag"} <= exposed


def test_errors_carry_cors_too(cors_client: TestClient) -> None:
    response = cors_client.get("/wps?service=WPS&request=Nothing", headers={"Origin": ORIGIN})
    assert response.status_code == 501 and response.headers["access-control-allow-origin"] == ORIGIN


def test_other_origins_get_nothing(cors_client: TestClient) -> None:
    response = cors_client.get("/processes", headers={"Origin": "https://evil.example"})
    assert response.status_code == 200 and "access-control-allow-origin" not in response.headers


def test_nothing_without_configuration(client: TestClient) -> None:
    response = client.get("/processes", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in response.headers
    refused = client.options("/wps", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in refused.headers
