"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.api.deps import get_settings
from app.settings import Settings

router = APIRouter(tags=["Operations"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    """Always ok while the process serves requests."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the data directory is writable")
def readyz(settings: Annotated[Settings, Depends(get_settings)]) -> dict[str, str]:
    """Ready when results can be written."""
    settings.outputs_dir.mkdir(parents=True, exist_ok=True)
    return {"status": "ready"}
