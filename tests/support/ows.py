"""Assertions on OWS ExceptionReports and WPS documents, shared by the protocol tests."""

from __future__ import annotations

import httpx
from lxml import etree

OWS11 = "http://www.opengis.net/ows/1.1"
WPS100 = "http://www.opengis.net/wps/1.0.0"
NS = {"ows": OWS11, "wps": WPS100, "xlink": "http://www.w3.org/1999/xlink"}


def xml(response: httpx.Response) -> etree._Element:
    """The response body parsed as XML (asserting it is XML)."""
    assert "xml" in response.headers["content-type"], response.headers["content-type"]
    return etree.fromstring(response.content)


def assert_exception(
    response: httpx.Response, code: str, status: int, locator: str | None = None
) -> etree._Element:
    """The response is an ows:ExceptionReport with this code, HTTP status and locator."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    root = xml(response)
    assert etree.QName(root).localname == "ExceptionReport", response.text[:500]
    exception = root.find("ows:Exception", NS)
    assert exception is not None
    assert exception.get("exceptionCode") == code, response.text[:500]
    if locator is not None:
        assert exception.get("locator") == locator, response.text[:500]
    return exception
