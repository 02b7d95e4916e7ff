"""``/`` and ``/conformance``: where a client of the JSON face starts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.api.deps import ogcapi_of
from app.api.negotiation import negotiate
from app.api.openapi import problem_responses
from app.api.replies import send
from app.api.routing import ResourceRoute
from app.ogcapi.models import ConfClasses, LandingPage

router = APIRouter(route_class=ResourceRoute, tags=["Capabilities"], dependencies=[Depends(negotiate)])


@router.get(
    "/",
    summary="Landing page",
    response_model=LandingPage,
    responses=problem_responses(406),
    operation_id="getLandingPage",
)
def landing_page(request: Request) -> Response:
    """Links to the API definition, the conformance declaration, the processes and the jobs."""
    return send(ogcapi_of(request).landing())


@router.get(
    "/conformance",
    summary="Conformance classes implemented",
    response_model=ConfClasses,
    responses=problem_responses(406),
    operation_id="getConformanceClasses",
)
def conformance(request: Request) -> Response:
    """The OGC API - Processes - Part 1 conformance classes this service implements."""
    return send(ogcapi_of(request).conformance())
