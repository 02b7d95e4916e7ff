"""``/`` and ``/conformance``: where a client of the JSON face starts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from app.api.deps import get_settings
from app.api.ogc.common import REL, json_response, link, negotiate
from app.api.ogc.models import ConfClasses, LandingPage, Link
from app.api.ogc.problems import ProblemRoute, problem_responses
from app.settings import Settings

router = APIRouter(route_class=ProblemRoute, tags=["Capabilities"], dependencies=[Depends(negotiate)])

CONFORMANCE = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
CONFORMANCE_CLASSES = tuple(
    CONFORMANCE + name for name in ("core", "ogc-process-description", "json", "oas30", "job-list", "dismiss")
)
OPENAPI_MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"


@router.get(
    "/",
    summary="Landing page",
    response_model=LandingPage,
    responses=problem_responses(406),
    operation_id="getLandingPage",
)
def landing_page(settings: Annotated[Settings, Depends(get_settings)]) -> Response:
    """Links to the API definition, the conformance declaration, the processes and the jobs."""
    links = [
        link(settings, "/", "self", title="this document"),
        link(settings, "/openapi.json", "service-desc", OPENAPI_MEDIA_TYPE, "the API definition"),
        link(settings, "/docs", "service-doc", "text/html", "the API documentation"),
        link(settings, "/conformance", REL + "conformance", title="conformance classes implemented"),
        link(settings, "/processes", REL + "processes", title="the processes offered"),
        link(settings, "/jobs", REL + "job-list", title="the jobs"),
        Link(
            href=f"{settings.wps_url}?service=WPS&request=GetCapabilities",
            rel="alternate",
            type="text/xml",
            title="the same processes over OGC WPS 1.0.0 and 2.0.0",
        ),
    ]
    page = LandingPage(
        title=settings.service_title,
        description="Raster geoprocessing over OGC API - Processes and OGC WPS 1.0.0 / 2.0.0.",
        links=links,
    )
    return json_response(page)


@router.get(
    "/conformance",
    summary="Conformance classes implemented",
    response_model=ConfClasses,
    responses=problem_responses(406),
    operation_id="getConformanceClasses",
)
def conformance() -> Response:
    """The OGC API - Processes - Part 1 conformance classes this service implements."""
    return json_response(ConfClasses(conformsTo=list(CONFORMANCE_CLASSES)))
