"""OpenAPI documentation of ``/wps``: its KVP parameters, XML request examples and XML responses.

Documentation only: the routes still read the query string and the body themselves (WPS parameter
names are case-insensitive and errors must be OWS ExceptionReports), so nothing here validates.
Every example works when pasted into the docs page's "Try it out".
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

XML = "text/xml"
_REPORT = "an `ows:ExceptionReport` (OWS 1.1.0 for WPS 1.0.0, OWS 2.0 for WPS 2.0.0)"
_XML_SCHEMA = {"type": "string", "description": "An XML document, valid against the official OGC XSDs"}


class XMLResponse(Response):
    """Documents a ``text/xml`` response (the routes build their own responses)."""

    media_type = XML


def _parameter(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


KVP_PARAMETERS = [
    _parameter("service", "Always `WPS` (required by every request).", type="string", enum=["WPS"]),
    _parameter(
        "request",
        "The operation. Execute as KVP is WPS 1.0.0 only; GetStatus, GetResult and Dismiss are WPS 2.0.0.",
        type="string",
        enum=["GetCapabilities", "DescribeProcess", "Execute", "GetStatus", "GetResult", "Dismiss"],
    ),
    _parameter(
        "version",
        "Protocol version (required except for GetCapabilities).",
        type="string",
        enum=["1.0.0", "2.0.0"],
    ),
    _parameter("AcceptVersions", "GetCapabilities: versions in order of preference.", type="string"),
    _parameter(
        "identifier", "DescribeProcess/Execute: process identifier(s), comma separated.", type="string"
    ),
    _parameter(
        "DataInputs",
        "Execute (1.0.0): `name=value;name=@href=url@mimeType=...`; bounding boxes as "
        "`minx,miny,maxx,maxy,crs`.",
        type="string",
    ),
    _parameter("ResponseDocument", "Execute (1.0.0): outputs of the response document.", type="string"),
    _parameter("RawDataOutput", "Execute (1.0.0): the one output to answer raw.", type="string"),
    _parameter(
        "storeExecuteResponse", "Execute (1.0.0): keep the response at a statusLocation.", type="boolean"
    ),
    _parameter("status", "Execute (1.0.0): with storeExecuteResponse, run asynchronously.", type="boolean"),
    _parameter("lineage", "Execute (1.0.0): repeat inputs and output definitions.", type="boolean"),
    _parameter("jobId", "GetStatus, GetResult, Dismiss (2.0.0): the job identifier.", type="string"),
    _parameter("language", "Response language (`en-US`).", type="string"),
]

KVP_EXAMPLES = (
    "GetCapabilities, DescribeProcess, Execute (1.0.0), GetStatus, GetResult, Dismiss (2.0.0). "
    "Examples: `?service=WPS&request=GetCapabilities`, "
    "`?service=WPS&version=2.0.0&request=DescribeProcess&identifier=ndvi`, "
    "`?service=WPS&version=1.0.0&request=Execute&identifier=echo&DataInputs=literal=hello"
    "&RawDataOutput=literal`, `?service=WPS&version=2.0.0&request=GetStatus&jobId=<jobID>`."
)

_ECHO_V200 = """<wps:Execute xmlns:wps="http://www.opengis.net/wps/2.0" xmlns:ows="http://www.opengis.net/ows/2.0"
    service="WPS" version="2.0.0" mode="sync" response="document">
  <ows:Identifier>echo</ows:Identifier>
  <wps:Input id="literal"><wps:Data><wps:LiteralValue>hello</wps:LiteralValue></wps:Data></wps:Input>
  <wps:Output id="literal" transmission="value"/>
</wps:Execute>"""

_NDVI_V100 = """<wps:Execute service="WPS" version="1.0.0" xmlns:wps="http://www.opengis.net/wps/1.0.0"
    xmlns:ows="http://www.opengis.net/ows/1.1" xmlns:xlink="http://www.w3.org/1999/xlink">
  <ows:Identifier>ndvi</ows:Identifier>
  <wps:DataInputs>
    <wps:Input><ows:Identifier>red</ows:Identifier>
      <wps:Reference mimeType="image/tiff; subtype=geotiff" xlink:href="https://sentinel-cogs.s3.us-west-2.amazonaws.com/sentinel-s2-l2a-cogs/36/Q/WD/2020/7/S2A_36QWD_20200701_0_L2A/B04.tif"/>
    </wps:Input>
    <wps:Input><ows:Identifier>nir</ows:Identifier>
      <wps:Reference mimeType="image/tiff; subtype=geotiff" xlink:href="https://sentinel-cogs.s3.us-west-2.amazonaws.com/sentinel-s2-l2a-cogs/36/Q/WD/2020/7/S2A_36QWD_20200701_0_L2A/B08.tif"/>
    </wps:Input>
  </wps:DataInputs>
  <wps:ResponseForm>
    <wps:ResponseDocument storeExecuteResponse="true" status="true">
      <wps:Output asReference="true"><ows:Identifier>ndvi</ows:Identifier></wps:Output>
    </wps:ResponseDocument>
  </wps:ResponseForm>
</wps:Execute>"""

XML_EXAMPLES = {
    "capabilities": {
        "summary": "GetCapabilities (WPS 2.0.0)",
        "value": '<wps:GetCapabilities xmlns:wps="http://www.opengis.net/wps/2.0" '
        'xmlns:ows="http://www.opengis.net/ows/2.0" service="WPS"><ows:AcceptVersions>'
        "<ows:Version>2.0.0</ows:Version></ows:AcceptVersions></wps:GetCapabilities>",
    },
    "describe": {
        "summary": "DescribeProcess (WPS 1.0.0)",
        "value": '<wps:DescribeProcess xmlns:wps="http://www.opengis.net/wps/1.0.0" '
        'xmlns:ows="http://www.opengis.net/ows/1.1" service="WPS" version="1.0.0">'
        "<ows:Identifier>ndvi</ows:Identifier></wps:DescribeProcess>",
    },
    "echo": {"summary": "Execute echo, synchronous (WPS 2.0.0)", "value": _ECHO_V200},
    "ndvi": {
        "summary": "Execute ndvi by reference, asynchronous with a statusLocation (WPS 1.0.0)",
        "value": _NDVI_V100,
    },
}

_ERRORS = {
    400: "Invalid request: " + _REPORT,
    404: "No such job (status documents): " + _REPORT,
    413: "Request body or referenced input too large: " + _REPORT,
    500: "Internal error (with a request id): " + _REPORT,
    501: "Operation or option not implemented (as OWS Common prescribes): " + _REPORT,
    503: "Job queue full (ServerBusy): " + _REPORT,
}


def xml_responses(success: str, *statuses: int, raw: bool = False) -> dict[int | str, dict[str, Any]]:
    """``responses`` for a WPS route: XML documents, and the raw output's own media type if ``raw``."""
    content: dict[str, Any] = {XML: {"schema": _XML_SCHEMA}}
    if raw:
        content["*/*"] = {"schema": {"type": "string", "format": "binary"}}
    responses: dict[int | str, dict[str, Any]] = {200: {"description": success, "content": content}}
    for status in statuses:
        responses[status] = {"description": _ERRORS[status], "content": {XML: {"schema": _XML_SCHEMA}}}
    return responses


KVP_OPENAPI: dict[str, Any] = {"parameters": KVP_PARAMETERS}
XML_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A WPS 1.0.0 or 2.0.0 request document (GetCapabilities, DescribeProcess, "
        "Execute, GetStatus, GetResult, Dismiss).",
        "content": {
            XML: {"schema": _XML_SCHEMA, "examples": XML_EXAMPLES},
            "application/xml": {"schema": _XML_SCHEMA},
        },
    }
}


_ALL_ERRORS = (400, 404, 413, 500, 501, 503)
KVP_RESPONSES = xml_responses(
    "Capabilities, process descriptions, status or result documents; with RawDataOutput the output",
    *_ALL_ERRORS,
    raw=True,
)
XML_RESPONSES = xml_responses(
    'The response document; the output itself for RawDataOutput or response="raw"', *_ALL_ERRORS, raw=True
)
STATUS_RESPONSES = xml_responses("The job's wps:ExecuteResponse", 404, 500)
