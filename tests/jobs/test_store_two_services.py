"""Two real API processes (uvicorn children) sharing jobs through PostgreSQL and one data dir.

A job submitted through one is seen, polled, downloaded and dismissed through the other. SIGKILL
one mid-job and restart it: its own interrupted job is failed, the other instance's is untouched.
Then stop it for good: after the lease, the live one fails the dead one's job.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.dataserver import DataServer
from tests.support.rasters import RasterFactory
from tests.support.service import free_port, service_process

ENV = {"WPS_MAX_PARALLEL": "1", "WPS_CHUNK_SIZE": "256", "WPS_INSTANCE_LEASE": "60"}
SMALL = {"width": 200, "height": 150, "blocksize": 64}
BIG = {"width": 8000, "height": 8000, "blocksize": 256, "compress": None}
FINISHED = {"successful", "failed", "dismissed"}


def submit(base: str, data_server: DataServer, red: str, nir: str) -> str:
    """An asynchronous NDVI through the OGC API face of ``base``; the job id."""
    body = {
        "inputs": {"red": {"href": data_server.url(red)}, "nir": {"href": data_server.url(nir)}},
        "outputs": {"ndvi": {"transmissionMode": "reference"}},
        "response": "document",
    }
    response = httpx.post(
        f"{base}/processes/ndvi/execution", json=body, headers={"Prefer": "respond-async"}, timeout=30
    )
    assert response.status_code == 201, response.text
    return str(response.json()["jobID"])


def status(base: str, job_id: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/jobs/{job_id}", timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_until(base: str, job_id: str, states: set[str], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (current := status(base, job_id))["status"] not in states:
        assert time.monotonic() < deadline, current
        time.sleep(0.05)
    return current


def gone(path: Path, timeout: float = 5) -> bool:
    """Whether ``path`` no longer exists, or stops existing within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not path.exists()


def environment(url: str, name: str, **extra: str) -> dict[str, str]:
    return ENV | {"WPS_DATABASE_URL": url, "WPS_INSTANCE_NAME": name} | extra


def test_two_api_processes_share_jobs(
    tmp_path: Path, rasters: RasterFactory, data_server: DataServer, postgres_url: str
) -> None:
    rasters("red-small.tif", seed=1, **SMALL)
    rasters("nir-small.tif", seed=2, **SMALL)
    rasters("red-big.tif", seed=3, **BIG)
    rasters("nir-big.tif", seed=4, **BIG)
    data_dir, port_a, port_b = tmp_path / "shared-data", free_port(), free_port()
    a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    env_a, env_b = environment(postgres_url, "api-a"), environment(postgres_url, "api-b")

    with service_process(data_dir, port_b, env_b), service_process(data_dir, port_a, env_a) as process_a:
        shared = submit(a, data_server, "red-small.tif", "nir-small.tif")
        assert status(b, shared)["jobID"] == shared  # seen through the other at once
        assert wait_until(b, shared, FINISHED)["status"] == "successful"  # polled through the other
        results = httpx.get(f"{b}/jobs/{shared}/results", timeout=10)
        assert results.status_code == 200, results.text
        href = httpx.URL(results.json()["ndvi"]["href"])  # on the public URL of the instance that ran it
        image = httpx.get(f"{b}{href.path}", timeout=30)
        assert image.status_code == 200 and image.content[:4] in {b"II*\x00", b"MM\x00*"}
        dismissed = httpx.delete(f"{b}/jobs/{shared}", timeout=10)
        assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
        assert httpx.get(f"{a}/jobs/{shared}", timeout=10).status_code == 404
        assert httpx.get(f"{a}{href.path}", timeout=10).status_code == 404
        assert not (data_dir / "outputs" / shared).exists()

        on_a = submit(a, data_server, "red-big.tif", "nir-big.tif")
        on_b = submit(b, data_server, "red-big.tif", "nir-big.tif")
        wait_until(b, on_a, {"running"})
        wait_until(a, on_b, {"running"})
        process_a.send_signal(signal.SIGKILL)
        process_a.wait(timeout=10)

        with service_process(data_dir, port_a, env_a):  # the same instance comes back
            for base in (a, b):
                failed = status(base, on_a)
                assert failed["status"] == "failed" and "service restarted" in failed["message"]
                assert status(base, on_b)["status"] in {"running", "successful"}  # untouched
            assert not (data_dir / "outputs" / on_a).exists()
        assert httpx.delete(f"{b}/jobs/{on_b}", timeout=10).status_code == 200  # stop its work now


def test_a_dead_instances_jobs_are_failed_after_the_lease(
    tmp_path: Path, rasters: RasterFactory, data_server: DataServer, postgres_url: str
) -> None:
    rasters("red-big.tif", seed=3, **BIG)
    rasters("nir-big.tif", seed=4, **BIG)
    data_dir, port_a, port_b = tmp_path / "shared-data", free_port(), free_port()
    a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    lease = {"WPS_INSTANCE_LEASE": "6"}  # short, yet far above a busy process's heartbeat delays
    env_a, env_b = environment(postgres_url, "api-a", **lease), environment(postgres_url, "api-b", **lease)

    with service_process(data_dir, port_b, env_b), service_process(data_dir, port_a, env_a) as process_a:
        on_a = submit(a, data_server, "red-big.tif", "nir-big.tif")
        wait_until(b, on_a, {"running"})
        time.sleep(7)  # a live instance's job outlives the lease
        assert status(b, on_a)["status"] == "running", status(b, on_a)
        process_a.send_signal(signal.SIGKILL)
        process_a.wait(timeout=10)
        failed = wait_until(b, on_a, FINISHED, timeout=30)  # lease + one heartbeat of B
        assert failed["status"] == "failed", failed
        assert "instance running this job stopped" in failed["message"]
        assert gone(data_dir / "outputs" / on_a)  # B deletes the files right after marking the job
