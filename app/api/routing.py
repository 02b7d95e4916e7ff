"""The route class of every endpoint: bodies read under the size cap, foreign failures translated.

A request body is read before FastAPI parses it, and never beyond ``WPS_MAX_REQUEST_BYTES``
(FileSizeExceeded as soon as the declared or streamed size is over it). Anything an endpoint
raises that is not already a service error or an HTTP error is logged and becomes
NoApplicableCode here, so that the one error handler renders it in the face's own format.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from app.api.body import read_capped_body
from app.api.errors import internal_error
from app.model.errors import InvalidParameterValue, WpsError

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class ServiceRoute(APIRoute):
    """An endpoint of the service (see the module docstring)."""

    def get_route_handler(self) -> Handler:
        """FastAPI's handler, with the body cap in front and the translation of failures behind."""
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            if self.body_field is not None:
                limit = request.app.state.settings.max_request_bytes
                request._body = await read_capped_body(request, limit)  # FastAPI reads it from here
            try:
                return await handler(request)
            except HTTPException as exc:
                if isinstance(exc.__cause__, RecursionError):  # JSON nested past the parser's depth
                    raise InvalidParameterValue(
                        "the request body is nested too deeply to be read (processes nest at most "
                        f"{request.app.state.settings.max_nesting} deep: WPS_MAX_NESTING)"
                    ) from None
                raise
            except (WpsError, RequestValidationError):
                raise
            except Exception as exc:  # a client must never see a stack trace or an HTML page
                raise internal_error(exc) from exc

        return guarded


class ResourceRoute(ServiceRoute):
    """An endpoint addressing a resource by its URL: what the URL names and is not there is a 404."""

    def get_route_handler(self) -> Handler:
        """The service route's handler, marking the request as addressing a resource."""
        handler = super().get_route_handler()

        async def addressed(request: Request) -> Response:
            request.state.resource = True
            return await handler(request)

        return addressed
