"""Requests to the OGC API - Processes face of the test app, and checks of its RFC 7807 answers."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

EXCEPTIONS = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"


def execute(client: TestClient, process: str, body: dict, **headers: str) -> httpx.Response:
    """POST ``body`` to ``/processes/{process}/execution`` with these headers (e.g. ``Prefer``)."""
    return client.post(f"/processes/{process}/execution", json=body, headers=headers)


def assert_problem(
    response: httpx.Response, status: int, kind: str, locator: str | None = None
) -> dict[str, Any]:
    """The response is an ``application/problem+json`` of this status and OGC exception type; the problem."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == EXCEPTIONS + kind, problem
    if locator is not None:
        assert problem["locator"] == locator and locator in problem["detail"], problem
    return problem


def local(url: str) -> str:
    """The path and query of a URL of the test app (``http://testserver/...``)."""
    return httpx.URL(url).raw_path.decode()
