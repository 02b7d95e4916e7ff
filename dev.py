#!/usr/bin/env python3
"""The set-up commands: ``python3 dev.py serve``, ``python3 dev.py test`` and ``python3 dev.py cluster``.

Needs only Python 3.11+ and git. Creates ``.venv`` next to this file, installs the project into it
(again only when pyproject.toml changed), then starts the service, runs the whole test suite, or
starts the service on a local dask.distributed cluster:

    python3 dev.py cluster                      # scheduler + 2 workers + the API, on 127.0.0.1
    python3 dev.py cluster --workers 3 --nthreads 1 --memory-limit 3GiB

``cluster`` runs distributed's own CLI from the venv as child processes: ``dask scheduler`` on
127.0.0.1:8786 (``--scheduler-port``), ``--workers`` x ``dask worker`` (each with a nanny, which
restarts a worker that died or outgrew ``--memory-limit``), then the API with
``WPS_DASK_SCHEDULER=tcp://127.0.0.1:8786``, all with the same ``WPS_*`` environment (so the
workers write into the same ``WPS_DATA_DIR``). Defaults fit a small machine: the cores shared out
between the workers (``--nthreads``), 4 GiB per worker. Ctrl-C stops everything; so does any of
the processes exiting.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"


def ensure_environment(extras: str) -> None:
    """Create the virtual environment and install the project with ``extras`` if needed."""
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / f".installed-{extras or 'base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    target = f"-e.[{extras}]" if extras else "-e."
    subprocess.run([*pip, target], check=True, cwd=ROOT)
    stamp.write_text(digest)


def service_command() -> tuple[list[str], dict[str, str]]:
    """The command and environment that start the service on WPS_HOST:WPS_PORT (127.0.0.1:8000)."""
    host = os.environ.get("WPS_HOST", "127.0.0.1")
    port = os.environ.get("WPS_PORT", "8000")
    env = os.environ | {"WPS_PUBLIC_URL": os.environ.get("WPS_PUBLIC_URL", f"http://{host}:{port}")}
    # X-Forwarded-* are believed only from WPS_TRUSTED_PROXIES (by the app), not from uvicorn's default
    server = ["--host", host, "--port", port, "--no-proxy-headers"]
    return [str(PYTHON), "-m", "uvicorn", "app.main:app", *server], env


def serve() -> int:
    """Start the service on its embedded defaults (WPS_* variables override them)."""
    ensure_environment("")
    command, env = service_command()
    return subprocess.call(command, cwd=ROOT, env=env)


def cluster_arguments(argv: list[str]) -> argparse.Namespace:
    """The options of ``dev.py cluster``."""
    parser = argparse.ArgumentParser(
        prog="python3 dev.py cluster",
        description="The service on a local dask.distributed cluster (scheduler, workers, API).",
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument(
        "--nthreads", type=int, default=0, help="threads per worker (default: cores / workers, at least 1)"
    )
    parser.add_argument("--memory-limit", default="4GiB", help="per worker (default 4GiB)")
    parser.add_argument("--scheduler-port", type=int, default=8786, help="on 127.0.0.1 (default 8786)")
    options = parser.parse_args(argv)
    if options.workers < 1:
        parser.error("--workers must be at least 1")
    options.nthreads = options.nthreads or max(1, (os.cpu_count() or 1) // options.workers)
    return options


def cluster(argv: list[str]) -> int:
    """Start a scheduler, ``--workers`` workers and the API pointing at them; stop all on Ctrl-C."""
    options = cluster_arguments(argv)
    ensure_environment("")
    address = f"tcp://127.0.0.1:{options.scheduler_port}"
    api, env = service_command()
    env["WPS_DASK_SCHEDULER"] = address
    dask = [str(PYTHON), "-m", "dask"]
    scheduler = ["scheduler", "--host", "127.0.0.1", "--port", str(options.scheduler_port), "--no-dashboard"]
    worker = [
        *("worker", address, "--host", "127.0.0.1", "--no-dashboard"),
        *("--nthreads", str(options.nthreads), "--memory-limit", options.memory_limit),
    ]
    children: list[subprocess.Popen[bytes]] = []
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        children.append(_start([*dask, *scheduler], env))
        _wait_for_port(options.scheduler_port, children[0])
        for index in range(options.workers):
            named = [*dask, *worker, "--name", f"worker-{index}"]
            children.append(_start(named, env))
        children.append(_start(api, env))
        shape = f"{options.workers} workers x {options.nthreads} threads"
        print(f"scheduler {address}, {shape}; Ctrl-C stops everything", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        return next(child.returncode for child in children if child.returncode is not None) or 1
    except KeyboardInterrupt:
        return 0
    finally:
        _stop_all(children)


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops the cluster as Ctrl-C does."""
    raise KeyboardInterrupt


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A child in a process group of its own: Ctrl-C reaches dev.py alone, which stops the children
    in order (all at once, the workers would outlive the scheduler and reconnect in vain)."""
    return subprocess.Popen(command, cwd=ROOT, env=env, process_group=0)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Until something listens on 127.0.0.1:``port``; RuntimeError if ``process`` exits first."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the dask scheduler did not start on port {port}")
        time.sleep(0.2)


def _stop_all(children: list[subprocess.Popen[bytes]]) -> None:
    """The API first (it closes its client), then the workers, then the scheduler, each given 15 s."""
    for child in reversed(children):
        if child.poll() is None:
            child.send_signal(signal.SIGINT if child is children[-1] else signal.SIGTERM)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def test(extra_args: list[str]) -> int:
    """Lint, type-check and run the whole test suite."""
    ensure_environment("test")
    for check in (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]):
        if subprocess.call([str(BIN / check[0]), *check[1:]], cwd=ROOT) != 0:
            return 1
    # loadgroup: the tests of one xdist_group (e.g. those sharing a dask cluster) run in one worker
    pytest = [str(PYTHON), "-m", "pytest", "-n", "auto", "--dist", "loadgroup"]
    return subprocess.call([*pytest, *extra_args], cwd=ROOT)


def main() -> int:
    """Dispatch ``serve``, ``test`` or ``cluster``."""
    if len(sys.argv) < 2 or sys.argv[1] not in {"serve", "test", "cluster"}:
        print("usage: python3 dev.py serve | test [pytest arguments] | cluster [--help]", file=sys.stderr)
        return 2
    if sys.argv[1] == "cluster":
        return cluster(sys.argv[2:])
    return serve() if sys.argv[1] == "serve" else test(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
