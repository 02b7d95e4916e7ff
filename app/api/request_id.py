"""``X-Request-ID``: every request gets an id, every answer carries it, every log line of it names it.

The client's ``X-Request-ID`` is kept when sane (1-128 of ``[A-Za-z0-9._-]``, e.g. a proxy's id),
otherwise a new one is made. The middleware is the outermost one: error answers and CORS
preflights carry the header too. It logs nothing itself: uvicorn's access line, logged while the
response starts and so inside this request's context, carries the id (see ``app.logs``).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logs import accepted_request_id, reset_request_id, set_request_id

HEADER = b"x-request-id"


class RequestIdMiddleware:
    """Sets the request id for the request's context and adds it to the answer (plain ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request under its id; the id goes out as the answer's ``X-Request-ID``."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accepted_request_id(_given(scope))
        value = request_id.encode("ascii")

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, value)]}
            await send(message)

        token = set_request_id(request_id)
        try:
            await self.app(scope, receive, sending)
        finally:
            reset_request_id(token)


def _given(scope: Scope) -> str | None:
    """The first ``X-Request-ID`` of the request, if any (undecodable = none)."""
    for name, value in scope.get("headers", ()):
        if name.lower() == HEADER:
            try:
                return str(value.decode("ascii"))
            except UnicodeDecodeError:
                return None
    return None
