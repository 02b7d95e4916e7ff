"""What a codec hands to HTTP: a status, a media type, headers and a body (bytes, a file or chunks).

Codecs never build framework responses; the API layer turns a ``Reply`` into one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.model.errors import InvalidParameterValue
from app.model.results import BoundingBoxResult, ComplexResult, ExecuteResult, LiteralResult

TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Reply:
    """A response as a codec encoded it. A ``Path`` body is a file sent with HTTP Range support."""

    body: bytes | Path | Iterable[bytes] = b""
    media_type: str | None = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


def raw_reply(result: ExecuteResult) -> Reply:
    """The one requested output itself, in its own media type (WPS RawDataOutput, OGC API raw).

    A stored file is sent from disk; inline data as an attachment named after the output.
    """
    if not result.outputs:
        raise InvalidParameterValue("the requested output was not produced", locator="RawDataOutput")
    delivered = result.outputs[0]
    output = delivered.result
    if isinstance(output, ComplexResult):
        media_type = output.format.mime_type
        filename = output.path.name if output.path is not None else None
        filename = filename or f"{delivered.description.identifier}{output.format.extension}"
        disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
        body: bytes | Path = output.path if output.path is not None else output.data or b""
        return Reply(body=body, media_type=media_type, headers=disposition)
    if isinstance(output, LiteralResult):
        return Reply(body=output.value.encode(), media_type=TEXT)
    assert isinstance(output, BoundingBoxResult)
    corners = " ".join(str(v) for v in (*output.lower, *output.upper))
    return Reply(body=corners.encode(), media_type=TEXT)
