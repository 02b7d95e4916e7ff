"""``ows:ExceptionReport`` documents: OWS 1.1.0 for WPS 1.0.0, OWS 2.0 for WPS 2.0.0.

The only place an exception report is encoded; the 1.0.0 ``ProcessFailed`` status embeds the
element built here.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml.builder import ElementMaker

from app.model.errors import WpsError
from app.wps_xml import namespaces as ns

# Characters XML 1.0 cannot carry at all, not even escaped.
_NOT_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot represent replaced by U+FFFD."""
    return _NOT_XML_CHARS.sub("\ufffd", text)


def is_xml_text(text: str) -> bool:
    """Whether every character of ``text`` can appear in an XML 1.0 document."""
    return _NOT_XML_CHARS.search(text) is None


def exception_report_element(
    error: WpsError, version: str = "1.0.0", language: str = "en-US", *, schema_location: bool = True
) -> etree._Element:
    """The ``ows:ExceptionReport`` element for a WPS version (``2...`` selects OWS 2.0)."""
    wps2 = version.startswith("2")
    namespace, nsmap = (ns.OWS200, ns.NSMAP_OWS200) if wps2 else (ns.OWS110, ns.NSMAP_OWS110)
    ows = ElementMaker(namespace=namespace, nsmap=nsmap)
    attributes = {"exceptionCode": error.code_for("2.0.0" if wps2 else "1.0.0")}
    locator = error.locator_for(version)
    if locator:
        attributes["locator"] = xml_text(locator)
    report = ows.ExceptionReport(
        ows.Exception(ows.ExceptionText(xml_text(error.message)), attributes),
        {"version": "2.0.0" if wps2 else "1.0.0", ns.XML_LANG: language},
    )
    if schema_location:
        location = ns.OWS200_EXCEPTION_LOCATION if wps2 else ns.OWS110_EXCEPTION_LOCATION
        report.set(ns.XSI_SCHEMA_LOCATION, location)
    return report


def exception_report(error: WpsError, version: str = "1.0.0", language: str = "en-US") -> bytes:
    """An ``ows:ExceptionReport`` document (UTF-8, with XML declaration) for one error."""
    element = exception_report_element(error, version, language)
    document: bytes = etree.tostring(element, xml_declaration=True, encoding="UTF-8")
    return document
