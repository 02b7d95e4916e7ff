"""ASGI middleware for tests: validates every XML response body against the bundled OGC XSDs.

Wrapped around the app in the test client and the live server, so that no XML response a test
(or OWSLib) receives escapes validation. Failures are collected and asserted at fixture teardown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.wps_xml.schemas import SchemaValidationError, validate

Scope = dict[str, Any]
Message = dict[str, Any]


@dataclass
class XsdChecker:
    """Wraps an ASGI app; records (path, error) for every XML response that fails validation."""

    app: Any
    failures: list[str] = field(default_factory=list)
    validated: int = 0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = {"xml": False, "body": bytearray()}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                content_type = headers.get(b"content-type", b"").decode().lower()
                # the service's XML documents; an SVG image (the favicon) is no OGC document
                state["xml"] = "xml" in content_type and not content_type.startswith("image/")
            elif message["type"] == "http.response.body" and state["xml"]:
                state["body"].extend(message.get("body", b""))
                if not message.get("more_body", False):
                    self._check(scope.get("path", ""), bytes(state["body"]))
            await send(message)

        await self.app(scope, receive, capture)

    def _check(self, path: str, body: bytes) -> None:
        try:
            validate(body)
        except SchemaValidationError as exc:
            self.failures.append(f"{path}: {exc}")
        self.validated += 1
