"""The requests of the JSON face as its resources receive them (HTTP already parsed by the API layer)."""

from __future__ import annotations

from dataclasses import dataclass

from app.model.requests import JobOperation
from app.ogcapi.models import Execute, StatusCode


@dataclass(frozen=True)
class ProcessListCall:
    """``GET /processes``: one page of the process list."""

    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class ProcessCall:
    """``GET /processes/{processID}``: one process description."""

    process_id: str


@dataclass(frozen=True)
class ExecuteCall:
    """``POST /processes/{processID}/execution``: the execute document and the ``Prefer`` header."""

    process_id: str
    body: Execute
    prefer: str | None = None

    @property
    def asynchronous(self) -> bool:
        """Whether the client prefers a job (``Prefer: respond-async``)."""
        return self.prefer is not None and "respond-async" in self.prefer.lower()


@dataclass(frozen=True)
class JobListCall:
    """``GET /jobs``: a page of jobs with the standard's filters, as given."""

    limit: int = 10
    offset: int = 0
    status: tuple[StatusCode, ...] = ()
    process_ids: tuple[str, ...] = ()
    types: tuple[str, ...] | None = None


@dataclass(frozen=True)
class JobCall:
    """``/jobs/{jobID}`` (status, DELETE dismiss) and ``/jobs/{jobID}/results``."""

    job_id: str
    operation: JobOperation


ApiCall = ProcessListCall | ProcessCall | ExecuteCall | JobCall  # what the Codec decodes
# JobListCall is read by Codec.job_query: job lists are this face's own
