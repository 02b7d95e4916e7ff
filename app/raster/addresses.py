"""Where an input connection may go: the allow-list rules, in the standard library only.

Shared by :mod:`app.raster.guard` (the service's early, per-URL check) and by the egress proxy
(:mod:`app.raster.egress_proxy`, the check made when a connection is opened), which runs in a
process of its own and must import nothing heavier than this.

An entry of ``WPS_ALLOWED_HOSTS`` is ``host``, ``host:port``, ``[ipv6]`` or ``[ipv6]:port``, where
host is a name, an IP address, ``*.domain`` (every name under domain, not domain itself) or ``*``
(any host whose addresses are all public). An entry without a port allows every port; with one,
only that port. A host listed by name (or address) may resolve to anything, private addresses
included; under ``*`` every address a name resolves to must be public. Names and addresses are
compared as written after normalisation (lower case, no trailing dot, canonical IP text): listing
``127.0.0.1`` does not list ``localhost``, ``::1`` or ``::ffff:127.0.0.1``.

Non-public means private, loopback, link-local, multicast, reserved, unspecified or otherwise not
globally routable, for IPv4 and IPv6 alike, with IPv4 addresses embedded in IPv6 ones (mapped,
6to4, NAT64) judged as IPv4.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[IPAddress]]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NOT_PUBLIC_FLAGS = (
    "is_private",
    "is_loopback",
    "is_link_local",
    "is_multicast",
    "is_reserved",
    "is_unspecified",
)


class Refused(Exception):
    """A connection the rules do not allow (or a host that cannot be resolved), with the reason."""

    def __init__(self, reason: str, *, unresolvable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unresolvable = unresolvable


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


def normalize_host(host: str) -> str:
    """A host as compared: lower case, no brackets, no trailing dot, canonical IP address text."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


@dataclass(frozen=True)
class AllowedEntry:
    """One entry of the allow-list: a host pattern and, optionally, the one port it allows."""

    host: str  # normalised; "*" or "*.domain" for patterns
    port: int | None

    @classmethod
    def parse(cls, text: str) -> AllowedEntry | None:
        """The entry written as ``text``; None if it cannot mean anything (it then allows nothing)."""
        text = text.strip()
        separator, port_text = "", ""
        if text.startswith("["):
            host, bracket, rest = text[1:].partition("]")
            if not bracket or (rest and not rest.startswith(":")):
                return None
            separator, port_text = rest[:1], rest[1:]
        elif text.count(":") == 1:
            host, separator, port_text = text.partition(":")
        else:
            host = text  # a name, an IPv4 address or a bare IPv6 address
        if not host:
            return None
        if separator and not (port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536):
            return None
        return cls(normalize_host(host), int(port_text) if separator else None)

    def allows_port(self, port: int) -> bool:
        """Whether this entry lets connections to ``port`` through."""
        return self.port is None or self.port == port

    def names(self, host: str) -> bool:
        """Whether this entry lists ``host`` (normalised) by name or address; ``*`` names nothing."""
        if self.host == host:
            return self.host != "*"
        return self.host.startswith("*.") and host.endswith(self.host[1:])


def parse_allowed(entries: tuple[str, ...] | list[str]) -> list[AllowedEntry]:
    """The meaningful entries of an allow-list."""
    return [entry for text in entries if (entry := AllowedEntry.parse(text)) is not None]


def host_listed(host: str, port: int, allowed: list[AllowedEntry]) -> bool:
    """Whether ``host`` on ``port`` is listed by name or address (``*.domain`` lists subdomains)."""
    wanted = normalize_host(host)
    return any(entry.names(wanted) and entry.allows_port(port) for entry in allowed)


def public_allowed(port: int, allowed: list[AllowedEntry]) -> bool:
    """Whether ``*`` (any public address) is in the allow-list for ``port``."""
    return any(entry.host == "*" and entry.allows_port(port) for entry in allowed)


def system_resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, in the resolver's order (an IP literal is itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise Refused(f"host {host!r} cannot be resolved", unresolvable=True) from exc
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in found:
            found.append(address)
    return found


def checked_addresses(
    host: str, port: int, allowed: list[AllowedEntry], resolve: Resolver
) -> list[IPAddress]:
    """The addresses a connection to ``host:port`` may use, resolved once; else :class:`Refused`.

    Listed hosts may resolve to anything; under ``*`` every address must be public (one private
    answer among public ones refuses the lot: it is what a rebinding attacker would mix in).
    """
    name = normalize_host(host)
    if not name:
        raise Refused("no host")
    listed = host_listed(name, port, allowed)
    if not listed and not public_allowed(port, allowed):
        raise Refused(f"host {host!r} port {port} is not allowed")
    addresses = resolve(name, port)
    if not addresses:
        raise Refused(f"host {host!r} cannot be resolved", unresolvable=True)
    if not listed and not all(is_public_address(address) for address in addresses):
        raise Refused(f"host {host!r} is not a public address and not listed in the allowed hosts")
    return addresses


@dataclass(frozen=True)
class EgressPolicy:
    """What an input connection may reach: the allow-list and the time allowed to connect and read.

    Travels as a compact token (base64url JSON) in the proxy credentials, so that the proxy needs
    no state per caller and every process (a dask worker too) can state the policy of its input.
    """

    allowed_hosts: tuple[str, ...]
    timeout: float

    def token(self) -> str:
        """The policy as a token: URL- and header-safe, no ``:`` (it is a Basic-auth user name)."""
        text = json.dumps({"h": list(self.allowed_hosts), "t": self.timeout}, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def from_token(cls, token: str) -> EgressPolicy:
        """The policy a token states; ValueError if it is not one."""
        try:
            raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError("not a policy token") from exc
        hosts = raw.get("h") if isinstance(raw, dict) else None
        timeout = raw.get("t") if isinstance(raw, dict) else None
        if not isinstance(hosts, list) or not all(isinstance(host, str) for host in hosts):
            raise ValueError("not a policy token")
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not timeout > 0:
            raise ValueError("not a policy token")
        return cls(tuple(hosts), float(timeout))
