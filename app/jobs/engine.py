"""The job engine: a bounded local pool running jobs recorded in the job store.

At most ``max_parallel`` jobs run at once and up to ``queue_size`` wait; one more is refused with
ServerBusy before anything is recorded. Synchronous executes go through the same pool (and count
against the same bounds); they simply wait for their job. Dismissing a job stops its computation at
the next task boundary (see JobCallback) and deletes its files.

Each job records the instance running it (``WPS_INSTANCE_NAME``). On start-up this instance fails the
jobs it left accepted or running before it stopped ("service restarted"); at start-up and at every
heartbeat it also fails the unfinished jobs of instances silent for longer than ``WPS_INSTANCE_LEASE``
("the service instance running this job stopped"), never those of a live one. Their files go too.
A job dismissed through another instance stops here at its next progress report or heartbeat.

Each job runs in a thread of the pool; where its graph computes is the engine's executor, chosen from
the settings: dask's threads in this process (the default), or the dask.distributed cluster of
``WPS_DASK_SCHEDULER`` (:mod:`app.jobs.distributed_executor`), which must be reachable for a job to be
accepted.
"""

from __future__ import annotations

import contextvars
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from app.jobs.context import LOCAL, Executor, JobCancelled, JobContext
from app.jobs.store import JobStore, utcnow
from app.model.errors import NoApplicableCode, ServerBusy, TooManyJobs, WpsError
from app.model.jobs import JobError, JobInfo, JobStatus
from app.model.requests import ExecuteRequest
from app.model.results import ExecuteResult
from app.settings import Settings

log = logging.getLogger(__name__)

Runner = Callable[[JobContext], ExecuteResult]


class JobObserver(Protocol):
    """Told of every job this process ran, when it ends (the service's metrics)."""

    def job_finished(self, process_id: str, seconds: float, code: str | None) -> None:
        """A job ended: succeeded (``code`` None) or failed with that exception code."""


RESTARTED = "the service restarted while this job was queued or running; submit it again"
INSTANCE_LOST = "the service instance running this job stopped; submit it again"


class JobEngine:
    """Runs jobs on a bounded thread pool and keeps their records up to date."""

    def __init__(
        self,
        settings: Settings,
        store: JobStore,
        executor: Executor | None = None,
        observer: JobObserver | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.executor = executor or executor_for(settings)
        self.observer = observer
        self._pool = ThreadPoolExecutor(max_workers=settings.max_parallel, thread_name_prefix="job")
        self._lock = threading.Lock()
        self._contexts: dict[str, JobContext] = {}
        self._owners: dict[str, str] = {}  # job id -> user, for the per-user limit
        self._unrecorded: set[str] = set()  # accepted here, not yet in the store

    def workdir(self, job_id: str) -> Path:
        """The folder holding a job's result files."""
        return self.settings.outputs_dir / job_id

    def recover(self) -> list[str]:
        """At start-up, before any job: fail this instance's interrupted jobs and those of instances
        silent past the lease, and remove their files. Never touches a live instance's jobs."""
        interrupted = self.store.fail_own_unfinished(_lost(RESTARTED))
        self._remove(interrupted)
        if interrupted:
            log.warning("marked %d interrupted jobs failed after restart", len(interrupted))
        return interrupted + self._fail_abandoned()

    def heartbeat(self) -> list[str]:
        """Tell the other instances this one is alive, and fail the jobs of those silent past the
        lease; the ids failed. Call it every ``WPS_INSTANCE_LEASE / 4`` seconds."""
        self.store.heartbeat()
        self._stop_ended_elsewhere()
        return self._fail_abandoned()

    def _fail_abandoned(self) -> list[str]:
        abandoned = self.store.fail_abandoned(self.settings.instance_lease, _lost(INSTANCE_LOST))
        self._remove(abandoned)
        if abandoned:
            log.warning("marked %d jobs of silent instances failed", len(abandoned))
        return abandoned

    def _remove(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            shutil.rmtree(self.workdir(job_id), ignore_errors=True)

    def submit(self, request: ExecuteRequest, runner: Runner, owner: str = "") -> JobInfo:
        """Record and queue a job of ``owner``, returning at once; ServerBusy when the queue is full."""
        info, _ = self._enqueue(request, runner, owner)
        return info

    def run(self, request: ExecuteRequest, runner: Runner, owner: str = "") -> ExecuteResult:
        """Record and queue a job, then wait for it; its result or the exception it failed with."""
        _, future = self._enqueue(request, runner, owner)
        result = future.result()
        if result is None:
            raise NoApplicableCode("the job was dismissed before it finished")
        return result

    def _enqueue(
        self, request: ExecuteRequest, runner: Runner, owner: str
    ) -> tuple[JobInfo, Future[ExecuteResult | None]]:
        self.executor.check()  # e.g. the cluster is unreachable: refused before anything is recorded
        job_id = uuid.uuid4().hex
        context = JobContext(
            job_id, self.workdir(job_id), report=lambda p: self._report(job_id, p), executor=self.executor
        )
        with self._lock:
            if len(self._contexts) >= self.settings.max_parallel + self.settings.queue_size:
                raise ServerBusy("the job queue is full; retry later")
            self._check_owner_quota(owner)
            self._contexts[job_id] = context
            self._owners[job_id] = owner
            self._unrecorded.add(job_id)
        expires = utcnow() + timedelta(seconds=self.settings.result_ttl)
        try:
            info = self.store.create(job_id, request, expires, owner)
        except BaseException:
            with self._lock:  # never recorded: it holds no slot
                self._contexts.pop(job_id, None)
                self._owners.pop(job_id, None)
            raise
        finally:
            with self._lock:
                self._unrecorded.discard(job_id)
        # in a copy of the submitting request's context: the job's log lines carry its request id
        run = contextvars.copy_context().run
        return info, self._pool.submit(run, self._run, context, runner, request.identifier)

    def _check_owner_quota(self, owner: str) -> None:
        """TooManyJobs when a named user already holds as many queued + running jobs as allowed.

        Counted in the job store, so the limit holds across every API process sharing it (two
        submits racing on two processes may both pass: the limit is exceeded by one at most).
        The jobs this process has accepted but not yet written to the store count too.
        """
        limit = self.settings.auth_max_jobs_per_user
        if not owner or limit is None:
            return
        recording = sum(1 for job_id in self._unrecorded if self._owners.get(job_id) == owner)
        held = self.store.unfinished_of(owner) + recording
        if held >= limit:
            raise TooManyJobs(
                f"you already have {held} jobs queued or running (at most {limit}); retry later"
            )

    def dismiss(self, job_id: str) -> None:
        """Stop a job (queued or running) and delete its files; finished jobs lose their results."""
        self._stop(job_id)
        self.store.update(job_id, status=JobStatus.DISMISSED, finished=utcnow(), percent=None)
        shutil.rmtree(self.workdir(job_id), ignore_errors=True)

    def running(self) -> int:
        """Jobs accepted by this process and not yet ended (running or queued)."""
        with self._lock:
            return len(self._contexts)

    def sweep(self) -> list[str]:
        """Delete the results of jobs past their expiry time; their records say so."""
        expired = self.store.due_for_expiry(utcnow())
        for job_id in expired:
            shutil.rmtree(self.workdir(job_id), ignore_errors=True)
            self.store.update(job_id, expired=True)
        return expired

    def shutdown(self) -> None:
        """Stop every job, the pool and the executor (the process is going away)."""
        with self._lock:
            for context in self._contexts.values():
                context.cancelled.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.executor.close()

    def _report(self, job_id: str, percent: int) -> None:
        if not self.store.update(job_id, only_if=(JobStatus.RUNNING,), percent=percent):
            self._stop(job_id)  # no longer running: dismissed (or failed) through another instance

    def _stop(self, job_id: str) -> None:
        with self._lock:
            context = self._contexts.get(job_id)
        if context is not None:
            context.cancelled.set()

    def _stop_ended_elsewhere(self) -> None:
        """Stop this instance's jobs that another instance dismissed (or failed) meanwhile.

        Progress reports notice it at once; this catches a job that reports nothing for a while.
        """
        with self._lock:
            job_ids = list(self._contexts)
        for job_id in job_ids:
            info = self.store.get(job_id)
            if info is None or info.status in (JobStatus.DISMISSED, JobStatus.FAILED):
                self._stop(job_id)

    def _run(self, context: JobContext, runner: Runner, process_id: str) -> ExecuteResult | None:
        """One job, in a thread of the pool: run, record the outcome, log it and tell the observer.

        Start, end (with its duration) and failure reason are logged once each, with the job id
        and process id as fields of the log record.
        """
        job_id = context.job_id
        fields = {"job_id": job_id, "process_id": process_id}
        started = time.monotonic()
        try:
            context.check()
            if not self.store.update(
                job_id, only_if=(JobStatus.ACCEPTED,), status=JobStatus.RUNNING, started=utcnow(), percent=0
            ):
                raise JobCancelled(job_id)
            started = time.monotonic()
            log.info("job started", extra=fields)
            context.workdir.mkdir(parents=True, exist_ok=True)
            result = runner(context)
            context.check()
            if not self.store.finish(job_id, result):  # dismissed while finishing
                raise JobCancelled(job_id)
            self._ended(process_id, started, None, fields)
            return result
        except JobCancelled:
            shutil.rmtree(context.workdir, ignore_errors=True)
            log.info("job dismissed", extra=fields | {"duration_s": _since(started)})
            return None
        except WpsError as error:
            self._failed(context, error, process_id, started, fields)
            raise
        except Exception as exc:
            error_id = uuid.uuid4().hex[:12]
            internal = NoApplicableCode(f"internal error; request id {error_id}")
            self._failed(context, internal, process_id, started, fields | {"error_id": error_id}, exc)
            raise internal from exc
        finally:
            with self._lock:
                self._contexts.pop(job_id, None)
                self._owners.pop(job_id, None)

    def _failed(
        self,
        context: JobContext,
        error: WpsError,
        process_id: str,
        started: float,
        fields: dict[str, str],
        cause: BaseException | None = None,
    ) -> None:
        shutil.rmtree(context.workdir, ignore_errors=True)
        if context.cancelled.is_set() or not self.store.fail(context.job_id, JobError.of(error)):
            log.info("job dismissed", extra=fields | {"duration_s": _since(started)})
            return
        self._ended(process_id, started, error, fields, cause)

    def _ended(
        self,
        process_id: str,
        started: float,
        error: WpsError | None,
        fields: dict[str, str],
        cause: BaseException | None = None,
    ) -> None:
        """Log the end of a job once and tell the observer."""
        seconds = time.monotonic() - started
        ended = fields | {"duration_s": round(seconds, 3)}
        if error is None:
            log.info("job succeeded", extra=ended)
        else:
            failure = ended | {"code": failure_code(error), "reason": error.message}
            log.log(logging.ERROR if cause else logging.WARNING, "job failed", extra=failure, exc_info=cause)
        if self.observer is not None:
            self.observer.job_finished(process_id, seconds, None if error is None else failure_code(error))


def failure_code(error: WpsError) -> str:
    """The most specific exception code of a failure (WPS 2.0's where it has one: DataNotAccessible
    says more than WPS 1.0.0's InvalidParameterValue)."""
    return error.wps2_code or error.code


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)


def _lost(message: str) -> JobError:
    """The error of a job whose instance stopped."""
    return JobError(code="NoApplicableCode", wps2_code="NoApplicableCode", message=message)


def executor_for(settings: Settings) -> Executor:
    """The cluster of ``settings.dask_scheduler`` when one is set, else this process's threads."""
    if not settings.dask_scheduler:
        return LOCAL
    from app.jobs.distributed_executor import ClusterExecutor  # distributed is imported only if used

    return ClusterExecutor(settings.dask_scheduler)
