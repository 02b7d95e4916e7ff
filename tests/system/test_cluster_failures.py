"""A broken cluster never leaves a job running, and never takes the API down.

Its own cluster (scheduler + 2 workers on 127.0.0.1), whose scheduler gives a task up at the first
worker that dies under it (``allowed-failures`` 0), so that a SIGKILLed worker fails the job with
distributed's KilledWorker at once; the scheduler is stopped and started again on the same port.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.jobs import distributed_executor
from app.main import create_app
from app.settings import Settings
from tests.support.cluster import ProcessCluster, cluster_registry
from tests.support.jobs import submit, wait_for_job, wait_until_progress
from tests.support.ogcapi import assert_problem, execute
from tests.support.service import free_port

CAPABILITIES = "/wps?service=WPS&request=GetCapabilities"

# one xdist worker, one cluster (with dev.py test's --dist loadgroup)
pytestmark = pytest.mark.xdist_group("fragile-cluster")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessCluster]:
    """A cluster whose scheduler fails a task as soon as one worker dies running it."""
    env = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    with ProcessCluster(tmp_path_factory.mktemp("fragile"), workers=2, env=env) as running:
        yield running


@pytest.fixture(autouse=True)
def quick_reconnection(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's client gives up connecting (or reconnecting) after 2 s, not 5."""
    monkeypatch.setattr(distributed_executor, "CONNECT_TIMEOUT", 2.0)


@pytest.fixture
def on_cluster(settings: Settings, cluster: ProcessCluster) -> Iterator[TestClient]:
    """The app on the cluster, the scheduler and both workers running first."""
    if cluster.scheduler is None:
        cluster.start_scheduler()
    cluster.restore_workers()
    configured = settings.model_copy(update={"dask_scheduler": cluster.address})
    with TestClient(create_app(configured, cluster_registry()), raise_server_exceptions=False) as api:
        yield api


def failure_detail(api: TestClient, job_id: str) -> str:
    """The job failed (never stays running); the message of its error."""
    status = wait_for_job(api.get, job_id, timeout=60)
    assert status["status"] == "failed", status
    problem = api.get(f"/jobs/{job_id}/results").json()
    return str(problem["detail"])


def test_worker_killed_mid_job_fails_the_job_with_a_reason(
    on_cluster: TestClient, cluster: ProcessCluster
) -> None:
    job_id = submit(on_cluster, "slow_total", {"seconds": 0.5})
    wait_until_progress(on_cluster, job_id)
    cluster.kill_worker(0)
    assert "workers died" in failure_detail(on_cluster, job_id)
    assert on_cluster.get(CAPABILITIES).status_code == 200


def test_scheduler_lost_mid_job_fails_the_job_with_a_reason(
    on_cluster: TestClient, cluster: ProcessCluster
) -> None:
    job_id = submit(on_cluster, "slow_total", {"seconds": 0.5})
    wait_until_progress(on_cluster, job_id)
    cluster.stop_scheduler()
    assert "connection to the processing cluster was lost" in failure_detail(on_cluster, job_id)


def test_scheduler_down_at_submit_then_back(on_cluster: TestClient, cluster: ProcessCluster) -> None:
    assert wait_for_job(on_cluster.get, submit(on_cluster, "slow_total", {"seconds": 0}))["status"] == (
        "successful"
    )
    cluster.stop_scheduler()
    assert_refused(on_cluster)  # while the service's client tries to reconnect
    time.sleep(2.5)
    assert_refused(on_cluster)  # once it has given up: a new client cannot connect
    assert len(on_cluster.get("/jobs").json()["jobs"]) == 1  # refused jobs leave no record behind
    cluster.start_scheduler()
    deadline = time.monotonic() + 30
    while (answer := execute(on_cluster, "slow_total", {"inputs": {"seconds": 0}})).status_code == 503:
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.5)
    assert answer.status_code == 200, answer.text
    assert float(answer.json()) == 512.0 * 512.0


def test_scheduler_never_reachable(settings: Settings) -> None:
    configured = settings.model_copy(update={"dask_scheduler": f"tcp://127.0.0.1:{free_port()}"})
    with TestClient(create_app(configured, cluster_registry()), raise_server_exceptions=False) as api:
        assert api.get(CAPABILITIES).status_code == 200  # start-up does not need the cluster
        started = time.monotonic()
        assert_problem(execute(api, "slow_total", {"inputs": {"seconds": 0}}), 503, "server-busy")
        assert time.monotonic() - started < 5
        started = time.monotonic()
        for _ in range(3):  # a burst of submits fails fast: attempts are not repeated at once
            refused = submit_refused(api)
            assert "unreachable" in refused
        assert time.monotonic() - started < 1
        assert api.get(CAPABILITIES).status_code == 200


def submit_refused(api: TestClient) -> str:
    """An async submit that must be refused with 503; the problem's detail."""
    response = execute(api, "slow_total", {"inputs": {"seconds": 0}}, Prefer="respond-async")
    return str(assert_problem(response, 503, "server-busy")["detail"])


def assert_refused(api: TestClient) -> None:
    """A sync execute is refused with a clear 503 and Retry-After; the API keeps serving."""
    refused = execute(api, "slow_total", {"inputs": {"seconds": 0}})
    problem = assert_problem(refused, 503, "server-busy")
    assert "processing cluster is unreachable" in problem["detail"]
    assert refused.headers["retry-after"] == "10"
    assert api.get(CAPABILITIES).status_code == 200
