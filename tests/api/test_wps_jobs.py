"""Jobs through /wps: WPS 1.0.0 stored and asynchronous Execute, ServerBusy, dismissal that stops the work."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psutil
import pytest
from fastapi.testclient import TestClient

from app.algorithms.registry import default_registry
from app.main import create_app
from app.settings import Settings
from tests.support.jobs import poll
from tests.support.ows import NS, NS2, assert_exception, output_by_id, xml
from tests.support.slow_processes import Slow
from tests.support.wps_v100_requests import execute_xml, literal_input, slow_execute_v100
from tests.support.wps_v200_requests import execute_xml as execute_v200
from tests.support.wps_v200_requests import job_request
from tests.support.xsd_check import XsdChecker


def slow_app(tmp_path, **overrides: object) -> XsdChecker:
    settings = Settings(data_dir=tmp_path / "data", public_url="http://testserver", **overrides)
    return XsdChecker(create_app(settings, default_registry().register(Slow)))


@pytest.fixture
def jobs_client(tmp_path) -> Iterator[TestClient]:
    checker = slow_app(tmp_path, max_parallel=1, queue_size=1)
    with TestClient(checker) as client:
        yield client
    assert not checker.failures


def status_of(client: TestClient, location: str):
    return xml(client.get(location.removeprefix("http://testserver")))


def state(document) -> str:
    return next(iter(document.find("wps:Status", NS))).tag.split("}")[1]


def test_v100_async_moves_from_accepted_to_succeeded(jobs_client: TestClient) -> None:
    accepted = xml(jobs_client.post("/wps", content=slow_execute_v100(0.02)))
    assert state(accepted) in {"ProcessAccepted", "ProcessStarted"}
    assert accepted.find("wps:ProcessOutputs", NS) is None
    location = accepted.get("statusLocation")
    seen: set[str] = set()

    def fetch():
        document = status_of(jobs_client, location)
        seen.add(state(document))
        started = document.find("wps:Status/wps:ProcessStarted", NS)
        if started is not None:
            assert 0 <= int(started.get("percentCompleted")) <= 99
        return document

    final = poll(fetch, lambda doc: state(doc) in {"ProcessSucceeded", "ProcessFailed"})
    assert state(final) == "ProcessSucceeded"
    assert "ProcessStarted" in seen
    href = final.find("wps:ProcessOutputs/wps:Output/wps:Reference", NS).get("href")
    assert jobs_client.get(href.removeprefix("http://testserver")).status_code == 200


def test_status_location_of_unknown_job(jobs_client: TestClient) -> None:
    response = jobs_client.get("/wps/status/" + "0" * 32)
    assert_exception(response, "InvalidParameterValue", 404)


def test_server_busy_when_queue_full(jobs_client: TestClient) -> None:
    first = xml(jobs_client.post("/wps", content=slow_execute_v100(0.2)))  # runs ~13 s
    second = xml(jobs_client.post("/wps", content=slow_execute_v100(0.2)))  # waits in the queue
    response = jobs_client.post("/wps", content=slow_execute_v100(0.2))
    assert_exception(response, "ServerBusy", 503)
    assert "Retry" not in response.text
    for accepted in (first, second):  # nothing accepted was lost: both still known, then dismissed
        job_id = accepted.get("statusLocation").rsplit("/", 1)[1]
        assert state(status_of(jobs_client, accepted.get("statusLocation"))) in {
            "ProcessAccepted",
            "ProcessStarted",
        }
        dismissed = xml(jobs_client.post("/wps", content=job_request("Dismiss", job_id)))
        assert dismissed.findtext("wps:Status", namespaces=NS2) == "Dismissed"


def test_dismiss_stops_cpu(tmp_path) -> None:
    checker = slow_app(tmp_path, max_parallel=1, queue_size=1)
    with TestClient(checker) as client:
        body = '<wps:Input id="seconds"><wps:Data><wps:LiteralValue>0.5</wps:LiteralValue></wps:Data></wps:Input>'
        body += (
            '<wps:Input id="busy"><wps:Data><wps:LiteralValue>true</wps:LiteralValue></wps:Data></wps:Input>'
        )
        accepted = xml(client.post("/wps", content=execute_v200(body, "slow", mode="async")))
        job_id = accepted.findtext("wps:JobID", namespaces=NS2)
        poll(
            lambda: xml(client.post("/wps", content=job_request("GetStatus", job_id))),
            lambda doc: doc.findtext("wps:Status", namespaces=NS2) == "Running",
        )
        process = psutil.Process()
        before = process.cpu_times()
        time.sleep(1.0)
        during = process.cpu_times()
        burning = (during.user + during.system) - (before.user + before.system)
        # the job really was using CPU (two busy dask threads; less when the machine is shared)
        assert burning > 0.25, f"the job used only {burning:.2f} s CPU per second"
        client.post("/wps", content=job_request("Dismiss", job_id))
        time.sleep(0.7)  # a chunk already running may finish (0.5 s)
        settled = process.cpu_times()
        time.sleep(1.0)
        after = process.cpu_times()
        idle = (after.user + after.system) - (settled.user + settled.system)
        assert idle < min(0.2, burning / 3), f"still {idle:.2f} s CPU per second after dismissal"
        response = client.post("/wps", content=job_request("GetStatus", job_id))
        assert_exception(response, "NoSuchJob", 400, version="2.0.0")
    assert not checker.failures


def test_store_without_status_runs_synchronously_with_status_location(client: TestClient) -> None:
    form = (
        '<wps:ResponseForm><wps:ResponseDocument storeExecuteResponse="true">'
        "<wps:Output><ows:Identifier>literal</ows:Identifier></wps:Output>"
        "</wps:ResponseDocument></wps:ResponseForm>"
    )
    root = xml(client.post("/wps", content=execute_xml(literal_input("literal", "stored"), form)))
    assert root.find("wps:Status/wps:ProcessSucceeded", NS) is not None
    location = root.get("statusLocation")
    assert location.startswith("http://testserver/wps/status/")
    stored = xml(client.get(location.removeprefix("http://testserver")))
    assert stored.find("wps:Status/wps:ProcessSucceeded", NS) is not None
    assert output_by_id(stored, "literal").find("wps:Data/wps:LiteralData", NS).text == "stored"


def test_status_without_store_is_invalid(client: TestClient) -> None:
    form = (
        '<wps:ResponseForm><wps:ResponseDocument status="true">'
        "<wps:Output><ows:Identifier>literal</ows:Identifier></wps:Output>"
        "</wps:ResponseDocument></wps:ResponseForm>"
    )
    response = client.post("/wps", content=execute_xml(literal_input("literal", "x"), form))
    assert_exception(response, "InvalidParameterValue", 400, "status")
