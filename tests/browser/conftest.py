"""Browser fixtures: one headless chromium per test process, a fresh watched page per test.

``browser`` is session-scoped, so each xdist worker launches chromium once, on the first test that
needs it. ``watched`` is a :class:`tests.support.browser.PageWatch` (page, requests, blocked
requests, errors) in a context of its own; when the test fails, a screenshot of the page is kept as
``FAILED-<test>.png`` among the test artefacts. See ``tests/support/browser.py``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.browser import (
    ChromiumMissing,
    PageWatch,
    chromium_executable,
    launch_chromium,
    watched_page,
)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, for the whole test process; a clear failure where it is missing."""
    try:
        chromium_executable()
    except ChromiumMissing as exc:
        missing = str(exc)
    else:
        missing = ""
    if missing:  # outside the except block: the message alone, without a chained traceback
        pytest.fail(missing, pytrace=False)
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def watched(browser: Browser, request: pytest.FixtureRequest) -> Iterator[PageWatch]:
    """A fresh page whose traffic stays on 127.0.0.1 (other hosts aborted, and recorded)."""
    with watched_page(browser) as watch:
        yield watch
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            watch.screenshot(f"FAILED-{request.node.name}", full_page=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember the outcome of each test's call phase, for the failure screenshot of ``watched``."""
    report = yield
    if report.when == "call":
        item.report_call = report  # type: ignore[attr-defined]
    return report
