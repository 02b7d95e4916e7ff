"""WPS 2.0.0 encoders: every document XSD-valid, and saying what it should."""

from __future__ import annotations

import base64
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
from app.model.jobs import JobInfo, JobStatus
from app.model.requests import ExecuteRequest
from app.model.results import BoundingBoxResult, ComplexResult, DeliveredOutput, ExecuteResult, LiteralResult
from app.settings import Settings
from app.wps_xml import exceptions, payload
from app.wps_xml import namespaces as ns
from app.wps_xml.parser import parse_xml
from app.wps_xml.schemas import SCHEMA_DIR, validate
from app.wps_xml.v200 import encode

NSMAP = {"wps": ns.WPS200, "ows": ns.OWS200, "xlink": ns.XLINK}
EXAMPLES = SCHEMA_DIR / "wps" / "2.0" / "xml-examples"
CREATED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
XS = "http://www.w3.org/2001/XMLSchema#"
GML = Format(mime_type="application/gml+xml", encoding="UTF-8", schema_url="http://example.org/gml.xsd")
TIFF = Format(mime_type="image/tiff; subtype=geotiff", extension=".tif")
PNG = Format(mime_type="image/png", encoding="base64")
TEXT = Format(mime_type="text/plain")
XML = Format(mime_type="text/xml")


@pytest.fixture
def service_settings(tmp_path: Path) -> Settings:
    return Settings(public_url="https://wps.example.org/base/", data_dir=tmp_path / "data")


def parsed(document: bytes) -> etree._Element:
    """Validate a document against the bundled WPS 2.0 XSDs and return its root."""
    assert document.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    validate(document, "2.0.0")
    root = etree.fromstring(document)
    assert root.get(ns.XSI_SCHEMA_LOCATION) == ns.WPS200_SCHEMA_LOCATION
    return root


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
    assert root.tag == ns.qname(ns.WPS200, "Capabilities")
    assert (root.get("service"), root.get("version"), root.get(ns.XML_LANG)) == ("WPS", "2.0.0", None)
    summaries = root.xpath("wps:Contents/wps:ProcessSummary", namespaces=NSMAP)
    assert [texts(s, "ows:Identifier")[0] for s in summaries] == [d.identifier for d in descriptions]
    for summary, description in zip(summaries, descriptions, strict=True):
        assert summary.get("jobControlOptions") == "sync-execute async-execute dismiss"
        assert summary.get("outputTransmission") == "value reference"
        assert summary.get("processVersion") == description.version
        assert texts(summary, "ows:Title") == [description.title]
    identification = one(root, "ows:ServiceIdentification")
    assert texts(identification, "ows:ServiceType") == ["WPS"]
    assert texts(identification, "ows:ServiceTypeVersion") == ["2.0.0"]
    assert one(identification, "ows:Title").get(ns.XML_LANG) == "en-US"
    assert texts(identification, "ows:Title") == [service_settings.service_title]
    assert texts(root, "ows:ServiceProvider/ows:ProviderName") == [service_settings.provider_name]
    assert texts(root, "ows:Languages/ows:Language") == ["en-US"]


def test_capabilities_operations(service_settings: Settings) -> None:
    root = parsed(encode.capabilities(service_settings, [SYNTHETIC]))
    operations = root.xpath("ows:OperationsMetadata/ows:Operation", namespaces=NSMAP)
    names = [op.get("name") for op in operations]
    assert names == ["GetCapabilities", "DescribeProcess", "Execute", "GetStatus", "GetResult", "Dismiss"]
    for operation in operations:
        post = one(operation, "ows:DCP/ows:HTTP/ows:Post")
        assert post.get(ns.XLINK_HREF) == "https://wps.example.org/base/wps"
        gets = [g.get(ns.XLINK_HREF) for g in operation.xpath("ows:DCP/ows:HTTP/ows:Get", namespaces=NSMAP)]
        assert gets == ([] if operation.get("name") == "Execute" else ["https://wps.example.org/base/wps?"])


def test_capabilities_process_summary(service_settings: Settings) -> None:
    root = parsed(encode.capabilities(service_settings, [SYNTHETIC], language="en"))
    summary = one(root, "wps:Contents/wps:ProcessSummary")
    assert [etree.QName(child).localname for child in summary] == [
        "Title",
        "Abstract",
        "Keywords",
        "Identifier",
    ]
    assert texts(summary, "ows:Keywords/ows:Keyword") == ["test", "synthetic"]
    assert summary.get("processVersion") == "2.1.0" and summary.get("processModel") is None
    assert one(root, "ows:ServiceIdentification/ows:Abstract").get(ns.XML_LANG) == "en"


def test_capabilities_without_processes_is_a_programming_error(service_settings: Settings) -> None:
    with pytest.raises(ValueError, match="Contents"):
        encode.capabilities(service_settings, [])


# ----------------------------------------------------------------------------- DescribeProcess


def test_process_offerings_of_the_registry() -> None:
    descriptions = default_registry().descriptions()
    root = parsed(encode.process_offerings(descriptions))
    assert root.tag == ns.qname(ns.WPS200, "ProcessOfferings")
    offerings = root.xpath("wps:ProcessOffering", namespaces=NSMAP)
    assert len(offerings) == len(descriptions)
    for offering, description in zip(offerings, descriptions, strict=True):
        assert offering.get("jobControlOptions") == "sync-execute async-execute dismiss"
        assert offering.get("outputTransmission") == "value reference"
        assert (offering.get("processVersion"), offering.get("processModel")) == (
            description.version,
            "native",
        )
        process = one(offering, "wps:Process")
        assert process.get(ns.XML_LANG) == "en-US"
        assert texts(process, "ows:Identifier") == [description.identifier]
        assert texts(process, "wps:Input/ows:Identifier") == [i.identifier for i in description.inputs]
        assert texts(process, "wps:Output/ows:Identifier") == [o.identifier for o in description.outputs]


def offering_input(identifier: str, maximum_megabytes: int | None = None) -> etree._Element:
    root = parsed(encode.process_offerings([SYNTHETIC], maximum_megabytes=maximum_megabytes))
    return one(root, f"wps:ProcessOffering/wps:Process/wps:Input[ows:Identifier='{identifier}']")


def test_literal_input_with_units_gets_one_domain_per_unit() -> None:
    level = offering_input("level")
    assert (level.get("minOccurs"), level.get("maxOccurs")) == ("1", "1")
    formats = level.xpath("wps:LiteralData/wps:Format", namespaces=NSMAP)
    assert [(f.get("mimeType"), f.get("default")) for f in formats] == [
        ("text/plain", "true"),
        ("text/xml", None),
    ]
    domains = level.findall("wps:LiteralData/LiteralDataDomain", NSMAP)  # unqualified, as the XSD says
    assert [d.get("default") for d in domains] == ["true", None]
    assert [texts(d, "ows:UOM") for d in domains] == [["m"], ["ft"]]
    for domain in domains:
        assert texts(domain, "ows:AllowedValues/ows:Value") == ["-1", "99"]
        ranges = domain.xpath("ows:AllowedValues/ows:Range", namespaces=NSMAP)
        closure = ns.qname(ns.OWS200, "rangeClosure")
        assert [r.get(closure) for r in ranges] == ["closed", "open", "closed-open", "open-closed"]
        assert texts(ranges[0], "ows:MinimumValue") == ["0"] and texts(ranges[0], "ows:MaximumValue") == [
            "10"
        ]
        data_type = one(domain, "ows:DataType")
        assert (
            data_type.text == "integer" and data_type.get(ns.qname(ns.OWS200, "reference")) == XS + "integer"
        )
        assert texts(domain, "ows:DefaultValue") == ["5"]
        children = [etree.QName(child).localname for child in domain]
        assert children == ["AllowedValues", "DataType", "UOM", "DefaultValue"]


def test_literal_inputs_without_units() -> None:
    ratio = offering_input("ratio")
    (domain,) = ratio.findall("wps:LiteralData/LiteralDataDomain", NSMAP)
    assert domain.get("default") == "true" and not texts(domain, "ows:UOM")
    assert texts(domain, "ows:AllowedValues/ows:Range/ows:MinimumValue") == ["0.5"]
    assert not domain.xpath("ows:AllowedValues/ows:Range/ows:MaximumValue", namespaces=NSMAP)
    flag = offering_input("flag")
    assert flag.get("minOccurs") == "0"
    assert flag.find("wps:LiteralData/LiteralDataDomain/ows:AnyValue", NSMAP) is not None
    assert texts(flag, "wps:LiteralData/LiteralDataDomain/ows:DefaultValue") == ["false"]
    untyped = offering_input("any")
    assert texts(untyped, "wps:LiteralData/LiteralDataDomain/ows:DataType") == ["string"]


def test_complex_inputs() -> None:
    rasters = offering_input("rasters", maximum_megabytes=512)
    assert rasters.get("maxOccurs") == "unbounded"
    formats = rasters.xpath("wps:ComplexData/wps:Format", namespaces=NSMAP)
    assert [f.get("mimeType") for f in formats] == [TIFF.mime_type, GML.mime_type, PNG.mime_type]
    assert [f.get("default") for f in formats] == ["true", None, None]
    assert {f.get("maximumMegabytes") for f in formats} == {"512"}
    assert (formats[1].get("encoding"), formats[1].get("schema")) == ("UTF-8", "http://example.org/gml.xsd")
    assert (formats[2].get("encoding"), formats[2].get("schema")) == ("base64", None)
    blob = offering_input("blob")
    assert blob.get("maxOccurs") == "3"
    (fallback,) = blob.xpath("wps:ComplexData/wps:Format", namespaces=NSMAP)
    assert fallback.get("mimeType") == payload.FALLBACK_FORMAT.mime_type
    assert fallback.get("maximumMegabytes") is None


def test_bounding_box_inputs() -> None:
    area = one(offering_input("area"), "wps:BoundingBoxData")
    assert [f.get("mimeType") for f in area.xpath("wps:Format", namespaces=NSMAP)] == ["text/xml"]
    crss = area.xpath("wps:SupportedCRS", namespaces=NSMAP)
    assert [(c.text, c.get("default")) for c in crss] == [("EPSG:4326", "true"), ("EPSG:3857", None)]
    box = one(offering_input("box"), "wps:BoundingBoxData")
    assert texts(box, "wps:SupportedCRS") == [payload.FALLBACK_CRS]


def test_outputs() -> None:
    root = parsed(encode.process_offerings([SYNTHETIC]))
    process = one(root, "wps:ProcessOffering/wps:Process")
    count = one(process, "wps:Output[ows:Identifier='count']")
    assert count.get("minOccurs") is None and count.get("maxOccurs") is None
    assert texts(count, "wps:LiteralData/LiteralDataDomain/ows:UOM") == ["px"]
    image = process.xpath(
        "wps:Output[ows:Identifier='image']/wps:ComplexData/wps:Format/@mimeType", namespaces=NSMAP
    )
    assert image == [TIFF.mime_type, PNG.mime_type]
    assert texts(process, "wps:Output[ows:Identifier='extent']/wps:BoundingBoxData/wps:SupportedCRS") == [
        "EPSG:3857"
    ]
    described = [etree.QName(child).localname for child in process][:5]
    assert described == ["Title", "Abstract", "Keywords", "Identifier", "Input"]


def test_process_without_inputs_and_an_odd_version() -> None:
    bare = SYNTHETIC.model_copy(update={"inputs": (), "version": "2024.1", "keywords": (), "abstract": ""})
    root = parsed(encode.process_offerings([bare]))
    offering = one(root, "wps:ProcessOffering")
    assert offering.get("processVersion") is None  # not an ows:VersionType: left out
    assert not offering.xpath("wps:Process/wps:Input|wps:Process/ows:Keywords", namespaces=NSMAP)
    assert not offering.xpath("wps:Process/ows:Abstract", namespaces=NSMAP)


def test_process_offerings_without_processes_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="ProcessOfferings"):
        encode.process_offerings([])


# ----------------------------------------------------------------------------- StatusInfo


def job(status: JobStatus, **kwargs: object) -> JobInfo:
    return JobInfo.model_validate(
        {
            "job_id": "job-1",
            "process_id": "echo",
            "status": status,
            "created": CREATED,
            "updated": CREATED,
            **kwargs,
        }
    )


@pytest.mark.parametrize(
    ("status", "name"),
    [
        (JobStatus.ACCEPTED, "Accepted"),
        (JobStatus.RUNNING, "Running"),
        (JobStatus.SUCCEEDED, "Succeeded"),
        (JobStatus.FAILED, "Failed"),
        (JobStatus.DISMISSED, "Dismissed"),
    ],
)
def test_status_info_states(status: JobStatus, name: str) -> None:
    root = parsed(encode.status_info(job(status)))
    assert root.tag == ns.qname(ns.WPS200, "StatusInfo")
    assert [(etree.QName(c).localname, c.text) for c in root] == [("JobID", "job-1"), ("Status", name)]


def test_status_info_every_optional_element_in_schema_order() -> None:
    info = job(
        JobStatus.RUNNING,
        expires=CREATED + timedelta(days=1),
        estimated_completion=datetime(2024, 5, 6, 9, 8, 9, tzinfo=timezone(timedelta(hours=2))),
        next_poll=datetime(2024, 5, 6, 7, 9, 0),  # naive: taken as UTC
        percent=42,
    )
    root = parsed(encode.status_info(info))
    assert [(etree.QName(c).localname, c.text) for c in root] == [
        ("JobID", "job-1"),
        ("Status", "Running"),
        ("ExpirationDate", "2024-05-07T07:08:09Z"),
        ("EstimatedCompletion", "2024-05-06T07:08:09Z"),
        ("NextPoll", "2024-05-06T07:09:00Z"),
        ("PercentCompleted", "42"),
    ]


@pytest.mark.parametrize(("percent", "expected"), [(0, "0"), (100, "100"), (150, "100"), (-3, "0")])
def test_status_info_percent_is_clamped(percent: int, expected: str) -> None:
    root = parsed(encode.status_info(job(JobStatus.RUNNING, percent=percent)))
    assert texts(root, "wps:PercentCompleted") == [expected]


def test_status_info_matches_the_official_example() -> None:
    info = job(
        JobStatus.ACCEPTED,
        job_id="FB6DD4B0-A2BB-11E3-A5E2-0800200C9A66",
        next_poll=datetime(2014, 12, 24, 16),
    )
    ours = parsed(encode.status_info(info))
    official = parse_xml((EXAMPLES / "wpsStatusInfoExample.xml").read_bytes())
    assert [(c.tag, c.text) for c in ours] == [(c.tag, c.text) for c in official]


# ----------------------------------------------------------------------------- Result


def delivered(
    identifier: str, kind: DataKind, result: object, reference: str | None = None
) -> DeliveredOutput:
    description = ParameterDescription(identifier=identifier, title=f"{identifier} title", kind=kind)
    return DeliveredOutput.model_validate(
        {"description": description, "result": result, "reference": reference}
    )


def execute_result(*outputs: DeliveredOutput) -> ExecuteResult:
    request = ExecuteRequest(version="2.0.0", identifier=SYNTHETIC.identifier)
    return ExecuteResult(job_id="job-1", request=request, process=SYNTHETIC, outputs=outputs)


def every_output(tmp_path: Path) -> tuple[DeliveredOutput, ...]:
    tiff = tmp_path / "image.tif"
    tiff.write_bytes(b"II*\x00\xff\xfe binary")
    return (
        delivered("count", DataKind.LITERAL, LiteralResult(value="42", data_type="integer", uom="px")),
        delivered("name", DataKind.LITERAL, LiteralResult(value="a <b> & c")),
        delivered("xml", DataKind.COMPLEX, ComplexResult(format=XML, data=b'<a xmlns="urn:x"><b>1</b></a>')),
        delivered("text", DataKind.COMPLEX, ComplexResult(format=TEXT, data="héllo, world".encode())),
        delivered("png", DataKind.COMPLEX, ComplexResult(format=PNG, data=b"\x89PNG\r\n")),
        delivered("raw", DataKind.COMPLEX, ComplexResult(format=TIFF, data=b"\xff\xfe\x00binary")),
        delivered("file", DataKind.COMPLEX, ComplexResult(format=TIFF, path=tiff)),
        delivered(
            "extent", DataKind.BBOX, BoundingBoxResult(lower=(-1.5, 2), upper=(3, 4.25), crs="EPSG:3857")
        ),
        delivered("point", DataKind.BBOX, BoundingBoxResult(lower=(1, 2, 3), upper=(4, 5, 6))),
        delivered(
            "image",
            DataKind.COMPLEX,
            ComplexResult(format=GML, path=tiff),
            reference="https://wps.example.org/base/outputs/job-1/image.gml",
        ),
        delivered(
            "count_ref", DataKind.LITERAL, LiteralResult(value="1"), reference="https://x.example.org/c"
        ),
    )


def output(root: etree._Element, identifier: str) -> etree._Element:
    return one(root, f"wps:Output[@id='{identifier}']")


def test_result_header(tmp_path: Path) -> None:
    info = job(
        JobStatus.SUCCEEDED, expires=datetime(2024, 5, 7, 9, 8, 9, tzinfo=timezone(timedelta(hours=2)))
    )
    root = parsed(encode.result(execute_result(*every_output(tmp_path)), info))
    assert root.tag == ns.qname(ns.WPS200, "Result")
    assert texts(root, "wps:JobID") == ["job-1"]
    assert texts(root, "wps:ExpirationDate") == ["2024-05-07T07:08:09Z"]
    assert [o.get("id") for o in root.xpath("wps:Output", namespaces=NSMAP)] == [
        o.description.identifier for o in every_output(tmp_path)
    ]


@pytest.mark.parametrize("with_job", [False, True])
def test_result_without_expiration(tmp_path: Path, with_job: bool) -> None:
    outputs = every_output(tmp_path)[:1]
    root = parsed(encode.result(execute_result(*outputs), job(JobStatus.SUCCEEDED) if with_job else None))
    assert [etree.QName(c).localname for c in root] == ["JobID", "Output"]


def test_result_literal_outputs(tmp_path: Path) -> None:
    root = parsed(encode.result(execute_result(*every_output(tmp_path))))
    count = one(output(root, "count"), "wps:Data/wps:LiteralValue")
    assert (count.text, count.get("dataType"), count.get("uom")) == ("42", XS + "integer", "px")
    name = one(output(root, "name"), "wps:Data/wps:LiteralValue")
    assert (name.text, name.get("dataType"), name.get("uom")) == ("a <b> & c", XS + "string", None)


def test_result_complex_outputs(tmp_path: Path) -> None:
    root = parsed(encode.result(execute_result(*every_output(tmp_path))))
    xml = one(output(root, "xml"), "wps:Data")
    assert xml.get("mimeType") == "text/xml" and xml[0].tag == "{urn:x}a" and xml.text is None
    text = one(output(root, "text"), "wps:Data")
    assert (text.text, text.get("mimeType"), text.get("encoding")) == ("héllo, world", "text/plain", None)
    png = one(output(root, "png"), "wps:Data")
    assert png.get("encoding") == "base64" and base64.b64decode(png.text or "") == b"\x89PNG\r\n"
    raw = one(output(root, "raw"), "wps:Data")
    assert raw.get("encoding") == "base64" and raw.get("mimeType") == TIFF.mime_type
    assert base64.b64decode(raw.text or "") == b"\xff\xfe\x00binary"
    from_file = one(output(root, "file"), "wps:Data")
    assert base64.b64decode(from_file.text or "") == (tmp_path / "image.tif").read_bytes()


def test_result_bounding_boxes(tmp_path: Path) -> None:
    root = parsed(encode.result(execute_result(*every_output(tmp_path))))
    extent = one(output(root, "extent"), "wps:Data/ows:BoundingBox")
    assert (extent.get("crs"), extent.get("dimensions")) == ("EPSG:3857", "2")
    assert texts(extent, "ows:LowerCorner") == ["-1.5 2.0"] and texts(extent, "ows:UpperCorner") == [
        "3.0 4.25"
    ]
    point = one(output(root, "point"), "wps:Data/ows:BoundingBox")
    assert (point.get("crs"), point.get("dimensions")) == (None, "3")


def test_result_references(tmp_path: Path) -> None:
    root = parsed(encode.result(execute_result(*every_output(tmp_path))))
    image = one(output(root, "image"), "wps:Reference")
    assert image.get(ns.XLINK_HREF) == "https://wps.example.org/base/outputs/job-1/image.gml"
    assert (image.get("mimeType"), image.get("encoding"), image.get("schema")) == (
        GML.mime_type,
        "UTF-8",
        "http://example.org/gml.xsd",
    )
    assert not output(root, "image").xpath("wps:Data", namespaces=NSMAP)
    literal_reference = one(output(root, "count_ref"), "wps:Reference")
    assert literal_reference.get(ns.XLINK_HREF) == "https://x.example.org/c"
    assert literal_reference.get("mimeType") is None


def test_result_matches_the_official_example() -> None:
    job_id = "FB6DD4B0-A2BB-11E3-A5E2-0800200C9A66"
    href = f"http://result.data.server/{job_id}/BUFFERED_GEOMETRY.xml"
    reference = delivered(
        "BUFFERED_GEOMETRY", DataKind.COMPLEX, ComplexResult(format=XML, data=b"<a/>"), href
    )
    result = execute_result(reference).model_copy(update={"job_id": job_id})
    ours = parsed(
        encode.result(result, job(JobStatus.SUCCEEDED, job_id=job_id, expires=datetime(2014, 12, 25)))
    )
    official = parse_xml((EXAMPLES / "wpsResultExample.xml").read_bytes())
    assert [c.tag for c in ours.iter()] == [c.tag for c in official.iter()]
    assert texts(ours, "wps:JobID") == texts(official, "wps:JobID")
    assert texts(ours, "wps:ExpirationDate") == ["2014-12-25T00:00:00Z"]  # the example's 24:00:00 of the 24th
    reference_path = "wps:Output[@id='BUFFERED_GEOMETRY']/wps:Reference"
    assert one(ours, reference_path).get(ns.XLINK_HREF) == one(official, reference_path).get(ns.XLINK_HREF)


def test_result_without_outputs() -> None:
    with pytest.raises(errors.NoApplicableCode):
        encode.result(execute_result())


@pytest.mark.parametrize(
    ("data", "expected_text"),
    [
        (b'<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><d>&e;</d>', "<!DOCTYPE"),  # XXE
        (b"<not-closed>", "<not-closed>"),
    ],
)
def test_unsafe_or_broken_xml_is_not_embedded(data: bytes, expected_text: str) -> None:
    outputs = (delivered("x", DataKind.COMPLEX, ComplexResult(format=XML, data=data)),)
    root = parsed(encode.result(execute_result(*outputs)))
    element = one(output(root, "x"), "wps:Data")
    assert len(element) == 0 and (element.text or "").startswith(expected_text)


def test_text_that_xml_cannot_carry_goes_base64() -> None:
    outputs = (delivered("x", DataKind.COMPLEX, ComplexResult(format=TEXT, data=b"a\x01b")),)
    root = parsed(encode.result(execute_result(*outputs)))
    element = one(output(root, "x"), "wps:Data")
    assert element.get("encoding") == "base64" and base64.b64decode(element.text or "") == b"a\x01b"


# ----------------------------------------------------------------------------- exceptions


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.NoSuchJob("no job 'j'", locator="j"), "NoSuchJob"),
        (errors.ResultNotReady("job 'j' is running", locator="j"), "ResultNotReady"),
        (errors.InvalidParameterValue("mode 'x'", locator="mode"), "InvalidParameterValue"),
    ],
)
def test_job_errors_use_the_shared_2_0_exception_report(error: errors.WpsError, code: str) -> None:
    document = exceptions.exception_report(error, "2.0.0")
    validate(document, "2.0.0")
    exception = one(etree.fromstring(document), "ows:Exception")
    assert (exception.get("exceptionCode"), exception.get("locator")) == (code, error.locator)
