"""Where a reference may point: the SSRF guard for http(s) URLs and the jail for ``file:`` URLs.

:func:`check_url` is the early check of each URL the service is given or redirected to, with an
error that names the input; the rules themselves (allowed hosts with optional ports, ``*`` = any
public address) live in :mod:`app.raster.addresses`. It is not the last word: the address a
connection actually goes to is checked again, when it is opened, by the egress proxy
(:mod:`app.raster.egress`) that every input connection passes through, GDAL's included.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from app.model.errors import DataNotAccessible
from app.raster.addresses import (
    IPAddress,
    Refused,
    embedded_ipv4,
    host_listed,
    is_public_address,
    parse_allowed,
    public_allowed,
    system_resolve,
)
from app.settings import Settings

__all__ = ["HTTP_SCHEMES", "IPAddress", "check_url", "embedded_ipv4", "is_public_address", "local_file"]

HTTP_SCHEMES = frozenset({"http", "https"})


def resolve_host(host: str, port: int, locator: str) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        return system_resolve(host, port)
    except Refused as exc:
        raise DataNotAccessible(f"input {locator!r}: host {host!r} cannot be resolved", locator) from exc


def check_url(url: str, settings: Settings, locator: str) -> httpx.URL:
    """The parsed URL if the guard lets it through, else DataNotAccessible."""
    if any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in url):
        raise DataNotAccessible(f"input {locator!r}: malformed reference URL", locator)
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise DataNotAccessible(f"input {locator!r}: malformed reference URL", locator) from exc
    if parsed.scheme not in HTTP_SCHEMES or not parsed.host:
        raise DataNotAccessible(f"input {locator!r}: only http(s) references are supported", locator)
    if parsed.userinfo:
        raise DataNotAccessible(f"input {locator!r}: credentials in URLs are not accepted", locator)
    host = parsed.host
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    allowed = parse_allowed(settings.allowed_hosts)
    if host_listed(host, port, allowed):
        return parsed
    if not public_allowed(port, allowed):
        raise DataNotAccessible(f"input {locator!r}: host {host!r} port {port} is not allowed", locator)
    if not all(is_public_address(address) for address in resolve_host(host, port, locator)):
        raise DataNotAccessible(
            f"input {locator!r}: host {host!r} is not a public address and not listed in the allowed hosts",
            locator,
        )
    return parsed


def local_file(href: str, settings: Settings, locator: str) -> Path:
    """The real path of a ``file:`` URL if it lies inside an allowed input directory."""
    refused = DataNotAccessible(
        f"input {locator!r}: file reference is not readable or not in an allowed directory", locator
    )
    parts = urlsplit(href)
    raw = unquote(parts.path)
    if parts.netloc not in ("", "localhost") or "\x00" in raw or not raw.startswith("/"):
        raise refused
    try:
        resolved = Path(raw).resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise refused from exc
    for root in settings.allowed_input_dirs:
        try:
            real_root = root.resolve(strict=True)
        except (OSError, RuntimeError):
            continue
        if resolved.is_relative_to(real_root) and resolved.is_file():
            return resolved
    raise refused
