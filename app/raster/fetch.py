"""Guarded reference handling: turn a complex input into something GDAL can open, or into bytes.

Every URL, including each redirect target, passes :func:`app.raster.guard.check_url` (an early
check with an error naming the input); redirects are followed by hand (at most five). Every
connection, the service's and GDAL's, then goes through this process's egress proxy
(:mod:`app.raster.egress`), which checks the address it connects to when it connects. A plain GET
reference to a raster is preflighted to learn whether its server serves byte ranges:
``Accept-Ranges: bytes`` on the HEAD answer says yes, ``none`` says no; otherwise (no such header,
HEAD refused or failing) a one-byte ranged GET decides: 206 is a yes, 200 a no. Where ranges are
served the raster goes to GDAL as a guarded path of the final URL (read through ``/vsicurl/`` and
the proxy), so that only the bytes a computation needs are ever read. Where they are not (plain file
servers, dynamic URLs such as WCS GetCoverage), GDAL could not read it; it is downloaded whole into
the job's work directory instead, and when the probe GET already brought the whole body, that very
response is the download: the file is pulled once. References with a POST body or custom headers
cannot be expressed to GDAL; they are downloaded too. Every download streams to disk through one
capped copy (``WPS_MAX_INPUT_BYTES``, also without a Content-Length) and leaves no partial file behind.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import httpx

from app.model.errors import DataNotAccessible, FileSizeExceeded, WpsError
from app.model.requests import ComplexValue
from app.raster.egress import guarded_path, httpx_proxy
from app.raster.egress_relay import GUARD_HEADER
from app.raster.gdal_env import configure_gdal, forget_remote_file
from app.raster.guard import HTTP_SCHEMES, check_url, local_file
from app.settings import Settings

MAX_REDIRECTS = 5
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_IDENTITY = {"Accept-Encoding": "identity"}  # the file's own bytes: sizes and caps mean what they say
_NO_RANGES = "the server ignores HTTP Range requests"
_DROPPED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "te", "upgrade"}
)
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
_CONTENT_RANGE = re.compile(r"bytes\s+(?:\d+-\d+|\*)/(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class _Cap:
    """The byte cap of one fetch, and the client-safe errors that explain what went wrong."""

    locator: str
    limit: int
    reason: str = ""  # why the whole file is being fetched, when that needs saying

    def exceeded(self, size: int | None) -> FileSizeExceeded:
        """The error for a body of ``size`` bytes (None: not announced, counted past the cap)."""
        if not self.reason:
            message = f"input {self.locator!r} is larger than the {self.limit} bytes allowed"
        else:
            whole = "the whole file" if size is None else f"the whole file ({size} bytes)"
            message = (
                f"input {self.locator!r}: {self.reason}; downloading {whole}"
                f" exceeds the input cap of {self.limit} bytes"
            )
        return FileSizeExceeded(message, self.locator)

    def broken(self) -> DataNotAccessible:
        """The error for a body that broke off."""
        what = f"{self.reason}; the download of the whole file" if self.reason else "the reference"
        return DataNotAccessible(f"input {self.locator!r}: {what} broke off", self.locator)

    def unstorable(self) -> WpsError:
        """The error for a download the service could not write to its disk."""
        return WpsError(f"input {self.locator!r}: the service could not store the download", self.locator)


def resolve_reference(value: ComplexValue, settings: Settings, locator: str, workdir: Path) -> str:
    """A path :func:`app.raster.open.open_raster` can open for a referenced raster: a guarded
    remote path (:func:`app.raster.egress.guarded_path`), a local file or a download."""
    href = _require_href(value, locator)
    scheme = _scheme(href, locator)
    if scheme == "file":
        return str(local_file(href, settings, locator))
    configure_gdal(settings)
    if value.method != "GET" or value.headers or value.body is not None or value.body_href:
        return str(_download(_request_for(value, settings, locator), settings, locator, workdir))
    return _remote_raster(href, settings, locator, workdir)


def fetch_bytes(value: ComplexValue, settings: Settings, locator: str) -> bytes:
    """The bytes of a non-raster complex input (inline, or fetched through the guard, capped)."""
    if value.data is not None:
        return value.data
    href = _require_href(value, locator)
    cap = min(settings.max_input_bytes, settings.max_request_bytes)
    if _scheme(href, locator) == "file":
        return _read_local(local_file(href, settings, locator), cap, locator)
    buffer = io.BytesIO()
    with _open(_request_for(value, settings, locator), settings, locator) as response:
        _stream(response, buffer, _Cap(locator, cap))
    return buffer.getvalue()


def materialize(value: ComplexValue, settings: Settings, workdir: Path, locator: str) -> str:
    """A path GDAL can open: inline bytes go to a file in ``workdir``, references are resolved."""
    if value.data is None:
        return resolve_reference(value, settings, locator, workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=workdir, prefix="input-", suffix=".tif")
    with os.fdopen(handle, "wb") as sink:
        sink.write(value.data)
    return name


# ----------------------------------------------------------------------------- helpers


def _require_href(value: ComplexValue, locator: str) -> str:
    if not value.href:
        raise DataNotAccessible(f"input {locator!r} has neither data nor a reference", locator)
    return value.href


def _scheme(href: str, locator: str) -> str:
    try:
        scheme = urlsplit(href).scheme.lower()
    except ValueError as exc:
        raise DataNotAccessible(f"input {locator!r}: malformed reference URL", locator) from exc
    if scheme != "file" and scheme not in HTTP_SCHEMES:
        shown = scheme or "relative"
        raise DataNotAccessible(
            f"input {locator!r}: {shown!r} references are not supported (use http or https)", locator
        )
    return scheme


def _request_for(value: ComplexValue, settings: Settings, locator: str) -> _Request:
    headers = {name: text for name, text in value.headers if name.lower() not in _DROPPED_HEADERS}
    headers.setdefault("Accept-Encoding", "identity")
    body = value.body
    if body is None and value.body_href:
        body_ref = ComplexValue(href=value.body_href)
        body = fetch_bytes(body_ref, settings, locator)
    return _Request(value.method, _require_href(value, locator), headers, body)


def _client(settings: Settings) -> httpx.Client:
    # Every connection through the egress proxy; trust_env=False: no proxies or .netrc credentials
    # picked up from the service's environment.
    return httpx.Client(
        timeout=settings.http_timeout, follow_redirects=False, trust_env=False, proxy=httpx_proxy(settings)
    )


@contextmanager
def _open(request: _Request, settings: Settings, locator: str) -> Iterator[httpx.Response]:
    """A streaming response for ``request``, redirects followed through the guard."""
    with _client(settings) as client:
        response = _send_following(client, request, settings, locator)
        try:
            yield response
        finally:
            response.close()


def _send_following(
    client: httpx.Client, request: _Request, settings: Settings, locator: str
) -> httpx.Response:
    for _ in range(MAX_REDIRECTS + 1):
        url = check_url(request.url, settings, locator)
        outgoing = client.build_request(request.method, url, headers=request.headers, content=request.body)
        try:
            response = client.send(outgoing, stream=True)
        except httpx.TimeoutException as exc:
            raise DataNotAccessible(f"input {locator!r}: the reference timed out", locator) from exc
        except httpx.ProxyError as exc:  # an https connection the egress proxy refused or failed
            raise _egress_error(_proxy_status(exc), "", locator) from exc
        except httpx.HTTPError as exc:
            raise DataNotAccessible(
                f"input {locator!r}: the reference could not be fetched", locator
            ) from exc
        if GUARD_HEADER in response.headers:  # an http connection the egress proxy refused or failed
            response.close()
            raise _egress_error(response.status_code, response.headers[GUARD_HEADER], locator)
        if response.status_code not in _REDIRECT_STATUSES or "location" not in response.headers:
            return response
        response.close()
        request = _redirected(request, response, locator)
    raise DataNotAccessible(f"input {locator!r}: more than {MAX_REDIRECTS} redirects", locator)


def _egress_error(status: int, detail: str, locator: str) -> DataNotAccessible:
    """The error for an answer of the egress proxy's own (see :mod:`app.raster.egress_proxy`)."""
    if status == 504:
        return DataNotAccessible(f"input {locator!r}: the reference timed out", locator)
    if status == 403:
        why = detail or "the address is not allowed"
        return DataNotAccessible(f"input {locator!r}: refused by the egress guard: {why}", locator)
    why = f" ({detail})" if detail else ""
    return DataNotAccessible(f"input {locator!r}: the reference could not be fetched{why}", locator)


def _proxy_status(exc: httpx.ProxyError) -> int:
    """The status of a refused CONNECT, as httpx reports it (``"403 Forbidden"``); 0 if unknown."""
    first = str(exc).split(" ", 1)[0]
    return int(first) if first.isdigit() else 0


def _redirected(request: _Request, response: httpx.Response, locator: str) -> _Request:
    try:
        target = response.url.join(response.headers["location"])
    except (httpx.InvalidURL, ValueError) as exc:
        raise DataNotAccessible(f"input {locator!r}: malformed redirect", locator) from exc
    method, body = request.method, request.body
    if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
        method, body = ("HEAD", None) if method == "HEAD" else ("GET", None)
    headers = request.headers
    if (target.scheme, target.host, target.port) != (
        response.url.scheme,
        response.url.host,
        response.url.port,
    ):
        headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
    return replace(request, method=method, url=str(target), headers=headers, body=body)


def _announced_size(response: httpx.Response) -> int | None:
    match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
    if match:
        return int(match.group(1))
    length = response.headers.get("content-length")
    if response.status_code == 200 and length and length.isdigit():
        return int(length)
    return None


def _check_response(response: httpx.Response, cap: _Cap) -> None:
    status = response.status_code
    if status >= 300 or status < 200:
        raise DataNotAccessible(f"input {cap.locator!r}: the reference answered HTTP {status}", cap.locator)
    size = _announced_size(response)
    if size is not None and size > cap.limit:
        raise cap.exceeded(size)


# ----------------------------------------------------------------------------- remote rasters


def _remote_raster(url: str, settings: Settings, locator: str, workdir: Path) -> str:
    """``/vsicurl/<final url>`` where the server serves byte ranges, else the file downloaded whole."""
    cap = _Cap(locator, settings.max_input_bytes)
    with _open(_Request("HEAD", url, dict(_IDENTITY)), settings, locator) as head:
        ranges = _head_says_ranges(head, cap)
        final = str(head.url)
    if ranges is None:  # no verdict from HEAD: ask for one byte
        probe = _Request("GET", url, {"Range": "bytes=0-0", **_IDENTITY})
        with _open(probe, settings, locator) as response:
            if response.is_success and response.status_code != 206:
                # The whole body is on its way: this response is the download, not a second GET.
                return str(_save(response, replace(cap, reason=_NO_RANGES), workdir))
            _check_response(response, cap)
            final = str(response.url)
    elif not ranges:
        return str(_download(_Request("GET", final, dict(_IDENTITY)), settings, locator, workdir, _NO_RANGES))
    forget_remote_file("/vsicurl/" + final)  # a new job sees the file as it is now, not as an earlier did
    return guarded_path(final, settings)


def _head_says_ranges(response: httpx.Response, cap: _Cap) -> bool | None:
    """Whether a HEAD answer shows byte ranges served (True), refused (False), or leaves it open.

    A HEAD answered with an error (refused as by some object stores, or unsupported by a dynamic
    URL) leaves it open: the GET that follows is the authority on the reference. The size cap
    applies as soon as a length is announced, whichever way the file is then read.
    """
    if not response.is_success:
        return None
    units = {unit.strip().lower() for unit in response.headers.get("accept-ranges", "").split(",")}
    verdict = True if "bytes" in units else False if "none" in units else None
    _check_response(response, cap if verdict is not False else replace(cap, reason=_NO_RANGES))
    return verdict


# ----------------------------------------------------------------------------- downloads


def _download(request: _Request, settings: Settings, locator: str, workdir: Path, reason: str = "") -> Path:
    """Fetch ``request`` into a new file in ``workdir`` (see :func:`_save`)."""
    with _open(request, settings, locator) as response:
        return _save(response, _Cap(locator, settings.max_input_bytes, reason), workdir)


def _save(response: httpx.Response, cap: _Cap, workdir: Path) -> Path:
    """Stream a response body into a new file in ``workdir``, capped; no partial file on failure."""
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=workdir, prefix="input-", suffix=".tif")
    except OSError as exc:
        raise cap.unstorable() from exc
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as sink:
            _stream(response, sink, cap)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _stream(response: httpx.Response, sink: BinaryIO, cap: _Cap) -> None:
    """Copy a response body to ``sink``, aborting once more than the cap has arrived."""
    _check_response(response, cap)
    received = 0
    try:
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > cap.limit:
                raise cap.exceeded(None)  # announced no length, or less than it sends
            sink.write(chunk)
    except httpx.HTTPError as exc:
        raise cap.broken() from exc
    except OSError as exc:  # the disk of the work directory, not the network
        raise cap.unstorable() from exc


def _read_local(path: Path, cap: int, locator: str) -> bytes:
    if path.stat().st_size > cap:
        raise FileSizeExceeded(f"input {locator!r} is larger than the {cap} bytes allowed", locator)
    return path.read_bytes()
