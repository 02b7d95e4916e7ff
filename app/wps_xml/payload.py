"""Pieces shared by the WPS 1.0.0 and 2.0.0 codecs: inline data, value lexical forms, OWS blocks.

Inline payloads: what a request carries inside an element is read (embedded XML serialized, text,
base64 decoded) and what a response embeds is written (XML embedded when it is XML and parses
safely, UTF-8 text, else base64) the same way in both versions; only the enclosing element differs
(``wps:ComplexData`` in 1.0.0, ``wps:Data`` in 2.0.0).

The OWS Common blocks (ServiceIdentification, ServiceProvider, OperationsMetadata, AllowedValues)
have the same structure in OWS 1.1 and OWS 2.0; the builders take the ``ows:`` ElementMaker of the
version being written.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Sequence
from datetime import UTC, datetime

from lxml import etree
from lxml.builder import ElementMaker
from lxml.etree import _Element as Element

from app.model.descriptions import Format, LiteralDomain, ValueRange
from app.model.errors import InvalidParameterValue, MissingParameterValue, WpsError
from app.model.requests import BoundingBoxValue, ComplexValue
from app.model.results import ComplexResult
from app.settings import Settings
from app.wps_xml import namespaces as ns
from app.wps_xml.exceptions import is_xml_text, xml_text
from app.wps_xml.parser import parse_xml

LANGUAGES = ("en-US",)
XML_MEDIA_TYPE = "text/xml; charset=utf-8"  # every WPS document and exception report
SERVICE_ABSTRACT = (
    "Raster geoprocessing (NDVI, clipping, reprojection, change detection, zonal statistics, "
    "terrain, band math) over OGC WPS 1.0.0 and 2.0.0."
)
SERVICE_KEYWORDS = ("WPS", "raster", "geoprocessing", "remote sensing")

# Both schemas require at least one format / CRS; used only if a declaration lists none.
FALLBACK_FORMAT = Format(mime_type="application/octet-stream", encoding="base64")
FALLBACK_CRS = "EPSG:4326"


# ----------------------------------------------------------------------------- lexical forms


def serialize(root: Element) -> bytes:
    """A response document: UTF-8 with an XML declaration."""
    document: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return document


def xs_double(value: float, data_type: str = "double") -> str:
    """An xs:double lexical form (INF, -INF, NaN); integral values as integers for ``integer``."""
    if math.isnan(value) or math.isinf(value):
        return "NaN" if math.isnan(value) else ("INF" if value > 0 else "-INF")
    if data_type == "integer" and float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def xs_datetime(value: datetime) -> str:
    """An xs:dateTime in UTC (``Z``); a naive datetime is taken as UTC."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def position(values: Sequence[float]) -> str:
    """An ``ows:LowerCorner`` / ``ows:UpperCorner`` value."""
    return " ".join(xs_double(v) for v in values)


def format_attributes(mime_type: str | None, encoding: str | None, schema: str | None) -> dict[str, str]:
    """The ``mimeType`` / ``encoding`` / ``schema`` attributes that are set."""
    pairs = (("mimeType", mime_type), ("encoding", encoding), ("schema", schema))
    return {name: xml_text(value) for name, value in pairs if value}


# ----------------------------------------------------------------------------- inline data, read


def inline_payload(element: etree._Element) -> bytes:
    """The content of an inline element: its first child element serialized, else its text."""
    children = [child for child in element if isinstance(child.tag, str)]
    if children:
        serialized: bytes = etree.tostring(children[0], encoding="utf-8")
        return serialized
    return (element.text or "").encode("utf-8")


def decode_payload(payload: bytes, encoding: str | None, locator: str) -> bytes:
    """The payload itself; base64-decoded when its declared encoding is base64."""
    if (encoding or "").lower() != "base64":
        return payload
    try:
        return base64.b64decode(b"".join(payload.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidParameterValue(f"input {locator!r} is not valid base64", locator=locator) from exc


def inline_complex(element: etree._Element, locator: str) -> ComplexValue:
    """Inline complex data (WPS 1.0.0 ``wps:ComplexData``, WPS 2.0 ``wps:Data``) with its format."""
    encoding = element.get("encoding")
    return ComplexValue(
        mime_type=element.get("mimeType"),
        encoding=encoding,
        schema_url=element.get("schema"),
        data=decode_payload(inline_payload(element), encoding, locator),
    )


def parse_position(text: str | None, locator: str) -> tuple[float, ...]:
    """The numbers of a bounding box corner; InvalidParameterValue when empty or not numbers."""
    try:
        values = tuple(float(v) for v in (text or "").split())
    except ValueError as exc:
        raise InvalidParameterValue(f"input {locator!r}: corners must be numbers", locator=locator) from exc
    if not values:
        raise InvalidParameterValue(f"input {locator!r}: a corner is empty", locator=locator)
    return values


WGS84_CRS = "urn:ogc:def:crs:OGC:1.3:CRS84"  # what an ows:WGS84BoundingBox without crs means
_BOX_ELEMENTS = frozenset({"BoundingBox", "WGS84BoundingBox", "BoundingBoxData"})
_LITERAL_ELEMENTS = frozenset({"LiteralValue", "LiteralData"})


def bounding_box(element: etree._Element, locator: str) -> BoundingBoxValue:
    """An ``ows:BoundingBox``, ``ows:WGS84BoundingBox`` (OWS 1.1 or 2.0) or ``wps:BoundingBoxData``."""
    corners = {etree.QName(child).localname: child for child in element if isinstance(child.tag, str)}
    lower, upper = corners.get("LowerCorner"), corners.get("UpperCorner")
    if lower is None or upper is None:
        raise MissingParameterValue(f"input {locator!r}: LowerCorner and UpperCorner needed", locator=locator)
    crs = element.get("crs")
    if crs is None and etree.QName(element).localname == "WGS84BoundingBox":
        crs = WGS84_CRS
    return BoundingBoxValue(
        lower=parse_position(lower.text, locator), upper=parse_position(upper.text, locator), crs=crs
    )


def referenced_bounding_box(document: bytes, locator: str) -> BoundingBoxValue:
    """The bounding box an input by reference points to: a bounding box element, bare or in wps:Data."""
    try:
        root = parse_xml(document)
    except WpsError:
        raise InvalidParameterValue(
            f"input {locator!r}: the referenced document is not a bounding box (not XML or JSON)", locator
        ) from None
    if etree.QName(root).localname == "Data":  # a WPS 2.0 wps:Data wrapper
        root = next((child for child in root if isinstance(child.tag, str)), root)
    if etree.QName(root).localname not in _BOX_ELEMENTS:
        raise InvalidParameterValue(
            f"input {locator!r}: the referenced document is not a bounding box", locator=locator
        )
    return bounding_box(root, locator)


def referenced_literal(document: bytes, locator: str) -> str:
    """The value a literal input by reference points to: its text, or that of a LiteralValue element."""
    try:
        text = document.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidParameterValue(f"input {locator!r}: the referenced value is not text", locator) from None
    if text.lstrip().startswith("<") and (root := _embeddable_xml(document)) is not None:
        if etree.QName(root).localname == "Data":
            root = next((child for child in root if isinstance(child.tag, str)), root)
        if etree.QName(root).localname in _LITERAL_ELEMENTS:
            return (root.text or "").strip()
    return text.strip()


# ----------------------------------------------------------------------------- inline data, write


def complex_bytes(result: ComplexResult) -> bytes:
    """The bytes of a complex result, in memory or read from its file."""
    if result.data is not None:
        return result.data
    return result.path.read_bytes() if result.path is not None else b""


def fill_inline(element: Element, data: bytes, mime_type: str | None, encoding: str | None) -> Element:
    """Put a payload into ``element``: base64 when declared, else embedded XML, UTF-8 text, or base64.

    When the payload has to fall back to base64, ``encoding="base64"`` is set on the element.
    """
    if (encoding or "").lower() != "base64":
        if "xml" in (mime_type or "").lower() and (embedded := _embeddable_xml(data)) is not None:
            element.append(embedded)
            return element
        if (text := _utf8_text(data)) is not None:
            element.text = text
            return element
        element.set("encoding", "base64")
    element.text = base64.b64encode(data).decode("ascii")
    return element


def _embeddable_xml(data: bytes) -> Element | None:
    # The hardened parser refuses DTDs and entities and never reaches the network.
    try:
        return parse_xml(data)
    except WpsError:
        return None


def _utf8_text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if is_xml_text(text) else None


# ----------------------------------------------------------------------------- OWS Common blocks


def possible_values(ows: ElementMaker, domain: LiteralDomain) -> Element:
    """``ows:AnyValue``, or ``ows:AllowedValues`` with the values and ranges of a literal domain."""
    if domain.any_value:
        return ows.AnyValue()
    values = (ows.Value(value) for value in domain.allowed_values)
    ranges = (_range(ows, value_range, domain.data_type) for value_range in domain.ranges)
    return ows.AllowedValues(*values, *ranges)


def _range(ows: ElementMaker, value_range: ValueRange, data_type: str) -> Element:
    element = ows.Range()
    if value_range.minimum is not None:
        element.append(ows.MinimumValue(xs_double(value_range.minimum, data_type)))
    if value_range.maximum is not None:
        element.append(ows.MaximumValue(xs_double(value_range.maximum, data_type)))
    element.set(ns.qname(etree.QName(element).namespace or "", "rangeClosure"), value_range.closure)
    return element


def service_identification(
    ows: ElementMaker, settings: Settings, version: str, language: str | None = None
) -> Element:
    """``ows:ServiceIdentification`` for a WPS version; ``language`` tags its title and abstract."""
    lang = {ns.XML_LANG: language} if language else {}
    return ows.ServiceIdentification(
        ows.Title(settings.service_title, lang),
        ows.Abstract(SERVICE_ABSTRACT, lang),
        ows.Keywords(*(ows.Keyword(keyword) for keyword in SERVICE_KEYWORDS)),
        ows.ServiceType("WPS"),
        ows.ServiceTypeVersion(version),
        ows.Fees("NONE"),
        ows.AccessConstraints("NONE"),
    )


def service_provider(ows: ElementMaker, settings: Settings) -> Element:
    """``ows:ServiceProvider``: the operator's name and site."""
    return ows.ServiceProvider(
        ows.ProviderName(settings.provider_name),
        ows.ProviderSite({ns.XLINK_HREF: settings.public_url}),
        ows.ServiceContact(
            ows.IndividualName(settings.provider_name),
            ows.ContactInfo(ows.OnlineResource({ns.XLINK_HREF: settings.public_url})),
        ),
    )


def operations_metadata(
    ows: ElementMaker, settings: Settings, operations: Sequence[str], post_only: Sequence[str] = ()
) -> Element:
    """``ows:OperationsMetadata``: GET (KVP, URL prefix ending in ``?``) and POST on ``/wps``."""

    def operation(name: str) -> Element:
        post = ows.Post({ns.XLINK_HREF: settings.wps_url})
        get = [] if name in post_only else [ows.Get({ns.XLINK_HREF: f"{settings.wps_url}?"})]
        return ows.Operation(ows.DCP(ows.HTTP(*get, post)), name=name)

    return ows.OperationsMetadata(*(operation(name) for name in operations))
