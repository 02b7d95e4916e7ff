"""HTTP Basic users from an htpasswd file, bcrypt hashes only (what ``htpasswd -B`` writes).

Accepted lines are ``user:$2y$NN$...`` (also ``$2b$`` and ``$2a$``); extra ``:field``s after the hash
are ignored, as Apache does, and so are blank lines and ``#`` comments. Every other scheme htpasswd
knows (MD5 ``$apr1$``, ``{SHA}``, SHA-crypt ``$5$``/``$6$``, DES crypt, plain text) is refused with a
warning at load: its user cannot log in. MD5 and SHA-1 are fast hashes; no well-kept Python library
verifies apr1 or SHA-crypt any more (passlib is unmaintained, ``crypt`` left the standard library).

bcrypt is slow by design (~2 ms at cost 5, ~250 ms at cost 12), so a successful check is remembered
for a short while (keyed by an HMAC of the user and password under a per-process secret, never the
password itself) and forgotten when the file changes. Failures are never remembered. An unknown user
costs one bcrypt check against a dummy hash of the file's usual cost, so response times do not tell
which users exist. Passwords are truncated to bcrypt's 72 bytes, as ``htpasswd -B`` does.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from app.auth.watched import WatchedFile

log = logging.getLogger(__name__)

BCRYPT_MAX_BYTES = 72
_BCRYPT = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")
_REFUSED_SCHEMES = (
    ("$apr1$", "MD5 (apr1)"),
    ("{SHA}", "SHA-1"),
    ("$5$", "SHA-256-crypt"),
    ("$6$", "SHA-512-crypt"),
    ("$2x$", "bcrypt $2x$"),
    ("$1$", "MD5-crypt"),
)
_DEFAULT_COST = 10


@dataclass(frozen=True)
class HtpasswdTable:
    """The users of one version of the file: name -> bcrypt hash, and a dummy hash of their cost."""

    users: dict[str, bytes]
    dummy: bytes


def parse_htpasswd(text: str, source: str = "htpasswd") -> HtpasswdTable:
    """Read htpasswd lines; lines with another scheme than bcrypt are refused with a warning."""
    users: dict[str, bytes] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, colon, rest = line.partition(":")
        stored = rest.split(":", 1)[0]
        if not colon or not user:
            log.warning("auth: %s line %d is not `user:hash`; ignored", source, number)
        elif not _BCRYPT.fullmatch(stored):
            log.warning(
                "auth: %s line %d: user %r has a %s hash, which is refused (only bcrypt, as "
                "`htpasswd -B` writes); that user cannot log in",
                source,
                number,
                user,
                _scheme_name(stored),
            )
        elif user in users:
            log.warning("auth: %s line %d repeats user %r; the first line counts", source, number, user)
        else:
            users[user] = stored.encode("ascii")
    return HtpasswdTable(users, _dummy_hash(users.values()))


def _scheme_name(stored: str) -> str:
    for prefix, name in _REFUSED_SCHEMES:
        if stored.startswith(prefix):
            return name
    return "crypt or plain-text" if not stored.startswith("$") else "unknown"


def _dummy_hash(hashes: Iterable[bytes]) -> bytes:
    """A bcrypt hash of nothing anyone knows, at the cost most of the users' hashes have."""
    costs = Counter(int(stored[4:6]) for stored in hashes)
    cost = costs.most_common(1)[0][0] if costs else _DEFAULT_COST
    return bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds=cost))


class VerifiedCache:
    """Keys of recent successful checks, each valid ``ttl`` seconds; at most ``size`` of them."""

    def __init__(self, ttl: float, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._size = size
        self._clock = clock
        self._expiry: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, key: bytes) -> bool:
        with self._lock:
            expiry = self._expiry.get(key)
            if expiry is None:
                return False
            if expiry <= self._clock():
                del self._expiry[key]
                return False
            return True

    def add(self, key: bytes) -> None:
        """Remember a successful check (the oldest entry goes when full)."""
        with self._lock:
            self._expiry[key] = self._clock() + self._ttl
            self._expiry.move_to_end(key)
            while len(self._expiry) > self._size:
                self._expiry.popitem(last=False)

    def clear(self) -> None:
        """Forget every check (the file changed)."""
        with self._lock:
            self._expiry.clear()


class HtpasswdUsers:
    """Checks Basic credentials against an htpasswd file that may change at run time. Thread-safe."""

    def __init__(
        self,
        path: Path,
        *,
        reload_interval: float = 2.0,
        cache_ttl: float = 60.0,
        cache_size: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._file = WatchedFile(path, parse_htpasswd, interval=reload_interval, clock=clock)
        self._cache = VerifiedCache(cache_ttl, cache_size, clock)
        self._secret = secrets.token_bytes(32)
        self._generation = 0

    def verify(self, user: str, password: str) -> bool:
        """Whether ``password`` is ``user``'s. Unknown users take as long as known ones."""
        table, generation = self._file.current()
        if generation != self._generation:  # racing threads may clear twice: harmless, keys carry it
            self._generation = generation
            self._cache.clear()
        secret = password.encode("utf-8")
        key = self._cache_key(generation, user, secret)
        if key in self._cache:
            return True
        stored = table.users.get(user)
        matched = _checkpw(secret[:BCRYPT_MAX_BYTES], stored if stored is not None else table.dummy)
        if matched and stored is not None:
            self._cache.add(key)
            return True
        return False

    def _cache_key(self, generation: int, user: str, secret: bytes) -> bytes:
        # the generation in the key: a check made against an older file never answers for a newer one;
        # the user's length too, so that no other split of the same bytes into user and password matches
        name = user.encode("utf-8")
        message = b"%d:%d:%s%s" % (generation, len(name), name, secret)
        return hmac.new(self._secret, message, hashlib.sha256).digest()


def _checkpw(password: bytes, stored: bytes) -> bool:
    try:
        return bcrypt.checkpw(password, stored)
    except ValueError:  # a password bcrypt cannot take (e.g. a NUL byte): it matches nothing
        return False
