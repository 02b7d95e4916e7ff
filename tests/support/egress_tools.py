"""Egress guard test tools: a proxy on a simulated network, installing it, tripwires.

:class:`Tripwire` is a TCP listener in the test process that only counts the connections it gets:
the forbidden side of a test, also for tunnels whose bytes an HTTP server would not even log.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from app.raster import egress
from app.raster.egress import EgressProxy


@contextmanager
def simulated_proxy(
    log: Path,
    answers: dict[str, list[list[str]]] | None = None,
    routes: dict[str, tuple[str, int]] | None = None,
    pin_seconds: float | None = None,
) -> Iterator[EgressProxy]:
    """An egress proxy child on a simulated network; stopped on exit."""
    config: dict[str, object] = {
        "network": "tests.support.fakenet:SimulatedNetwork",
        "network_args": {"answers": answers or {}, "routes": routes or {}, "log": str(log)},
    }
    if pin_seconds is not None:
        config["pin_seconds"] = pin_seconds
    proxy = EgressProxy.start(**config)
    try:
        yield proxy
    finally:
        proxy.stop()


@contextmanager
def installed(proxy: EgressProxy) -> Iterator[EgressProxy]:
    """``proxy`` as this process's egress proxy for the duration (the shared one put back after)."""
    with egress._lock:
        previous, egress._shared = egress._shared, proxy
    try:
        yield proxy
    finally:
        with egress._lock:
            egress._shared = previous


class Tripwire:
    """A listener on ``host`` (127.0.0.1 or ::1) that counts and drops every connection it gets."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.bind((host, 0))
        self.listener.listen(16)
        self.host = host
        self.port: int = self.listener.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def __enter__(self) -> Tripwire:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (close alone does not)
        self.listener.close()
        self._thread.join(timeout=5)
