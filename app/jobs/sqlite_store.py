"""The embedded job database: one SQLite file in the data directory, nothing to install.

One connection in WAL mode behind a lock serves every thread of the process; other processes on the
same host (uvicorn workers) share the file through SQLite's own locking. Instance names are held by
``flock`` on a small file beside the database, which the kernel releases when the process ends,
however it ends.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from app.jobs.database import RECORD_MIGRATION, Row, pending, utcnow

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)
"""


class SqliteDatabase:
    """The jobs database in one SQLite file (see :class:`app.jobs.database.Database`)."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._connection.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._claims: dict[str, int] = {}  # instance name -> descriptor of its locked file
        self._claims_lock = threading.Lock()
        with self._cursor() as cursor:
            _enable_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            _migrate(cursor)

    @contextmanager
    def _cursor(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cursor = self._connection.cursor()
            try:
                yield cursor
            finally:
                cursor.close()

    def execute(self, query: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; how many rows it changed."""
        with self._cursor() as cursor:
            cursor.execute(query, _adapt(params))
            return cursor.rowcount

    def fetch(self, query: str, params: Sequence[Any] = ()) -> Sequence[Row]:
        """Run one statement; its rows."""
        with self._cursor() as cursor:
            rows: Sequence[Row] = cursor.execute(query, _adapt(params)).fetchall()
        return rows

    def now(self) -> datetime:
        """This host's clock: every process sharing the file runs on this host."""
        return utcnow()

    def claim(self, name: str) -> bool:
        """Hold ``name`` by an exclusive ``flock`` on a file beside the database."""
        with self._claims_lock:
            if name in self._claims:
                return True
            folder = self.path.with_name(self.path.name + ".instances")
            folder.mkdir(exist_ok=True)
            digest = hashlib.sha256(name.encode()).hexdigest()[:32]
            descriptor = os.open(folder / f"{digest}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                return False
            os.ftruncate(descriptor, 0)
            os.write(descriptor, f"{name}\n".encode())
            self._claims[name] = descriptor
            return True

    def close(self) -> None:
        """Close the connection and release the names held."""
        with self._lock:
            self._connection.close()
        with self._claims_lock:
            for descriptor in self._claims.values():
                os.close(descriptor)
            self._claims.clear()


def _enable_wal(cursor: sqlite3.Cursor, patience: float = 30.0) -> None:
    """WAL mode (persistent in the file). Switching a new file to it takes an exclusive lock that
    SQLite does not wait for: processes opening it at once retry until one of them has switched it."""
    deadline = time.monotonic() + patience
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _adapt(params: Sequence[Any]) -> list[Any]:
    """Times as ISO 8601 text (never sqlite3's deprecated default adapter, which writes a space)."""
    return [value.isoformat() if isinstance(value, datetime) else value for value in params]


def _migrate(cursor: sqlite3.Cursor) -> None:
    """Apply the pending migrations in one write transaction (BEGIN IMMEDIATE: one process at once)."""
    cursor.execute("BEGIN IMMEDIATE")
    try:
        cursor.execute(_BOOKKEEPING)
        applied = {row["version"] for row in cursor.execute("SELECT version FROM schema_migrations")}
        if not applied:
            applied = _adopt_unversioned(cursor)
        for migration in pending("sqlite", applied):
            for statement in _statements(migration.sql):
                cursor.execute(statement)
            cursor.execute(RECORD_MIGRATION, (migration.version, migration.name))
        cursor.execute("COMMIT")
    except BaseException:
        cursor.execute("ROLLBACK")
        raise


def _adopt_unversioned(cursor: sqlite3.Cursor) -> set[int]:
    """Record what a file made before migrations existed already has: the jobs table (0001) and,
    when it has the column, the owner (0002, which also made its index)."""
    tables = {row["name"] for row in cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "jobs" not in tables:
        return set()
    columns = {row["name"] for row in cursor.execute("PRAGMA table_info(jobs)")}
    adopted = {1: "0001_jobs"} | ({2: "0002_owner"} if "owner" in columns else {})
    for version, name in adopted.items():
        cursor.execute(RECORD_MIGRATION, (version, name))
    return set(adopted)


def _statements(script: str) -> Iterator[str]:
    """The statements of a migration file, one by one (``executescript`` would commit first)."""
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    buffer = ""
    for piece in "\n".join(lines).split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \t\n;"):
                yield buffer
            buffer = ""
