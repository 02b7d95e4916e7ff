"""Requests, whichever face and protocol version they came in: what decoders produce."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.model.base import Model
from app.model.descriptions import DataKind


class GetCapabilitiesRequest(Model):
    """GetCapabilities (the process list on the OGC API face).

    ``accept_versions`` are the versions the client accepts, in its order of preference;
    ``accept_languages`` likewise its languages (OWS 2.0 AcceptLanguages: the first the service
    speaks is used, its default when it speaks none), while ``language`` names one that must be
    spoken; ``update_sequence`` is the service metadata version the client holds (OWS 7.3.4);
    ``offset`` and ``limit`` page the process list (``None``: every process).
    """

    accept_versions: tuple[str, ...] = ()
    accept_languages: tuple[str, ...] = ()
    language: str | None = None
    update_sequence: str | None = None
    offset: int = 0
    limit: int | None = None


class DescribeProcessRequest(Model):
    """DescribeProcess for one or more identifiers (``ALL`` already expanded by the service)."""

    version: str
    identifiers: tuple[str, ...]
    language: str | None = None


class LiteralValue(Model):
    """A literal input value as the client sent it (still a string)."""

    kind: Literal[DataKind.LITERAL] = DataKind.LITERAL
    value: str
    data_type: str | None = None
    uom: str | None = None


class ComplexValue(Model):
    """A complex input: inline bytes, or a reference to fetch."""

    kind: Literal[DataKind.COMPLEX] = DataKind.COMPLEX
    mime_type: str | None = None
    encoding: str | None = None
    schema_url: str | None = None
    data: bytes | None = None  # inline payload, already base64-decoded
    href: str | None = None
    method: Literal["GET", "POST"] = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    body_href: str | None = None


class BoundingBoxValue(Model):
    """A bounding box: lower and upper corners in the axis order of its CRS."""

    kind: Literal[DataKind.BBOX] = DataKind.BBOX
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    crs: str | None = None

    @property
    def dimensions(self) -> int:
        """Number of axes."""
        return len(self.lower)


class NestedProcess(Model):
    """An input whose value is an output of another process of this service, computed in the same job.

    OGC API - Processes - Part 3 (nested processes) on the JSON face; on the WPS faces, a
    ``Reference`` to this service's own Execute (a POST body, or a 1.0.0 KVP URL). ``request`` is
    the nested Execute: its process, its inputs (nested in turn, to any depth) and, in
    ``response.outputs``, the one output used (none named: the process's only output, else its
    first). ``origin`` is the Reference as a WPS client sent it, echoed where WPS echoes inputs.
    """

    kind: Literal["process"] = "process"
    request: ExecuteRequest
    origin: ComplexValue | None = None


InputValue = LiteralValue | ComplexValue | BoundingBoxValue | NestedProcess


class OutputRequest(Model):
    """How the client wants one output delivered."""

    identifier: str
    as_reference: bool = False
    mime_type: str | None = None
    encoding: str | None = None
    schema_url: str | None = None
    uom: str | None = None
    title: str | None = None
    abstract: str | None = None


ExecutionMode = Literal["sync", "async", "auto"]


class ResponseForm(Model):
    """ResponseDocument (``raw`` False) or RawDataOutput / WPS 2.0 ``response="raw"`` (``raw`` True).

    ``mode`` is the WPS 2.0 execution mode; WPS 1.0.0 maps ``storeExecuteResponse`` + ``status``
    onto it (both true = async). ``store``/``status`` keep the 1.0.0 flags for its response.
    """

    raw: bool = False
    outputs: tuple[OutputRequest, ...] = ()  # empty = all outputs, by value
    lineage: bool = False
    store: bool = False
    status: bool = False
    mode: ExecutionMode = "sync"


class ExecuteRequest(Model):
    """An Execute request, whichever protocol it came in."""

    version: str = "1.0.0"
    identifier: str
    inputs: tuple[tuple[str, InputValue], ...] = ()
    response: ResponseForm = Field(default_factory=ResponseForm)
    language: str | None = None
    # media types the face prefers for outputs whose format the client does not name
    default_media_types: tuple[str, ...] = ()

    def values(self, identifier: str) -> list[InputValue]:
        """All occurrences of one input, in request order."""
        return [value for name, value in self.inputs if name == identifier]


NestedProcess.model_rebuild()  # its request is an ExecuteRequest, whose inputs may nest again


JobOperation = Literal["status", "result", "dismiss"]


class JobRequest(Model):
    """GetStatus, GetResult or Dismiss of one job (WPS 2.0; the job resources of the OGC API)."""

    version: str = "2.0.0"
    job_id: str
    operation: JobOperation = "status"
