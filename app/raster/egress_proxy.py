"""The egress proxy: the one place every connection made for an input goes through.

A forward proxy on 127.0.0.1 (a random port) in a process of its own, started by
:mod:`app.raster.egress` for the process that needs it. GDAL (``/vsicurl?proxy=...``) and the
service's own HTTP client (httpx ``proxy=``) both use it, for every connection: the first one,
each one GDAL opens for its range reads, and each one a redirect leads to, whoever follows it.

For each connection it is asked for (an absolute-form request for ``http:``, ``CONNECT host:port``
for ``https:``) it

1. authenticates the caller: ``Proxy-Authorization: Basic <policy token>:<secret>``, the secret
   known only to the process that started it (anyone else gets 407: no open relay);
2. checks ``host:port`` against the caller's policy (:func:`app.raster.addresses.checked_addresses`)
   and resolves the name once: the answer is checked, pinned for ``pin_seconds`` (later
   connections to that name in that time reuse it, so a rebinding DNS server is never asked
   again), and the connection goes to exactly those checked addresses, never to a name;
3. answers what it refuses with a clean HTTP error carrying ``X-Egress-Guard: <reason>``:
   403 not allowed, 502 unresolvable or unreachable, 504 timed out, 400 malformed, 405 method.

Each client connection is one :class:`app.raster.egress_relay.Session` in a thread of its own.
Standard library only: the process starts in a tenth of a second and holds a few MiB.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import importlib
import json
import os
import signal
import socket
import sys
import threading
import time
from typing import Any, Protocol

from app.raster.addresses import (
    EgressPolicy,
    IPAddress,
    Refused,
    Resolver,
    checked_addresses,
    parse_allowed,
    system_resolve,
)
from app.raster.egress_http import Head
from app.raster.egress_relay import GUARD_HEADER, Answer, Grant, Session, send_quietly

__all__ = ["GUARD_HEADER", "GuardedProxy", "Network", "PinnedResolver", "SystemNetwork", "main"]

PIN_SECONDS = 60.0
MAX_SESSIONS = 512


class Network(Protocol):
    """Name resolution and connecting: the system's, or a simulated one in tests."""

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address of ``host`` (raises :class:`Refused` if it has none)."""
        ...

    def connect(self, address: IPAddress, port: int, timeout: float) -> socket.socket:
        """A TCP connection to exactly ``address:port``."""
        ...


class SystemNetwork:
    """The system resolver and plain TCP connections."""

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address of ``host``, through ``getaddrinfo``."""
        return system_resolve(host, port)

    def connect(self, address: IPAddress, port: int, timeout: float) -> socket.socket:
        """A TCP connection to ``address:port``."""
        return socket.create_connection((str(address), port), timeout=timeout)


class PinnedResolver:
    """Resolves a name once per ``seconds``: every connection in that time gets the same answer."""

    def __init__(self, resolve: Resolver, seconds: float) -> None:
        self._resolve = resolve
        self._seconds = seconds
        self._lock = threading.Lock()
        self._pinned: dict[str, tuple[float, list[IPAddress]]] = {}

    def __call__(self, host: str, port: int) -> list[IPAddress]:
        """The pinned answer for ``host``, resolving it if there is none (or it expired)."""
        now = time.monotonic()
        with self._lock:
            pinned = self._pinned.get(host)
        if pinned is not None and pinned[0] > now:
            return pinned[1]
        answer = self._resolve(host, port)
        with self._lock:
            if len(self._pinned) > 4096:
                self._pinned.clear()
            self._pinned[host] = (now + self._seconds, answer)
        return answer


class GuardedProxy:
    """The proxy server: a listening socket on 127.0.0.1 and a thread per client connection."""

    def __init__(self, secret: str, network: Network | None = None, pin_seconds: float = PIN_SECONDS) -> None:
        self.network = network or SystemNetwork()
        self.resolve = PinnedResolver(self.network.resolve, pin_seconds)
        self._secret = secret.encode()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port: int = self._listener.getsockname()[1]
        self._slots = threading.BoundedSemaphore(MAX_SESSIONS)
        self._grants: dict[str, Grant] = {}

    def serve_forever(self) -> None:
        """Accept connections until :meth:`close`."""
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def close(self) -> None:
        """Stop accepting connections."""
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept() (close alone does not)
        self._listener.close()

    def authorize(self, head: Head) -> Grant | None:
        """The caller's policy if its credentials carry this proxy's secret, else None."""
        scheme, _, encoded = (head.get("proxy-authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            credentials = base64.b64decode(encoded.strip(), validate=True).decode("latin-1")
        except (binascii.Error, ValueError):
            return None
        token, _, secret = credentials.partition(":")
        if not hmac.compare_digest(secret.encode("latin-1"), self._secret):
            return None
        grant = self._grants.get(token)
        if grant is None:
            try:
                policy = EgressPolicy.from_token(token)
            except ValueError:
                return None
            grant = (policy, parse_allowed(policy.allowed_hosts))
            if len(self._grants) > 256:
                self._grants.clear()
            self._grants[token] = grant
        return grant

    def connect(self, host: str, port: int, grant: Grant) -> socket.socket:
        """A connection to a checked address of ``host:port`` (see the module docstring)."""
        policy, allowed = grant
        try:
            addresses = checked_addresses(host, port, allowed, self.resolve)
        except Refused as exc:
            raise Answer(502 if exc.unresolvable else 403, exc.reason) from exc
        timed_out = False
        for address in addresses:
            try:
                sock = self.network.connect(address, port, policy.timeout)
            except OSError as exc:
                timed_out = timed_out or isinstance(exc, TimeoutError)
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(policy.timeout)
            return sock
        if timed_out:
            raise Answer(504, f"connecting to {host!r} port {port} timed out")
        raise Answer(502, f"cannot connect to {host!r} port {port}")

    def _session(self, conn: socket.socket) -> None:
        if not self._slots.acquire(blocking=False):
            send_quietly(conn, Answer(503, "too many connections").render())
            conn.close()
            return
        try:
            Session(self, conn).run()
        finally:
            self._slots.release()


def _network(config: dict[str, Any]) -> Network | None:
    """A simulated network named by the configuration (tests only), else None (the system's)."""
    spec = config.get("network")
    if not spec:
        return None
    module, _, name = str(spec).partition(":")
    factory = getattr(importlib.import_module(module), name)
    network: Network = factory(**config.get("network_args", {}))
    return network


def main() -> None:
    """Run a proxy for the parent process: configuration as one JSON line on stdin (never argv,
    where other users could read the secret), the port printed on stdout, and an exit as soon as
    stdin closes: when the parent stops it, exits or dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is the parent's to handle
    config = json.loads(sys.stdin.readline())
    pin = float(config.get("pin_seconds", PIN_SECONDS))
    proxy = GuardedProxy(str(config["secret"]), _network(config), pin)
    threading.Thread(target=proxy.serve_forever, name="egress-proxy", daemon=True).start()
    sys.stdout.write(f"{proxy.port}\n")
    sys.stdout.flush()
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
