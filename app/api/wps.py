"""``/wps``: WPS 1.0.0 and 2.0.0 requests as KVP (GET) and XML (POST); ``/wps/status/{job_id}``.

Each route picks the codec of the request's version (so that even a failure is reported in that
version's format), lets it decode the request, calls the service and encodes with the same codec.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from app.api import wps_docs
from app.api.body import read_capped_body
from app.api.deps import exchange_of, wps_codecs_of
from app.api.observation import UNKNOWN, label
from app.api.replies import send
from app.api.routing import ServiceRoute
from app.wps_xml.v100.codec import VERSION as STATUS_LOCATION_VERSION

router = APIRouter(route_class=ServiceRoute, tags=["WPS"])


@router.get(
    "/wps",
    summary="WPS request as KVP",
    description=wps_docs.KVP_EXAMPLES,
    response_class=wps_docs.XMLResponse,
    responses=wps_docs.KVP_RESPONSES,
    openapi_extra=wps_docs.KVP_OPENAPI,
)
async def wps_get(request: Request) -> Response:
    """GetCapabilities, DescribeProcess, Execute (1.0.0), GetStatus, GetResult, Dismiss (2.0.0)."""
    exchange, codecs = exchange_of(request), wps_codecs_of(request)
    pairs = request.query_params.multi_items()
    request.state.codec = codecs.hint(pairs)
    label(request.state.codec.face, UNKNOWN)
    message = codecs.read_kvp(pairs)
    request.state.codec = codec = codecs[message.version]
    caller = await exchange.gate.identify_async(request)
    return send(await exchange.respond(codec, message, caller), request)


@router.post(
    "/wps",
    summary="WPS request as an XML document",
    response_class=wps_docs.XMLResponse,
    responses=wps_docs.XML_RESPONSES,
    openapi_extra=wps_docs.XML_OPENAPI,
)
async def wps_post(request: Request) -> Response:
    """Any WPS 1.0.0 or 2.0.0 XML request, read under the body size cap."""
    exchange, codecs = exchange_of(request), wps_codecs_of(request)
    request.state.codec = codecs.default
    label(codecs.default.face, UNKNOWN)
    body = await read_capped_body(request, exchange.service.settings.max_request_bytes)
    message = await run_in_threadpool(codecs.read_xml, body)
    request.state.codec = codec = codecs[message.version]
    caller = await exchange.gate.identify_async(request)
    return send(await run_in_threadpool(exchange.answer, codec, message, caller), request)


@router.get(
    "/wps/status/{job_id}",
    summary="WPS 1.0.0 statusLocation: the job's ExecuteResponse now",
    response_class=wps_docs.XMLResponse,
    responses=wps_docs.STATUS_RESPONSES,
)
def wps_status(request: Request, job_id: str) -> Response:
    """The ExecuteResponse of a job, rendered from its record at each request (404 when unknown)."""
    request.state.codec = codec = wps_codecs_of(request)[STATUS_LOCATION_VERSION]
    request.state.resource = True
    label(codec.face, "GetStatus")
    exchange = exchange_of(request)
    return send(codec.status(exchange.service.status(job_id, exchange.gate.user(request))))
