"""Fixtures of the job store tests: a real PostgreSQL server, and either database behind one API.

The server is started once per test process (each xdist worker has its own) and each test gets a
database of its own. Where PostgreSQL cannot be started, its tests are skipped with the reason in
capitals in the summary (and on stderr): never silently.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from app.jobs.database import Database
from app.jobs.postgres_store import PostgresDatabase
from app.jobs.sqlite_store import SqliteDatabase
from app.jobs.store import JobStore
from tests.support.postgres import PostgresServer, PostgresUnavailable

BACKENDS = ["sqlite", "postgres"]

OpenDatabase = Callable[[], Database]
OpenStore = Callable[[str], JobStore]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster for this test process."""
    stack = ExitStack()
    try:
        server = stack.enter_context(PostgresServer.start())
    except PostgresUnavailable as exc:
        reason = f"POSTGRESQL UNAVAILABLE, ITS TESTS ARE SKIPPED: {exc}"
        print(f"\nWARNING: {reason}", file=sys.stderr)
        pytest.skip(reason)
    with stack:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database on the test server, dropped afterwards."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


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
