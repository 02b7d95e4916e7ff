#!/usr/bin/env python3
"""The two set-up commands: ``python3 dev.py serve`` and ``python3 dev.py test``.

Needs only Python 3.11+ and git. Creates ``.venv`` next to this file, installs the project into it
(again only when pyproject.toml changed), then starts the service or runs the whole test suite.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
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


def serve() -> int:
    """Start the service on its embedded defaults (WPS_* variables override them)."""
    ensure_environment("")
    host = os.environ.get("WPS_HOST", "127.0.0.1")
    port = os.environ.get("WPS_PORT", "8000")
    env = os.environ | {"WPS_PUBLIC_URL": os.environ.get("WPS_PUBLIC_URL", f"http://{host}:{port}")}
    # X-Forwarded-* are believed only from WPS_TRUSTED_PROXIES (by the app), not from uvicorn's default
    server = ["--host", host, "--port", port, "--no-proxy-headers"]
    command = [str(PYTHON), "-m", "uvicorn", "app.main:app", *server]
    return subprocess.call(command, cwd=ROOT, env=env)


def test(extra_args: list[str]) -> int:
    """Lint, type-check and run the whole test suite."""
    ensure_environment("test")
    for check in (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]):
        if subprocess.call([str(BIN / check[0]), *check[1:]], cwd=ROOT) != 0:
            return 1
    return subprocess.call([str(PYTHON), "-m", "pytest", "-n", "auto", *extra_args], cwd=ROOT)


def main() -> int:
    """Dispatch ``serve`` or ``test``."""
    if len(sys.argv) < 2 or sys.argv[1] not in {"serve", "test"}:
        print("usage: python3 dev.py serve | test [pytest arguments]", file=sys.stderr)
        return 2
    return serve() if sys.argv[1] == "serve" else test(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
