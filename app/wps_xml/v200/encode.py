"""WPS 2.0.0 response documents (OGC 14-065), built element by element with lxml ``ElementMaker``.

Quirks of the official schemas this module follows:

- ``dataTypes.xsd`` sets no ``elementFormDefault``, so ``LiteralDataDomain`` (declared locally in
  it) is *unqualified*, as in the official ProcessOfferings example; everything else is qualified.
- Descriptions order their elements Title, Abstract, Keywords, Identifier (OWS 2.0), not
  Identifier first as in WPS 1.0.0.
- Every ``LiteralData``, ``ComplexData`` and ``BoundingBoxData`` needs at least one ``wps:Format``;
  a literal domain carries one ``ows:UOM`` only, so each unit gets its own ``LiteralDataDomain``.
- ``processVersion`` must match ``\\d+\\.\\d?\\d\\.\\d?\\d`` and is left out when it does not.
- ``wps:Contents``, ``wps:ProcessOfferings`` and ``wps:Result`` need at least one child.

Exception reports are :func:`app.wps_xml.exceptions.exception_report` with version ``2.0.0``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lxml.builder import ElementMaker
from lxml.etree import _Element as Element

from app.model.descriptions import (
    OGC_GEOTIFF_MEDIA_TYPE,
    DataKind,
    Format,
    LiteralDomain,
    ParameterDescription,
    ProcessDescription,
    preferring,
)
from app.model.errors import NoApplicableCode
from app.model.jobs import JobInfo, JobStatus
from app.model.results import (
    BoundingBoxResult,
    ComplexResult,
    DeliveredOutput,
    ExecuteResult,
    LiteralResult,
    OutputResult,
)
from app.settings import Settings
from app.wps_xml import namespaces as ns
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

WPS = ElementMaker(namespace=ns.WPS200, nsmap=ns.NSMAP_WPS200)
OWS = ElementMaker(namespace=ns.OWS200, nsmap=ns.NSMAP_WPS200)
LOCAL = ElementMaker(nsmap=ns.NSMAP_WPS200)  # LiteralDataDomain is unqualified

VERSION = "2.0.0"
OPERATIONS = ("GetCapabilities", "DescribeProcess", "Execute", "GetStatus", "GetResult", "Dismiss")
POST_ONLY = ("Execute",)  # WPS 2.0 defines no KVP encoding of Execute
JOB_CONTROL_OPTIONS = "sync-execute async-execute dismiss"
OUTPUT_TRANSMISSION = "value reference"
PROCESS_MODEL = "native"

# Literal values travel as plain text or as a wps:LiteralValue element; a bounding box as an
# ows:BoundingBox element.
LITERAL_FORMATS = (Format(mime_type="text/plain"), Format(mime_type="text/xml"))
BBOX_FORMATS = (Format(mime_type="text/xml"),)

STATUS_NAMES = {
    JobStatus.ACCEPTED: "Accepted",
    JobStatus.RUNNING: "Running",
    JobStatus.SUCCEEDED: "Succeeded",
    JobStatus.FAILED: "Failed",
    JobStatus.DISMISSED: "Dismissed",
}

_DATA_TYPE_REFERENCE = "http://www.w3.org/2001/XMLSchema#"
_OWS_REFERENCE = ns.qname(ns.OWS200, "reference")
_VERSION_TYPE = re.compile(r"\d+\.\d?\d\.\d?\d")


def _root_attributes() -> dict[str, str]:
    return {ns.XSI_SCHEMA_LOCATION: ns.WPS200_SCHEMA_LOCATION}


def _data_type_uri(data_type: str) -> str:
    """The xs: data type as a URI (``integer`` -> ``http://www.w3.org/2001/XMLSchema#integer``)."""
    return data_type if ":" in data_type else _DATA_TYPE_REFERENCE + data_type


def _described(item: ProcessDescription | ParameterDescription) -> list[Element]:
    """Title, Abstract, Keywords (processes), Identifier: the OWS 2.0 order."""
    children = [OWS.Title(item.title)]
    if item.abstract:
        children.append(OWS.Abstract(item.abstract))
    if isinstance(item, ProcessDescription) and item.keywords:
        children.append(OWS.Keywords(*(OWS.Keyword(keyword) for keyword in item.keywords)))
    children.append(OWS.Identifier(item.identifier))
    return children


def _process_properties(process: ProcessDescription) -> dict[str, str]:
    """The ``processPropertiesAttributes`` of a ProcessSummary or ProcessOffering."""
    attributes = {"jobControlOptions": JOB_CONTROL_OPTIONS, "outputTransmission": OUTPUT_TRANSMISSION}
    if _VERSION_TYPE.fullmatch(process.version):
        attributes["processVersion"] = process.version
    return attributes


# ----------------------------------------------------------------------------- GetCapabilities


def capabilities(
    settings: Settings,
    processes: Sequence[ProcessDescription],
    language: str = "en-US",
    update_sequence: str | None = None,
) -> bytes:
    """The ``wps:Capabilities`` document: service metadata, operations and process summaries."""
    if not processes:
        raise ValueError("wps:Contents needs at least one process")
    root = WPS.Capabilities(
        service_identification(OWS, settings, VERSION, language),
        service_provider(OWS, settings),
        operations_metadata(OWS, settings, OPERATIONS, post_only=POST_ONLY),
        OWS.Languages(*(OWS.Language(lang) for lang in LANGUAGES)),
        WPS.Contents(*(_process_summary(p) for p in processes)),
        {"service": "WPS", "version": VERSION, **_root_attributes()}
        | ({"updateSequence": update_sequence} if update_sequence is not None else {}),
    )
    return serialize(root)


def _process_summary(process: ProcessDescription) -> Element:
    return WPS.ProcessSummary(*_described(process), _process_properties(process))


# ----------------------------------------------------------------------------- DescribeProcess


def process_offerings(
    processes: Sequence[ProcessDescription],
    language: str = "en-US",
    *,
    maximum_megabytes: int | None = None,
) -> bytes:
    """The ``wps:ProcessOfferings`` document, one full description per process, in order.

    ``maximum_megabytes``, when given, is advertised on every complex input format.
    """
    if not processes:
        raise ValueError("wps:ProcessOfferings needs at least one process")
    offerings = (_process_offering(p, language, maximum_megabytes) for p in processes)
    return serialize(WPS.ProcessOfferings(*offerings, _root_attributes()))


def _process_offering(process: ProcessDescription, language: str, maximum_megabytes: int | None) -> Element:
    inputs = (_input_description(i, maximum_megabytes) for i in process.inputs)
    outputs = (_output_description(o) for o in process.outputs)
    body = WPS.Process(*_described(process), *inputs, *outputs, {ns.XML_LANG: language})
    attributes = {**_process_properties(process), "processModel": PROCESS_MODEL}
    return WPS.ProcessOffering(body, attributes)


def _input_description(param: ParameterDescription, maximum_megabytes: int | None) -> Element:
    max_occurs = "unbounded" if param.max_occurs is None else str(max(param.max_occurs, 1))
    occurs = {"minOccurs": str(param.min_occurs), "maxOccurs": max_occurs}
    return WPS.Input(*_described(param), _data_description(param, maximum_megabytes), occurs)


def _output_description(param: ParameterDescription) -> Element:
    return WPS.Output(*_described(param), _data_description(param, None))


def _data_description(param: ParameterDescription, maximum_megabytes: int | None) -> Element:
    """``wps:LiteralData``, ``wps:ComplexData`` or ``wps:BoundingBoxData``, formats first."""
    if param.kind is DataKind.LITERAL:
        domains = _literal_domains(param.literal or LiteralDomain())
        return WPS.LiteralData(*_formats(LITERAL_FORMATS), *domains)
    if param.kind is DataKind.COMPLEX:
        formats = preferring(param.formats, OGC_GEOTIFF_MEDIA_TYPE) or (FALLBACK_FORMAT,)
        return WPS.ComplexData(*_formats(formats, maximum_megabytes))
    crss = param.crss or (FALLBACK_CRS,)
    supported = (WPS.SupportedCRS(crs, {"default": "true"} if i == 0 else {}) for i, crs in enumerate(crss))
    return WPS.BoundingBoxData(*_formats(BBOX_FORMATS), *supported)


def _formats(formats: Sequence[Format], maximum_megabytes: int | None = None) -> list[Element]:
    """``wps:Format`` elements, the first marked as the default."""
    elements = []
    for index, fmt in enumerate(formats):
        attributes = format_attributes(fmt.mime_type, fmt.encoding, fmt.schema_url)
        if maximum_megabytes:
            attributes["maximumMegabytes"] = str(maximum_megabytes)
        if index == 0:
            attributes["default"] = "true"
        elements.append(WPS.Format(attributes))
    return elements


def _literal_domains(domain: LiteralDomain) -> list[Element]:
    """One ``LiteralDataDomain`` per unit of measure (one without a unit when there are none)."""
    return [
        _literal_domain(domain, uom, default=index == 0) for index, uom in enumerate(domain.uoms or (None,))
    ]


def _literal_domain(domain: LiteralDomain, uom: str | None, default: bool) -> Element:
    children = [
        possible_values(OWS, domain),
        OWS.DataType(domain.data_type, {_OWS_REFERENCE: _data_type_uri(domain.data_type)}),
    ]
    if uom is not None:
        children.append(OWS.UOM(uom))
    if domain.default is not None:
        children.append(OWS.DefaultValue(domain.default))
    return LOCAL.LiteralDataDomain(*children, {"default": "true"} if default else {})


# ----------------------------------------------------------------------------- GetStatus, Dismiss


def status_info(job: JobInfo) -> bytes:
    """The ``wps:StatusInfo`` document of a job (GetStatus, Dismiss, async Execute)."""
    children = [WPS.JobID(job.job_id), WPS.Status(STATUS_NAMES[job.status])]
    moments = (
        ("ExpirationDate", job.expires),
        ("EstimatedCompletion", job.estimated_completion),
        ("NextPoll", job.next_poll),
    )
    children.extend(WPS(name, xs_datetime(moment)) for name, moment in moments if moment is not None)
    if job.percent is not None:
        children.append(WPS.PercentCompleted(str(min(max(int(job.percent), 0), 100))))
    return serialize(WPS.StatusInfo(*children, _root_attributes()))


# ----------------------------------------------------------------------------- Execute, GetResult


def result(result: ExecuteResult, job: JobInfo | None = None) -> bytes:
    """The ``wps:Result`` document: the job id, its expiration and every delivered output.

    Raises NoApplicableCode when nothing was delivered: the schema requires at least one output.
    """
    if not result.outputs:
        raise NoApplicableCode("the process produced none of the requested outputs")
    children = [WPS.JobID(result.job_id)]
    if job is not None and job.expires is not None:
        children.append(WPS.ExpirationDate(xs_datetime(job.expires)))
    children.extend(_output(delivered) for delivered in result.outputs)
    return serialize(WPS.Result(*children, _root_attributes()))


def _output(delivered: DeliveredOutput) -> Element:
    attributes = {"id": xml_text(delivered.description.identifier)}
    if delivered.reference is None:
        return WPS.Output(_data(delivered.result), attributes)
    reference = {ns.XLINK_HREF: xml_text(delivered.reference)}
    if isinstance(delivered.result, ComplexResult):
        fmt = delivered.result.format
        reference.update(format_attributes(fmt.mime_type, fmt.encoding, fmt.schema_url))
    return WPS.Output(WPS.Reference(reference), attributes)


def _data(result: OutputResult) -> Element:
    """``wps:Data``: a wps:LiteralValue, an ows:BoundingBox, or the inline complex payload."""
    if isinstance(result, LiteralResult):
        attributes = {"dataType": xml_text(_data_type_uri(result.data_type))}
        if result.uom:
            attributes["uom"] = xml_text(result.uom)
        return WPS.Data(WPS.LiteralValue(xml_text(result.value), attributes))
    if isinstance(result, BoundingBoxResult):
        return WPS.Data(_bounding_box(result))
    fmt = result.format
    element = WPS.Data(format_attributes(fmt.mime_type, fmt.encoding, fmt.schema_url))
    return fill_inline(element, complex_bytes(result), fmt.mime_type, fmt.encoding)


def _bounding_box(result: BoundingBoxResult) -> Element:
    attributes = {"dimensions": str(len(result.lower))}
    if result.crs:
        attributes["crs"] = xml_text(result.crs)
    return OWS.BoundingBox(
        OWS.LowerCorner(position(result.lower)), OWS.UpperCorner(position(result.upper)), attributes
    )
