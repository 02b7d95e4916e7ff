"""WPS 2.0.0 over /wps: capabilities, offerings, sync/async Execute, GetStatus, GetResult, Dismiss."""

from __future__ import annotations

import base64

import pytest
import rasterio
from fastapi.testclient import TestClient
from lxml import etree

from tests.support.catalogue import CATALOGUE
from tests.support.dataserver import DataServer
from tests.support.jobs import poll
from tests.support.ows import NS2, assert_exception, xml
from tests.support.rasters import RasterFactory
from tests.support.wps_v200_requests import execute_xml, job_request, literal


def test_capabilities_negotiates_2_0(client: TestClient) -> None:
    response = client.get(
        "/wps", params={"service": "WPS", "request": "GetCapabilities", "AcceptVersions": "2.0.0"}
    )
    root = xml(response)
    assert root.tag == "{http://www.opengis.net/wps/2.0}Capabilities" and root.get("version") == "2.0.0"
    summaries = root.findall("wps:Contents/wps:ProcessSummary", NS2)
    assert [s.findtext("ows:Identifier", namespaces=NS2) for s in summaries] == CATALOGUE
    assert summaries[0].get("jobControlOptions") == "sync-execute async-execute dismiss"
    assert summaries[0].get("outputTransmission") == "value reference"
    operations = {o.get("name") for o in root.iterfind("ows:OperationsMetadata/ows:Operation", NS2)}
    assert {"GetStatus", "GetResult", "Dismiss", "Execute"} <= operations


def test_capabilities_prefers_client_order(client: TestClient) -> None:
    params = {"service": "WPS", "request": "GetCapabilities", "AcceptVersions": "1.0.0,2.0.0"}
    assert xml(client.get("/wps", params=params)).get("version") == "1.0.0"


def test_capabilities_xml_post(client: TestClient) -> None:
    body = (
        '<wps:GetCapabilities xmlns:wps="http://www.opengis.net/wps/2.0" xmlns:ows="http://www.opengis.net/ows/2.0"'
        ' service="WPS"><ows:AcceptVersions><ows:Version>2.0.0</ows:Version></ows:AcceptVersions>'
        "</wps:GetCapabilities>"
    )
    assert xml(client.post("/wps", content=body)).get("version") == "2.0.0"


@pytest.mark.parametrize("accepted", ["de-DE,en-US", "de", "*", "fr,en"])
def test_accept_languages_takes_the_first_spoken_else_the_default(client: TestClient, accepted: str) -> None:
    params = {"service": "WPS", "request": "GetCapabilities", "AcceptVersions": "2.0.0"}
    root = xml(client.get("/wps", params=params | {"AcceptLanguages": accepted}))
    assert root.tag == "{http://www.opengis.net/wps/2.0}Capabilities"
    assert (
        root.find("ows:ServiceIdentification/ows:Title", NS2).get(
            "{http://www.w3.org/XML/1998/namespace}lang"
        )
        == "en-US"
    )


def test_an_explicit_language_must_be_spoken(client: TestClient) -> None:
    params = {"service": "WPS", "request": "GetCapabilities", "AcceptVersions": "2.0.0", "language": "de"}
    assert_exception(client.get("/wps", params=params), "InvalidParameterValue", 400, "language", "2.0.0")


def test_describe_process_offerings(client: TestClient) -> None:
    params = {"service": "WPS", "version": "2.0.0", "request": "DescribeProcess", "identifier": "clip,ndvi"}
    root = xml(client.get("/wps", params=params))
    identifiers = root.xpath("wps:ProcessOffering/wps:Process/ows:Identifier/text()", namespaces=NS2)
    assert identifiers == ["clip", "ndvi"]


def test_describe_unknown_process(client: TestClient) -> None:
    params = {"service": "WPS", "version": "2.0.0", "request": "DescribeProcess", "identifier": "nope"}
    assert_exception(client.get("/wps", params=params), "NoSuchProcess", 400, "nope", version="2.0.0")


def test_sync_execute_document(client: TestClient) -> None:
    body = literal("literal", "hi") + '<wps:Output id="literal" transmission="value"/>'
    root = xml(client.post("/wps", content=execute_xml(body)))
    assert root.tag == "{http://www.opengis.net/wps/2.0}Result"
    assert len(root.findtext("wps:JobID", namespaces=NS2)) == 32
    (output,) = root.findall("wps:Output", NS2)
    assert output.get("id") == "literal"
    assert output.findtext("wps:Data/wps:LiteralValue", namespaces=NS2) == "hi"


def test_sync_execute_raw(client: TestClient) -> None:
    body = literal("literal", "raw value") + '<wps:Output id="literal"/>'
    response = client.post("/wps", content=execute_xml(body, response="raw"))
    assert response.status_code == 200 and response.text == "raw value"


def test_complex_and_bbox_by_reference_and_value(client: TestClient) -> None:
    body = (
        literal("literal", "x")
        + '<wps:Input id="complex"><wps:Data mimeType="application/json">{"a": 2}</wps:Data></wps:Input>'
        + '<wps:Input id="bbox"><wps:Data><ows:BoundingBox crs="EPSG:4326">'
        "<ows:LowerCorner>1 2</ows:LowerCorner><ows:UpperCorner>3 4</ows:UpperCorner></ows:BoundingBox>"
        "</wps:Data></wps:Input>"
        + '<wps:Output id="complex" transmission="reference"/><wps:Output id="bbox"/>'
    )
    root = xml(client.post("/wps", content=execute_xml(body)))
    complex_out, bbox_out = root.findall("wps:Output", NS2)
    href = complex_out.find("wps:Reference", NS2).get("{http://www.w3.org/1999/xlink}href")
    assert client.get(href.removeprefix("http://testserver")).json() == {"a": 2}
    box = bbox_out.find("wps:Data/ows:BoundingBox", NS2)
    assert box.get("crs") == "EPSG:4326"
    assert [float(v) for v in box.findtext("ows:UpperCorner", namespaces=NS2).split()] == [3, 4]


@pytest.mark.parametrize(
    ("body", "code", "locator"),
    [
        ('<wps:Output id="literal"/>', "MissingParameterValue", "literal"),
        (literal("literal", "x") + literal("nope", "1"), "NoSuchInput", "nope"),
        (literal("literal", "x") + literal("literal", "y"), "TooManyInputs", "literal"),
        (literal("literal", "x") + '<wps:Output id="nope"/>', "NoSuchOutput", "nope"),
        (
            literal("literal", "x")
            + '<wps:Input id="complex"><wps:Data mimeType="video/mp4">x</wps:Data></wps:Input>',
            "NoSuchFormat",
            "complex",
        ),
    ],
)
def test_execute_exceptions(client: TestClient, body: str, code: str, locator: str) -> None:
    assert_exception(client.post("/wps", content=execute_xml(body)), code, 400, locator, version="2.0.0")


def test_unknown_mode(client: TestClient) -> None:
    response = client.post("/wps", content=execute_xml(literal("literal", "x"), mode="later"))
    assert_exception(response, "NoSuchMode", 400, "mode", version="2.0.0")


def test_async_cycle_status_result_dismiss(
    client: TestClient, data_server: DataServer, rasters: RasterFactory
) -> None:
    rasters("red.tif", width=300, height=200, seed=1)
    rasters("nir.tif", width=300, height=200, seed=2)
    body = (
        f'<wps:Input id="red"><wps:Reference xlink:href="{data_server.url("red.tif")}"/></wps:Input>'
        f'<wps:Input id="nir"><wps:Reference xlink:href="{data_server.url("nir.tif")}"/></wps:Input>'
        '<wps:Output id="ndvi" transmission="reference"/>'
    )
    accepted = xml(client.post("/wps", content=execute_xml(body, "ndvi", mode="async")))
    assert accepted.tag == "{http://www.opengis.net/wps/2.0}StatusInfo"
    job_id = accepted.findtext("wps:JobID", namespaces=NS2)
    assert accepted.findtext("wps:Status", namespaces=NS2) in {"Accepted", "Running", "Succeeded"}

    def status() -> etree._Element:
        return xml(client.post("/wps", content=job_request("GetStatus", job_id)))

    final = poll(status, lambda doc: doc.findtext("wps:Status", namespaces=NS2) in {"Succeeded", "Failed"})
    assert final.findtext("wps:Status", namespaces=NS2) == "Succeeded"
    assert final.findtext("wps:PercentCompleted", namespaces=NS2) == "100"
    assert final.find("wps:ExpirationDate", NS2) is not None

    kvp = {"service": "WPS", "version": "2.0.0", "request": "GetResult", "jobId": job_id}
    result = xml(client.get("/wps", params=kvp))
    assert result.findtext("wps:JobID", namespaces=NS2) == job_id
    href = result.find("wps:Output/wps:Reference", NS2).get("{http://www.w3.org/1999/xlink}href")
    tiff = client.get(href.removeprefix("http://testserver"))
    with rasterio.MemoryFile(tiff.content) as memfile, memfile.open() as dataset:
        assert dataset.dtypes == ("float32",) and dataset.shape == (200, 300)

    dismissed = xml(client.post("/wps", content=job_request("Dismiss", job_id)))
    assert dismissed.findtext("wps:Status", namespaces=NS2) == "Dismissed"
    assert client.get(href.removeprefix("http://testserver")).status_code == 404
    response = client.post("/wps", content=job_request("GetStatus", job_id))
    assert_exception(response, "NoSuchJob", 400, job_id, version="2.0.0")
    assert_exception(client.get("/wps", params=kvp), "NoSuchJob", 400, job_id, version="2.0.0")


def test_get_status_unknown_job(client: TestClient) -> None:
    params = {"service": "WPS", "version": "2.0.0", "request": "GetStatus", "jobId": "../../etc/passwd"}
    assert_exception(client.get("/wps", params=params), "NoSuchJob", 400, version="2.0.0")


def test_get_status_without_job_id(client: TestClient) -> None:
    params = {"service": "WPS", "version": "2.0.0", "request": "GetStatus"}
    assert_exception(client.get("/wps", params=params), "MissingParameterValue", 400, version="2.0.0")


def test_failed_async_job_reports_its_exception(client: TestClient) -> None:
    garbage = base64.b64encode(b"not a tiff").decode()
    body = (
        f'<wps:Input id="red"><wps:Data mimeType="image/tiff" encoding="base64">{garbage}</wps:Data></wps:Input>'
        f'<wps:Input id="nir"><wps:Data mimeType="image/tiff" encoding="base64">{garbage}</wps:Data></wps:Input>'
    )
    accepted = xml(client.post("/wps", content=execute_xml(body, "ndvi", mode="async")))
    job_id = accepted.findtext("wps:JobID", namespaces=NS2)
    final = poll(
        lambda: xml(client.post("/wps", content=job_request("GetStatus", job_id))),
        lambda doc: doc.findtext("wps:Status", namespaces=NS2) in {"Succeeded", "Failed"},
    )
    assert final.findtext("wps:Status", namespaces=NS2) == "Failed"
    response = client.post("/wps", content=job_request("GetResult", job_id))
    assert_exception(response, "WrongInputData", 400, "red", version="2.0.0")
