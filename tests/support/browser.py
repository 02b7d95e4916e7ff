"""Headless Chromium for tests of the pages the service serves: Debian's chromium, driven by Playwright.

The tests never download a browser (no ``playwright install``): they launch the ``chromium`` of
the machine (Debian's package; ``.ci/run`` installs it) through Playwright's sync API. Without it
:func:`launch_chromium` raises :class:`ChromiumMissing`, which the fixtures turn into a failure
that says what to install: never a skip.

Each test gets a fresh context and page, watched by :func:`watched_page`:

- every request the page makes (documents, scripts, images, fetches, web sockets) is recorded;
- a request to any host but ``127.0.0.1`` is aborted before it leaves the machine, and recorded as
  ``blocked``: a test sees that the page tried, and nothing reached the internet;
- console errors and uncaught page errors are collected.

One blind spot, Playwright's own: while requests are routed it aborts every request whose URL ends
in ``/favicon.ico`` and reports none of them. Such a request never leaves the machine, but it is
not recorded either; to load the service's icon in a test, add a query (``/favicon.ico?x``).

Usage, with the fixtures of ``tests/browser/conftest.py``::

    def test_page(watched: PageWatch, service_url: str) -> None:
        watched.page.goto(f"{service_url}/docs")
        ...
        watched.screenshot("docs")          # kept in test-artifacts/ (or $WPS_TEST_ARTIFACTS)
        watched.assert_stayed_local()
        watched.assert_no_errors()
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Playwright, Route, WebSocketRoute

ROOT = Path(__file__).resolve().parents[2]
LOCAL_HOSTS = frozenset({"127.0.0.1"})
CHROMIUM_NAMES = ("chromium", "chromium-browser")
ARTIFACTS_ENV = "WPS_TEST_ARTIFACTS"


class ChromiumMissing(RuntimeError):
    """No chromium executable on PATH (the browser tests need Debian's, never a downloaded one)."""


def chromium_executable() -> str:
    """The path of the machine's chromium (``chromium`` or ``chromium-browser`` on PATH)."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise ChromiumMissing(
        "CHROMIUM NOT FOUND: the browser tests drive Debian's chromium (neither "
        f"{' nor '.join(CHROMIUM_NAMES)} is on PATH). Install it with `apt-get install chromium` "
        "(.ci/run does); never `playwright install`."
    )


def launch_chromium(playwright: Playwright) -> Browser:
    """Headless chromium from the machine. No sandbox: the tests run as root and load only pages
    of the service under test."""
    return playwright.chromium.launch(
        executable_path=chromium_executable(), headless=True, chromium_sandbox=False
    )


def artifacts_dir() -> Path:
    """Where tests keep screenshots: ``$WPS_TEST_ARTIFACTS``, else ``test-artifacts/`` at the repo
    root (git-ignored). Created on demand."""
    directory = Path(os.environ.get(ARTIFACTS_ENV) or ROOT / "test-artifacts")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def save_screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save a PNG of ``page`` as ``<artifacts>/<name>.png`` (name made file-safe); returns its path."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "screenshot"
    path = artifacts_dir() / f"{safe.removesuffix('.png')}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def is_local(url: str, hosts: Iterable[str] = LOCAL_HOSTS) -> bool:
    """True when ``url`` names one of ``hosts`` (``data:``, ``blob:`` and the like name none)."""
    return urlsplit(url).hostname in frozenset(hosts)


@dataclass
class PageWatch:
    """A page and what it did: its requests (in order), the ones blocked, its errors."""

    page: Page
    allowed_hosts: frozenset[str] = LOCAL_HOSTS
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def local_paths(self) -> list[str]:
        """The paths (with query) of the requests that went to allowed hosts, in order."""
        paths = []
        for url in self.requests:
            if is_local(url, self.allowed_hosts):
                parts = urlsplit(url)
                paths.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        return paths

    def assert_stayed_local(self) -> None:
        """Fail if the page tried to reach any host but the allowed ones (such requests were aborted)."""
        assert not self.blocked, (
            f"the page tried to reach other hosts than {sorted(self.allowed_hosts)} (aborted): {self.blocked}"
        )

    def assert_no_errors(self) -> None:
        """Fail on any console error (failed loads included) or uncaught exception of the page."""
        errors = [f"console: {text}" for text in self.console_errors]
        errors += [f"page error: {text}" for text in self.page_errors]
        assert not errors, "the page reported errors:\n" + "\n".join(errors)

    def screenshot(self, name: str, *, full_page: bool = False) -> Path:
        """:func:`save_screenshot` of this page."""
        return save_screenshot(self.page, name, full_page=full_page)

    def _route(self, route: Route) -> None:
        url = route.request.url
        self.requests.append(url)
        if is_local(url, self.allowed_hosts):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")

    def _route_web_socket(self, socket: WebSocketRoute) -> None:
        self.requests.append(socket.url)
        if is_local(socket.url, self.allowed_hosts):
            socket.connect_to_server()
        else:
            self.blocked.append(socket.url)
            socket.close(code=1008, reason="blocked by the test: not a local host")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location
            self.console_errors.append(f"{message.text} ({where.get('url')}:{where.get('lineNumber')})")

    def _page_error(self, error: Error) -> None:
        self.page_errors.append(error.stack or error.message)


@contextmanager
def watched_page(browser: Browser, allowed_hosts: Iterable[str] = LOCAL_HOSTS) -> Iterator[PageWatch]:
    """A page in a fresh context whose traffic and errors are recorded, and whose requests to any
    host but ``allowed_hosts`` are aborted; the context is closed on exit.

    Service workers are blocked, so that every request of the page passes the recording route.
    """
    context = browser.new_context(service_workers="block")
    try:
        page = context.new_page()
        watch = PageWatch(page, frozenset(allowed_hosts))
        context.route("**/*", watch._route)
        context.route_web_socket(re.compile(".*"), watch._route_web_socket)
        page.on("console", watch._console)
        page.on("pageerror", watch._page_error)
        yield watch
    finally:
        context.close()
