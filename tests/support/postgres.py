"""A real, throwaway PostgreSQL server for tests: Debian's ``postgresql`` package, no container.

    with PostgresServer.start() as server:
        url = server.create_database()      # postgresql://wps@127.0.0.1:PORT/t_...
        ...

``initdb`` into a fresh temporary folder, ``pg_ctl start`` on a free port of 127.0.0.1 (its unix
socket in the same folder, trust authentication, durability off: nothing here must survive), and
``pg_ctl stop`` plus removal at the end. ``initdb`` refuses to run as root: as root, the server runs
as the ``postgres`` user the package creates (via ``runuser``). Anything missing raises
:class:`PostgresUnavailable` with the reason, for the fixtures to skip loudly.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.support.service import free_port

USER = "wps"  # the cluster's superuser, trusted from 127.0.0.1
_SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    " -c max_connections=300"
)


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be started here; the message says why."""


def find_bindir() -> Path:
    """The folder of initdb and pg_ctl: the newest /usr/lib/postgresql/<version>/bin, or PATH's."""

    def version(path: Path) -> int:
        return int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0

    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=version, reverse=True)
    if found:
        return found[0].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresUnavailable(
        "initdb not found (install Debian's postgresql package: apt-get install -y postgresql)"
    )


class PostgresServer:
    """One running cluster; :meth:`create_database` hands out a fresh database per test."""

    def __init__(self, root: Path, port: int, run_as: list[str]) -> None:
        self.root = root
        self.port = port
        self.url = f"postgresql://{USER}@127.0.0.1:{port}/postgres"
        self._run_as = run_as

    @classmethod
    @contextmanager
    def start(cls) -> Iterator[PostgresServer]:
        """Start a cluster in a new temporary folder; stop and delete it on exit."""
        bindir = find_bindir()
        run_as = _run_as()
        root = Path(tempfile.mkdtemp(prefix="wps-postgres-"))
        try:
            if run_as:
                user = pwd.getpwnam(run_as[-2])
                os.chown(root, user.pw_uid, user.pw_gid)
            server = cls(root, free_port(), run_as)
            server._run(
                bindir / "initdb", "-D", root / "data", "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync"
            )
            server._run(
                bindir / "pg_ctl", "-D", root / "data", "-l", root / "server.log", "-w", "-t", "60",
                "-o", f"-p {server.port} -k {root} {_SERVER_OPTIONS}", "start",
            )  # fmt: skip
            try:
                yield server
            finally:
                server._run(bindir / "pg_ctl", "-D", root / "data", "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def create_database(self) -> str:
        """A new empty database; its URL."""
        name = f"t_{uuid.uuid4().hex}"
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}".encode())
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database`, closing whatever is still connected."""
        name = url.rsplit("/", 1)[1]
        assert re.fullmatch(r"t_[0-9a-f]{32}", name), name
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())

    def _run(self, *command: object) -> None:
        completed = subprocess.run(
            [*self._run_as, *map(str, command)], capture_output=True, text=True, timeout=120, check=False
        )
        if completed.returncode != 0:
            log = self.root / "server.log"
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresUnavailable(
                f"{Path(str(command[0])).name} failed ({completed.returncode}): "
                f"{completed.stderr.strip()[-2000:]} {detail}"
            )


def _run_as() -> list[str]:
    """``runuser -u postgres --`` when running as root (initdb refuses root), else nothing."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise PostgresUnavailable(
            "running as root and there is no 'postgres' user to run the server"
        ) from exc
    if shutil.which("runuser") is None:
        raise PostgresUnavailable("running as root and runuser is missing")
    return ["runuser", "-u", "postgres", "--"]
