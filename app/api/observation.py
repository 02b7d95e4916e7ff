"""What each request was, in the service's terms: the labels of ``wps_requests_total``.

The metrics middleware opens a :class:`RequestLabels` for every HTTP request (:func:`observing`);
the routes and the exchange fill it in as they learn what the request is: its face (``wps1``,
``wps2``, ``ogcapi``), its operation (the WPS operation, such as ``Execute`` or ``GetStatus``, or
the OGC API verb, such as ``describe`` or ``execute``) and the process it names. The labels live in
a context variable holding one mutable object, so that code run in the thread pool (which copies
the context) fills in the same object the middleware reads when the answer is sent.

Label values are bounded whatever clients send: an operation the face does not have is
``unknown``, and so is a process id that is not registered; empty means "none" (a request that
names no process, or that never reached a face).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from app.model.requests import DescribeProcessRequest, ExecuteRequest, GetCapabilitiesRequest, JobRequest
from app.ogcapi.calls import ExecuteCall, JobCall, JobListCall, ProcessCall, ProcessListCall
from app.wps_xml.message import WpsMessage

UNKNOWN = "unknown"
WPS_OPERATIONS = ("GetCapabilities", "DescribeProcess", "Execute", "GetStatus", "GetResult", "Dismiss")
_WPS_BY_LOWER = {name.lower(): name for name in WPS_OPERATIONS}
_WPS_JOB_OPERATIONS = {"status": "GetStatus", "result": "GetResult", "dismiss": "Dismiss"}
_OGCAPI_JOB_OPERATIONS = {"status": "status", "result": "results", "dismiss": "dismiss"}

Registered = Callable[[str], bool]


@dataclass
class RequestLabels:
    """The face, operation and process of one request ("" until known)."""

    face: str = ""
    operation: str = ""
    process_id: str = ""


_current: ContextVar[RequestLabels | None] = ContextVar("request_labels", default=None)


@contextmanager
def observing() -> Iterator[RequestLabels]:
    """The labels of the request being answered inside the block."""
    labels = RequestLabels()
    token = _current.set(labels)
    try:
        yield labels
    finally:
        _current.reset(token)


def label(face: str | None = None, operation: str | None = None, process_id: str | None = None) -> None:
    """Set what is known of the current request (nothing happens outside a request)."""
    labels = _current.get()
    if labels is None:
        return
    if face is not None:
        labels.face = face
    if operation is not None:
        labels.operation = operation
    if process_id is not None:
        labels.process_id = process_id


def label_message(face: str, message: Any, registered: Registered) -> None:
    """Labels from a request as it arrived, before it is decoded (decoding may fail)."""
    if isinstance(message, WpsMessage):
        operation = _WPS_BY_LOWER.get(message.operation.lower(), UNKNOWN)
        label(face, operation, _bounded(_wps_identifier(message), registered))
    elif isinstance(message, ProcessListCall):
        label(face, "processes", "")
    elif isinstance(message, ProcessCall):
        label(face, "describe", _bounded(message.process_id, registered))
    elif isinstance(message, ExecuteCall):
        label(face, "execute", _bounded(message.process_id, registered))
    elif isinstance(message, JobListCall):
        label(face, "jobs", "")
    elif isinstance(message, JobCall):
        label(face, _OGCAPI_JOB_OPERATIONS.get(message.operation, UNKNOWN), "")
    else:
        label(face)


def label_operation(face: str, operation: object, registered: Registered) -> None:
    """Labels from a decoded request."""
    wps = face != "ogcapi"
    if isinstance(operation, GetCapabilitiesRequest):
        label(face, "GetCapabilities" if wps else "processes", "")
    elif isinstance(operation, DescribeProcessRequest):
        ids = list(operation.identifiers)
        one = ids[0] if len(ids) == 1 and ids[0].lower() != "all" else ""
        label(face, "DescribeProcess" if wps else "describe", _bounded(one, registered))
    elif isinstance(operation, ExecuteRequest):
        label(face, "Execute" if wps else "execute", _bounded(operation.identifier, registered))
    elif isinstance(operation, JobRequest):
        names = _WPS_JOB_OPERATIONS if wps else _OGCAPI_JOB_OPERATIONS
        label(face, names.get(operation.operation, UNKNOWN))


def _bounded(process_id: str, registered: Registered) -> str:
    """The id itself when it is registered; ``unknown`` otherwise; "" for none."""
    if not process_id:
        return ""
    return process_id if registered(process_id) else UNKNOWN


def _wps_identifier(message: WpsMessage) -> str:
    """The (first) process identifier a WPS request names, as written."""
    if message.kvp is not None:
        return (message.kvp.get("identifier") or "").split(",")[0].strip()
    if message.root is not None:
        for child in message.root:
            if isinstance(child.tag, str) and child.tag.endswith("}Identifier"):
                return (child.text or "").strip()
    return ""
