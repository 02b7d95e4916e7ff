"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import sqlite3

import pytest
from fastapi.testclient import TestClient

from app.jobs.store import JobStore
from app.model.jobs import JobStatus
from app.settings import Settings


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_metrics_count_requests_and_jobs(client: TestClient) -> None:
    client.get("/wps", params={"service": "WPS", "request": "GetCapabilities"})
    client.get(
        "/wps",
        params={
            "service": "WPS",
            "version": "1.0.0",
            "request": "Execute",
            "identifier": "echo",
            "DataInputs": "literal=x",
        },
    )
    text = client.get("/metrics").text
    assert 'wps_http_requests_total{method="GET",route="/wps",status="2xx"} 2.0' in text
    assert 'wps_jobs{status="succeeded"} 1.0' in text
    assert "wps_queue_depth 0.0" in text


def test_not_ready_when_results_cannot_be_written(client: TestClient, settings: Settings) -> None:
    outputs = settings.outputs_dir
    outputs.rmdir()
    outputs.write_text("a file where the results folder should be")  # refuses writes, even as root
    try:
        response = client.get("/readyz")
    finally:
        outputs.unlink()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/readyz").json() == {"status": "ready"}  # the folder is made again


def test_not_ready_when_the_job_store_fails(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: JobStore) -> dict[JobStatus, int]:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(JobStore, "count_by_status", broken)
    response = client.get("/readyz")
    assert response.status_code == 503 and "locked" not in response.text
    assert client.get("/healthz").status_code == 200
