"""``/wps``: WPS 1.0.0 and 2.0.0 requests as KVP (GET) and XML (POST), and 1.0.0 status documents.

This module only picks the protocol version and renders failures; ``wps_v100`` and ``wps_v200``
translate each operation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from lxml import etree

from app.api import wps_docs, wps_v100, wps_v200
from app.api.body import read_capped_body
from app.api.deps import get_service
from app.api.errors import internal_error, wps_error_response
from app.model.errors import (
    InvalidParameterValue,
    MissingParameterValue,
    NoSuchJob,
    OperationNotSupported,
    WpsError,
)
from app.service.operations import WpsService, negotiate_version
from app.wps_xml.kvp import Kvp
from app.wps_xml.namespaces import WPS100, WPS200
from app.wps_xml.parser import parse_xml
from app.wps_xml.v100 import decode as v100_decode

router = APIRouter(tags=["WPS"])


@router.get(
    "/wps",
    summary="WPS request as KVP",
    description=wps_docs.KVP_EXAMPLES,
    response_class=wps_docs.XMLResponse,
    responses=wps_docs.KVP_RESPONSES,
    openapi_extra=wps_docs.KVP_OPENAPI,
)
def wps_get(request: Request, service: Annotated[WpsService, Depends(get_service)]) -> Response:
    """GetCapabilities, DescribeProcess, Execute (1.0.0), GetStatus, GetResult, Dismiss (2.0.0)."""
    version = "1.0.0"
    try:
        kvp = Kvp.from_pairs(request.query_params.multi_items())
        version = _kvp_version(kvp)
        return _dispatch_kvp(kvp, version, service)
    except WpsError as error:
        return wps_error_response(error, version)
    except Exception as exc:  # a client must never see a stack trace or an HTML page
        return wps_error_response(internal_error(exc), version)


@router.post(
    "/wps",
    summary="WPS request as an XML document",
    response_class=wps_docs.XMLResponse,
    responses=wps_docs.XML_RESPONSES,
    openapi_extra=wps_docs.XML_OPENAPI,
)
async def wps_post(request: Request, service: Annotated[WpsService, Depends(get_service)]) -> Response:
    """Any WPS 1.0.0 or 2.0.0 XML request, read under the body size cap."""
    try:
        body = await read_capped_body(request, service.settings.max_request_bytes)
    except WpsError as error:
        return wps_error_response(error)
    return await run_in_threadpool(_dispatch_xml, body, service)


@router.get(
    "/wps/status/{job_id}",
    summary="WPS 1.0.0 statusLocation: the job's ExecuteResponse now",
    response_class=wps_docs.XMLResponse,
    responses=wps_docs.STATUS_RESPONSES,
)
def wps_status(job_id: str, service: Annotated[WpsService, Depends(get_service)]) -> Response:
    """The stored ExecuteResponse of a job, rendered from its record at each request."""
    return _guarded(lambda: wps_v100.status_document(service.status(job_id), service), "1.0.0")


def _guarded(operation: Callable[[], Response], version: str) -> Response:
    try:
        return operation()
    except NoSuchJob as error:
        response = wps_error_response(error, version)
        response.status_code = 404  # a status URL is a resource: an unknown one is not found
        return response
    except WpsError as error:
        return wps_error_response(error, version)
    except Exception as exc:  # a client must never see a stack trace or an HTML page
        return wps_error_response(internal_error(exc), version)


def _kvp_version(kvp: Kvp) -> str:
    """The version a KVP request speaks: its ``version``, or what GetCapabilities negotiates."""
    version = (kvp.get("version") or "").strip()
    if version.startswith("2"):
        return "2.0.0"
    return "1.0.0"


def _dispatch_kvp(kvp: Kvp, version: str, service: WpsService) -> Response:
    _check_service(kvp.get("service"))
    operation = kvp.require("request").lower()
    if operation == "getcapabilities":
        negotiated = negotiate_version(v100_decode.capabilities_from_kvp(kvp), default=version)
        module = wps_v200 if negotiated == "2.0.0" else wps_v100
        return module.capabilities(service, kvp.get("language"))
    if operation not in {"describeprocess", "execute", "getstatus", "getresult", "dismiss"}:
        raise OperationNotSupported(f"operation {kvp.get('request')!r} is not supported", locator="request")
    requested = kvp.get("version")
    if requested is None or not requested.strip():
        raise MissingParameterValue("parameter 'version' is required", locator="version")
    if requested.strip() not in {"1.0.0", "2.0.0"}:
        raise InvalidParameterValue(f"version {requested!r} is not supported", locator="version")
    module = wps_v200 if version == "2.0.0" else wps_v100
    return module.dispatch_kvp(operation, kvp, service)


def _dispatch_xml(body: bytes, service: WpsService) -> Response:
    version = "1.0.0"
    try:
        root = parse_xml(body)
        namespace = etree.QName(root).namespace
        version = "2.0.0" if namespace == WPS200 else "1.0.0"
        if namespace not in {WPS100, WPS200}:
            raise OperationNotSupported(
                f"{etree.QName(root).localname} in namespace {namespace!r} is not a WPS request",
                locator=etree.QName(root).localname,
            )
        _check_service(root.get("service"))
        module = wps_v200 if version == "2.0.0" else wps_v100
        return module.dispatch_xml(root, service)
    except WpsError as error:
        return wps_error_response(error, version)
    except Exception as exc:  # a client must never see a stack trace or an HTML page
        return wps_error_response(internal_error(exc), version)


def _check_service(value: str | None) -> None:
    if value is None or not value.strip():
        raise MissingParameterValue("parameter 'service' is required", locator="service")
    if value.strip().upper() != "WPS":
        raise InvalidParameterValue(f"service {value!r} is not WPS", locator="service")
