"""The job store under concurrency, on both backends: many threads of one process, and two store
objects on one database standing for two instances (two processes' connections)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from app.jobs.database import Database
from app.jobs.store import JobStore
from app.model.jobs import JobError, JobStatus
from tests.jobs.conftest import OpenDatabase, OpenStore
from tests.jobs.test_store_contract import ERROR, REQUEST, job_id, result

LATER = datetime.now(UTC) + timedelta(hours=1)
THREADS = 8


def together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls on as many threads, released at the same instant; their results, in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_many_threads_of_two_instances_run_jobs_through(open_store: OpenStore) -> None:
    stores = [open_store("one:1"), open_store("two:2")]
    per_thread = 15

    def work(thread: int) -> None:
        store = stores[thread % 2]
        for n in range(per_thread):
            job = job_id(thread * 1000 + n)
            store.create(job, REQUEST, LATER, owner=f"user{thread}")
            assert store.update(job, only_if=(JobStatus.ACCEPTED,), status=JobStatus.RUNNING, percent=0)
            assert store.update(job, only_if=(JobStatus.RUNNING,), percent=50)
            assert store.finish(job, result(thread * 1000 + n))
            assert store.get(job).status is JobStatus.SUCCEEDED

    together([lambda t=t: work(t) for t in range(THREADS)])
    for store in stores:
        assert store.count_by_status() == {JobStatus.SUCCEEDED: THREADS * per_thread}
        assert len(store.list_jobs(limit=1000)) == THREADS * per_thread
    assert len(stores[0].list_jobs(owner="user3", limit=1000)) == per_thread


def test_only_one_instance_starts_a_job(open_store: OpenStore) -> None:
    stores = [open_store("one:1"), open_store("two:2")]
    for n in range(10):
        stores[0].create(job_id(n), REQUEST, LATER)
    for n in range(10):
        start = [
            lambda s=stores[t % 2], n=n: s.update(
                job_id(n), only_if=(JobStatus.ACCEPTED,), status=JobStatus.RUNNING, percent=0
            )
            for t in range(THREADS)
        ]
        assert sorted(together(start)) == [False] * (THREADS - 1) + [True]


def test_finish_and_fail_race_one_winner(open_store: OpenStore) -> None:
    one, two = open_store("one:1"), open_store("two:2")
    for n in range(10):
        one.create(job_id(n), REQUEST, LATER)
        one.update(job_id(n), status=JobStatus.RUNNING)
        finished, failed = together(
            [lambda n=n: one.finish(job_id(n), result(n)), lambda n=n: two.fail(job_id(n), ERROR)]
        )
        assert finished != failed
        info = two.get(job_id(n))
        assert info.status is (JobStatus.SUCCEEDED if finished else JobStatus.FAILED)
        assert (info.error is None) == finished


def test_a_dismissed_job_is_never_resurrected(open_store: OpenStore) -> None:
    one, two = open_store("one:1"), open_store("two:2")
    for n in range(10):
        one.create(job_id(n), REQUEST, LATER)
        one.update(job_id(n), status=JobStatus.RUNNING)
        together(
            [
                lambda n=n: two.update(job_id(n), status=JobStatus.DISMISSED, percent=None),
                lambda n=n: one.update(job_id(n), only_if=(JobStatus.RUNNING,), percent=70),
                lambda n=n: one.finish(job_id(n), result(n)),
            ]
        )
        assert one.get(job_id(n)).status is JobStatus.DISMISSED  # whatever came first
        assert not one.finish(job_id(n), result(n))
        assert not one.fail(job_id(n), ERROR)
        assert not one.update(job_id(n), only_if=(JobStatus.ACCEPTED,), status=JobStatus.RUNNING)
        assert one.get(job_id(n)).status is JobStatus.DISMISSED


def test_instances_starting_at_once_migrate_once(open_database: OpenDatabase) -> None:
    databases: list[Database] = together([open_database for _ in range(6)])
    versions = databases[0].fetch("SELECT version FROM schema_migrations ORDER BY version")
    assert [row["version"] for row in versions] == sorted({row["version"] for row in versions})
    stores = [JobStore(database, f"i{n}:1") for n, database in enumerate(databases)]
    stores[0].create(job_id(1), REQUEST, LATER)
    assert all(store.get(job_id(1)) is not None for store in stores)


def test_abandoned_jobs_are_failed_once(open_store: OpenStore) -> None:
    """Several live instances sweeping the same silent instance's jobs: each job failed by one."""
    silent = open_store("silent:1")
    for n in range(20):
        silent.create(job_id(n), REQUEST, LATER)
    silent.close()
    sweepers = [open_store(f"sweeper{n}:1") for n in range(4)]
    lost = JobError(code="NoApplicableCode", wps2_code="NoApplicableCode", message="gone")
    threading.Event().wait(0.3)
    swept = together([lambda s=s: s.fail_abandoned(0.2, lost) for s in sweepers])
    failed = [job for jobs in swept for job in jobs]
    assert sorted(failed) == [job_id(n) for n in range(20)]  # each exactly once
