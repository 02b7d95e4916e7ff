"""What the job store needs of a database, and the schema migrations both backends apply.

The job store (:mod:`app.jobs.store`) speaks one SQL, written with ``?`` placeholders, to either
backend: SQLite in the data directory (:mod:`app.jobs.sqlite_store`, the embedded default) or
PostgreSQL (:mod:`app.jobs.postgres_store`, shared by several API processes). Each backend adapts
parameters and placeholders, keeps its own connections safe for the service's threads, and brings
its schema up to date when it opens.

Migrations are plain SQL files, ``migrations/<dialect>/NNNN_what.sql``, applied in the order of
their number, each in the same transaction as its row in ``schema_migrations``, under a lock that
makes two processes starting at once apply each file exactly once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
RECORD_MIGRATION = "INSERT INTO schema_migrations (version, name) VALUES (?, ?)"


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Row(Protocol):
    """One result row: its columns by name (``sqlite3.Row`` and psycopg's dict rows both are)."""

    def __getitem__(self, key: str, /) -> Any: ...


class Database(Protocol):
    """A connection (or pool) to the jobs database, safe to share between threads.

    Statements use ``?`` placeholders; each call is one statement, committed on its own. Parameters
    may be ``str``, ``int``, ``bool``, ``None`` or an aware ``datetime``: each backend stores them
    in its own types. Times come back as ``datetime`` or as ISO 8601 text.
    """

    dialect: str  # "sqlite" or "postgres": the migrations folder of this backend

    def execute(self, query: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; how many rows it changed."""
        ...

    def fetch(self, query: str, params: Sequence[Any] = ()) -> Sequence[Row]:
        """Run one statement (a SELECT, or a change with RETURNING); its rows."""
        ...

    def now(self) -> datetime:
        """The database's clock: the one every instance's heartbeat and lease are measured on."""
        ...

    def claim(self, name: str) -> bool:
        """Hold ``name`` for as long as this process lives; False when a live process holds it.

        Idempotent: claiming a name already held here checks the hold is still good (a lock lost
        with its connection is taken again). The hold ends with the process, however it ends.
        """
        ...

    def close(self) -> None:
        """Release every connection and claim."""
        ...


@dataclass(frozen=True)
class Migration:
    """One SQL file of a backend's schema history."""

    version: int
    name: str
    sql: str


def migrations(dialect: str) -> list[Migration]:
    """A backend's migrations, in the order they apply."""
    found = []
    for path in sorted((MIGRATIONS / dialect).glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise RuntimeError(f"migration file {path} is not named NNNN_what.sql")
        found.append(Migration(int(match.group(1)), path.stem, path.read_text(encoding="utf-8")))
    versions = [migration.version for migration in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two {dialect} migrations share a number: {versions}")
    return found


def pending(dialect: str, applied: set[int]) -> list[Migration]:
    """The migrations still to apply over a schema at ``applied``; warns of unknown newer ones."""
    known = migrations(dialect)
    unknown = applied - {migration.version for migration in known}
    if unknown:
        log.warning(
            "the job database has schema versions %s this release does not know (a newer release "
            "migrated it); continuing, as migrations only add",
            sorted(unknown),
        )
    return [migration for migration in known if migration.version not in applied]
