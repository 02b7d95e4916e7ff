"""The WPS 1.0.0 codec: KVP and XML requests in, 1.0.0 documents and OWS 1.1 exception reports out.

A job's status is its ``wps:ExecuteResponse`` rendered from the record at each request (the
statusLocation document): ProcessAccepted, ProcessStarted with percentCompleted, then
ProcessSucceeded with the outputs or ProcessFailed with the exception the service reports.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.model.codec import Operation, ProcessLookup
from app.model.descriptions import Offering
from app.model.errors import OperationNotSupported, WpsError
from app.model.jobs import JobReport, JobStatus
from app.model.replies import Reply, raw_reply
from app.model.results import ExecuteResult
from app.settings import Settings
from app.wps_xml import namespaces as ns
from app.wps_xml.exceptions import exception_report
from app.wps_xml.execute_decoders import top_chain
from app.wps_xml.message import WpsMessage, kvp_operation, negotiate, xml_operation
from app.wps_xml.payload import XML_MEDIA_TYPE
from app.wps_xml.v100 import decode, encode

VERSION = "1.0.0"
_STATES = {JobStatus.ACCEPTED: "ProcessAccepted", JobStatus.RUNNING: "ProcessStarted"}


class Codec:
    """WPS 1.0.0 (OGC 05-007r7)."""

    face = "wps1"
    version = VERSION
    namespace = ns.WPS100

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def decode(self, message: WpsMessage, processes: ProcessLookup) -> Operation:
        """GetCapabilities, DescribeProcess or Execute, from KVP or XML."""
        if message.kvp is not None:
            operation = kvp_operation(message)
            if operation == "GetCapabilities":
                request = decode.capabilities_from_kvp(message.kvp)
            elif operation == "DescribeProcess":
                return decode.describe_from_kvp(message.kvp)
            elif operation == "Execute":
                return decode.execute_from_kvp(message.kvp, processes, top_chain(self.settings, processes))
            else:
                raise OperationNotSupported(
                    f"operation {operation!r} is not a WPS 1.0.0 operation", locator=operation
                )
        else:
            assert message.root is not None
            operation = xml_operation(message, self.namespace)
            if operation == "GetCapabilities":
                request = decode.capabilities_from_xml(message.root)
            elif operation == "DescribeProcess":
                return decode.describe_from_xml(message.root)
            elif operation == "Execute":
                return decode.execute_from_xml(message.root, top_chain(self.settings, processes))
            else:
                raise OperationNotSupported(f"operation {operation!r} is not supported", locator=operation)
        negotiate(request.accept_versions, message.offered, VERSION)
        return request

    def capabilities(self, offering: Offering) -> Reply:
        """``wps:Capabilities``."""
        document = encode.capabilities(
            self.settings, offering.processes, offering.language, offering.update_sequence
        )
        return _xml(document)

    def descriptions(self, offering: Offering) -> Reply:
        """``wps:ProcessDescriptions``."""
        return _xml(encode.describe_process(offering.processes, offering.language))

    def accepted(self, report: JobReport) -> Reply:
        """An asynchronous Execute: the job's status document (ProcessAccepted, or further already)."""
        return self.status(report)

    def status(self, report: JobReport) -> Reply:
        """The statusLocation document: the job's ExecuteResponse as its record says now."""
        info = report.info
        empty = ExecuteResult(job_id=info.job_id, request=report.request, process=report.process, outputs=())
        state = _STATES.get(info.status, "ProcessFailed")
        if info.status is JobStatus.SUCCEEDED and report.error is None:
            state = "ProcessSucceeded"
        document = encode.execute_response(
            report.result if state == "ProcessSucceeded" and report.result is not None else empty,
            self.settings,
            creation_time=info.updated,
            status_location=self.status_url(info.job_id),
            status=state,
            percent=info.percent if info.status is JobStatus.RUNNING else None,
            error=report.error.exception() if report.error is not None else None,
        )
        return _xml(document)

    def result(self, report: JobReport) -> Reply:
        """A synchronous Execute: the raw output, or the ExecuteResponse (with statusLocation if stored)."""
        assert report.result is not None
        if report.request.response.raw:
            return raw_reply(report.result)
        location = self.status_url(report.info.job_id) if report.request.response.store else None
        document = encode.execute_response(
            report.result, self.settings, creation_time=datetime.now(UTC), status_location=location
        )
        return _xml(document)

    def exception(self, error: WpsError, status: int, where: str | None = None) -> Reply:
        """An OWS 1.1.0 ``ows:ExceptionReport``."""
        return _xml(exception_report(error, VERSION), status)

    def status_url(self, job_id: str) -> str:
        """The statusLocation of a job."""
        return f"{self.settings.wps_url}/status/{job_id}"


def _xml(document: bytes, status: int = 200) -> Reply:
    return Reply(body=document, media_type=XML_MEDIA_TYPE, status=status)
