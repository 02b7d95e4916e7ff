"""Fixtures of the job store tests: either database (SQLite, or PostgreSQL from the root conftest's
``postgres_url``) behind one API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.jobs.database import Database
from app.jobs.postgres_store import PostgresDatabase
from app.jobs.sqlite_store import SqliteDatabase
from app.jobs.store import JobStore

BACKENDS = ["sqlite", "postgres"]

OpenDatabase = Callable[[], Database]
OpenStore = Callable[[str], JobStore]


@pytest.fixture(params=BACKENDS)
def open_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenDatabase]:
    """Opens connections to ONE database of the backend the test is parametrized with: each call
    is another process's view of it (its own connection or pool). All closed afterwards."""
    if request.param == "sqlite":
        path = tmp_path / "jobs.sqlite"

        def make() -> Database:
            return SqliteDatabase(path)
    else:
        url = request.getfixturevalue("postgres_url")

        def make() -> Database:
            return PostgresDatabase(url)

    opened: list[Database] = []

    def open_one() -> Database:
        opened.append(make())
        return opened[-1]

    yield open_one
    for database in opened:
        database.close()


@pytest.fixture
def open_store(open_database: OpenDatabase) -> OpenStore:
    """Opens a job store of the named instance over the test's database."""
    return lambda instance: JobStore(open_database(), instance)
