"""``fill_sinks``: a DEM whose every cell drains to the raster's edge or to nodata (priority-flood).

The process around :func:`app.algorithms.hydrology.fill.fill_sinks`, which does the work tile by
tile with bounded memory (Barnes 2016); the result is exactly the whole-array priority-flood,
whatever the chunking. Conventions (the "Hydrology conventions" of the catalogue): the seeds are
the valid cells on the raster's edge and the valid cells with any of their 8 neighbours nodata;
every other cell is raised to the lowest level at which water can leave it (epsilon-free: a filled
depression is exactly flat at its spill elevation). Nodata stays nodata.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import xarray as xr

from app.algorithms.base import ComplexInput, Output, Process, ProcessInputs
from app.algorithms.formats import GEOTIFF_FORMATS
from app.model.descriptions import DataKind
from app.model.rendering import Rendering

DEM_ABSTRACT = "GeoTIFF of elevations; band 1 is used, its nodata (and NaN) left out."


class FillSinksInputs(ProcessInputs):
    """Inputs of ``fill_sinks``."""

    dem: Annotated[xr.DataArray, ComplexInput("Elevation model", GEOTIFF_FORMATS, DEM_ABSTRACT)]


class FillSinks(Process):
    """Fill the sinks of a digital elevation model (priority-flood, Barnes et al. 2014).

    Water leaves the DEM through its edge or into nodata: the seeds are the valid cells on the
    raster's edge and the valid cells with any of their 8 neighbours nodata. Every other cell is
    raised to the lowest level at which water can leave it (the minimum, over 8-connected paths of
    valid cells to a seed, of the highest elevation on the path), so every cell drains to the edge
    or to nodata. No epsilon gradient is added: a filled depression is exactly flat at its spill
    elevation (flow_direction drains such flats). Computed tile by tile with bounded memory; the
    result is the same as a whole-raster priority-flood. The result is a float32 GeoTIFF, NaN
    nodata, on the DEM's grid (band 1).
    """

    identifier = "fill_sinks"
    title = "Fill sinks"
    keywords = ("hydrology", "dem", "sinks", "depressions", "priority-flood", "raster")
    Inputs = FillSinksInputs
    outputs = (
        Output(
            "filled",
            "Filled elevation model",
            DataKind.COMPLEX,
            formats=GEOTIFF_FORMATS,
            abstract="float32, NaN nodata: the DEM with its sinks filled.",
            rendering=Rendering(colormap_name="terrain"),  # the elevation range from the data
        ),
    )

    def run(self, inputs: FillSinksInputs) -> Mapping[str, object]:
        """Build the lazy filled DEM of the first band."""
        # imported here, not at start-up: numba costs every API process ~56 MB (see hydrology/__init__)
        from app.algorithms.hydrology.fill import fill_sinks

        return {"filled": fill_sinks(inputs.dem.isel(band=0))}
