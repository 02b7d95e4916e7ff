"""Who a request is made for: credentials from its headers, checked against the configured sources.

One :class:`Authenticator` per app, built from the settings. ``identify(headers)`` answers:

- None when the request carries no credentials at all (then it is anonymous; the caller decides
  whether that is allowed), and always None when no source of users is configured (the open
  embedded default: credentials mean nothing there and are ignored);
- a :class:`Principal` when it carries valid credentials: ``method`` is ``basic``, ``api-key`` or
  ``bearer``, ``admin`` whether the name is in ``WPS_AUTH_ADMINS``. Names share one namespace: an
  htpasswd user, an API key's owner and a JWT ``sub`` with the same name are the same user;
- :class:`Unauthenticated` (HTTP 401) when it carries credentials that are malformed, not valid, or
  of a kind that is not configured. The message never says whether the user exists.

Credentials are read from ``Authorization`` (Basic, Bearer) and ``X-API-Key``; a request carrying
both headers, or one of them twice, is refused as ambiguous rather than one silently winning.

``challenges()`` lists one ``WWW-Authenticate`` challenge per configured kind: ``Basic`` (RFC 7617,
with ``charset="UTF-8"``), ``Bearer`` (RFC 6750; ``error="invalid_token"`` added when a token was
refused) and, for API keys, which have no registered scheme, ``ApiKey realm=..., header="X-API-Key"``
so that a 401 always names every way in (RFC 9110 requires at least one challenge on a 401).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from app.auth.api_keys import ApiKeys
from app.auth.basic import HtpasswdUsers
from app.auth.bearer import BearerVerifier
from app.auth.headers import (
    ApiKeyCredentials,
    BasicCredentials,
    BearerCredentials,
    Credentials,
    MalformedCredentials,
    read_credentials,
)
from app.auth.jwks import JwksCache
from app.model.errors import Unauthenticated
from app.model.users import Principal
from app.settings import Settings

NOT_VALID = "The credentials are not valid."
TOKEN_NOT_VALID = "The bearer token is not valid."


class Authenticator:
    """Identifies the principal of a request from its headers. Thread-safe; build one per app.

    The keyword arguments tune caching and reloading (tests shorten them); the defaults suit a
    service: files stat'ed at most every 2 s, successful bcrypt checks remembered 60 s, the JWKS
    fetched at most every 30 s and kept 5 min.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        reload_interval: float = 2.0,
        cache_ttl: float = 60.0,
        jwks_refresh_interval: float = 30.0,
        jwks_max_age: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._admins = frozenset(settings.auth_admins)
        self._realm = _quoted(settings.service_title)
        self._basic: HtpasswdUsers | None = None
        self._api_keys: ApiKeys | None = None
        self._bearer: BearerVerifier | None = None
        if settings.auth_htpasswd is not None:
            self._basic = HtpasswdUsers(
                settings.auth_htpasswd, reload_interval=reload_interval, cache_ttl=cache_ttl, clock=clock
            )
        if settings.auth_api_keys is not None:
            self._api_keys = ApiKeys(settings.auth_api_keys, reload_interval=reload_interval, clock=clock)
        if settings.auth_jwks_url:
            jwks = JwksCache(
                settings.auth_jwks_url,
                timeout=settings.http_timeout,
                refresh_interval=jwks_refresh_interval,
                max_age=jwks_max_age,
                clock=clock,
            )
            self._bearer = BearerVerifier(
                jwks,
                algorithms=settings.auth_algorithms,
                issuer=settings.auth_issuer,
                audience=settings.auth_audience,
            )

    @property
    def enabled(self) -> bool:
        """Whether any source of users is configured (then credentials are checked)."""
        return self._basic is not None or self._api_keys is not None or self._bearer is not None

    def identify(self, headers: Mapping[str, str]) -> Principal | None:
        """The principal the headers' credentials name; None without credentials (module doc)."""
        if not self.enabled:
            return None
        try:
            credentials = read_credentials(headers)
        except MalformedCredentials as error:
            raise Unauthenticated(error.message, self.challenges()) from None
        if credentials is None:
            return None
        name, method = self._check(credentials)
        return Principal(name=name, admin=name in self._admins, method=method)

    def challenges(self, *, invalid_token: bool = False) -> tuple[str, ...]:
        """The ``WWW-Authenticate`` challenges of the configured kinds (empty when none is)."""
        found: list[str] = []
        if self._basic is not None:
            found.append(f'Basic realm="{self._realm}", charset="UTF-8"')
        if self._bearer is not None:
            error = ', error="invalid_token"' if invalid_token else ""
            found.append(f'Bearer realm="{self._realm}"{error}')
        if self._api_keys is not None:
            found.append(f'ApiKey realm="{self._realm}", header="X-API-Key"')
        return tuple(found)

    def _check(self, credentials: Credentials) -> tuple[str, str]:
        """The user name and method of valid credentials; raises Unauthenticated otherwise."""
        match credentials:
            case BasicCredentials(user, password):
                return self._check_basic(user, password), "basic"
            case ApiKeyCredentials(key):
                return self._check_api_key(key), "api-key"
            case BearerCredentials(token):
                return self._check_bearer(token), "bearer"

    def _check_basic(self, user: str, password: str) -> str:
        if self._basic is None:
            raise self._unconfigured("Basic")
        if not self._basic.verify(user, password):
            raise Unauthenticated(NOT_VALID, self.challenges())
        return user

    def _check_api_key(self, key: str) -> str:
        if self._api_keys is None:
            raise self._unconfigured("API key")
        owner = self._api_keys.owner(key)
        if owner is None:
            raise Unauthenticated(NOT_VALID, self.challenges())
        return owner

    def _check_bearer(self, token: str) -> str:
        if self._bearer is None:
            raise self._unconfigured("Bearer")
        subject = self._bearer.subject(token)
        if subject is None:
            raise Unauthenticated(TOKEN_NOT_VALID, self.challenges(invalid_token=True))
        return subject

    def _unconfigured(self, kind: str) -> Unauthenticated:
        return Unauthenticated(f"{kind} credentials are not accepted here.", self.challenges())


def _quoted(text: str) -> str:
    """Text fit for a quoted-string header parameter: printable ASCII, quotes and backslashes escaped."""
    printable = "".join(char if " " <= char <= "~" else "?" for char in text)
    return printable.replace("\\", "\\\\").replace('"', '\\"')
