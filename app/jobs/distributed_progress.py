"""The share of finished tasks of one job's graph on a dask.distributed cluster, as the scheduler sees it.

The client only holds futures for a job's outputs; the tasks behind them (reads, kernels, writes) are
known to the scheduler alone. So a :class:`ProgressFeed` asks the scheduler to stream it, on its own
connection, how many of those tasks remain: distributed's ``Progress`` scheduler plugin (the one
behind ``distributed.progress``) tracks every task the output keys depend on, and the scheduler's
``feed`` handler sends its counts every ``interval`` seconds until the job finishes or the
connection closes. The three small functions the scheduler runs travel pickled by value (they are
local functions); they need nothing of this service on the scheduler, only distributed itself, and
``distributed.scheduler.pickle`` left on (its default).

The feed runs on the client's event loop and only records the latest counts: the job's own thread
reads :attr:`ProgressFeed.percent` and writes it to the job store, so no store write ever runs on
the event loop that every job of the process shares.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from distributed import Client, Future
from distributed.comm.core import connect
from distributed.diagnostics.progress import Progress
from distributed.protocol.pickle import dumps

log = logging.getLogger(__name__)

SETUP_DEADLINE = 30.0  # seconds the scheduler waits for a job's keys to arrive before giving up


def _feed_functions(keys: set[Any]) -> tuple[Callable[..., Any], ...]:
    """The setup, report and teardown functions the scheduler's ``feed`` runs for ``keys``."""

    async def setup(scheduler: Any) -> Any:
        # The graph arrives on the client's own connection: wait for it, but not forever (the
        # job may have been cancelled before its keys ever reached the scheduler).
        deadline = time.monotonic() + SETUP_DEADLINE
        while not keys.issubset(scheduler.tasks):
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.05)
        progress = Progress(keys, scheduler, complete=True)
        await progress.setup()
        return progress

    def report(scheduler: Any, progress: Any = None) -> dict[str, Any]:
        if progress is None:
            return {"all": 0, "remaining": 0, "status": "error"}
        return {"all": len(progress.all_keys), "remaining": len(progress.keys), "status": progress.status}

    def teardown(scheduler: Any, progress: Any = None) -> None:
        if progress is not None and progress.name in scheduler.plugins:
            scheduler.remove_plugin(name=progress.name)

    return setup, report, teardown


class ProgressFeed:
    """Streams, while entered, the share of finished tasks behind ``futures`` from the scheduler."""

    def __init__(self, client: Client, futures: Iterable[Future[Any]], interval: float = 0.5) -> None:
        self.client = client
        self.keys = {future.key for future in futures}
        self.interval = interval
        self.total = 0
        self.remaining = 0
        self._task: concurrent.futures.Future[None] | None = None

    @property
    def percent(self) -> int:
        """Finished tasks in percent of all the job's tasks; at most 99 (the job is not done yet)."""
        if self.total <= 0:
            return 0
        return min(99, int(100 * (self.total - self.remaining) / self.total))

    def __enter__(self) -> ProgressFeed:
        self._task = asyncio.run_coroutine_threadsafe(self._listen(), _event_loop(self.client))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()  # closes the connection; the scheduler then removes its plugin

    async def _listen(self) -> None:
        """Open a connection to the scheduler, ask for the feed and record what it sends."""
        setup, report, teardown = _feed_functions(self.keys)
        scheduler = self.client.scheduler
        assert scheduler is not None  # a connected client
        try:
            comm = await connect(scheduler.address, **self.client.connection_args)
        except OSError as exc:
            log.debug("no progress feed: %s", exc)
            return
        try:
            await comm.write(
                {
                    "op": "feed",
                    "setup": dumps(setup),
                    "function": dumps(report),
                    "teardown": dumps(teardown),
                    "interval": self.interval,
                }
            )
            while True:
                answer = await comm.read()
                self.total, self.remaining = int(answer["all"]), int(answer["remaining"])
                if answer["status"] in ("error", "finished"):
                    return
        except OSError as exc:  # CommClosedError included: the scheduler went away
            log.debug("progress feed ended: %s", exc)
        finally:
            with contextlib.suppress(Exception):
                comm.abort()


def _event_loop(client: Client) -> asyncio.AbstractEventLoop:
    """The asyncio loop the (synchronous) client runs its connections on, in its own thread."""
    loop = getattr(client.loop, "asyncio_loop", None)
    if not isinstance(loop, asyncio.AbstractEventLoop):
        raise RuntimeError("the dask client runs no asyncio event loop")
    return loop
