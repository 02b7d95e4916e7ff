"""/jobs: listing with filters and paging, status, results (not ready, failed), dismissal."""

from __future__ import annotations

import base64
import time

from fastapi.testclient import TestClient

from tests.support.jobs import submit, wait_for_job, wait_until_running
from tests.support.ogcapi import assert_problem, local


def ids(document: dict) -> list[str]:
    return [job["jobID"] for job in document["jobs"]]


def test_list_filters_and_pages(client: TestClient) -> None:
    jobs = [submit(client, "echo", {"literal": str(n)}) for n in range(3)]
    for job_id in jobs:
        wait_for_job(client.get, job_id)
    newest_first = list(reversed(jobs))
    assert ids(client.get("/jobs").json()) == newest_first
    page = client.get("/jobs", params={"limit": 2}).json()
    assert ids(page) == newest_first[:2]
    following = next(link["href"] for link in page["links"] if link["rel"] == "next")
    assert "limit=2" in following and "offset=2" in following
    assert ids(client.get(local(following)).json()) == newest_first[2:]
    assert (
        ids(client.get("/jobs", params={"processID": "echo", "status": "successful"}).json()) == newest_first
    )
    assert ids(client.get("/jobs", params={"processID": "ndvi"}).json()) == []
    assert ids(client.get("/jobs", params={"status": ["running", "failed"]}).json()) == []
    assert ids(client.get("/jobs", params={"type": "process"}).json()) == newest_first
    filtered = client.get("/jobs", params={"processID": "echo", "limit": 1}).json()
    assert "processID=echo" in next(link["href"] for link in filtered["links"] if link["rel"] == "next")
    for bad in ({"limit": 0}, {"limit": 1001}, {"status": "finished"}, {"offset": "x"}):
        assert_problem(client.get("/jobs", params=bad), 400, "invalid-parameter-value", next(iter(bad)))


def test_unknown_jobs_are_404(client: TestClient) -> None:
    for job_id in ("0" * 32, "not-a-job", "%2e%2e"):
        assert_problem(client.get(f"/jobs/{job_id}"), 404, "no-such-job")
        assert_problem(client.get(f"/jobs/{job_id}/results"), 404, "no-such-job")
        assert_problem(client.delete(f"/jobs/{job_id}"), 404, "no-such-job")


def test_results_not_ready_then_dismiss_stops_the_job(slow_client: TestClient) -> None:
    job_id = submit(slow_client, "slow", {"seconds": 0.5})
    running = wait_until_running(slow_client, job_id)
    assert running["status"] == "running" and "started" in running
    assert not any(link["rel"].endswith("/results") for link in running["links"])
    assert_problem(slow_client.get(f"/jobs/{job_id}/results"), 404, "result-not-ready", job_id)

    dismissed = slow_client.delete(f"/jobs/{job_id}")
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["status"] == "dismissed"
    assert_problem(slow_client.get(f"/jobs/{job_id}"), 404, "no-such-job")
    assert_problem(slow_client.get(f"/jobs/{job_id}/results"), 404, "no-such-job")
    assert_problem(slow_client.delete(f"/jobs/{job_id}"), 404, "no-such-job")
    assert job_id not in ids(slow_client.get("/jobs").json())

    engine = slow_client.app.app.app.state.service.engine  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while engine.running():  # the work stopped: the one pool slot is free again
        assert time.monotonic() < deadline
        time.sleep(0.05)
    quick = submit(slow_client, "slow", {"seconds": 0})
    assert wait_for_job(slow_client.get, quick)["status"] == "successful"


def test_failed_job_reports_its_exception(client: TestClient) -> None:
    garbage = {"value": base64.b64encode(b"not a tiff").decode(), "mediaType": "image/tiff"}
    job_id = submit(client, "ndvi", {"red": garbage, "nir": garbage})
    status = wait_for_job(client.get, job_id)
    assert status["status"] == "failed" and status["message"]
    assert not any(link["rel"].endswith("/results") for link in status["links"])
    problem = assert_problem(client.get(f"/jobs/{job_id}/results"), 400, "wrong-input-data", "red")
    assert problem["detail"] == status["message"]
    assert ids(client.get("/jobs", params={"status": "failed"}).json()) == [job_id]


def test_raw_async_results_follow_the_request(client: TestClient) -> None:
    job_id = submit(client, "echo", {"literal": "raw"}, outputs={"literal": {}})
    wait_for_job(client.get, job_id)
    response = client.get(f"/jobs/{job_id}/results")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain") and response.text == "raw"
