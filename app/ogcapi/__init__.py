"""OGC API - Processes - Part 1: Core 1.0 (OGC 18-062r2): the JSON face of the same processes and jobs."""

from __future__ import annotations

from fastapi import FastAPI

from app.api.ogc import jobs, landing, processes
from app.api.ogc.openapi import install_openapi
from app.api.ogc.problems import install_problem_handlers

OPENAPI_TAGS = [
    {"name": "Capabilities", "description": "OGC API - Processes: landing page and conformance"},
    {"name": "Processes", "description": "OGC API - Processes: process list, descriptions, execution"},
    {"name": "Jobs", "description": "OGC API - Processes: job list, status, results, dismissal"},
    {"name": "WPS", "description": "OGC WPS 1.0.0 and 2.0.0 (KVP and XML) over the same processes and jobs"},
]


def install(app: FastAPI) -> None:
    """Add the JSON routes, problem+json error handling and the OpenAPI document."""
    for module in (landing, processes, jobs):
        app.include_router(module.router)
    install_problem_handlers(app)
    install_openapi(app, OPENAPI_TAGS)
