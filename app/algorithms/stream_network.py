"""``stream_network``: the cells whose flow accumulation reaches a threshold.

The DEM is filled, its D8 directions and flow accumulation taken as ``flow_accumulation`` does
(:meth:`app.algorithms.hydrology.drainage.Drainage.accumulation`); a cell is a stream cell when its
accumulation (cells draining through it, itself included) is at least ``threshold``. uint8: 1
stream, 0 not, 255 nodata (the DEM's nodata).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import dask.array as da
import numpy as np
import xarray as xr
from pydantic import Field

from app.algorithms.base import ComplexInput, LiteralInput, Output, Process, ProcessInputs
from app.algorithms.fill_sinks import DEM_ABSTRACT
from app.algorithms.formats import GEOTIFF_FORMATS
from app.model.descriptions import DataKind
from app.model.rendering import Rendering
from app.raster.grid import Grid

STREAM_NODATA = 255
DEFAULT_THRESHOLD = 1000


def _classify(block: np.ndarray, threshold: float) -> np.ndarray:
    streams = (block >= threshold).astype(np.uint8)
    streams[np.isnan(block)] = STREAM_NODATA
    return streams


def streams(accumulation: xr.DataArray, threshold: float) -> xr.DataArray:
    """uint8: 1 where ``accumulation`` >= ``threshold``, 0 where below, 255 where NaN (lazy)."""
    data = accumulation.data
    if not isinstance(data, da.Array):
        data = da.from_array(np.asarray(data))
    classes = da.map_blocks(_classify, data, float(threshold), dtype=np.uint8)
    return Grid.of(accumulation).with_nodata(STREAM_NODATA).stamp(accumulation.copy(data=classes))


class StreamNetworkInputs(ProcessInputs):
    """Inputs of ``stream_network``."""

    dem: Annotated[xr.DataArray, ComplexInput("Elevation model", GEOTIFF_FORMATS, DEM_ABSTRACT)]
    threshold: Annotated[
        int,
        Field(ge=1),
        LiteralInput(
            "Threshold",
            "Cells of flow accumulation (itself included) from which a cell is a stream cell.",
        ),
    ] = DEFAULT_THRESHOLD


class StreamNetwork(Process):
    """Stream network: the cells whose flow accumulation reaches a threshold.

    The DEM is filled, its D8 directions and flow accumulation taken as flow_accumulation does
    (water leaves through the raster's edge or into nodata; steepest descent; flats drained
    towards lower terrain; accumulation = the cells draining through a cell, itself included).
    ``threshold`` is in cells: a cell draining at least that many cells is a stream cell
    (threshold x pixel area = the smallest catchment of a stream). The result is a uint8
    GeoTIFF on the DEM's grid (band 1): 1 stream, 0 not, 255 nodata.
    """

    identifier = "stream_network"
    title = "Stream network"
    keywords = ("hydrology", "dem", "streams", "flow accumulation", "raster")
    Inputs = StreamNetworkInputs
    outputs = (
        Output(
            "streams",
            "Stream cells",
            DataKind.COMPLEX,
            formats=GEOTIFF_FORMATS,
            abstract="uint8: 1 where the flow accumulation >= threshold, 0 elsewhere, 255 nodata.",
            rendering=Rendering(rescale=(0, 1), colormap_name="blues"),
        ),
    )

    def run(self, inputs: StreamNetworkInputs) -> Mapping[str, object]:
        """Build the lazy stream mask of the filled first band."""
        # imported here, not at start-up: numba costs every API process ~56 MB (see hydrology/__init__)
        from app.algorithms.hydrology.drainage import Drainage

        accumulation = Drainage(inputs.dem.isel(band=0)).accumulation()
        return {"streams": streams(accumulation, inputs.threshold)}
