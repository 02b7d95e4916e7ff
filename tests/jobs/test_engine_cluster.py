"""The engine's executors without a cluster: choice from the settings, refusal before anything is
recorded, failure translation, errors that cross process boundaries (pickling), an unreachable
scheduler. The real cluster is exercised in tests/system/test_cluster*.py."""

from __future__ import annotations

import pickle
import time
from collections.abc import Sequence
from concurrent.futures import CancelledError
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dask.array as da
import pytest
from distributed import KilledWorker
from distributed.client import FutureCancelledError
from distributed.comm.core import CommClosedError

from app.jobs import distributed_executor
from app.jobs.context import LOCAL, JobCancelled, JobContext
from app.jobs.distributed_executor import (
    ClusterConnection,
    ClusterExecutor,
    ClusterFailed,
    ClusterUnreachable,
    _translated_failures,
)
from app.jobs.engine import JobEngine, executor_for
from app.jobs.store import JobStore
from app.model import errors
from app.model.errors import NoApplicableCode, ServerBusy, WpsError
from app.model.requests import ExecuteRequest
from app.model.results import ExecuteResult
from app.settings import Settings
from tests.support.service import free_port

REQUEST = ExecuteRequest(identifier="echo")


class RecordingExecutor:
    """Computes locally and remembers what it was asked; ``refuse`` makes ``check`` fail."""

    def __init__(self, refuse: WpsError | None = None) -> None:
        self.refuse = refuse
        self.computed: list[str] = []
        self.closed = False

    def check(self) -> None:
        if self.refuse is not None:
            raise self.refuse

    def compute(self, context: JobContext, collections: Sequence[Any]) -> tuple[Any, ...]:
        self.computed.append(context.job_id)
        return LOCAL.compute(context, collections)

    def close(self) -> None:
        self.closed = True


def nowhere() -> str:
    """The address of a scheduler that is not there."""
    return f"tcp://127.0.0.1:{free_port()}"


def all_errors() -> list[type[WpsError]]:
    found, stack = [], [WpsError]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("cls", all_errors(), ids=lambda cls: cls.__name__)
def test_errors_cross_process_boundaries_whole(cls: type[WpsError]) -> None:
    """A WpsError raised by a task on a worker is pickled back: class, message, locator, headers."""
    error = (
        cls("what went wrong", locator="red") if cls is not errors.HttpError else cls("x", "red", status=418)
    )
    error.headers = {"Retry-After": "3"}
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is cls
    assert (back.message, back.locator, back.headers, str(back)) == (
        error.message,
        error.locator,
        error.headers,
        str(error),
    )
    assert back.status() == error.status()


def test_executor_follows_the_settings(tmp_path: Path) -> None:
    assert executor_for(Settings(data_dir=tmp_path)) is LOCAL
    clustered = executor_for(Settings(data_dir=tmp_path, dask_scheduler=nowhere()))
    assert isinstance(clustered, ClusterExecutor)  # built without connecting


def test_refused_job_leaves_no_record(tmp_path: Path) -> None:
    executor = RecordingExecutor(refuse=ClusterUnreachable())
    engine = JobEngine(Settings(data_dir=tmp_path), JobStore(tmp_path / "jobs.sqlite"), executor=executor)
    with pytest.raises(ClusterUnreachable) as raised:
        engine.submit(REQUEST, lambda context: pytest.fail("must not run"))
    assert raised.value.status() == 503 and raised.value.headers == {"Retry-After": "10"}
    assert engine.store.list_jobs() == [] and engine.running() == 0
    engine.shutdown()
    assert executor.closed


def test_jobs_compute_on_the_engine_executor(tmp_path: Path) -> None:
    executor = RecordingExecutor()
    engine = JobEngine(Settings(data_dir=tmp_path), JobStore(tmp_path / "jobs.sqlite"), executor=executor)
    values: list[Any] = []

    def runner(context: JobContext) -> ExecuteResult:
        values.extend(context.compute(da.ones(10, chunks=5).sum(), "as is"))
        raise NoApplicableCode("stop here")  # no result needed: the computation is what is checked

    with pytest.raises(NoApplicableCode):
        engine.run(REQUEST, runner)
    assert values == [10.0, "as is"] and len(executor.computed) == 1
    engine.shutdown()


def test_nothing_lazy_needs_no_cluster(tmp_path: Path) -> None:
    context = JobContext("j", tmp_path, executor=ClusterExecutor(nowhere()))
    assert context.compute() == ()
    assert context.compute(1, "two") == (1, "two")


def test_unreachable_scheduler_refuses_fast_after_the_first_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(distributed_executor, "CONNECT_TIMEOUT", 1.0)
    connection = ClusterConnection(nowhere())
    with pytest.raises(ClusterUnreachable, match="unreachable"):
        connection.client()
    started = time.monotonic()
    for _ in range(5):
        with pytest.raises(ClusterUnreachable):
            connection.client()
    assert time.monotonic() - started < 0.5  # not retried within RETRY_INTERVAL
    connection.close()


@pytest.mark.parametrize(
    ("raised", "cancelled", "expected", "message"),
    [
        (KilledWorker("task-1", SimpleNamespace(address="tcp://w"), 3), False, NoApplicableCode, "4 times"),
        (FutureCancelledError("k", "scheduler-connection-lost"), False, ClusterFailed, "connection"),
        (FutureCancelledError("k", "cancel"), True, JobCancelled, "j"),
        (CancelledError(), False, ClusterFailed, "lost"),
        (CommClosedError("in <TCP ...>: Stream is closed"), False, ClusterFailed, "lost"),
    ],
)
def test_cluster_failures_become_service_errors(
    tmp_path: Path, raised: Exception, cancelled: bool, expected: type[Exception], message: str
) -> None:
    context = JobContext("j", tmp_path)
    if cancelled:
        context.cancelled.set()
    with pytest.raises(expected, match=message), _translated_failures(context):
        raise raised


@pytest.mark.parametrize(
    "raised", [errors.DataNotAccessible("gone", "red"), ServerBusy("busy"), OSError("disk")]
)
def test_task_errors_pass_unchanged(tmp_path: Path, raised: Exception) -> None:
    with pytest.raises(type(raised)) as caught, _translated_failures(JobContext("j", tmp_path)):
        raise raised
    assert caught.value is raised
