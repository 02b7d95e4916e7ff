"""WPS 1.0.0 response documents, built element by element with lxml ``ElementMaker`` factories.

A quirk of the official schemas: ``wpsDescribeProcess_response.xsd`` sets no
``elementFormDefault``, so the elements it declares locally (``ProcessDescription``, ``DataInputs``,
``Input``, ``LiteralData``, ``ComplexOutput``, ``Default``, ``Format``, ``CRS``, ...) are
*unqualified*, while the ``ows:`` elements and ``wps:processVersion`` stay qualified. The
GetCapabilities and Execute response schemas qualify every element.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from lxml.builder import ElementMaker
from lxml.etree import _Element as Element

from app.model.descriptions import DataKind, Format, LiteralDomain, ParameterDescription, ProcessDescription
from app.model.errors import NoApplicableCode, WpsError
from app.model.requests import (
    BoundingBoxValue,
    ComplexValue,
    InputValue,
    LiteralValue,
    NestedProcess,
    OutputRequest,
)
from app.model.results import (
    BoundingBoxResult,
    ComplexResult,
    DeliveredOutput,
    ExecuteResult,
    LiteralResult,
    OutputResult,
)
from app.settings import Settings
from app.wps_xml import exceptions
from app.wps_xml import namespaces as ns
from app.wps_xml.exceptions import exception_report as exception_report  # the 1.0.0 face
from app.wps_xml.exceptions import xml_text
from app.wps_xml.payload import (
    FALLBACK_CRS,
    FALLBACK_FORMAT,
    LANGUAGES,
    complex_bytes,
    fill_inline,
    format_attributes,
    operations_metadata,
    position,
    possible_values,
    serialize,
    service_identification,
    service_provider,
    xs_datetime,
)

WPS = ElementMaker(namespace=ns.WPS100, nsmap=ns.NSMAP_WPS100)
OWS = ElementMaker(namespace=ns.OWS110, nsmap=ns.NSMAP_WPS100)
LOCAL = ElementMaker(nsmap=ns.NSMAP_WPS100)  # the unqualified elements of ProcessDescriptions

VERSION = "1.0.0"

# maxOccurs is an xs:positiveInteger in WPS 1.0.0: "unbounded" is not allowed. Like GeoServer, an
# unbounded input advertises the largest 32-bit integer, which every client can parse.
UNBOUNDED_MAX_OCCURS = 2**31 - 1

_DATA_TYPE_REFERENCE = "http://www.w3.org/TR/xmlschema-2/#"
_PROCESS_VERSION = ns.qname(ns.WPS100, "processVersion")
_OWS_REFERENCE = ns.qname(ns.OWS110, "reference")
_STATUS_TEXT = {
    "ProcessAccepted": "Process accepted",
    "ProcessStarted": "Process started",
    "ProcessPaused": "Process paused",
    "ProcessSucceeded": "Process succeeded",
}

# ----------------------------------------------------------------------------- shared


def _root_attributes(schema_location: str, language: str) -> dict[str, str]:
    return {
        "service": "WPS",
        "version": VERSION,
        ns.XML_LANG: language,
        ns.XSI_SCHEMA_LOCATION: schema_location,
    }


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _described(item: ProcessDescription | ParameterDescription) -> list[Element]:
    """Identifier, Title, Abstract; for a process also its keywords as ``ows:Metadata``."""
    children = [OWS.Identifier(item.identifier), OWS.Title(item.title)]
    if item.abstract:
        children.append(OWS.Abstract(item.abstract))
    if isinstance(item, ProcessDescription):
        children.extend(OWS.Metadata({ns.XLINK_TITLE: keyword}) for keyword in item.keywords)
    return children


# ----------------------------------------------------------------------------- GetCapabilities


def capabilities(
    settings: Settings,
    processes: Sequence[ProcessDescription],
    language: str = "en-US",
    update_sequence: str | None = None,
) -> bytes:
    """The ``wps:Capabilities`` document: service metadata, operations and process offerings."""
    attributes = _root_attributes(ns.WPS100_CAPABILITIES_LOCATION, language)
    if update_sequence is not None:
        attributes["updateSequence"] = update_sequence
    root = WPS.Capabilities(
        service_identification(OWS, settings, VERSION),
        service_provider(OWS, settings),
        operations_metadata(OWS, settings, ("GetCapabilities", "DescribeProcess", "Execute")),
        WPS.ProcessOfferings(*(_process_brief(p) for p in processes)),
        WPS.Languages(
            WPS.Default(OWS.Language(LANGUAGES[0])),
            WPS.Supported(*(OWS.Language(lang) for lang in LANGUAGES)),
        ),
        attributes,
    )
    return serialize(root)


def _process_brief(process: ProcessDescription) -> Element:
    return WPS.Process(*_described(process), {_PROCESS_VERSION: process.version})


# ----------------------------------------------------------------------------- DescribeProcess


def describe_process(
    processes: Sequence[ProcessDescription],
    language: str = "en-US",
    *,
    maximum_megabytes: int | None = None,
) -> bytes:
    """The ``wps:ProcessDescriptions`` document, one full description per process.

    ``maximum_megabytes``, when given, is advertised on every ComplexData input.
    """
    root = WPS.ProcessDescriptions(
        *(_process_description(p, maximum_megabytes) for p in processes),
        _root_attributes(ns.WPS100_DESCRIBE_PROCESS_LOCATION, language),
    )
    return serialize(root)


def _process_description(process: ProcessDescription, maximum_megabytes: int | None) -> Element:
    children = _described(process)
    if process.inputs:
        inputs = (_input_description(i, maximum_megabytes) for i in process.inputs)
        children.append(LOCAL.DataInputs(*inputs))
    children.append(LOCAL.ProcessOutputs(*(_output_description(o) for o in process.outputs)))
    attributes = {
        _PROCESS_VERSION: process.version,
        "storeSupported": _bool(process.store_supported),
        "statusSupported": _bool(process.status_supported),
    }
    return LOCAL.ProcessDescription(*children, attributes)


def _input_description(param: ParameterDescription, maximum_megabytes: int | None) -> Element:
    max_occurs = UNBOUNDED_MAX_OCCURS if param.max_occurs is None else max(param.max_occurs, 1)
    if param.kind is DataKind.LITERAL:
        domain = param.literal or LiteralDomain()
        default = [LOCAL.DefaultValue(domain.default)] if domain.default is not None else []
        form = LOCAL.LiteralData(*_literal_type(domain), possible_values(OWS, domain), *default)
    elif param.kind is DataKind.COMPLEX:
        megabytes = {} if maximum_megabytes is None else {"maximumMegabytes": str(maximum_megabytes)}
        form = LOCAL.ComplexData(*_supported_formats(param.formats), megabytes)
    else:
        form = LOCAL.BoundingBoxData(*_supported_crss(param.crss))
    occurs = {"minOccurs": str(param.min_occurs), "maxOccurs": str(max_occurs)}
    return LOCAL.Input(*_described(param), form, occurs)


def _output_description(param: ParameterDescription) -> Element:
    if param.kind is DataKind.LITERAL:
        form = LOCAL.LiteralOutput(*_literal_type(param.literal or LiteralDomain()))
    elif param.kind is DataKind.COMPLEX:
        form = LOCAL.ComplexOutput(*_supported_formats(param.formats))
    else:
        form = LOCAL.BoundingBoxOutput(*_supported_crss(param.crss))
    return LOCAL.Output(*_described(param), form)


def _literal_type(domain: LiteralDomain) -> list[Element]:
    reference = {_OWS_REFERENCE: _DATA_TYPE_REFERENCE + domain.data_type}
    children = [OWS.DataType(domain.data_type, reference)]
    if domain.uoms:
        children.append(
            LOCAL.UOMs(
                LOCAL.Default(OWS.UOM(domain.uoms[0])),
                LOCAL.Supported(*(OWS.UOM(uom) for uom in domain.uoms)),
            )
        )
    return children


def _supported_formats(formats: Sequence[Format]) -> list[Element]:
    formats = formats or (FALLBACK_FORMAT,)
    return [LOCAL.Default(_format(formats[0])), LOCAL.Supported(*(_format(f) for f in formats))]


def _format(fmt: Format) -> Element:
    element = LOCAL.Format(LOCAL.MimeType(fmt.mime_type))
    if fmt.encoding:
        element.append(LOCAL.Encoding(fmt.encoding))
    if fmt.schema_url:
        element.append(LOCAL.Schema(fmt.schema_url))
    return element


def _supported_crss(crss: Sequence[str]) -> list[Element]:
    crss = crss or (FALLBACK_CRS,)
    return [LOCAL.Default(LOCAL.CRS(crss[0])), LOCAL.Supported(*(LOCAL.CRS(crs) for crs in crss))]


# ----------------------------------------------------------------------------- Execute


def execute_response(
    result: ExecuteResult,
    settings: Settings,
    *,
    creation_time: datetime,
    status_location: str | None = None,
    status: str = "ProcessSucceeded",
    message: str | None = None,
    percent: int | None = None,
    error: WpsError | None = None,
    language: str = "en-US",
) -> bytes:
    """The ``wps:ExecuteResponse`` document for a result in a given status.

    Outputs are encoded only for ``ProcessSucceeded``; lineage (inputs and output definitions) is
    echoed when the request asked for it. ``error`` is reported for ``ProcessFailed``.
    """
    children = [
        _process_brief(result.process),
        _status(status, creation_time, message, percent, error),
    ]
    if result.request.response.lineage:
        children.extend(_lineage(result))
    if status == "ProcessSucceeded" and result.outputs:
        children.append(WPS.ProcessOutputs(*(_output_data(o) for o in result.outputs)))
    attributes = _root_attributes(ns.WPS100_EXECUTE_LOCATION, language)
    attributes["serviceInstance"] = f"{settings.wps_url}?service=WPS&request=GetCapabilities"
    if status_location:
        attributes["statusLocation"] = status_location
    return serialize(WPS.ExecuteResponse(*children, attributes))


def _status(
    state: str,
    creation_time: datetime,
    message: str | None = None,
    percent: int | None = None,
    error: WpsError | None = None,
) -> Element:
    """``wps:Status``: ProcessAccepted, ProcessStarted/Paused (with percent), Succeeded or Failed."""
    attributes = {"creationTime": xs_datetime(creation_time)}
    if state == "ProcessFailed":
        failure = error or NoApplicableCode(message or "the process failed")
        report = exceptions.exception_report_element(failure, VERSION, schema_location=False)
        return WPS.Status(WPS.ProcessFailed(report), attributes)
    if state not in _STATUS_TEXT:
        raise ValueError(f"unknown WPS 1.0.0 status {state!r}")
    element = WPS(state, xml_text(message or _STATUS_TEXT[state]))
    if percent is not None and state in {"ProcessStarted", "ProcessPaused"}:
        element.set("percentCompleted", str(min(max(int(percent), 0), 99)))
    return WPS.Status(element, attributes)


def _lineage(result: ExecuteResult) -> list[Element]:
    elements = []
    if result.request.inputs:
        inputs = (_input_data(name, value, result) for name, value in result.request.inputs)
        elements.append(WPS.DataInputs(*inputs))
    if result.request.response.outputs:  # none requested (KVP without ResponseDocument): omitted
        requested = result.request.response.outputs
        elements.append(WPS.OutputDefinitions(*(_output_definition(r) for r in requested)))
    return elements


def _input_data(name: str, value: InputValue, result: ExecuteResult) -> Element:
    children = [OWS.Identifier(xml_text(name))]
    description = result.process.input(name)
    if description is not None:
        children.append(OWS.Title(description.title))
    if isinstance(value, NestedProcess):  # the chaining Reference as the client sent it
        children.append(_input_reference(value.origin or ComplexValue(href=value.request.identifier)))
    elif isinstance(value, ComplexValue) and value.href is not None:
        children.append(_input_reference(value))
    else:
        children.append(WPS.Data(_value_data(value)))
    return WPS.Input(*children)


def _input_reference(value: ComplexValue) -> Element:
    # Headers and POST bodies are not echoed: they may carry credentials, and this document may be
    # stored and served again as the statusLocation.
    attributes = {ns.XLINK_HREF: xml_text(value.href or ""), "method": value.method}
    attributes.update(format_attributes(value.mime_type, value.encoding, value.schema_url))
    return WPS.Reference(attributes)


def _value_data(value: LiteralValue | BoundingBoxValue | ComplexValue) -> Element:
    if isinstance(value, LiteralValue):
        return _literal_data(value.value, value.data_type, value.uom)
    if isinstance(value, BoundingBoxValue):
        return _bbox_data(value.lower, value.upper, value.crs)
    return _complex_data(value.data or b"", value.mime_type, value.encoding, value.schema_url)


def _output_definition(request: OutputRequest) -> Element:
    attributes = {"asReference": _bool(request.as_reference)}
    attributes.update(format_attributes(request.mime_type, request.encoding, request.schema_url))
    if request.uom:
        attributes["uom"] = xml_text(request.uom)
    children = [OWS.Identifier(xml_text(request.identifier))]
    if request.title:
        children.append(OWS.Title(xml_text(request.title)))
    if request.abstract:
        children.append(OWS.Abstract(xml_text(request.abstract)))
    return WPS.Output(*children, attributes)


def _output_data(delivered: DeliveredOutput) -> Element:
    children = _described(delivered.description)
    if delivered.reference is not None:
        attributes = {"href": delivered.reference}
        if isinstance(delivered.result, ComplexResult):
            fmt = delivered.result.format
            attributes.update(format_attributes(fmt.mime_type, fmt.encoding, fmt.schema_url))
        children.append(WPS.Reference(attributes))
    else:
        children.append(WPS.Data(_result_data(delivered.result)))
    return WPS.Output(*children)


def _result_data(result: OutputResult) -> Element:
    if isinstance(result, LiteralResult):
        return _literal_data(result.value, result.data_type, result.uom)
    if isinstance(result, BoundingBoxResult):
        return _bbox_data(result.lower, result.upper, result.crs)
    fmt = result.format
    return _complex_data(complex_bytes(result), fmt.mime_type, fmt.encoding, fmt.schema_url)


def _literal_data(value: str, data_type: str | None, uom: str | None) -> Element:
    attributes = {}
    if data_type:
        attributes["dataType"] = xml_text(data_type)
    if uom:
        attributes["uom"] = xml_text(uom)
    return WPS.LiteralData(xml_text(value), attributes)


def _bbox_data(lower: Sequence[float], upper: Sequence[float], crs: str | None) -> Element:
    attributes = {"dimensions": str(len(lower))}
    if crs:
        attributes["crs"] = xml_text(crs)
    return WPS.BoundingBoxData(
        OWS.LowerCorner(position(lower)),
        OWS.UpperCorner(position(upper)),
        attributes,
    )


def _complex_data(data: bytes, mime_type: str | None, encoding: str | None, schema: str | None) -> Element:
    """``wps:ComplexData``: base64 when declared, else embedded XML, UTF-8 text, or base64."""
    element = WPS.ComplexData(format_attributes(mime_type, encoding, schema))
    return fill_inline(element, data, mime_type, encoding)
