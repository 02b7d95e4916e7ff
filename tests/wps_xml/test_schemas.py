"""Offline XSD validation: the official OGC examples validate, broken documents do not, no network."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from lxml import etree

from app.wps_xml import namespaces as ns
from app.wps_xml import schemas
from app.wps_xml.schemas import SCHEMA_DIR, SchemaValidationError, validate

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WPS100_EXAMPLES = SCHEMA_DIR / "wps" / "1.0.0" / "examples"
WPS200_EXAMPLES = SCHEMA_DIR / "wps" / "2.0" / "xml-examples"

# Official examples that are themselves invalid, with the reason. With lxml 6 / libxml2 2.14 every
# bundled WPS 1.0.0, WPS 2.0 and OWS 1.1 exception example validates, so the list is empty; an
# entry here skips exactly one file.
INVALID_EXAMPLES: dict[str, str] = {}


def _examples() -> list[Path]:
    files = [
        *sorted(WPS100_EXAMPLES.glob("*.xml")),
        *sorted(WPS200_EXAMPLES.rglob("*.xml")),
        *sorted((SCHEMA_DIR / "ows" / "1.1.0" / "Examples").glob("exampleExceptionReport*.xml")),
    ]
    return [f for f in files if f.name not in INVALID_EXAMPLES]


def _id(path: Path) -> str:
    return str(path.relative_to(SCHEMA_DIR))


def _payload(path: Path) -> etree._Element:
    """The document itself, or for the SOAP examples the WPS element inside soap:Body."""
    root = etree.parse(str(path)).getroot()
    if etree.QName(root).namespace != SOAP:
        return root
    (body,) = root.iter(f"{{{SOAP}}}Body")
    return next(child for child in body if isinstance(child.tag, str))


def test_the_examples_cover_every_wps_100_document() -> None:
    names = {path.name.split("_")[0] for path in _examples() if path.parent == WPS100_EXAMPLES}
    assert {"10", "20", "30", "40", "50", "51", "52", "53", "62", "90"} <= names


@pytest.mark.parametrize("path", _examples(), ids=_id)
def test_official_example_validates(path: Path) -> None:
    element = _payload(path)
    validate(element)
    if element.getparent() is None:
        validate(path.read_bytes())


@pytest.mark.parametrize(("version", "kind"), [(v, k) for v in schemas.VERSIONS for k in schemas.KINDS])
def test_schemas_compile_once(version: str, kind: str) -> None:
    schema = schemas.schema_for(version, kind)
    assert schemas.schema_for(version, kind) is schema
    assert schemas.schema_for(version[:3], kind) is schema  # "1.0" / "2.0" name the same schema


def test_unknown_version_or_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="version"):
        schemas.schema_for("3.0.0", "wps")
    with pytest.raises(ValueError, match="kind"):
        schemas.schema_for("1.0.0", "wfs")


def _capabilities_example() -> etree._Element:
    return etree.parse(str(WPS100_EXAMPLES / "20_wpsGetCapabilities_response.xml")).getroot()


def test_missing_required_attribute_is_reported_with_its_line() -> None:
    root = _capabilities_example()
    del root.attrib["service"]
    with pytest.raises(SchemaValidationError) as caught:
        validate(etree.tostring(root))
    assert any("service" in error and error.startswith("line ") for error in caught.value.errors)
    assert isinstance(caught.value, ValueError)


def test_qualified_describe_process_children_are_invalid() -> None:
    """The 1.0.0 DescribeProcess schema wants ProcessDescription unqualified; check it is enforced."""
    root = etree.parse(str(WPS100_EXAMPLES / "40_wpsDescribeProcess_response.xml")).getroot()
    for child in root:
        if isinstance(child.tag, str):
            child.tag = ns.qname(ns.WPS100, etree.QName(child).localname)
    with pytest.raises(SchemaValidationError, match="ProcessDescription"):
        validate(root)


def test_wrong_child_order_in_exception_report_is_invalid() -> None:
    report = (
        b'<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" version="1.0.0">'
        b"<ows:ExceptionText>no</ows:ExceptionText></ows:ExceptionReport>"
    )
    with pytest.raises(SchemaValidationError) as caught:
        validate(report)
    assert caught.value.errors and caught.value.errors[0].startswith("line 1:")


def test_unknown_root_namespace_and_malformed_xml_are_errors() -> None:
    with pytest.raises(SchemaValidationError, match="no bundled schema"):
        validate(b"<html><body/></html>")
    with pytest.raises(SchemaValidationError, match="well-formed"):
        validate(b"<wps:Capabilities xmlns:wps='http://www.opengis.net/wps/1.0.0'>")


def test_version_must_match_the_root_namespace() -> None:
    document = (WPS100_EXAMPLES / "90_wpsExceptionReport.xml").read_bytes()
    validate(document, "1.0.0")
    with pytest.raises(SchemaValidationError, match=r"not a WPS 2\.0\.0 document"):
        validate(document, "2.0.0")


def test_instance_entities_are_not_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    document = (
        f'<!DOCTYPE r [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
        '<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" version="1.0.0">'
        '<ows:Exception exceptionCode="NoApplicableCode"><ows:ExceptionText>&x;</ows:ExceptionText>'
        "</ows:Exception></ows:ExceptionReport>"
    ).encode()
    with pytest.raises(SchemaValidationError, match="DOCTYPE"):
        validate(document)
    parsed = etree.fromstring(document, schemas._instance_parser())
    assert b"top secret" not in etree.tostring(parsed)


def test_validation_is_thread_safe() -> None:
    good = (WPS100_EXAMPLES / "62_wpsExecute_response.xml").read_bytes()
    bad = good.replace(b'service="WPS" ', b"")

    def outcome(document: bytes) -> bool:
        try:
            validate(document)
        except SchemaValidationError:
            return False
        return True

    documents = [good, bad] * 50
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(outcome, documents))
    assert outcomes == [document is good for document in documents]


# ----------------------------------------------------------------------------- offline


def test_catalog_maps_remote_locations_to_bundled_files() -> None:
    wps_all = SCHEMA_DIR / "wps" / "1.0.0" / "wpsAll.xsd"
    assert schemas.local_path(ns.WPS100_ALL_XSD) == wps_all
    assert schemas.local_path(ns.WPS100_ALL_XSD.replace("http:", "https:")) == wps_all
    assert schemas.local_path("http://www.w3.org/1999/xlink.xsd") == SCHEMA_DIR / "w3c/1999/xlink.xsd"
    assert schemas.local_path("https://www.w3.org/2001/xml.xsd") == SCHEMA_DIR / "w3c/2001/xml.xsd"
    assert schemas.local_path("http://example.org/other.xsd") is None
    assert schemas.local_path("http://schemas.opengis.net/../../../etc/passwd") is None


class RecordingResolver(schemas.OfflineResolver):
    """The offline resolver, remembering every location libxml2 asked for and what it refused."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []
        self.refused: list[str] = []

    def resolve(self, system_url: str | None, public_id: str | None, context: object) -> object:
        self.seen.append(system_url or "")
        try:
            return super().resolve(system_url, public_id, context)
        except schemas.RemoteSchemaRefused:
            self.refused.append(system_url or "")
            raise


@pytest.mark.parametrize("key", sorted(schemas._ENTRY_POINTS), ids="-".join)
def test_compiling_resolves_every_remote_location_locally(key: tuple[str, str]) -> None:
    resolver = RecordingResolver()
    started = time.monotonic()
    schemas.compile_schema(schemas._ENTRY_POINTS[key], resolver)
    assert time.monotonic() - started < 5  # no network round trips or timeouts
    remote = [url for url in resolver.seen if url.startswith(("http:", "https:"))]
    assert remote, "the OGC schemas import xlink/xml/ows by remote URL"
    assert all(schemas.local_path(url) is not None for url in remote)
    assert not resolver.refused
    local = [Path(url) for url in resolver.seen if url not in remote]
    assert all(path.resolve().is_relative_to(SCHEMA_DIR) for path in local)


def test_unmapped_remote_location_is_refused_not_fetched() -> None:
    resolver = RecordingResolver()
    started = time.monotonic()
    with pytest.raises(etree.XMLSchemaParseError):
        schemas.compile_schema([("urn:example", "http://schemas.example.invalid/x.xsd")], resolver)
    assert resolver.refused == ["http://schemas.example.invalid/x.xsd"]
    assert time.monotonic() - started < 5


def test_large_inline_payloads_validate() -> None:
    """A base64 output above libxml2's default 10 MB text-node cap is still validated."""
    root = etree.parse(str(WPS100_EXAMPLES / "62_wpsExecute_response.xml")).getroot()
    (reference,) = root.iterfind("wps:ProcessOutputs/wps:Output/wps:Reference", {"wps": ns.WPS100})
    data = etree.Element(ns.qname(ns.WPS100, "Data"))
    complex_data = etree.SubElement(data, ns.qname(ns.WPS100, "ComplexData"), encoding="base64")
    complex_data.text = "QUFB" * 3_000_000
    reference.getparent().replace(reference, data)
    document = etree.tostring(root)
    assert len(document) > 12_000_000
    validate(document)
