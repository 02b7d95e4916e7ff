"""One job, three faces: submitted through WPS 1.0.0, WPS 2.0 or OGC API, seen and controlled by the others."""

from __future__ import annotations

from fastapi.testclient import TestClient
from lxml import etree

from tests.support.jobs import poll, submit, wait_for_job, wait_until_running
from tests.support.ogcapi import assert_problem, local
from tests.support.ows import NS, NS2, assert_exception, xml
from tests.support.wps_v100_requests import slow_execute_v100
from tests.support.wps_v200_requests import execute_xml as execute_v200
from tests.support.wps_v200_requests import job_request, literal


def wps2_status(client: TestClient, job_id: str) -> etree._Element:
    return xml(client.post("/wps", content=job_request("GetStatus", job_id)))


def test_wps2_job_through_the_json_face(client: TestClient) -> None:
    body = literal("literal", "from wps2") + '<wps:Output id="literal" transmission="value"/>'
    accepted = xml(client.post("/wps", content=execute_v200(body, mode="async")))
    job_id = accepted.findtext("wps:JobID", namespaces=NS2)
    assert job_id
    status = wait_for_job(client.get, job_id)
    assert (status["jobID"], status["processID"], status["status"]) == (job_id, "echo", "successful")
    assert client.get(f"/jobs/{job_id}/results").json() == {"literal": "from wps2"}
    assert job_id in [job["jobID"] for job in client.get("/jobs").json()["jobs"]]


def test_json_job_through_wps2(slow_client: TestClient) -> None:
    job_id = submit(slow_client, "slow", {"seconds": 0.02}, response="document")
    assert wps2_status(slow_client, job_id).findtext("wps:Status", namespaces=NS2) in {
        "Accepted",
        "Running",
        "Succeeded",
    }
    final = poll(
        lambda: wps2_status(slow_client, job_id),
        lambda doc: doc.findtext("wps:Status", namespaces=NS2) in {"Succeeded", "Failed"},
    )
    assert final.findtext("wps:Status", namespaces=NS2) == "Succeeded"
    result = xml(slow_client.post("/wps", content=job_request("GetResult", job_id)))
    assert result.findtext("wps:JobID", namespaces=NS2) == job_id
    assert result.find("wps:Output", NS2).get("id") == "result"
    document = slow_client.get(f"/jobs/{job_id}/results").json()
    assert document["result"]["mediaType"] == "image/tiff; application=geotiff"  # the JSON face's default


def test_json_dismissal_seen_by_wps1_and_wps2(slow_client: TestClient) -> None:
    job_id = submit(slow_client, "slow", {"seconds": 0.5})
    wait_until_running(slow_client, job_id)
    status_location = next(
        link["href"]
        for link in slow_client.get(f"/jobs/{job_id}").json()["links"]
        if link["type"] == "text/xml"
    )
    running = xml(slow_client.get(local(status_location)))
    assert running.find("wps:Status/wps:ProcessStarted", NS) is not None
    assert slow_client.delete(f"/jobs/{job_id}").json()["status"] == "dismissed"
    assert_exception(slow_client.get(local(status_location)), "InvalidParameterValue", 404, job_id)
    gone = slow_client.post("/wps", content=job_request("GetStatus", job_id))
    assert_exception(gone, "NoSuchJob", 400, job_id, version="2.0.0")


def test_wps1_job_dismissed_through_the_json_face(slow_client: TestClient) -> None:
    accepted = xml(slow_client.post("/wps", content=slow_execute_v100(0.5)))
    job_id = accepted.get("statusLocation").rsplit("/", 1)[1]
    assert wait_until_running(slow_client, job_id)["processID"] == "slow"
    assert_problem(slow_client.get(f"/jobs/{job_id}/results"), 404, "result-not-ready")
    assert slow_client.delete(f"/jobs/{job_id}").status_code == 200
    assert_problem(slow_client.get(f"/jobs/{job_id}"), 404, "no-such-job")
    dismissed = slow_client.post("/wps", content=job_request("Dismiss", job_id))
    assert_exception(dismissed, "NoSuchJob", 400, job_id, version="2.0.0")


def test_wps2_dismissal_seen_by_the_json_face(slow_client: TestClient) -> None:
    job_id = submit(slow_client, "slow", {"seconds": 0.5})
    wait_until_running(slow_client, job_id)
    dismissed = xml(slow_client.post("/wps", content=job_request("Dismiss", job_id)))
    assert dismissed.findtext("wps:Status", namespaces=NS2) == "Dismissed"
    assert_problem(slow_client.get(f"/jobs/{job_id}"), 404, "no-such-job")
