"""Protocol-neutral models: process descriptions, execute requests and results.

Decoders of every protocol version produce these; encoders render them. Nothing here knows XML.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

UNBOUNDED = None  # maxOccurs="unbounded"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")


class DataKind(StrEnum):
    """The three WPS data kinds."""

    LITERAL = "literal"
    COMPLEX = "complex"
    BBOX = "bbox"


class Format(_Model):
    """A complex data format: mime type, optional encoding and schema."""

    mime_type: str
    encoding: str | None = None
    schema_url: str | None = None
    extension: str = ".bin"

    def matches(self, mime_type: str | None, encoding: str | None, schema: str | None) -> bool:
        """Whether a requested format is this one (absent parts match anything)."""
        if mime_type and _norm_mime(mime_type) != _norm_mime(self.mime_type):
            return False
        if encoding and encoding.lower() != (self.encoding or "utf-8").lower():
            # "base64" must be declared; utf-8 / raw is the implicit default.
            return encoding.lower() in {"utf-8", "utf8"} and self.encoding is None
        return not (schema and self.schema_url and schema != self.schema_url)


def _norm_mime(mime: str) -> str:
    return ";".join(part.strip() for part in mime.lower().split(";"))


class ValueRange(_Model):
    """A closed, open or half-open range of allowed literal values."""

    minimum: float | None = None
    maximum: float | None = None
    closure: Literal["closed", "open", "closed-open", "open-closed"] = "closed"


class LiteralDomain(_Model):
    """What a literal input or output may hold."""

    data_type: Literal["string", "integer", "double", "boolean"] = "string"
    allowed_values: tuple[str, ...] = ()
    ranges: tuple[ValueRange, ...] = ()
    default: str | None = None
    uoms: tuple[str, ...] = ()

    @property
    def any_value(self) -> bool:
        """True when no AllowedValues restrict the literal."""
        return not self.allowed_values and not self.ranges


class ParameterDescription(_Model):
    """An input or output as clients see it."""

    identifier: str
    title: str
    abstract: str = ""
    kind: DataKind
    literal: LiteralDomain | None = None
    formats: tuple[Format, ...] = ()  # the first is the default
    crss: tuple[str, ...] = ()  # the first is the default
    min_occurs: int = 1
    max_occurs: int | None = 1  # None = unbounded


class ProcessDescription(_Model):
    """A process as clients see it; derived from the registry declaration."""

    identifier: str
    title: str
    abstract: str = ""
    version: str = "1.0.0"
    keywords: tuple[str, ...] = ()
    inputs: tuple[ParameterDescription, ...]
    outputs: tuple[ParameterDescription, ...]
    store_supported: bool = False
    status_supported: bool = False

    def input(self, identifier: str) -> ParameterDescription | None:
        """The input with this identifier, if any."""
        return next((i for i in self.inputs if i.identifier == identifier), None)

    def output(self, identifier: str) -> ParameterDescription | None:
        """The output with this identifier, if any."""
        return next((o for o in self.outputs if o.identifier == identifier), None)


# ----------------------------------------------------------------------------- requests


class GetCapabilitiesRequest(_Model):
    """GetCapabilities: the versions the client accepts, in its order of preference."""

    accept_versions: tuple[str, ...] = ()
    language: str | None = None


class DescribeProcessRequest(_Model):
    """DescribeProcess for one or more identifiers (``ALL`` already expanded by the service)."""

    version: str
    identifiers: tuple[str, ...]
    language: str | None = None


class LiteralValue(_Model):
    """A literal input value as the client sent it (still a string)."""

    kind: Literal[DataKind.LITERAL] = DataKind.LITERAL
    value: str
    data_type: str | None = None
    uom: str | None = None


class ComplexValue(_Model):
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


class BoundingBoxValue(_Model):
    """A bounding box: lower and upper corners in the axis order of its CRS."""

    kind: Literal[DataKind.BBOX] = DataKind.BBOX
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    crs: str | None = None

    @property
    def dimensions(self) -> int:
        """Number of axes."""
        return len(self.lower)


InputValue = LiteralValue | ComplexValue | BoundingBoxValue


class OutputRequest(_Model):
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


class ResponseForm(_Model):
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


class ExecuteRequest(_Model):
    """An Execute request, whichever protocol it came in."""

    version: str = "1.0.0"
    identifier: str
    inputs: tuple[tuple[str, InputValue], ...] = ()
    response: ResponseForm = Field(default_factory=ResponseForm)
    language: str | None = None

    def values(self, identifier: str) -> list[InputValue]:
        """All occurrences of one input, in request order."""
        return [value for name, value in self.inputs if name == identifier]


class JobRequest(_Model):
    """GetStatus, GetResult or Dismiss of one job (WPS 2.0)."""

    version: str = "2.0.0"
    job_id: str


# ----------------------------------------------------------------------------- results


class LiteralResult(_Model):
    """A literal output value."""

    kind: Literal[DataKind.LITERAL] = DataKind.LITERAL
    value: str
    data_type: str = "string"
    uom: str | None = None


class ComplexResult(_Model):
    """A complex output: bytes in memory, or a file under the job's output folder."""

    kind: Literal[DataKind.COMPLEX] = DataKind.COMPLEX
    format: Format
    data: bytes | None = None
    path: Path | None = None


class BoundingBoxResult(_Model):
    """A bounding box output."""

    kind: Literal[DataKind.BBOX] = DataKind.BBOX
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    crs: str | None = None


OutputResult = LiteralResult | ComplexResult | BoundingBoxResult


class DeliveredOutput(_Model):
    """One output as the response delivers it: by value, or by reference to a URL."""

    description: ParameterDescription
    result: OutputResult
    reference: str | None = None  # public URL when delivered by reference


class ExecuteResult(_Model):
    """What an Execute produced, ready to encode."""

    job_id: str
    request: ExecuteRequest
    process: ProcessDescription
    outputs: tuple[DeliveredOutput, ...]


# ----------------------------------------------------------------------------- jobs


class JobStatus(StrEnum):
    """Job states; the WPS 2.0 / OGC API names are derived by the encoders."""

    ACCEPTED = "accepted"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DISMISSED = "dismissed"

    @property
    def finished(self) -> bool:
        """Whether the job will not change state any more."""
        return self in {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.DISMISSED}


class JobError(_Model):
    """The OWS exception a failed job reports."""

    code: str  # the OWS 1.1 / WPS 1.0.0 code
    wps2_code: str
    message: str
    locator: str | None = None


class JobInfo(_Model):
    """A job's record as status documents show it."""

    job_id: str
    process_id: str
    status: JobStatus
    created: datetime
    updated: datetime
    started: datetime | None = None
    finished: datetime | None = None
    expires: datetime | None = None
    estimated_completion: datetime | None = None
    next_poll: datetime | None = None
    percent: int | None = None
    message: str | None = None
    error: JobError | None = None
    expired: bool = False  # results swept away after the TTL
