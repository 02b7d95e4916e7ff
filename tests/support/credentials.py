"""Credentials for tests: a movable clock, bcrypt htpasswd lines, API key lines, auth headers."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import bcrypt

TEST_COST = 4  # bcrypt's lowest cost: real hashes, fast tests


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


def bcrypt_line(user: str, password: str, cost: int = TEST_COST) -> str:
    """An htpasswd line with a real bcrypt hash, in the `$2y$` form htpasswd -B writes."""
    hashed = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=cost)).decode("ascii")
    return f"{user}:$2y${hashed[4:]}"


def key_line(user: str, key: str) -> str:
    """An API keys file line: the user and the SHA-256 of the key."""
    return f"{user}:{hashlib.sha256(key.encode()).hexdigest()}"


def rewrite(path: Path, text: str) -> None:
    """Replace the file with ``text`` (atomically, as a careful operator does) and move its mtime on
    by a second, as an edit some time later would."""
    old = path.stat().st_mtime_ns if path.exists() else 0
    staged = path.with_name(path.name + ".new")
    staged.write_text(text, encoding="utf-8")
    os.utime(staged, ns=(old + 1_000_000_000, old + 1_000_000_000))
    os.replace(staged, path)


def basic(user: str, password: str) -> dict[str, str]:
    """Headers carrying HTTP Basic credentials (UTF-8, RFC 7617)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def bearer(token: str) -> dict[str, str]:
    """Headers carrying a bearer token."""
    return {"Authorization": f"Bearer {token}"}
