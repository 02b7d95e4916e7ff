"""WPS 1.0.0 operations: decode, call the service, encode. The statusLocation document too."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.responses import Response
from lxml import etree

from app.api.raw import raw_output, xml_response
from app.model.errors import NoApplicableCode, OperationNotSupported, WpsError, error_from_codes
from app.model.jobs import JobInfo, JobStatus
from app.model.requests import DescribeProcessRequest, ExecuteRequest
from app.model.results import ExecuteResult
from app.service.operations import WpsService, check_language, negotiate_version
from app.wps_xml.kvp import Kvp
from app.wps_xml.v100 import decode, encode

VERSION = "1.0.0"


def status_url(service: WpsService, job_id: str) -> str:
    """The statusLocation of a job."""
    return f"{service.settings.wps_url}/status/{job_id}"


def capabilities(service: WpsService, language: str | None) -> Response:
    """GetCapabilities (version already negotiated)."""
    language = check_language(language)
    return xml_response(encode.capabilities(service.settings, service.registry.descriptions(), language))


def dispatch_kvp(operation: str, kvp: Kvp, service: WpsService) -> Response:
    """DescribeProcess and Execute as KVP."""
    if operation == "describeprocess":
        return _describe(decode.describe_from_kvp(kvp), service)
    if operation == "execute":
        return execute(decode.execute_from_kvp(kvp, service.registry.describe), service)
    raise OperationNotSupported(
        f"operation {kvp.get('request')!r} is not a WPS 1.0.0 operation", locator="request"
    )


def _describe(request: DescribeProcessRequest, service: WpsService) -> Response:
    descriptions = service.describe(request)
    return xml_response(encode.describe_process(descriptions, check_language(request.language)))


def dispatch_xml(root: etree._Element, service: WpsService) -> Response:
    """The WPS 1.0.0 XML requests."""
    operation = etree.QName(root).localname
    if operation == "GetCapabilities":
        request = decode.capabilities_from_xml(root)
        negotiate_version(request)
        return capabilities(service, request.language)
    if operation == "DescribeProcess":
        return _describe(decode.describe_from_xml(root), service)
    if operation == "Execute":
        return execute(decode.execute_from_xml(root), service)
    raise OperationNotSupported(f"operation {operation!r} is not supported", locator=operation)


def execute(request: ExecuteRequest, service: WpsService) -> Response:
    """Execute: synchronous, stored (statusLocation) or asynchronous (ProcessAccepted at once)."""
    if request.response.mode == "async":
        info = service.submit(request)
        return status_document(info, service)
    result = service.execute(request)
    if request.response.raw:
        return raw_output(result)
    location = status_url(service, result.job_id) if request.response.store else None
    document = encode.execute_response(
        result, service.settings, creation_time=datetime.now(UTC), status_location=location
    )
    return xml_response(document)


def status_document(info: JobInfo, service: WpsService) -> Response:
    """The ExecuteResponse of a job, rendered from its record now (never a stale file)."""
    request = service.request_of(info.job_id)
    description = service.registry.describe(info.process_id)
    empty = ExecuteResult(job_id=info.job_id, request=request, process=description, outputs=())
    state, result, error = _state(info, service, empty)
    document = encode.execute_response(
        result,
        service.settings,
        creation_time=info.updated,
        status_location=status_url(service, info.job_id),
        status=state,
        percent=info.percent if info.status is JobStatus.RUNNING else None,
        error=error,
    )
    return xml_response(document)


def _state(
    info: JobInfo, service: WpsService, empty: ExecuteResult
) -> tuple[str, ExecuteResult, WpsError | None]:
    if info.status is JobStatus.ACCEPTED:
        return "ProcessAccepted", empty, None
    if info.status is JobStatus.RUNNING:
        return "ProcessStarted", empty, None
    if info.expired:
        expiry = info.expires.isoformat() if info.expires else "its expiry time"
        return "ProcessFailed", empty, NoApplicableCode(f"the results of this job expired at {expiry}")
    if info.status is JobStatus.SUCCEEDED:
        return "ProcessSucceeded", service.engine.store.result(info.job_id) or empty, None
    if info.error is not None:
        recorded = error_from_codes(
            info.error.code, info.error.wps2_code, info.error.message, info.error.locator
        )
        return "ProcessFailed", empty, recorded
    return "ProcessFailed", empty, NoApplicableCode("the job did not finish")
