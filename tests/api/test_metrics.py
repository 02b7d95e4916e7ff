"""``/metrics`` as DESIGN.md names it: requests by face, operation, process and status; job durations
and failures; the job store's gauges; the process; exact counts across uvicorn workers."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.jobs.store import JobStore
from app.main import create_app
from app.model.jobs import JobStatus
from app.settings import Settings
from tests.support.dataserver import DataServer
from tests.support.jobs import submit, wait_for_job
from tests.support.ogcapi import execute
from tests.support.rasters import RasterFactory
from tests.support.service import ROOT, free_port
from tests.support.wps_v200_requests import execute_xml, literal

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition: (name, sorted labels) -> value."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def requests_of(scraped: Samples, face: str, operation: str, process_id: str, status: str) -> float:
    labels = {"face": face, "operation": operation, "process_id": process_id, "status": status}
    return scraped.get(("wps_requests_total", tuple(sorted(labels.items()))), 0.0)


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    return samples(response.text)


WPS1 = {"service": "WPS", "version": "1.0.0"}


@pytest.mark.parametrize(
    ("request_", "labels"),
    [
        (
            ("GET", "/wps", {"service": "WPS", "request": "GetCapabilities"}),
            ("wps1", "GetCapabilities", "", "2xx"),
        ),
        (
            ("GET", "/wps", WPS1 | {"request": "DescribeProcess", "identifier": "ndvi"}),
            ("wps1", "DescribeProcess", "ndvi", "2xx"),
        ),
        (
            ("GET", "/wps", WPS1 | {"request": "DescribeProcess", "identifier": "all"}),
            ("wps1", "DescribeProcess", "", "2xx"),
        ),
        (
            ("GET", "/wps", WPS1 | {"request": "DescribeProcess", "identifier": "no-such-thing"}),
            ("wps1", "DescribeProcess", "unknown", "4xx"),
        ),
        (
            ("GET", "/wps", WPS1 | {"request": "Execute", "identifier": "echo", "DataInputs": "literal=x"}),
            ("wps1", "Execute", "echo", "2xx"),
        ),
        (
            ("GET", "/wps", WPS1 | {"request": "Execute", "identifier": "made-up", "DataInputs": "a=b"}),
            ("wps1", "Execute", "unknown", "4xx"),
        ),
        (
            ("GET", "/wps", {"service": "WPS", "request": "GetMeASandwich"}),
            ("wps1", "unknown", "", "5xx"),
        ),  # OperationNotSupported: 501
        (
            ("GET", "/wps", {"service": "WPS", "version": "2.0.0", "request": "GetCapabilities"}),
            ("wps2", "GetCapabilities", "", "2xx"),
        ),
        (
            (
                "GET",
                "/wps",
                {"service": "WPS", "version": "2.0.0", "request": "GetStatus", "jobId": "0" * 32},
            ),
            ("wps2", "GetStatus", "", "4xx"),
        ),
        (("GET", "/", {}), ("ogcapi", "landing", "", "2xx")),
        (("GET", "/conformance", {}), ("ogcapi", "conformance", "", "2xx")),
        (("GET", "/processes", {}), ("ogcapi", "processes", "", "2xx")),
        (("GET", "/processes/clip", {}), ("ogcapi", "describe", "clip", "2xx")),
        (("GET", "/processes/nope", {}), ("ogcapi", "describe", "unknown", "4xx")),
        (("GET", "/jobs", {}), ("ogcapi", "jobs", "", "2xx")),
        (("GET", f"/jobs/{'0' * 32}", {}), ("ogcapi", "status", "", "4xx")),
        (("DELETE", f"/jobs/{'0' * 32}", {}), ("ogcapi", "dismiss", "", "4xx")),
        (("GET", f"/jobs/{'0' * 32}/results", {}), ("ogcapi", "results", "", "4xx")),
    ],
)
def test_requests_are_counted_by_face_operation_process_and_status(
    client: TestClient, request_: tuple[str, str, dict[str, str]], labels: tuple[str, str, str, str]
) -> None:
    method, path, params = request_
    client.request(method, path, params=params)
    scraped = scrape(client)
    assert requests_of(scraped, *labels) == 1.0, {
        k: v for k, v in scraped.items() if k[0] == "wps_requests_total"
    }
    counted = sum(v for k, v in scraped.items() if k[0] == "wps_requests_total")
    assert counted == 1.0  # the request once, under one set of labels; /metrics itself is no face's


def test_xml_requests_and_refused_bodies_are_labelled(client: TestClient) -> None:
    client.post("/wps", content=execute_xml(literal("literal", "x")))
    client.post("/wps", content=b"<not xml")
    client.post(
        "/processes/echo/execution", content=b"[not json", headers={"Content-Type": "application/json"}
    )
    client.post("/processes/nope/execution", json={"inputs": {}})
    scraped = scrape(client)
    assert requests_of(scraped, "wps2", "Execute", "echo", "2xx") == 1.0
    assert requests_of(scraped, "wps1", "unknown", "", "4xx") == 1.0  # unparsable: the default face
    assert requests_of(scraped, "ogcapi", "execute", "echo", "4xx") == 1.0
    assert requests_of(scraped, "ogcapi", "execute", "unknown", "4xx") == 1.0


def test_jobs_durations_and_failures(
    client: TestClient, data_server: DataServer, rasters: RasterFactory
) -> None:
    rasters("red.tif", width=64, height=64)
    assert execute(client, "echo", {"inputs": {"literal": "x"}}).status_code == 200
    inputs = {"red": {"href": data_server.url("red.tif")}, "nir": {"href": data_server.url("missing.tif")}}
    failed = submit(client, "ndvi", inputs)
    assert wait_for_job(client.get, failed)["status"] == "failed"
    scraped = scrape(client)
    assert scraped[("wps_job_duration_seconds_count", (("process_id", "echo"),))] == 1.0
    assert scraped[("wps_job_duration_seconds_count", (("process_id", "ndvi"),))] == 1.0
    assert scraped[("wps_job_duration_seconds_bucket", (("le", "+Inf"), ("process_id", "ndvi")))] == 1.0
    assert scraped[("wps_jobs_failed_total", (("code", "DataNotAccessible"), ("process_id", "ndvi")))] == 1.0
    assert not any(k[0] == "wps_jobs_failed_total" and ("process_id", "echo") in k[1] for k in scraped)
    assert scraped[("wps_jobs", (("status", "succeeded"),))] == 1.0
    assert scraped[("wps_jobs", (("status", "failed"),))] == 1.0
    assert scraped[("wps_queue_depth", ())] == 0.0
    assert scraped[("process_resident_memory_bytes", ())] > 10 * 2**20


def test_store_gauges_answer_the_same_from_every_process(settings: Settings) -> None:
    """Two apps on one job store (as two API processes): the same wps_jobs, whoever ran the jobs."""
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        for _ in range(3):
            assert execute(first, "echo", {"inputs": {"literal": "x"}}).status_code == 200
        one, other = scrape(first), scrape(second)
    key = ("wps_jobs", (("status", "succeeded"),))
    assert one[key] == other[key] == 3.0
    assert ("wps_job_duration_seconds_count", (("process_id", "echo"),)) not in other  # ran on the first


def test_counts_are_exact_across_uvicorn_workers(tmp_path: Path) -> None:
    """prometheus-client's multiprocess mode: 2 uvicorn workers, every scrape sums both."""
    port, metrics_dir = free_port(), tmp_path / "prometheus"
    metrics_dir.mkdir()
    env = os.environ | {
        "WPS_DATA_DIR": str(tmp_path / "data"),
        "WPS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)]
    with (tmp_path / "uvicorn.log").open("wb") as log:
        process = subprocess.Popen([*command, "--workers", "2"], cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process)
        with httpx.Client(base_url=base, timeout=10) as http:  # new connections: both workers answer
            _wait_for_workers(http, 2)
            for _ in range(40):
                http.get("/processes", headers={"Connection": "close"})
            scrapes = [samples(http.get("/metrics", headers={"Connection": "close"}).text) for _ in range(6)]
    finally:
        process.terminate()
        process.wait(timeout=30)
    for scraped in scrapes:
        assert requests_of(scraped, "ogcapi", "processes", "", "2xx") == 40.0
    for scraped in scrapes:
        assert len(_memory_pids(scraped)) == 2  # each live worker's memory, whichever answered


def _memory_pids(scraped: Samples) -> set[str]:
    return {dict(key[1]).get("pid", "") for key in scraped if key[0] == "process_resident_memory_bytes"}


def _wait_for_workers(http: httpx.Client, count: int) -> None:
    """Until ``count`` workers have started (each reports its memory once its app is up)."""
    deadline = time.monotonic() + 60
    while len(_memory_pids(samples(http.get("/metrics", headers={"Connection": "close"}).text))) < count:
        assert time.monotonic() < deadline, "the workers did not all start"
        time.sleep(0.2)


def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "uvicorn exited"
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "uvicorn did not become ready"
        time.sleep(0.2)


def test_not_ready_while_the_scheduler_does_not_answer(settings: Settings) -> None:
    absent = settings.model_copy(update={"dask_scheduler": f"tcp://127.0.0.1:{free_port()}"})
    with TestClient(create_app(absent), raise_server_exceptions=False) as client:
        response = client.get("/readyz")
        assert response.status_code == 503, response.text
        assert "scheduler" in response.json()["detail"]
        assert client.get("/healthz").status_code == 200


def test_metrics_are_served_while_the_job_store_fails(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: JobStore) -> dict[JobStatus, int]:
        raise sqlite3.OperationalError("database is locked")

    client.get("/processes")
    monkeypatch.setattr(JobStore, "count_by_status", broken)
    scraped = scrape(client)
    assert requests_of(scraped, "ogcapi", "processes", "", "2xx") == 1.0
    assert not any(key[0] in ("wps_jobs", "wps_queue_depth") for key in scraped)
