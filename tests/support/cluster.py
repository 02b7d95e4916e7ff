"""A real dask.distributed cluster on 127.0.0.1 for tests: ``dask scheduler`` and ``dask worker``
child processes (distributed's own CLI, as an operator would start them), and test-only processes
whose graphs run on it.

    with ProcessCluster(tmp_path, workers=2) as cluster:
        settings = Settings(..., dask_scheduler=cluster.address)
        cluster.kill_worker(0)          # SIGKILL, as a crash or the OOM killer would
        cluster.stop_scheduler(); cluster.start_scheduler()   # same port; workers started again

Workers run without a nanny (a killed worker stays dead, so tests decide what happens next), one
thread each, from the repository root (they import ``app`` and this module to run the tasks) with
the test process's environment plus ``WPS_DATA_DIR``. Logs go to ``scheduler.log`` and
``worker-<n>.log`` under the cluster's folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any

import dask.array as da
import numpy as np
import xarray as xr
from distributed import Client
from pydantic import Field

from app.algorithms.base import ComplexInput, LiteralInput, Output, Process, ProcessInputs
from app.algorithms.formats import GEOTIFF_FORMATS
from app.algorithms.registry import Registry, default_registry
from app.model.descriptions import DataKind, LiteralDomain
from app.model.errors import DataNotAccessible
from tests.support.service import ROOT, free_port, stop_process
from tests.support.slow_processes import Slow

START_TIMEOUT = 60.0


class ProcessCluster:
    """A scheduler and ``workers`` worker processes on 127.0.0.1, started by ``with``."""

    def __init__(
        self,
        directory: Path,
        workers: int = 2,
        env: Mapping[str, str] | None = None,
        nthreads: int = 1,
        memory_limit: str = "2GiB",
    ) -> None:
        self.directory = directory
        self.port = free_port()
        self.size = workers
        self.nthreads = nthreads
        self.memory_limit = memory_limit
        self.env = os.environ | {"WPS_DATA_DIR": str(directory / "data")} | dict(env or {})
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self._client: Client | None = None

    @property
    def address(self) -> str:
        """``tcp://127.0.0.1:<port>``."""
        return f"tcp://127.0.0.1:{self.port}"

    def __enter__(self) -> ProcessCluster:
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            self.start_scheduler()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._close_client()
        for process in [*self.workers, self.scheduler]:
            if process is not None:
                stop_process(process)
        self.workers, self.scheduler = [], None

    def _spawn(self, name: str, *arguments: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "dask", *arguments]
        with (self.directory / f"{name}.log").open("ab") as log:
            return subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def start_scheduler(self) -> None:
        """Start the scheduler on the cluster's port, then as many workers as are missing."""
        arguments = ("scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard")
        self.scheduler = self._spawn("scheduler", *arguments)
        self.workers = [worker for worker in self.workers if worker.poll() is None]
        for _ in range(self.size - len(self.workers)):
            self.start_worker()
        self.wait_for_workers(self.size)

    def stop_scheduler(self) -> None:
        """Stop the scheduler (SIGTERM); its workers exit on their own (waited for, stopped if not)."""
        self._close_client()
        if self.scheduler is not None:
            stop_process(self.scheduler)
            self.scheduler = None
        for worker in self.workers:
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                stop_process(worker)
        self.workers = []

    def start_worker(self) -> subprocess.Popen[bytes]:
        """One more worker process (not waited for)."""
        name = f"worker-{len(self.workers)}-{time.monotonic_ns()}"
        process = self._spawn(
            name,
            "worker",
            self.address,
            "--host",
            "127.0.0.1",
            "--nthreads",
            str(self.nthreads),
            "--no-nanny",
            "--no-dashboard",
            "--memory-limit",
            self.memory_limit,
            "--local-directory",
            str(self.directory / "scratch"),
            "--death-timeout",
            "30",
        )
        self.workers.append(process)
        return process

    def kill_worker(self, index: int = 0) -> int:
        """SIGKILL a worker process; its pid."""
        process = self.workers.pop(index)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        return process.pid

    def restore_workers(self) -> None:
        """Start workers until there are ``workers`` again, and wait for them."""
        self.workers = [worker for worker in self.workers if worker.poll() is None]
        for _ in range(self.size - len(self.workers)):
            self.start_worker()
        self.wait_for_workers(self.size)

    def client(self) -> Client:
        """A client of the test itself, for looking at the cluster (never the service's)."""
        if self._client is None or self._client.status != "running":
            self._close_client()
            self._client = Client(self.address, timeout=START_TIMEOUT, set_as_default=False)
        return self._client

    def wait_for_workers(self, count: int) -> None:
        """Until exactly ``count`` workers are registered with the scheduler."""
        client = self.client()
        deadline = time.monotonic() + START_TIMEOUT
        while len(client.nthreads()) != count:
            assert time.monotonic() < deadline, f"{len(client.nthreads())} workers, not {count}"
            time.sleep(0.1)

    def executing(self) -> dict[str, int]:
        """Tasks each worker is executing or holds right now (all 0 on an idle cluster)."""
        counts: dict[str, int] = self.client().run(_worker_load)
        return counts

    def _close_client(self) -> None:
        if self._client is not None:
            self._client.close(timeout=10)
            self._client = None


def _worker_load(dask_worker: Any) -> int:
    """Runs on a worker: tasks it executes plus tasks it still holds."""
    state = dask_worker.state
    return int(state.executing_count) + len(state.tasks)


@contextmanager
def task_stream(cluster: ProcessCluster) -> Iterator[list[dict[str, Any]]]:
    """Records every task the cluster runs inside the block: dicts with ``key`` and ``worker``."""
    client = cluster.client()
    start = time.time()
    client.get_task_stream(count=0)  # installs the scheduler's task-stream plugin
    records: list[dict[str, Any]] = []
    yield records
    records.extend(client.get_task_stream(start=start))


# ---------------------------------------------------------------- test-only processes


def _slow_block(block: np.ndarray, seconds: float, fail: bool) -> np.ndarray:
    """A chunk task that takes ``seconds``; raises DataNotAccessible (on the worker) if ``fail``."""
    if fail:
        raise DataNotAccessible("the raster input vanished while it was read", locator="raster")
    time.sleep(seconds)
    return block


class SlowTotalInputs(ProcessInputs):
    """How long each of the 64 chunks takes."""

    seconds: Annotated[float, Field(ge=0, le=5), LiteralInput("Seconds per chunk")] = 0.05


class SlowTotal(Process):
    """The sum of a 512 x 512 array of ones computed as 64 chunks, each taking ``seconds``."""

    identifier = "slow_total"
    title = "Slow total"
    Inputs = SlowTotalInputs
    outputs = (Output("total", "Total", DataKind.LITERAL, literal=LiteralDomain(data_type="double")),)

    def run(self, inputs: SlowTotalInputs) -> Mapping[str, object]:
        """A lazy reduction: 64 slow chunk tasks, then the sum."""
        blocks = da.ones((512, 512), chunks=64, dtype="float64").map_blocks(
            _slow_block, seconds=inputs.seconds, fail=False, dtype="float64"
        )
        return {"total": blocks.sum()}


class RasterStatsInputs(ProcessInputs):
    """A raster by reference; per-chunk delay; whether the chunk tasks fail."""

    raster: Annotated[xr.DataArray, ComplexInput("Raster", GEOTIFF_FORMATS)]
    seconds: Annotated[float, Field(ge=0, le=5), LiteralInput("Seconds per chunk")] = 0.0
    fail: Annotated[bool, LiteralInput("Fail in the chunk tasks")] = False


class RasterStats(Process):
    """Two reductions of the same raster (its sum and its maximum), so one job reads it for both."""

    identifier = "raster_stats"
    title = "Raster statistics"
    Inputs = RasterStatsInputs
    outputs = (
        Output("total", "Sum", DataKind.LITERAL, literal=LiteralDomain(data_type="double")),
        Output("maximum", "Maximum", DataKind.LITERAL, literal=LiteralDomain(data_type="double")),
    )

    def run(self, inputs: RasterStatsInputs) -> Mapping[str, object]:
        """Both reductions over the same lazily read chunks."""
        data = inputs.raster.data.astype("float64").map_blocks(
            _slow_block, seconds=inputs.seconds, fail=inputs.fail, dtype="float64"
        )
        return {"total": data.sum(), "maximum": data.max()}


def cluster_registry() -> Registry:
    """The default processes plus the test-only ones above and ``slow`` (a slow raster)."""
    return default_registry().register(SlowTotal).register(RasterStats).register(Slow)
