"""How a job's record becomes what status documents report: polling hints, the error to show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.model.errors import NoApplicableCode
from app.model.jobs import JobError, JobInfo, JobStatus

MIN_POLL, MAX_POLL = 1.0, 30.0  # seconds between polls a client is advised to wait
UNKNOWN_RUNTIME = 2.0  # seconds assumed left when progress tells nothing yet


def with_polling_hints(info: JobInfo, now: datetime | None = None) -> JobInfo:
    """An unfinished job's record with EstimatedCompletion (from its progress rate) and NextPoll."""
    if info.status.finished:
        return info
    now = now or datetime.now(UTC)
    estimated = None
    if info.status is JobStatus.RUNNING and info.started and info.percent:
        elapsed = (now - info.started).total_seconds()
        estimated = info.started + timedelta(seconds=elapsed * 100 / info.percent)
    remaining = (estimated - now).total_seconds() if estimated else UNKNOWN_RUNTIME
    next_poll = now + timedelta(seconds=min(max(remaining / 4, MIN_POLL), MAX_POLL))
    return info.model_copy(update={"estimated_completion": estimated, "next_poll": next_poll})


def reported_error(info: JobInfo) -> JobError | None:
    """The exception a status document shows: the expiry of the results, or what the job failed with."""
    if info.expired:
        expiry = info.expires.isoformat() if info.expires else "its expiry time"
        return JobError.of(NoApplicableCode(f"the results of this job expired at {expiry}"))
    if info.status is JobStatus.FAILED:
        return info.error or JobError.of(NoApplicableCode("the job did not finish"))
    return None
