"""Errors on the JSON face: RFC 7807 ``application/problem+json`` with OGC exception type URIs.

The exception type is the WPS 2.0 exception code in kebab case under the OGC API - Processes 1.0
namespace, which gives exactly the standard's ``no-such-process``, ``no-such-job`` and
``result-not-ready`` and the same spelling for the others (``invalid-parameter-value``,
``no-such-input``, ``missing-parameter-value``, ...). ``code`` and ``locator`` members carry the WPS
code and the input or parameter at fault. Unknown resources (those three) answer 404; the others keep
the HTTP status of the error class. Request validation failures are 400, never FastAPI's 422.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from app.api.body import read_capped_body
from app.api.errors import internal_error
from app.model.errors import WpsError

OGC_EXCEPTIONS = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
NOT_FOUND_CODES = frozenset({"NoSuchProcess", "NoSuchJob", "ResultNotReady"})
INVALID_PARAMETER = OGC_EXCEPTIONS + "invalid-parameter-value"


def exception_type(code: str) -> str:
    """The exception type URI of a WPS 2.0 exception code (``NoSuchJob`` -> ``.../no-such-job``)."""
    return OGC_EXCEPTIONS + re.sub(r"(?<!^)(?=[A-Z])", "-", code).lower()


def problem(status: int, type_: str, detail: str, instance: str | None = None, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {"type": type_, "title": HTTPStatus(status).phrase, "status": status}
    body |= {"detail": detail, "instance": instance, **extra}
    content = {key: value for key, value in body.items() if value is not None}
    return JSONResponse(content, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


def error_problem(error: WpsError, instance: str | None = None) -> JSONResponse:
    """The problem document of a service error."""
    code = error.code_for("2.0.0")
    status = 404 if code in NOT_FOUND_CODES else error.http_status
    return problem(status, exception_type(code), error.message, instance, code=code, locator=error.locator)


def validation_problem(exc: RequestValidationError, instance: str | None = None) -> JSONResponse:
    """400 naming the first parameter or body member FastAPI refused."""
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    where, locator = _describe_location(tuple(first.get("loc", ())))
    detail = f"{where}: {first.get('msg', 'invalid value')}"
    return problem(400, INVALID_PARAMETER, detail, instance, code="InvalidParameterValue", locator=locator)


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


def http_problem(exc: HTTPException, instance: str | None = None) -> Response:
    """A plain HTTP error (unknown path, wrong method, not acceptable) as a problem document."""
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    response = problem(exc.status_code, "about:blank", detail, instance)
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class ProblemRoute(APIRoute):
    """A route whose every failure is a problem document, and whose body is read under the size cap."""

    def get_route_handler(self) -> Handler:
        """Wrap FastAPI's handler."""
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            instance = request.url.path
            try:
                if request.method in {"POST", "PUT", "PATCH"}:
                    limit = request.app.state.settings.max_request_bytes
                    request._body = await read_capped_body(request, limit)  # FastAPI reads it from here
                return await handler(request)
            except WpsError as error:
                return error_problem(error, instance)
            except RequestValidationError as exc:
                return validation_problem(exc, instance)
            except HTTPException as exc:
                return http_problem(exc, instance)
            except Exception as exc:  # a client must never see a stack trace or an HTML page
                return error_problem(internal_error(exc), instance)

        return guarded


def install_problem_handlers(app: FastAPI) -> None:
    """Unknown paths, wrong methods and request validation anywhere answer problem documents too."""

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return http_problem(exc, request.url.path)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return validation_problem(exc, request.url.path)

    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error statuses, all problem+json."""
    schema = {"$ref": "#/components/schemas/Exception"}
    return {
        status: {
            "description": _ERROR_DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}},
        }
        for status in statuses
    }


_ERROR_DESCRIPTIONS = {
    400: "Invalid request: a parameter or input the service cannot accept (it is named)",
    404: "No such process or job, or the job's results are not ready",
    406: "The requested format is not offered (only JSON is)",
    413: "The request body is larger than the configured cap",
    500: "Internal error (with a request id to quote)",
    503: "The job queue is full; retry later",
}
