"""WPS 1.0.0 GetCapabilities, DescribeProcess, Execute request checks and the protocol's exception
codes, KVP and XML."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.catalogue import CATALOGUE
from tests.support.ows import NS, assert_exception, xml
from tests.support.wps_v100_requests import execute_xml, literal_input

WPS_NS = 'xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1"'


def test_get_capabilities_lists_processes_and_dcp_urls(client: TestClient) -> None:
    response = client.get("/wps", params={"service": "WPS", "request": "GetCapabilities"})
    assert response.status_code == 200
    root = xml(response)
    identifiers = [e.text for e in root.iterfind("wps:ProcessOfferings/wps:Process/ows:Identifier", NS)]
    assert identifiers == CATALOGUE
    gets = root.xpath("//ows:Operation[@name='Execute']//ows:Get/@xlink:href", namespaces=NS)
    posts = root.xpath("//ows:Operation[@name='Execute']//ows:Post/@xlink:href", namespaces=NS)
    assert gets and gets[0].startswith("http://testserver/wps")
    assert posts == ["http://testserver/wps"]
    assert root.find("wps:Languages/wps:Default/ows:Language", NS).text == "en-US"


def test_parameter_names_are_case_insensitive(client: TestClient) -> None:
    response = client.get("/wps?SERVICE=WPS&Request=GetCapabilities")
    assert response.status_code == 200


def test_get_capabilities_xml_post(client: TestClient) -> None:
    body = f"""<wps:GetCapabilities {WPS_NS} service="WPS" language="en-US">
      <wps:AcceptVersions><ows:Version>1.0.0</ows:Version></wps:AcceptVersions>
    </wps:GetCapabilities>"""
    response = client.post("/wps", content=body, headers={"Content-Type": "text/xml"})
    assert response.status_code == 200
    assert xml(response).get("version") == "1.0.0"


def test_version_negotiation_failed(client: TestClient) -> None:
    response = client.get(
        "/wps", params={"service": "WPS", "request": "GetCapabilities", "AcceptVersions": "9.9.9"}
    )
    assert_exception(response, "VersionNegotiationFailed", 400)


def test_accept_versions_picks_a_supported_one(client: TestClient) -> None:
    params = {"service": "WPS", "request": "GetCapabilities", "AcceptVersions": "9.9.9,1.0.0"}
    assert client.get("/wps", params=params).status_code == 200


@pytest.mark.parametrize(
    ("identifiers", "expected"),
    [("ndvi", ["ndvi"]), ("ndvi,clip", ["ndvi", "clip"]), ("ALL", CATALOGUE)],
)
def test_describe_process(client: TestClient, identifiers: str, expected: list[str]) -> None:
    params = {"service": "WPS", "version": "1.0.0", "request": "DescribeProcess", "identifier": identifiers}
    response = client.get("/wps", params=params)
    assert response.status_code == 200
    root = xml(response)
    found = [e.text for e in root.iterfind("ProcessDescription/ows:Identifier", NS)]
    assert found == expected


def test_describe_process_details(client: TestClient) -> None:
    params = {"service": "WPS", "version": "1.0.0", "request": "DescribeProcess", "identifier": "clip"}
    root = xml(client.get("/wps", params=params))
    description = root.find("ProcessDescription", NS)
    assert description.get("storeSupported") == "true"
    assert description.get("statusSupported") == "true"
    raster = root.xpath("//Input[ows:Identifier='raster']", namespaces=NS)[0]
    assert raster.get("minOccurs") == "1" and raster.get("maxOccurs") == "1"
    default = raster.find("ComplexData/Default/Format/MimeType").text
    assert default == "image/tiff; subtype=geotiff"
    supported = [e.text for e in raster.iterfind("ComplexData/Supported/Format/MimeType")]
    assert "image/tiff" in supported
    bbox = root.xpath("//Input[ows:Identifier='bbox']/BoundingBoxData", namespaces=NS)[0]
    assert "EPSG:4326" in [e.text for e in bbox.iterfind("Supported/CRS")]


def test_describe_process_xml_post(client: TestClient) -> None:
    body = f"""<wps:DescribeProcess {WPS_NS} service="WPS" version="1.0.0">
      <ows:Identifier>echo</ows:Identifier><ows:Identifier>ndvi</ows:Identifier>
    </wps:DescribeProcess>"""
    root = xml(client.post("/wps", content=body))
    assert [e.text for e in root.iterfind("ProcessDescription/ows:Identifier", NS)] == ["echo", "ndvi"]


def test_describe_unknown_process(client: TestClient) -> None:
    params = {"service": "WPS", "version": "1.0.0", "request": "DescribeProcess", "identifier": "nope"}
    exception = assert_exception(
        client.get("/wps", params=params), "InvalidParameterValue", 400, "Identifier"
    )
    assert "'nope'" in exception.findtext("ows:ExceptionText", namespaces=NS)  # the bad value, in the text


def test_describe_without_identifier(client: TestClient) -> None:
    params = {"service": "WPS", "version": "1.0.0", "request": "DescribeProcess"}
    assert_exception(client.get("/wps", params=params), "MissingParameterValue", 400, "identifier")


def test_describe_without_version(client: TestClient) -> None:
    params = {"service": "WPS", "request": "DescribeProcess", "identifier": "ndvi"}
    assert_exception(client.get("/wps", params=params), "MissingParameterValue", 400, "version")


def test_unsupported_version(client: TestClient) -> None:
    params = {"service": "WPS", "version": "0.4.0", "request": "DescribeProcess", "identifier": "ndvi"}
    assert_exception(client.get("/wps", params=params), "InvalidParameterValue", 400, "version")


def test_missing_service(client: TestClient) -> None:
    assert_exception(client.get("/wps?request=GetCapabilities"), "MissingParameterValue", 400, "service")


def test_wrong_service(client: TestClient) -> None:
    response = client.get("/wps?service=WMS&request=GetCapabilities")
    assert_exception(response, "InvalidParameterValue", 400, "service")


def test_missing_request(client: TestClient) -> None:
    assert_exception(client.get("/wps?service=WPS"), "MissingParameterValue", 400, "request")


def test_unknown_operation(client: TestClient) -> None:
    response = client.get("/wps?service=WPS&request=GetMeASandwich")
    assert_exception(response, "OperationNotSupported", 501, "GetMeASandwich")  # OWS 1.1.0 table 25


def test_unknown_xml_operation(client: TestClient) -> None:
    body = f'<wps:Frobnicate {WPS_NS} service="WPS" version="1.0.0"/>'
    assert_exception(client.post("/wps", content=body), "OperationNotSupported", 501)


def test_unsupported_language(client: TestClient) -> None:
    params = {"service": "WPS", "request": "GetCapabilities", "language": "tlh"}
    assert_exception(client.get("/wps", params=params), "InvalidParameterValue", 400, "language")


def test_malformed_xml(client: TestClient) -> None:
    response = client.post("/wps", content=b"<wps:Execute")
    assert_exception(response, "InvalidParameterValue", 400)
    assert "Traceback" not in response.text


def test_missing_required_input(client: TestClient) -> None:
    response = client.post("/wps", content=execute_xml(""))
    assert_exception(response, "MissingParameterValue", 400, "literal")


def test_unknown_input(client: TestClient) -> None:
    inputs = literal_input("literal", "x") + literal_input("bogus", "1")
    assert_exception(client.post("/wps", content=execute_xml(inputs)), "InvalidParameterValue", 400, "bogus")


def test_too_many_occurrences(client: TestClient) -> None:
    inputs = literal_input("literal", "x") + literal_input("literal", "y")
    response = client.post("/wps", content=execute_xml(inputs))
    assert_exception(response, "InvalidParameterValue", 400, "literal")


def test_wrong_data_kind(client: TestClient) -> None:
    inputs = literal_input("literal", "x") + literal_input("bbox", "1")
    assert_exception(client.post("/wps", content=execute_xml(inputs)), "InvalidParameterValue", 400, "bbox")


def test_unsupported_mime_type(client: TestClient) -> None:
    inputs = literal_input("literal", "x") + (
        "<wps:Input><ows:Identifier>complex</ows:Identifier><wps:Data>"
        '<wps:ComplexData mimeType="video/mp4">abc</wps:ComplexData></wps:Data></wps:Input>'
    )
    response = client.post("/wps", content=execute_xml(inputs))
    assert_exception(response, "InvalidParameterValue", 400, "complex")


def test_unknown_output(client: TestClient) -> None:
    form = (
        "<wps:ResponseForm><wps:ResponseDocument><wps:Output><ows:Identifier>nope</ows:Identifier>"
        "</wps:Output></wps:ResponseDocument></wps:ResponseForm>"
    )
    response = client.post("/wps", content=execute_xml(literal_input("literal", "x"), form))
    assert_exception(response, "InvalidParameterValue", 400, "nope")


def test_unknown_process(client: TestClient) -> None:
    response = client.post("/wps", content=execute_xml("", identifier="nope"))
    exception = assert_exception(response, "InvalidParameterValue", 400, "Identifier")
    assert "'nope'" in exception.findtext("ows:ExceptionText", namespaces=NS)


def test_invalid_base64(client: TestClient) -> None:
    inputs = literal_input("literal", "x") + (
        "<wps:Input><ows:Identifier>complex</ows:Identifier><wps:Data>"
        '<wps:ComplexData mimeType="application/octet-stream" encoding="base64">***</wps:ComplexData>'
        "</wps:Data></wps:Input>"
    )
    response = client.post("/wps", content=execute_xml(inputs))
    assert_exception(response, "InvalidParameterValue", 400, "complex")
