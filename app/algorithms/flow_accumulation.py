"""``flow_accumulation``: the number of cells that drain through each cell of a DEM.

The process around the tiled hydrology of :mod:`app.algorithms.hydrology` (bounded memory, the
same result whatever the chunking): the DEM is filled (``fill_sinks``), its D8 directions taken
(``flow_direction``), then every cell counts the cells whose flow passes through it, itself
included (Barnes 2017), the three chained by :class:`~app.algorithms.hydrology.drainage.Drainage`.
Nodata cells are nodata (NaN) in the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import xarray as xr

from app.algorithms.base import ComplexInput, Output, Process, ProcessInputs
from app.algorithms.fill_sinks import DEM_ABSTRACT
from app.algorithms.formats import GEOTIFF_FORMATS
from app.model.descriptions import DataKind
from app.model.rendering import Rendering


class FlowAccumulationInputs(ProcessInputs):
    """Inputs of ``flow_accumulation``."""

    dem: Annotated[xr.DataArray, ComplexInput("Elevation model", GEOTIFF_FORMATS, DEM_ABSTRACT)]


class FlowAccumulation(Process):
    """Flow accumulation of a digital elevation model: the cells that drain through each cell.

    The DEM is filled as fill_sinks does (water leaves through the raster's edge or into nodata)
    and its D8 directions are taken as flow_direction does (steepest descent, flats drained
    towards lower terrain, nodata never receives flow). Each cell then gets the number of cells
    whose flow passes through it, itself included: 1 on a ridge, the drained area in cells along
    the streams. Nodata cells are NaN. Computed tile by tile with bounded memory; the result is
    the same as a whole-raster computation. The result is a float32 GeoTIFF, NaN nodata, on the
    DEM's grid (band 1); counts above 2^24 (16.7 million cells) are rounded to float32.
    """

    identifier = "flow_accumulation"
    title = "Flow accumulation"
    keywords = ("hydrology", "dem", "flow accumulation", "d8", "raster")
    Inputs = FlowAccumulationInputs
    outputs = (
        Output(
            "accumulation",
            "Flow accumulation",
            DataKind.COMPLEX,
            formats=GEOTIFF_FORMATS,
            abstract="float32, cells draining through each cell (itself included); NaN nodata.",
            rendering=Rendering(colormap_name="blues"),  # the range from the data (2nd..98th percentile)
        ),
    )

    def run(self, inputs: FlowAccumulationInputs) -> Mapping[str, object]:
        """Build the lazy accumulation of the filled first band."""
        # imported here, not at start-up: numba costs every API process ~56 MB (see hydrology/__init__)
        from app.algorithms.hydrology.drainage import Drainage

        return {"accumulation": Drainage(inputs.dem.isel(band=0)).accumulation()}
