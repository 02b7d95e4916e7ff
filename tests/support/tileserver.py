"""A basemap tile server on 127.0.0.1 for browser tests: one plain PNG for every path it is asked.

    with TileServer() as basemap:
        basemap.template   # "http://127.0.0.1:<port>/basemap/{z}/{x}/{y}.png", for WPS_BASEMAP_URL
        ...
        basemap.paths      # the paths asked so far, in order

A thread, not a process: it only answers a few small requests from a browser in another process.
"""

from __future__ import annotations

import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


def plain_png(width: int = 256, height: int = 256, rgb: tuple[int, int, int] = (214, 226, 238)) -> bytes:
    """A one-colour RGB PNG, written by hand (signature, IHDR, one IDAT, IEND)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB, no interlace
    rows = (b"\x00" + bytes(rgb) * width) * height  # filter type 0 before each row
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class TileServer:
    """Answers every GET with the same PNG; remembers the paths asked."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(plain_png(), self.paths))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def template(self) -> str:
        """An XYZ tile URL template on this server."""
        return f"{self.base_url}/basemap/{{z}}/{{x}}/{{y}}.png"

    def __enter__(self) -> TileServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _handler(png: bytes, paths: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    return Handler
