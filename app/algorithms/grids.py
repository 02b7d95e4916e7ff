"""Small pure helpers kernels share: nodata masking, grid checks, spatial metadata."""

from __future__ import annotations

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from app.model.errors import InvalidParameterValue


def as_float(data: xr.DataArray) -> xr.DataArray:
    """The raster as float32 with its nodata pixels set to NaN (lazy)."""
    nodata = data.rio.nodata
    as_f32 = data.astype(np.float32)
    if nodata is None or (isinstance(nodata, float) and np.isnan(nodata)):
        return as_f32
    return as_f32.where(data != nodata)


def with_float_nodata(result: xr.DataArray, like: xr.DataArray) -> xr.DataArray:
    """A float result carrying the CRS and transform of ``like``, NaN declared as nodata."""
    result = result.rio.write_crs(like.rio.crs)
    result = result.rio.write_transform(like.rio.transform())
    result.attrs = {}
    return result.rio.write_nodata(np.float32(np.nan), encoded=False)


def require_same_grid(first: xr.DataArray, second: xr.DataArray, locator: str) -> None:
    """Raise InvalidParameterValue unless both rasters share CRS, transform and size."""
    problems = []
    if first.rio.crs != second.rio.crs:
        problems.append(f"CRS {second.rio.crs} differs from {first.rio.crs}")
    if first.rio.shape != second.rio.shape:
        problems.append(f"size {second.rio.shape} differs from {first.rio.shape}")
    if not first.rio.transform().almost_equals(second.rio.transform()):
        problems.append("the geotransforms differ")
    if problems:
        raise InvalidParameterValue(
            f"input {locator!r} is not on the same grid: " + "; ".join(problems), locator=locator
        )
