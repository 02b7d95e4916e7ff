"""JSON replies of the JSON face, serialised as Starlette's JSONResponse would (compact UTF-8)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from app.model.replies import Reply

JSON = "application/json"


def json_reply(
    document: BaseModel | Mapping[str, Any] | list[Any],
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    media_type: str = JSON,
) -> Reply:
    """A JSON document reply; models are dumped by alias, without ``None`` members."""
    content = (
        document.model_dump(mode="json", by_alias=True, exclude_none=True)
        if isinstance(document, BaseModel)
        else document
    )
    body = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    return Reply(body=body, media_type=media_type, status=status, headers=dict(headers or {}))
