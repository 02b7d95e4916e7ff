"""Chaining in the WPS decoders: a Reference to this service's own ``/wps`` holding an Execute (a
``wps:Body`` of either version, or a 1.0.0 KVP Execute URL) decodes to a NestedProcess whose request
is exactly what decoding that Execute alone gives; a Reference to data stays data; a chain to
another server is refused."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from lxml import etree

from app.model.errors import InvalidParameterValue
from app.model.requests import BoundingBoxValue, ComplexValue
from app.wps_xml.parser import parse_xml
from app.wps_xml.schemas import validate
from app.wps_xml.v100 import decode as v100
from tests.support import wps_v100_requests as w1
from tests.support import wps_v200_requests as w2
from tests.support.wps_chaining import (
    BOX,
    alone,
    chain,
    clip_kvp,
    clip_v100,
    clip_v200,
    error_of,
    ndvi_v100,
    nested,
    read_kvp,
    read_v100,
    read_v200,
)

DATA = "http://data.example/red.tif"
REMOTE = "http://elsewhere.example/wps"
CLIP_V100 = clip_v100(DATA)
CLIP_V200 = clip_v200(DATA)
CLIP_KVP = clip_kvp(DATA)
NIR = w1.reference_input("nir", DATA)


def ndvi(red: str, nir: str = NIR) -> str:
    """A 1.0.0 ndvi of these wps:Input fragments (nir: plain data unless given)."""
    return ndvi_v100(red, nir)


def canonical(document: str | bytes) -> bytes:
    """Exclusive C14N: namespace declarations the element does not use left out."""
    text = document.encode() if isinstance(document, str) else document
    return etree.tostring(parse_xml(text), method="c14n", exclusive=True)


# ----------------------------------------------------------------------------- the chaining forms


def test_v100_body_is_the_nested_execute_decoded_alone() -> None:
    document = ndvi(w1.nested_input("red", CLIP_V100))
    validate(document.encode(), "1.0.0")  # the chaining form is schema-valid, nested Execute included
    request = read_v100(document)
    red = nested(request.values("red")[0])
    assert red.request == alone(CLIP_V100)
    assert red.request.response.outputs[0].identifier == "clipped"
    assert red.origin == ComplexValue(href=w1.OWN_WPS, method="POST", mime_type=w1.GEOTIFF)
    assert request.values("nir") == [ComplexValue(href=DATA, mime_type=w1.GEOTIFF)]


def test_origin_never_holds_the_body_nor_headers() -> None:
    reference = (
        f'<wps:Input><ows:Identifier>red</ows:Identifier><wps:Reference xlink:href="{w1.OWN_WPS}"'
        ' method="POST" mimeType="image/tiff" encoding="binary" schema="http://s.example/x.xsd">'
        '<wps:Header key="Authorization" value="Bearer secret"/>'
        f"<wps:Body>{CLIP_V100}</wps:Body></wps:Reference></wps:Input>"
    )
    red = nested(read_v100(ndvi(reference)).values("red")[0])
    assert red.origin == ComplexValue(
        href=w1.OWN_WPS,
        method="POST",
        mime_type="image/tiff",
        encoding="binary",
        schema_url="http://s.example/x.xsd",
    )


def test_two_levels_deep() -> None:
    red, nir = w1.nested_input("red", CLIP_V100), w1.nested_input("nir", CLIP_V100)
    zones = w1.geojson_input("zones", '{"type": "FeatureCollection", "features": []}')
    top = w1.execute_xml(w1.nested_input("raster", ndvi(red, nir)) + zones, "", "zonal_statistics")
    validate(top.encode(), "1.0.0")
    middle = nested(read_v100(top).values("raster")[0]).request
    assert middle.identifier == "ndvi"
    assert [nested(value).request for _, value in middle.inputs] == [alone(CLIP_V100)] * 2


@pytest.mark.parametrize(
    "href", ["http://testserver/wps", "HTTP://TestServer:80/wps", "/wps", "wps", "./wps"]
)
def test_every_name_of_this_service(href: str) -> None:
    red = nested(read_v100(ndvi(w1.nested_input("red", CLIP_V100, href=href))).values("red")[0])
    assert red.request == alone(CLIP_V100)
    assert red.origin is not None and red.origin.href == href


def test_a_body_is_read_by_the_decoder_of_its_own_version() -> None:
    red = nested(read_v100(ndvi(w1.nested_input("red", CLIP_V200))).values("red")[0])
    assert red.request == alone(CLIP_V200)
    assert red.request.version == "2.0.0" and red.request.default_media_types
    outer = w2.execute_xml(
        w2.nested("red", CLIP_V100) + w2.reference("nir", DATA) + w2.output("ndvi"), "ndvi"
    )
    validate(outer.encode(), "2.0.0")
    red = nested(read_v200(outer).values("red")[0])
    assert red.request == alone(CLIP_V100) and red.request.version == "1.0.0"
    assert red.origin == ComplexValue(href=w2.OWN_WPS, method="POST", mime_type=w2.GEOTIFF)


@pytest.mark.parametrize("wrap", [escape, lambda text: f"<![CDATA[{text}]]>"], ids=["escaped", "cdata"])
def test_an_execute_sent_as_text_in_the_body(wrap: Any) -> None:
    reference = (
        f'<wps:Input><ows:Identifier>red</ows:Identifier><wps:Reference xlink:href="{w1.OWN_WPS}"'
        f' method="POST"><wps:Body>{wrap(CLIP_V100)}</wps:Body></wps:Reference></wps:Input>'
    )
    assert nested(read_v100(ndvi(reference)).values("red")[0]).request == alone(CLIP_V100)


def test_kvp_href_in_an_xml_request() -> None:
    document = ndvi(w1.kvp_nested_input("red", CLIP_KVP))
    validate(document.encode(), "1.0.0")
    red = nested(read_v100(document).values("red")[0])
    assert red.request == read_kvp(CLIP_KVP)
    assert red.request.identifier == "clip" and red.request.response.raw
    assert red.request.values("raster") == [ComplexValue(href=DATA, mime_type=w1.GEOTIFF)]
    assert red.request.values("bbox") == [BoundingBoxValue(lower=BOX[0], upper=BOX[1], crs="EPSG:32631")]
    assert red.origin == ComplexValue(href=CLIP_KVP, method="GET", mime_type=w1.GEOTIFF)


def test_kvp_parameter_names_and_request_value_are_case_insensitive() -> None:
    url = CLIP_KVP.replace("service=", "SERVICE=").replace("request=Execute", "Request=execute")
    url = url.replace("DataInputs=", "datainputs=").replace("identifier=", "IDENTIFIER=")
    assert (
        nested(read_v100(ndvi(w1.kvp_nested_input("red", url))).values("red")[0]).request.identifier == "clip"
    )


def test_kvp_href_in_a_kvp_request_two_levels_deep() -> None:
    ndvi = w1.kvp_execute_url("ndvi", [w1.kvp_reference("red", CLIP_KVP), w1.kvp_reference("nir", DATA)])
    top = w1.kvp_execute_url(
        "zonal_statistics", [w1.kvp_reference("raster", ndvi), w1.kvp_value("statistics", "mean")]
    )
    inner = nested(read_kvp(top).values("raster")[0]).request
    assert inner.identifier == "ndvi" and inner.response.outputs == ()
    assert nested(inner.values("red")[0]).request == read_kvp(CLIP_KVP)
    assert inner.values("nir") == [ComplexValue(href=DATA, mime_type=w1.GEOTIFF)]


def test_a_nested_execute_may_name_several_outputs_the_service_refuses_it() -> None:
    form = (
        "<wps:ResponseForm><wps:ResponseDocument><wps:Output><ows:Identifier>difference</ows:Identifier>"
        "</wps:Output><wps:Output><ows:Identifier>mask</ows:Identifier></wps:Output></wps:ResponseDocument>"
        "</wps:ResponseForm>"
    )
    change = w1.execute_xml(
        w1.reference_input("before", DATA) + w1.reference_input("after", DATA), form, "change_detection"
    )
    red = nested(read_v100(ndvi(w1.nested_input("red", change))).values("red")[0])
    assert [o.identifier for o in red.request.response.outputs] == ["difference", "mask"]


# ----------------------------------------------------------------------------- plain data stays data

WFS = '<wfs:GetFeature xmlns:wfs="http://www.opengis.net/wfs" service="WFS" version="1.1.0"/>'
DESCRIBE = (
    '<wps:DescribeProcess xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1"'
    ' service="WPS" version="1.0.0"><ows:Identifier>clip</ows:Identifier></wps:DescribeProcess>'
)


@pytest.mark.parametrize(
    ("href", "body"),
    [
        (DATA, None),
        (f"{w1.OWN_WPS}?service=WPS&request=GetCapabilities", None),
        (f"{REMOTE}?service=WPS&request=GetCapabilities&Execute=request", None),
        ("http://[::1/not-a-url?request=Execute", None),
        ("http://wfs.example/wfs", WFS),
        (w1.OWN_WPS, DESCRIBE),
        (REMOTE, "plain <text>, not XML"),
    ],
)
def test_plain_references_stay_data(href: str, body: str | None) -> None:
    if body is None:
        reference = w1.kvp_nested_input("red", href)
    else:
        reference = (
            f'<wps:Input><ows:Identifier>red</ows:Identifier><wps:Reference xlink:href="{escape(href)}"'
            f' method="POST"><wps:Body>{body if body.startswith("<") else escape(body)}</wps:Body>'
            "</wps:Reference></wps:Input>"
        )
    value = read_v100(ndvi(reference)).values("red")[0]
    assert isinstance(value, ComplexValue) and value.href == href
    if body is not None:  # sent on as before (XML compared canonically: the namespaces in scope come along)
        assert value.method == "POST" and value.body is not None
        if body.startswith("<"):
            assert canonical(value.body) == canonical(body)
        else:
            assert value.body.decode() == body


# ----------------------------------------------------------------------------- remote processes


@pytest.mark.parametrize(
    "href",
    [
        REMOTE,
        "http://127.0.0.1/wps",
        "https://testserver/wps",
        "http://testserver:8080/wps",
        "//elsewhere.example/wps",
    ],
)
@pytest.mark.parametrize("form", ["v100 body", "v200 body", "kvp"])
def test_remote_chains_are_refused(href: str, form: str) -> None:
    if form == "kvp":
        reference = w1.kvp_nested_input("red", CLIP_KVP.replace(w1.OWN_WPS, href))
    else:
        reference = w1.nested_input("red", CLIP_V100 if form == "v100 body" else CLIP_V200, href=href)
    error = error_of(InvalidParameterValue, read_v100, ndvi(reference))
    assert "remote processes are not supported" in error.message
    assert error.locator == "red"


def test_remote_chain_in_a_v200_request_and_deep_inside_the_tree() -> None:
    outer = w2.execute_xml(w2.nested("red", CLIP_V200, href=REMOTE) + w2.output("ndvi"), "ndvi")
    error = error_of(InvalidParameterValue, read_v200, outer)
    assert "remote processes are not supported" in error.message and error.locator == "red"
    remote = ndvi(w1.nested_input("red", CLIP_V100, href=REMOTE))
    top = w1.execute_xml(w1.nested_input("raster", remote), "", "zonal_statistics")
    error = error_of(InvalidParameterValue, read_v100, top)
    assert "remote processes are not supported" in error.message and error.locator == "raster/red"


def test_this_service_but_not_its_wps_endpoint() -> None:
    href = "http://testserver/processes/clip/execution"
    error = error_of(InvalidParameterValue, read_v100, ndvi(w1.nested_input("red", CLIP_V100, href=href)))
    assert error.locator == "red" and "/processes/clip/execution" in error.message


@pytest.mark.parametrize("version", ["1.0.0", "2.0.0"])
def test_a_body_reference_to_this_service_is_never_fetched(version: str) -> None:
    body_reference = '<wps:BodyReference xlink:href="http://data.example/execute.xml"/>'
    if version == "1.0.0":
        reference = (
            f'<wps:Input><ows:Identifier>red</ows:Identifier><wps:Reference xlink:href="{w1.OWN_WPS}"'
            f' method="POST">{body_reference}</wps:Reference></wps:Input>'
        )
        call, document = read_v100, ndvi(reference)
    else:
        reference = f'<wps:Input id="red"><wps:Reference xlink:href="{w2.OWN_WPS}">{body_reference}</wps:Reference></wps:Input>'
        call, document = read_v200, w2.execute_xml(reference + w2.output("ndvi"), "ndvi")
    validate(document.encode(), version)
    error = error_of(InvalidParameterValue, call, document)
    assert error.locator == "red" and "wps:BodyReference" in error.message


def test_the_readme_example() -> None:
    """The WPS 1.0.0 chaining example of README.md is valid and chains two clips of this service."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## Nested processes", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```xml\n(.*?)```", section, flags=re.DOTALL)
    validate(example.encode(), "1.0.0")
    request = v100.execute_from_xml(parse_xml(example.encode()), chain(public_url="http://127.0.0.1:8000"))
    red, nir = (nested(value).request for _, value in request.inputs)
    assert red.identifier == nir.identifier == "clip"
    assert red.values("bbox") == nir.values("bbox")
    assert [r.values("raster")[0] for r in (red, nir)] == [
        ComplexValue(href="https://example.org/B04.tif"),
        ComplexValue(href="https://example.org/B08.tif"),
    ]
