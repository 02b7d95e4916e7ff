"""The single place where errors become HTTP responses: OWS ExceptionReports, never HTML."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import Response

from app.model.errors import NoApplicableCode, WpsError
from app.wps_xml.exceptions import exception_report

log = logging.getLogger(__name__)

XML_MEDIA_TYPE = "text/xml; charset=utf-8"


def wps_error_response(error: WpsError, version: str = "1.0.0") -> Response:
    """An ows:ExceptionReport for the negotiated WPS version, with the error's HTTP status."""
    return Response(
        content=exception_report(error, version),
        status_code=error.http_status,
        media_type=XML_MEDIA_TYPE,
    )


def internal_error(exc: BaseException) -> NoApplicableCode:
    """Log an unexpected fault with a request id; the client sees only the id."""
    request_id = uuid.uuid4().hex[:12]
    log.error("internal error, request id %s", request_id, exc_info=exc)
    return NoApplicableCode(f"internal error; request id {request_id}")


def install_error_handlers(app: FastAPI) -> None:
    """Render WpsError (and anything unexpected) as ExceptionReports."""

    async def on_wps_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WpsError)
        return wps_error_response(exc, getattr(request.state, "wps_version", "1.0.0"))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        return wps_error_response(internal_error(exc), getattr(request.state, "wps_version", "1.0.0"))

    app.add_exception_handler(WpsError, on_wps_error)
    app.add_exception_handler(Exception, on_unexpected)
