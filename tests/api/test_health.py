"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi.testclient import TestClient


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
    assert "wps_jobs_active 0.0" in text
