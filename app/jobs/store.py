"""Job records: one row per job, in SQLite under the data directory (the embedded default) or in
PostgreSQL shared by several API instances (``WPS_DATABASE_URL=postgresql://...``).

A row holds the job's state, timestamps, the request it came with and, once finished, its result or
error, as JSON of the neutral models; every status document is rendered from it. Each row also
names the instance running the job, and each instance beats a heartbeat, so that a restarting
instance fails only its own interrupted jobs and the jobs of an instance silent for longer than the
lease may be failed by any other (see :class:`app.jobs.engine.JobEngine`).

One SQL serves both backends (:mod:`app.jobs.database`). Every change is a single statement whose
WHERE clause carries its condition, so two threads or two instances can never both move a job from
accepted to running, nor bring back a dismissed job.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.jobs.database import Database, Row, utcnow
from app.model.jobs import JobError, JobInfo, JobStatus
from app.model.requests import ExecuteRequest
from app.model.results import ExecuteResult
from app.settings import Settings

__all__ = ["JobStore", "default_instance_name", "open_store", "utcnow"]

log = logging.getLogger(__name__)

_COLUMNS = {"status", "percent", "message", "updated", "started", "finished", "expires", "expired"}
_DOCUMENTS = {"result", "error"}  # pydantic models, stored as their JSON
_UNFINISHED = (JobStatus.ACCEPTED.value, JobStatus.RUNNING.value)
FORGET_INSTANCES_AFTER = timedelta(days=1)  # an instance row silent this long is deleted


class JobStore:
    """Thread-safe access to the job records, on behalf of one instance (``instance``).

    ``database`` is a :class:`~app.jobs.database.Database`, or the path of a SQLite file.
    """

    def __init__(self, database: Database | Path, instance: str = "") -> None:
        if isinstance(database, Path):
            from app.jobs.sqlite_store import SqliteDatabase

            database = SqliteDatabase(database)
        self.database: Database = database
        self.instance = instance
        self.heartbeat()

    def close(self) -> None:
        """Close the database connections (and release this instance's name)."""
        self.database.close()

    def create(self, job_id: str, request: ExecuteRequest, expires: datetime, owner: str = "") -> JobInfo:
        """Record a new accepted job of ``owner`` ("" = anonymous), run by this instance."""
        now = utcnow()
        self.database.execute(
            "INSERT INTO jobs (job_id, process_id, status, created, updated, expires, request, owner,"
            " instance) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job_id,
                request.identifier,
                JobStatus.ACCEPTED.value,
                now,
                now,
                expires,
                request.model_dump_json(),
                owner,
                self.instance,
            ),
        )
        info = self.get(job_id)
        assert info is not None
        return info

    def update(self, job_id: str, only_if: tuple[JobStatus, ...] = (), **fields: Any) -> bool:
        """Change some columns of a job; with ``only_if``, only while it is in one of those states.

        Returns whether a record changed. The state condition is checked in the same statement, so
        a job dismissed meanwhile is never turned back into running or succeeded.
        """
        unknown = set(fields) - _COLUMNS - _DOCUMENTS
        if unknown:
            raise ValueError(f"not a job column one may update: {sorted(unknown)}")
        values: dict[str, Any] = {"updated": utcnow()} | fields
        assignments = ", ".join(f"{key} = ?" for key in values)
        query = f"UPDATE jobs SET {assignments} WHERE job_id = ?"
        params: list[Any] = [_encode(key, value) for key, value in values.items()] + [job_id]
        if only_if:
            query += f" AND status IN ({_marks(only_if)})"
            params.extend(status.value for status in only_if)
        return self.database.execute(query, params) > 0

    def finish(self, job_id: str, result: ExecuteResult) -> bool:
        """Mark a running job succeeded with its result."""
        return self.update(
            job_id,
            only_if=(JobStatus.RUNNING,),
            status=JobStatus.SUCCEEDED,
            percent=100,
            finished=utcnow(),
            result=result,
        )

    def fail(self, job_id: str, error: JobError) -> bool:
        """Mark an unfinished job failed with the exception it reports."""
        return self.update(
            job_id,
            only_if=(JobStatus.ACCEPTED, JobStatus.RUNNING),
            status=JobStatus.FAILED,
            finished=utcnow(),
            error=error,
        )

    def get(self, job_id: str) -> JobInfo | None:
        """A job's record, or None."""
        row = self._row("SELECT * FROM jobs WHERE job_id = ?", job_id)
        return None if row is None else _info(row)

    def instance_of(self, job_id: str) -> str | None:
        """The name of the instance that runs (or ran) a job, or None for no such job."""
        row = self._row("SELECT instance FROM jobs WHERE job_id = ?", job_id)
        return None if row is None else str(row["instance"])

    def is_expired(self, job_id: str) -> bool:
        """Whether the job's results were swept away."""
        row = self._row("SELECT expired FROM jobs WHERE job_id = ?", job_id)
        return bool(row and row["expired"])

    def request(self, job_id: str) -> ExecuteRequest | None:
        """The request a job was submitted with."""
        row = self._row("SELECT request FROM jobs WHERE job_id = ?", job_id)
        return None if row is None else ExecuteRequest.model_validate_json(row["request"])

    def result(self, job_id: str) -> ExecuteResult | None:
        """The result of a succeeded job."""
        row = self._row("SELECT result FROM jobs WHERE job_id = ?", job_id)
        if row is None or row["result"] is None:
            return None
        return ExecuteResult.model_validate_json(row["result"])

    def list_jobs(
        self,
        statuses: tuple[JobStatus, ...] = (),
        process_ids: tuple[str, ...] = (),
        limit: int = 100,
        offset: int = 0,
        owner: str | None = None,
    ) -> list[JobInfo]:
        """Jobs, newest first, optionally filtered (``owner`` None: everybody's)."""
        clauses: list[str] = []
        params: list[object] = []
        owners = () if owner is None else (owner,)
        filters = (("status", [s.value for s in statuses]), ("process_id", process_ids), ("owner", owners))
        for column, values in filters:
            if values:
                clauses.append(f"{column} IN ({_marks(values)})")
                params.extend(values)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        query = f"SELECT * FROM jobs {where} ORDER BY created DESC, job_id LIMIT ? OFFSET ?"
        return [_info(row) for row in self.database.fetch(query, (*params, limit, offset))]

    def count_by_status(self) -> dict[JobStatus, int]:
        """How many jobs are in each state."""
        rows = self.database.fetch("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")
        return {JobStatus(row["status"]): int(row["n"]) for row in rows}

    def unfinished_of(self, owner: str) -> int:
        """How many jobs of ``owner`` are accepted or running, on every instance."""
        query = "SELECT COUNT(*) AS n FROM jobs WHERE owner = ? AND status IN (?, ?)"
        rows = self.database.fetch(query, (owner, *_UNFINISHED))
        return int(rows[0]["n"])

    def unfinished(self) -> list[str]:
        """Ids of jobs still accepted or running, whichever instance runs them."""
        rows = self.database.fetch("SELECT job_id FROM jobs WHERE status IN (?, ?)", _UNFINISHED)
        return [row["job_id"] for row in rows]

    def due_for_expiry(self, now: datetime) -> list[str]:
        """Ids of finished jobs whose results have outlived their expiry time."""
        query = "SELECT job_id FROM jobs WHERE NOT expired AND expires <= ? AND status NOT IN (?, ?)"
        return [row["job_id"] for row in self.database.fetch(query, (now, *_UNFINISHED))]

    def heartbeat(self) -> None:
        """Record that this instance is alive now (and keep holding its name, if it claimed one)."""
        if self.instance and not self.database.claim(self.instance):
            log.error("instance name %r is held by another process: its jobs may be failed", self.instance)
        now = self.database.now()
        self.database.execute(
            "INSERT INTO instances (name, started, last_seen) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET last_seen = excluded.last_seen",
            (self.instance, now, now),
        )

    def instances(self) -> dict[str, datetime]:
        """When each known instance was last seen (the database's clock)."""
        rows = self.database.fetch("SELECT name, last_seen FROM instances ORDER BY name")
        return {row["name"]: _time(row["last_seen"]) for row in rows}

    def fail_own_unfinished(self, error: JobError) -> list[str]:
        """Fail every unfinished job of this instance: call only before it runs any (start-up)."""
        return self._fail_where("instance = ?", (self.instance,), error)

    def fail_abandoned(self, lease: float, error: JobError) -> list[str]:
        """Fail the unfinished jobs of every other instance not seen for more than ``lease`` seconds
        (or never seen: jobs from before instances were recorded); their ids."""
        now = self.database.now()
        live = "SELECT name FROM instances WHERE last_seen >= ?"
        failed = self._fail_where(
            f"instance <> ? AND instance NOT IN ({live})",
            (self.instance, now - timedelta(seconds=lease)),
            error,
        )
        self.database.execute(
            "DELETE FROM instances WHERE last_seen < ? AND name <> ?",
            (now - max(FORGET_INSTANCES_AFTER, timedelta(seconds=2 * lease)), self.instance),
        )
        return failed

    def _fail_where(self, condition: str, params: tuple[Any, ...], error: JobError) -> list[str]:
        now = utcnow()
        rows = self.database.fetch(
            "UPDATE jobs SET status = ?, finished = ?, updated = ?, error = ?"
            f" WHERE status IN (?, ?) AND {condition} RETURNING job_id",
            (JobStatus.FAILED.value, now, now, error.model_dump_json(), *_UNFINISHED, *params),
        )
        return sorted(row["job_id"] for row in rows)

    def _row(self, query: str, job_id: str) -> Row | None:
        rows = self.database.fetch(query, (job_id,))
        return rows[0] if rows else None


def open_store(settings: Settings) -> JobStore:
    """The job store the settings name, on behalf of this instance (its name claimed).

    ``database_url`` empty: SQLite in ``data_dir/jobs.sqlite``; ``postgresql://...`` (or
    ``postgres://...``): that PostgreSQL database. Migrations are applied before this returns.
    """
    url = settings.database_url.strip()
    database: Database
    if not url:
        from app.jobs.sqlite_store import SqliteDatabase

        database = SqliteDatabase(settings.data_dir / "jobs.sqlite")
    elif urlsplit(url).scheme in {"postgresql", "postgres"}:
        from app.jobs.postgres_store import PostgresDatabase

        database = PostgresDatabase(url)
    else:
        raise ValueError(
            f"WPS_DATABASE_URL must be empty or postgresql://...; got scheme {urlsplit(url).scheme!r}"
        )
    try:
        instance = _claim_instance(database, settings)
    except BaseException:
        database.close()
        raise
    return JobStore(database, instance)


def default_instance_name(settings: Settings) -> str:
    """``host:port``: this machine's host name and the port of the public URL.

    Stable across restarts (so a restarted instance recognises its own interrupted jobs) and
    distinct between hosts. Two processes of one host sharing a public URL would share it: the
    second then runs as ``host:port/pid`` (see :func:`open_store`).
    """
    parts = urlsplit(settings.public_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{socket.gethostname()}:{port}"


def _claim_instance(database: Database, settings: Settings) -> str:
    """This process's instance name, held for its lifetime.

    An explicit ``WPS_INSTANCE_NAME`` held by a live process is waited for up to one lease (its
    previous holder may be a vanished host the server has not noticed yet), then refused; the
    default name falls back at once to ``host:port/pid``, which no restart will reuse: that
    process's interrupted jobs are then failed by the lease rule rather than by its restart.
    """
    if settings.instance_name:
        deadline = time.monotonic() + settings.instance_lease
        while not database.claim(settings.instance_name):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"instance name {settings.instance_name!r} is held by another live process: give "
                    "every API process its own WPS_INSTANCE_NAME"
                )
            log.warning("instance name %r is held by another process; waiting", settings.instance_name)
            time.sleep(1.0)
        return settings.instance_name
    name = default_instance_name(settings)
    if database.claim(name):
        return name
    fallback = f"{name}/{os.getpid()}"
    log.warning(
        "instance name %r is held by another process of this host: running as %r; set "
        "WPS_INSTANCE_NAME per process so that a restart recovers its own jobs at once",
        name,
        fallback,
    )
    if not database.claim(fallback):
        raise RuntimeError(f"instance name {fallback!r} is held by another live process")
    return fallback


def _marks(values: tuple[Any, ...] | list[Any]) -> str:
    return ", ".join("?" for _ in values)


def _encode(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key in _DOCUMENTS:
        return value.model_dump_json()
    if isinstance(value, JobStatus):
        return value.value
    return value


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _info(row: Row) -> JobInfo:
    def optional(name: str) -> datetime | None:
        return _time(row[name]) if row[name] else None

    return JobInfo(
        job_id=row["job_id"],
        process_id=row["process_id"],
        status=JobStatus(row["status"]),
        created=_time(row["created"]),
        updated=_time(row["updated"]),
        started=optional("started"),
        finished=optional("finished"),
        expires=optional("expires"),
        percent=row["percent"],
        message=row["message"],
        error=JobError.model_validate_json(row["error"]) if row["error"] else None,
        expired=bool(row["expired"]),
        owner=row["owner"],
    )
