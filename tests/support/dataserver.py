"""A local HTTP data server for tests and benchmarks: a directory on 127.0.0.1, with Range support.

    with DataServer(root) as server:
        url = server.url("scene.tif")
        ...
        server.bytes_sent      # body bytes served so far ("bytes pulled")

Besides files it answers a few routes that simulate what references meet in the wild:

- ``/redirect?to=<url>&status=302`` redirects to ``to``;
- ``/status/<code>`` answers that status;
- ``/chunked/<file>`` serves a file with chunked encoding and no Content-Length;
- ``POST /echo`` answers the request body (a POST reference whose "result" is its body);
- ``/headers`` answers the request headers as JSON.

Modes that simulate servers met in the wild (keyword arguments of :class:`DataServer`):

- ``head_allowed=False``: HEAD answers 405, as some object stores do;
- ``head_length=False``: HEAD answers 200 without Content-Length (dynamic content);
- ``ranges="ignored"``: ``Range`` is ignored: every GET answers 200 with the whole body and no
  ``Accept-Ranges`` header (plain file servers, WCS GetCoverage and other dynamic URLs);
  ``ranges="none"``: the same, announced with ``Accept-Ranges: none``;
- ``chunked=True``: every file goes out with chunked encoding and no Content-Length (as under
  ``/chunked/``), ignoring ``Range``;
- ``redirect_ranges=<base URL>``: HEAD and plain GETs answer honestly, but every GET with a
  ``Range`` header is redirected (302) to the same path under that base URL (an attacker's "late
  redirect", for the reader that follows redirects on its own); with ``redirect_ranges_from=<offset>``
  only the ranges starting at or after that offset are (e.g. a file's pixels, not its header);
- ``host="::1"``: listen on the IPv6 loopback address instead of 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal
from urllib.parse import parse_qs, quote, unquote, urlsplit
from urllib.request import urlopen

_CHUNK = 64 * 1024
_STATS = "/__stats__"
_RESET = "/__reset__"

RangeMode = Literal["bytes", "ignored", "none"]


@dataclass(frozen=True)
class Served:
    """One request as the server saw it."""

    method: str
    path: str
    range: str | None
    status: int
    body_bytes: int


class DataServer:
    """Serves ``root`` on 127.0.0.1 at a free port from a child process; counts what it sends.

    A separate process, not a thread: some GDAL calls hold the GIL while they do HTTP, which would
    deadlock against a server thread in the same interpreter, and a benchmark must not share its
    GIL with the server it measures.
    """

    def __init__(
        self,
        root: Path,
        *,
        head_allowed: bool = True,
        head_length: bool = True,
        ranges: RangeMode = "bytes",
        chunked: bool = False,
        redirect_ranges: str | None = None,
        redirect_ranges_from: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.root = root.resolve()
        self.modes = _Modes(
            head_allowed, head_length, ranges, chunked, redirect_ranges, redirect_ranges_from, host
        )
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (``http://[::1]:<port>`` on the IPv6 loopback)."""
        host = f"[{self.modes.host}]" if ":" in self.modes.host else self.modes.host
        return f"http://{host}:{self.port}"

    def url(self, name: str) -> str:
        """The URL of a file under ``root``."""
        return f"{self.base_url}/{quote(name)}"

    def redirect_url(self, target: str, status: int = 302) -> str:
        """A URL that redirects to ``target``."""
        return f"{self.base_url}/redirect?to={quote(target, safe='')}&status={status}"

    @property
    def requests(self) -> list[Served]:
        """Every request served so far (control requests excluded)."""
        with urlopen(f"{self.base_url}{_STATS}", timeout=10) as answer:
            return [Served(**entry) for entry in json.load(answer)]

    @property
    def bytes_sent(self) -> int:
        """Body bytes served so far: headers not counted; each block of a file counted just before
        it is handed to the socket, so what a client received is always counted, and a client that
        hangs up early is charged at most what the socket took (kernel buffers) plus one block."""
        return sum(entry.body_bytes for entry in self.requests)

    def reset(self) -> None:
        """Forget the requests served so far."""
        with urlopen(f"{self.base_url}{_RESET}", timeout=10):
            pass

    def __enter__(self) -> DataServer:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            str(self.root),
            json.dumps(asdict(self.modes)),
        ]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.strip().isdigit():
            self.__exit__(None, None, None)
            raise RuntimeError(f"data server did not start: {line!r}")
        self.port = int(line)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                stream.close()
        self._process = None


@dataclass(frozen=True)
class _Modes:
    """How the server behaves (see the module docstring); passed to the child as JSON."""

    head_allowed: bool = True
    head_length: bool = True
    ranges: RangeMode = "bytes"
    chunked: bool = False
    redirect_ranges: str | None = None
    redirect_ranges_from: int = 0
    host: str = "127.0.0.1"


class _Backend:
    """The child's state: what to serve and the request log."""

    def __init__(self, root: Path, modes: _Modes) -> None:
        self.root = root
        self.modes = modes
        self.lock = threading.Lock()
        self.log: list[dict[str, object]] = []

    def record(self, entry: Served) -> dict[str, object]:
        """Log one request (called by the handler threads); the logged entry, for :meth:`count`."""
        logged = asdict(entry)
        with self.lock:
            self.log.append(logged)
        return logged

    def count(self, logged: dict[str, object], sent: int) -> None:
        """Add ``sent`` body bytes to a logged request (lost if the log was reset meanwhile)."""
        with self.lock:
            logged["body_bytes"] = int(str(logged["body_bytes"])) + sent


class _Server(ThreadingHTTPServer):
    """Quiet about clients that hang up mid-body (GDAL does, after the headers of a size probe)."""

    def handle_error(self, request: object, client_address: object) -> None:
        """Print unexpected errors only."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Server6(_Server):
    address_family = socket.AF_INET6


def serve(root: Path, modes: _Modes) -> None:
    """Run the server in this process: print the port, serve until stdin closes or SIGTERM."""
    server_class = _Server6 if ":" in modes.host else _Server
    httpd = server_class((modes.host, 0), _handler_for(_Backend(root.resolve(), modes)))
    httpd.daemon_threads = True
    threading.Thread(target=_exit_when_parent_leaves, daemon=True).start()
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever(poll_interval=0.05)


def _exit_when_parent_leaves() -> None:
    sys.stdin.read()
    os._exit(0)


def parse_ranges(header: str, size: int) -> list[tuple[int, int]] | None:
    """Inclusive (start, end) byte ranges of a ``Range`` header; None if unsatisfiable/invalid."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    ranges = []
    for part in spec.split(","):
        first, _, last = part.strip().partition("-")
        if not first:
            if not last.isdigit() or int(last) == 0:
                return None
            start, end = max(size - int(last), 0), size - 1
        elif first.isdigit() and (last.isdigit() or not last):
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
        else:
            return None
        if start > end or start >= size:
            return None
        ranges.append((start, end))
    return ranges


def _handler_for(backend: _Backend) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        owner = backend

    return Handler


class _Handler(BaseHTTPRequestHandler):
    owner: _Backend
    _logged: dict[str, object]  # the log entry of the file being sent
    protocol_version = "HTTP/1.1"
    timeout = 10

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the owner keeps its own log."""

    def do_HEAD(self) -> None:
        if not self.owner.modes.head_allowed:
            self._simple(HTTPStatus.METHOD_NOT_ALLOWED, b"")
            return
        self._route(head=True)

    def do_GET(self) -> None:
        self._route(head=False)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if urlsplit(self.path).path == "/echo":
            self._simple(HTTPStatus.OK, body, "application/octet-stream")
        else:
            self._route(head=False)

    def _route(self, head: bool) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query)
        if path in (_STATS, _RESET):
            self._control(path)
        elif path == "/redirect":
            status = int(query.get("status", ["302"])[0])
            self._simple(HTTPStatus(status), b"", extra={"Location": query["to"][0]})
        elif (
            self.owner.modes.redirect_ranges
            and not head
            and self._range_start() >= self.owner.modes.redirect_ranges_from
        ):
            self._simple(
                HTTPStatus.FOUND, b"", extra={"Location": self.owner.modes.redirect_ranges + self.path}
            )
        elif path.startswith("/status/"):
            self._simple(HTTPStatus(int(path.rsplit("/", 1)[1])), b"status", head=head)
        elif path == "/headers":
            body = json.dumps({key.lower(): value for key, value in self.headers.items()}).encode()
            self._simple(HTTPStatus.OK, body, "application/json", head=head)
        elif path.startswith("/chunked/"):
            self._file(path.removeprefix("/chunked"), head, chunked=True)
        else:
            self._file(path, head, chunked=self.owner.modes.chunked)

    def _range_start(self) -> int:
        """Where the first range of the request's ``Range`` header starts; -1 without one."""
        header = self.headers.get("Range")
        first = (header or "").partition("=")[2].split(",")[0].strip().partition("-")[0]
        return int(first) if first.isdigit() else (-1 if header is None else 0)

    def _control(self, path: str) -> None:
        with self.owner.lock:
            body = json.dumps(self.owner.log).encode()
            if path == _RESET:
                self.owner.log.clear()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _simple(
        self,
        status: HTTPStatus,
        body: bytes,
        content_type: str = "text/plain",
        extra: dict[str, str] | None = None,
        head: bool = False,
    ) -> None:
        self.owner.record(Served(self.command, self.path, None, status, 0 if head else len(body)))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if body and not head:
            self.wfile.write(body)

    def _file(self, relative: str, head: bool, chunked: bool) -> None:
        target = (self.owner.root / relative.lstrip("/")).resolve()
        if not target.is_relative_to(self.owner.root) or not target.is_file():
            self._simple(HTTPStatus.NOT_FOUND, b"not found", head=head)
            return
        size = target.stat().st_size
        header = self.headers.get("Range")
        honoured = not chunked and self.owner.modes.ranges == "bytes"
        ranges = parse_ranges(header, size) if header and honoured else None
        if header and honoured and ranges is None:
            self._simple(
                HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, b"", extra={"Content-Range": f"*/{size}"}
            )
            return
        self._logged = self.owner.record(Served(self.command, self.path, header, 206 if ranges else 200, 0))
        with target.open("rb") as source:
            if chunked:
                self._send_chunked(source, head)
            elif ranges is None:
                self._send_whole(source, size, head)
            elif len(ranges) == 1:
                self._send_range(source, ranges[0], size, head)
            else:
                self._send_multipart(source, ranges, size, head)

    def _copy(self, source: BinaryIO, start: int, length: int) -> None:
        source.seek(start)
        remaining = length
        while remaining > 0 and (block := source.read(min(_CHUNK, remaining))):
            self._count(len(block))
            self.wfile.write(block)
            remaining -= len(block)

    def _count(self, sent: int) -> None:
        """Charge ``sent`` file bytes to this request, before they go out."""
        self.owner.count(self._logged, sent)

    def _accept_ranges(self) -> None:
        """``Accept-Ranges`` as the range mode says (none at all when Range is silently ignored)."""
        if self.owner.modes.ranges != "ignored":
            self.send_header("Accept-Ranges", self.owner.modes.ranges)

    def _length(self, length: int, head: bool) -> None:
        """``Content-Length``, left out of HEAD answers in ``head_length=False`` mode."""
        if not head or self.owner.modes.head_length:
            self.send_header("Content-Length", str(length))

    def _send_whole(self, source: BinaryIO, size: int, head: bool) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "image/tiff")
        self._length(size, head)
        self._accept_ranges()
        self.end_headers()
        if not head:
            self._copy(source, 0, size)

    def _send_range(self, source: BinaryIO, span: tuple[int, int], size: int, head: bool) -> None:
        start, end = span
        self.send_response(HTTPStatus.PARTIAL_CONTENT)
        self.send_header("Content-Type", "image/tiff")
        self._length(end - start + 1, head)
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self._accept_ranges()
        self.end_headers()
        if not head:
            self._copy(source, start, end - start + 1)

    def _send_multipart(self, source: BinaryIO, ranges: list[tuple[int, int]], size: int, head: bool) -> None:
        boundary = "DATASERVERBOUNDARY"
        heads = [
            f"\r\n--{boundary}\r\nContent-Type: image/tiff\r\nContent-Range: bytes {s}-{e}/{size}\r\n\r\n"
            for s, e in ranges
        ]
        tail = f"\r\n--{boundary}--\r\n".encode()
        length = sum(len(h) + e - s + 1 for h, (s, e) in zip(heads, ranges, strict=True)) + len(tail)
        self.send_response(HTTPStatus.PARTIAL_CONTENT)
        self.send_header("Content-Type", f"multipart/byteranges; boundary={boundary}")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if head:
            return
        for part_head, (start, end) in zip(heads, ranges, strict=True):
            self.wfile.write(part_head.encode())
            self._copy(source, start, end - start + 1)
        self.wfile.write(tail)

    def _send_chunked(self, source: BinaryIO, head: bool) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if head:
            return
        while block := source.read(_CHUNK):
            self._count(len(block))
            self.wfile.write(f"{len(block):X}\r\n".encode() + block + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")


if __name__ == "__main__":
    serve(Path(sys.argv[1]), _Modes(**json.loads(sys.argv[2])))
