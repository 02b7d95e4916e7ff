"""What credentials a request carries: read from its headers, checked for form only.

Two headers may carry credentials: ``Authorization`` (``Basic`` per RFC 7617, ``Bearer`` per RFC
6750) and ``X-API-Key``. A header whose value is empty or blank counts as absent. A request that
carries both headers, or either header twice, is refused: which identity it means is ambiguous, and
an intermediary that adds one must not silently override the client's.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass

AUTHORIZATION = "Authorization"
API_KEY_HEADER = "X-API-Key"
MAX_CREDENTIAL_CHARS = 16 * 1024  # far above any real token; bounds the work spent on garbage
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


@dataclass(frozen=True)
class BasicCredentials:
    """A user name and password from ``Authorization: Basic`` (UTF-8, RFC 7617)."""

    user: str
    password: str


@dataclass(frozen=True)
class ApiKeyCredentials:
    """A key from ``X-API-Key``."""

    key: str


@dataclass(frozen=True)
class BearerCredentials:
    """A token from ``Authorization: Bearer`` (RFC 6750), not yet verified."""

    token: str


Credentials = BasicCredentials | ApiKeyCredentials | BearerCredentials


class MalformedCredentials(Exception):
    """Credentials are given but cannot be read. The message is safe to show to the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def read_credentials(headers: Mapping[str, str]) -> Credentials | None:
    """The credentials the headers carry (names compared case-insensitively), or None if none."""
    authorization = _value(headers, AUTHORIZATION)
    api_key = _value(headers, API_KEY_HEADER)
    if authorization is not None and api_key is not None:
        raise MalformedCredentials("Send one kind of credentials: Authorization or X-API-Key, not both.")
    if api_key is not None:
        if len(api_key) > MAX_CREDENTIAL_CHARS:
            raise MalformedCredentials("The X-API-Key header is too long.")
        return ApiKeyCredentials(api_key)
    if authorization is not None:
        return _read_authorization(authorization)
    return None


def _value(headers: Mapping[str, str], name: str) -> str | None:
    # items(), not get(): starlette's Headers lists a repeated header once per occurrence there
    values = [value.strip() for key, value in headers.items() if key.lower() == name.lower()]
    values = [value for value in values if value]
    if len(values) > 1:
        raise MalformedCredentials(f"The {name} header is given more than once.")
    return values[0] if values else None


def _read_authorization(value: str) -> Credentials:
    if len(value) > MAX_CREDENTIAL_CHARS:
        raise MalformedCredentials("The Authorization header is too long.")
    scheme, _, rest = value.partition(" ")
    token = rest.strip()
    scheme = scheme.lower()
    if scheme not in ("basic", "bearer"):
        raise MalformedCredentials("This authentication scheme is not accepted here.")
    if not _TOKEN68.fullmatch(token):
        raise MalformedCredentials("The Authorization header is malformed.")
    if scheme == "bearer":
        return BearerCredentials(token)
    return _read_basic(token)


def _read_basic(token: str) -> BasicCredentials:
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except ValueError:  # binascii.Error (bad base64 or padding) and UnicodeDecodeError alike
        raise MalformedCredentials("The Basic credentials are not base64 of UTF-8 text.") from None
    user, colon, password = decoded.partition(":")
    if not colon:
        raise MalformedCredentials("The Basic credentials lack the colon between user and password.")
    return BasicCredentials(user, password)
