"""Process descriptions as every face shows them: derived from the registry's declarations."""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Literal, NamedTuple

from app.model.base import Model
from app.model.errors import NoSuchFormat


class DataKind(StrEnum):
    """The three WPS data kinds."""

    LITERAL = "literal"
    COMPLEX = "complex"
    BBOX = "bbox"


OGC_GEOTIFF_MEDIA_TYPE = "image/tiff; application=geotiff"
"""The registered GeoTIFF media type (OGC 19-008; the ``application`` parameter of RFC 3302's
``image/tiff``): what a face shows first when its clients expect it rather than the WPS spelling."""


class MediaType(NamedTuple):
    """A media type reduced to what identifies it (RFC 9110 section 8.3.1, RFC 6838).

    ``essence`` is ``type/subtype`` in lower case; ``parameters`` the set of ``(name, value)``
    pairs, names and values in lower case, quoted values unquoted, ``charset=utf-8`` left out (it
    is the implicit charset of every format). Two media types are the same when both parts are
    equal: parameter order, spaces, quoting and case make no difference, but a parameter more or
    less does (``image/tiff`` is not ``image/tiff; application=geotiff``).
    """

    essence: str
    parameters: frozenset[tuple[str, str]]

    @classmethod
    def parse(cls, text: str) -> MediaType:
        """The media type a ``Content-Type``-like string names (lenient: never raises)."""
        essence, *parameters = _split_parameters(text)
        pairs: set[tuple[str, str]] = set()
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            name, value = name.strip().lower(), _unquote(value.strip()).lower()
            if name and (name, value) not in _IMPLICIT_PARAMETERS:
                pairs.add((name, value))
        return cls(essence.strip().lower(), frozenset(pairs))


_IMPLICIT_PARAMETERS = {("charset", "utf-8"), ("charset", "utf8")}


def _split_parameters(text: str) -> list[str]:
    """``text`` split at the semicolons that are not inside a quoted string."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    """A parameter value without its quotes and quoting backslashes (a token is returned as is)."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def same_media_type(first: str, second: str) -> bool:
    """Whether two strings name the same media type (see ``MediaType``)."""
    return MediaType.parse(first) == MediaType.parse(second)


class Format(Model):
    """A complex data format: mime type, optional encoding and schema."""

    mime_type: str
    encoding: str | None = None
    schema_url: str | None = None
    extension: str = ".bin"

    def matches(self, mime_type: str | None, encoding: str | None, schema: str | None) -> bool:
        """Whether a requested format is this one (absent parts match anything).

        Media types are compared as ``MediaType``s: ``image/tiff;application="geotiff"`` is
        ``image/tiff; application=geotiff``, plain ``image/tiff`` only the format declared so.
        """
        if mime_type and not same_media_type(mime_type, self.mime_type):
            return False
        if encoding and encoding.lower() != (self.encoding or "utf-8").lower():
            # "base64" must be declared; utf-8 / raw is the implicit default.
            return encoding.lower() in {"utf-8", "utf8"} and self.encoding is None
        return not (schema and self.schema_url and schema != self.schema_url)


def preferring(formats: Sequence[Format], mime_type: str) -> tuple[Format, ...]:
    """``formats`` in the order a face shows them when ``mime_type`` is its preferred spelling.

    Each format of that media type moves ahead of the other formats of its ``type/subtype`` and
    encoding, taking the place of the first of them; everything else keeps the declared order.
    So a face can put its own default first (``image/tiff; application=geotiff`` on the OGC API
    face) without a process declaring its formats twice.
    """
    preferred = MediaType.parse(mime_type)
    ordered: list[Format] = []
    for fmt in formats:
        media = MediaType.parse(fmt.mime_type)
        slot = len(ordered)
        if media == preferred:
            slot = next(
                (
                    index
                    for index, other in enumerate(ordered)
                    if MediaType.parse(other.mime_type).essence == media.essence
                    and other.encoding == fmt.encoding
                ),
                slot,
            )
        ordered.insert(slot, fmt)
    return tuple(ordered)


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
