"""Errors on the JSON face: RFC 7807 ``application/problem+json`` with OGC exception type URIs.

The exception type is the WPS 2.0 exception code in kebab case under the OGC API - Processes 1.0
namespace, which gives exactly the standard's ``no-such-process``, ``no-such-job`` and
``result-not-ready`` and the same spelling for the others (``invalid-parameter-value``,
``no-such-input``, ``missing-parameter-value``, ...). ``code`` and ``locator`` members carry the WPS
code and the input or parameter at fault. Failures of HTTP itself (no such path, method or media
type) have no OGC type: ``about:blank``.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from app.model.errors import HttpError, Unauthenticated, WpsError
from app.model.replies import Reply
from app.ogcapi.replies import json_reply

OGC_EXCEPTIONS = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
PROBLEM_MEDIA_TYPE = "application/problem+json"


def exception_type(code: str) -> str:
    """The exception type URI of a WPS 2.0 exception code (``NoSuchJob`` -> ``.../no-such-job``)."""
    return OGC_EXCEPTIONS + re.sub(r"(?<!^)(?=[A-Z])", "-", code).lower()


def problem(status: int, type_: str, detail: str, instance: str | None = None, **extra: Any) -> Reply:
    """A problem+json reply."""
    body: dict[str, Any] = {"type": type_, "title": HTTPStatus(status).phrase, "status": status}
    body |= {"detail": detail, "instance": instance, **extra}
    content = {key: value for key, value in body.items() if value is not None}
    return json_reply(content, status, media_type=PROBLEM_MEDIA_TYPE)


def error_problem(error: WpsError, status: int, instance: str | None = None) -> Reply:
    """The problem document of an error."""
    if isinstance(error, HttpError | Unauthenticated):
        return problem(status, "about:blank", error.message, instance)
    code = error.code_for("2.0.0")
    locator = error.locator_for("2.0.0")
    return problem(status, exception_type(code), error.message, instance, code=code, locator=locator)
