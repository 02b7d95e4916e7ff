"""Schema migrations: files made by the schemas from before migrations are upgraded in place without
losing a job; migrations are recorded, idempotent, all-or-nothing, and tolerate a newer schema."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.jobs import database as database_module
from app.jobs.database import migrations
from app.jobs.engine import RESTARTED, JobEngine
from app.jobs.sqlite_store import SqliteDatabase
from app.jobs.store import JobStore
from app.model.jobs import JobStatus
from app.model.requests import ExecuteRequest
from app.settings import Settings
from tests.jobs.conftest import OpenDatabase

# The schema of the first release, verbatim (before jobs had owners).
FIRST_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    process_id TEXT NOT NULL,
    status TEXT NOT NULL,
    percent INTEGER,
    message TEXT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    started TEXT,
    finished TEXT,
    expires TEXT,
    expired INTEGER NOT NULL DEFAULT 0,
    request TEXT NOT NULL,
    result TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created);
"""
# What the release before migrations added to it at every open.
OWNER_COLUMN = """
ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, status);
"""
REQUEST = ExecuteRequest(identifier="ndvi")
T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def legacy_file(path: Path, with_owner: bool) -> None:
    """A jobs file as an old release left it: one finished job, one running, one expired."""
    connection = sqlite3.connect(path)
    connection.executescript(FIRST_SCHEMA + (OWNER_COLUMN if with_owner else ""))
    rows = [
        ("a" * 32, "succeeded", 100, T0.isoformat(), '{"job_id": "x"}', None, 0),
        ("b" * 32, "running", 40, None, None, None, 0),
        (
            "c" * 32,
            "failed",
            None,
            T0.isoformat(),
            None,
            '{"code": "X", "wps2_code": "Y", "message": "no"}',
            1,
        ),
    ]
    for job, status, percent, finished, result, error, expired in rows:
        connection.execute(
            "INSERT INTO jobs (job_id, process_id, status, percent, created, updated, finished, expires,"
            " expired, request, result, error) VALUES (?, 'ndvi', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job,
                status,
                percent,
                T0.isoformat(),
                T0.isoformat(),
                finished,
                (T0 + timedelta(days=1)).isoformat(),
                expired,
                REQUEST.model_dump_json(),
                result,
                error,
            ),
        )
    if with_owner:
        connection.execute("UPDATE jobs SET owner = 'alice' WHERE job_id = ?", ("a" * 32,))
    connection.commit()
    connection.close()


def applied(database: SqliteDatabase) -> list[int]:
    return [
        row["version"] for row in database.fetch("SELECT version FROM schema_migrations ORDER BY version")
    ]


@pytest.mark.parametrize("with_owner", [False, True], ids=["first-schema", "owner-schema"])
def test_an_old_file_is_upgraded_in_place(tmp_path: Path, with_owner: bool) -> None:
    path = tmp_path / "jobs.sqlite"
    legacy_file(path, with_owner)
    store = JobStore(SqliteDatabase(path), "me:8000")
    assert applied(store.database) == [m.version for m in migrations("sqlite")]  # type: ignore[arg-type]
    jobs = {info.job_id: info for info in store.list_jobs()}
    assert set(jobs) == {"a" * 32, "b" * 32, "c" * 32}
    done, running, failed = jobs["a" * 32], jobs["b" * 32], jobs["c" * 32]
    assert (done.status, done.percent, done.created, done.finished) == (JobStatus.SUCCEEDED, 100, T0, T0)
    assert done.owner == ("alice" if with_owner else "")
    assert (running.status, running.percent) == (JobStatus.RUNNING, 40)
    assert failed.error.message == "no" and failed.expired and store.is_expired("c" * 32)
    assert store.request("b" * 32) == REQUEST
    assert store.instance_of("b" * 32) == ""  # run by a process from before instances
    store.create("d" * 32, REQUEST, T0, owner="bob")  # the new columns work
    assert store.list_jobs(owner="bob")[0].job_id == "d" * 32
    store.close()


def test_an_old_files_interrupted_job_is_failed_at_start_up(tmp_path: Path) -> None:
    """Its instance ('', never heard of) is silent: the first instance to start fails its jobs."""
    settings = Settings(data_dir=tmp_path)
    legacy_file(settings.data_dir / "jobs.sqlite", with_owner=True)
    (settings.outputs_dir / ("b" * 32)).mkdir(parents=True)
    engine = JobEngine(settings, JobStore(SqliteDatabase(settings.data_dir / "jobs.sqlite"), "new:8000"))
    assert engine.recover() == ["b" * 32]
    info = engine.store.get("b" * 32)
    assert info.status is JobStatus.FAILED and "instance running this job stopped" in info.error.message
    assert not (settings.outputs_dir / ("b" * 32)).exists()
    assert engine.store.get("a" * 32).status is JobStatus.SUCCEEDED
    engine.shutdown()
    engine.store.close()


def test_legacy_engine_use_still_recovers_as_a_restart(tmp_path: Path) -> None:
    """``JobStore(path)`` (no instance name) upgrades the file and owns its nameless jobs."""
    legacy_file(tmp_path / "jobs.sqlite", with_owner=False)
    engine = JobEngine(Settings(data_dir=tmp_path), JobStore(tmp_path / "jobs.sqlite"))
    assert engine.recover() == ["b" * 32]
    assert engine.store.get("b" * 32).error.message == RESTARTED
    engine.shutdown()
    engine.store.close()


def test_reopening_applies_nothing_twice(open_database: OpenDatabase) -> None:
    first = open_database()
    first.close()
    second = open_database()
    rows = second.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
    assert [(row["version"], row["name"]) for row in rows] == [
        (m.version, m.name) for m in migrations(second.dialect)
    ]


def test_a_newer_schema_is_tolerated(open_database: OpenDatabase, caplog: pytest.LogCaptureFixture) -> None:
    database = open_database()
    database.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (9999, "9999_future"))
    with caplog.at_level(logging.WARNING, logger="app.jobs.database"):
        again = open_database()
    assert "9999" in caplog.text
    JobStore(again, "me:1").create("e" * 32, REQUEST, T0)


def test_a_failing_migration_leaves_nothing_behind(
    open_database: OpenDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = open_database()  # the real schema, then a release adding two broken migrations
    dialect = database.dialect
    folder = tmp_path / "migrations"
    (folder / dialect).mkdir(parents=True)
    for migration in migrations(dialect):
        (folder / dialect / f"{migration.name}.sql").write_text(migration.sql)
    (folder / dialect / "8000_good.sql").write_text("CREATE TABLE extra (x INTEGER);")
    (folder / dialect / "8001_bad.sql").write_text("ALTER TABLE jobs ADD COLUMN note TEXT;\nTHIS IS NOT SQL;")
    monkeypatch.setattr(database_module, "MIGRATIONS", folder)
    with pytest.raises(Exception, match=r"(?i)syntax"):
        open_database()
    versions = [row["version"] for row in database.fetch("SELECT version FROM schema_migrations")]
    assert 8000 not in versions and 8001 not in versions
    with pytest.raises(Exception, match=r"(?i)extra"):
        database.fetch("SELECT * FROM extra")
    columns = database.fetch("SELECT * FROM jobs WHERE 1 = 0")
    assert columns == []
    (folder / dialect / "8001_bad.sql").write_text("ALTER TABLE jobs ADD COLUMN note TEXT;")
    fixed = open_database()
    assert {8000, 8001} <= {row["version"] for row in fixed.fetch("SELECT version FROM schema_migrations")}
    fixed.execute("UPDATE jobs SET note = ? WHERE job_id = ?", ("n", "x"))


def test_migration_files_are_numbered_in_order() -> None:
    for dialect in ("sqlite", "postgres"):
        found = migrations(dialect)
        assert found and [m.version for m in found] == list(range(1, len(found) + 1))
