"""Structured logs: JSON lines (or text) on stdout, optionally a rotated file, no secrets.

Every line carries its time (ISO 8601, UTC), level, logger and message, the id of the HTTP request
it was logged for (``X-Request-ID``, set per request by ``app.api.request_id``) and any extra
fields the caller gave (``log.info("job finished", extra={"job_id": ..., "process_id": ...})``).
uvicorn's own loggers are routed through the same handlers, so its access lines are JSON too and
carry the request id (uvicorn logs them while the response starts, inside the request's context).

Secrets never reach a handler: a filter on every handler rewrites the message, string extras and
tracebacks, redacting signed-URL query strings (``X-Amz-Signature``, ``sig``, ``token`` ...),
passwords in URLs, and the values of ``Authorization``, ``X-API-Key`` and ``Cookie`` headers.

Imports only the standard library and ``app.settings``: every package may log through it.
"""

from __future__ import annotations

import bisect
import json
import logging
import logging.handlers
import re
import sys
import time
import uuid
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from app.settings import Settings

LOG_BACKUPS = 5  # rotated files kept next to WPS_LOG_FILE (.1 ... .5)
HANDLER_PREFIX = "wps-logs:"  # names of the handlers configure_logging installs (and replaces)
REDACTED = "REDACTED"

# --- the request a line is logged for


@dataclass(frozen=True)
class _Request:
    id: str
    started: float  # time.perf_counter() when the request arrived


_REQUEST: ContextVar[_Request | None] = ContextVar("wps_request", default=None)
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def new_request_id() -> str:
    """A fresh request id (32 hex digits)."""
    return uuid.uuid4().hex


def accepted_request_id(given: str | None) -> str:
    """The client's ``X-Request-ID`` when sane (1-128 of ``[A-Za-z0-9._-]``), otherwise a new one."""
    if given is not None and _SANE_REQUEST_ID.fullmatch(given):
        return given
    return new_request_id()


def set_request_id(request_id: str) -> Token[_Request | None]:
    """Log what follows in this context under ``request_id``; pass the token to ``reset_request_id``."""
    return _REQUEST.set(_Request(request_id, time.perf_counter()))


def reset_request_id(token: Token[_Request | None]) -> None:
    """Back to the request id (or none) of before ``set_request_id``."""
    _REQUEST.reset(token)


def current_request_id() -> str | None:
    """The id of the request being served in this context, if any."""
    request = _REQUEST.get()
    return request.id if request else None


def _request_elapsed() -> float | None:
    request = _REQUEST.get()
    return time.perf_counter() - request.started if request else None


# --- redaction

_SECRET_PARAMS = (
    r"x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|"
    r"signature|sig|token|access_token|id_token|refresh_token|api_key|apikey|api-key|x-api-key|key|"
    r"password|passwd|pwd|secret|client_secret"
)
_SECRET_PARAM_IN_QUERY = re.compile(rf"(?i)(?:[?&;]|%3F|%26|%3B)(?:{_SECRET_PARAMS})(?:=|%3D)")
_URL_TOKEN = re.compile(r"[^\s\"'<>\\]+")  # what a URL in a line can be part of
_SECRET_PARAM = re.compile(
    rf"(?i)(?P<head>(?:^|[?&;\s,(\"']|%3F|%26|%3B|%20)(?:{_SECRET_PARAMS})(?:=|%3D))"
    r"(?P<value>(?:(?!%26|%3B|%20)[^\s&;\"'<>\\])+)"
)
_URL_PASSWORD = re.compile(r"(?i)\b(?P<head>[a-z][a-z0-9+.-]{0,30}://[^\s/@:?#\"'<>\\]*:)[^\s/@?#\"'<>\\]+@")
_SECRET_HEADER = re.compile(
    r"(?i)\b(?P<head>(?:proxy-)?authorization|x-api-key|(?:set-)?cookie)"
    r"(?P<sep>(?:[\"']?\s*[:=]\s*|[\"']\s*,\s*)(?:b?[\"'])?)(?P<value>[^\r\n\"'\\]+)"
)
_SECRET_KEY = re.compile(rf"(?i)(?:proxy-)?authorization|(?:set-)?cookie|{_SECRET_PARAMS}")
_CREDENTIALS = re.compile(r"(?i)\b(?P<scheme>bearer|basic)\s+(?P<token>[A-Za-z0-9._~+/-]+=*)")


def redact(text: str) -> str:
    """``text`` without the secrets a log line could carry (see the module docstring)."""
    text = _URL_TOKEN.sub(_redact_signed_query, text)
    text = _SECRET_PARAM.sub(rf"\g<head>{REDACTED}", text)
    text = _URL_PASSWORD.sub(rf"\g<head>{REDACTED}@", text)
    text = _SECRET_HEADER.sub(rf"\g<head>\g<sep>{REDACTED}", text)
    return _CREDENTIALS.sub(_redact_credentials, text)


def _redact_signed_query(match: re.Match[str]) -> str:
    """A URL (``scheme://...?query``) whose query carries a signature-like parameter loses its
    whole query. In linear time: a log line may be a client's request line of any shape."""
    token = match[0]
    if "://" not in token:
        return token
    secrets = [found.start() for found in _SECRET_PARAM_IN_QUERY.finditer(token)]
    if not secrets:
        return token
    start = 0
    while (scheme := token.find("://", start)) != -1:
        question = token.find("?", scheme)
        if question == -1:
            break
        fragment = token.find("#", scheme)
        if fragment == -1 or fragment > question:  # the "?" starts this URL's query, not a fragment's
            end = token.find("#", question)
            end = len(token) if end == -1 else end
            first = bisect.bisect_left(secrets, question)
            if first < len(secrets) and secrets[first] < end:
                return f"{token[:question]}?{REDACTED}{token[end:]}"
            if end == len(token):  # no secret from here to the end
                break
        start = max(scheme + 3, question if fragment == -1 else fragment)
    return token


def _redact_credentials(match: re.Match[str]) -> str:
    """``Bearer <token>`` and ``Basic <base64>``; prose such as "Basic authentication" stays."""
    token = match["token"]
    if token == REDACTED or len(token) < 8:
        return match[0]
    looks_encoded = any(c in "0123456789+/=._~-" for c in token) or not (token.islower() or token.istitle())
    return f"{match['scheme']} {REDACTED}" if looks_encoded else match[0]


def _scrub(value: Any) -> Any:
    """``value`` with every string in it redacted (dicts, lists and tuples walked)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):  # e.g. headers: the values of secret names go whatever they look like
        return {
            key: REDACTED if isinstance(key, str) and _SECRET_KEY.fullmatch(key) else _scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


# --- records

_STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's coloured copy of the message
}
_KNOWN_FIELDS = ("request_id", "job_id", "process_id")
_ACCESS_LOGGER = "uvicorn.access"


class RedactingFilter(logging.Filter):
    """Redacts every record a handler emits, and tags it with the current request id.

    The message is formatted once here (``args`` dropped), string extras and the traceback are
    redacted; uvicorn's access records also get ``client``, ``method``, ``path``, ``status`` and
    ``duration_s`` (seconds until the response started) as fields of their own.
    """

    _tracebacks = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place; never drops it."""
        if getattr(record, "_wps_redacted", False):  # shared by several handlers: once is enough
            return True
        if record.name == _ACCESS_LOGGER:
            _access_fields(record)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: the handler reports it (handleError), unredacted args dropped
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD_ATTRIBUTES and not name.startswith("_"):
                setattr(record, name, REDACTED if _SECRET_KEY.fullmatch(name) else _scrub(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = self._tracebacks.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        record._wps_redacted = True
        return True


def _access_fields(record: logging.LogRecord) -> None:
    """uvicorn's access record: ``'%s - "%s %s HTTP/%s" %d'`` of client, method, path, version, status."""
    args = record.args
    if isinstance(args, tuple) and len(args) == 5:
        client, method, path, _version, status = args
        record.client, record.method, record.path, record.status = client, method, path, status
        elapsed = _request_elapsed()
        if elapsed is not None:
            record.duration_s = round(elapsed, 4)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The request/job/process ids, then the caller's extra fields (JSON values; others as text)."""
    fields: dict[str, Any] = {}
    for name in _KNOWN_FIELDS:
        value = getattr(record, name, None)
        if name == "request_id" and value is None:
            value = current_request_id()
        if value is not None:
            fields[name] = value
    for name, value in record.__dict__.items():
        if name in _STANDARD_ATTRIBUTES or name in _KNOWN_FIELDS or name.startswith("_"):
            continue
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            value = redact(str(value))
        fields[name] = _scrub(value)
    return fields


def _iso_time(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, job_id, process_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON (newlines escaped), secrets redacted."""
        line: dict[str, Any] = {
            "time": _iso_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        line.update(_fields(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = redact(record.exc_text)
        if record.stack_info:
            line["stack"] = redact(record.stack_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value ...`` for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as text; its traceback, if any, on the following lines."""
        parts = [_iso_time(record), f"{record.levelname:<7}", f"{record.name}:", redact(record.getMessage())]
        for name, value in _fields(record).items():
            shown = value if isinstance(value, str) and value and " " not in value else json.dumps(value)
            parts.append(f"{name}={shown}")
        text = " ".join(parts)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            text += "\n" + redact(record.exc_text)
        if record.stack_info:
            text += "\n" + redact(record.stack_info)
        return text


class _StdoutHandler(logging.StreamHandler[IO[str]]):
    """Writes to whatever ``sys.stdout`` is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> IO[str]:
        return sys.stdout

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        """The stream is always the current ``sys.stdout``."""


def configure_logging(settings: Settings) -> None:
    """Install the service's handlers on the root logger and route uvicorn's loggers through them.

    Idempotent: the handlers a previous call installed are replaced, never duplicated (tests build
    many apps). Handlers installed by others (a test runner's, an embedding program's) are left
    alone. uvicorn's access logger is left off when uvicorn was told ``--no-access-log``.
    """
    formatter: logging.Formatter = JsonFormatter() if settings.log_format == "json" else TextFormatter()
    handlers: list[logging.Handler] = [_StdoutHandler()]
    if settings.log_file is not None:
        settings.log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                settings.log_file, maxBytes=settings.log_max_bytes, backupCount=LOG_BACKUPS, encoding="utf-8"
            )
        )
    root = logging.getLogger()
    for old in [h for h in root.handlers if (h.get_name() or "").startswith(HANDLER_PREFIX)]:
        root.removeHandler(old)
        old.close()
    for index, handler in enumerate(handlers):
        handler.set_name(f"{HANDLER_PREFIX}{index}")
        handler.setFormatter(formatter)
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in ("uvicorn", _ACCESS_LOGGER):
        logger = logging.getLogger(name)
        if name == _ACCESS_LOGGER and not logger.handlers and not logger.propagate:
            continue  # uvicorn --no-access-log
        for own in list(logger.handlers):  # uvicorn's plain-text stderr/stdout handlers
            logger.removeHandler(own)
        logger.propagate = True
