"""Guarded reference handling: turn a complex input into something GDAL can open, or into bytes.

Every URL, including each redirect target, passes :func:`app.raster.guard.check_url`; redirects are
followed by hand (at most five). A plain GET reference to a raster is preflighted (HEAD, or a
one-byte ranged GET where HEAD is refused) and handed to GDAL as ``/vsicurl/<final url>`` so that
only the bytes a computation needs are ever read. References with a POST body or custom headers
cannot be expressed to GDAL; they are downloaded, capped, into the job's work directory.
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

from app.model.errors import DataNotAccessible, FileSizeExceeded
from app.model.requests import ComplexValue
from app.raster.gdal_env import configure_gdal, forget_remote_file
from app.raster.guard import HTTP_SCHEMES, check_url, local_file
from app.settings import Settings

MAX_REDIRECTS = 5
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_HEAD_REFUSED = frozenset({403, 405, 501})
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


def resolve_reference(value: ComplexValue, settings: Settings, locator: str, workdir: Path) -> str:
    """A path GDAL can open for a referenced raster (``/vsicurl/...``, a local file, a download)."""
    href = _require_href(value, locator)
    scheme = _scheme(href, locator)
    if scheme == "file":
        return str(local_file(href, settings, locator))
    configure_gdal(settings)
    if value.method != "GET" or value.headers or value.body is not None or value.body_href:
        return str(_download_to_file(value, settings, locator, workdir))
    path = "/vsicurl/" + _preflight(href, settings, locator)
    forget_remote_file(path)  # a new job sees the file as it is now, not as an earlier job saw it
    return path


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
        _stream(response, buffer, cap, locator)
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
    # trust_env=False: no proxies or .netrc credentials picked up from the service's environment.
    return httpx.Client(timeout=settings.http_timeout, follow_redirects=False, trust_env=False)


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
        except httpx.HTTPError as exc:
            raise DataNotAccessible(
                f"input {locator!r}: the reference could not be fetched", locator
            ) from exc
        if response.status_code not in _REDIRECT_STATUSES or "location" not in response.headers:
            return response
        response.close()
        request = _redirected(request, response, locator)
    raise DataNotAccessible(f"input {locator!r}: more than {MAX_REDIRECTS} redirects", locator)


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


def _check_response(response: httpx.Response, cap: int, locator: str) -> None:
    status = response.status_code
    if status >= 300 or status < 200:
        raise DataNotAccessible(f"input {locator!r}: the reference answered HTTP {status}", locator)
    size = _announced_size(response)
    if size is not None and size > cap:
        raise FileSizeExceeded(f"input {locator!r} is larger than the {cap} bytes allowed", locator)


def _preflight(url: str, settings: Settings, locator: str) -> str:
    """Check that ``url`` answers, within the size cap; return the URL after redirects."""
    attempts = (_Request("HEAD", url), _Request("GET", url, {"Range": "bytes=0-0"}))
    for attempt in attempts:
        with _open(attempt, settings, locator) as response:
            if attempt.method == "HEAD" and response.status_code in _HEAD_REFUSED:
                continue
            _check_response(response, settings.max_input_bytes, locator)
            return str(response.url)
    raise AssertionError("unreachable: the ranged GET always answers")


def _stream(response: httpx.Response, sink: BinaryIO, cap: int, locator: str) -> None:
    """Copy a response body to ``sink``, aborting once more than ``cap`` bytes arrived."""
    _check_response(response, cap, locator)
    received = 0
    try:
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > cap:
                raise FileSizeExceeded(f"input {locator!r} is larger than the {cap} bytes allowed", locator)
            sink.write(chunk)
    except httpx.HTTPError as exc:
        raise DataNotAccessible(f"input {locator!r}: the reference broke off", locator) from exc


def _download_to_file(value: ComplexValue, settings: Settings, locator: str, workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=workdir, prefix="input-", suffix=".tif")
    path = Path(name)
    try:
        with (
            os.fdopen(handle, "wb") as sink,
            _open(_request_for(value, settings, locator), settings, locator) as response,
        ):
            _stream(response, sink, settings.max_input_bytes, locator)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _read_local(path: Path, cap: int, locator: str) -> bytes:
    if path.stat().st_size > cap:
        raise FileSizeExceeded(f"input {locator!r} is larger than the {cap} bytes allowed", locator)
    return path.read_bytes()
