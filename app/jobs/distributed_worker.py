"""What every dask worker of the service's cluster needs before it reads an input: GDAL configured.

The API process configures GDAL for remote reads at start-up (:func:`app.raster.gdal_env.configure_gdal`,
environment variables every thread sees). Worker processes read the inputs' chunks, so they need the
same configuration; :class:`WorkerSetup` applies it from the worker's own ``WPS_*`` environment (the
same as the API's) when the worker starts, or at once on a running one. The cluster executor
registers it with the scheduler before each job (idempotent: a worker set up once is left alone), so
workers that join later, or a scheduler restarted since, get it too; nothing to configure on the
workers' command line. The egress proxy needs no set-up: each worker process starts its own on its
first guarded read (:mod:`app.raster.egress`).

This module is imported on the workers (the plugin travels by reference): it must stay importable
without anything of the API process.
"""

from __future__ import annotations

import logging
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

log = logging.getLogger(__name__)

PLUGIN_NAME = "rasterwps-worker-setup"


class WorkerSetup(WorkerPlugin):
    """Configures GDAL in the worker process from the worker's ``WPS_*`` environment."""

    name = PLUGIN_NAME
    idempotent = True  # registering it again (every job) leaves set-up workers alone

    def setup(self, worker: Any) -> None:
        """Apply the service's GDAL defaults (operator values in the environment win)."""
        from app.raster.gdal_env import configure_gdal
        from app.settings import Settings

        try:
            configure_gdal(Settings())
        except Exception:  # a bad WPS_* value must not kill the worker; reads then use GDAL's defaults
            log.exception("could not configure GDAL from this worker's WPS_* environment")
