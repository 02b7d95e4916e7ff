"""The job engine and store: bounds, states, dismissal, restart recovery, expiry."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dask.array as da
import numpy as np
import pytest

from app.jobs.context import JobContext
from app.jobs.engine import RESTARTED, JobEngine
from app.jobs.store import JobStore
from app.model.descriptions import ProcessDescription
from app.model.errors import InvalidParameterValue, ServerBusy, TooManyJobs
from app.model.jobs import JobStatus
from app.model.requests import ExecuteRequest
from app.model.results import ExecuteResult
from app.settings import Settings

REQUEST = ExecuteRequest(identifier="echo")
DESCRIPTION = ProcessDescription(identifier="echo", title="Echo", inputs=(), outputs=())


def result_for(context: JobContext) -> ExecuteResult:
    return ExecuteResult(job_id=context.job_id, request=REQUEST, process=DESCRIPTION, outputs=())


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[JobEngine]:
    settings = Settings(data_dir=tmp_path, max_parallel=2, queue_size=3, result_ttl=60)
    engine = JobEngine(settings, JobStore(tmp_path / "jobs.sqlite"))
    yield engine
    engine.shutdown()


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_sync_run_records_success(engine: JobEngine) -> None:
    result = engine.run(REQUEST, result_for)
    info = engine.store.get(result.job_id)
    assert info.status is JobStatus.SUCCEEDED and info.percent == 100
    assert info.started <= info.finished
    assert engine.store.result(result.job_id) == result
    assert engine.store.request(result.job_id) == REQUEST


def test_failure_is_recorded_and_raised(engine: JobEngine) -> None:
    def failing(context: JobContext) -> ExecuteResult:
        raise InvalidParameterValue("bad value", locator="x")

    with pytest.raises(InvalidParameterValue):
        engine.run(REQUEST, failing)
    (info,) = engine.store.list_jobs()
    assert info.status is JobStatus.FAILED
    assert (info.error.code, info.error.locator, info.error.message) == (
        "InvalidParameterValue",
        "x",
        "bad value",
    )


def test_internal_failure_hides_details(engine: JobEngine) -> None:
    def crashing(context: JobContext) -> ExecuteResult:
        raise RuntimeError("secret /etc/path")

    with pytest.raises(Exception, match="request id"):
        engine.run(REQUEST, crashing)
    (info,) = engine.store.list_jobs()
    assert info.error.code == "NoApplicableCode" and "secret" not in info.error.message


def test_server_busy_beyond_parallel_plus_queue(engine: JobEngine) -> None:
    release = threading.Event()

    def blocked(context: JobContext) -> ExecuteResult:
        release.wait(10)
        return result_for(context)

    accepted = [engine.submit(REQUEST, blocked) for _ in range(5)]  # 2 running + 3 queued
    with pytest.raises(ServerBusy):
        engine.submit(REQUEST, blocked)
    assert len(engine.store.list_jobs()) == 5  # the refused one left no record
    release.set()
    for info in accepted:
        wait_for(lambda info=info: engine.store.get(info.job_id).status is JobStatus.SUCCEEDED)
    assert engine.submit(REQUEST, result_for)  # slots are free again


def test_progress_is_reported(engine: JobEngine) -> None:
    seen: list[int] = []

    def computing(context: JobContext) -> ExecuteResult:
        array = da.ones((2000, 2000), chunks=100) * 2
        target = np.empty(array.shape)
        original = context.report
        context.report = lambda p: (seen.append(p), original(p))
        da.store(array, target, lock=False, **context.compute_kwargs())
        return result_for(context)

    engine.run(REQUEST, computing)
    assert seen and seen == sorted(seen) and max(seen) <= 99


def test_jobs_share_one_pool_of_one_thread_per_core(tmp_path: Path) -> None:
    """Chunks of all jobs run on the local executor's pool: never more at once than cores, whatever
    the number of jobs (dask alone would give each job thread a pool of cores + 4 threads)."""
    settings = Settings(data_dir=tmp_path, max_parallel=3, queue_size=0)
    engine = JobEngine(settings, JobStore(tmp_path / "jobs.sqlite"))
    lock = threading.Lock()
    running, peak, names = 0, 0, set()

    def chunk(block: np.ndarray) -> np.ndarray:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            names.add(threading.current_thread().name)
        time.sleep(0.01)
        with lock:
            running -= 1
        return block

    def job(context: JobContext) -> ExecuteResult:
        meta = np.empty((0, 0))  # given, so that map_blocks does not probe chunk() in this thread
        context.compute(da.ones((40, 40), chunks=4).map_blocks(chunk, meta=meta).sum())  # 100 chunks
        return result_for(context)

    infos = [engine.submit(REQUEST, job) for _ in range(3)]
    for info in infos:
        wait_for(lambda info=info: engine.store.get(info.job_id).status is JobStatus.SUCCEEDED)
    engine.shutdown()
    cores = os.cpu_count() or 1
    assert 1 <= peak <= cores, (peak, cores, names)
    assert names and all(name.startswith("dask-local") for name in names), names


class LongJob:
    """A job of 400 chunks of 50 ms (about 10 s), with progress; counts the chunks computed."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.computed: list[int] = []

    def slow_chunk(self, block: np.ndarray) -> np.ndarray:
        self.started.set()
        self.computed.append(1)
        time.sleep(0.05)
        return block

    def __call__(self, context: JobContext) -> ExecuteResult:
        (context.workdir / "partial.tif").write_bytes(b"x")
        array = da.ones((200, 200), chunks=10).map_blocks(self.slow_chunk, meta=np.empty((0, 0)))
        da.store(array, np.empty(array.shape), lock=False, **context.compute_kwargs())
        return result_for(context)

    def assert_stopped(self) -> None:
        """No chunk computed any more, long before the end."""
        done_at_stop = len(self.computed)
        time.sleep(0.3)
        assert len(self.computed) == done_at_stop < 400


def test_dismiss_stops_computation(engine: JobEngine) -> None:
    long_job = LongJob()
    info = engine.submit(REQUEST, long_job)
    assert long_job.started.wait(10)
    engine.dismiss(info.job_id)
    wait_for(lambda: engine.running() == 0)
    long_job.assert_stopped()
    assert engine.store.get(info.job_id).status is JobStatus.DISMISSED
    assert not engine.workdir(info.job_id).exists()


def _two_instances(tmp_path: Path, **fields: object) -> tuple[JobEngine, JobEngine]:
    """Two engines sharing one job store file, as two API processes do."""
    settings = Settings(data_dir=tmp_path, max_parallel=1, queue_size=0).model_copy(update=fields)
    path = tmp_path / "jobs.sqlite"
    return (
        JobEngine(settings, JobStore(path, instance="a")),
        JobEngine(settings, JobStore(path, instance="b")),
    )


def test_dismissed_through_another_instance_stops_at_the_next_progress_report(tmp_path: Path) -> None:
    a, b = _two_instances(tmp_path)
    long_job = LongJob()
    info = a.submit(REQUEST, long_job)
    assert long_job.started.wait(10)
    b.dismiss(info.job_id)  # b never ran it: only the shared record tells a
    wait_for(lambda: a.running() == 0, timeout=5)
    long_job.assert_stopped()
    assert a.store.get(info.job_id).status is JobStatus.DISMISSED
    assert a.submit(REQUEST, result_for)  # its one slot is free again
    a.shutdown(), b.shutdown()


def test_a_silent_job_dismissed_elsewhere_stops_at_the_heartbeat(tmp_path: Path) -> None:
    a, b = _two_instances(tmp_path)
    running = threading.Event()

    def silent(context: JobContext) -> ExecuteResult:  # reports no progress, only checks
        running.set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            context.check()
            time.sleep(0.01)
        return result_for(context)

    info = a.submit(REQUEST, silent)
    assert running.wait(10)
    b.dismiss(info.job_id)
    time.sleep(0.2)
    assert a.running() == 1  # nothing told it yet
    a.heartbeat()
    wait_for(lambda: a.running() == 0, timeout=5)
    assert a.store.get(info.job_id).status is JobStatus.DISMISSED
    a.shutdown(), b.shutdown()


def test_the_per_user_limit_holds_across_instances(tmp_path: Path) -> None:
    a, b = _two_instances(tmp_path, auth_max_jobs_per_user=1, max_parallel=2)
    release = threading.Event()

    def blocked(context: JobContext) -> ExecuteResult:
        release.wait(10)
        return result_for(context)

    first = a.submit(REQUEST, blocked, owner="alice")
    with pytest.raises(TooManyJobs):
        b.submit(REQUEST, blocked, owner="alice")  # her job runs on the other instance
    other = b.submit(REQUEST, blocked, owner="bob")  # another user is not limited by hers
    release.set()
    for engine, info in ((a, first), (b, other)):
        wait_for(lambda engine=engine, info=info: engine.running() == 0)
    assert b.submit(REQUEST, result_for, owner="alice")  # hers ended: she may submit again
    a.shutdown(), b.shutdown()


def test_dismissed_while_queued_never_runs(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, max_parallel=1, queue_size=5)
    engine = JobEngine(settings, JobStore(tmp_path / "jobs.sqlite"))
    release = threading.Event()
    ran: list[str] = []

    def blocked(context: JobContext) -> ExecuteResult:
        ran.append(context.job_id)
        release.wait(10)
        return result_for(context)

    first = engine.submit(REQUEST, blocked)
    second = engine.submit(REQUEST, blocked)
    engine.dismiss(second.job_id)
    release.set()
    wait_for(lambda: engine.running() == 0)
    assert ran == [first.job_id]
    assert engine.store.get(second.job_id).status is JobStatus.DISMISSED
    engine.shutdown()


def test_recover_fails_unfinished_jobs(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    store = JobStore(tmp_path / "jobs.sqlite")
    store.create("a" * 32, REQUEST, expires=datetime.now(UTC))
    store.update("a" * 32, status=JobStatus.RUNNING)
    (settings.outputs_dir / ("a" * 32)).mkdir(parents=True)
    engine = JobEngine(settings, store)
    assert engine.recover() == ["a" * 32]
    info = store.get("a" * 32)
    assert info.status is JobStatus.FAILED and info.error.message == RESTARTED
    assert not (settings.outputs_dir / ("a" * 32)).exists()
    engine.shutdown()


def test_sweep_expires_results(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, result_ttl=1)
    engine = JobEngine(settings, JobStore(tmp_path / "jobs.sqlite"))

    def writing(context: JobContext) -> ExecuteResult:
        (context.workdir / "out.txt").write_text("x")
        return result_for(context)

    result = engine.run(REQUEST, writing)
    assert engine.sweep() == []
    time.sleep(1.1)
    assert engine.sweep() == [result.job_id]
    assert engine.store.is_expired(result.job_id)
    assert not engine.workdir(result.job_id).exists()
    engine.shutdown()
