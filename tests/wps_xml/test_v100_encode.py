"""WPS 1.0.0 encoders: every document XSD-valid, and saying what it should."""

from __future__ import annotations

import base64
import inspect
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree

from app.algorithms.registry import default_registry
from app.model import errors
from app.model.descriptions import (
    DataKind,
    Format,
    LiteralDomain,
    ParameterDescription,
    ProcessDescription,
    ValueRange,
)
from app.model.requests import (
    BoundingBoxValue,
    ComplexValue,
    ExecuteRequest,
    LiteralValue,
    OutputRequest,
    ResponseForm,
)
from app.model.results import BoundingBoxResult, ComplexResult, DeliveredOutput, ExecuteResult, LiteralResult
from app.settings import Settings
from app.wps_xml import exceptions
from app.wps_xml import namespaces as ns
from app.wps_xml.schemas import validate
from app.wps_xml.v100 import encode

NSMAP = {"wps": ns.WPS100, "ows": ns.OWS110, "xlink": ns.XLINK, "ows2": ns.OWS200}
CREATED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
GML = Format(mime_type="application/gml+xml", encoding="UTF-8", schema_url="http://example.org/gml.xsd")
TIFF = Format(mime_type="image/tiff; subtype=geotiff", extension=".tif")
PNG = Format(mime_type="image/png", encoding="base64")
TEXT = Format(mime_type="text/plain")
XML = Format(mime_type="text/xml")


@pytest.fixture
def service_settings(tmp_path: Path) -> Settings:
    return Settings(public_url="https://wps.example.org/base/", data_dir=tmp_path / "data")


def parsed(document: bytes) -> etree._Element:
    """Validate a document against the bundled XSDs and return its root."""
    assert document.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    validate(document, "1.0.0")
    return etree.fromstring(document)


def texts(root: etree._Element, path: str) -> list[str]:
    return [element.text or "" for element in root.xpath(path, namespaces=NSMAP)]


def one(root: etree._Element, path: str) -> etree._Element:
    (element,) = root.xpath(path, namespaces=NSMAP)
    return element


def literal(identifier: str, domain: LiteralDomain, **kwargs: object) -> ParameterDescription:
    return ParameterDescription(
        identifier=identifier, title=identifier.title(), kind=DataKind.LITERAL, literal=domain, **kwargs
    )


SYNTHETIC = ProcessDescription(
    identifier="kitchen_sink",
    title="Every branch",
    abstract="A process exercising every encoder branch.",
    version="2.1.0",
    keywords=("test", "synthetic"),
    store_supported=True,
    status_supported=True,
    inputs=(
        literal(
            "level",
            LiteralDomain(
                data_type="integer",
                allowed_values=("-1", "99"),
                ranges=(
                    ValueRange(minimum=0, maximum=10, closure="closed"),
                    ValueRange(minimum=10, maximum=20, closure="open"),
                    ValueRange(minimum=20, maximum=30, closure="closed-open"),
                    ValueRange(minimum=30, maximum=40, closure="open-closed"),
                ),
                default="5",
                uoms=("m", "ft"),
            ),
            abstract="Allowed values, ranges of every closure, UOMs and a default.",
        ),
        literal("ratio", LiteralDomain(data_type="double", ranges=(ValueRange(minimum=0.5),))),
        literal("flag", LiteralDomain(data_type="boolean", default="false"), min_occurs=0),
        ParameterDescription(identifier="any", title="Any", kind=DataKind.LITERAL),
        ParameterDescription(
            identifier="rasters",
            title="Rasters",
            kind=DataKind.COMPLEX,
            formats=(TIFF, GML, PNG),
            min_occurs=1,
            max_occurs=None,
        ),
        ParameterDescription(identifier="blob", title="Blob", kind=DataKind.COMPLEX, max_occurs=3),
        ParameterDescription(
            identifier="area", title="Area", kind=DataKind.BBOX, crss=("EPSG:4326", "EPSG:3857")
        ),
        ParameterDescription(identifier="box", title="Box", kind=DataKind.BBOX, min_occurs=0),
    ),
    outputs=(
        literal("count", LiteralDomain(data_type="integer", uoms=("px",))),
        ParameterDescription(identifier="image", title="Image", kind=DataKind.COMPLEX, formats=(TIFF, PNG)),
        ParameterDescription(identifier="extent", title="Extent", kind=DataKind.BBOX, crss=("EPSG:3857",)),
    ),
)


# ----------------------------------------------------------------------------- GetCapabilities


def test_capabilities_of_the_registry(service_settings: Settings) -> None:
    descriptions = default_registry().descriptions()
    root = parsed(encode.capabilities(service_settings, descriptions))
    assert root.tag == ns.qname(ns.WPS100, "Capabilities")
    assert (root.get("service"), root.get("version"), root.get(ns.XML_LANG)) == ("WPS", "1.0.0", "en-US")
    assert root.get(ns.XSI_SCHEMA_LOCATION) == ns.WPS100_CAPABILITIES_LOCATION
    identifiers = texts(root, "wps:ProcessOfferings/wps:Process/ows:Identifier")
    assert identifiers == [d.identifier for d in descriptions]
    assert texts(root, "ows:ServiceIdentification/ows:Title") == [service_settings.service_title]
    assert texts(root, "ows:ServiceIdentification/ows:ServiceTypeVersion") == ["1.0.0"]
    assert texts(root, "ows:ServiceProvider/ows:ProviderName") == [service_settings.provider_name]
    href = f"{{{ns.XLINK}}}href"
    assert one(root, "ows:ServiceProvider/ows:ProviderSite").get(href) == "https://wps.example.org/base"
    operations = root.xpath("ows:OperationsMetadata/ows:Operation", namespaces=NSMAP)
    assert [op.get("name") for op in operations] == ["GetCapabilities", "DescribeProcess", "Execute"]
    for operation in operations:
        assert one(operation, "ows:DCP/ows:HTTP/ows:Get").get(href) == "https://wps.example.org/base/wps?"
        assert one(operation, "ows:DCP/ows:HTTP/ows:Post").get(href) == "https://wps.example.org/base/wps"
    assert texts(root, "wps:Languages/wps:Default/ows:Language") == ["en-US"]
    assert texts(root, "wps:Languages/wps:Supported/ows:Language") == ["en-US"]
    assert not root.xpath("wps:WSDL", namespaces=NSMAP)


def test_capabilities_process_brief(service_settings: Settings) -> None:
    root = parsed(encode.capabilities(service_settings, [SYNTHETIC], language="en-US"))
    process = one(root, "wps:ProcessOfferings/wps:Process")
    assert process.get(ns.qname(ns.WPS100, "processVersion")) == "2.1.0"
    assert process.get("storeSupported") is None  # not an attribute of ProcessBriefType
    assert texts(process, "ows:Abstract") == [SYNTHETIC.abstract]
    assert [m.get(ns.XLINK_TITLE) for m in process.xpath("ows:Metadata", namespaces=NSMAP)] == [
        "test",
        "synthetic",
    ]


# ----------------------------------------------------------------------------- DescribeProcess


def test_describe_the_registry() -> None:
    descriptions = default_registry().descriptions()
    root = parsed(encode.describe_process(descriptions))
    assert root.get(ns.XSI_SCHEMA_LOCATION) == ns.WPS100_DESCRIBE_PROCESS_LOCATION
    processes = root.findall("ProcessDescription")  # unqualified, as the 1.0.0 schema requires
    assert [texts(p, "ows:Identifier")[0] for p in processes] == [d.identifier for d in descriptions]
    for element, description in zip(processes, descriptions, strict=True):
        assert texts(element, "DataInputs/Input/ows:Identifier") == [i.identifier for i in description.inputs]
        outputs = texts(element, "ProcessOutputs/Output/ows:Identifier")
        assert outputs == [o.identifier for o in description.outputs]


def test_describe_synthetic_literals() -> None:
    root = parsed(encode.describe_process([SYNTHETIC], maximum_megabytes=512))
    process = one(root, "ProcessDescription")
    assert process.get("storeSupported") == "true" and process.get("statusSupported") == "true"
    level = one(process, "DataInputs/Input[ows:Identifier='level']")
    assert (level.get("minOccurs"), level.get("maxOccurs")) == ("1", "1")
    data_type = one(level, "LiteralData/ows:DataType")
    assert data_type.text == "integer"
    assert data_type.get(ns.qname(ns.OWS110, "reference")) == "http://www.w3.org/TR/xmlschema-2/#integer"
    assert texts(level, "LiteralData/UOMs/Default/ows:UOM") == ["m"]
    assert texts(level, "LiteralData/UOMs/Supported/ows:UOM") == ["m", "ft"]
    assert texts(level, "LiteralData/ows:AllowedValues/ows:Value") == ["-1", "99"]
    ranges = level.xpath("LiteralData/ows:AllowedValues/ows:Range", namespaces=NSMAP)
    closure = ns.qname(ns.OWS110, "rangeClosure")
    assert [r.get(closure) for r in ranges] == ["closed", "open", "closed-open", "open-closed"]
    assert texts(ranges[0], "ows:MinimumValue") == ["0"] and texts(ranges[0], "ows:MaximumValue") == ["10"]
    assert texts(level, "LiteralData/DefaultValue") == ["5"]
    ratio = one(process, "DataInputs/Input[ows:Identifier='ratio']/LiteralData")
    assert texts(ratio, "ows:AllowedValues/ows:Range/ows:MinimumValue") == ["0.5"]
    assert not ratio.xpath("ows:AllowedValues/ows:Range/ows:MaximumValue", namespaces=NSMAP)
    flag = one(process, "DataInputs/Input[ows:Identifier='flag']")
    assert flag.get("minOccurs") == "0"
    assert flag.xpath("LiteralData/ows:AnyValue", namespaces=NSMAP)
    assert texts(flag, "LiteralData/DefaultValue") == ["false"]
    assert one(process, "DataInputs/Input[ows:Identifier='any']/LiteralData/ows:AnyValue") is not None


def test_describe_synthetic_complex_and_bbox() -> None:
    root = parsed(encode.describe_process([SYNTHETIC], maximum_megabytes=512))
    rasters = one(root, "ProcessDescription/DataInputs/Input[ows:Identifier='rasters']")
    assert rasters.get("maxOccurs") == str(encode.UNBOUNDED_MAX_OCCURS) == "2147483647"
    assert one(rasters, "ComplexData").get("maximumMegabytes") == "512"
    assert texts(rasters, "ComplexData/Default/Format/MimeType") == ["image/tiff; subtype=geotiff"]
    supported = rasters.xpath("ComplexData/Supported/Format", namespaces=NSMAP)
    assert [texts(f, "MimeType")[0] for f in supported] == [TIFF.mime_type, GML.mime_type, PNG.mime_type]
    assert texts(supported[1], "Encoding") == ["UTF-8"]
    assert texts(supported[1], "Schema") == ["http://example.org/gml.xsd"]
    assert texts(supported[2], "Encoding") == ["base64"] and not texts(supported[2], "Schema")
    blob = one(root, "ProcessDescription/DataInputs/Input[ows:Identifier='blob']")
    assert blob.get("maxOccurs") == "3"
    assert texts(blob, "ComplexData/Default/Format/MimeType") == [encode.FALLBACK_FORMAT.mime_type]
    area = one(root, "ProcessDescription/DataInputs/Input[ows:Identifier='area']/BoundingBoxData")
    assert texts(area, "Default/CRS") == ["EPSG:4326"]
    assert texts(area, "Supported/CRS") == ["EPSG:4326", "EPSG:3857"]
    box = one(root, "ProcessDescription/DataInputs/Input[ows:Identifier='box']/BoundingBoxData")
    assert texts(box, "Default/CRS") == [encode.FALLBACK_CRS]


def test_describe_synthetic_outputs() -> None:
    root = parsed(encode.describe_process([SYNTHETIC]))
    outputs = one(root, "ProcessDescription/ProcessOutputs")
    assert texts(outputs, "Output[ows:Identifier='count']/LiteralOutput/ows:DataType") == ["integer"]
    assert texts(outputs, "Output[ows:Identifier='count']/LiteralOutput/UOMs/Default/ows:UOM") == ["px"]
    image = texts(outputs, "Output[ows:Identifier='image']/ComplexOutput/Supported/Format/MimeType")
    assert image == [TIFF.mime_type, PNG.mime_type]
    extent = "Output[ows:Identifier='extent']/BoundingBoxOutput/Default/CRS"
    assert texts(outputs, extent) == ["EPSG:3857"]
    assert one(root, "ProcessDescription").find("DataInputs/Input/LiteralData") is not None
    assert not one(root, "ProcessDescription").get("maximumMegabytes")


def test_describe_process_without_inputs_omits_data_inputs() -> None:
    bare = SYNTHETIC.model_copy(update={"inputs": ()})
    root = parsed(encode.describe_process([bare]))
    assert one(root, "ProcessDescription").find("DataInputs") is None


# ----------------------------------------------------------------------------- Execute


def delivered(
    identifier: str, kind: DataKind, result: object, reference: str | None = None
) -> DeliveredOutput:
    description = ParameterDescription(identifier=identifier, title=f"{identifier} title", kind=kind)
    return DeliveredOutput.model_validate(
        {"description": description, "result": result, "reference": reference}
    )


def execute_result(tmp_path: Path, *, lineage: bool = True) -> ExecuteResult:
    tiff = tmp_path / "image.tif"
    tiff.write_bytes(b"II*\x00\xff\xfe binary")
    request = ExecuteRequest(
        identifier=SYNTHETIC.identifier,
        inputs=(
            ("level", LiteralValue(value="5", uom="m")),
            ("rasters", ComplexValue(href="https://data.example.org/a.tif", mime_type=TIFF.mime_type)),
            (
                "rasters",
                ComplexValue(
                    href="https://data.example.org/q",
                    method="POST",
                    headers=(("Authorization", "Bearer secret"),),
                    body=b"<q/>",
                ),
            ),
            ("blob", ComplexValue(data=b"<doc><x>1</x></doc>", mime_type="text/xml")),
            ("area", BoundingBoxValue(lower=(1.0, 2.0), upper=(3.0, 4.0), crs="EPSG:4326")),
        ),
        response=ResponseForm(
            lineage=lineage,
            outputs=(
                OutputRequest(identifier="count", uom="px", title="Count"),
                OutputRequest(identifier="image", as_reference=True, mime_type=TIFF.mime_type),
            ),
        ),
    )
    outputs = (
        delivered("count", DataKind.LITERAL, LiteralResult(value="42", data_type="integer", uom="px")),
        delivered("xml", DataKind.COMPLEX, ComplexResult(format=XML, data=b'<a xmlns="urn:x"><b>1</b></a>')),
        delivered("text", DataKind.COMPLEX, ComplexResult(format=TEXT, data="héllo, world".encode())),
        delivered("png", DataKind.COMPLEX, ComplexResult(format=PNG, data=b"\x89PNG\r\n")),
        delivered("raw", DataKind.COMPLEX, ComplexResult(format=TIFF, data=b"\xff\xfe\x00binary")),
        delivered("file", DataKind.COMPLEX, ComplexResult(format=TIFF, path=tiff)),
        delivered(
            "extent", DataKind.BBOX, BoundingBoxResult(lower=(-1.5, 2), upper=(3, 4.25), crs="EPSG:3857")
        ),
        delivered(
            "image",
            DataKind.COMPLEX,
            ComplexResult(format=TIFF, path=tiff),
            reference="https://wps.example.org/base/outputs/job-1/image.tif",
        ),
    )
    return ExecuteResult(job_id="job-1", request=request, process=SYNTHETIC, outputs=outputs)


def output(root: etree._Element, identifier: str) -> etree._Element:
    return one(root, f"wps:ProcessOutputs/wps:Output[ows:Identifier='{identifier}']")


def test_execute_response_header(tmp_path: Path, service_settings: Settings) -> None:
    document = encode.execute_response(
        execute_result(tmp_path),
        service_settings,
        creation_time=CREATED,
        status_location="https://wps.example.org/base/wps/status/job-1",
    )
    root = parsed(document)
    assert root.get(ns.XSI_SCHEMA_LOCATION) == ns.WPS100_EXECUTE_LOCATION
    service_instance = "https://wps.example.org/base/wps?service=WPS&request=GetCapabilities"
    assert root.get("serviceInstance") == service_instance
    assert root.get("statusLocation") == "https://wps.example.org/base/wps/status/job-1"
    assert one(root, "wps:Process").get(ns.qname(ns.WPS100, "processVersion")) == "2.1.0"
    assert texts(root, "wps:Process/ows:Identifier") == ["kitchen_sink"]
    assert one(root, "wps:Status").get("creationTime") == "2024-05-06T07:08:09Z"
    assert texts(root, "wps:Status/wps:ProcessSucceeded") == ["Process succeeded"]


def test_execute_response_outputs(tmp_path: Path, service_settings: Settings) -> None:
    result = execute_result(tmp_path)
    root = parsed(encode.execute_response(result, service_settings, creation_time=CREATED))
    count = one(output(root, "count"), "wps:Data/wps:LiteralData")
    assert (count.text, count.get("dataType"), count.get("uom")) == ("42", "integer", "px")
    embedded = one(output(root, "xml"), "wps:Data/wps:ComplexData")
    assert embedded.get("mimeType") == "text/xml"
    assert [child.tag for child in embedded] == ["{urn:x}a"] and embedded[0][0].text == "1"
    text = one(output(root, "text"), "wps:Data/wps:ComplexData")
    assert text.text == "héllo, world" and text.get("encoding") is None
    png = one(output(root, "png"), "wps:Data/wps:ComplexData")
    assert png.get("encoding") == "base64" and base64.b64decode(png.text or "") == b"\x89PNG\r\n"
    raw = one(output(root, "raw"), "wps:Data/wps:ComplexData")
    assert raw.get("encoding") == "base64" and raw.get("mimeType") == TIFF.mime_type
    assert base64.b64decode(raw.text or "") == b"\xff\xfe\x00binary"
    from_file = one(output(root, "file"), "wps:Data/wps:ComplexData")
    assert base64.b64decode(from_file.text or "") == (tmp_path / "image.tif").read_bytes()
    bbox = one(output(root, "extent"), "wps:Data/wps:BoundingBoxData")
    assert (bbox.get("crs"), bbox.get("dimensions")) == ("EPSG:3857", "2")
    assert texts(bbox, "ows:LowerCorner") == ["-1.5 2.0"] and texts(bbox, "ows:UpperCorner") == ["3.0 4.25"]
    reference = one(output(root, "image"), "wps:Reference")
    assert reference.get("href") == "https://wps.example.org/base/outputs/job-1/image.tif"
    assert reference.get("mimeType") == TIFF.mime_type
    assert not output(root, "image").xpath("wps:Data", namespaces=NSMAP)
    assert texts(output(root, "count"), "ows:Title") == ["count title"]


def test_execute_response_lineage(tmp_path: Path, service_settings: Settings) -> None:
    root = parsed(encode.execute_response(execute_result(tmp_path), service_settings, creation_time=CREATED))
    inputs = root.xpath("wps:DataInputs/wps:Input", namespaces=NSMAP)
    assert [texts(i, "ows:Identifier")[0] for i in inputs] == ["level", "rasters", "rasters", "blob", "area"]
    assert texts(inputs[0], "ows:Title") == ["Level"]
    assert one(inputs[0], "wps:Data/wps:LiteralData").get("uom") == "m"
    first = one(inputs[1], "wps:Reference")
    assert first.get(ns.XLINK_HREF) == "https://data.example.org/a.tif" and first.get("method") == "GET"
    post = one(inputs[2], "wps:Reference")
    assert post.get("method") == "POST"
    assert b"secret" not in etree.tostring(root)  # request headers are never echoed
    assert one(inputs[3], "wps:Data/wps:ComplexData")[0].tag == "doc"
    assert texts(inputs[4], "wps:Data/wps:BoundingBoxData/ows:LowerCorner") == ["1.0 2.0"]
    definitions = root.xpath("wps:OutputDefinitions/wps:Output", namespaces=NSMAP)
    assert [d.get("asReference") for d in definitions] == ["false", "true"]
    assert definitions[0].get("uom") == "px" and texts(definitions[0], "ows:Title") == ["Count"]
    assert definitions[1].get("mimeType") == TIFF.mime_type


def test_execute_response_without_lineage(tmp_path: Path, service_settings: Settings) -> None:
    result = execute_result(tmp_path, lineage=False)
    root = parsed(encode.execute_response(result, service_settings, creation_time=CREATED))
    assert not root.xpath("wps:DataInputs|wps:OutputDefinitions", namespaces=NSMAP)
    assert root.get("statusLocation") is None


@pytest.mark.parametrize(
    ("payload", "expected_text"),
    [
        (b'<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><d>&e;</d>', "<!DOCTYPE"),  # XXE
        (b"<not-closed>", "<not-closed>"),
    ],
)
def test_unsafe_or_broken_xml_is_not_embedded(
    tmp_path: Path, service_settings: Settings, payload: bytes, expected_text: str
) -> None:
    result = execute_result(tmp_path, lineage=False).model_copy(
        update={"outputs": (delivered("x", DataKind.COMPLEX, ComplexResult(format=XML, data=payload)),)}
    )
    root = parsed(encode.execute_response(result, service_settings, creation_time=CREATED))
    data = one(output(root, "x"), "wps:Data/wps:ComplexData")
    assert len(data) == 0 and (data.text or "").startswith(expected_text)


def test_text_that_xml_cannot_carry_goes_base64(tmp_path: Path, service_settings: Settings) -> None:
    result = execute_result(tmp_path, lineage=False).model_copy(
        update={"outputs": (delivered("x", DataKind.COMPLEX, ComplexResult(format=TEXT, data=b"a\x01b")),)}
    )
    root = parsed(encode.execute_response(result, service_settings, creation_time=CREATED))
    data = one(output(root, "x"), "wps:Data/wps:ComplexData")
    assert data.get("encoding") == "base64" and base64.b64decode(data.text or "") == b"a\x01b"


@pytest.mark.parametrize(
    ("status", "percent", "expected"),
    [
        ("ProcessAccepted", None, None),
        ("ProcessStarted", 42, "42"),
        ("ProcessStarted", 150, "99"),
        ("ProcessPaused", -3, "0"),
    ],
)
def test_execute_status_in_progress(
    tmp_path: Path, service_settings: Settings, status: str, percent: int | None, expected: str | None
) -> None:
    document = encode.execute_response(
        execute_result(tmp_path, lineage=False),
        service_settings,
        creation_time=datetime(2024, 5, 6, 9, 8, 9, tzinfo=timezone(timedelta(hours=2))),
        status=status,
        percent=percent,
        message="working",
    )
    root = parsed(document)
    element = one(root, f"wps:Status/wps:{status}")
    assert element.text == "working" and element.get("percentCompleted") == expected
    assert one(root, "wps:Status").get("creationTime") == "2024-05-06T07:08:09Z"
    assert not root.xpath("wps:ProcessOutputs", namespaces=NSMAP)


@pytest.mark.parametrize(
    ("error", "code"),
    [(errors.NoSuchInput("no input 'z'", locator="z"), "InvalidParameterValue"), (None, "NoApplicableCode")],
)
def test_execute_status_failed(
    tmp_path: Path, service_settings: Settings, error: errors.WpsError | None, code: str
) -> None:
    document = encode.execute_response(
        execute_result(tmp_path, lineage=False),
        service_settings,
        creation_time=datetime(2024, 5, 6, 7, 8, 9),  # naive: taken as UTC
        status="ProcessFailed",
        error=error,
    )
    root = parsed(document)
    exception = one(root, "wps:Status/wps:ProcessFailed/ows:ExceptionReport/ows:Exception")
    assert exception.get("exceptionCode") == code
    assert exception.get("locator") == (error.locator if error else None)
    assert one(root, "wps:Status").get("creationTime") == "2024-05-06T07:08:09Z"
    assert not root.xpath("wps:ProcessOutputs", namespaces=NSMAP)


def test_unknown_status_is_a_programming_error(tmp_path: Path, service_settings: Settings) -> None:
    with pytest.raises(ValueError, match="ProcessDone"):
        encode.execute_response(
            execute_result(tmp_path), service_settings, creation_time=CREATED, status="ProcessDone"
        )


# ----------------------------------------------------------------------------- exceptions

ERROR_CLASSES = sorted(
    (cls for _, cls in inspect.getmembers(errors, inspect.isclass) if issubclass(cls, errors.WpsError)),
    key=lambda cls: cls.__name__,
)


# OWS 1.1.0 table 25, WPS 1.0.0 table 62 (and WPS 2.0 likewise): "None, omit locator parameter"
CODES_WITHOUT_LOCATOR = {
    "VersionNegotiationFailed",
    "InvalidUpdateSequence",
    "CurrentUpdateSequence",
    "NoApplicableCode",
    "NotEnoughStorage",
    "ServerBusy",
    "StorageNotSupported",
}


def expected_locator(error_class: type[errors.WpsError], version: str) -> str | None:
    """What the tables say the locator of an error raised with locator 'some_input' is."""
    if error_class.code in CODES_WITHOUT_LOCATOR:
        return None
    if error_class is errors.NoSuchProcess and version == "1.0.0":
        return "Identifier"  # InvalidParameterValue names the parameter; the value goes in the text
    return "some_input"


@pytest.mark.parametrize("error_class", ERROR_CLASSES, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("version", ["1.0.0", "2.0.0"])
def test_exception_report(error_class: type[errors.WpsError], version: str) -> None:
    error = error_class(f"{error_class.__name__} happened <&>", locator="some_input")
    document = encode.exception_report(error, version)
    validate(document, version)
    root = etree.fromstring(document)
    namespace = ns.OWS200 if version == "2.0.0" else ns.OWS110
    assert root.tag == ns.qname(namespace, "ExceptionReport")
    assert root.get("version") == version and root.get(ns.XML_LANG) == "en-US"
    (exception,) = root
    assert exception.get("exceptionCode") == error.code_for(version)
    assert exception.get("locator") == expected_locator(error_class, version)
    assert [t.text for t in exception] == [f"{error_class.__name__} happened <&>"]


def test_exception_report_codes_per_version() -> None:
    error = errors.NoSuchProcess("no process named 'x'", locator="x")
    assert b'exceptionCode="InvalidParameterValue"' in encode.exception_report(error)
    assert b'exceptionCode="NoSuchProcess"' in encode.exception_report(error, "2.0.0")


def test_exception_report_without_locator_and_with_control_characters() -> None:
    error = errors.NoApplicableCode("bad \x00 byte\x1b[31m")
    root = etree.fromstring(encode.exception_report(error))
    validate(root)
    (exception,) = root
    assert exception.get("locator") is None
    assert exception[0].text == "bad \ufffd byte\ufffd[31m"


def test_v100_exception_report_is_the_shared_encoder() -> None:
    assert encode.exception_report is exceptions.exception_report
