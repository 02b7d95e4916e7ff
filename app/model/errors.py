"""One exception hierarchy for the whole service.

Each class carries its OWS exception code and HTTP status as class attributes; leaves override
attributes only. ``wps2_code`` names the WPS 2.0 code where it differs from the OWS 1.1 one. An
error is raised once and rendered once: the API layer's one handler hands it to the codec of the
face that received the request (an ``ows:ExceptionReport`` of the right version, or problem+json).
"""

from __future__ import annotations

from typing import ClassVar

# OWS 1.1.0 table 25 and WPS 1.0.0 table 62 (WPS 2.0 alike): "None, omit locator parameter"
CODES_WITHOUT_LOCATOR = frozenset(
    {
        "VersionNegotiationFailed",
        "InvalidUpdateSequence",
        "CurrentUpdateSequence",
        "NoApplicableCode",
        "NotEnoughStorage",
        "ServerBusy",
        "StorageNotSupported",
    }
)


class WpsError(Exception):
    """Root of every error a client may see. The message must be safe to show to the client."""

    code: ClassVar[str] = "NoApplicableCode"
    wps2_code: ClassVar[str | None] = None
    http_status: ClassVar[int] = 500
    resource_missing: ClassVar[bool] = False  # names something that is not (yet) there
    # the locator under WPS 1.0.0 when it names the parameter rather than the value (see NoSuchProcess)
    wps1_locator: ClassVar[str | None] = None

    def __init__(self, message: str, locator: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.locator = locator
        self.headers: dict[str, str] = {}  # HTTP headers the answer must carry (e.g. WWW-Authenticate)
        self.located = False  # already placed inside a tree of nested processes (see within)

    def detached(self) -> WpsError:
        """This error without the exceptions it was raised from or while handling; re-raise it bare.

        Those belong to the process that caught them: dask.distributed pickles an error raised by a
        task together with its whole chain, and one link that does not unpickle (GDAL's errors do
        not) turns the error into a bare ``Exception`` in the API process, an internal error for
        the client. The message, code and locator are all the client needs.
        """
        self.__cause__ = None
        self.__context__ = None
        self.__suppress_context__ = True
        return self

    def located_at(self, path: str, where: str | None = None) -> WpsError:
        """This error at ``path`` in a tree of nested processes; ``where`` (e.g. "input 'red'") is
        prefixed to the message when it does not say where already."""
        self.locator = path
        self.located = True
        if where is not None:
            self.message = f"{where}: {self.message}"
            self.args = (self.message,)
        return self

    def within(self, path: str, process: str) -> WpsError:
        """This error raised inside a nested process: its locator prefixed with ``path`` (input
        names from the top, joined by ``/``), its message naming the process and where it is.

        The innermost process an error is raised in places it; the processes around it leave it so.
        """
        if self.located:
            return self
        self.located = True
        self.locator = f"{path}/{self.locator}" if self.locator else path
        self.message = f"in process {process!r} at {path!r}: {self.message}"
        self.args = (self.message,)
        return self

    def status(self, resource: bool = False) -> int:
        """The HTTP status; 404 when a resource URL (not a parameter) names what is not there."""
        return 404 if resource and self.resource_missing else self.http_status

    def locator_for(self, version: str) -> str | None:
        """The locator to report under a WPS protocol version (None: omit the attribute)."""
        if self.code_for(version) in CODES_WITHOUT_LOCATOR:
            return None
        if not version.startswith("2") and self.wps1_locator and self.locator is not None:
            return self.wps1_locator
        return self.locator

    def code_for(self, version: str) -> str:
        """The exception code to report under a WPS protocol version."""
        if version.startswith("2") and self.wps2_code:
            return self.wps2_code
        return self.code


class MissingParameterValue(WpsError):
    """A required parameter or input was not given."""

    code = "MissingParameterValue"
    http_status = 400


class InvalidParameterValue(WpsError):
    """A parameter or input has a value the service cannot accept."""

    code = "InvalidParameterValue"
    http_status = 400


class NoSuchProcess(InvalidParameterValue):
    """The process identifier is not offered.

    Raised with the identifier as locator, which WPS 2.0 reports ("process identifier"); WPS 1.0.0
    reports InvalidParameterValue naming the parameter, ``Identifier`` (OWS 1.1.0 table 25).
    """

    wps2_code = "NoSuchProcess"
    wps1_locator: ClassVar[str | None] = "Identifier"
    resource_missing = True


class NoSuchNestedProcess(NoSuchProcess):
    """A nested process names a process that is not offered: a parameter of the request, so 400
    (not the 404 of a process URL), located by the path of input names that leads to it."""

    wps1_locator = None
    resource_missing = False


def unknown_nested_process(path: str, identifier: str) -> WpsError:
    """The error of a nested process (at input ``path``) that names a process not offered."""
    return NoSuchNestedProcess(
        f"input {path!r} is the output of process {identifier!r}, which this service does not offer"
    ).located_at(path)


def nested_too_deep(path: str, limit: int) -> WpsError:
    """The error of a tree of processes nested deeper than ``limit`` (WPS_MAX_NESTING) at ``path``."""
    return InvalidParameterValue(
        f"input {path!r} nests processes {path.count('/') + 1} levels deep; this service allows {limit} "
        "(WPS_MAX_NESTING)"
    ).located_at(path)


class NoSuchInput(InvalidParameterValue):
    """The request names an input the process does not have."""

    wps2_code = "NoSuchInput"


class NoSuchOutput(InvalidParameterValue):
    """The request names an output the process does not have."""

    wps2_code = "NoSuchOutput"


class NoSuchMode(InvalidParameterValue):
    """The WPS 2.0 execution mode is not one the process supports."""

    wps2_code = "NoSuchMode"


class NoSuchFormat(InvalidParameterValue):
    """A mimeType/encoding/schema the input or output does not support."""

    wps2_code = "NoSuchFormat"


class TooManyInputs(InvalidParameterValue):
    """An input occurs more often than its maxOccurs."""

    wps2_code = "TooManyInputs"


class WrongInputData(InvalidParameterValue):
    """Input data that cannot be read as the declared format (e.g. not a GeoTIFF)."""

    wps2_code = "WrongInputData"


class DataNotAccessible(InvalidParameterValue):
    """A referenced input could not be fetched, or is not allowed to be fetched."""

    wps2_code = "DataNotAccessible"


class FileSizeExceeded(InvalidParameterValue):
    """A request body or a referenced input is larger than the configured cap."""

    code = "FileSizeExceeded"
    wps2_code = "SizeExceeded"
    http_status = 413


class VersionNegotiationFailed(WpsError):
    """None of the versions the client accepts is offered."""

    code = "VersionNegotiationFailed"
    http_status = 400


class CurrentUpdateSequence(WpsError):
    """GetCapabilities named the service metadata's current updateSequence: nothing changed."""

    code = "CurrentUpdateSequence"
    http_status = 400


class InvalidUpdateSequence(WpsError):
    """GetCapabilities named an updateSequence later than the service metadata's current one."""

    code = "InvalidUpdateSequence"
    http_status = 400


class OperationNotSupported(WpsError):
    """The request names an operation the service does not implement."""

    code = "OperationNotSupported"
    http_status = 501


class OptionNotSupported(WpsError):
    """A valid option of the standard that this service does not implement."""

    code = "OptionNotSupported"
    http_status = 501


class StorageNotSupported(WpsError):
    """storeExecuteResponse was asked of a process that cannot store its response."""

    code = "StorageNotSupported"
    http_status = 400


class ServerBusy(WpsError):
    """The job queue is full; the client may retry later."""

    code = "ServerBusy"
    http_status = 503


class TooManyJobs(ServerBusy):
    """The user already holds as many queued and running jobs as one user may (HTTP 429)."""

    http_status = 429


class NotEnoughStorage(WpsError):
    """The data directory has no room for the result."""

    code = "NotEnoughStorage"
    http_status = 507


class NoApplicableCode(WpsError):
    """An internal fault. The client sees a generic message and the request id; details are logged."""

    code = "NoApplicableCode"
    wps2_code = "NoApplicableCode"
    http_status = 500


class NotReady(NoApplicableCode):
    """The service cannot take work now: its data directory or job store fails (readiness)."""

    http_status = 503


class NoSuchJob(InvalidParameterValue):
    """The job identifier is unknown, expired or dismissed (400 per OWS Common; 404 on resource URLs)."""

    wps2_code = "NoSuchJob"
    resource_missing = True


class ResultNotReady(InvalidParameterValue):
    """The job has not finished yet (404 on the OGC API's results resource, as the standard says)."""

    wps2_code = "ResultNotReady"
    resource_missing = True


class Unauthenticated(WpsError):
    """Credentials are required and missing or not valid (HTTP 401, with WWW-Authenticate challenges).

    No OWS code names this; the WPS faces report it as NoApplicableCode, the JSON face as a plain
    HTTP problem. The message never says which part of the credentials was wrong.
    """

    http_status = 401

    def __init__(self, message: str, challenges: tuple[str, ...] = (), locator: str | None = None) -> None:
        super().__init__(message, locator)
        self.headers = {"WWW-Authenticate": ", ".join(challenges)} if challenges else {}


class HttpError(WpsError):
    """A failure of HTTP itself that no OWS code names: no such path, method or media type."""

    def __init__(
        self,
        message: str,
        locator: str | None = None,
        *,
        status: int = 400,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, locator)
        self.http_code = status
        self.headers = dict(headers or {})

    def status(self, resource: bool = False) -> int:
        """The HTTP status it was raised with."""
        return self.http_code


def _subclasses(cls: type[WpsError]) -> list[type[WpsError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_subclasses(sub))
    return found


def error_from_codes(code: str, wps2_code: str, message: str, locator: str | None = None) -> WpsError:
    """Rebuild the exception a job recorded (the class whose codes match; NoApplicableCode else)."""
    for cls in _subclasses(WpsError)[1:]:  # the root is abstract: its NoApplicableCode leaf answers
        if cls.code == code and (cls.wps2_code or cls.code) == wps2_code:
            return cls(message, locator)
    return NoApplicableCode(message, locator)
