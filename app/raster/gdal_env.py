"""GDAL configuration for remote (``/vsicurl/``) reads, applied once per process.

Why environment variables and not ``rasterio.Env``: GDAL reads its configuration options from
thread-local options, then global options, then the process environment. ``rasterio.Env`` entered in
the main thread sets *global* options, but entered in any other thread (a job runner, a request
handler) it sets *thread-local* ones, which the dask worker threads that actually read the pixels
never see; and leaving an Env unsets what it set. Environment variables are seen by every thread,
by every rasterio dataset and survive any Env: so the defaults below go into ``os.environ``, once,
without overriding anything the operator set (``GDAL_CACHEMAX``, ``GDAL_NUM_THREADS``, ...).

Call :func:`configure_gdal` at service start-up, before worker threads exist (``setenv`` is not
thread-safe against concurrent ``getenv`` in C). :func:`app.raster.fetch.resolve_reference` also
calls it, so a forgotten start-up call degrades to "configured on first reference", never to
"unconfigured". Workers of a dask.distributed cluster need the same variables in their environment.
"""

from __future__ import annotations

import ctypes
import functools
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path

from app.settings import Settings

_lock = threading.Lock()
_applied: dict[str, str] | None = None


def gdal_defaults(settings: Settings) -> dict[str, str]:
    """The GDAL options the service wants for remote reads, before operator overrides."""
    timeout = str(max(1, math.ceil(settings.http_timeout)))
    return {
        # A COG by URL is one file: never list its "directory" nor probe sidecar files.
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        # Fewer, larger range requests; HTTP/2 multiplexing where the server offers it.
        "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
        "GDAL_HTTP_MULTIPLEX": "YES",
        # Per-file block cache of /vsi reads (headers, tile index) across the dataset's reads.
        "VSI_CACHE": "TRUE",
        "GDAL_HTTP_TIMEOUT": timeout,
        "GDAL_HTTP_CONNECTTIMEOUT": timeout,
        "GDAL_HTTP_MAX_RETRY": "2",
        "GDAL_HTTP_RETRY_DELAY": "0.5",
    }


def configure_gdal(settings: Settings) -> dict[str, str]:
    """Put the defaults into ``os.environ`` (first call wins; operator values kept).

    Returns the options this process runs with (the defaults merged with operator values).
    """
    global _applied
    with _lock:
        if _applied is None:
            for key, value in gdal_defaults(settings).items():
                os.environ.setdefault(key, value)
            _applied = {key: os.environ[key] for key in gdal_defaults(settings)}
        return dict(_applied)


def forget_remote_file(vsi_path: str) -> bool:
    """Drop what GDAL cached about a ``/vsicurl/`` file (size, header, blocks) in this process.

    GDAL keeps that cache process-wide, keyed by URL, for the life of the process: a file changed
    on its server between two jobs would otherwise be read with the old size and header, failing
    or mixing old and new bytes. Called once per job and reference, before the first open.
    Returns False where GDAL's library cannot be reached (the cache then stays as it is).
    """
    clear = _partial_clear_cache()
    if clear is None:
        return False
    clear(vsi_path.encode())
    return True


@functools.cache
def _partial_clear_cache() -> Callable[[bytes], None] | None:
    """``VSICurlPartialClearCache`` of the libgdal rasterio loaded (other packages, e.g. pyogrio,
    may map their own copy of GDAL into the process: that one's cache is not rasterio's)."""
    path = _rasterio_libgdal()
    if path is None:
        return None
    try:
        function = ctypes.CDLL(path).VSICurlPartialClearCache
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_char_p]
    function.restype = None
    return function


def _rasterio_libgdal() -> str | None:
    """The path of the libgdal rasterio uses, among those mapped into this process."""
    import rasterio

    try:
        lines = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return None
    mapped = {line.split()[-1] for line in lines if "/libgdal" in line}
    bundled = str(Path(rasterio.__file__).resolve().parent.parent / "rasterio.libs")
    ours = sorted(path for path in mapped if path.startswith(bundled))
    if ours:
        return ours[0]
    return mapped.pop() if len(mapped) == 1 else None  # a system GDAL; ambiguous: give up
