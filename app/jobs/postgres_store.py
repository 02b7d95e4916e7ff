"""The shared job database: PostgreSQL through psycopg 3 and a connection pool.

Several API processes (instances) behind a load balancer use one database, so a job submitted
through one is seen, polled and dismissed through any other. Every statement is a single
autocommitted change; state changes are guarded in their WHERE clause, which PostgreSQL re-checks
on the locked row when two instances race (READ COMMITTED), so only one of them wins.

Instance names are held by session advisory locks on one extra connection per process: the server
drops them when that connection ends, with the process however it ends (TCP keepalives on that
session let the server notice a vanished host within about a minute).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from app.jobs.database import RECORD_MIGRATION, Row, pending

log = logging.getLogger(__name__)

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""
# Server-side keepalives of the claiming session: a vanished host's names are released in ~1 min.
_KEEPALIVES = (
    "SET tcp_keepalives_idle = 20",
    "SET tcp_keepalives_interval = 5",
    "SET tcp_keepalives_count = 6",
)


class PostgresDatabase:
    """The jobs database on a PostgreSQL server (see :class:`app.jobs.database.Database`)."""

    dialect = "postgres"

    def __init__(self, url: str, *, max_connections: int = 10, timeout: float = 30.0) -> None:
        self._url = url
        self._pool: ConnectionPool[psycopg.Connection[dict[str, Any]]] = ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            timeout=timeout,
            kwargs={"autocommit": True, "row_factory": dict_row},
            configure=_configure,
            check=ConnectionPool.check_connection,
            name="wps-jobs",
            open=False,
        )
        self._pool.open(wait=True, timeout=timeout)
        self._claims: dict[str, psycopg.Connection[Any]] = {}  # instance name -> its lock's session
        self._claims_lock = threading.Lock()
        try:
            self._migrate()
        except BaseException:
            self._pool.close()
            raise

    def execute(self, query: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; how many rows it changed."""
        with self._pool.connection() as connection:
            return connection.execute(_placeholders(query), params).rowcount

    def fetch(self, query: str, params: Sequence[Any] = ()) -> Sequence[Row]:
        """Run one statement; its rows."""
        with self._pool.connection() as connection:
            rows: Sequence[Row] = connection.execute(_placeholders(query), params).fetchall()
        return rows

    def now(self) -> datetime:
        """The server's clock, the same for every instance whatever their hosts' clocks say."""
        (row,) = self.fetch("SELECT now() AS now")
        now: datetime = row["now"]
        return now

    def claim(self, name: str) -> bool:
        """Hold ``name`` by a session advisory lock on a connection of its own."""
        with self._claims_lock:
            if self._still_held(name):
                return True
            connection = psycopg.connect(self._url, autocommit=True)
            try:
                for setting in _KEEPALIVES:
                    connection.execute(setting)
                key = _lock_key("instance", name)
                row = connection.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            except BaseException:
                connection.close()
                raise
            if row is None or not row[0]:
                connection.close()
                return False
            self._claims[name] = connection
            return True

    def close(self) -> None:
        """Close the pool and release the names held."""
        with self._claims_lock:
            for connection in self._claims.values():
                connection.close()
            self._claims.clear()
        self._pool.close()

    def _still_held(self, name: str) -> bool:
        """Whether the connection holding ``name`` is still there (if not, the lock went with it)."""
        held = self._claims.pop(name, None)
        if held is None:
            return False
        try:
            held.execute("SELECT 1")
        except psycopg.Error:
            log.warning("lost the connection holding instance name %r; claiming it again", name)
            held.close()
            return False
        self._claims[name] = held
        return True

    def _migrate(self) -> None:
        """Apply the pending migrations in one transaction, one process at a time (advisory lock)."""
        with self._pool.connection() as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key("migrations", "jobs"),))
            connection.execute(_BOOKKEEPING)
            rows = connection.execute("SELECT version FROM schema_migrations").fetchall()
            for migration in pending("postgres", {row["version"] for row in rows}):
                connection.execute(migration.sql.encode())  # no parameters: several statements at once
                connection.execute(_placeholders(RECORD_MIGRATION), (migration.version, migration.name))
                log.info("applied job database migration %s", migration.name)


def _configure(connection: psycopg.Connection[Any]) -> None:
    """Every pooled connection reads times in UTC."""
    connection.execute("SET TIME ZONE 'UTC'")


def _placeholders(query: str) -> bytes:
    """The store's ``?`` placeholders as psycopg's ``%s`` (the store's SQL has no other ``?``)."""
    return query.replace("%", "%%").replace("?", "%s").encode()


def _lock_key(kind: str, name: str) -> int:
    """A signed 64-bit advisory lock key for ``name`` (hash collisions across names: negligible)."""
    digest = hashlib.sha256(f"rasterwps:{kind}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
