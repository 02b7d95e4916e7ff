"""Process descriptions as every face shows them: derived from the registry's declarations."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from app.model.base import Model
from app.model.errors import NoSuchFormat


class DataKind(StrEnum):
    """The three WPS data kinds."""

    LITERAL = "literal"
    COMPLEX = "complex"
    BBOX = "bbox"


class Format(Model):
    """A complex data format: mime type, optional encoding and schema."""

    mime_type: str
    encoding: str | None = None
    schema_url: str | None = None
    extension: str = ".bin"

    def matches(self, mime_type: str | None, encoding: str | None, schema: str | None) -> bool:
        """Whether a requested format is this one (absent parts match anything)."""
        if mime_type and _norm_mime(mime_type) != _norm_mime(self.mime_type):
            return False
        if encoding and encoding.lower() != (self.encoding or "utf-8").lower():
            # "base64" must be declared; utf-8 / raw is the implicit default.
            return encoding.lower() in {"utf-8", "utf8"} and self.encoding is None
        return not (schema and self.schema_url and schema != self.schema_url)


def _norm_mime(mime: str) -> str:
    return ";".join(part.strip() for part in mime.lower().split(";"))


class ValueRange(Model):
    """A closed, open or half-open range of allowed literal values."""

    minimum: float | None = None
    maximum: float | None = None
    closure: Literal["closed", "open", "closed-open", "open-closed"] = "closed"


class LiteralDomain(Model):
    """What a literal input or output may hold."""

    data_type: Literal["string", "integer", "double", "boolean"] = "string"
    allowed_values: tuple[str, ...] = ()
    ranges: tuple[ValueRange, ...] = ()
    default: str | None = None
    uoms: tuple[str, ...] = ()

    @property
    def any_value(self) -> bool:
        """True when no AllowedValues restrict the literal."""
        return not self.allowed_values and not self.ranges


class ParameterDescription(Model):
    """An input or output as clients see it."""

    identifier: str
    title: str
    abstract: str = ""
    kind: DataKind
    literal: LiteralDomain | None = None
    formats: tuple[Format, ...] = ()  # the first is the default
    crss: tuple[str, ...] = ()  # the first is the default
    min_occurs: int = 1
    max_occurs: int | None = 1  # None = unbounded

    def find_format(self, mime_type: str | None, encoding: str | None, schema: str | None) -> Format:
        """The declared format matching a request (the default when nothing is asked), or NoSuchFormat."""
        for candidate in self.formats:
            if candidate.matches(mime_type, encoding, schema):
                return candidate
        asked = ", ".join(f"{k}={v}" for k, v in (("mimeType", mime_type), ("encoding", encoding)) if v)
        raise NoSuchFormat(
            f"{self.identifier!r} does not support the format {asked or '(unspecified)'}",
            locator=self.identifier,
        )


class ProcessDescription(Model):
    """A process as clients see it; derived from the registry declaration."""

    identifier: str
    title: str
    abstract: str = ""
    version: str = "1.0.0"
    keywords: tuple[str, ...] = ()
    inputs: tuple[ParameterDescription, ...]
    outputs: tuple[ParameterDescription, ...]
    store_supported: bool = False
    status_supported: bool = False

    def input(self, identifier: str) -> ParameterDescription | None:
        """The input with this identifier, if any."""
        return next((i for i in self.inputs if i.identifier == identifier), None)

    def output(self, identifier: str) -> ParameterDescription | None:
        """The output with this identifier, if any."""
        return next((o for o in self.outputs if o.identifier == identifier), None)


class Offering(Model):
    """What the service offers in answer to GetCapabilities or DescribeProcess.

    ``processes`` is one page of them when the request paged the list: ``offset`` is where it
    starts and ``more`` says whether others follow. ``update_sequence`` is the version of the
    service metadata that capabilities documents advertise.
    """

    processes: tuple[ProcessDescription, ...]
    language: str
    offset: int = 0
    limit: int | None = None
    more: bool = False
    update_sequence: str | None = None
