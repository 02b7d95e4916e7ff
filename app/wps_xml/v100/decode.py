"""WPS 1.0.0 requests, from KVP or XML, into the neutral request models.

Nothing past this module sees an lxml element.
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from app.model.descriptions import DataKind, ProcessDescription
from app.model.errors import InvalidParameterValue, MissingParameterValue
from app.model.requests import (
    BoundingBoxValue,
    ComplexValue,
    DescribeProcessRequest,
    ExecuteRequest,
    GetCapabilitiesRequest,
    InputValue,
    LiteralValue,
    OutputRequest,
    ResponseForm,
)
from app.wps_xml.chaining import Chain
from app.wps_xml.kvp import Kvp, KvpItem, parse_bool, parse_items, split_list
from app.wps_xml.message import accepted_versions
from app.wps_xml.payload import bounding_box, decode_payload, inline_complex, inline_payload

WPS = "http://www.opengis.net/wps/1.0.0"
OWS = "http://www.opengis.net/ows/1.1"
XLINK = "http://www.w3.org/1999/xlink"
NS = {"wps": WPS, "ows": OWS, "xlink": XLINK}

DescriptionLookup = Callable[[str], ProcessDescription]


# ----------------------------------------------------------------------------- KVP


def capabilities_from_kvp(kvp: Kvp) -> GetCapabilitiesRequest:
    """GetCapabilities from KVP."""
    versions = split_list(kvp.get("AcceptVersions") or "")
    return GetCapabilitiesRequest(
        accept_versions=tuple(versions),
        language=kvp.get("language"),
        update_sequence=kvp.get("updateSequence"),
    )


def describe_from_kvp(kvp: Kvp) -> DescribeProcessRequest:
    """DescribeProcess from KVP."""
    identifiers = split_list(kvp.require("identifier"))
    if not identifiers:
        raise MissingParameterValue("parameter 'identifier' is required", locator="identifier")
    return DescribeProcessRequest(
        version=kvp.require("version"), identifiers=tuple(identifiers), language=kvp.get("language")
    )


def execute_from_kvp(kvp: Kvp, lookup: DescriptionLookup, chain: Chain | None = None) -> ExecuteRequest:
    """Execute from KVP; the process description tells how to read each input's value.

    ``chain`` places the request in a tree of nested processes and reads the references that chain
    this service's Execute (the codec always gives one; without it, every reference is data).
    """
    identifier = kvp.require("identifier")
    description = lookup(identifier)
    inputs = []
    for item in parse_items(kvp.get("DataInputs") or "", "DataInputs", with_value=True):
        parameter = description.input(item.identifier)
        kind = parameter.kind if parameter else DataKind.LITERAL
        inputs.append((item.identifier, _kvp_input(item, kind, chain)))
    return ExecuteRequest(
        version=kvp.require("version"),
        identifier=identifier,
        inputs=tuple(inputs),
        response=_kvp_response_form(kvp),
        language=kvp.get("language"),
    )


def _kvp_input(item: KvpItem, kind: DataKind, chain: Chain | None) -> InputValue:
    attrs = item.attributes
    href = attrs.get("href") or attrs.get("xlink:href")
    value = item.value or ""
    if href or kind is DataKind.COMPLEX:
        data = None if href else decode_payload(value.encode(), attrs.get("encoding"), item.identifier)
        complex_value = ComplexValue(
            mime_type=attrs.get("mimetype"),
            encoding=attrs.get("encoding"),
            schema_url=attrs.get("schema"),
            data=data,
            href=href,
        )
        nested = chain.nested(item.identifier, complex_value, None) if chain is not None and href else None
        return nested if nested is not None else complex_value
    if kind is DataKind.BBOX:
        return _kvp_bbox(value, item.identifier)
    return LiteralValue(value=value, data_type=attrs.get("datatype"), uom=attrs.get("uom"))


def _kvp_bbox(value: str, locator: str) -> BoundingBoxValue:
    """``minx,miny,maxx,maxy[,crs[,dimensions]]`` (WPS 1.0.0 table 52)."""
    parts = split_list(value)
    numbers: list[float] = []
    for part in parts:
        try:
            numbers.append(float(part))
        except ValueError:
            break
    rest = parts[len(numbers) :]
    if len(numbers) < 4 or len(numbers) % 2 or len(rest) > 2:
        raise InvalidParameterValue(
            f"bounding box {value!r} must be minx,miny,maxx,maxy[,crs[,dimensions]]", locator=locator
        )
    half = len(numbers) // 2
    return BoundingBoxValue(
        lower=tuple(numbers[:half]), upper=tuple(numbers[half:]), crs=rest[0] if rest else None
    )


def _kvp_response_form(kvp: Kvp) -> ResponseForm:
    raw = kvp.get("RawDataOutput")
    document = kvp.get("ResponseDocument")
    if raw and document:
        raise InvalidParameterValue(
            "RawDataOutput and ResponseDocument are mutually exclusive", locator="RawDataOutput"
        )
    items = parse_items(raw or document or "", "RawDataOutput" if raw else "ResponseDocument", False)
    outputs = tuple(
        OutputRequest(
            identifier=item.identifier,
            as_reference=parse_bool(item.attributes.get("asreference", "false"), "asReference"),
            mime_type=item.attributes.get("mimetype"),
            encoding=item.attributes.get("encoding"),
            schema_url=item.attributes.get("schema"),
            uom=item.attributes.get("uom"),
        )
        for item in items
    )
    return _form(
        raw=bool(raw),
        outputs=outputs,
        lineage=kvp.boolean("lineage"),
        store=kvp.boolean("storeExecuteResponse"),
        status=kvp.boolean("status"),
    )


def _form(
    raw: bool, outputs: tuple[OutputRequest, ...], lineage: bool, store: bool, status: bool
) -> ResponseForm:
    """A ResponseForm; storeExecuteResponse with status asks for asynchronous execution."""
    if raw and len(outputs) != 1:
        raise InvalidParameterValue("RawDataOutput names exactly one output", locator="RawDataOutput")
    if status and not store:
        raise InvalidParameterValue("status=true requires storeExecuteResponse=true", locator="status")
    mode = "async" if store and status else "sync"
    return ResponseForm(raw=raw, outputs=outputs, lineage=lineage, store=store, status=status, mode=mode)


# ----------------------------------------------------------------------------- XML


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def capabilities_from_xml(root: etree._Element) -> GetCapabilitiesRequest:
    """GetCapabilities from XML (``wps:AcceptVersions`` as the 1.0.0 schema has it, or ``ows:``)."""
    return GetCapabilitiesRequest(
        accept_versions=accepted_versions(root),
        language=root.get("language"),
        update_sequence=root.get("updateSequence"),
    )


def describe_from_xml(root: etree._Element) -> DescribeProcessRequest:
    """DescribeProcess from XML."""
    identifiers = [_text(e) for e in root.iterfind("ows:Identifier", NS)]
    if not identifiers:
        raise MissingParameterValue("DescribeProcess needs an ows:Identifier", locator="Identifier")
    return DescribeProcessRequest(
        version=_require_attr(root, "version"),
        identifiers=tuple(identifiers),
        language=root.get("language"),
    )


def execute_from_xml(root: etree._Element, chain: Chain | None = None) -> ExecuteRequest:
    """Execute from XML; ``chain`` as for :func:`execute_from_kvp`."""
    identifier = root.find("ows:Identifier", NS)
    if identifier is None or not _text(identifier):
        raise MissingParameterValue("Execute needs an ows:Identifier", locator="Identifier")
    inputs = tuple(
        (_child_identifier(element, "Input"), _xml_input(element, chain))
        for element in root.iterfind("wps:DataInputs/wps:Input", NS)
    )
    return ExecuteRequest(
        version=_require_attr(root, "version"),
        identifier=_text(identifier),
        inputs=inputs,
        response=_xml_response_form(root.find("wps:ResponseForm", NS)),
        language=root.get("language"),
    )


def _xml_input(element: etree._Element, chain: Chain | None) -> InputValue:
    name = _child_identifier(element, "Input")
    reference = element.find("wps:Reference", NS)
    if reference is not None:
        return _xml_reference(reference, name, chain)
    data = element.find("wps:Data", NS)
    if data is None or len(data) == 0:
        raise MissingParameterValue(f"input {name!r} has neither wps:Data nor wps:Reference", locator=name)
    value = data[0]
    local = etree.QName(value).localname
    if local == "LiteralData":
        return LiteralValue(value=value.text or "", data_type=value.get("dataType"), uom=value.get("uom"))
    if local == "ComplexData":
        return inline_complex(value, name)
    if local in {"BoundingBoxData", "BoundingBox", "WGS84BoundingBox"}:
        return bounding_box(value, name)
    raise InvalidParameterValue(f"input {name!r}: unexpected element {local}", locator=name)


def _xml_reference(reference: etree._Element, name: str, chain: Chain | None) -> InputValue:
    """Data by reference, or a nested process when it chains this service's Execute."""
    href = reference.get(_q("xlink", "href")) or reference.get("href")
    if not href:
        raise MissingParameterValue(f"input {name!r}: wps:Reference needs xlink:href", locator=name)
    body = reference.find("wps:Body", NS)
    body_reference = reference.find("wps:BodyReference", NS)
    value = ComplexValue(
        mime_type=reference.get("mimeType"),
        encoding=reference.get("encoding"),
        schema_url=reference.get("schema"),
        href=href.strip(),
        method="POST" if (reference.get("method") or "GET").upper() == "POST" else "GET",
        headers=tuple((h.get("key", ""), h.get("value", "")) for h in reference.iterfind("wps:Header", NS)),
        body_href=body_reference.get(_q("xlink", "href")) if body_reference is not None else None,
    )
    if chain is not None and (nested := chain.nested(name, value, body)) is not None:
        return nested
    return value if body is None else value.model_copy(update={"body": inline_payload(body)})


def _xml_response_form(form: etree._Element | None) -> ResponseForm:
    if form is None:
        return ResponseForm()
    raw = form.find("wps:RawDataOutput", NS)
    if raw is not None:
        return ResponseForm(raw=True, outputs=(_xml_output(raw),))
    document = form.find("wps:ResponseDocument", NS)
    if document is None:
        return ResponseForm()
    return _form(
        raw=False,
        outputs=tuple(_xml_output(o) for o in document.iterfind("wps:Output", NS)),
        lineage=parse_bool(document.get("lineage", "false"), "lineage"),
        store=parse_bool(document.get("storeExecuteResponse", "false"), "storeExecuteResponse"),
        status=parse_bool(document.get("status", "false"), "status"),
    )


def _xml_output(element: etree._Element) -> OutputRequest:
    title = element.find("ows:Title", NS)
    abstract = element.find("ows:Abstract", NS)
    return OutputRequest(
        identifier=_child_identifier(element, "Output"),
        as_reference=parse_bool(element.get("asReference", "false"), "asReference"),
        mime_type=element.get("mimeType"),
        encoding=element.get("encoding"),
        schema_url=element.get("schema"),
        uom=element.get("uom"),
        title=_text(title) if title is not None else None,
        abstract=_text(abstract) if abstract is not None else None,
    )


def _child_identifier(element: etree._Element, what: str) -> str:
    identifier = element.find("ows:Identifier", NS)
    if identifier is None or not _text(identifier):
        raise MissingParameterValue(f"a wps:{what} has no ows:Identifier", locator="Identifier")
    return _text(identifier)


def _require_attr(element: etree._Element, name: str) -> str:
    value = element.get(name)
    if not value:
        raise MissingParameterValue(f"attribute {name!r} is required", locator=name)
    return str(value)


def _text(element: etree._Element) -> str:
    return (element.text or "").strip()
