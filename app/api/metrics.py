"""``/metrics``: Prometheus metrics of requests and jobs, from one registry per app."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deps import exchange_of
from app.api.routing import ServiceRoute
from app.model.jobs import JobStatus

router = APIRouter(route_class=ServiceRoute, tags=["Operations"])


class Metrics:
    """The service's metrics; a registry per app so that test apps do not share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "wps_http_requests",
            "HTTP requests served, by route and status class",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "wps_http_request_seconds",
            "Time to answer HTTP requests",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600),
        )
        self.jobs = Gauge("wps_jobs", "Jobs in the job store, by status", ["status"], registry=self.registry)
        self.active = Gauge(
            "wps_jobs_active", "Jobs running or queued in this process", registry=self.registry
        )

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        """Count one answered request under its route template (never the raw path)."""
        template = getattr(scope.get("route"), "path", "unmatched")
        method = scope.get("method", "")
        self.requests.labels(method, template, f"{status // 100}xx").inc()
        self.latency.labels(method, template).observe(seconds)


class MetricsMiddleware:
    """Times every HTTP request (a plain ASGI middleware: no per-request task or stream)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; count it with the status it was answered with."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.observe(scope, status, time.perf_counter() - started)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Request counters and latencies, job counts by status, jobs active in this process."""
    state: Metrics = request.app.state.metrics
    exchange = exchange_of(request)
    exchange.gate.user(request)  # not public once users are configured
    counts = exchange.service.counts()
    for status in JobStatus:
        state.jobs.labels(status.value).set(counts.by_status.get(status, 0))
    state.active.set(counts.active)
    return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)
