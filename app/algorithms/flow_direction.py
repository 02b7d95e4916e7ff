"""``flow_direction``: D8 flow directions of a DEM, its sinks filled first.

The process around the fill and D8 steps of :mod:`app.algorithms.hydrology`, chained by
:class:`~app.algorithms.hydrology.drainage.Drainage` (tiled, bounded memory, the same result
whatever the chunking). Conventions (the "Hydrology conventions" of the catalogue): the DEM is
filled first (priority-flood from the edge and from the cells next to nodata); each cell points
to its steepest downslope neighbour (drop per distance); flats left by the filling are drained
towards lower terrain along the flat; nodata never receives flow; a cell still without a lower
neighbour gets 0 (edges are not forced outward); nodata cells get 255.
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

DIRECTION_NODATA = 255
# the D8 codes are not linear in angle: a cyclic colormap over 0..128 at least keeps E (1) and
# NE (128) far from N (64) and W (16); pass colormap_name / rescale for another look
DIRECTION_RENDERING = Rendering(rescale=(0, 128), colormap_name="twilight")


class FlowDirectionInputs(ProcessInputs):
    """Inputs of ``flow_direction``."""

    dem: Annotated[xr.DataArray, ComplexInput("Elevation model", GEOTIFF_FORMATS, DEM_ABSTRACT)]


class FlowDirection(Process):
    """D8 flow directions of a digital elevation model, its sinks filled first.

    The DEM is filled first as fill_sinks does (priority-flood: water leaves through the raster's
    edge or into nodata). Each cell with a strictly lower valid neighbour then points to the one
    of steepest drop per distance (the pixel width east-west, its height north-south, their
    hypotenuse diagonally; in metres at the row's latitude for a geographic CRS; ties to the first
    in the order E, SE, S, SW, W, NW, N, NE), as a D8 code: 1 = E, 2 = SE, 4 = S, 8 = SW, 16 = W,
    32 = NW, 64 = N, 128 = NE (the ESRI convention). Flats left by the filling are drained towards
    lower terrain: a flat cell points to the equal neighbour one step closer (in 8-connected steps
    across the flat; ties in the same order) to the nearest cell of the flat that has a way down
    or lies on the raster's edge or next to nodata (the "towards lower terrain" gradient of
    Garbrecht & Martz, without their second gradient away from higher terrain).
    Nodata never receives flow; a cell still without a lower neighbour gets 0 (edges are not
    forced outward); nodata cells get 255. Computed tile by tile with bounded memory; the result
    is the same as a whole-raster computation. The result is a uint8 GeoTIFF, nodata 255, on the
    DEM's grid (band 1).
    """

    identifier = "flow_direction"
    title = "Flow direction (D8)"
    keywords = ("hydrology", "dem", "flow direction", "d8", "raster")
    Inputs = FlowDirectionInputs
    outputs = (
        Output(
            "direction",
            "D8 flow direction",
            DataKind.COMPLEX,
            formats=GEOTIFF_FORMATS,
            abstract=(
                "uint8: 1 E, 2 SE, 4 S, 8 SW, 16 W, 32 NW, 64 N, 128 NE; 0 without a downslope "
                "neighbour; 255 nodata."
            ),
            rendering=DIRECTION_RENDERING,
        ),
    )

    def run(self, inputs: FlowDirectionInputs) -> Mapping[str, object]:
        """Build the lazy directions of the filled first band."""
        # imported here, not at start-up: numba costs every API process ~56 MB (see hydrology/__init__)
        from app.algorithms.hydrology.drainage import Drainage

        return {"direction": Drainage(inputs.dem.isel(band=0)).directions()}
