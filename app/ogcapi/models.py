"""The JSON documents of OGC API - Processes - Part 1: Core 1.0 as pydantic models.

They give the OpenAPI document its schemas (named after the standard's ``*.yaml`` fragments) and
parse execute requests. Responses are built from them and dumped without ``None`` members, since the
official schemas do not allow ``null`` where a member is optional.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

JobControlOption = Literal["sync-execute", "async-execute", "dismiss"]
TransmissionMode = Literal["value", "reference"]
StatusCode = Literal["accepted", "running", "successful", "failed", "dismissed"]


class _Document(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    def dump(self) -> dict[str, Any]:
        """The JSON form: aliases, no ``None`` members."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Link(_Document):
    """A web link (link.yaml); as an input value, a reference to fetch (``type``: its media type)."""

    model_config = ConfigDict(extra="forbid")

    href: str
    rel: str | None = None
    type: str | None = None
    hreflang: str | None = None
    title: str | None = None


class LandingPage(_Document):
    """The landing page (landingPage.yaml)."""

    title: str | None = None
    description: str | None = None
    links: list[Link]


class ConfClasses(_Document):
    """The conformance declaration (confClasses.yaml)."""

    conformsTo: list[str]


class ProcessSummary(_Document):
    """A process in the process list (processSummary.yaml)."""

    id: str
    title: str | None = None
    description: str | None = None
    keywords: list[str] | None = None
    version: str
    jobControlOptions: list[JobControlOption] | None = None
    outputTransmission: list[TransmissionMode] | None = None
    links: list[Link] | None = None


JsonSchema = Annotated[
    dict[str, Any],
    Field(description="A JSON Schema (OpenAPI 3.0 flavour, schema.yaml) of one value"),
]


class InputDescription(_Document):
    """One input of a process (inputDescription.yaml)."""

    title: str | None = None
    description: str | None = None
    keywords: list[str] | None = None
    minOccurs: int = 1
    maxOccurs: int | Literal["unbounded"] = 1
    value_schema: JsonSchema = Field(alias="schema")


class OutputDescription(_Document):
    """One output of a process (outputDescription.yaml)."""

    title: str | None = None
    description: str | None = None
    keywords: list[str] | None = None
    value_schema: JsonSchema = Field(alias="schema")


class Process(ProcessSummary):
    """A full process description (process.yaml)."""

    inputs: dict[str, InputDescription]
    outputs: dict[str, OutputDescription]


class ProcessList(_Document):
    """The process list (processList.yaml)."""

    processes: list[ProcessSummary]
    links: list[Link]


class StatusInfo(_Document):
    """The status of a job (statusInfo.yaml)."""

    processID: str | None = None
    type: Literal["process"] = "process"
    jobID: str
    status: StatusCode
    message: str | None = None
    created: datetime | None = None
    started: datetime | None = None
    finished: datetime | None = None
    updated: datetime | None = None
    progress: Annotated[int, Field(ge=0, le=100)] | None = None
    links: list[Link] | None = None


class JobList(_Document):
    """A page of jobs (jobList.yaml)."""

    jobs: list[StatusInfo]
    links: list[Link]


class Problem(_Document):
    """An RFC 7807 problem detail (exception.yaml); ``code`` and ``locator`` name the WPS code and input."""

    model_config = ConfigDict(extra="allow", title="Exception")

    type: str
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None


# ----------------------------------------------------------------------------- execute requests


class FormatSpec(_Document):
    """A media type, encoding and schema (format.yaml)."""

    mediaType: str | None = None
    encoding: str | None = None
    format_schema: str | dict[str, Any] | None = Field(default=None, alias="schema")


class QualifiedValue(FormatSpec):
    """A value with its format (qualifiedInputValue.yaml); ``uom`` for literals with a unit."""

    model_config = ConfigDict(extra="forbid")

    value: Any
    uom: str | None = None


class BoundingBox(_Document):
    """A bounding box (bbox.yaml): 4 or 6 numbers, lower corner first; CRS84 unless ``crs`` says otherwise."""

    model_config = ConfigDict(extra="forbid")

    bbox: Annotated[list[float], Field(min_length=4, max_length=6)]
    crs: str | None = None


InlineOrRef = BoundingBox | QualifiedValue | Link | bool | int | float | str | dict[str, Any]
InputEntry = InlineOrRef | list[InlineOrRef]


class OutputSpec(_Document):
    """How one output is wanted (output.yaml): its format and transmission mode."""

    format: FormatSpec | None = None
    transmissionMode: TransmissionMode = "value"


class Execute(_Document):
    """An execute request (execute.yaml).

    ``inputs`` maps input identifiers to a value, a qualified value, a link (``href``) or a bounding
    box, or to an array of those for several occurrences. ``outputs`` selects outputs (all of them,
    by value, when omitted or empty). ``response`` is ``raw`` by default, as in the standard.
    ``subscriber`` (callbacks) is accepted and ignored: the callback class is not implemented.
    """

    model_config = ConfigDict(extra="ignore", title="Execute")

    inputs: dict[str, InputEntry] = Field(default_factory=dict)
    outputs: dict[str, OutputSpec] = Field(default_factory=dict)
    response: Literal["raw", "document"] = "raw"
    subscriber: dict[str, Any] | None = None


ResultValue = BoundingBox | QualifiedValue | Link | bool | int | float | str | list[Any] | dict[str, Any]


class Results(RootModel[dict[str, ResultValue]]):
    """The results document (results.yaml): output identifier -> value, qualified value, link or bbox."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"literal": "hello", "bbox": {"bbox": [5.0, 45.0, 6.0, 46.0]}}}
    )
