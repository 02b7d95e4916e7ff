"""The OIDC issuer's signing keys (its JWKS), fetched over HTTP, cached, refreshed when needed.

The set is fetched on first use (an issuer that is down at startup does not stop the service), used
for ``max_age`` seconds, then fetched again; a token whose ``kid`` the set lacks (the issuer rotated
its keys) also triggers a fetch. Fetches are rate-limited: at most one attempt per
``refresh_interval`` seconds whatever the reason, so a flood of tokens with random ``kid``s costs the
issuer one request per interval. While a fetch fails the last good set stays in use.

Only signature keys of asymmetric types (RSA, EC, OKP) are kept: a symmetric ``oct`` key or an
encryption key in the set is skipped. The fetch has a timeout, a size cap, follows no redirect and
ignores proxy settings from the environment, like every other outgoing request of the service.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

from app.auth.errors import AuthConfigError

log = logging.getLogger(__name__)

MAX_JWKS_BYTES = 256 * 1024  # real sets hold a handful of keys, a few KiB
_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})


class JwksUnavailable(Exception):
    """The key set could not be fetched or read (logged; the token is then refused)."""


@dataclass(frozen=True)
class SigningKey:
    """One public key of the set: its ``kid``, type, algorithm and the key itself.

    ``alg`` is the algorithm the JWK declares, or for EC and OKP keys the one their curve implies;
    None for an RSA key that declares none (then any RSA algorithm may use it).
    """

    kid: str | None
    kty: str
    alg: str | None
    key: Any  # a cryptography public key object


@dataclass(frozen=True)
class KeySet:
    """Usable signature keys, by ``kid``; keys without a ``kid`` are only in ``keys``."""

    keys: tuple[SigningKey, ...] = ()
    by_kid: dict[str, SigningKey] = field(default_factory=dict)

    def find(self, kid: str | None) -> SigningKey | None:
        """The key with this ``kid``; without a ``kid``, the set's only key if it has just one."""
        if kid is not None:
            return self.by_kid.get(kid)
        return self.keys[0] if len(self.keys) == 1 else None


def parse_jwks(document: object) -> KeySet:
    """The usable signature keys of a JWKS document; unusable members are skipped."""
    members = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(members, list):
        raise JwksUnavailable("the document is not a JWK set (no `keys` list)")
    keys = [key for key in map(_signing_key, members) if key is not None]
    by_kid: dict[str, SigningKey] = {}
    for key in keys:
        if key.kid is not None:
            by_kid.setdefault(key.kid, key)
    return KeySet(tuple(keys), by_kid)


def _signing_key(member: object) -> SigningKey | None:
    if not isinstance(member, dict) or member.get("kty") not in _KEY_TYPES:
        return None  # oct (symmetric) keys among them: never a public signature key
    declared, kid = member.get("alg"), member.get("kid")
    if (
        member.get("use", "sig") != "sig"
        or not isinstance(declared, str | None)
        or not isinstance(kid, str | None)
    ):
        return None
    try:
        jwk = jwt.PyJWK(member)
    except jwt.PyJWTError:  # unknown curve or algorithm, an encryption algorithm, broken numbers
        return None
    # PyJWK names the algorithm the JWK declares, else the one its type and curve imply
    alg = None if declared is None and member["kty"] == "RSA" else jwk.algorithm_name
    return SigningKey(kid, member["kty"], alg, jwk.key)


def check_jwks_url(url: str) -> None:
    """Refuse a URL that is not http(s); warn about plain http to another host than this one."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise AuthConfigError(f"the JWKS URL must be an http(s) URL: {url!r}")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        log.warning("auth: the JWKS URL %s is plain http: anyone on the path could forge tokens", url)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class JwksCache:
    """The key set at ``url``, cached and refreshed as the module describes. Thread-safe."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        refresh_interval: float = 30.0,
        max_age: float = 300.0,
        max_bytes: int = MAX_JWKS_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_jwks_url(url)
        self.url = url
        self._timeout = timeout
        self._refresh_interval = refresh_interval
        self._max_age = max_age
        self._max_bytes = max_bytes
        self._clock = clock
        self._keys = KeySet()
        self._fetched_at: float | None = None
        self._last_attempt: float | None = None
        self._lock = threading.Lock()  # guards the fields above
        self._fetch_lock = threading.Lock()  # one fetch at a time; others wait and reuse it

    def key(self, kid: str | None) -> SigningKey | None:
        """The signing key named ``kid``, fetching the set again if it is old or lacks that key."""
        with self._lock:
            fetched_at = self._fetched_at
        if fetched_at is None or self._clock() - fetched_at >= self._max_age:
            self._refresh()
        found = self._snapshot().find(kid)
        if found is None:
            self._refresh()
            found = self._snapshot().find(kid)
        return found

    def _snapshot(self) -> KeySet:
        with self._lock:
            return self._keys

    def _refresh(self) -> None:
        """Fetch the set unless an attempt was made less than ``refresh_interval`` ago."""
        with self._fetch_lock:
            now = self._clock()
            with self._lock:
                if self._last_attempt is not None and now - self._last_attempt < self._refresh_interval:
                    return
                self._last_attempt = now
            try:
                keys = parse_jwks(self._download())
            except JwksUnavailable as error:
                log.warning("auth: cannot use the JWKS at %s: %s", self.url, error)
                return
            if not keys.keys:
                log.warning("auth: the JWKS at %s has no usable signature key", self.url)
            with self._lock:
                self._keys = keys
                self._fetched_at = now

    def _download(self) -> object:
        try:
            with (
                httpx.Client(timeout=self._timeout, follow_redirects=False, trust_env=False) as client,
                client.stream("GET", self.url, headers={"Accept": "application/json"}) as response,
            ):
                if response.status_code != 200:
                    raise JwksUnavailable(f"HTTP status {response.status_code}")
                body = bytearray()
                deadline = time.monotonic() + self._timeout  # a whole-body deadline: no slow drip
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise JwksUnavailable(f"larger than {self._max_bytes} bytes")
                    if time.monotonic() > deadline:
                        raise JwksUnavailable(f"not received within {self._timeout} s")
        except httpx.HTTPError as error:
            raise JwksUnavailable(f"{type(error).__name__}: {error}") from None
        try:
            return json.loads(body)
        except ValueError:
            raise JwksUnavailable("not JSON") from None
