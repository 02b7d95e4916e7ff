"""Namespace URIs, prefixes and official schema locations of the WPS documents this service writes.

Schema locations point at ``schemas.opengis.net`` (what clients and validators expect); the bundled
copies under ``schemas/`` are found through the catalog by :mod:`app.wps_xml.schemas`.
"""

from __future__ import annotations

WPS100 = "http://www.opengis.net/wps/1.0.0"
WPS200 = "http://www.opengis.net/wps/2.0"
OWS110 = "http://www.opengis.net/ows/1.1"
OWS200 = "http://www.opengis.net/ows/2.0"
XLINK = "http://www.w3.org/1999/xlink"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML = "http://www.w3.org/XML/1998/namespace"
XS = "http://www.w3.org/2001/XMLSchema"

OGC_SCHEMAS = "http://schemas.opengis.net/"

# Entry points of the official schemas (remote locations, resolved offline to the bundled copies).
WPS100_ALL_XSD = f"{OGC_SCHEMAS}wps/1.0.0/wpsAll.xsd"
WPS100_CAPABILITIES_XSD = f"{OGC_SCHEMAS}wps/1.0.0/wpsGetCapabilities_response.xsd"
WPS100_DESCRIBE_PROCESS_XSD = f"{OGC_SCHEMAS}wps/1.0.0/wpsDescribeProcess_response.xsd"
WPS100_EXECUTE_XSD = f"{OGC_SCHEMAS}wps/1.0.0/wpsExecute_response.xsd"
WPS200_XSD = f"{OGC_SCHEMAS}wps/2.0/wps.xsd"
OWS110_ALL_XSD = f"{OGC_SCHEMAS}ows/1.1.0/owsAll.xsd"
OWS110_EXCEPTION_XSD = f"{OGC_SCHEMAS}ows/1.1.0/owsExceptionReport.xsd"
OWS200_ALL_XSD = f"{OGC_SCHEMAS}ows/2.0/owsAll.xsd"
OWS200_EXCEPTION_XSD = f"{OGC_SCHEMAS}ows/2.0/owsExceptionReport.xsd"

# xsi:schemaLocation values, one per document type.
WPS100_SCHEMA_LOCATION = f"{WPS100} {WPS100_ALL_XSD}"
WPS100_CAPABILITIES_LOCATION = f"{WPS100} {WPS100_CAPABILITIES_XSD}"
WPS100_DESCRIBE_PROCESS_LOCATION = f"{WPS100} {WPS100_DESCRIBE_PROCESS_XSD}"
WPS100_EXECUTE_LOCATION = f"{WPS100} {WPS100_EXECUTE_XSD}"
WPS200_SCHEMA_LOCATION = f"{WPS200} {WPS200_XSD}"
OWS110_EXCEPTION_LOCATION = f"{OWS110} {OWS110_EXCEPTION_XSD}"
OWS200_EXCEPTION_LOCATION = f"{OWS200} {OWS200_EXCEPTION_XSD}"

# Prefix maps declared on the root of each document.
NSMAP_WPS100: dict[str | None, str] = {"wps": WPS100, "ows": OWS110, "xlink": XLINK, "xsi": XSI}
NSMAP_WPS200: dict[str | None, str] = {"wps": WPS200, "ows": OWS200, "xlink": XLINK, "xsi": XSI}
NSMAP_OWS110: dict[str | None, str] = {"ows": OWS110, "xsi": XSI}
NSMAP_OWS200: dict[str | None, str] = {"ows": OWS200, "xsi": XSI}


def qname(namespace: str, local: str) -> str:
    """The Clark notation ``{namespace}local`` that lxml uses for tags and attributes."""
    return f"{{{namespace}}}{local}"


XML_LANG = qname(XML, "lang")
XLINK_HREF = qname(XLINK, "href")
XLINK_TITLE = qname(XLINK, "title")
XSI_SCHEMA_LOCATION = qname(XSI, "schemaLocation")
