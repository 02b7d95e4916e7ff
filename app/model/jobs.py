"""Jobs: their states and records, as status documents show them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from app.model.base import Model
from app.model.descriptions import ProcessDescription
from app.model.errors import WpsError, error_from_codes
from app.model.requests import ExecuteRequest
from app.model.results import ExecuteResult


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


class JobError(Model):
    """The OWS exception a failed job reports."""

    code: str  # the OWS 1.1 / WPS 1.0.0 code
    wps2_code: str
    message: str
    locator: str | None = None

    @classmethod
    def of(cls, error: WpsError) -> JobError:
        """The record of an exception a job reports."""
        return cls(
            code=error.code_for("1.0.0"),
            wps2_code=error.code_for("2.0.0"),
            message=error.message,
            locator=error.locator,
        )

    def exception(self) -> WpsError:
        """The exception this record stands for, rebuilt."""
        return error_from_codes(self.code, self.wps2_code, self.message, self.locator)


class JobInfo(Model):
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
    owner: str = ""  # the user who submitted it ("" = anonymous)


class JobReport(Model):
    """A job as every status document shows it: its record, what it was asked, how it ended.

    ``result`` is there once the job succeeded (and until its results expire); ``error`` is the
    exception a status document reports: the one the job failed with, or the expiry of its results.
    """

    info: JobInfo
    request: ExecuteRequest
    process: ProcessDescription
    result: ExecuteResult | None = None
    error: JobError | None = None


class JobQuery(Model):
    """Which jobs to list: in any of ``statuses`` (none: no job matches), of ``process_ids`` (any)."""

    statuses: tuple[JobStatus, ...]
    process_ids: tuple[str, ...] = ()
    limit: int = 10
    offset: int = 0


class JobPage(Model):
    """One page of a job list, newest first; ``more`` when further jobs follow."""

    query: JobQuery
    jobs: tuple[JobInfo, ...]
    more: bool = False


class JobCounts(Model):
    """How many jobs the store holds in each state, and how many this process runs or queues."""

    by_status: dict[JobStatus, int]
    active: int
