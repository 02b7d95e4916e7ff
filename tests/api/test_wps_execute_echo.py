"""``echo`` through WPS 1.0.0 Execute: every input kind comes back, KVP and XML, in a document (with
lineage), raw, or by reference."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from tests.support.ows import NS, output_by_id, xml
from tests.support.wps_v100_requests import execute_xml, literal_input


def test_kvp_echo_literal_and_bbox(client: TestClient) -> None:
    params = {
        "service": "WPS",
        "version": "1.0.0",
        "request": "Execute",
        "identifier": "echo",
        "DataInputs": "literal=hello%3Bworld;bbox=1,2,3,4,EPSG:4326",
    }
    response = client.get("/wps", params=params)
    assert response.status_code == 200, response.text
    root = xml(response)
    assert root.find("wps:Status/wps:ProcessSucceeded", NS) is not None
    literal = output_by_id(root, "literal").find("wps:Data/wps:LiteralData", NS)
    assert literal.text == "hello;world"
    bbox = output_by_id(root, "bbox").find("wps:Data/wps:BoundingBoxData", NS)
    assert bbox.get("crs") == "EPSG:4326"
    assert bbox.find("ows:LowerCorner", NS).text.split() == ["1.0", "2.0"]
    assert bbox.find("ows:UpperCorner", NS).text.split() == ["3.0", "4.0"]


def test_kvp_complex_inline_with_mime_type(client: TestClient) -> None:
    params = {
        "service": "WPS",
        "version": "1.0.0",
        "request": "Execute",
        "identifier": "echo",
        "DataInputs": "literal=x;complex=%7B%22a%22%3A1%7D@mimeType=application/json",
    }
    root = xml(client.get("/wps", params=params))
    complex_data = output_by_id(root, "complex").find("wps:Data/wps:ComplexData", NS)
    assert complex_data.get("mimeType") == "application/json"
    assert complex_data.text == '{"a":1}'


def test_xml_echo_inline_xml_and_lineage(client: TestClient) -> None:
    inputs = literal_input("literal", "hi") + (
        "<wps:Input><ows:Identifier>complex</ows:Identifier><wps:Data>"
        '<wps:ComplexData mimeType="text/xml"><point xmlns="urn:test"><x>1</x></point></wps:ComplexData>'
        "</wps:Data></wps:Input>"
    )
    form = (
        '<wps:ResponseForm><wps:ResponseDocument lineage="true">'
        "<wps:Output><ows:Identifier>complex</ows:Identifier></wps:Output>"
        "</wps:ResponseDocument></wps:ResponseForm>"
    )
    root = xml(client.post("/wps", content=execute_xml(inputs, form)))
    assert root.find("wps:DataInputs", NS) is not None
    assert root.find("wps:OutputDefinitions", NS) is not None
    outputs = root.findall("wps:ProcessOutputs/wps:Output", NS)
    assert [o.find("ows:Identifier", NS).text for o in outputs] == ["complex"]
    point = outputs[0].find("wps:Data/wps:ComplexData/{urn:test}point", NS)
    assert point is not None and point.findtext("{urn:test}x") == "1"


def test_xml_echo_base64_complex(client: TestClient) -> None:
    payload = bytes(range(256))
    inputs = literal_input("literal", "b") + (
        "<wps:Input><ows:Identifier>complex</ows:Identifier><wps:Data>"
        '<wps:ComplexData mimeType="application/octet-stream" encoding="base64">'
        f"{base64.b64encode(payload).decode()}</wps:ComplexData></wps:Data></wps:Input>"
    )
    root = xml(client.post("/wps", content=execute_xml(inputs)))
    complex_data = output_by_id(root, "complex").find("wps:Data/wps:ComplexData", NS)
    assert complex_data.get("encoding") == "base64"
    assert base64.b64decode(complex_data.text) == payload


def test_xml_bbox_urn_crs(client: TestClient) -> None:
    inputs = literal_input("literal", "b") + (
        "<wps:Input><ows:Identifier>bbox</ows:Identifier><wps:Data>"
        '<wps:BoundingBoxData crs="urn:ogc:def:crs:EPSG::4326" dimensions="2">'
        "<ows:LowerCorner>51.9 7.0</ows:LowerCorner><ows:UpperCorner>53.0 8.0</ows:UpperCorner>"
        "</wps:BoundingBoxData></wps:Data></wps:Input>"
    )
    root = xml(client.post("/wps", content=execute_xml(inputs)))
    bbox = output_by_id(root, "bbox").find("wps:Data/wps:BoundingBoxData", NS)
    assert bbox.get("crs") == "urn:ogc:def:crs:EPSG::4326"
    assert [float(v) for v in bbox.find("ows:UpperCorner", NS).text.split()] == [53.0, 8.0]


def test_raw_data_output_literal(client: TestClient) -> None:
    form = (
        "<wps:ResponseForm><wps:RawDataOutput><ows:Identifier>literal</ows:Identifier>"
        "</wps:RawDataOutput></wps:ResponseForm>"
    )
    response = client.post("/wps", content=execute_xml(literal_input("literal", "raw!"), form))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "raw!"


def test_raw_data_output_complex_kvp(client: TestClient) -> None:
    params = {
        "service": "WPS",
        "version": "1.0.0",
        "request": "Execute",
        "identifier": "echo",
        "DataInputs": "literal=x;complex=plain text@mimeType=text/plain",
        "RawDataOutput": "complex",
    }
    response = client.get("/wps", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "filename=" in response.headers["content-disposition"]
    assert response.text == "plain text"


def test_complex_output_by_reference(client: TestClient) -> None:
    inputs = literal_input("literal", "x") + (
        "<wps:Input><ows:Identifier>complex</ows:Identifier><wps:Data>"
        '<wps:ComplexData mimeType="application/json">{"k": [1, 2]}</wps:ComplexData></wps:Data></wps:Input>'
    )
    form = (
        '<wps:ResponseForm><wps:ResponseDocument><wps:Output asReference="true">'
        "<ows:Identifier>complex</ows:Identifier></wps:Output></wps:ResponseDocument></wps:ResponseForm>"
    )
    root = xml(client.post("/wps", content=execute_xml(inputs, form)))
    reference = output_by_id(root, "complex").find("wps:Reference", NS)
    href = reference.get("href")
    assert href.startswith("http://testserver/outputs/")
    fetched = client.get(href.removeprefix("http://testserver"))
    assert fetched.status_code == 200
    assert fetched.headers["content-type"].startswith("application/json")
    assert fetched.json() == {"k": [1, 2]}
