"""The app served over real HTTP by uvicorn in a thread, for clients that need a socket (OWSLib, ...).

The ``live_server`` fixtures of the conftest files wrap the app in the schema checkers and serve it here.
"""

from __future__ import annotations

import threading
import time

import uvicorn

from tests.support.json_check import JsonChecker
from tests.support.xsd_check import XsdChecker


class LiveServer:
    """The XSD-checked app served by uvicorn in a thread, for clients that need real HTTP."""

    def __init__(self, checker: XsdChecker | JsonChecker, port: int) -> None:
        config = uvicorn.Config(checker, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("live server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
