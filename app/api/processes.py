"""``/processes``, ``/processes/{processID}`` and ``POST /processes/{processID}/execution``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.responses import Response

from app.api.deps import exchange_of, ogcapi_of
from app.api.examples import EXECUTE_EXAMPLES
from app.api.negotiation import negotiate
from app.api.openapi import problem_responses
from app.api.replies import send
from app.api.routing import ResourceRoute
from app.ogcapi.calls import ExecuteCall, ProcessCall, ProcessListCall
from app.ogcapi.models import Execute, Process, ProcessList, Results
from app.ogcapi.replies import JSON

router = APIRouter(route_class=ResourceRoute, tags=["Processes"])

ProcessID = Annotated[
    str,
    Path(
        alias="processID",
        description="A process identifier, e.g. `echo`",
        openapi_examples={name: {"value": name} for name in ("echo", "ndvi")},
    ),
]


@router.get(
    "/processes",
    summary="The processes offered",
    response_model=ProcessList,
    responses=problem_responses(400, 406),
    dependencies=[Depends(negotiate)],
    operation_id="getProcesses",
)
async def list_processes(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000, description="Processes per page")] = 100,
    offset: Annotated[int, Query(ge=0, description="Processes to skip (see the `next` link)")] = 0,
) -> Response:
    """Summaries of the processes, with links to their descriptions."""
    call = ProcessListCall(limit=limit, offset=offset)
    exchange = exchange_of(request)
    caller = await exchange.gate.identify_async(request)
    return send(await exchange.respond(ogcapi_of(request), call, caller), request)


@router.get(
    "/processes/{processID}",
    summary="A process description",
    response_model=Process,
    responses=problem_responses(404, 406),
    dependencies=[Depends(negotiate)],
    operation_id="getProcessDescription",
)
async def describe_process(request: Request, process_id: ProcessID) -> Response:
    """Inputs and outputs with the JSON Schema of their values, derived from the process declaration."""
    exchange = exchange_of(request)
    caller = await exchange.gate.identify_async(request)
    return send(await exchange.respond(ogcapi_of(request), ProcessCall(process_id), caller), request)


_EXECUTE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Synchronous execution: the results document (`response: document`), or with "
        "`response: raw` the one output itself in its own media type, or `multipart/related` with one "
        "part per output (`Content-ID` = output identifier)",
        "content": {
            JSON: {"schema": {"$ref": "#/components/schemas/Results"}},
            "*/*": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    201: {
        "description": "Asynchronous execution (`Prefer: respond-async`): the job was created",
        "headers": {"Location": {"description": "The job's status URL", "schema": {"type": "string"}}},
        "content": {JSON: {"schema": {"$ref": "#/components/schemas/StatusInfo"}}},
    },
    204: {
        "description": "`response: raw` with every output by reference: the outputs are in `Link` headers",
        "headers": {"Link": {"description": "One link per output", "schema": {"type": "string"}}},
    },
    **problem_responses(400, 404, 413, 500, 503),
}


@router.post(
    "/processes/{processID}/execution",
    summary="Execute a process (synchronously, or as a job with `Prefer: respond-async`)",
    response_model=Results,
    responses=_EXECUTE_RESPONSES,
    operation_id="execute",
)
def execute(
    request: Request,
    process_id: ProcessID,
    body: Annotated[Execute, Body(openapi_examples=EXECUTE_EXAMPLES)],
    prefer: Annotated[
        str | None,
        Header(
            alias="Prefer",
            description="`respond-async` creates a job and answers 201 at once; otherwise the "
            "process runs synchronously.",
        ),
    ] = None,
) -> Response:
    """Run a process with the inputs given; the job is visible under `/jobs` (and through WPS)."""
    call = ExecuteCall(process_id, body, prefer)
    exchange = exchange_of(request)
    return send(exchange.answer(ogcapi_of(request), call, exchange.gate.identify(request)), request)
