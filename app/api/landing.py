"""``/`` and ``/conformance``: where a client of the JSON face starts."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from app.api.deps import OgcApi, addressed_as_resource
from app.api.negotiation import negotiate
from app.api.openapi import problem_responses
from app.api.replies import send
from app.api.routing import ServiceRoute
from app.ogcapi.models import ConfClasses, LandingPage

router = APIRouter(
    route_class=ServiceRoute,
    tags=["Capabilities"],
    dependencies=[Depends(addressed_as_resource), Depends(negotiate)],
)


@router.get(
    "/",
    summary="Landing page",
    response_model=LandingPage,
    responses=problem_responses(406),
    operation_id="getLandingPage",
)
def landing_page(codec: OgcApi) -> Response:
    """Links to the API definition, the conformance declaration, the processes and the jobs."""
    return send(codec.landing())


@router.get(
    "/conformance",
    summary="Conformance classes implemented",
    response_model=ConfClasses,
    responses=problem_responses(406),
    operation_id="getConformanceClasses",
)
def conformance(codec: OgcApi) -> Response:
    """The OGC API - Processes - Part 1 conformance classes this service implements."""
    return send(codec.conformance())
