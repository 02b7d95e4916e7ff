"""A small file of users, parsed once and parsed again when it changes on disk.

Operators add or revoke users by editing the file; the service notices without a restart. The file
is stat'ed at most once per ``interval`` seconds, so a busy service pays one ``stat`` every few
seconds, not one per request. A file that disappears after startup reads as empty: nobody is let in
(fail closed) until it is back.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from app.auth.errors import AuthConfigError

log = logging.getLogger(__name__)

T = TypeVar("T")
_Signature = tuple[int, int, int, int]  # mtime_ns, size, inode, device


class WatchedFile(Generic[T]):
    """The parsed content of ``path``, reloaded when its mtime, size or inode change. Thread-safe.

    ``generation`` grows by one at each reload, so caches keyed on it go stale by themselves.
    """

    def __init__(
        self,
        path: Path,
        parse: Callable[[str, str], T],
        *,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._parse = parse
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._signature = _stat(path)
        text = _text(path) if self._signature is not None else None
        if text is None:
            raise AuthConfigError(f"cannot read the file of users {path}")
        self._content = parse(text, str(path))
        self._checked = clock()
        self.generation = 0

    def current(self) -> tuple[T, int]:
        """The parsed content and its generation, reloading first if the file changed."""
        with self._lock:
            now = self._clock()
            if now - self._checked >= self._interval:
                self._checked = now
                self._reload_if_changed()
            return self._content, self.generation

    def _reload_if_changed(self) -> None:
        signature = _stat(self.path)
        if signature == self._signature:
            return
        self._signature = signature
        if signature is None:
            log.warning("auth: %s is gone; nobody it listed is let in", self.path)
            self._content = self._parse("", str(self.path))
        else:
            log.info("auth: %s changed; reloading it", self.path)
            self._content = self._read()
        self.generation += 1

    def _read(self) -> T:
        # stat before read: a write that lands during the read changes the signature, so the next
        # check reads the file again
        text = _text(self.path)
        if text is None:
            log.warning("auth: cannot read %s; nobody it listed is let in", self.path)
        return self._parse(text or "", str(self.path))


def _text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None


def _stat(path: Path) -> _Signature | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino, stat.st_dev)
