"""Every input connection through one guard: this process's egress proxy, and the paths that use it.

The service checks each reference URL and each redirect it follows itself (:mod:`app.raster.guard`),
but GDAL reads rasters on its own: it follows redirects and resolves host names again when it
connects. So nothing connects for an input directly. Each process that reads inputs (the API
process, and every dask worker process: they run the same install) starts, on first use, its own
guarded forward proxy (:mod:`app.raster.egress_proxy`) in a child process on 127.0.0.1, and sends
every input connection through it: the service's httpx requests (:func:`httpx_proxy`) and GDAL's
reads (:func:`gdal_path`). The proxy checks each connection against the input's policy when it
opens, resolves the name once, connects to exactly the checked address, and refuses the rest.

A remote raster travels as a *guarded path*, ``egress:<policy token>:<url>`` (:func:`guarded_path`):
plain text, so it pickles to other processes, holding the URL and the policy (allowed hosts and
timeout) but no port or secret, which belong to each process's own proxy. :func:`gdal_path` turns
it into ``/vsicurl?proxy=...&proxyuserpwd=...&url=...`` for this process. GDAL cannot open a guarded
path by itself (no such file): a reader that forgets :func:`gdal_path` fails, it never connects
unguarded. Plain ``/vsicurl/`` paths are left alone: they are what code hands GDAL directly (tests,
benchmarks), never what a request can produce.

libcurl would bypass the proxy for the hosts ``NO_PROXY`` lists, and GDAL prefers
``GDAL_HTTPS_PROXY`` to a path's proxy for https: both are removed from the process's environment
(and GDAL's configuration) before a guarded path is handed to GDAL, with a warning. The proxy
child dies with its owner (its stdin closes); a forked child or a restarted proxy is detected by
process id and liveness, and a new proxy started.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import logging
import os
import secrets
import select
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from app.raster.addresses import EgressPolicy
from app.raster.egress_relay import GUARD_HEADER
from app.settings import Settings

GUARDED_PREFIX = "egress:"
START_TIMEOUT = 30.0
_BYPASSES = ("NO_PROXY", "no_proxy", "GDAL_HTTPS_PROXY")
_APP_ROOT = Path(__file__).resolve().parents[2]  # the directory that holds the ``app`` package

log = logging.getLogger(__name__)


class EgressUnavailable(RuntimeError):
    """The egress proxy could not be started (a fault of the service, not of the input)."""


class EgressProxy:
    """A guarded proxy child process, owned by the process that started it."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, secret: str) -> None:
        self.process = process
        self.port = port
        self.secret = secret
        self.owner = os.getpid()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, **config: Any) -> EgressProxy:
        """Start a proxy child. ``config`` is for tests: ``network`` (``"module:factory"`` of a
        simulated network), ``network_args``, ``pin_seconds``."""
        secret = secrets.token_urlsafe(32)
        path = os.pathsep.join(filter(None, [str(_APP_ROOT), os.environ.get("PYTHONPATH")]))
        process = subprocess.Popen(
            [sys.executable, "-m", "app.raster.egress_proxy"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        )
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(json.dumps({"secret": secret, **config}).encode() + b"\n")
            process.stdin.flush()
            ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT)
            line = process.stdout.readline() if ready else b""
        except OSError:
            line = b""
        process.stdout.close()
        if not line.strip().isdigit():
            _end(process)
            raise EgressUnavailable("the egress proxy did not start")
        return cls(process, int(line), secret)

    def alive(self) -> bool:
        """Whether the child is still running."""
        return self.process.poll() is None

    def stop(self) -> None:
        """Stop the child (only its owner may; a forked copy of this object does nothing)."""
        if self.owner == os.getpid():
            _end(self.process)

    def credentials(self, policy: EgressPolicy) -> tuple[str, str]:
        """(user, password) for this proxy under ``policy``."""
        return policy.token(), self.secret

    def gdal_path(self, url: str, policy: EgressPolicy) -> str:
        """A ``/vsicurl?`` path that reads ``url`` through this proxy under ``policy``."""
        return _vsicurl(url, self.url, f"{policy.token()}:{self.secret}")

    def httpx_proxy(self, policy: EgressPolicy) -> httpx.Proxy:
        """The httpx proxy setting that sends requests through this proxy under ``policy``."""
        return httpx.Proxy(self.url, auth=self.credentials(policy))


def _end(process: subprocess.Popen[bytes]) -> None:
    """Close the child's stdin (it exits), wait a little, kill it if it lingers."""
    if process.stdin is not None and not process.stdin.closed:
        with contextlib.suppress(OSError):
            process.stdin.close()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


_lock = threading.Lock()
_shared: EgressProxy | None = None
_atexit_registered = False
_inherited: list[EgressProxy] = []


def current() -> EgressProxy:
    """This process's proxy, started on first use (and again if it died, or after a fork)."""
    global _shared, _atexit_registered
    proxy = _shared
    if proxy is not None and proxy.owner == os.getpid() and proxy.alive():
        return proxy
    with _lock:
        proxy = _shared
        if proxy is None or proxy.owner != os.getpid() or not proxy.alive():
            if proxy is not None and proxy.owner == os.getpid():
                proxy.stop()  # reap the dead one
            proxy = _shared = EgressProxy.start()
            if not _atexit_registered:
                atexit.register(_stop_shared)
                _atexit_registered = True
        return proxy


def _stop_shared() -> None:
    if _shared is not None:
        _shared.stop()


def _after_fork_in_child() -> None:
    """A forked child starts its own proxy when it needs one: it lets go of the parent's (closing
    its copy of the pipe, so the parent's proxy still sees its owner leave) and of a lock another
    thread may have held at the fork."""
    global _lock, _shared
    _lock = threading.Lock()
    inherited, _shared = _shared, None
    if inherited is not None and inherited.process.stdin is not None:
        with contextlib.suppress(OSError):
            inherited.process.stdin.close()
        _inherited.append(inherited)  # never collected: it is not this process's child to reap


os.register_at_fork(after_in_child=_after_fork_in_child)


def policy_for(settings: Settings) -> EgressPolicy:
    """The egress policy of the service's settings."""
    return EgressPolicy(tuple(settings.allowed_hosts), settings.http_timeout)


def httpx_proxy(settings: Settings) -> httpx.Proxy:
    """The proxy setting for the service's own httpx clients."""
    return current().httpx_proxy(policy_for(settings))


def guarded_path(url: str, settings: Settings) -> str:
    """The guarded path of a remote raster (see the module docstring)."""
    return f"{GUARDED_PREFIX}{policy_for(settings).token()}:{url}"


def is_guarded(path: str) -> bool:
    """Whether ``path`` is a guarded path."""
    return path.startswith(GUARDED_PREFIX)


def remote_url(path: str) -> str | None:
    """The URL a guarded or ``/vsicurl/`` path reads, None for anything else."""
    if is_guarded(path):
        return _split_guarded(path)[1]
    if path.startswith("/vsicurl/"):
        return path.removeprefix("/vsicurl/")
    return None


def gdal_path(path: str) -> str:
    """What GDAL should open for ``path``: a guarded path read through this process's proxy; any
    other path as it is."""
    if not is_guarded(path):
        return path
    _close_bypasses()
    proxy = current()
    return _gdal_path(path, proxy.url, proxy.secret)


@functools.lru_cache(maxsize=256)
def _gdal_path(path: str, proxy_url: str, secret: str) -> str:
    token, url = _split_guarded(path)
    return _vsicurl(url, proxy_url, f"{token}:{secret}")


def _vsicurl(url: str, proxy_url: str, credentials: str) -> str:
    """GDAL's ``/vsicurl?`` syntax: every value URL-encoded, ``url`` last."""
    options = {"proxy": proxy_url, "proxyuserpwd": credentials, "url": url}
    return "/vsicurl?" + "&".join(f"{key}={quote(value, safe='')}" for key, value in options.items())


def _split_guarded(path: str) -> tuple[str, str]:
    token, separator, url = path.removeprefix(GUARDED_PREFIX).partition(":")
    if not separator or not url:
        raise ValueError("malformed guarded path")
    return token, url


def diagnose(path: str) -> str | None:
    """Why a guarded path cannot be read, if a one-byte read through the proxy says so; else None.

    GDAL reports an HTTP error on a data read no better than "not recognized as a supported file
    format" (libcurl leaves its error buffer empty), which would blame the file for a refusal of
    the guard. Called on such failures only: one ranged GET, redirects followed (each one through
    the proxy, so checked like GDAL's), under the path's own policy.
    """
    if not is_guarded(path):
        return None
    token, url = _split_guarded(path)
    policy = EgressPolicy.from_token(token)
    client = httpx.Client(
        timeout=policy.timeout,
        trust_env=False,
        follow_redirects=True,
        max_redirects=5,
        proxy=current().httpx_proxy(policy),
    )
    try:
        with client, client.stream("GET", url, headers={"Range": "bytes=0-0"}) as response:
            return _failure(response)
    except httpx.TimeoutException:
        return "the reference timed out"
    except httpx.ProxyError as exc:
        return f"refused by the egress guard ({exc})"
    except httpx.HTTPError:
        return "the reference could not be fetched"


def _failure(response: httpx.Response) -> str | None:
    detail = response.headers.get(GUARD_HEADER)
    if detail is not None:
        return f"refused by the egress guard: {detail}" if response.status_code == 403 else detail
    if response.status_code >= 400:
        return f"the reference answered HTTP {response.status_code}"
    return None


def _close_bypasses() -> None:
    """Take out what would let GDAL's libcurl around the proxy (see the module docstring)."""
    from rasterio._env import del_gdal_config, get_gdal_config

    if not any(key in os.environ for key in _BYPASSES) and get_gdal_config("GDAL_HTTPS_PROXY") is None:
        return
    with _lock:
        for key in _BYPASSES:
            if os.environ.pop(key, None) is not None:
                log.warning("%s removed from the environment: inputs connect through the egress guard", key)
        if get_gdal_config("GDAL_HTTPS_PROXY") is not None:
            log.warning("GDAL_HTTPS_PROXY unset: input connections go through the egress guard")
            del_gdal_config("GDAL_HTTPS_PROXY")
