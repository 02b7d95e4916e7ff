"""WPS 2.0.0 requests for the tests: Execute documents, inputs (literal, bounding box, complex, by
reference, chaining a process with an Execute in ``wps:Body``), outputs, GetStatus/GetResult/Dismiss."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

GEOTIFF = "image/tiff; subtype=geotiff"
OWN_WPS = "http://testserver/wps"  # the test app's own endpoint (its public URL is http://testserver)

HEAD = (
    '<wps:Execute xmlns:wps="http://www.opengis.net/wps/2.0" xmlns:ows="http://www.opengis.net/ows/2.0"'
    ' xmlns:xlink="http://www.w3.org/1999/xlink" service="WPS" version="2.0.0"'
)


def execute_xml(body: str, identifier: str = "echo", mode: str = "sync", response: str = "document") -> str:
    """A WPS 2.0 Execute document."""
    return f'{HEAD} mode="{mode}" response="{response}"><ows:Identifier>{identifier}</ows:Identifier>{body}</wps:Execute>'


def literal(name: str, value: str) -> str:
    """A wps:Input with a LiteralValue."""
    return f'<wps:Input id="{name}"><wps:Data><wps:LiteralValue>{value}</wps:LiteralValue></wps:Data></wps:Input>'


def bbox(name: str, lower: tuple[float, float], upper: tuple[float, float], crs: str) -> str:
    """A wps:Input with an ows:BoundingBox."""
    return (
        f'<wps:Input id="{name}"><wps:Data><ows:BoundingBox crs="{crs}">'
        f"<ows:LowerCorner>{lower[0]} {lower[1]}</ows:LowerCorner>"
        f"<ows:UpperCorner>{upper[0]} {upper[1]}</ows:UpperCorner></ows:BoundingBox></wps:Data></wps:Input>"
    )


def complex_text(name: str, text: str, mime: str) -> str:
    """A wps:Input with text (GeoJSON, ...) as inline complex data."""
    return f'<wps:Input id="{name}"><wps:Data mimeType="{mime}">{text}</wps:Data></wps:Input>'


def reference(name: str, href: str, mime: str = GEOTIFF) -> str:
    """A wps:Input by reference (a GET)."""
    return (
        f'<wps:Input id="{name}"><wps:Reference xlink:href={quoteattr(href)} mimeType="{mime}"/></wps:Input>'
    )


def nested(name: str, execute: str, href: str = OWN_WPS, mime: str = GEOTIFF) -> str:
    """A wps:Input chaining a process: a Reference to ``href`` with ``execute`` (a whole Execute
    document of either version, without XML declaration) in its wps:Body."""
    return (
        f'<wps:Input id="{name}"><wps:Reference xlink:href={quoteattr(href)} mimeType="{mime}">'
        f"<wps:Body>{execute}</wps:Body></wps:Reference></wps:Input>"
    )


def output(name: str, transmission: str = "value") -> str:
    """A wps:Output asking for one output, by value or by reference."""
    return f'<wps:Output id="{name}" transmission="{transmission}"/>'


def job_request(operation: str, job_id: str) -> str:
    """A GetStatus, GetResult or Dismiss document (``operation``) for one job."""
    return (
        f'<wps:{operation} xmlns:wps="http://www.opengis.net/wps/2.0" service="WPS" version="2.0.0">'
        f"<wps:JobID>{job_id}</wps:JobID></wps:{operation}>"
    )
