"""The service as a real child process (``uvicorn app.main:app``), configured by environment only.

Used by the restart test and by the benchmarks.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def service_process(
    data_dir: Path, port: int, extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start the service on 127.0.0.1:``port`` over ``data_dir``; stop it on exit (if still alive).

    Output goes to ``service-<port>.log`` next to the data dir.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    env = os.environ | {
        "WPS_DATA_DIR": str(data_dir),
        "WPS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "WPS_ALLOWED_HOSTS": "127.0.0.1",
    }
    env |= extra_env or {}
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)]
    with (data_dir.parent / f"service-{port}.log").open("ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_healthy(process, port)
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)


@contextmanager
def running_service(data_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """The service on a free port; yields its base URL."""
    port = free_port()
    with service_process(data_dir, port, extra_env):
        yield f"http://127.0.0.1:{port}"


def _wait_until_healthy(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"service exited at start-up with code {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError("service did not become healthy within 60 s")
        time.sleep(0.1)


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM a child, SIGKILL it if it has not exited within ``timeout`` seconds; wait for it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
