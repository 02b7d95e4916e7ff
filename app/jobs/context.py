"""What a running job can see: its id and folder, progress reporting, cancellation, and where it computes.

A job's graph runs in one place, :meth:`JobContext.compute`, which hands it to the job's executor:
the :class:`LocalExecutor` (dask's threaded scheduler in this process, the embedded default) or the
cluster executor of :mod:`app.jobs.distributed_executor` (``WPS_DASK_SCHEDULER``). Locally, progress
and cancellation reach the scheduler through a callback passed explicitly to the job's one
``compute`` of all its outputs (``compute_kwargs``): dask's global callback registry would mix up
jobs running side by side in other threads.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import dask
import dask.array as da
import dask.base
import numpy as np
from dask.callbacks import Callback
from dask.delayed import Delayed


class JobCancelled(Exception):
    """Raised inside a job's computation once the job was dismissed."""


class Executor(Protocol):
    """Where the graphs of jobs run: ``compute`` one job's collections, report, stop when dismissed."""

    def check(self) -> None:
        """Raise a WpsError when no job could run now (before a job is accepted)."""

    def compute(self, context: JobContext, collections: Sequence[Any]) -> tuple[Any, ...]:
        """Compute ``collections`` together for the job of ``context``; their values, in order.

        Reports the share of finished tasks through ``context.report`` and raises JobCancelled
        soon after ``context.cancelled`` is set.
        """
        ...

    def close(self) -> None:
        """Let go of what the executor holds (the service is stopping)."""


class LocalExecutor:
    """dask's local threaded scheduler, in this process: the embedded default.

    Every job's graph runs on ONE pool of as many threads as the machine has cores (dask's
    ``num_workers`` setting, if set, instead). Left to itself, dask's scheduler called from a
    job's thread (any thread but the main one) makes a pool of ``cores + 4`` threads for that
    thread: on 2 cores that is 6 chunks in flight per job, which doubled the peak memory and lost
    time to contention; and each job thread got a pool of its own, so parallel jobs multiplied
    it. Jobs running side by side now share the cores, chunk by chunk.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def check(self) -> None:
        """Jobs can always run here."""

    def compute(self, context: JobContext, collections: Sequence[Any]) -> tuple[Any, ...]:
        """``dask.compute`` on the shared pool, with the job's progress and cancellation callback."""
        kwargs = context.compute_kwargs() | {"scheduler": "threads", "pool": self.pool()}
        results: tuple[Any, ...] = dask.base.compute(*collections, **kwargs)
        return results

    def pool(self) -> ThreadPoolExecutor:
        """The threads every job's chunks run on (created on first use)."""
        with self._lock:
            if self._pool is None:
                threads = dask.config.get("num_workers", None) or os.cpu_count() or 1
                self._pool = ThreadPoolExecutor(int(threads), thread_name_prefix="dask-local")
            return self._pool

    def close(self) -> None:
        """Nothing to let go of: the pool serves the process's lifetime (tests build many apps)."""


LOCAL = LocalExecutor()


@dataclass
class JobContext:
    """Handed to the process runner of one job."""

    job_id: str
    workdir: Path
    report: Callable[[int], None] = lambda percent: None
    cancelled: threading.Event = field(default_factory=threading.Event)
    executor: Executor = LOCAL

    def check(self) -> None:
        """Raise JobCancelled when the job was dismissed."""
        if self.cancelled.is_set():
            raise JobCancelled(self.job_id)

    def compute_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``dask.compute``/``da.store`` on the local scheduler: progress and
        cancellation."""
        return {"callbacks": [JobCallback(self)._callback]}

    def compute(self, *collections: Any) -> tuple[Any, ...]:
        """Compute dask collections together, reporting progress and stopping once dismissed.

        The one place a job's graph runs: on the job's executor (this process's threads, or the
        cluster). Shared inputs of several collections are read once.
        """
        if not collections:
            return ()
        results = self.executor.compute(self, [_one_kind(item) for item in collections])
        return tuple(_unwrapped(result, item) for result, item in zip(results, collections, strict=True))


class JobCallback(Callback):
    """Reports the share of finished tasks and stops scheduling tasks of a dismissed job."""

    def __init__(self, context: JobContext) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # dask's Callback is untyped
        self.context = context
        self.total = 0
        self.done = 0
        self.last_report = 0.0

    def _start_state(self, dsk: Any, state: dict[str, Any]) -> None:
        self.total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))

    def _pretask(self, key: Any, dsk: Any, state: Any) -> None:
        self.context.check()

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self.last_report < 0.25 and self.done < self.total:
            return
        self.last_report = now
        self.context.report(min(99, int(100 * self.done / max(self.total, 1))))


def _one_kind(collection: Any) -> Any:
    """A ``dask.delayed`` value as a 0-d object array, anything else as it is.

    dask 2026.8's ``compute`` returns the results of collections of different kinds grouped by
    kind (every array's, then every Delayed's, in the order each kind first appears), not in the
    order given: a job whose outputs mix a document (Delayed) and arrays would hand each output
    another's value. One kind per compute keeps the order, and arrays keep their optimizations.
    """
    if isinstance(collection, Delayed):
        return da.from_delayed(collection, shape=(), dtype=object)
    return collection


def _unwrapped(result: Any, collection: Any) -> Any:
    """A result as its collection's kind gives it: a Delayed's value, not the array around it."""
    if isinstance(collection, Delayed) and isinstance(result, np.ndarray) and result.ndim == 0:
        return result.item()
    return result
