"""One client connection of the egress proxy: requests relayed one after the other, or a tunnel.

For each request (an absolute-form ``http:`` request, or ``CONNECT host:port`` for ``https:``) the
session asks its gatekeeper (:class:`app.raster.egress_proxy.GuardedProxy`) whether the caller may
use the proxy and for a connection to a checked address of the target; what is refused is answered
here, with a clean HTTP error carrying ``X-Egress-Guard: <reason>``. Plain-http connections are
kept alive on both sides (one upstream per client connection, reused while the target stays the
same; an idle upstream the server closed is retried once, for requests without a body); bodies
stream through (:mod:`app.raster.egress_http`). Standard library only.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http import HTTPStatus
from typing import Protocol
from urllib.parse import urlsplit

from app.raster.addresses import AllowedEntry, EgressPolicy, normalize_host
from app.raster.egress_http import (
    BUFFER,
    Framing,
    Head,
    ProtocolError,
    Stream,
    forwarded_headers,
    parse_head,
    render_head,
    request_framing,
    response_framing,
)

GUARD_HEADER = "X-Egress-Guard"
ALLOWED_METHODS = frozenset({"GET", "HEAD", "POST"})
CLIENT_IDLE = 120.0  # seconds a client connection may sit idle between requests
Grant = tuple[EgressPolicy, list[AllowedEntry]]


class Gatekeeper(Protocol):
    """Who may use the proxy, and the connections they get."""

    def authorize(self, head: Head) -> Grant | None:
        """The caller's policy if its credentials are good, else None."""
        ...

    def connect(self, host: str, port: int, grant: Grant) -> socket.socket:
        """A connection to a checked address of ``host:port``, else :class:`Answer`."""
        ...


class Answer(Exception):
    """An answer of the proxy's own (a refusal or a failure), sent instead of the upstream's."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail

    def render(self) -> bytes:
        """The answer as an HTTP response that closes the connection."""
        detail = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in self.detail)[:300]
        body = (detail + "\n").encode()
        headers = [
            ("Content-Type", "text/plain"),
            (GUARD_HEADER, detail),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ]
        if self.status == 407:
            headers.append(("Proxy-Authenticate", 'Basic realm="egress"'))
        return render_head(f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}", headers) + body


class Session:
    """One client connection: requests relayed one after the other, or one CONNECT tunnel."""

    def __init__(self, proxy: Gatekeeper, conn: socket.socket) -> None:
        conn.settimeout(CLIENT_IDLE)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.proxy = proxy
        self.client = Stream(conn)
        self.upstream: Stream | None = None
        self.upstream_key: tuple[str, int, str] | None = None

    def run(self) -> None:
        """Serve the connection until either side closes it or something goes wrong."""
        try:
            while self._exchange():
                pass
        except Answer as answer:
            send_quietly(self.client.sock, answer.render())
        except (OSError, ProtocolError):
            pass  # a peer hung up or broke the protocol mid-body: closing is all there is to do
        finally:
            self._drop_upstream()
            self.client.sock.close()

    def _exchange(self) -> bool:
        """Relay one request and its response; whether the client connection stays open."""
        raw = self.client.read_head()
        if raw is None:
            return False
        try:
            request = parse_head(raw)
        except ProtocolError as exc:
            raise Answer(400, "malformed request") from exc
        grant = self.proxy.authorize(request)
        if grant is None:
            raise Answer(407, "proxy authentication required")
        if request.start[0] == "CONNECT":
            self._tunnel(request, grant)
            return False
        return self._forward(request, grant)

    def _forward(self, request: Head, grant: Grant) -> bool:
        method, target, _ = request.start
        if method not in ALLOWED_METHODS:
            raise Answer(405, f"method {method} is not relayed")
        host, port, authority, path = _absolute_target(target, request.get("host"))
        try:
            framing, length = request_framing(request)
        except ProtocolError as exc:
            raise Answer(400, str(exc)) from exc
        headers = [("Host", authority), *forwarded_headers(request, drop=frozenset({"host", "expect"}))]
        head = render_head(f"{method} {path} HTTP/1.1", headers)
        if "100-continue" in (request.get("expect") or "").lower():
            self.client.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        key = (normalize_host(host), port, grant[0].token())
        response, upstream = self._send(key, grant, head, (framing, length))
        return self._answer(request, response, upstream)

    def _send(
        self, key: tuple[str, int, str], grant: Grant, head: bytes, body: tuple[Framing, int]
    ) -> tuple[Head, Stream]:
        """Send a request upstream (reusing the connection if it goes to the same place)."""
        for attempt in range(2):
            reused = self.upstream is not None and self.upstream_key == key
            upstream = self._upstream(key, grant)
            try:
                upstream.sock.sendall(head)
                self.client.relay(*body, upstream.sock)
                return _final_response(upstream), upstream
            except (OSError, ProtocolError) as exc:
                self._drop_upstream()
                if reused and body[0] is Framing.NONE and attempt == 0:
                    continue  # the server closed an idle kept-alive connection: once more, afresh
                if isinstance(exc, TimeoutError):
                    raise Answer(504, f"{key[0]!r} port {key[1]} timed out") from exc
                raise Answer(502, f"{key[0]!r} port {key[1]} gave no valid answer") from exc
        raise AssertionError("unreachable")

    def _answer(self, request: Head, response: Head, upstream: Stream) -> bool:
        """Relay the response to the client; whether the client connection stays open."""
        method = request.start[0]
        try:
            framing, length = response_framing(response, method)
        except ProtocolError as exc:
            self._drop_upstream()
            raise Answer(502, "the upstream answer has an invalid length") from exc
        close_client = request.start[2] != "HTTP/1.1" or "close" in request.connection_tokens()
        close_client = close_client or framing is Framing.CLOSE
        keep_upstream = response.start[0] == "HTTP/1.1" and "close" not in response.connection_tokens()
        drop = {GUARD_HEADER.lower()}  # only the proxy's own answers carry it
        if framing is not Framing.NONE and response.get("transfer-encoding") is not None:
            drop.add("content-length")  # the body is framed by its coding: the client must not see both
        headers = forwarded_headers(response, drop=frozenset(drop))
        if close_client:
            headers.append(("Connection", "close"))
        _, status, reason = response.start
        self.client.sock.sendall(render_head(f"HTTP/1.1 {status} {reason}", headers))
        upstream.relay(framing, length, self.client.sock)
        if not keep_upstream or framing is Framing.CLOSE:
            self._drop_upstream()
        return not close_client

    def _upstream(self, key: tuple[str, int, str], grant: Grant) -> Stream:
        if self.upstream is not None and self.upstream_key == key:
            return self.upstream
        self._drop_upstream()
        self.upstream = Stream(self.proxy.connect(key[0], key[1], grant))
        self.upstream_key = key
        return self.upstream

    def _drop_upstream(self) -> None:
        if self.upstream is not None:
            self.upstream.sock.close()
        self.upstream, self.upstream_key = None, None

    def _tunnel(self, request: Head, grant: Grant) -> None:
        """CONNECT: a byte tunnel to a checked address, until either side closes it."""
        host, port = _authority(request.start[1])
        upstream = self.proxy.connect(host, port, grant)
        try:
            self.client.sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if self.client.pending:
                upstream.sendall(bytes(self.client.pending))
                self.client.pending.clear()
            back = threading.Thread(target=_pump, args=(upstream, self.client.sock), daemon=True)
            back.start()
            _pump(self.client.sock, upstream)
            back.join()
        finally:
            upstream.close()


def _final_response(upstream: Stream) -> Head:
    """The upstream's response head, interim (1xx) answers skipped."""
    while True:
        raw = upstream.read_head()
        if raw is None:
            raise ProtocolError("the upstream closed without answering")
        head = parse_head(raw)
        status = head.start[1]
        if len(status) != 3 or not status.isdigit():
            raise ProtocolError("malformed status")
        if not status.startswith("1"):
            return head


def _absolute_target(target: str, host_header: str | None) -> tuple[str, int, str, str]:
    """(host, port, authority, origin-form path) of an absolute-form ``http:`` request target."""
    if any(ord(ch) <= 32 or ord(ch) >= 127 for ch in target):
        raise Answer(400, "malformed request target")
    scheme, _, rest = target.partition("://")
    authority, slash, path = rest.partition("/")
    authority = _bracketed(authority, host_header)
    try:
        parts = urlsplit(f"{scheme}://{authority}{slash}{path}")
        port = parts.port or 80
    except ValueError as exc:
        raise Answer(400, "malformed request target") from exc
    if parts.scheme.lower() != "http" or not parts.hostname or "@" in parts.netloc:
        raise Answer(400, "only absolute http: targets (and CONNECT for https:) are relayed")
    origin_form = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, port, parts.netloc, origin_form


def _bracketed(authority: str, host_header: str | None) -> str:
    """The authority, with the brackets of an IPv6 literal that httpcore leaves out of absolute-form
    targets put back, as its Host header (which has them) shows: only where the two agree."""
    unbracketed = authority.count(":") >= 2 and not authority.startswith("[")
    if unbracketed and host_header and host_header.replace("[", "").replace("]", "") == authority:
        return host_header
    return authority


def _authority(target: str) -> tuple[str, int]:
    """(host, port) of a CONNECT target (which always has a port: httpcore leaves the brackets off
    an IPv6 literal, the last colon still sets the port apart)."""
    if target.count(":") >= 2 and not target.startswith("["):
        address, _, port_text = target.rpartition(":")
        target = f"[{address}]:{port_text}"
    try:
        parts = urlsplit(f"//{target}")
        port = parts.port
    except ValueError as exc:
        raise Answer(400, "malformed CONNECT target") from exc
    if not parts.hostname or port is None or "@" in parts.netloc or parts.path or parts.query:
        raise Answer(400, "malformed CONNECT target")
    return parts.hostname, port


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy bytes one way until EOF or an error, then half-close the other side."""
    view = memoryview(bytearray(BUFFER))
    try:
        while received := source.recv_into(view):
            sink.sendall(view[:received])
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def send_quietly(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):
        sock.sendall(data)
