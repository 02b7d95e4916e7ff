"""Test-only processes for job-engine tests: a raster output computed slowly, chunk by chunk.

Registered into a fresh app with ``default_registry().register(...)`` (the registry is injected).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Annotated

import dask.array as da
import numpy as np
import rioxarray  # noqa: F401
import xarray as xr
from affine import Affine
from pydantic import Field

from app.algorithms.base import LiteralInput, Output, Process, ProcessInputs
from app.algorithms.formats import GEOTIFF_FORMATS
from app.model.descriptions import DataKind


class SlowInputs(ProcessInputs):
    """How long each of the 64 chunks takes, and whether it burns CPU or sleeps."""

    seconds: Annotated[float, Field(ge=0, le=5), LiteralInput("Seconds per chunk")] = 0.05
    busy: Annotated[bool, LiteralInput("Burn CPU instead of sleeping")] = False


def _slow_block(block: np.ndarray, seconds: float, busy: bool) -> np.ndarray:
    deadline = time.perf_counter() + seconds
    if not busy:
        time.sleep(seconds)
    while busy and time.perf_counter() < deadline:
        np.sin(np.arange(20000.0))
    return block


class Slow(Process):
    """A 512 x 512 raster computed as 64 chunks, each taking ``seconds``."""

    identifier = "slow"
    title = "Slow"
    Inputs = SlowInputs
    outputs = (Output("result", "Result", DataKind.COMPLEX, formats=GEOTIFF_FORMATS),)

    def run(self, inputs: SlowInputs) -> Mapping[str, object]:
        blocks = da.ones((512, 512), chunks=64, dtype="float32").map_blocks(
            _slow_block, seconds=inputs.seconds, busy=inputs.busy, dtype="float32"
        )
        data = xr.DataArray(blocks, dims=("y", "x"))
        data = data.rio.write_crs("EPSG:32631").rio.write_transform(Affine(10, 0, 500000, 0, -10, 5600000))
        return {"result": data}
