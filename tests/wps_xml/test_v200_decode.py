"""WPS 2.0.0 request decoding: the OGC example requests, every data form, modes and errors."""

from __future__ import annotations

import base64

import pytest
from lxml import etree

from app.algorithms.registry import default_registry
from app.model.errors import InvalidParameterValue, MissingParameterValue, NoSuchProcess, WpsError
from app.model.requests import BoundingBoxValue, ComplexValue, JobRequest, LiteralValue
from app.wps_xml.kvp import Kvp
from app.wps_xml.parser import parse_xml
from app.wps_xml.schemas import SCHEMA_DIR, validate
from app.wps_xml.v200 import decode

XS_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"
EXAMPLES = SCHEMA_DIR / "wps" / "2.0" / "xml-examples"
NAMESPACES = (
    'xmlns:wps="http://www.opengis.net/wps/2.0" xmlns:ows="http://www.opengis.net/ows/2.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink"'
)


def example(name: str) -> etree._Element:
    """An official example request, checked against the schema, through the hardened parser."""
    data = (EXAMPLES / name).read_bytes()
    validate(data, "2.0.0")
    return parse_xml(data)


def execute(
    body: str,
    *,
    mode: str | None = "sync",
    response: str | None = "document",
    outputs: str = '<wps:Output id="out"/>',
    valid: bool = True,
) -> etree._Element:
    """An Execute request around some wps:Input elements; schema-checked unless ``valid`` is False."""
    attributes = " ".join(
        f'{name}="{value}"' for name, value in (("mode", mode), ("response", response)) if value is not None
    )
    document = (
        f'<wps:Execute {NAMESPACES} service="WPS" version="2.0.0" {attributes}>'
        f"<ows:Identifier>echo</ows:Identifier>{body}{outputs}</wps:Execute>"
    ).encode()
    if valid:
        validate(document, "2.0.0")
    return parse_xml(document)


def one_input(body: str) -> object:
    """The value of the single input ``x`` of an Execute request."""
    request = decode.execute_from_xml(execute(f'<wps:Input id="x">{body}</wps:Input>'))
    ((name, value),) = request.inputs
    assert name == "x"
    return value


def raises(error: type[WpsError], locator: str, call: object, *args: object) -> None:
    with pytest.raises(error) as info:
        call(*args)  # type: ignore[operator]
    assert info.value.locator == locator


# ----------------------------------------------------------------------------- official examples


def test_official_execute_example() -> None:
    request = decode.execute_from_xml(example("wpsExecuteRequestExample.xml"))
    assert request.version == "2.0.0"
    assert request.identifier == "http://my.wps.server/processes/proximity/Planar-Buffer"
    geometry, distance = request.inputs
    assert geometry == ("INPUT_GEOMETRY", ComplexValue(href="http://some.data.server/mygmldata.xml"))
    assert distance == ("DISTANCE", LiteralValue(value="10.0"))
    assert request.response.mode == "async" and not request.response.raw
    (output,) = request.response.outputs
    assert output.identifier == "BUFFERED_GEOMETRY" and output.as_reference
    assert output.mime_type is None and not request.response.lineage


@pytest.mark.parametrize(
    "name",
    ["wpsGetStatusRequestExample.xml", "wpsGetResultRequestExample.xml", "wpsDismissRequestExample.xml"],
)
def test_official_job_examples(name: str) -> None:
    request = decode.job_from_xml(example(name))
    assert request == JobRequest(version="2.0.0", job_id="FB6DD4B0-A2BB-11E3-A5E2-0800200C9A66")


def test_official_describe_example() -> None:
    request = decode.describe_from_xml(example("wpsDescribeProcessRequestExample.xml"))
    assert request.identifiers == ("Buffer", "Viewshed")
    assert request.version == "2.0.0" and request.language is None


def test_official_capabilities_example() -> None:
    request = decode.capabilities_from_xml(example("wpsGetCapabilitiesRequestExample.xml"))
    assert request.accept_versions == () and request.language is None


# ----------------------------------------------------------------------------- GetCapabilities


def test_capabilities_xml_versions_and_languages() -> None:
    document = (
        f'<wps:GetCapabilities {NAMESPACES} service="WPS">'
        "<ows:AcceptVersions><ows:Version>2.0.0</ows:Version><ows:Version>1.0.0</ows:Version>"
        "</ows:AcceptVersions><ows:AcceptLanguages><ows:Language>de-DE</ows:Language>"
        "<ows:Language>en-US</ows:Language></ows:AcceptLanguages></wps:GetCapabilities>"
    ).encode()
    validate(document, "2.0.0")
    request = decode.capabilities_from_xml(parse_xml(document))
    assert request.accept_versions == ("2.0.0", "1.0.0") and request.language == "de-DE"


@pytest.mark.parametrize(
    ("pairs", "versions", "language"),
    [
        ([("AcceptVersions", "2.0.0, 1.0.0"), ("AcceptLanguages", "en-US,de")], ("2.0.0", "1.0.0"), "en-US"),
        ([("language", "en")], (), "en"),
        ([], (), None),
    ],
)
def test_capabilities_kvp(
    pairs: list[tuple[str, str]], versions: tuple[str, ...], language: str | None
) -> None:
    request = decode.capabilities_from_kvp(Kvp.from_pairs([("service", "WPS"), *pairs]))
    assert request.accept_versions == versions and request.language == language


# ----------------------------------------------------------------------------- DescribeProcess


def test_describe_kvp() -> None:
    kvp = Kvp.from_pairs([("version", "2.0.0"), ("identifier", "echo, ndvi"), ("lang", "en-US")])
    request = decode.describe_from_kvp(kvp)
    assert request.identifiers == ("echo", "ndvi") and request.language == "en-US"
    assert decode.describe_from_kvp(
        Kvp.from_pairs([("version", "2.0.0"), ("identifier", "ALL")])
    ).identifiers == ("ALL",)


@pytest.mark.parametrize(
    ("pairs", "error", "locator"),
    [
        ([("version", "2.0.0")], MissingParameterValue, "identifier"),
        ([("version", "2.0.0"), ("identifier", " , ")], MissingParameterValue, "identifier"),
        ([("identifier", "echo")], MissingParameterValue, "version"),
        ([("version", "1.0.0"), ("identifier", "echo")], InvalidParameterValue, "version"),
    ],
)
def test_describe_kvp_errors(pairs: list[tuple[str, str]], error: type[WpsError], locator: str) -> None:
    raises(error, locator, decode.describe_from_kvp, Kvp.from_pairs(pairs))


def test_describe_xml_language() -> None:
    document = (
        f'<wps:DescribeProcess {NAMESPACES} service="WPS" version="2.0.0" xml:lang="en-US">'
        "<ows:Identifier>ALL</ows:Identifier></wps:DescribeProcess>"
    ).encode()
    validate(document, "2.0.0")
    request = decode.describe_from_xml(parse_xml(document))
    assert request.identifiers == ("ALL",) and request.language == "en-US"


@pytest.mark.parametrize(
    ("inner", "attributes", "error", "locator"),
    [
        ("", 'version="2.0.0"', MissingParameterValue, "Identifier"),
        ("<ows:Identifier> </ows:Identifier>", 'version="2.0.0"', MissingParameterValue, "Identifier"),
        ("<ows:Identifier>echo</ows:Identifier>", "", MissingParameterValue, "version"),
        ("<ows:Identifier>echo</ows:Identifier>", 'version="2.0"', InvalidParameterValue, "version"),
    ],
)
def test_describe_xml_errors(inner: str, attributes: str, error: type[WpsError], locator: str) -> None:
    root = parse_xml(
        f'<wps:DescribeProcess {NAMESPACES} service="WPS" {attributes}>{inner}</wps:DescribeProcess>'.encode()
    )
    raises(error, locator, decode.describe_from_xml, root)


# ----------------------------------------------------------------------------- GetStatus, GetResult, Dismiss


def test_job_kvp() -> None:
    kvp = Kvp.from_pairs(
        [("service", "WPS"), ("version", "2.0.0"), ("request", "GetStatus"), ("jobId", " j-1 ")]
    )
    assert decode.job_from_kvp(kvp) == JobRequest(job_id="j-1")


@pytest.mark.parametrize(
    ("pairs", "error", "locator"),
    [
        ([("version", "2.0.0")], MissingParameterValue, "jobId"),
        ([("version", "2.0.0"), ("jobId", "  ")], MissingParameterValue, "jobId"),
        ([("jobId", "j-1")], MissingParameterValue, "version"),
        ([("version", "1.0.0"), ("jobId", "j-1")], InvalidParameterValue, "version"),
    ],
)
def test_job_kvp_errors(pairs: list[tuple[str, str]], error: type[WpsError], locator: str) -> None:
    raises(error, locator, decode.job_from_kvp, Kvp.from_pairs(pairs))


@pytest.mark.parametrize("operation", ["GetStatus", "GetResult", "Dismiss"])
@pytest.mark.parametrize("inner", ["", "<wps:JobID>  </wps:JobID>"])
def test_job_xml_without_job_id(operation: str, inner: str) -> None:
    root = parse_xml(
        f'<wps:{operation} {NAMESPACES} service="WPS" version="2.0.0">{inner}</wps:{operation}>'.encode()
    )
    raises(MissingParameterValue, "JobID", decode.job_from_xml, root)


def test_job_xml_wrong_version() -> None:
    root = parse_xml(
        f'<wps:GetStatus {NAMESPACES} service="WPS" version="1.0.0">'
        "<wps:JobID>j</wps:JobID></wps:GetStatus>".encode()
    )
    raises(InvalidParameterValue, "version", decode.job_from_xml, root)


# ----------------------------------------------------------------------------- literal data


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<wps:Data>10.0</wps:Data>", LiteralValue(value="10.0")),
        ('<wps:Data mimeType="text/plain">a b</wps:Data>', LiteralValue(value="a b")),
        ("<wps:Data><wps:LiteralValue>42</wps:LiteralValue></wps:Data>", LiteralValue(value="42")),
        (
            f'<wps:Data mimeType="text/xml"><wps:LiteralValue dataType="{XS_DOUBLE}" '
            'uom="m">400</wps:LiteralValue></wps:Data>',
            LiteralValue(value="400", data_type=XS_DOUBLE, uom="m"),
        ),
        ("<wps:Data/>", LiteralValue(value="")),
    ],
)
def test_literal_forms(body: str, expected: LiteralValue) -> None:
    assert one_input(body) == expected


# ----------------------------------------------------------------------------- complex data


def test_complex_inline_xml_is_serialized() -> None:
    value = one_input(
        '<wps:Data mimeType="text/xml" schema="http://example.org/a.xsd">'
        '<a:Doc xmlns:a="urn:a"><a:b>1</a:b></a:Doc></wps:Data>'
    )
    assert isinstance(value, ComplexValue)
    assert (value.mime_type, value.schema_url, value.href) == ("text/xml", "http://example.org/a.xsd", None)
    assert value.data is not None
    root = parse_xml(value.data)
    assert root.tag == "{urn:a}Doc" and root[0].text == "1"


def test_complex_inline_text_and_base64() -> None:
    text = one_input('<wps:Data mimeType="application/json">{"a": [1, 2]}</wps:Data>')
    assert isinstance(text, ComplexValue) and text.data == b'{"a": [1, 2]}'
    encoded = base64.b64encode(b"\x00\xffbinary").decode()
    chunked = "\n".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))
    binary = one_input(f'<wps:Data mimeType="image/png" encoding="base64">{chunked}</wps:Data>')
    assert isinstance(binary, ComplexValue)
    assert binary.data == b"\x00\xffbinary" and binary.encoding == "base64"


def test_complex_bad_base64() -> None:
    root = execute(
        '<wps:Input id="x"><wps:Data mimeType="image/png" encoding="base64">!!notb64</wps:Data></wps:Input>'
    )
    raises(InvalidParameterValue, "x", decode.execute_from_xml, root)


def test_plain_text_follows_the_process_description() -> None:
    """With a lookup, the declared kind decides how plain text is read."""
    body = (
        '<wps:Input id="literal"><wps:Data mimeType="text/plain">hello</wps:Data></wps:Input>'
        '<wps:Input id="complex"><wps:Data>plain text</wps:Data></wps:Input>'
        '<wps:Input id="unknown"><wps:Data>u</wps:Data></wps:Input>'
    )
    request = decode.execute_from_xml(execute(body), default_registry().describe)
    assert request.values("literal") == [LiteralValue(value="hello")]
    assert request.values("complex") == [ComplexValue(data=b"plain text")]
    assert request.values("unknown") == [LiteralValue(value="u")]


def test_literal_value_for_a_complex_input_is_kept_as_xml() -> None:
    body = '<wps:Input id="complex"><wps:Data><wps:LiteralValue>v</wps:LiteralValue></wps:Data></wps:Input>'
    (value,) = decode.execute_from_xml(execute(body), default_registry().describe).values("complex")
    assert isinstance(value, ComplexValue) and value.data is not None and b"LiteralValue" in value.data


def test_xml_for_a_literal_input_is_left_to_the_request_check() -> None:
    root = execute('<wps:Input id="literal"><wps:Data><x xmlns="urn:x"/></wps:Data></wps:Input>')
    (value,) = decode.execute_from_xml(root, default_registry().describe).values("literal")
    assert isinstance(value, ComplexValue)  # check_execute reports the kind mismatch


def test_text_for_a_bbox_input() -> None:
    root = execute('<wps:Input id="bbox"><wps:Data>1 2 3 4</wps:Data></wps:Input>')
    raises(InvalidParameterValue, "bbox", decode.execute_from_xml, root, default_registry().describe)


def test_the_first_child_element_decides() -> None:
    body = (
        '<wps:Input id="literal"><wps:Data><wps:LiteralValue>1</wps:LiteralValue><x/></wps:Data></wps:Input>'
    )
    (value,) = decode.execute_from_xml(execute(body)).values("literal")
    assert value == LiteralValue(value="1")


def test_lookup_of_an_unknown_process() -> None:
    root = parse_xml(
        f'<wps:Execute {NAMESPACES} service="WPS" version="2.0.0" mode="sync" response="document">'
        '<ows:Identifier>nope</ows:Identifier><wps:Output id="o"/></wps:Execute>'.encode()
    )
    raises(NoSuchProcess, "nope", decode.execute_from_xml, root, default_registry().describe)


# ----------------------------------------------------------------------------- bounding boxes


def test_bounding_box() -> None:
    value = one_input(
        '<wps:Data><ows:BoundingBox crs="EPSG:4326" dimensions="2">'
        "<ows:LowerCorner>46 102.5</ows:LowerCorner><ows:UpperCorner>47 103</ows:UpperCorner>"
        "</ows:BoundingBox></wps:Data>"
    )
    assert value == BoundingBoxValue(lower=(46.0, 102.5), upper=(47.0, 103.0), crs="EPSG:4326")


def test_wgs84_bounding_box() -> None:
    value = one_input(
        "<wps:Data><ows:WGS84BoundingBox><ows:LowerCorner>-10 40</ows:LowerCorner>"
        "<ows:UpperCorner>10 50</ows:UpperCorner></ows:WGS84BoundingBox></wps:Data>"
    )
    assert isinstance(value, BoundingBoxValue) and value.crs == decode.CRS84


@pytest.mark.parametrize(
    ("corners", "error"),
    [
        ("<ows:LowerCorner>1 2</ows:LowerCorner>", MissingParameterValue),
        (
            "<ows:LowerCorner>1 a</ows:LowerCorner><ows:UpperCorner>3 4</ows:UpperCorner>",
            InvalidParameterValue,
        ),
        ("<ows:LowerCorner></ows:LowerCorner><ows:UpperCorner>3 4</ows:UpperCorner>", InvalidParameterValue),
    ],
)
def test_bad_bounding_box(corners: str, error: type[WpsError]) -> None:
    body = (
        f'<wps:Input id="box"><wps:Data><ows:BoundingBox>{corners}</ows:BoundingBox></wps:Data></wps:Input>'
    )
    raises(error, "box", decode.execute_from_xml, execute(body, valid=False))


# ----------------------------------------------------------------------------- references


def test_reference_get_with_format() -> None:
    value = one_input(
        '<wps:Reference xlink:href=" https://data.example.org/a.tif " mimeType="image/tiff; subtype=geotiff" '
        'encoding="base64" schema="http://example.org/s.xsd"/>'
    )
    assert value == ComplexValue(
        href="https://data.example.org/a.tif",
        mime_type="image/tiff; subtype=geotiff",
        encoding="base64",
        schema_url="http://example.org/s.xsd",
    )


def test_reference_with_body_is_a_post() -> None:
    value = one_input(
        '<wps:Reference xlink:href="https://wfs.example.org/wfs"><wps:Body>'
        '<GetFeature xmlns="http://www.opengis.net/wfs/2.0"/></wps:Body></wps:Reference>'
    )
    assert isinstance(value, ComplexValue) and value.method == "POST"
    assert (
        value.body is not None and parse_xml(value.body).tag == "{http://www.opengis.net/wfs/2.0}GetFeature"
    )


def test_reference_with_body_reference_is_a_post() -> None:
    value = one_input(
        '<wps:Reference xlink:href="https://wfs.example.org/wfs">'
        '<wps:BodyReference xlink:href="https://example.org/query.xml"/></wps:Reference>'
    )
    assert isinstance(value, ComplexValue)
    assert (value.method, value.body, value.body_href) == ("POST", None, "https://example.org/query.xml")


@pytest.mark.parametrize(
    "body",
    [
        "<wps:Reference/>",
        '<wps:Reference xlink:href=" "/>',
        '<wps:Reference xlink:href="https://a.example.org"><wps:BodyReference/></wps:Reference>',
    ],
)
def test_reference_without_href(body: str) -> None:
    root = execute(f'<wps:Input id="x">{body}</wps:Input>', valid=False)
    raises(MissingParameterValue, "x", decode.execute_from_xml, root)


# ----------------------------------------------------------------------------- input errors


def test_nested_inputs_are_not_supported() -> None:
    body = '<wps:Input id="group"><wps:Input id="inner"><wps:Data>1</wps:Data></wps:Input></wps:Input>'
    raises(InvalidParameterValue, "group", decode.execute_from_xml, execute(body))


def test_input_without_data_or_reference() -> None:
    raises(MissingParameterValue, "x", decode.execute_from_xml, execute('<wps:Input id="x"/>', valid=False))


def test_input_without_id() -> None:
    root = execute("<wps:Input><wps:Data>1</wps:Data></wps:Input>", valid=False)
    raises(MissingParameterValue, "id", decode.execute_from_xml, root)  # the missing attribute


def test_inputs_keep_their_order_and_repetitions() -> None:
    body = "".join(
        f'<wps:Input id="{n}"><wps:Data>{v}</wps:Data></wps:Input>' for n, v in [("a", 1), ("b", 2), ("a", 3)]
    )
    request = decode.execute_from_xml(execute(body))
    assert [name for name, _ in request.inputs] == ["a", "b", "a"]
    assert request.values("a") == [LiteralValue(value="1"), LiteralValue(value="3")]


# ----------------------------------------------------------------------------- modes, responses, outputs


@pytest.mark.parametrize("mode", ["sync", "async", "auto"])
@pytest.mark.parametrize("response", ["document", "raw"])
def test_modes_and_response_forms(mode: str, response: str) -> None:
    form = decode.execute_from_xml(execute("", mode=mode, response=response)).response
    assert form.mode == mode and form.raw is (response == "raw")
    assert not form.store and not form.status and not form.lineage


@pytest.mark.parametrize(
    ("mode", "response", "error", "locator"),
    [
        ("fast", "document", InvalidParameterValue, "mode"),
        ("SYNC", "document", InvalidParameterValue, "mode"),
        (None, "document", MissingParameterValue, "mode"),
        ("sync", "xml", InvalidParameterValue, "response"),
        ("sync", None, MissingParameterValue, "response"),
    ],
)
def test_bad_modes_and_responses(
    mode: str | None, response: str | None, error: type[WpsError], locator: str
) -> None:
    raises(error, locator, decode.execute_from_xml, execute("", mode=mode, response=response, valid=False))


def test_raw_with_two_outputs_is_refused() -> None:
    root = execute("", response="raw", outputs='<wps:Output id="a"/><wps:Output id="b"/>')
    raises(InvalidParameterValue, "response", decode.execute_from_xml, root)


def test_output_definitions() -> None:
    outputs = (
        '<wps:Output id="a" transmission="value" mimeType="application/json" encoding="UTF-8"/>'
        '<wps:Output id="b" transmission="reference" schema="http://example.org/s.xsd"/>'
        '<wps:Output id="c"/>'
    )
    a, b, c = decode.execute_from_xml(execute("", outputs=outputs)).response.outputs
    assert (a.identifier, a.as_reference, a.mime_type, a.encoding) == (
        "a",
        False,
        "application/json",
        "UTF-8",
    )
    assert (b.identifier, b.as_reference, b.schema_url) == ("b", True, "http://example.org/s.xsd")
    assert (c.identifier, c.as_reference, c.mime_type) == ("c", False, None)


def test_no_output_definitions_means_all_outputs() -> None:
    """The schema asks for one wps:Output at least; an absent list is read as 'every output'."""
    assert decode.execute_from_xml(execute("", outputs="", valid=False)).response.outputs == ()


@pytest.mark.parametrize(
    ("outputs", "error", "locator"),
    [
        ('<wps:Output id="a" transmission="inline"/>', InvalidParameterValue, "transmission"),
        ('<wps:Output id="a"><wps:Output id="b"/></wps:Output>', InvalidParameterValue, "a"),
        ("<wps:Output/>", MissingParameterValue, "id"),
    ],
)
def test_bad_output_definitions(outputs: str, error: type[WpsError], locator: str) -> None:
    raises(error, locator, decode.execute_from_xml, execute("", outputs=outputs, valid=False))


# ----------------------------------------------------------------------------- request header errors


@pytest.mark.parametrize(
    ("attributes", "identifier", "error", "locator"),
    [
        ('version="2.0.0"', "", MissingParameterValue, "Identifier"),
        ('version="2.0.0"', "<ows:Identifier/>", MissingParameterValue, "Identifier"),
        ("", "<ows:Identifier>echo</ows:Identifier>", MissingParameterValue, "version"),
        ('version="1.0.0"', "<ows:Identifier>echo</ows:Identifier>", InvalidParameterValue, "version"),
    ],
)
def test_execute_header_errors(attributes: str, identifier: str, error: type[WpsError], locator: str) -> None:
    root = parse_xml(
        f'<wps:Execute {NAMESPACES} service="WPS" {attributes} mode="sync" response="document">'
        f'{identifier}<wps:Output id="o"/></wps:Execute>'.encode()
    )
    raises(error, locator, decode.execute_from_xml, root)
