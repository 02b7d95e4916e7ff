"""WPS 2.0.0 operations: decode, call the service, encode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.responses import Response
from lxml import etree

from app.api.raw import raw_output, xml_response
from app.model.errors import OperationNotSupported
from app.model.jobs import JobInfo, JobStatus
from app.model.requests import ExecuteRequest
from app.service.operations import WpsService, check_language, negotiate_version
from app.wps_xml.kvp import Kvp
from app.wps_xml.v200 import decode, encode

VERSION = "2.0.0"


def capabilities(service: WpsService, language: str | None) -> Response:
    """GetCapabilities (version already negotiated)."""
    language = check_language(language)
    return xml_response(encode.capabilities(service.settings, service.registry.descriptions(), language))


def dispatch_kvp(operation: str, kvp: Kvp, service: WpsService) -> Response:
    """DescribeProcess, GetStatus, GetResult and Dismiss as KVP (Execute is POST only in 2.0)."""
    if operation == "describeprocess":
        request = decode.describe_from_kvp(kvp)
        language = check_language(request.language)
        return xml_response(encode.process_offerings(service.describe(request), language))
    if operation in JOB_OPERATIONS:
        return JOB_OPERATIONS[operation](decode.job_from_kvp(kvp).job_id, service)
    raise OperationNotSupported(
        f"operation {kvp.get('request')!r} is not available as WPS 2.0 KVP", locator="request"
    )


def dispatch_xml(root: etree._Element, service: WpsService) -> Response:
    """The WPS 2.0 XML requests."""
    operation = etree.QName(root).localname
    if operation == "GetCapabilities":
        request = decode.capabilities_from_xml(root)
        negotiate_version(request, default=VERSION)
        return capabilities(service, request.language)
    if operation == "DescribeProcess":
        described = decode.describe_from_xml(root)
        language = check_language(described.language)
        return xml_response(encode.process_offerings(service.describe(described), language))
    if operation == "Execute":
        return execute(decode.execute_from_xml(root, service.registry.describe), service)
    if operation.lower() in JOB_OPERATIONS:
        return JOB_OPERATIONS[operation.lower()](decode.job_from_xml(root).job_id, service)
    raise OperationNotSupported(f"operation {operation!r} is not supported", locator=operation)


def execute(request: ExecuteRequest, service: WpsService) -> Response:
    """Execute: sync answers with the Result (or raw bytes); async and auto with a StatusInfo."""
    if request.response.mode in {"async", "auto"}:
        return xml_response(encode.status_info(with_polling_hints(service.submit(request))))
    result = service.execute(request)
    if request.response.raw:
        return raw_output(result)
    return xml_response(encode.result(result, service.engine.store.get(result.job_id)))


def get_status(job_id: str, service: WpsService) -> Response:
    """GetStatus: the job's StatusInfo."""
    return xml_response(encode.status_info(with_polling_hints(service.status(job_id))))


def get_result(job_id: str, service: WpsService) -> Response:
    """GetResult: the Result document of a succeeded job."""
    result = service.result(job_id)
    return xml_response(encode.result(result, service.status(job_id)))


def dismiss(job_id: str, service: WpsService) -> Response:
    """Dismiss: stop the job, delete its results; StatusInfo with status Dismissed."""
    return xml_response(encode.status_info(service.dismiss(job_id)))


JOB_OPERATIONS = {"getstatus": get_status, "getresult": get_result, "dismiss": dismiss}


def with_polling_hints(info: JobInfo) -> JobInfo:
    """Add EstimatedCompletion (from progress so far) and NextPoll to an unfinished job's status."""
    if info.status.finished:
        return info
    now = datetime.now(UTC)
    estimated = None
    if info.status is JobStatus.RUNNING and info.started and info.percent:
        elapsed = (now - info.started).total_seconds()
        estimated = info.started + timedelta(seconds=elapsed * 100 / info.percent)
    remaining = (estimated - now).total_seconds() if estimated else 2.0
    next_poll = now + timedelta(seconds=min(max(remaining / 4, 1.0), 30.0))
    return info.model_copy(update={"estimated_completion": estimated, "next_poll": next_poll})
