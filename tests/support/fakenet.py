"""A simulated network for the egress proxy's own process (imported there: standard library only).

The proxy runs in a child process (``app.raster.egress_proxy``), so a test cannot monkeypatch its
resolver; it starts a proxy with ``network="tests.support.fakenet:SimulatedNetwork"`` instead
(:func:`tests.support.egress_tools.simulated_proxy`). That network

- answers names as the test says, one answer per resolution in turn, the last one repeated (a DNS
  rebinding attacker: a public address first, ``127.0.0.1`` afterwards);
- routes connections to some addresses to local servers (a "public" address that is in fact a
  data server on 127.0.0.1), refuses connections to other non-loopback addresses (no internet in
  tests), and connects loopback addresses as asked;
- appends every resolution and connection to a log file the test reads back (:func:`read_log`).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from pathlib import Path

from app.raster.addresses import IPAddress, Refused


class SimulatedNetwork:
    """Scripted name resolution and routed connections (see the module docstring)."""

    def __init__(
        self, answers: dict[str, list[list[str]]], routes: dict[str, list[object]], log: str
    ) -> None:
        self.answers = {name: [list(answer) for answer in given] for name, given in answers.items()}
        self.routes = {address: (str(target[0]), int(str(target[1]))) for address, target in routes.items()}
        self.log = Path(log)
        self.lock = threading.Lock()
        self.asked: dict[str, int] = {}

    def _write(self, entry: dict[str, object]) -> None:
        with self.lock, self.log.open("a") as sink:
            sink.write(json.dumps(entry) + "\n")

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The next scripted answer for ``host`` (an IP literal is itself, unlogged)."""
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        given = self.answers.get(host)
        if not given:
            raise Refused(f"host {host!r} cannot be resolved", unresolvable=True)
        with self.lock:
            turn = self.asked.get(host, 0)
            self.asked[host] = turn + 1
        answer = given[min(turn, len(given) - 1)]
        self._write({"resolve": host, "answer": answer})
        return [ipaddress.ip_address(address) for address in answer]

    def connect(self, address: IPAddress, port: int, timeout: float) -> socket.socket:
        """A connection to ``address:port``, or where the route of ``address`` leads."""
        self._write({"connect": str(address), "port": port})
        target = self.routes.get(str(address))
        if target is None:
            if not address.is_loopback:
                raise ConnectionRefusedError(f"no route to {address}")
            target = (str(address), port)
        return socket.create_connection(target, timeout=timeout)


def read_log(path: Path) -> list[dict[str, object]]:
    """Every resolution and connection the simulated network logged, in order."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]
