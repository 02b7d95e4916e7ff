"""The compose file's proxy, deploy/nginx/nginx.conf, run for real by Debian's nginx on 127.0.0.1.

    with running_nginx(tmp_path, port, ["127.0.0.1:8001", "127.0.0.1:8002"]):
        httpx.get(f"http://127.0.0.1:{port}/wps?...")

The configuration is the deployed one with only what Docker provides replaced: the upstream
``api:8000`` (Docker's DNS answers every replica) by the given addresses, the listening port, and
the pid and temporary paths (under ``scratch``, so that several runs can share a machine).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEPLOYED = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "nginx.conf"
UPSTREAM = "server api:8000 "
START_TIMEOUT = 20.0


def nginx_available() -> bool:
    """Whether Debian's nginx is installed (.ci/run installs nginx-light)."""
    return shutil.which("nginx") is not None


def rendered_conf(upstreams: list[str], port: int = 8080, scratch: Path | None = None) -> str:
    """deploy/nginx/nginx.conf forwarding to ``upstreams`` (``host:port``), listening on ``port``."""
    text = DEPLOYED.read_text()
    assert text.count(UPSTREAM) == 1, "the proxy forwards to the api service on its port"
    line = next(line for line in text.splitlines() if UPSTREAM in line)
    servers = "\n".join(line.replace("api:8000", upstream) for upstream in upstreams)
    text = text.replace(line, servers)
    assert text.count("listen 8080;") == 1
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    if scratch is not None:
        text = text.replace("pid /tmp/nginx.pid;", f"pid {scratch}/nginx.pid;")
        text = text.replace("/tmp/nginx-", f"{scratch}/nginx-")
        if os.geteuid() == 0:  # workers would run as nobody, who cannot enter pytest's folders
            text = "user root;\n" + text
    return text


@contextmanager
def running_nginx(scratch: Path, port: int, upstreams: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    """nginx in the foreground on 127.0.0.1:``port``; its log in ``scratch/nginx.log``."""
    scratch.mkdir(parents=True, exist_ok=True)
    conf = scratch / "nginx.conf"
    conf.write_text(rendered_conf(upstreams, port, scratch))
    command = ["nginx", "-c", str(conf), "-p", str(scratch), "-e", "stderr", "-g", "daemon off;"]
    with (scratch / "nginx.log").open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"nginx did not start on port {port} (exit {process.poll()})")
        time.sleep(0.1)
