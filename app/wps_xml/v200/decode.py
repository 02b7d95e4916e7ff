"""WPS 2.0.0 requests (OGC 14-065), from KVP or XML, into the neutral request models.

WPS 2.0 defines Execute for POST (XML) only; GetCapabilities, DescribeProcess, GetStatus,
GetResult and Dismiss come in both encodings. Nothing past this module sees an lxml element.

An inline ``wps:Data`` does not say which kind of data it holds. ``wps:LiteralValue`` and
``ows:BoundingBox`` children are unambiguous; for plain text the process description decides when
a lookup is given, and otherwise text with a format other than ``text/plain`` is complex data.
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from app.model.descriptions import OGC_GEOTIFF_MEDIA_TYPE, DataKind, ProcessDescription
from app.model.errors import InvalidParameterValue, MissingParameterValue, NoSuchMode
from app.model.requests import (
    BoundingBoxValue,
    ComplexValue,
    DescribeProcessRequest,
    ExecuteRequest,
    ExecutionMode,
    GetCapabilitiesRequest,
    InputValue,
    JobRequest,
    LiteralValue,
    OutputRequest,
    ResponseForm,
)
from app.wps_xml import namespaces as ns
from app.wps_xml.chaining import Chain
from app.wps_xml.kvp import Kvp, split_list
from app.wps_xml.payload import WGS84_CRS, bounding_box, inline_complex, inline_payload

WPS = ns.WPS200
OWS = ns.OWS200
NS = {"wps": WPS, "ows": OWS, "xlink": ns.XLINK}
VERSION = "2.0.0"
# the registered GeoTIFF type first, as DescribeProcess advertises it (see encode.py)
DEFAULT_MEDIA_TYPES = (OGC_GEOTIFF_MEDIA_TYPE,)
MODES: dict[str, ExecutionMode] = {"sync": "sync", "async": "async", "auto": "auto"}
CRS84 = WGS84_CRS  # what an ows:WGS84BoundingBox decodes to, in either version

DescriptionLookup = Callable[[str], ProcessDescription]

_BBOX_TAGS = {ns.qname(OWS, "BoundingBox"), ns.qname(OWS, "WGS84BoundingBox")}
_LITERAL_VALUE = ns.qname(WPS, "LiteralValue")


# ----------------------------------------------------------------------------- KVP


def capabilities_from_kvp(kvp: Kvp) -> GetCapabilitiesRequest:
    """GetCapabilities from KVP (``AcceptVersions``, ``AcceptLanguages``)."""
    versions = split_list(kvp.get("AcceptVersions") or "")
    accepted = split_list(kvp.get("AcceptLanguages") or "")
    languages = accepted or split_list(kvp.get("language") or "")
    return GetCapabilitiesRequest(
        accept_versions=tuple(versions),
        accept_languages=tuple(accepted),
        language=languages[0] if languages else None,
        update_sequence=kvp.get("updateSequence"),
    )


def describe_from_kvp(kvp: Kvp) -> DescribeProcessRequest:
    """DescribeProcess from KVP (``identifier`` list, ``version``, optional ``lang``)."""
    identifiers = split_list(kvp.require("identifier"))
    if not identifiers:
        raise MissingParameterValue("parameter 'identifier' is required", locator="identifier")
    return DescribeProcessRequest(
        version=_check_version(kvp.require("version")),
        identifiers=tuple(identifiers),
        language=kvp.get("lang") or kvp.get("language"),
    )


def job_from_kvp(kvp: Kvp) -> JobRequest:
    """GetStatus, GetResult or Dismiss from KVP (``jobId``)."""
    version = _check_version(kvp.require("version"))
    return JobRequest(version=version, job_id=kvp.require("jobId").strip())


# ----------------------------------------------------------------------------- XML


def capabilities_from_xml(root: etree._Element) -> GetCapabilitiesRequest:
    """GetCapabilities from XML (``ows:AcceptVersions``, ``ows:AcceptLanguages`` in OWS 2.0)."""
    versions = [_text(v) for v in root.iterfind("ows:AcceptVersions/ows:Version", NS) if _text(v)]
    languages = [_text(v) for v in root.iterfind("ows:AcceptLanguages/ows:Language", NS) if _text(v)]
    return GetCapabilitiesRequest(
        accept_versions=tuple(versions),
        accept_languages=tuple(languages),
        language=languages[0] if languages else None,
        update_sequence=root.get("updateSequence"),
    )


def describe_from_xml(root: etree._Element) -> DescribeProcessRequest:
    """DescribeProcess from XML."""
    identifiers = [_text(e) for e in root.iterfind("ows:Identifier", NS)]
    if not identifiers or not all(identifiers):
        raise MissingParameterValue("DescribeProcess needs an ows:Identifier", locator="Identifier")
    return DescribeProcessRequest(
        version=_check_version(_require_attr(root, "version")),
        identifiers=tuple(identifiers),
        language=root.get(ns.XML_LANG),
    )


def job_from_xml(root: etree._Element) -> JobRequest:
    """GetStatus, GetResult or Dismiss from XML (``wps:JobID``)."""
    version = _check_version(_require_attr(root, "version"))
    job_id = root.find("wps:JobID", NS)
    if job_id is None or not _text(job_id):
        raise MissingParameterValue(f"{etree.QName(root).localname} needs a wps:JobID", locator="JobID")
    return JobRequest(version=version, job_id=_text(job_id))


def execute_from_xml(
    root: etree._Element, lookup: DescriptionLookup | None = None, chain: Chain | None = None
) -> ExecuteRequest:
    """Execute from XML; ``lookup``, when given, tells how to read plain-text ``wps:Data``.

    ``chain`` places the request in a tree of nested processes and reads the references that chain
    this service's Execute (the codec always gives one; without it, every reference is data).
    """
    version = _check_version(_require_attr(root, "version"))
    identifier = root.find("ows:Identifier", NS)
    if identifier is None or not _text(identifier):
        raise MissingParameterValue("Execute needs an ows:Identifier", locator="Identifier")
    description = lookup(_text(identifier)) if lookup is not None else None
    inputs = []
    for element in root.iterfind("wps:Input", NS):
        name = _require_id(element, "Input")
        parameter = description.input(name) if description is not None else None
        inputs.append((name, _xml_input(element, name, parameter.kind if parameter else None, chain)))
    return ExecuteRequest(
        version=version,
        identifier=_text(identifier),
        inputs=tuple(inputs),
        response=_response_form(root),
        default_media_types=DEFAULT_MEDIA_TYPES,
    )


def _xml_input(element: etree._Element, name: str, kind: DataKind | None, chain: Chain | None) -> InputValue:
    if element.find("wps:Input", NS) is not None:
        raise InvalidParameterValue(f"input {name!r}: nested inputs are not supported", locator=name)
    reference = element.find("wps:Reference", NS)
    if reference is not None:
        return _xml_reference(reference, name, chain)
    data = element.find("wps:Data", NS)
    if data is None:
        raise MissingParameterValue(f"input {name!r} has neither wps:Data nor wps:Reference", locator=name)
    kind = _data_kind(data, kind)
    if kind is DataKind.LITERAL:
        return _xml_literal(data, name)
    if kind is DataKind.BBOX:
        return _xml_bbox(data, name)
    return inline_complex(data, name)


def _data_kind(data: etree._Element, declared: DataKind | None) -> DataKind:
    """What a ``wps:Data`` holds: its child element decides, then the declaration, then the format."""
    child = _first_child(data)
    if declared is DataKind.COMPLEX or (child is not None and child.tag not in _BBOX_TAGS | {_LITERAL_VALUE}):
        return DataKind.COMPLEX
    if child is not None:
        return DataKind.BBOX if child.tag in _BBOX_TAGS else DataKind.LITERAL
    if declared is not None:
        return declared
    mime_type = (data.get("mimeType") or "text/plain").split(";")[0].strip().lower()
    plain = mime_type == "text/plain" and not data.get("encoding") and not data.get("schema")
    return DataKind.LITERAL if plain else DataKind.COMPLEX


def _xml_literal(data: etree._Element, name: str) -> LiteralValue:
    """``<wps:Data><wps:LiteralValue dataType uom>v</wps:LiteralValue></wps:Data>`` or plain text."""
    value = _first_child(data)
    if value is None:
        return LiteralValue(value=data.text or "")
    if value.tag != _LITERAL_VALUE:
        local = etree.QName(value).localname
        raise InvalidParameterValue(f"input {name!r}: expected a literal value, got {local}", locator=name)
    return LiteralValue(value=value.text or "", data_type=value.get("dataType"), uom=value.get("uom"))


def _xml_bbox(data: etree._Element, name: str) -> BoundingBoxValue:
    value = _first_child(data)
    if value is None or value.tag not in _BBOX_TAGS:
        raise InvalidParameterValue(f"input {name!r}: expected an ows:BoundingBox", locator=name)
    return bounding_box(value, name)


def _xml_reference(reference: etree._Element, name: str, chain: Chain | None) -> InputValue:
    """``wps:Reference``: a GET, or a POST when it carries ``wps:Body`` or ``wps:BodyReference``;
    a nested process when it chains this service's Execute."""
    href = reference.get(ns.XLINK_HREF)
    if not href or not href.strip():
        raise MissingParameterValue(f"input {name!r}: wps:Reference needs xlink:href", locator=name)
    body = reference.find("wps:Body", NS)
    body_reference = reference.find("wps:BodyReference", NS)
    body_href = body_reference.get(ns.XLINK_HREF) if body_reference is not None else None
    if body_reference is not None and not (body_href or "").strip():
        raise MissingParameterValue(f"input {name!r}: wps:BodyReference needs xlink:href", locator=name)
    value = ComplexValue(
        mime_type=reference.get("mimeType"),
        encoding=reference.get("encoding"),
        schema_url=reference.get("schema"),
        href=href.strip(),
        method="POST" if body is not None or body_reference is not None else "GET",
        body_href=body_href.strip() if body_href else None,
    )
    if chain is not None and (nested := chain.nested(name, value, body)) is not None:
        return nested
    return value if body is None else value.model_copy(update={"body": inline_payload(body)})


def _response_form(root: etree._Element) -> ResponseForm:
    mode = MODES.get(_require_attr(root, "mode"))
    if mode is None:
        raise NoSuchMode(f"mode {root.get('mode')!r} is not one of {', '.join(MODES)}", locator="mode")
    response = _require_attr(root, "response")
    if response not in {"document", "raw"}:
        raise InvalidParameterValue(f"response {response!r} is not document or raw", locator="response")
    outputs = tuple(_xml_output(element) for element in root.iterfind("wps:Output", NS))
    if response == "raw" and len(outputs) > 1:
        raise InvalidParameterValue('response="raw" delivers exactly one output', locator="response")
    return ResponseForm(raw=response == "raw", outputs=outputs, mode=mode)


def _xml_output(element: etree._Element) -> OutputRequest:
    identifier = _require_id(element, "Output")
    if element.find("wps:Output", NS) is not None:
        raise InvalidParameterValue(
            f"output {identifier!r}: nested outputs are not supported", locator=identifier
        )
    transmission = element.get("transmission", "value")
    if transmission not in {"value", "reference"}:
        raise InvalidParameterValue(
            f"output {identifier!r}: transmission {transmission!r} is not value or reference",
            locator="transmission",
        )
    return OutputRequest(
        identifier=identifier,
        as_reference=transmission == "reference",
        mime_type=element.get("mimeType"),
        encoding=element.get("encoding"),
        schema_url=element.get("schema"),
    )


# ----------------------------------------------------------------------------- shared


def _check_version(version: str) -> str:
    if version.strip() != VERSION:
        raise InvalidParameterValue(f"version {version!r} is not {VERSION}", locator="version")
    return VERSION


def _require_id(element: etree._Element, what: str) -> str:
    identifier = (element.get("id") or "").strip()
    if not identifier:
        raise MissingParameterValue(f"a wps:{what} has no id", locator="id")
    return identifier


def _require_attr(element: etree._Element, name: str) -> str:
    value = element.get(name)
    if value is None or not value.strip():
        raise MissingParameterValue(f"attribute {name!r} is required", locator=name)
    return str(value).strip()


def _first_child(element: etree._Element) -> etree._Element | None:
    return next((child for child in element if isinstance(child.tag, str)), None)


def _text(element: etree._Element) -> str:
    return (element.text or "").strip()
