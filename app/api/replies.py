"""A codec's ``Reply`` as a Starlette response: bytes, a file (with HTTP Range support) or a stream."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from app.model.replies import Reply


def send(reply: Reply, request: Request | None = None) -> Response:
    """The HTTP response of a reply; 304 when ``request`` already holds its ETag (If-None-Match)."""
    status, media_type, headers = reply.status, reply.media_type, dict(reply.headers)
    if request is not None and _not_modified(reply, request):
        return Response(status_code=304, headers=headers)
    if isinstance(reply.body, Path):
        return FileResponse(reply.body, status_code=status, media_type=media_type, headers=headers)
    if isinstance(reply.body, bytes):
        return Response(reply.body, status_code=status, media_type=media_type, headers=headers)
    return StreamingResponse(reply.body, status_code=status, media_type=media_type, headers=headers)


def _not_modified(reply: Reply, request: Request) -> bool:
    etag = reply.headers.get("ETag")
    wanted = request.headers.get("if-none-match")
    if etag is None or wanted is None or request.method not in {"GET", "HEAD"} or reply.status != 200:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    return "*" in tags or etag in tags
