"""Waiting for jobs: polling WPS status documents and OGC API ``/jobs``, and submitting OGC API jobs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import dask
import dask.array as da
from fastapi.testclient import TestClient
from lxml import etree

from tests.support.ogcapi import execute


def poll(
    fetch: Callable[[], etree._Element], done: Callable[[etree._Element], bool], timeout: float = 30
) -> etree._Element:
    """Fetch a status document until ``done`` says so; the last document."""
    deadline = time.monotonic() + timeout
    while True:
        document = fetch()
        if done(document):
            return document
        assert time.monotonic() < deadline, etree.tostring(document)[:500]
        time.sleep(0.05)


def submit(client: TestClient, process: str, inputs: dict, **body: object) -> str:
    """Execute ``process`` asynchronously through the OGC API (``Prefer: respond-async``); the job id."""
    response = execute(client, process, {"inputs": inputs, **body}, Prefer="respond-async")
    assert response.status_code == 201, response.text
    return str(response.json()["jobID"])


def wait_until_running(client: TestClient, job_id: str, timeout: float = 30) -> dict:
    """Poll ``/jobs/{job_id}`` until the job has left ``accepted``; its statusInfo then."""
    deadline = time.monotonic() + timeout
    while (status := client.get(f"/jobs/{job_id}").json())["status"] == "accepted":
        assert time.monotonic() < deadline, status
        time.sleep(0.02)
    return status


def wait_for_job(get: Callable[[str], Any], job_id: str, timeout: float = 30) -> dict[str, Any]:
    """Poll ``/jobs/{job_id}`` until the job has finished; its last statusInfo."""
    deadline = time.monotonic() + timeout
    while True:
        response = get(f"/jobs/{job_id}")
        assert response.status_code == 200, response.text
        status = response.json()
        if status["status"] in {"successful", "failed", "dismissed"}:
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def complete_owslib_execution(execution: Any, polls: int = 300) -> None:
    """Poll an OWSLib WPS 1.0.0 execution's statusLocation (every 0.1 s) until it is complete."""
    for _ in range(polls):
        if execution.isComplete():
            return
        execution.checkStatus(sleepSecs=0.1)
    raise AssertionError(f"not complete after {polls} polls: {execution.status}")


def wait_until_progress(api: TestClient, job_id: str, timeout: float = 60) -> None:
    """Until the job reports some progress (its tasks have started running)."""
    deadline = time.monotonic() + timeout
    while (status := api.get(f"/jobs/{job_id}").json()).get("progress", 0) <= 0:
        assert status["status"] in ("accepted", "running"), status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def mixed_collections() -> tuple[object, ...]:
    """Dask collections of two kinds, interleaved: array, Delayed, array, Delayed, whose values are
    16.0, b"first", 7.0 and "second" (dask 2026.8 returns such a mix grouped by kind)."""
    return (
        da.ones((4, 4), chunks=2).sum(),
        dask.delayed(bytes)(b"first"),
        da.zeros((2, 2), chunks=1).sum() + 7,
        dask.delayed(str)("second"),
    )
