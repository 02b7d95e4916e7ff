"""Literal and bounding box inputs by reference (WPS 1.0.0, WPS 2.0.0, OGC API): fetched and used.

echo returns what it received, so the value read from the reference is what comes back. The
references go through the same guard as complex inputs.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.dataserver import DataServer
from tests.support.ogcapi import assert_problem, execute
from tests.support.ows import NS, NS2, assert_exception, output_by_id, xml
from tests.support.rasters import RasterFactory
from tests.support.wps_v100_requests import execute_xml as execute_v100
from tests.support.wps_v200_requests import execute_xml as execute_v200

BOX_XML = (
    '<ows:BoundingBox xmlns:ows="http://www.opengis.net/ows/2.0" crs="EPSG:4326">'
    "<ows:LowerCorner>5.1 45.5</ows:LowerCorner><ows:UpperCorner>6.25 46</ows:UpperCorner></ows:BoundingBox>"
)
BOX_JSON = '{"bbox": [5.1, 45.5, 6.25, 46.0], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}'


@pytest.fixture
def documents(rasters: RasterFactory, data_server: DataServer) -> DataServer:
    """The data server with a text literal, an XML literal and two bounding boxes to refer to."""
    folder = rasters.directory
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hello.txt").write_text("hello from afar\n")
    (folder / "literal.xml").write_text(
        '<wps:LiteralValue xmlns:wps="http://www.opengis.net/wps/2.0">wrapped value</wps:LiteralValue>'
    )
    (folder / "box.xml").write_text(BOX_XML)
    (folder / "box.json").write_text(BOX_JSON)
    return data_server


def v200_reference(name: str, href: str) -> str:
    return f'<wps:Input id="{name}"><wps:Reference xlink:href="{href}"/></wps:Input>'


def v100_reference(name: str, href: str) -> str:
    return (
        f'<wps:Input><ows:Identifier>{name}</ows:Identifier><wps:Reference xlink:href="{href}"/></wps:Input>'
    )


@pytest.mark.parametrize(
    ("document", "expected"), [("hello.txt", "hello from afar"), ("literal.xml", "wrapped value")]
)
def test_wps2_literal_by_reference(
    client: TestClient, documents: DataServer, document: str, expected: str
) -> None:
    body = execute_v200(v200_reference("literal", documents.url(document)) + '<wps:Output id="literal"/>')
    root = xml(client.post("/wps", content=body, headers={"Content-Type": "text/xml"}))
    assert root.findtext("wps:Output/wps:Data/wps:LiteralValue", namespaces=NS2) == expected


def test_wps1_literal_by_reference(client: TestClient, documents: DataServer) -> None:
    body = execute_v100(v100_reference("literal", documents.url("hello.txt")))
    root = xml(client.post("/wps", content=body, headers={"Content-Type": "text/xml"}))
    output = output_by_id(root, "literal")
    assert output.findtext("wps:Data/wps:LiteralData", namespaces=NS) == "hello from afar"


def test_wps1_kvp_literal_by_reference(client: TestClient, documents: DataServer) -> None:
    params = {
        "service": "WPS",
        "version": "1.0.0",
        "request": "Execute",
        "identifier": "echo",
        "DataInputs": f"literal=@xlink:href={documents.url('hello.txt')}",
        "RawDataOutput": "literal",
    }
    response = client.get("/wps", params=params)
    assert response.status_code == 200 and response.text == "hello from afar"


@pytest.mark.parametrize("document", ["box.xml", "box.json"])
def test_wps2_bbox_by_reference(client: TestClient, documents: DataServer, document: str) -> None:
    inputs = '<wps:Input id="literal"><wps:Data><wps:LiteralValue>x</wps:LiteralValue></wps:Data></wps:Input>'
    body = execute_v200(inputs + v200_reference("bbox", documents.url(document)) + '<wps:Output id="bbox"/>')
    root = xml(client.post("/wps", content=body, headers={"Content-Type": "text/xml"}))
    box = root.find("wps:Output/wps:Data/ows:BoundingBox", NS2)
    assert box is not None
    assert box.findtext("ows:LowerCorner", namespaces=NS2) == "5.1 45.5"
    assert box.findtext("ows:UpperCorner", namespaces=NS2) == "6.25 46.0"


def test_wps1_bbox_by_reference(client: TestClient, documents: DataServer) -> None:
    inputs = "<wps:Input><ows:Identifier>literal</ows:Identifier><wps:Data><wps:LiteralData>x</wps:LiteralData></wps:Data></wps:Input>"
    body = execute_v100(inputs + v100_reference("bbox", documents.url("box.xml")))
    root = xml(client.post("/wps", content=body, headers={"Content-Type": "text/xml"}))
    box = output_by_id(root, "bbox").find("wps:Data/wps:BoundingBoxData", NS)
    assert box is not None and box.get("crs") == "EPSG:4326"
    assert box.findtext("ows:LowerCorner", namespaces=NS) == "5.1 45.5"


def test_ogcapi_literal_and_bbox_by_reference(client: TestClient, documents: DataServer) -> None:
    inputs = {"literal": {"href": documents.url("hello.txt")}, "bbox": {"href": documents.url("box.json")}}
    response = execute(client, "echo", {"inputs": inputs, "response": "document"})
    assert response.status_code == 200, response.text
    assert response.json()["literal"] == "hello from afar"
    assert response.json()["bbox"]["bbox"] == [5.1, 45.5, 6.25, 46.0]


def test_a_reference_that_is_no_bounding_box_is_refused(client: TestClient, documents: DataServer) -> None:
    inputs = {"literal": "x", "bbox": {"href": documents.url("hello.txt")}}
    assert_problem(execute(client, "echo", {"inputs": inputs}), 400, "invalid-parameter-value", "bbox")


def test_literal_references_pass_the_guard(client: TestClient) -> None:
    body = execute_v200(
        v200_reference("literal", "http://169.254.169.254/latest/meta-data") + '<wps:Output id="literal"/>'
    )
    response = client.post("/wps", content=body, headers={"Content-Type": "text/xml"})
    assert_exception(response, "DataNotAccessible", 400, "literal", version="2.0.0")


def test_an_inline_complex_value_for_a_literal_is_still_refused(client: TestClient) -> None:
    complex_literal = (
        "<wps:Input><ows:Identifier>literal</ows:Identifier><wps:Data>"
        '<wps:ComplexData mimeType="text/plain">x</wps:ComplexData></wps:Data></wps:Input>'
    )
    response = client.post(
        "/wps", content=execute_v100(complex_literal), headers={"Content-Type": "text/xml"}
    )
    assert_exception(response, "InvalidParameterValue", 400, "literal")
