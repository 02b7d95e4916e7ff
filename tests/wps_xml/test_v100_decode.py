"""WPS 1.0.0 request decoding: the OGC example requests and the KVP forms of the specification."""

from __future__ import annotations

import base64

import pytest

from app.algorithms.registry import default_registry
from app.model.errors import InvalidParameterValue, MissingParameterValue
from app.model.requests import BoundingBoxValue, ComplexValue, LiteralValue
from app.wps_xml.kvp import Kvp, parse_items
from app.wps_xml.parser import parse_xml
from app.wps_xml.schemas import SCHEMA_DIR
from app.wps_xml.v100 import decode

EXAMPLES = SCHEMA_DIR / "wps" / "1.0.0" / "examples"


def _example(name: str):
    return parse_xml((EXAMPLES / name).read_bytes())


def test_official_raw_data_output_example() -> None:
    request = decode.execute_from_xml(_example("50_wpsExecute_request_RawDataOutput.xml"))
    assert request.identifier == "Buffer"
    polygon, distance = (value for _, value in request.inputs)
    assert isinstance(polygon, ComplexValue) and polygon.href == "http://foo.bar/some_WFS_request.xml"
    assert isinstance(distance, LiteralValue) and distance.value == "400"
    assert request.response.raw
    assert [o.identifier for o in request.response.outputs] == ["BufferedPolygon"]


def test_official_extended_response_document_example() -> None:
    request = decode.execute_from_xml(_example("51_wpsExecute_request-extended_ResponseDocument.xml"))
    zones = request.values("BufferZoneWidth")[0]
    assert isinstance(zones, ComplexValue)
    assert zones.mime_type == "text/xml" and zones.schema_url == "http://foo.bar/MyComplexValueSchema.xsd"
    assert zones.data is not None and b"BufferZones" in zones.data
    assert parse_xml(zones.data).tag == "BufferZones"
    assert request.response.store
    (output,) = request.response.outputs
    assert output.as_reference and output.title == "Area serviced by playground."


def test_official_post_reference_example() -> None:
    request = decode.execute_from_xml(_example("52_wpsExecute_request_ResponseDocument.xml"))
    polygon = request.values("InputPolygon")[0]
    assert isinstance(polygon, ComplexValue)
    assert polygon.method == "POST"
    assert polygon.mime_type == "text/xml" and polygon.encoding == "UTF-8"
    assert polygon.schema_url == "http://foo.bar/gml_polygon_schema.xsd"
    distance = request.values("BufferDistance")[0]
    assert isinstance(distance, LiteralValue) and distance.uom == "feet"
    assert request.response.lineage and request.response.status


def test_kvp_example_from_the_specification() -> None:
    kvp = Kvp.from_pairs(
        [
            ("Service", "WPS"),
            ("Version", "1.0.0"),
            ("Request", "Execute"),
            ("Identifier", "echo"),
            (
                "DataInputs",
                "[complex=@xlink:href=http%3A%2F%2Ffoo.bar%2Fa.xml@method=POST@mimeType=text/xml;"
                "literal=400@uom=feet;bbox=46,102,47,103,urn:ogc:def:crs:EPSG::4326,2]",
            ),
            ("ResponseDocument", "[literal=@asReference=true]"),
            ("lineage", "true"),
        ]
    )
    request = decode.execute_from_kvp(kvp, default_registry().describe)
    complex_value = request.values("complex")[0]
    assert isinstance(complex_value, ComplexValue)
    assert complex_value.href == "http://foo.bar/a.xml" and complex_value.mime_type == "text/xml"
    literal = request.values("literal")[0]
    assert isinstance(literal, LiteralValue) and literal.value == "400" and literal.uom == "feet"
    bbox = request.values("bbox")[0]
    assert isinstance(bbox, BoundingBoxValue)
    assert bbox.lower == (46, 102) and bbox.upper == (47, 103)
    assert bbox.crs == "urn:ogc:def:crs:EPSG::4326"
    assert request.response.lineage
    assert request.response.outputs[0].as_reference


def test_kvp_base64_complex() -> None:
    encoded = base64.b64encode(b"\x00\x01binary").decode()
    kvp = Kvp.from_pairs(
        [
            ("version", "1.0.0"),
            ("identifier", "echo"),
            ("DataInputs", f"complex={encoded}@mimeType=application/octet-stream@encoding=base64"),
        ]
    )
    value = decode.execute_from_kvp(kvp, default_registry().describe).values("complex")[0]
    assert isinstance(value, ComplexValue) and value.data == b"\x00\x01binary"


def test_kvp_items_decode_escaped_separators() -> None:
    (item,) = parse_items("literal=a%3Bb%40c%3Dd@uom=m", "DataInputs", with_value=True)
    assert item.value == "a;b@c=d" and item.attributes == {"uom": "m"}


@pytest.mark.parametrize("bad", ["1,2,3", "1,2,3,4,5,6,7,8,9", "a,b,c,d"])
def test_kvp_bad_bbox(bad: str) -> None:
    kvp = Kvp.from_pairs([("version", "1.0.0"), ("identifier", "echo"), ("DataInputs", f"bbox={bad}")])
    with pytest.raises(InvalidParameterValue) as info:
        decode.execute_from_kvp(kvp, default_registry().describe)
    assert info.value.locator == "bbox"


def test_kvp_repeated_parameter_is_refused() -> None:
    with pytest.raises(InvalidParameterValue):
        Kvp.from_pairs([("request", "a"), ("REQUEST", "b")])


def test_execute_without_identifier() -> None:
    root = parse_xml(
        b'<wps:Execute xmlns:wps="http://www.opengis.net/wps/1.0.0" service="WPS" version="1.0.0"/>'
    )
    with pytest.raises(MissingParameterValue):
        decode.execute_from_xml(root)
