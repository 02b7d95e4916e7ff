"""What a running job can see: its id and folder, progress reporting and cancellation.

Progress and cancellation reach the dask local scheduler through a callback passed explicitly to
the job's one ``compute`` of all its outputs (``compute_kwargs``): dask's global callback registry
would mix up jobs running side by side in other threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask.base
from dask.callbacks import Callback


class JobCancelled(Exception):
    """Raised inside a job's computation once the job was dismissed."""


@dataclass
class JobContext:
    """Handed to the process runner of one job."""

    job_id: str
    workdir: Path
    report: Callable[[int], None] = lambda percent: None
    cancelled: threading.Event = field(default_factory=threading.Event)

    def check(self) -> None:
        """Raise JobCancelled when the job was dismissed."""
        if self.cancelled.is_set():
            raise JobCancelled(self.job_id)

    def compute_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``dask.compute``/``da.store``: progress and cancellation."""
        return {"callbacks": [JobCallback(self)._callback]}

    def compute(self, *collections: Any) -> tuple[Any, ...]:
        """Compute dask collections together, reporting progress and stopping once dismissed.

        The one place a job's graph runs: on the local threaded scheduler here (an executor may
        hand its jobs a context that runs them elsewhere, e.g. on a dask.distributed cluster).
        """
        results: tuple[Any, ...] = dask.base.compute(*collections, **self.compute_kwargs())
        return results


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
