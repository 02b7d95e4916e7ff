"""WPS 1.0.0 requests for the tests: Execute documents and their parts, DescribeProcess.

The builders return XML text (``execute_xml(inputs, response_form, identifier)`` around the
``*_input`` fragments and a response form), ready to POST to ``/wps``. Chaining: ``nested_input``
holds a whole Execute in a ``wps:Body``; ``kvp_execute_url`` builds a KVP Execute URL (from
``kvp_value`` / ``kvp_reference`` items) for ``kvp_nested_input``.
"""

from __future__ import annotations

import base64
from urllib.parse import quote, urlencode
from xml.sax.saxutils import quoteattr

from fastapi.testclient import TestClient
from lxml import etree

from tests.support.ows import xml
from tests.support.rasters import Raster

GEOTIFF = "image/tiff; subtype=geotiff"
OWN_WPS = "http://testserver/wps"  # the test app's own endpoint (its public URL is http://testserver)
HEAD = (
    '<wps:Execute xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1"'
    ' xmlns:xlink="http://www.w3.org/1999/xlink" service="WPS" version="1.0.0">'
)
ASYNC_FORM = (
    '<wps:ResponseForm><wps:ResponseDocument storeExecuteResponse="true" status="true">'
    '<wps:Output asReference="true"><ows:Identifier>result</ows:Identifier></wps:Output>'
    "</wps:ResponseDocument></wps:ResponseForm>"
)


def execute_xml(inputs: str, response_form: str = "", identifier: str = "echo") -> str:
    """An Execute request document."""
    return (
        f"{HEAD}<ows:Identifier>{identifier}</ows:Identifier>"
        f"<wps:DataInputs>{inputs}</wps:DataInputs>{response_form}</wps:Execute>"
    )


def literal_input(name: str, value: str) -> str:
    """A wps:Input with LiteralData."""
    return (
        f"<wps:Input><ows:Identifier>{name}</ows:Identifier>"
        f"<wps:Data><wps:LiteralData>{value}</wps:LiteralData></wps:Data></wps:Input>"
    )


def reference_input(name: str, href: str, mime: str = GEOTIFF) -> str:
    """A wps:Input by reference (``xlink:href``), a GeoTIFF unless ``mime`` says otherwise."""
    return (
        f'<wps:Input><ows:Identifier>{name}</ows:Identifier><wps:Reference xlink:href="{href}"'
        f' mimeType="{mime}"/></wps:Input>'
    )


def inline_input(name: str, raster: Raster) -> str:
    """A wps:Input carrying the raster's file inline, base64-encoded."""
    encoded = base64.b64encode(raster.path.read_bytes()).decode()
    return (
        f"<wps:Input><ows:Identifier>{name}</ows:Identifier><wps:Data>"
        f'<wps:ComplexData mimeType="image/tiff" encoding="base64">{encoded}</wps:ComplexData>'
        "</wps:Data></wps:Input>"
    )


def bbox_input(lower: tuple[float, float], upper: tuple[float, float], crs: str) -> str:
    """The ``bbox`` wps:Input: BoundingBoxData with these corners, in this CRS's axis order."""
    return (
        "<wps:Input><ows:Identifier>bbox</ows:Identifier><wps:Data>"
        f'<wps:BoundingBoxData crs="{crs}" dimensions="2">'
        f"<ows:LowerCorner>{lower[0]} {lower[1]}</ows:LowerCorner>"
        f"<ows:UpperCorner>{upper[0]} {upper[1]}</ows:UpperCorner>"
        "</wps:BoundingBoxData></wps:Data></wps:Input>"
    )


def geojson_input(name: str, text: str, mime: str = "application/geo+json") -> str:
    """A wps:Input with GeoJSON text as inline ComplexData."""
    return (
        f"<wps:Input><ows:Identifier>{name}</ows:Identifier><wps:Data>"
        f'<wps:ComplexData mimeType="{mime}">{text}</wps:ComplexData></wps:Data></wps:Input>'
    )


def zip_input(name: str, data: bytes, mime: str = "application/x-zipped-shp") -> str:
    """A wps:Input with a zip archive (a zipped shapefile by default) inline, base64-encoded."""
    encoded = base64.b64encode(data).decode()
    return (
        f"<wps:Input><ows:Identifier>{name}</ows:Identifier><wps:Data>"
        f'<wps:ComplexData mimeType="{mime}" encoding="base64">{encoded}</wps:ComplexData></wps:Data></wps:Input>'
    )


def nested_input(name: str, execute: str, href: str = OWN_WPS, mime: str = GEOTIFF) -> str:
    """A wps:Input chaining a process: a POST Reference to ``href`` with ``execute`` (a whole Execute
    document of either version, without XML declaration) in its wps:Body."""
    return (
        f"<wps:Input><ows:Identifier>{name}</ows:Identifier><wps:Reference xlink:href={quoteattr(href)}"
        f' method="POST" mimeType="{mime}"><wps:Body>{execute}</wps:Body></wps:Reference></wps:Input>'
    )


def kvp_nested_input(name: str, url: str, mime: str = GEOTIFF) -> str:
    """A wps:Input by reference to a KVP URL (a GET Reference; ``&`` escaped in the attribute)."""
    return (
        f"<wps:Input><ows:Identifier>{name}</ows:Identifier><wps:Reference xlink:href={quoteattr(url)}"
        f' mimeType="{mime}"/></wps:Input>'
    )


def kvp_value(name: str, value: str, mime: str | None = None) -> str:
    """A DataInputs item ``name=value`` (the value escaped for the item syntax), with its mimeType."""
    item = f"{name}={quote(value, safe='')}"
    return f"{item}@mimeType={quote(mime, safe='')}" if mime else item


def kvp_reference(name: str, href: str, mime: str = GEOTIFF) -> str:
    """A DataInputs item by reference: ``name=@xlink:href=...@mimeType=...``."""
    return f"{name}=@xlink:href={quote(href, safe='')}@mimeType={quote(mime, safe='')}"


def kvp_execute_url(identifier: str, items: list[str], output: str | None = None, base: str = OWN_WPS) -> str:
    """A WPS 1.0.0 KVP Execute URL of ``identifier`` with these DataInputs items; ``output`` as
    RawDataOutput when given."""
    params = [
        ("service", "WPS"),
        ("version", "1.0.0"),
        ("request", "Execute"),
        ("identifier", identifier),
        ("DataInputs", ";".join(items)),
    ]
    if output is not None:
        params.append(("RawDataOutput", output))
    return f"{base}?{urlencode(params)}"


def as_reference(output: str) -> str:
    """A ResponseForm asking for ``output`` by reference in the response document."""
    return (
        '<wps:ResponseForm><wps:ResponseDocument><wps:Output asReference="true">'
        f"<ows:Identifier>{output}</ows:Identifier></wps:Output></wps:ResponseDocument></wps:ResponseForm>"
    )


def raw(output: str) -> str:
    """A ResponseForm asking for ``output`` as the raw response body (RawDataOutput)."""
    return (
        f"<wps:ResponseForm><wps:RawDataOutput><ows:Identifier>{output}</ows:Identifier>"
        "</wps:RawDataOutput></wps:ResponseForm>"
    )


def slow_execute_v100(seconds: float, busy: bool = False) -> str:
    """An asynchronous Execute (stored, with status) of the test-only ``slow`` process."""
    return (
        '<wps:Execute xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1"'
        ' service="WPS" version="1.0.0"><ows:Identifier>slow</ows:Identifier><wps:DataInputs>'
        f"<wps:Input><ows:Identifier>seconds</ows:Identifier><wps:Data><wps:LiteralData>{seconds}"
        "</wps:LiteralData></wps:Data></wps:Input>"
        f"<wps:Input><ows:Identifier>busy</ows:Identifier><wps:Data><wps:LiteralData>{str(busy).lower()}"
        f"</wps:LiteralData></wps:Data></wps:Input></wps:DataInputs>{ASYNC_FORM}</wps:Execute>"
    )


def describe(client: TestClient, identifier: str) -> etree._Element:
    """DescribeProcess (KVP) of one process; the parsed ProcessDescriptions document."""
    params = {"service": "WPS", "version": "1.0.0", "request": "DescribeProcess", "identifier": identifier}
    return xml(client.get("/wps", params=params))
