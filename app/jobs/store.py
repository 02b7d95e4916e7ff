"""Job records in SQLite under the data directory: the embedded default, nothing to install.

One row per job: its state, timestamps, the request it came with and, once finished, its result
or error, as JSON of the neutral models. Every status document is rendered from this record.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.model.jobs import JobError, JobInfo, JobStatus
from app.model.requests import ExecuteRequest
from app.model.results import ExecuteResult

_SCHEMA = """
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
    error TEXT,
    owner TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created);
"""
# Columns added since the first schema: (name, definition), applied to older files at open.
_ADDED_COLUMNS = (("owner", "TEXT NOT NULL DEFAULT ''"),)

_TIME_FIELDS = {"created", "updated", "started", "finished", "expires"}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class JobStore:
    """Thread-safe access to the jobs table of one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.executescript(_SCHEMA)
            present = {row["name"] for row in cursor.execute("PRAGMA table_info(jobs)")}
            for name, definition in _ADDED_COLUMNS:
                if name not in present:
                    cursor.execute(f"ALTER TABLE jobs ADD COLUMN {name} {definition}")
            cursor.execute("CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, status)")

    @contextmanager
    def _cursor(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cursor = self._connection.cursor()
            try:
                yield cursor
            finally:
                cursor.close()

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._connection.close()

    def create(self, job_id: str, request: ExecuteRequest, expires: datetime, owner: str = "") -> JobInfo:
        """Record a new accepted job of ``owner`` ("" = anonymous)."""
        now = utcnow().isoformat()
        with self._cursor() as cursor:
            cursor.execute(
                "INSERT INTO jobs (job_id, process_id, status, created, updated, expires, request, owner)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    request.identifier,
                    JobStatus.ACCEPTED.value,
                    now,
                    now,
                    expires.isoformat(),
                    request.model_dump_json(),
                    owner,
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
        values: dict[str, Any] = {"updated": utcnow()} | fields
        encoded = {key: _encode(key, value) for key, value in values.items()}
        assignments = ", ".join(f"{key} = ?" for key in encoded)
        query = f"UPDATE jobs SET {assignments} WHERE job_id = ?"
        params: list[Any] = [*encoded.values(), job_id]
        if only_if:
            query += f" AND status IN ({', '.join('?' for _ in only_if)})"
            params.extend(status.value for status in only_if)
        with self._cursor() as cursor:
            cursor.execute(query, params)
            return cursor.rowcount > 0

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
                clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
                params.extend(values)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        query = f"SELECT * FROM jobs {where} ORDER BY created DESC LIMIT ? OFFSET ?"
        with self._cursor() as cursor:
            rows = cursor.execute(query, (*params, limit, offset)).fetchall()
        return [_info(row) for row in rows]

    def count_by_status(self) -> dict[JobStatus, int]:
        """How many jobs are in each state."""
        with self._cursor() as cursor:
            rows = cursor.execute("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status").fetchall()
        return {JobStatus(row["status"]): row["n"] for row in rows}

    def unfinished(self) -> list[str]:
        """Ids of jobs still accepted or running."""
        query = "SELECT job_id FROM jobs WHERE status IN (?, ?)"
        with self._cursor() as cursor:
            rows = cursor.execute(query, (JobStatus.ACCEPTED.value, JobStatus.RUNNING.value)).fetchall()
        return [row["job_id"] for row in rows]

    def due_for_expiry(self, now: datetime) -> list[str]:
        """Ids of finished jobs whose results have outlived their expiry time."""
        query = "SELECT job_id FROM jobs WHERE expired = 0 AND expires <= ? AND status NOT IN (?, ?)"
        with self._cursor() as cursor:
            rows = cursor.execute(
                query, (now.isoformat(), JobStatus.ACCEPTED.value, JobStatus.RUNNING.value)
            ).fetchall()
        return [row["job_id"] for row in rows]

    def _row(self, query: str, job_id: str) -> sqlite3.Row | None:
        with self._cursor() as cursor:
            row: sqlite3.Row | None = cursor.execute(query, (job_id,)).fetchone()
        return row


def _encode(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key in _TIME_FIELDS:
        return value.isoformat()
    if key in {"result", "error"}:
        return value.model_dump_json()
    if isinstance(value, JobStatus):
        return value.value
    if isinstance(value, bool):
        return int(value)
    return value


def _info(row: sqlite3.Row) -> JobInfo:
    def time(name: str) -> datetime | None:
        return datetime.fromisoformat(row[name]) if row[name] else None

    created, updated = time("created"), time("updated")
    assert created is not None and updated is not None
    return JobInfo(
        job_id=row["job_id"],
        process_id=row["process_id"],
        status=JobStatus(row["status"]),
        created=created,
        updated=updated,
        started=time("started"),
        finished=time("finished"),
        expires=time("expires"),
        percent=row["percent"],
        message=row["message"],
        error=JobError.model_validate_json(row["error"]) if row["error"] else None,
        expired=bool(row["expired"]),
        owner=row["owner"],
    )
