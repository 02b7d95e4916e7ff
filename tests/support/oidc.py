"""A stand-in OIDC issuer for tests: real keys, a real JWKS over HTTP on 127.0.0.1, minted tokens.

    with OidcIssuer() as issuer:
        settings = Settings(data_dir=..., **issuer.settings_fields())
        token = issuer.mint("alice")                   # RS256, signed with the served key
        headers = {"Authorization": f"Bearer {token}"}
        issuer.rotate()                                # a new key (new kid) replaces the served set
        issuer.fetches                                 # GET requests the JWKS has had

Keys are generated with ``cryptography`` per issuer (RSA 2048 and EC P-256). The server runs in a
thread (the JWKS client is plain Python HTTP, no GIL-holding GDAL call is involved). Failure modes:
``issuer.status = 500``, ``issuer.body = b"..."`` (served instead of the set), ``issuer.delay = 2.0``
(seconds before answering), ``issuer.stop()`` (connection refused from then on).

Forged tokens for the negative cases: :func:`unsigned_token` (``alg: none``) and :func:`hmac_token`
(HS256 with any secret, e.g. the issuer's public key in PEM: the algorithm-confusion attack).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

JWKS_PATH = "/jwks.json"
AUDIENCE = "rasterwps"


@dataclass(frozen=True)
class IssuerKey:
    """A signing key of the issuer: its kid, algorithm and private key."""

    kid: str
    alg: str
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    def public_jwk(self, *, declare_alg: bool = True) -> dict[str, Any]:
        """The public half as a JWK, as an issuer publishes it."""
        public = self.private_key.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk: dict[str, Any] = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        jwk.update(kid=self.kid, use="sig")
        if declare_alg:
            jwk["alg"] = self.alg
        return jwk

    def public_pem(self) -> bytes:
        """The public key in PEM, the secret of the classic HS256 confusion attack."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def rsa_key(kid: str | None = None, alg: str = "RS256") -> IssuerKey:
    """A fresh RSA 2048 key."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return IssuerKey(kid or f"rsa-{uuid.uuid4().hex[:8]}", alg, private)


def ec_key(kid: str | None = None) -> IssuerKey:
    """A fresh EC P-256 key (ES256)."""
    return IssuerKey(kid or f"ec-{uuid.uuid4().hex[:8]}", "ES256", ec.generate_private_key(ec.SECP256R1()))


class OidcIssuer:
    """Serves a JWKS on 127.0.0.1 from a thread and mints tokens with its keys (module doc)."""

    def __init__(self, keys: list[IssuerKey] | None = None, *, audience: str = AUDIENCE) -> None:
        self.keys = keys if keys is not None else [rsa_key(), ec_key()]
        self.audience = audience
        self.extra_jwks: list[dict[str, Any]] = []  # served after the keys' JWKs (e.g. an oct key)
        self.status = 200
        self.body: bytes | None = None
        self.delay = 0.0
        self.fetches = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._stopped = False

    @property
    def url(self) -> str:
        """The issuer's base URL, also its ``iss``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def jwks_url(self) -> str:
        """Where the key set is served."""
        return self.url + JWKS_PATH

    def settings_fields(self) -> dict[str, Any]:
        """The ``Settings`` fields that point the service at this issuer."""
        return {"auth_jwks_url": self.jwks_url, "auth_issuer": self.url, "auth_audience": self.audience}

    def __enter__(self) -> OidcIssuer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving: connections are refused from now on."""
        if not self._stopped:
            self._stopped = True
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)

    def rotate(self, key: IssuerKey | None = None) -> IssuerKey:
        """Replace the served keys with one new key (RSA unless given); returns it."""
        new = key or rsa_key()
        with self._lock:
            self.keys = [new]
        return new

    def jwks(self) -> dict[str, Any]:
        """The key set as served now."""
        with self._lock:
            return {"keys": [key.public_jwk() for key in self.keys] + list(self.extra_jwks)}

    def mint(
        self,
        sub: str | None = "alice",
        *,
        key: IssuerKey | None = None,
        expires_in: float | None = 300,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A token signed with ``key`` (default: the first served key), its kid in the header.

        ``iss``, ``aud`` and ``exp`` default to this issuer's; pass ``iss=...``/``aud=...`` to change
        them, ``expires_in=None`` for no ``exp``, ``sub=None`` for no ``sub``.
        """
        key = key or self.keys[0]
        now = int(time.time())
        payload: dict[str, Any] = {"iss": self.url, "aud": self.audience, "iat": now}
        if sub is not None:
            payload["sub"] = sub
        if expires_in is not None:
            payload["exp"] = now + int(expires_in)
        payload.update(claims)
        header = {"kid": key.kid, **(headers or {})}
        return jwt.encode(payload, key.private_key, algorithm=key.alg, headers=header)

    def claims(self, sub: str = "alice", **overrides: Any) -> dict[str, Any]:
        """Valid claims for a hand-made token."""
        now = int(time.time())
        return {"iss": self.url, "aud": self.audience, "sub": sub, "iat": now, "exp": now + 300, **overrides}

    def _record_fetch(self) -> tuple[int, bytes, float]:
        with self._lock:
            self.fetches += 1
            body = self.body
        return self.status, body if body is not None else json.dumps(self.jwks()).encode(), self.delay


def _handler(issuer: OidcIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != JWKS_PATH:
                self.send_error(404)
                return
            status, body, delay = issuer._record_fetch()
            if delay:
                time.sleep(delay)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segments(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())


def unsigned_token(claims: dict[str, Any], kid: str | None = None) -> str:
    """A token with ``alg: none`` and an empty signature."""
    header: dict[str, Any] = {"alg": "none", "typ": "JWT"}
    if kid:
        header["kid"] = kid
    return _segments(header, claims) + "."


def hmac_token(claims: dict[str, Any], secret: bytes, kid: str | None = None, alg: str = "HS256") -> str:
    """A token "signed" with HMAC-SHA256 under ``secret`` (built by hand: PyJWT refuses PEM secrets)."""
    header: dict[str, Any] = {"alg": alg, "typ": "JWT"}
    if kid:
        header["kid"] = kid
    signing_input = _segments(header, claims)
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)
