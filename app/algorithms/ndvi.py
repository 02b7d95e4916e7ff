"""``ndvi``: normalized difference vegetation index of a red and a near-infrared raster."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated

import numpy as np
import xarray as xr

from app.algorithms.base import ComplexInput, Output, Process, ProcessInputs
from app.algorithms.formats import GEOTIFF_FORMATS
from app.model.descriptions import DataKind
from app.raster.grid import Grid, as_float


def ndvi(red: xr.DataArray, nir: xr.DataArray) -> xr.DataArray:
    """(nir - red) / (nir + red) as float32; NaN where either is nodata or the sum is zero.

    Pure and lazy: dask-backed inputs give a dask-backed result with the grid of ``red``.
    """
    red_f, nir_f = xr.align(as_float(red), as_float(nir), join="override")  # same grid: one set of coords
    total = nir_f + red_f
    index = ((nir_f - red_f) / total.where(total != 0)).astype(np.float32)
    return Grid.of(red).with_nodata(math.nan).stamp(index)


class NdviInputs(ProcessInputs):
    """Inputs of ``ndvi``."""

    red: Annotated[xr.DataArray, ComplexInput("Red band", GEOTIFF_FORMATS, "Single-band GeoTIFF.")]
    nir: Annotated[xr.DataArray, ComplexInput("Near-infrared band", GEOTIFF_FORMATS, "Same grid as red.")]


class Ndvi(Process):
    """Normalized difference vegetation index, (nir - red) / (nir + red).

    The result is a float32 GeoTIFF on the grid of the inputs, NaN where a pixel is nodata in
    either input or where nir + red is zero. Both inputs must share CRS, transform and size.
    """

    identifier = "ndvi"
    title = "NDVI"
    keywords = ("vegetation", "index", "raster")
    Inputs = NdviInputs
    outputs = (Output("ndvi", "NDVI", DataKind.COMPLEX, formats=GEOTIFF_FORMATS),)

    def run(self, inputs: NdviInputs) -> Mapping[str, object]:
        """Check the grids match, then build the lazy index."""
        Grid.of(inputs.red).require_same(Grid.of(inputs.nir), locator="nir")
        return {"ndvi": ndvi(inputs.red.isel(band=0), inputs.nir.isel(band=0))}
