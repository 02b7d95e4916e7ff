"""``/metrics``: Prometheus metrics of requests, jobs and the process (DESIGN.md, "Metrics").

- ``wps_requests_total{face, operation, process_id, status}``: requests of the three faces, labelled
  by what they were (:mod:`app.api.observation`; values bounded), status ``2xx``/``4xx``/``5xx``.
- ``wps_job_duration_seconds{process_id}``: every finished job (succeeded or failed), observed by
  the process that ran it; ``wps_jobs_failed_total{process_id, code}``: failed jobs by exception code.
- ``wps_jobs{status}`` and ``wps_queue_depth``: read from the job store when scraped, so every
  process (and every instance sharing PostgreSQL) answers the same.
- ``process_resident_memory_bytes`` and the rest of the process collector.
- ``wps_http_requests_total{method, route, status}``, ``wps_http_request_seconds``: by route template.

Several uvicorn workers on one host: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory
writable by the service before it starts (prometheus-client's multiprocess mode). Counters and
histograms then live in per-process files that every worker's ``/metrics`` sums, so no count is
lost or doubled whichever worker answers; the resident memory of each live worker is a series of
its own (label ``pid``), refreshed every few seconds by that worker. Without the variable (one
process per host, the default) the plain process collector reports the process.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deps import exchange_of
from app.api.observation import UNKNOWN, RequestLabels, observing
from app.api.routing import ServiceRoute
from app.model.jobs import JobCounts, JobStatus

router = APIRouter(route_class=ServiceRoute, tags=["Operations"])
log = logging.getLogger(__name__)

JOB_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))  # read by prometheus-client at import

# OGC API routes whose requests no codec decodes (landing page, conformance, job list) or that
# FastAPI refused before any code of the face ran (e.g. a malformed body): their labels
_OGCAPI_ROUTES = {
    ("GET", "/"): "landing",
    ("GET", "/conformance"): "conformance",
    ("GET", "/processes"): "processes",
    ("GET", "/processes/{processID}"): "describe",
    ("POST", "/processes/{processID}/execution"): "execute",
    ("GET", "/jobs"): "jobs",
    ("GET", "/jobs/{jobID}"): "status",
    ("DELETE", "/jobs/{jobID}"): "dismiss",
    ("GET", "/jobs/{jobID}/results"): "results",
    ("GET", "/jobs/{jobID}/results/{outputID}/tiles/WebMercatorQuad/{z}/{x}/{y}.png"): "tile",
    ("GET", "/jobs/{jobID}/results/{outputID}/tiles/WebMercatorQuad/tilejson.json"): "tilejson",
}


class Metrics:
    """The service's metrics; a registry per app so that test apps do not share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "wps_requests",
            "Requests of the WPS and OGC API faces, by face, operation, process and status class",
            ["face", "operation", "process_id", "status"],
            registry=self.registry,
        )
        self.job_duration = Histogram(
            "wps_job_duration_seconds",
            "Time from start to end of every finished job (succeeded or failed)",
            ["process_id"],
            registry=self.registry,
            buckets=JOB_BUCKETS,
        )
        self.jobs_failed = Counter(
            "wps_jobs_failed",
            "Jobs that failed, by process and exception code",
            ["process_id", "code"],
            registry=self.registry,
        )
        self.http_requests = Counter(
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
        self.store = StoreGauges()
        self.memory: Gauge | None = None
        if MULTIPROCESS:
            self.memory = Gauge(
                "process_resident_memory_bytes",
                "Resident memory of each live worker process",
                registry=self.registry,
                multiprocess_mode="liveall",
            )
        else:
            ProcessCollector(registry=self.registry)
            self.registry.register(self.store)

    def observe(self, scope: Scope, labels: RequestLabels, status: int, seconds: float) -> None:
        """Count one answered request: under its route template, and under its face's labels."""
        template = getattr(scope.get("route"), "path", "unmatched")
        method = scope.get("method", "")
        status_class = f"{status // 100}xx"
        self.http_requests.labels(method, template, status_class).inc()
        self.latency.labels(method, template).observe(seconds)
        if not labels.face and (method, template) in _OGCAPI_ROUTES:
            labels.face, labels.operation = "ogcapi", _OGCAPI_ROUTES[(method, template)]
            labels.process_id = _route_process(scope)
        if labels.face:
            operation = labels.operation or UNKNOWN
            self.requests.labels(labels.face, operation, labels.process_id, status_class).inc()

    def job_finished(self, process_id: str, seconds: float, code: str | None) -> None:
        """A job this process ran has ended (``code``: its exception code when it failed)."""
        self.job_duration.labels(process_id).observe(seconds)
        if code is not None:
            self.jobs_failed.labels(process_id, code).inc()

    def sample_memory(self) -> None:
        """Multiprocess mode: this worker's resident memory now (a no-op otherwise)."""
        if self.memory is not None:
            self.memory.set(_resident_bytes())

    def attach(self, counts: Callable[[], JobCounts]) -> None:
        """Where ``wps_jobs`` and ``wps_queue_depth`` are read from (the service, once it exists)."""
        self.store.counts = counts

    def exposition(self) -> bytes:
        """The text format of every metric, the job store's gauges read now."""
        if not MULTIPROCESS:
            return bytes(generate_latest(self.registry))
        self.sample_memory()
        registry = CollectorRegistry()  # the files of every worker, and the store once
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped in prometheus-client
        registry.register(self.store)
        return bytes(generate_latest(registry))


class StoreGauges(Collector):
    """``wps_jobs{status}`` and ``wps_queue_depth`` from the job store, at collection time."""

    def __init__(self) -> None:
        self.counts: Callable[[], JobCounts] | None = None

    def describe(self) -> Iterator[Metric]:
        """The names, without reading the store (a registry asks when the collector joins it)."""
        yield GaugeMetricFamily("wps_jobs", "Jobs in the job store, by status", labels=["status"])
        yield GaugeMetricFamily("wps_queue_depth", "Jobs accepted and waiting for a slot")

    def collect(self) -> Iterator[Metric]:
        """The two gauges, read now (nothing before the service is attached, nor while the job
        store fails: the other metrics are still served, and /readyz says what is wrong)."""
        if self.counts is None:
            return
        try:
            by_status = self.counts().by_status
        except Exception:
            log.warning("job store unavailable: wps_jobs and wps_queue_depth left out", exc_info=True)
            return
        jobs = GaugeMetricFamily("wps_jobs", "Jobs in the job store, by status", labels=["status"])
        for status in JobStatus:
            jobs.add_metric([status.value], by_status.get(status, 0))
        yield jobs
        yield GaugeMetricFamily(
            "wps_queue_depth",
            "Jobs accepted and waiting for a slot, on every instance sharing the job store",
            value=by_status.get(JobStatus.ACCEPTED, 0),
        )


def _route_process(scope: Scope) -> str:
    """The process id of an OGC API route's path, bounded by the registry."""
    process_id = str(scope.get("path_params", {}).get("processID", ""))
    if not process_id:
        return ""
    service = getattr(getattr(scope.get("app"), "state", None), "service", None)
    return process_id if service is not None and service.registered(process_id) else UNKNOWN


def _resident_bytes() -> int:
    """This process's resident set size (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


class MetricsMiddleware:
    """Times and labels every HTTP request (a plain ASGI middleware: no per-request task or stream)."""

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

        with observing() as labels:
            try:
                await self.app(scope, receive, sending)
            finally:
                self.metrics.observe(scope, labels, status, time.perf_counter() - started)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Requests by face, jobs (durations, failures, the store's counts), the process, HTTP routes."""
    state: Metrics = request.app.state.metrics
    exchange = exchange_of(request)
    exchange.gate.user(request)  # not public once users are configured
    return Response(state.exposition(), media_type=CONTENT_TYPE_LATEST)
