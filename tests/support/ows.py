"""XML answers of /wps: parsed, ExceptionReports asserted (OWS 1.1 and 2.0), ExecuteResponse outputs found."""

from __future__ import annotations

import httpx
from lxml import etree

OWS11 = "http://www.opengis.net/ows/1.1"
OWS20 = "http://www.opengis.net/ows/2.0"
WPS100 = "http://www.opengis.net/wps/1.0.0"
WPS200 = "http://www.opengis.net/wps/2.0"
NS = {"ows": OWS11, "wps": WPS100, "xlink": "http://www.w3.org/1999/xlink"}
NS2 = {"ows": OWS20, "wps": WPS200, "xlink": "http://www.w3.org/1999/xlink"}


def xml(response: httpx.Response) -> etree._Element:
    """The response body parsed as XML (asserting it is XML)."""
    assert "xml" in response.headers["content-type"], response.headers["content-type"]
    return etree.fromstring(response.content)


def assert_exception(
    response: httpx.Response,
    code: str,
    status: int,
    locator: str | None = None,
    version: str = "1.0.0",
) -> etree._Element:
    """The response is an ows:ExceptionReport (OWS 1.1, or 2.0 for WPS 2.0) with this code, status, locator."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    root = xml(response)
    ows = OWS20 if version.startswith("2") else OWS11
    assert root.tag == f"{{{ows}}}ExceptionReport", response.text[:500]
    exception = root.find(f"{{{ows}}}Exception")
    assert exception is not None
    assert exception.get("exceptionCode") == code, response.text[:500]
    if locator is not None:
        assert exception.get("locator") == locator, response.text[:500]
    return exception


def output_by_id(root: etree._Element, identifier: str) -> etree._Element:
    """The wps:Output of a WPS 1.0.0 ExecuteResponse with this identifier."""
    matches = root.xpath(f"wps:ProcessOutputs/wps:Output[ows:Identifier='{identifier}']", namespaces=NS)
    assert len(matches) == 1, etree.tostring(root)[:1000]
    return matches[0]
