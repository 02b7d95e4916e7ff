"""One error handler: every failure is reported in the format of the face that received it.

WPS 1.0.0 requests get OWS 1.1 reports, WPS 2.0.0 requests OWS 2.0 reports, the OGC API and
everything outside the faces problem+json; unexpected faults anywhere are a 500 with a request id
and nothing of the fault itself; what a resource URL names and is not there is a 404.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.service.operations import WpsService
from tests.support.ogcapi import assert_problem
from tests.support.ows import NS, NS2, assert_exception

KVP = {
    "1.0.0": {"service": "WPS", "version": "1.0.0", "request": "DescribeProcess", "identifier": "ndvi"},
    "2.0.0": {"service": "WPS", "version": "2.0.0", "request": "DescribeProcess", "identifier": "ndvi"},
}
XML = {
    "1.0.0": '<wps:DescribeProcess xmlns:wps="http://www.opengis.net/wps/1.0.0" '
    'xmlns:ows="http://www.opengis.net/ows/1.1" service="WPS" version="1.0.0">'
    "<ows:Identifier>ndvi</ows:Identifier></wps:DescribeProcess>",
    "2.0.0": '<wps:DescribeProcess xmlns:wps="http://www.opengis.net/wps/2.0" '
    'xmlns:ows="http://www.opengis.net/ows/2.0" service="WPS" version="2.0.0">'
    "<ows:Identifier>ndvi</ows:Identifier></wps:DescribeProcess>",
}


@pytest.fixture
def broken_describe(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service fails unexpectedly when asked to describe processes."""

    def fail(self: WpsService, request: object) -> object:
        raise RuntimeError("secret detail of the fault")

    monkeypatch.setattr(WpsService, "describe", fail)


@pytest.mark.usefixtures("broken_describe")
@pytest.mark.parametrize("version", ["1.0.0", "2.0.0"])
def test_unexpected_fault_in_a_wps_request_is_the_versions_report(client: TestClient, version: str) -> None:
    namespaces = NS if version == "1.0.0" else NS2
    for response in (
        client.get("/wps", params=KVP[version]),
        client.post("/wps", content=XML[version], headers={"Content-Type": "text/xml"}),
    ):
        exception = assert_exception(response, "NoApplicableCode", 500, version=version)
        assert "request id" in exception.findtext("ows:ExceptionText", namespaces=namespaces)
        assert "secret" not in response.text and "Traceback" not in response.text


@pytest.mark.usefixtures("broken_describe")
def test_unexpected_fault_in_an_ogcapi_request_is_a_problem(client: TestClient) -> None:
    response = client.get("/processes/ndvi")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "NoApplicableCode" and "request id" in problem["detail"]
    assert "secret" not in response.text


@pytest.mark.parametrize("version", ["1.0.0", "2.0.0"])
def test_service_errors_speak_the_requests_version(client: TestClient, version: str) -> None:
    params = KVP[version] | {"identifier": "no_such_process"}
    code = "InvalidParameterValue" if version == "1.0.0" else "NoSuchProcess"
    assert_exception(client.get("/wps", params=params), code, 400, version=version)


def test_a_version_only_named_by_its_major_number_still_answers_in_it(client: TestClient) -> None:
    params = {"service": "WPS", "version": "2.0", "request": "GetStatus", "jobId": "x"}
    assert_exception(client.get("/wps", params=params), "InvalidParameterValue", 400, "version", "2.0.0")


def test_an_unknown_version_is_refused_in_the_default_version(client: TestClient) -> None:
    params = {"service": "WPS", "version": "3.0.0", "request": "DescribeProcess", "identifier": "ndvi"}
    assert_exception(client.get("/wps", params=params), "InvalidParameterValue", 400, "version")


def test_missing_parameter_of_a_2_0_request(client: TestClient) -> None:
    params = {"service": "WPS", "version": "2.0.0", "request": "GetStatus"}
    assert_exception(client.get("/wps", params=params), "MissingParameterValue", 400, "jobId", "2.0.0")


def test_xml_outside_the_wps_namespaces(client: TestClient) -> None:
    body = '<GetCapabilities xmlns="urn:not-wps" service="WPS"/>'
    response = client.post("/wps", content=body, headers={"Content-Type": "text/xml"})
    assert_exception(response, "OperationNotSupported", 501, "GetCapabilities")


def test_the_status_location_of_an_unknown_job_is_not_found(client: TestClient) -> None:
    assert_exception(client.get(f"/wps/status/{'0' * 32}"), "InvalidParameterValue", 404)


def test_the_same_unknown_job_by_parameter_is_a_bad_request(client: TestClient) -> None:
    params = {"service": "WPS", "version": "2.0.0", "request": "GetStatus", "jobId": "0" * 32}
    assert_exception(client.get("/wps", params=params), "NoSuchJob", 400, version="2.0.0")


def test_http_failures_outside_any_face_are_problems(client: TestClient) -> None:
    missing = client.get("/no/such/path")
    assert missing.status_code == 404 and missing.json()["type"] == "about:blank"
    wrong = client.delete("/processes")
    assert wrong.status_code == 405 and wrong.headers["content-type"] == "application/problem+json"
    assert "GET" in wrong.headers["allow"]


def test_request_validation_names_the_parameter(client: TestClient) -> None:
    assert_problem(client.get("/jobs", params={"limit": "0"}), 400, "invalid-parameter-value", "limit")
