"""OIDC bearer tokens: JWTs signed by the issuer, verified against its JWKS with PyJWT.

A token is accepted when all of these hold:

- its ``alg`` is one of the configured algorithms, and those are asymmetric signatures only:
  ``none`` and the HMAC family (``HS*``) are refused even when configured (an HMAC "signature" made
  with the issuer's *public* key as secret is the classic algorithm-confusion forgery);
- the key its ``kid`` names is in the issuer's key set, of the type that algorithm needs, and, when
  the key declares an ``alg`` (or its curve implies one), that same algorithm;
- the signature verifies; ``exp`` is present and not past; ``nbf`` and ``iat`` (when present) are
  not in the future; ``iss`` equals the configured issuer and ``aud`` contains the configured
  audience (each when configured); a clock leeway of ``leeway`` seconds applies to the times;
- ``sub`` is a non-empty string: it is the user's name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import jwt

from app.auth.errors import AuthConfigError
from app.auth.jwks import JwksCache, SigningKey

log = logging.getLogger(__name__)

DEFAULT_LEEWAY = 30.0
# the asymmetric signature algorithms PyJWT verifies, and the JWK key type each needs
KEY_TYPES: dict[str, str] = {
    **dict.fromkeys(("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"), "RSA"),
    **dict.fromkeys(("ES256", "ES384", "ES512", "ES256K"), "EC"),
    "EdDSA": "OKP",
}


def safe_algorithms(configured: Iterable[str]) -> tuple[str, ...]:
    """The configured algorithms that are asymmetric signatures; the others are dropped, with a warning."""
    kept: list[str] = []
    for name in configured:
        if name in KEY_TYPES:
            kept.append(name)
        else:
            log.warning(
                "auth: JWT algorithm %r is refused: only asymmetric signatures (%s) are accepted",
                name,
                ", ".join(KEY_TYPES),
            )
    if not kept:
        raise AuthConfigError("no usable JWT algorithm configured (WPS_AUTH_ALGORITHMS)")
    return tuple(kept)


class BearerVerifier:
    """Verifies bearer JWTs as the module describes. Thread-safe (the key cache is)."""

    def __init__(
        self,
        jwks: JwksCache,
        *,
        algorithms: Iterable[str],
        issuer: str = "",
        audience: str = "",
        leeway: float = DEFAULT_LEEWAY,
    ) -> None:
        self._jwks = jwks
        self._algorithms = safe_algorithms(algorithms)
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        if not issuer:
            log.warning("auth: WPS_AUTH_ISSUER is not set: bearer tokens' `iss` is not checked")
        if not audience:
            log.warning("auth: WPS_AUTH_AUDIENCE is not set: tokens issued for any client are accepted")

    def subject(self, token: str) -> str | None:
        """The ``sub`` of a valid token; None (the reason logged) when the token is not valid."""
        try:
            return self._verify(token)
        except (jwt.PyJWTError, ValueError) as error:
            log.info("auth: bearer token refused: %s: %s", type(error).__name__, error)
            return None

    def _verify(self, token: str) -> str:
        header = jwt.get_unverified_header(token)
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise jwt.InvalidAlgorithmError(f"algorithm {alg!r} is not accepted")
        if not isinstance(kid, str | None):
            raise jwt.InvalidTokenError("the kid is not a string")
        key = self._jwks.key(kid)
        if key is None:
            raise jwt.InvalidKeyError(f"no key {kid!r} in the issuer's key set")
        if not _fits(key, alg):
            raise jwt.InvalidAlgorithmError(f"key {kid!r} is not meant for {alg}")
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[alg],
            issuer=self._issuer or None,
            audience=self._audience or None,
            leeway=self._leeway,
            options=self._options(),
        )
        return _subject(claims)

    def _options(self) -> Any:
        required = ["exp", "sub"] + ["iss"] * bool(self._issuer) + ["aud"] * bool(self._audience)
        return {"require": required, "verify_aud": bool(self._audience)}


def _fits(key: SigningKey, alg: str) -> bool:
    """Whether the token's algorithm may be used with this key (type, and declared algorithm)."""
    return key.kty == KEY_TYPES[alg] and key.alg in (None, alg)


def _subject(claims: dict[str, Any]) -> str:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise jwt.MissingRequiredClaimError("sub")
    return subject
