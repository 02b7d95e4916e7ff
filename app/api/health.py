"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.api.deps import service_of
from app.api.routing import ServiceRoute

router = APIRouter(route_class=ServiceRoute, tags=["Operations"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    """Always ok while the process serves requests."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: results can be written and jobs recorded",
    responses={503: {"description": "Not ready: the data directory or the job store fails"}},
)
def readyz(request: Request) -> dict[str, str]:
    """Ready when a file can be written in the results folder and the job store answers a query."""
    service_of(request).check_ready()
    return {"status": "ready"}
