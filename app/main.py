"""Application factory: settings, registry, job engine, service, codecs, routes and ONE error handler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.algorithms.registry import Registry, default_registry
from app.api import health, jobs, landing, map_page, metrics, outputs, processes, tiles, wps
from app.api.access import Gate
from app.api.assets import install_assets
from app.api.cors import install_cors
from app.api.dispatch import Exchange
from app.api.docs import install_docs
from app.api.errors import install_error_handler
from app.api.metrics import Metrics, MetricsMiddleware
from app.api.openapi import install_openapi
from app.api.request_id import RequestIdMiddleware
from app.auth import Authenticator
from app.jobs.engine import JobEngine
from app.jobs.store import open_store
from app.logs import configure_logging
from app.ogcapi.codec import Codec as OgcApiCodec
from app.raster.compression import parse_compression
from app.raster.gdal_env import configure_gdal
from app.service.metadata import current_update_sequence
from app.service.operations import WpsService
from app.settings import Settings
from app.wps_xml.codecs import WpsCodecs

log = logging.getLogger(__name__)
MEMORY_SAMPLE_SECONDS = 5.0

DESCRIPTION = (
    "Raster geoprocessing on dask-chunked kernels, over OGC API - Processes - Part 1: Core 1.0 (JSON: "
    "`/processes`, `/jobs`) and OGC WPS 1.0.0 / 2.0.0 (XML: `/wps`). One process registry and one job "
    "store: a job submitted through any face is visible and controllable through the others."
)
OPENAPI_TAGS = [
    {"name": "Capabilities", "description": "OGC API - Processes: landing page and conformance"},
    {"name": "Processes", "description": "OGC API - Processes: process list, descriptions, execution"},
    {"name": "Jobs", "description": "OGC API - Processes: job list, status, results, dismissal"},
    {"name": "WPS", "description": "OGC WPS 1.0.0 and 2.0.0 (KVP and XML) over the same processes and jobs"},
]


def create_app(settings: Settings | None = None, registry: Registry | None = None) -> FastAPI:
    """Build the service. Tests pass their own settings and registry; uvicorn uses the defaults."""
    settings = settings or Settings()
    configure_logging(settings)  # first: what follows logs in the configured format
    registry = registry or default_registry()
    parse_compression(settings.output_compression)  # a mistyped codec stops the start, not every job
    configure_gdal(settings)
    gate = Gate(settings, Authenticator(settings) if settings.auth_configured else None)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.outputs_dir.mkdir(parents=True, exist_ok=True)
        metrics: Metrics = app.state.metrics
        engine = JobEngine(settings, open_store(settings), observer=metrics)
        engine.recover()
        sequence = current_update_sequence(settings, registry.descriptions())
        app.state.service = WpsService(settings, registry, engine, update_sequence=sequence)
        app.state.exchange = Exchange(app.state.service, gate)
        metrics.attach(app.state.service.counts)
        chores = [
            asyncio.create_task(_sweep_forever(engine, settings)),
            asyncio.create_task(_beat_forever(engine, settings)),
        ]
        if metrics.memory is not None:  # multiprocess mode: each worker reports its own memory
            chores.append(asyncio.create_task(_sample_memory_forever(metrics)))
        try:
            yield
        finally:
            for chore in chores:
                chore.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await chore
            await run_in_threadpool(engine.shutdown)
            engine.store.close()

    app = FastAPI(
        title=settings.service_title,
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # install_docs serves both pages from local assets, not FastAPI's CDN ones
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.wps_codecs = WpsCodecs(settings)
    app.state.ogcapi_codec = ogcapi_codec = OgcApiCodec(settings)
    app.state.metrics = Metrics()
    # the most requested first
    for module in (wps, processes, jobs, tiles, outputs, landing, health, metrics, map_page):
        app.include_router(module.router)
    install_assets(app)
    install_error_handler(app, default=ogcapi_codec)  # where no route chose a face: problem+json
    install_openapi(app, OPENAPI_TAGS, settings)
    install_docs(app)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    if settings.trusted_proxies:  # X-Forwarded-For/-Proto believed from these peers only
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    install_cors(app, settings)  # every answer, errors included, carries CORS headers
    app.add_middleware(RequestIdMiddleware)  # outermost: CORS preflights carry X-Request-ID too
    return app


async def _sweep_forever(engine: JobEngine, settings: Settings) -> None:
    """Delete expired results periodically (every quarter TTL, at most every minute)."""
    interval = max(1.0, min(60.0, settings.result_ttl / 4))
    while True:
        try:
            expired = await run_in_threadpool(engine.sweep)
            if expired:
                log.info("expired the results of %d jobs", len(expired))
        except Exception:  # the sweeper must outlive a bad moment of the disk or database
            log.exception("result sweep failed")
        await asyncio.sleep(interval)


async def _sample_memory_forever(metrics: Metrics) -> None:
    """Multiprocess metrics: refresh this worker's resident memory every few seconds."""
    while True:
        metrics.sample_memory()
        await asyncio.sleep(MEMORY_SAMPLE_SECONDS)


async def _beat_forever(engine: JobEngine, settings: Settings) -> None:
    """Tell the other instances this one is alive, every quarter lease; fail the jobs of silent ones."""
    while True:
        await asyncio.sleep(settings.instance_lease / 4)
        try:  # its own thread: the heartbeat must not queue behind busy request threads
            await asyncio.to_thread(engine.heartbeat)
        except Exception:  # a database outage must not end the heartbeat: it beats again when back
            log.exception("instance heartbeat failed")


app = create_app()
