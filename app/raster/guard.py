"""Where a reference may point: the SSRF guard for http(s) URLs and the jail for ``file:`` URLs.

A host is reachable when it is listed by name in ``settings.allowed_hosts``, or when ``*`` is listed
and every address it resolves to is public. Non-public means private, loopback, link-local,
multicast, reserved, unspecified or otherwise not globally routable, for IPv4 and IPv6 alike, with
IPv4 addresses embedded in IPv6 ones (mapped, 6to4, NAT64) judged as IPv4.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from app.model.errors import DataNotAccessible
from app.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
HTTP_SCHEMES = frozenset({"http", "https"})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NOT_PUBLIC_FLAGS = (
    "is_private",
    "is_loopback",
    "is_link_local",
    "is_multicast",
    "is_reserved",
    "is_unspecified",
)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (IPv4-mapped, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: IPAddress) -> bool:
    """Whether an address is globally routable (and so fine for ``*`` in the allow-list)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None and not is_public_address(inner):
            return False
        if address.ipv4_mapped is not None:
            return True  # judged by its IPv4 address alone
    if any(getattr(address, flag) for flag in _NOT_PUBLIC_FLAGS):
        return False
    return address.is_global


def _normalize_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def host_listed(host: str, allowed_hosts: list[str]) -> bool:
    """Whether ``host`` is listed by name (``*.example.org`` lists every subdomain)."""
    wanted = _normalize_host(host)
    for entry in allowed_hosts:
        listed = _normalize_host(entry)
        if listed == wanted:
            return True
        if listed.startswith("*.") and wanted.endswith(listed[1:]):
            return True
    return False


def resolve_host(host: str, port: int, locator: str) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise DataNotAccessible(f"input {locator!r}: host {host!r} cannot be resolved", locator) from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


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
    if host_listed(host, settings.allowed_hosts):
        return parsed
    if "*" not in settings.allowed_hosts:
        raise DataNotAccessible(f"input {locator!r}: host {host!r} is not allowed", locator)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
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
