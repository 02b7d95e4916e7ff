"""A codec's ``Reply`` as a Starlette response: bytes, a file (with HTTP Range support) or a stream."""

from __future__ import annotations

from pathlib import Path

from fastapi.responses import FileResponse, Response, StreamingResponse

from app.model.replies import Reply


def send(reply: Reply) -> Response:
    """The HTTP response of a reply."""
    headers = dict(reply.headers)
    if isinstance(reply.body, Path):
        return FileResponse(
            reply.body, status_code=reply.status, media_type=reply.media_type, headers=headers
        )
    if isinstance(reply.body, bytes):
        return Response(reply.body, status_code=reply.status, media_type=reply.media_type, headers=headers)
    return StreamingResponse(
        reply.body, status_code=reply.status, media_type=reply.media_type, headers=headers
    )
