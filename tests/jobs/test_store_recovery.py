"""Restart recovery across instances, on both backends: a restarting instance fails its own
interrupted jobs, never a live instance's; jobs of an instance silent past the lease are failed by
any other. And which instance name a process runs as (open_store)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.jobs.engine import INSTANCE_LOST, RESTARTED, JobEngine
from app.jobs.postgres_store import PostgresDatabase
from app.jobs.sqlite_store import SqliteDatabase
from app.jobs.store import JobStore, default_instance_name, open_store
from app.model.jobs import JobStatus
from app.settings import Settings
from tests.jobs.conftest import OpenStore
from tests.jobs.test_store_contract import ERROR, LATER, REQUEST, job_id, result

LEASE = 1.0  # seconds: short for the tests, long against a loaded machine's delays


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", instance_lease=LEASE)


@pytest.fixture
def engines(settings: Settings, open_store: OpenStore) -> Iterator[dict[str, JobEngine]]:
    """Engines of instances "mine", "live" and "silent" over one database (none runs a job)."""
    made = {name: JobEngine(settings, open_store(f"{name}:8000")) for name in ("mine", "live", "silent")}
    yield made
    for engine in made.values():
        engine.shutdown()


def place_jobs(engine: JobEngine, first: int) -> tuple[str, str, str]:
    """An accepted, a running (with files) and a succeeded job of ``engine``'s instance."""
    accepted, running, done = job_id(first), job_id(first + 1), job_id(first + 2)
    for job in (accepted, running, done):
        engine.store.create(job, REQUEST, LATER)
        engine.workdir(job).mkdir(parents=True)
    for job in (running, done):
        engine.store.update(job, status=JobStatus.RUNNING)
    engine.store.finish(done, result(first + 2))
    return accepted, running, done


def test_restart_fails_only_its_own_jobs_while_others_live(engines: dict[str, JobEngine]) -> None:
    mine, live = engines["mine"], engines["live"]
    own, others = place_jobs(mine, 0), place_jobs(live, 10)
    assert mine.recover() == sorted(own[:2])
    for job in own[:2]:
        info = mine.store.get(job)
        assert info.status is JobStatus.FAILED and info.error.message == RESTARTED
        assert not mine.workdir(job).exists()
    assert mine.store.get(own[2]).status is JobStatus.SUCCEEDED and mine.workdir(own[2]).exists()
    for job, state in zip(others, (JobStatus.ACCEPTED, JobStatus.RUNNING, JobStatus.SUCCEEDED), strict=True):
        assert live.store.get(job).status is state and live.workdir(job).exists()


def test_a_live_instance_is_never_failed_however_long_it_runs(engines: dict[str, JobEngine]) -> None:
    mine, live = engines["mine"], engines["live"]
    _, running, _ = place_jobs(live, 10)
    for _ in range(6):  # well past the lease, beating every lease / 4 as the lifespan does
        time.sleep(LEASE / 4)
        live.heartbeat()
        assert mine.heartbeat() == []
    assert mine.recover() == []
    assert live.store.get(running).status is JobStatus.RUNNING
    assert live.store.finish(running, result(11))


def test_a_silent_instances_jobs_are_failed_after_the_lease(engines: dict[str, JobEngine]) -> None:
    mine, live, silent = engines["mine"], engines["live"], engines["silent"]
    accepted, running, done = place_jobs(silent, 20)
    assert mine.heartbeat() == []  # silent only just now: within its lease
    time.sleep(LEASE * 1.5)
    live.store.heartbeat()  # beats only (its engine's heartbeat would fail them first)
    assert mine.heartbeat() == sorted([accepted, running])
    for job in (accepted, running):
        info = mine.store.get(job)
        assert info.status is JobStatus.FAILED and info.error.message == INSTANCE_LOST
        assert not mine.workdir(job).exists()
    assert mine.store.get(done).status is JobStatus.SUCCEEDED and mine.workdir(done).exists()
    assert not silent.store.finish(running, result(21))  # coming back, it cannot resurrect them
    assert live.heartbeat() == []  # failed once


def test_recover_also_fails_silent_instances_jobs(engines: dict[str, JobEngine]) -> None:
    mine, silent = engines["mine"], engines["silent"]
    own, abandoned = place_jobs(mine, 0), place_jobs(silent, 20)
    time.sleep(LEASE * 1.5)
    assert mine.recover() == sorted(own[:2]) + sorted(abandoned[:2])
    messages = {job: mine.store.get(job).error.message for job in own[:2] + abandoned[:2]}
    assert messages == {
        own[0]: RESTARTED,
        own[1]: RESTARTED,
        abandoned[0]: INSTANCE_LOST,
        abandoned[1]: INSTANCE_LOST,
    }


def test_long_silent_instances_are_forgotten(open_store: OpenStore) -> None:
    gone, here = open_store("gone:1"), open_store("here:1")
    gone.database.execute(
        "UPDATE instances SET last_seen = ? WHERE name = ?", (LATER.replace(year=2000), "gone:1")
    )
    here.fail_abandoned(LEASE, ERROR)
    assert set(here.instances()) == {"here:1"}


# --- open_store: which database, which instance name


@pytest.fixture
def cleanup() -> Iterator[list[JobStore]]:
    stores: list[JobStore] = []
    yield stores
    for store in stores:
        store.close()


def test_open_store_defaults_to_sqlite_as_host_port(tmp_path: Path, cleanup: list[JobStore]) -> None:
    settings = Settings(data_dir=tmp_path, public_url="https://wps.example.org/base")
    store = open_store(settings)
    cleanup.append(store)
    assert isinstance(store.database, SqliteDatabase) and store.database.path == tmp_path / "jobs.sqlite"
    assert store.instance == default_instance_name(settings) == f"{socket.gethostname()}:443"
    assert default_instance_name(Settings(public_url="http://h:8123")) == f"{socket.gethostname()}:8123"


def test_a_second_process_on_the_default_name_runs_under_its_pid(
    tmp_path: Path, cleanup: list[JobStore]
) -> None:
    settings = Settings(data_dir=tmp_path)
    first = open_store(settings)
    second = open_store(settings)  # another process of this host would see the same
    cleanup.extend([first, second])
    assert second.instance == f"{first.instance}/{os.getpid()}"
    first.close()
    third = open_store(settings)  # the first one stopped: its name is free again
    cleanup.append(third)
    assert third.instance == first.instance


def test_an_explicit_name_held_by_a_live_process_is_refused(tmp_path: Path, cleanup: list[JobStore]) -> None:
    settings = Settings(data_dir=tmp_path, instance_name="api-1", instance_lease=1.0)
    cleanup.append(open_store(settings))
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"api-1.*held by another live process"):
        open_store(settings)
    assert 1.0 <= time.monotonic() - started < 10  # waited one lease for it first


def test_open_store_on_postgres_shares_jobs(
    postgres_url: str, tmp_path: Path, cleanup: list[JobStore]
) -> None:
    one = open_store(Settings(data_dir=tmp_path, database_url=postgres_url, instance_name="api-1"))
    two = open_store(Settings(data_dir=tmp_path, database_url=postgres_url, instance_name="api-2"))
    cleanup.extend([one, two])
    assert isinstance(one.database, PostgresDatabase)
    one.create(job_id(1), REQUEST, LATER)
    assert two.instance_of(job_id(1)) == "api-1"
    with pytest.raises(RuntimeError, match="api-2"):
        open_store(
            Settings(data_dir=tmp_path, database_url=postgres_url, instance_name="api-2", instance_lease=0.1)
        )
    two.close()  # its process ends: the server releases its name at once
    cleanup.append(open_store(Settings(data_dir=tmp_path, database_url=postgres_url, instance_name="api-2")))


def test_open_store_refuses_other_databases(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mysql"):
        open_store(Settings(data_dir=tmp_path, database_url="mysql://db/jobs"))


def test_a_lost_name_lock_is_taken_again_at_the_next_heartbeat(
    postgres_url: str, tmp_path: Path, cleanup: list[JobStore], caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=postgres_url, instance_name="api-1", instance_lease=0.1
    )
    store = open_store(settings)
    cleanup.append(store)
    killed = store.database.fetch(
        "SELECT pg_terminate_backend(pid) AS gone FROM pg_locks WHERE locktype = 'advisory' AND granted"
    )
    assert [row["gone"] for row in killed] == [True]  # the server dropped its session: a DB restart
    store.heartbeat()
    assert "claiming it again" in caplog.text
    with pytest.raises(RuntimeError, match="api-1"):
        open_store(settings)
