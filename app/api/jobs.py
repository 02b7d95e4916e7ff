"""``/jobs``, ``/jobs/{jobID}`` (GET, DELETE) and ``/jobs/{jobID}/results``.

The jobs are those of the one job store: submitted here, through WPS 1.0.0 (``storeExecuteResponse``)
or WPS 2.0 (``mode="async"``), with the same identifiers everywhere. Dismissed jobs are gone: not
listed, and 404 on their URLs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from app.api.deps import get_service
from app.api.ogc import encode
from app.api.ogc.common import JSON, json_response, negotiate, page_links
from app.api.ogc.models import JobList, Results, StatusCode, StatusInfo
from app.api.ogc.problems import ProblemRoute, problem_responses
from app.model.jobs import JobStatus
from app.service.operations import WpsService

router = APIRouter(route_class=ProblemRoute, tags=["Jobs"])

JobID = Annotated[str, Path(alias="jobID", description="A job identifier (32 hexadecimal digits)")]
Service = Annotated[WpsService, Depends(get_service)]
_LISTED = tuple(status for status in JobStatus if status is not JobStatus.DISMISSED)


@router.get(
    "/jobs",
    summary="The jobs, newest first",
    response_model=JobList,
    responses=problem_responses(400, 406),
    dependencies=[Depends(negotiate)],
    operation_id="getJobs",
)
def list_jobs(
    service: Service,
    limit: Annotated[int, Query(ge=1, le=1000, description="Jobs per page")] = 10,
    offset: Annotated[int, Query(ge=0, description="Jobs to skip (see the `next` link)")] = 0,
    status: Annotated[list[StatusCode] | None, Query(description="Only jobs in these states")] = None,
    process_ids: Annotated[
        list[str] | None, Query(alias="processID", description="Only jobs of these processes")
    ] = None,
    types: Annotated[
        list[str] | None, Query(alias="type", description="Only jobs of these types (`process`)")
    ] = None,
) -> Response:
    """A page of jobs, with ``next``/``prev`` links."""
    settings = service.settings
    statuses = tuple(encode.NEUTRAL_STATUS[name] for name in status or ()) or _LISTED
    statuses = tuple(s for s in statuses if s is not JobStatus.DISMISSED)
    found = []
    if statuses and (types is None or "process" in types):
        store = service.engine.store
        found = store.list_jobs(statuses, tuple(process_ids or ()), limit=limit + 1, offset=offset)
    filters = {"status": status, "processID": process_ids, "type": types}
    document = JobList(
        jobs=[encode.status_info(info, settings) for info in found[:limit]],
        links=page_links(settings, "/jobs", limit, offset, len(found) > limit, **filters),
    )
    return json_response(document)


@router.get(
    "/jobs/{jobID}",
    summary="The status of a job",
    response_model=StatusInfo,
    responses=problem_responses(404, 406),
    dependencies=[Depends(negotiate)],
    operation_id="getStatus",
)
def job_status(job_id: JobID, service: Service) -> Response:
    """State, progress and timestamps of a job, with a link to its results once it succeeded."""
    return json_response(encode.status_info(service.status(job_id), service.settings))


@router.delete(
    "/jobs/{jobID}",
    summary="Dismiss a job",
    response_model=StatusInfo,
    responses=problem_responses(404),
    operation_id="dismiss",
)
def dismiss_job(job_id: JobID, service: Service) -> Response:
    """Stop the job if it runs, delete its results; the job is gone afterwards (404)."""
    return json_response(encode.status_info(service.dismiss(job_id), service.settings))


@router.get(
    "/jobs/{jobID}/results",
    summary="The results of a job",
    response_model=Results,
    responses={
        200: {
            "description": "The results document, or the one output itself when it was asked `raw`",
            "content": {
                JSON: {"schema": {"$ref": "#/components/schemas/Results"}},
                "*/*": {"schema": {"type": "string", "format": "binary"}},
            },
        },
        204: {
            "description": "`response: raw` with the output by reference: it is in a `Link` header",
            "headers": {"Link": {"description": "The output's link", "schema": {"type": "string"}}},
        },
        **problem_responses(400, 404, 500),
    },
    operation_id="getResult",
)
def job_results(job_id: JobID, service: Service) -> Response:
    """A succeeded job's results; 404 ``result-not-ready`` before, the job's own exception if it failed."""
    result = service.result(job_id)
    return encode.results(result, raw=result.request.response.raw)
