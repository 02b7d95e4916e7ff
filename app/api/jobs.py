"""``/jobs``, ``/jobs/{jobID}`` (GET, DELETE) and ``/jobs/{jobID}/results``.

The jobs are those of the one job store: submitted here, through WPS 1.0.0 (``storeExecuteResponse``)
or WPS 2.0 (``mode="async"``), with the same identifiers everywhere. Dismissed jobs are gone: not
listed, and 404 on their URLs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from app.api.deps import exchange_of, ogcapi_of
from app.api.negotiation import negotiate
from app.api.openapi import problem_responses
from app.api.replies import send
from app.api.routing import ResourceRoute
from app.ogcapi.calls import JobCall, JobListCall
from app.ogcapi.models import JobList, Results, StatusCode, StatusInfo
from app.ogcapi.replies import JSON

router = APIRouter(route_class=ResourceRoute, tags=["Jobs"])

JobID = Annotated[str, Path(alias="jobID", description="A job identifier (32 hexadecimal digits)")]


@router.get(
    "/jobs",
    summary="The jobs, newest first",
    response_model=JobList,
    responses=problem_responses(400, 406),
    dependencies=[Depends(negotiate)],
    operation_id="getJobs",
)
def list_jobs(
    request: Request,
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
    kinds = None if types is None else tuple(types)
    call = JobListCall(limit, offset, tuple(status or ()), tuple(process_ids or ()), kinds)
    codec, exchange = ogcapi_of(request), exchange_of(request)
    user = exchange.gate.user(request)
    return send(codec.job_list(exchange.service.list_jobs(codec.job_query(call), user), call), request)


def answer_job(request: Request, call: JobCall) -> Response:
    """A job resource's answer, for the caller its credentials name."""
    exchange = exchange_of(request)
    return send(exchange.answer(ogcapi_of(request), call, exchange.gate.identify(request)), request)


@router.get(
    "/jobs/{jobID}",
    summary="The status of a job",
    response_model=StatusInfo,
    responses=problem_responses(404, 406),
    dependencies=[Depends(negotiate)],
    operation_id="getStatus",
)
def job_status(request: Request, job_id: JobID) -> Response:
    """State, progress and timestamps of a job, with a link to its results once it succeeded."""
    return answer_job(request, JobCall(job_id, "status"))


@router.delete(
    "/jobs/{jobID}",
    summary="Dismiss a job",
    response_model=StatusInfo,
    responses=problem_responses(404),
    operation_id="dismiss",
)
def dismiss_job(request: Request, job_id: JobID) -> Response:
    """Stop the job if it runs, delete its results; the job is gone afterwards (404)."""
    return answer_job(request, JobCall(job_id, "dismiss"))


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
def job_results(request: Request, job_id: JobID) -> Response:
    """A succeeded job's results; 404 ``result-not-ready`` before, the job's own exception if it failed."""
    return answer_job(request, JobCall(job_id, "result"))
