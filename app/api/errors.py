"""The one place errors become HTTP responses: each rendered by the codec of the face it reached.

Whatever fails, wherever: a service error (``WpsError``), a failure of HTTP itself (no such path
or method), a request FastAPI could not validate, or an unexpected fault, is translated once into
a ``WpsError`` and encoded by the codec the route chose for the request (``request.state.codec``;
problem+json where no route was reached). Unexpected faults are logged with a request id; the
client sees only the id. A bad request never yields a 500 or an HTML page.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import replace
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from app.api.replies import send
from app.logs import current_request_id
from app.model.codec import Codec
from app.model.errors import HttpError, InvalidParameterValue, NoApplicableCode, WpsError

log = logging.getLogger(__name__)


def install_error_handler(app: FastAPI, default: Codec[Any]) -> None:
    """Render every error with its face's codec; ``default`` where no route chose one."""

    async def render(request: Request, exc: Exception) -> Response:
        error = as_service_error(exc)
        codec: Codec[Any] = getattr(request.state, "codec", default)
        status = error.status(resource=getattr(request.state, "resource", False))
        reply = codec.exception(error, status, request.url.path)
        return send(replace(reply, headers={**reply.headers, **error.headers}))

    for kind in (WpsError, HTTPException, RequestValidationError, Exception):
        app.add_exception_handler(kind, render)


def as_service_error(exc: BaseException) -> WpsError:
    """Any exception as the service error a client may see."""
    if isinstance(exc, WpsError):
        return exc
    if isinstance(exc, HTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return HttpError(detail, status=exc.status_code, headers=dict(exc.headers or {}))
    if isinstance(exc, RequestValidationError):
        return invalid_request(exc)
    return internal_error(exc)


def internal_error(exc: BaseException) -> NoApplicableCode:
    """Log an unexpected fault with a request id; the client sees only the id (its X-Request-ID)."""
    request_id = current_request_id() or uuid.uuid4().hex[:12]
    log.error("internal error, request id %s", request_id, exc_info=exc)
    return NoApplicableCode(f"internal error; request id {request_id}")


def invalid_request(exc: RequestValidationError) -> InvalidParameterValue:
    """What FastAPI refused, naming the first parameter or body member at fault."""
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    where, locator = _describe_location(tuple(first.get("loc", ())))
    return InvalidParameterValue(f"{where}: {first.get('msg', 'invalid value')}", locator=locator)


def _describe_location(loc: Sequence[Any]) -> tuple[str, str | None]:
    if not loc:
        return "request", None
    names = [str(part) for part in loc[1:]]
    if loc[0] == "body":
        if len(names) >= 2 and names[0] in {"inputs", "outputs"}:
            return f"{names[0][:-1]} {names[1]!r}", names[1]
        return f"body member {'.'.join(names) or '(root)'}", names[-1] if names else None
    kind = {"query": "query parameter", "path": "path parameter", "header": "header"}.get(str(loc[0]), "")
    name = names[0] if names else None
    return f"{kind} {name!r}".strip(), name
