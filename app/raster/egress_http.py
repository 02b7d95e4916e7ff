"""HTTP/1.1 plumbing of the egress proxy: message heads, hop-by-hop headers, body framing, relays.

Standard library only (the proxy runs in a process of its own). Bodies are relayed as they come,
in one reused buffer per connection: never held whole, never re-encoded (chunked bodies pass
through chunk by chunk, their framing checked on the way).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from enum import Enum

MAX_HEAD = 64 * 1024
MAX_LINE = 8 * 1024
BUFFER = 256 * 1024
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")

# Hop-by-hop headers (RFC 9110 7.6.1) and the proxy's own; Transfer-Encoding is kept: bodies are
# relayed in the framing they came in.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "proxy-authenticate",
        "te",
        "trailer",
        "upgrade",
    }
)


class ProtocolError(Exception):
    """A peer spoke something that is not HTTP/1.1 as this proxy relays it."""


class Framing(Enum):
    """How the end of a message body is known."""

    NONE = "none"
    LENGTH = "length"
    CHUNKED = "chunked"
    CLOSE = "close"  # read until the sender closes (responses only)


@dataclass(frozen=True)
class Head:
    """A message head: the three parts of its first line and its header fields, in order."""

    start: tuple[str, str, str]  # request: method, target, version; response: version, status, reason
    headers: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        """The first value of a header field (case-insensitive name), if present."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def values(self, name: str) -> list[str]:
        """Every value of a header field, comma lists split."""
        wanted = name.lower()
        found = [value for key, value in self.headers if key.lower() == wanted]
        return [item.strip() for value in found for item in value.split(",") if item.strip()]

    def connection_tokens(self) -> set[str]:
        """The lower-cased tokens of Connection and Proxy-Connection."""
        return {token.lower() for token in self.values("connection") + self.values("proxy-connection")}


def parse_head(raw: bytes) -> Head:
    """Parse a message head (ending in an empty line); ProtocolError where it is malformed."""
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) == 2:
        parts.append("")  # a status line without a reason phrase
    if len(parts) != 3 or not all(parts[:2]):
        raise ProtocolError("malformed start line")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or line[0] in " \t" or "\x00" in line:
            raise ProtocolError("malformed header field")
        headers.append((name, value.strip()))
    return Head((parts[0], parts[1], parts[2]), tuple(headers))


def request_framing(head: Head) -> tuple[Framing, int]:
    """How a request body is framed (requests without length or chunking have none)."""
    codings = [coding.lower() for coding in head.values("transfer-encoding")]
    if codings:
        if codings != ["chunked"] or head.get("content-length") is not None:
            raise ProtocolError("unsupported request framing")
        return Framing.CHUNKED, 0
    length = _content_length(head)
    return (Framing.NONE, 0) if not length else (Framing.LENGTH, length)


def response_framing(head: Head, method: str) -> tuple[Framing, int]:
    """How a response body is framed (RFC 9112 6.3), for a response to ``method``."""
    status = int(head.start[1])
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return Framing.NONE, 0
    codings = [coding.lower() for coding in head.values("transfer-encoding")]
    if codings:
        return (Framing.CHUNKED, 0) if codings[-1] == "chunked" else (Framing.CLOSE, 0)
    length = _content_length(head)
    return (Framing.CLOSE, 0) if length is None else (Framing.LENGTH, length)


def _content_length(head: Head) -> int | None:
    values = set(head.values("content-length"))
    if not values:
        return None
    if len(values) > 1 or not all(value.isascii() and value.isdigit() for value in values):
        raise ProtocolError("invalid Content-Length")
    return int(values.pop())


def forwarded_headers(head: Head, *, drop: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """The header fields to pass on: hop-by-hop ones, those Connection names and ``drop`` left out."""
    named = {token for token in head.connection_tokens() if token not in ("close", "keep-alive")}
    return [(key, value) for key, value in head.headers if key.lower() not in HOP_BY_HOP | named | drop]


def render_head(start: str, headers: list[tuple[str, str]]) -> bytes:
    """A message head as bytes."""
    lines = [start, *(f"{key}: {value}" for key, value in headers), "", ""]
    return "\r\n".join(lines).encode("latin-1")


class Stream:
    """A connected socket read through a buffer (message heads, chunk lines) or relayed in bulk."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pending = bytearray()  # read from the socket, not yet consumed
        self._buffer: memoryview | None = None

    def read_head(self) -> bytes | None:
        """The next message head, or None if the peer closed cleanly before sending one."""
        while True:
            while self.pending.startswith(b"\r\n"):  # stray empty lines between messages
                del self.pending[:2]
            end = self.pending.find(b"\r\n\r\n")
            if end >= 0:
                head = bytes(self.pending[: end + 4])
                del self.pending[: end + 4]
                return head
            if len(self.pending) > MAX_HEAD:
                raise ProtocolError("message head too large")
            if not self._fill():
                if self.pending:
                    raise ProtocolError("connection closed inside a message head")
                return None

    def read_line(self) -> bytes:
        """The next line (with its CRLF); ProtocolError at EOF or past the line limit."""
        while (end := self.pending.find(b"\r\n")) < 0:
            if len(self.pending) > MAX_LINE or not self._fill():
                raise ProtocolError("bad or missing line")
        line = bytes(self.pending[: end + 2])
        del self.pending[: end + 2]
        return line

    def relay(self, framing: Framing, length: int, sink: socket.socket) -> None:
        """Copy one message body to ``sink`` as framed."""
        if framing is Framing.LENGTH:
            self._relay_exact(length, sink)
        elif framing is Framing.CHUNKED:
            self._relay_chunked(sink)
        elif framing is Framing.CLOSE:
            self._relay_until_close(sink)

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.pending += data
        return bool(data)

    def _view(self) -> memoryview:
        if self._buffer is None:
            self._buffer = memoryview(bytearray(BUFFER))
        return self._buffer

    def _take_pending(self, limit: int) -> bytes:
        taken = bytes(self.pending[:limit])
        del self.pending[:limit]
        return taken

    def _relay_exact(self, length: int, sink: socket.socket) -> None:
        if self.pending:
            first = self._take_pending(length)
            sink.sendall(first)
            length -= len(first)
        view = self._view()
        while length > 0:
            received = self.sock.recv_into(view, min(length, BUFFER))
            if not received:
                raise ProtocolError("connection closed inside a body")
            sink.sendall(view[:received])
            length -= received

    def _relay_until_close(self, sink: socket.socket) -> None:
        if self.pending:
            sink.sendall(self._take_pending(len(self.pending)))
        view = self._view()
        while received := self.sock.recv_into(view, BUFFER):
            sink.sendall(view[:received])

    def _relay_chunked(self, sink: socket.socket) -> None:
        while True:
            line = self.read_line()
            size_text = line.split(b";", 1)[0].strip()
            if not size_text or not set(size_text) <= _HEX_DIGITS or len(size_text) > 16:
                raise ProtocolError("bad chunk size")
            size = int(size_text, 16)
            sink.sendall(line)
            if size == 0:
                break
            self._relay_exact(size, sink)
            if self.read_line() != b"\r\n":
                raise ProtocolError("bad chunk end")
            sink.sendall(b"\r\n")
        while (trailer := self.read_line()) != b"\r\n":
            sink.sendall(trailer)
        sink.sendall(b"\r\n")
