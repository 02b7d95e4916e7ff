"""Which URLs name this service: a nested process or a chained WPS Execute must be one of its own.

"This service" is a relative URL, or an absolute URL whose scheme, host (case-insensitive), port
and path start are those of ``WPS_PUBLIC_URL``. Anything else is another server, even when it is
another name for the same machine: the service never calls itself, nor anyone else, to run a
nested process.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def own_path(url: str, public_url: str) -> str | None:
    """The path of ``url`` below this service's root (``/processes/ndvi``), or None if it is not ours.

    A relative URL (``processes/ndvi``, ``/wps``, ``../wps``) is this service's; its path is read
    as relative to the root.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # not a URL urlsplit can read (e.g. an unclosed IPv6 bracket): nobody's
        return None
    if not parts.scheme and not parts.netloc:
        path = "/" + parts.path.lstrip("./")
        return path if ".." not in path.split("/") else None
    root = urlsplit(public_url)
    if parts.scheme.lower() != root.scheme.lower() or _host_port(parts) != _host_port(root):
        return None
    base = root.path.rstrip("/")
    if parts.path != base and not parts.path.startswith(base + "/"):
        return None
    return parts.path[len(base) :] or "/"


def _host_port(parts: SplitResult) -> tuple[str, int | None]:
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:  # a port that is not a number
        return ("", -1)
    return ((parts.hostname or "").lower(), port)
