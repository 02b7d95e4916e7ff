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
from app.model.rendering import Rendering
from app.raster.grid import Grid


def ndvi(red: xr.DataArray, nir: xr.DataArray) -> xr.DataArray:
    """(nir - red) / (nir + red) as float32; NaN where either is nodata or the sum is zero.

    Pure and lazy: dask-backed inputs give a dask-backed result with the grid of ``red``. One
    task per chunk computes the whole index in place (:func:`ndvi_block`): the same values as the
    xarray expression, in a third of its time and memory traffic.
    """
    red, nir = xr.align(red, nir, join="override")  # same grid: one set of coords
    index = xr.apply_ufunc(
        ndvi_block,
        red,
        nir,
        kwargs={"red_nodata": _nodata(red), "nir_nodata": _nodata(nir)},
        dask="parallelized",
        output_dtypes=[np.float32],
    )
    return Grid.of(red).with_nodata(math.nan).stamp(index)


def ndvi_block(
    red: np.ndarray, nir: np.ndarray, red_nodata: float | None = None, nir_nodata: float | None = None
) -> np.ndarray:
    """The NDVI of two arrays in float32: NaN where either is nodata (or NaN) or the sum is zero."""
    red_f = red.astype(np.float32)
    nir_f = nir.astype(np.float32)  # a new array: the index is computed into it
    total = nir_f + red_f
    index = np.subtract(nir_f, red_f, out=nir_f)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(index, total, out=index)
    invalid = total == 0
    if red_nodata is not None:
        invalid |= red == red_nodata
    if nir_nodata is not None:
        invalid |= nir == nir_nodata
    index[invalid] = np.nan
    return index


def _nodata(data: xr.DataArray) -> float | None:
    """The declared nodata, None when there is none or it is NaN (NaN propagates by itself)."""
    nodata = data.rio.nodata
    return None if nodata is None or math.isnan(nodata) else float(nodata)


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
    outputs = (
        Output(
            "ndvi",
            "NDVI",
            DataKind.COMPLEX,
            formats=GEOTIFF_FORMATS,
            rendering=Rendering(rescale=(-1, 1), colormap_name="rdylgn"),
        ),
    )

    def run(self, inputs: NdviInputs) -> Mapping[str, object]:
        """Check the grids match, then build the lazy index."""
        Grid.of(inputs.red).require_same(Grid.of(inputs.nir), locator="nir")
        return {"ndvi": ndvi(inputs.red.isel(band=0), inputs.nir.isel(band=0))}
