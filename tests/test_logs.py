"""app/logs.py: JSON and text lines with request, job and process ids; no secrets; one set of handlers.

Records are logged through real loggers into the handlers ``configure_logging`` installs (stdout,
captured by capsys, and the rotated file), as the service does.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.logs import (
    HANDLER_PREFIX,
    JsonFormatter,
    RedactingFilter,
    accepted_request_id,
    configure_logging,
    current_request_id,
    redact,
    reset_request_id,
    set_request_id,
)
from app.settings import Settings

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
SECRETS = ("abc-signature-123", "sas-sig-456", "tok-789", "hunter2", "dXNlcjpzZWNyZXQ=", "key-secret-0")


@pytest.fixture
def logs(tmp_path: Path) -> Iterator[None]:
    """The test configures logging as it likes; afterwards the service's defaults are back."""
    yield
    configure_logging(Settings(data_dir=tmp_path / "data"))


def configured(tmp_path: Path, **settings: Any) -> None:
    configure_logging(Settings(data_dir=tmp_path / "data", **settings))


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def our_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if (h.get_name() or "").startswith(HANDLER_PREFIX)]


@pytest.mark.usefixtures("logs")
def test_json_lines_carry_time_level_logger_message_and_the_request_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configured(tmp_path)
    log = logging.getLogger("app.test")
    log.info("outside any request")
    token = set_request_id("req-1.A_b")
    try:
        log.warning("within %s", "a request")
    finally:
        reset_request_id(token)
    log.debug("below the default level")
    first, second = json_lines(capsys.readouterr().out)
    assert ISO_UTC.fullmatch(first["time"]) and ISO_UTC.fullmatch(second["time"])
    assert first == {
        "time": first["time"],
        "level": "INFO",
        "logger": "app.test",
        "message": "outside any request",
    }
    assert second["level"] == "WARNING" and second["message"] == "within a request"
    assert second["request_id"] == "req-1.A_b"


@pytest.mark.usefixtures("logs")
def test_job_and_process_ids_and_other_extras_are_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configured(tmp_path)
    extra = {
        "job_id": "0f3c",
        "process_id": "ndvi",
        "duration_s": 1.25,
        "code": "NoApplicableCode",
        "counts": {"chunks": 4},
        "where": Path("/data/outputs"),  # not JSON: written as its text
    }
    logging.getLogger("app.jobs.engine").info("job finished", extra=extra)
    (line,) = json_lines(capsys.readouterr().out)
    assert line["message"] == "job finished"
    assert line["job_id"] == "0f3c" and line["process_id"] == "ndvi"
    assert (
        line["duration_s"] == 1.25 and line["code"] == "NoApplicableCode" and line["counts"] == {"chunks": 4}
    )
    assert line["where"] == "/data/outputs"
    assert list(line)[:6] == ["time", "level", "logger", "message", "job_id", "process_id"]


@pytest.mark.usefixtures("logs")
def test_a_traceback_stays_in_one_json_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configured(tmp_path)
    try:
        raise RuntimeError("failed reading https://bucket.example/x.tif?X-Amz-Signature=abc-signature-123")
    except RuntimeError:
        logging.getLogger("app.test").exception("read failed")
    out = capsys.readouterr().out
    (line,) = json_lines(out)
    assert (
        line["level"] == "ERROR" and "Traceback" in line["exception"] and "RuntimeError" in line["exception"]
    )
    assert "abc-signature-123" not in out


@pytest.mark.usefixtures("logs")
def test_text_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configured(tmp_path, log_format="text")
    token = set_request_id("r-42")
    try:
        logging.getLogger("app.jobs.engine").info("job failed", extra={"job_id": "j1", "process_id": "clip"})
    finally:
        reset_request_id(token)
    (line,) = capsys.readouterr().out.splitlines()
    assert ISO_UTC.match(line)
    assert "INFO" in line and "app.jobs.engine: job failed" in line
    assert "request_id=r-42" in line and "job_id=j1" in line and "process_id=clip" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


@pytest.mark.parametrize(
    "text",
    [
        "GET /wps?request=Execute&DataInputs=red=@href=https://b.example/r.tif?X-Amz-Signature=abc-signature-123 HTTP/1.1",
        "/wps?DataInputs=red%3D%40href%3Dhttps%3A%2F%2Fb%2Fr.tif%3FX-Amz-Signature%3Dabc-signature-123%26a%3D1",
        'xlink:href="https://a.blob.core.windows.net/c/r.tif?sv=2022-11-02&amp;sig=sas-sig-456&amp;sp=r"',
        "https://tiles.example/r.tif?token=tok-789",
        "/jobs?access_token=tok-789&limit=10",
        "cannot connect to postgresql://wps:hunter2@db:5432/wps",
        "headers {'authorization': 'Basic dXNlcjpzZWNyZXQ=', 'x-api-key': 'key-secret-0'}",
        "[(b'authorization', b'Basic dXNlcjpzZWNyZXQ='), (b'x-api-key', b'key-secret-0'), (b'cookie', b'tok-789')]",
        "Authorization: Bearer tok-789.tok-789.tok-789",
        "X-API-Key: key-secret-0",
        "login with password=hunter2",
    ],
)
def test_secrets_are_redacted(text: str) -> None:
    redacted = redact(text)
    assert not any(secret in redacted for secret in SECRETS), redacted
    assert "REDACTED" in redacted
    assert redact(redacted) == redacted


@pytest.mark.parametrize(
    "text",
    [
        "GET /wps?service=WPS&request=GetCapabilities HTTP/1.1",
        "https://b.example/r.tif?a=1&b=2",
        "auth: bearer tokens' `iss` is not checked; Basic authentication is configured",
        "job 0f3c failed: ExpiredSignatureError: Signature has expired",
    ],
)
def test_harmless_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_secrets_in_arguments_extras_and_tracebacks_never_reach_a_handler() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("tests.logs.secrets")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning(
            "input %s refused",
            "https://b.example/r.tif?X-Amz-Credential=AKIA&X-Amz-Signature=abc-signature-123",
            extra={
                "headers": {"Authorization": "Basic dXNlcjpzZWNyZXQ=", "X-API-Key": "key-secret-0"},
                "url": "https://x/?sig=sas-sig-456",
                "password": "hunter2",
            },
        )
        try:
            raise ValueError("password=hunter2")
        except ValueError:
            log.exception("with %s", "X-API-Key: key-secret-0")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    out = stream.getvalue()
    assert len(json_lines(out)) == 2
    assert not any(secret in out for secret in SECRETS), out


@pytest.mark.usefixtures("logs")
def test_configuring_twice_adds_no_handler(tmp_path: Path) -> None:
    configured(tmp_path)
    configured(tmp_path)
    assert len(our_handlers()) == 1
    configured(tmp_path, log_file=tmp_path / "logs" / "wps.log")
    configured(tmp_path, log_file=tmp_path / "logs" / "wps.log")
    assert len(our_handlers()) == 2
    configured(tmp_path)
    assert len(our_handlers()) == 1


@pytest.mark.usefixtures("logs")
def test_uvicorns_loggers_go_through_the_same_handlers(tmp_path: Path) -> None:
    for name in ("uvicorn", "uvicorn.access"):  # as uvicorn's own dictConfig leaves them
        logging.getLogger(name).addHandler(logging.StreamHandler(io.StringIO()))
        logging.getLogger(name).propagate = False
    configured(tmp_path)
    for name in ("uvicorn", "uvicorn.access"):
        assert logging.getLogger(name).handlers == [] and logging.getLogger(name).propagate


@pytest.mark.usefixtures("logs")
def test_uvicorns_no_access_log_is_respected(tmp_path: Path) -> None:
    access = logging.getLogger("uvicorn.access")
    access.handlers, access.propagate = [], False  # what `uvicorn --no-access-log` does
    try:
        configured(tmp_path)
        assert not access.hasHandlers()
    finally:
        access.propagate = True


@pytest.mark.usefixtures("logs")
def test_the_log_file_is_written_and_rotated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "logs" / "wps.log"
    configured(tmp_path, log_file=path, log_max_bytes=400)
    log = logging.getLogger("app.test")
    for number in range(60):
        log.info("line %d", number, extra={"job_id": f"job-{number}"})
    written = sorted(p.name for p in path.parent.iterdir())
    assert written == ["wps.log", "wps.log.1", "wps.log.2", "wps.log.3", "wps.log.4", "wps.log.5"]
    for file in path.parent.iterdir():
        assert file.stat().st_size <= 400
        assert all(line["logger"] == "app.test" for line in json_lines(file.read_text()))
    assert json_lines(path.read_text())[-1]["message"] == "line 59"
    assert len(json_lines(capsys.readouterr().out)) == 60  # stdout too


def test_request_ids_from_clients_are_kept_only_when_sane() -> None:
    assert accepted_request_id("a.B_c-9") == "a.B_c-9"
    assert accepted_request_id("x" * 128) == "x" * 128
    for insane in ("x" * 129, "", "a b", "a\nb", "<script>", "é", None):
        generated = accepted_request_id(insane)
        assert re.fullmatch(r"[0-9a-f]{32}", generated), insane
    assert current_request_id() is None


def test_log_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WPS_LOG_LEVEL", "debug")
    monkeypatch.setenv("WPS_LOG_FORMAT", "text")
    monkeypatch.setenv("WPS_LOG_FILE", "")
    settings = Settings()
    assert (settings.log_level, settings.log_format, settings.log_file) == ("DEBUG", "text", None)
    assert settings.log_max_bytes == 100 * 1024 * 1024
    monkeypatch.setenv("WPS_LOG_FORMAT", "xml")
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize(
    "line", ["a." * 10_000, "h://" * 5_000, "h://?#" * 3_000, "?sig=x h://" * 2_000, "%3F" * 7_000]
)
def test_redaction_takes_linear_time_whatever_a_client_sends(line: str) -> None:
    started = time.perf_counter()
    redact(f"GET /{line} HTTP/1.1")
    assert time.perf_counter() - started < 0.5  # a backtracking pattern took seconds here
