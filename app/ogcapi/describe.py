"""Process descriptions as JSON, derived from the neutral descriptions the WPS encoders render too.

Each input and output gets a JSON Schema of one value (OpenAPI 3.0 flavour, as schema.yaml allows):
literals a typed schema with ``enum``, ``minimum``/``maximum`` (+ boolean ``exclusive*``) and
``default``; complex data one schema per format (``contentMediaType``, ``contentEncoding``); bounding
boxes the OGC bbox object with the advertised CRSs. Occurrences go to ``minOccurs``/``maxOccurs``.

GeoTIFFs are shown as ``image/tiff; application=geotiff`` first (OGC 19-008, the type OGC API
clients, STAC and pygeoapi use), ahead of the WPS spelling ``image/tiff; subtype=geotiff`` that
processes declare first for WPS 1.0.0 clients; every declared spelling stays listed and accepted.
"""

from __future__ import annotations

from typing import Any

from app.model.descriptions import (
    OGC_GEOTIFF_MEDIA_TYPE,
    DataKind,
    Format,
    LiteralDomain,
    ParameterDescription,
    ProcessDescription,
    ValueRange,
    preferring,
)
from app.ogcapi.links import REL, link
from app.ogcapi.models import (
    InputDescription,
    JobControlOption,
    Link,
    OutputDescription,
    Process,
    ProcessSummary,
    TransmissionMode,
)
from app.settings import Settings

JOB_CONTROL: list[JobControlOption] = ["sync-execute", "async-execute", "dismiss"]
TRANSMISSION: list[TransmissionMode] = ["value", "reference"]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOTIFF_MEDIA_TYPE = OGC_GEOTIFF_MEDIA_TYPE
"""The GeoTIFF media type this face shows first, as its default (OGC 19-008)."""
_JSON_TYPES = {"string": "string", "integer": "integer", "double": "number", "boolean": "boolean"}


def summary(description: ProcessDescription, settings: Settings) -> ProcessSummary:
    """The process as the process list shows it."""
    return ProcessSummary(
        id=description.identifier,
        title=description.title,
        description=description.abstract or None,
        keywords=list(description.keywords) or None,
        version=description.version,
        jobControlOptions=JOB_CONTROL,
        outputTransmission=TRANSMISSION,
        links=[link(settings, f"/processes/{description.identifier}", "self", title="process description")],
    )


def process(description: ProcessDescription, settings: Settings) -> Process:
    """The full process description."""
    identifier = description.identifier
    links = [
        link(settings, f"/processes/{identifier}", "self", title="this document"),
        link(settings, f"/processes/{identifier}/execution", REL + "execute", title="execute endpoint"),
        Link(
            href=f"{settings.wps_url}?service=WPS&version=2.0.0&request=DescribeProcess&identifier={identifier}",
            rel="alternate",
            type="text/xml",
            title="WPS 2.0 process offering",
        ),
    ]
    base = summary(description, settings).model_copy(update={"links": links})
    return Process(
        **dict(base),
        inputs={p.identifier: _input(p) for p in description.inputs},
        outputs={p.identifier: _output(p) for p in description.outputs},
    )


def _input(parameter: ParameterDescription) -> InputDescription:
    maximum = "unbounded" if parameter.max_occurs is None else parameter.max_occurs
    return InputDescription(
        title=parameter.title,
        description=parameter.abstract or None,
        minOccurs=parameter.min_occurs,
        maxOccurs=maximum,
        value_schema=value_schema(parameter),
    )


def _output(parameter: ParameterDescription) -> OutputDescription:
    return OutputDescription(
        title=parameter.title,
        description=parameter.abstract or None,
        value_schema=value_schema(parameter),
    )


def value_schema(parameter: ParameterDescription) -> dict[str, Any]:
    """The JSON Schema of one value of an input or output."""
    if parameter.kind is DataKind.COMPLEX:
        return complex_schema(face_formats(parameter.formats))
    if parameter.kind is DataKind.BBOX:
        return bbox_schema(parameter.crss)
    return literal_schema(parameter.literal or LiteralDomain())


def literal_schema(domain: LiteralDomain) -> dict[str, Any]:
    """Type, allowed values, range and default of a literal."""
    schema: dict[str, Any] = {"type": _JSON_TYPES[domain.data_type]}
    if domain.allowed_values:
        schema["enum"] = [typed_literal(v, domain.data_type) for v in domain.allowed_values]
    if len(domain.ranges) == 1:
        schema |= _range(domain.ranges[0])
    elif domain.ranges:
        schema["anyOf"] = [_range(r) for r in domain.ranges]
    if domain.default is not None:
        schema["default"] = typed_literal(domain.default, domain.data_type)
    return schema


def _range(value_range: ValueRange) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    if value_range.minimum is not None:
        schema["minimum"] = value_range.minimum
        if value_range.closure in {"open", "open-closed"}:
            schema["exclusiveMinimum"] = True
    if value_range.maximum is not None:
        schema["maximum"] = value_range.maximum
        if value_range.closure in {"open", "closed-open"}:
            schema["exclusiveMaximum"] = True
    return schema


def typed_literal(text: str, data_type: str) -> Any:
    """A literal's text as the JSON value of its data type (the text itself if it does not parse)."""
    try:
        if data_type == "integer":
            return int(text)
        if data_type == "double":
            return float(text)
    except ValueError:
        return text
    if data_type == "boolean" and text.strip().lower() in {"true", "false", "1", "0"}:
        return text.strip().lower() in {"true", "1"}
    return text


def face_formats(formats: tuple[Format, ...]) -> tuple[Format, ...]:
    """The declared formats in this face's order: ``image/tiff; application=geotiff`` ahead of the
    other TIFF spellings of the same encoding, the rest as declared."""
    return preferring(formats, GEOTIFF_MEDIA_TYPE)


def complex_schema(formats: tuple[Format, ...]) -> dict[str, Any]:
    """One schema per format, ``oneOf`` when there are several."""
    schemas = [format_schema(fmt) for fmt in formats]
    return schemas[0] if len(schemas) == 1 else {"oneOf": schemas}


def format_schema(fmt: Format) -> dict[str, Any]:
    """A JSON value of this format: an object for JSON types, else a (base64 or text) string."""
    schema: dict[str, Any]
    if is_json(fmt.mime_type):
        schema = {"type": "object", "contentMediaType": fmt.mime_type}
    elif fmt.encoding == "base64" or not is_text(fmt.mime_type):
        encoding = "base64" if fmt.encoding == "base64" else "binary"
        schema = {"type": "string", "contentEncoding": encoding, "contentMediaType": fmt.mime_type}
    else:
        schema = {"type": "string", "contentMediaType": fmt.mime_type}
    if fmt.schema_url:
        schema["contentSchema"] = fmt.schema_url
    return schema


def bbox_schema(crss: tuple[str, ...]) -> dict[str, Any]:
    """The OGC bounding box object: 4 or 6 numbers and a CRS URI (CRS84 by default)."""
    crs_uris = list(dict.fromkeys([CRS84, *(crs_uri(c) for c in crss)]))
    return {
        "type": "object",
        "format": "ogc-bbox",
        "required": ["bbox"],
        "properties": {
            "bbox": {
                "type": "array",
                "oneOf": [{"minItems": 4, "maxItems": 4}, {"minItems": 6, "maxItems": 6}],
                "items": {"type": "number"},
            },
            "crs": {"type": "string", "format": "uri", "default": CRS84, "enum": crs_uris},
        },
    }


def crs_uri(crs: str) -> str:
    """A CRS identifier as an OGC URI (``EPSG:4326`` in x/y order is CRS84, as this service reads it)."""
    text = crs.strip()
    lowered = text.lower()
    if lowered in {"epsg:4326", "urn:ogc:def:crs:ogc:1.3:crs84", "crs84"}:
        return CRS84
    for prefix in ("urn:ogc:def:crs:epsg::", "urn:ogc:def:crs:epsg:", "epsg:"):
        if lowered.startswith(prefix):
            code = text[len(prefix) :].rsplit(":", 1)[-1]
            return f"http://www.opengis.net/def/crs/EPSG/0/{code}"
    return text


def is_json(mime_type: str) -> bool:
    """Whether a media type is JSON (``application/json``, ``*/*+json``)."""
    base = mime_type.split(";")[0].strip().lower()
    return base == "application/json" or base.endswith("+json")


def is_text(mime_type: str) -> bool:
    """Whether a media type is text that a JSON string can carry as is."""
    base = mime_type.split(";")[0].strip().lower()
    return base.startswith("text/") or base.endswith(("/xml", "+xml")) or is_json(base)
