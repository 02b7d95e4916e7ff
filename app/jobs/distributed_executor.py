"""Jobs' graphs on a dask.distributed cluster (``WPS_DASK_SCHEDULER``): the API process only orchestrates.

With a scheduler configured, :meth:`app.jobs.context.JobContext.compute` hands a job's collections
to :class:`ClusterExecutor`: ``client.compute`` sends the whole graph (all the job's outputs at once,
so shared inputs are read once) to the scheduler, which spreads its chunks over every worker; the
workers read the inputs (guarded paths, each worker process through its own egress proxy) and write
the results into ``WPS_DATA_DIR``, which all hosts share. The job's thread in the API process waits
for the output futures, reports progress and watches for dismissal and trouble.

- **Client**: one per API process (:class:`ClusterConnection`), created on first use, thread-safe,
  shared by all jobs. When the connection to the scheduler drops, distributed's client cancels its
  futures and tries to reconnect for ``CONNECT_TIMEOUT`` seconds, then closes; the next job then
  connects anew. Failed attempts are not repeated for ``RETRY_INTERVAL`` seconds, so a burst of
  submits against a dead scheduler fails fast.
- **Submit**: the engine calls :meth:`ClusterExecutor.check` before it records a job: an unreachable
  scheduler refuses the job with :class:`ClusterUnreachable` (ServerBusy, HTTP 503, Retry-After).
  Nothing else of the API depends on the cluster: it keeps serving.
- **Progress**: the share of finished tasks of the job's graph, streamed by the scheduler
  (:mod:`app.jobs.distributed_progress`), written to the store by the job's thread.
- **Dismiss**: within ``POLL`` seconds the job's futures are cancelled with ``force=True``; the
  scheduler forgets the job's tasks and the workers drop them (a task already running finishes
  first: chunk tasks take well under a second).
- **Failures**: a worker lost mid-job makes the scheduler recompute its tasks on other workers; a
  task whose workers died ``allowed-failures`` + 1 times (distributed's KilledWorker) fails the job
  with a reason. The scheduler lost mid-job, or no worker at all for ``NO_WORKER_GRACE`` seconds,
  fails the job with a reason too: a job never stays running on a broken cluster. Exceptions raised
  by tasks on the workers arrive as themselves (pickled): a WpsError (e.g. DataNotAccessible from a
  read) reaches the client unchanged; anything else becomes the engine's internal error.
- **No job timeout**: as on the local pool, a job runs as long as its graph needs; only a cluster
  that cannot make progress (above) ends it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import CancelledError
from typing import Any

import dask.base
from distributed import Client, Future, KilledWorker
from distributed.comm.core import CommClosedError

from app.jobs.context import JobCancelled, JobContext
from app.jobs.distributed_progress import ProgressFeed
from app.jobs.distributed_worker import WorkerSetup
from app.model.errors import NoApplicableCode, ServerBusy, WpsError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0  # seconds to reach the scheduler (and to reconnect after a drop)
RETRY_INTERVAL = 2.0  # seconds during which a failed connection attempt is not repeated
RETRY_AFTER = 10  # what a refused client is told to wait (Retry-After, seconds)
POLL = 0.2  # seconds between checks of a job's futures, its dismissal and progress
WORKERS_CHECK = 2.0  # seconds between checks that the cluster still has workers
NO_WORKER_GRACE = 60.0  # seconds a job waits for a worker to (re)appear before it fails

UNREACHABLE = "the processing cluster is unreachable; retry later"
LOST = "the connection to the processing cluster was lost while the job ran; submit it again"
NO_WORKERS = "the processing cluster had no worker for {seconds:.0f} s; submit the job again later"
KILLED = (
    "processing workers died while computing part of this job ({tries} times; out of memory?); "
    "submit it again, or with smaller inputs"
)


class ClusterUnreachable(ServerBusy):
    """The dask scheduler cannot be reached: no job can run now (HTTP 503 with Retry-After)."""

    def __init__(self, message: str = UNREACHABLE, locator: str | None = None) -> None:
        super().__init__(message, locator)
        self.headers = {"Retry-After": str(RETRY_AFTER)}


class ClusterFailed(NoApplicableCode):
    """The cluster stopped being able to run a job (connection lost, no workers): HTTP 503."""

    http_status = 503


class ClusterConnection:
    """The one dask.distributed Client of this process: created lazily, replaced once it closed."""

    def __init__(
        self, address: str, connect_timeout: float | None = None, retry_interval: float | None = None
    ) -> None:
        self.address = address
        self.connect_timeout = CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
        self.retry_interval = RETRY_INTERVAL if retry_interval is None else retry_interval
        self._lock = threading.Lock()
        self._client: Client | None = None
        self._retry_at = 0.0

    def client(self) -> Client:
        """The connected client; ClusterUnreachable when the scheduler cannot be reached now."""
        with self._lock:
            current = self._client
            if current is not None and current.status == "running":
                return current
            if current is not None and current.status == "connecting":  # reconnecting by itself
                raise ClusterUnreachable()
            if current is not None:  # closed: its reconnection gave up
                self._client = None
                _close_quietly(current)
            if time.monotonic() < self._retry_at:
                raise ClusterUnreachable()
            self._client = self._connect()
            return self._client

    def _connect(self) -> Client:
        try:
            client = Client(
                self.address,
                timeout=self.connect_timeout,
                set_as_default=False,
                name=f"rasterwps-api-{os.getpid()}",
            )
        except (OSError, TimeoutError, ValueError) as exc:
            self._retry_at = time.monotonic() + self.retry_interval
            log.warning("cannot reach the dask scheduler at %s: %s", self.address, exc)
            raise ClusterUnreachable() from exc
        log.info("connected to the dask scheduler at %s", self.address)
        return client

    def close(self) -> None:
        """Close the client, if any (the process is stopping)."""
        with self._lock:
            current, self._client = self._client, None
        if current is not None:
            _close_quietly(current)


def _close_quietly(client: Client) -> None:
    with contextlib.suppress(Exception):
        client.close(timeout=10)


class ClusterExecutor:
    """Runs each job's graph on the cluster of ``address`` (see the module docstring)."""

    def __init__(self, address: str, no_worker_grace: float | None = None) -> None:
        self.connection = ClusterConnection(address)
        self._no_worker_grace = no_worker_grace

    @property
    def no_worker_grace(self) -> float:
        """Seconds a job waits for a worker to (re)appear (``NO_WORKER_GRACE`` unless given)."""
        return NO_WORKER_GRACE if self._no_worker_grace is None else self._no_worker_grace

    def check(self) -> None:
        """ClusterUnreachable unless the scheduler answers (connecting now if needed)."""
        self.connection.client()

    def close(self) -> None:
        """Close this process's client."""
        self.connection.close()

    def compute(self, context: JobContext, collections: Sequence[Any]) -> tuple[Any, ...]:
        """Compute the dask collections among ``collections`` on the cluster; the rest as they are."""
        lazy = [i for i, item in enumerate(collections) if dask.base.is_dask_collection(item)]
        results = list(collections)
        if not lazy:
            return tuple(results)
        client = self.connection.client()
        with _translated_failures(context):
            context.check()
            client.register_plugin(WorkerSetup())
            futures: list[Future[Any]] = client.compute([collections[i] for i in lazy])
            try:
                values = self._outcome(client, futures, context)
            finally:
                _cancel_unfinished(client, futures)
        for index, value in zip(lazy, values, strict=True):
            results[index] = value
        return tuple(results)

    def _outcome(self, client: Client, futures: list[Future[Any]], context: JobContext) -> list[Any]:
        """Wait for the futures (reporting progress, watching dismissal and workers); their values."""
        watch = _WorkerWatch(client, self.no_worker_grace)
        changed = threading.Event()  # set whenever a future finishes, fails or is cancelled
        for future in futures:
            future.add_done_callback(lambda _: changed.set())
        reported = -1
        with ProgressFeed(client, futures) as feed:
            while not _settled(futures):
                context.check()
                watch.check()
                if feed.percent > reported:
                    reported = feed.percent
                    context.report(reported)
                changed.wait(POLL)
                changed.clear()
        values: list[Any] = client.gather(futures)
        return values


def _settled(futures: list[Future[Any]]) -> bool:
    """All finished, or one failed or was cancelled (the others need not run on)."""
    return all(future.done() for future in futures) or any(
        future.status in ("error", "cancelled") for future in futures
    )


def _cancel_unfinished(client: Client, futures: list[Future[Any]]) -> None:
    """Cancel what still runs (dismissed, failed, or the API stopping): the workers drop it."""
    unfinished = [future for future in futures if not future.done()]
    if unfinished and client.status == "running":
        with contextlib.suppress(Exception):
            client.cancel(unfinished, force=True)


class _WorkerWatch:
    """Fails a job once the cluster has had no worker for ``grace`` seconds (its tasks would wait
    forever); asks the scheduler at most every WORKERS_CHECK seconds."""

    def __init__(self, client: Client, grace: float) -> None:
        self.client = client
        self.grace = grace
        self.next_check = time.monotonic() + WORKERS_CHECK
        self.none_since: float | None = None

    def check(self) -> None:
        now = time.monotonic()
        if now < self.next_check:
            return
        self.next_check = now + WORKERS_CHECK
        try:
            workers = len(self.client.nthreads())
        except (OSError, TimeoutError):  # connection trouble: the futures say so soon enough
            return
        if workers:
            self.none_since = None
            return
        self.none_since = self.none_since or now
        if now - self.none_since >= self.grace:
            raise ClusterFailed(NO_WORKERS.format(seconds=now - self.none_since))


@contextlib.contextmanager
def _translated_failures(context: JobContext) -> Iterator[None]:
    """Cluster failures as the service's errors; WpsErrors raised by tasks pass unchanged."""
    try:
        yield
    except (JobCancelled, WpsError):
        raise
    except KilledWorker as exc:
        log.warning("job %s: %s", context.job_id, exc)
        raise NoApplicableCode(KILLED.format(tries=exc.allowed_failures + 1)) from exc
    except CancelledError as exc:  # the futures were cancelled: by a dismissal, or by a lost scheduler
        if context.cancelled.is_set():
            raise JobCancelled(context.job_id) from exc
        log.warning("job %s: its futures were cancelled: %s", context.job_id, exc)
        raise ClusterFailed(LOST) from exc
    except CommClosedError as exc:
        log.warning("job %s: %s", context.job_id, exc)
        raise ClusterFailed(LOST) from exc
