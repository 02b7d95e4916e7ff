"""The WPS 2.0.0 codec: KVP and XML requests in, 2.0 documents and OWS 2.0 exception reports out.

Execute is XML only (2.0 defines no KVP Execute); ``mode="async"`` and ``"auto"`` run as jobs and
answer with a ``wps:StatusInfo``; GetStatus, GetResult and Dismiss address a job by its id.
"""

from __future__ import annotations

from app.model.codec import Operation, ProcessLookup
from app.model.descriptions import Offering
from app.model.errors import OperationNotSupported, WpsError
from app.model.jobs import JobReport
from app.model.replies import Reply, raw_reply
from app.model.requests import JobOperation, JobRequest
from app.settings import Settings
from app.wps_xml import namespaces as ns
from app.wps_xml.exceptions import exception_report
from app.wps_xml.execute_decoders import top_chain
from app.wps_xml.message import WpsMessage, kvp_operation, negotiate, xml_operation
from app.wps_xml.payload import XML_MEDIA_TYPE
from app.wps_xml.v200 import decode, encode

VERSION = "2.0.0"
JOB_OPERATIONS: dict[str, JobOperation] = {"GetStatus": "status", "GetResult": "result", "Dismiss": "dismiss"}


class Codec:
    """WPS 2.0.0 (OGC 14-065r2)."""

    face = "wps2"
    version = VERSION
    namespace = ns.WPS200

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def decode(self, message: WpsMessage, processes: ProcessLookup) -> Operation:
        """GetCapabilities, DescribeProcess, Execute (XML), GetStatus, GetResult or Dismiss."""
        if message.kvp is not None:
            return self._decode_kvp(message, kvp_operation(message), processes)
        assert message.root is not None
        operation = xml_operation(message, self.namespace)
        root = message.root
        if operation == "GetCapabilities":
            request = decode.capabilities_from_xml(root)
            negotiate(request.accept_versions, message.offered, VERSION)
            return request
        if operation == "DescribeProcess":
            return decode.describe_from_xml(root)
        if operation == "Execute":
            return decode.execute_from_xml(root, processes, top_chain(self.settings, processes))
        if operation in JOB_OPERATIONS:
            return _job(decode.job_from_xml(root), JOB_OPERATIONS[operation])
        raise OperationNotSupported(f"operation {operation!r} is not supported", locator=operation)

    def _decode_kvp(self, message: WpsMessage, operation: str, processes: ProcessLookup) -> Operation:
        assert message.kvp is not None
        if operation == "GetCapabilities":
            request = decode.capabilities_from_kvp(message.kvp)
            negotiate(request.accept_versions, message.offered, VERSION)
            return request
        if operation == "DescribeProcess":
            return decode.describe_from_kvp(message.kvp)
        if operation in JOB_OPERATIONS:
            return _job(decode.job_from_kvp(message.kvp), JOB_OPERATIONS[operation])
        raise OperationNotSupported(
            f"operation {operation!r} is not available as WPS 2.0 KVP (Execute is XML only)",
            locator=operation,
        )

    def capabilities(self, offering: Offering) -> Reply:
        """``wps:Capabilities``."""
        document = encode.capabilities(
            self.settings, offering.processes, offering.language, offering.update_sequence
        )
        return _xml(document)

    def descriptions(self, offering: Offering) -> Reply:
        """``wps:ProcessOfferings``."""
        return _xml(encode.process_offerings(offering.processes, offering.language))

    def accepted(self, report: JobReport) -> Reply:
        """An asynchronous Execute: the new job's ``wps:StatusInfo``."""
        return self.status(report)

    def status(self, report: JobReport) -> Reply:
        """``wps:StatusInfo`` (GetStatus, Dismiss)."""
        return _xml(encode.status_info(report.info))

    def result(self, report: JobReport) -> Reply:
        """``wps:Result`` with the job's expiration, or the raw output for ``response="raw"``.

        A raw job of several outputs (the OGC API allows it) answers with the document here.
        """
        assert report.result is not None
        if report.request.response.raw and len(report.result.outputs) == 1:
            return raw_reply(report.result)
        return _xml(encode.result(report.result, report.info))

    def exception(self, error: WpsError, status: int, where: str | None = None) -> Reply:
        """An OWS 2.0 ``ows:ExceptionReport``."""
        return _xml(exception_report(error, VERSION), status)


def _job(request: JobRequest, operation: JobOperation) -> JobRequest:
    return request.model_copy(update={"operation": operation})


def _xml(document: bytes, status: int = 200) -> Reply:
    return Reply(body=document, media_type=XML_MEDIA_TYPE, status=status)
