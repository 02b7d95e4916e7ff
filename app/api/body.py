"""Read a request body without ever holding more than the configured cap."""

from __future__ import annotations

from fastapi import Request

from app.model.errors import FileSizeExceeded


async def read_capped_body(request: Request, limit: int) -> bytes:
    """The whole body, or FileSizeExceeded as soon as it is known to be larger than ``limit``."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise FileSizeExceeded(f"request body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise FileSizeExceeded(f"request body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
