"""Independent oracles the tests compare kernels with: whole-array numpy and rasterio computations,
and ESRI's published terrain formulas, pixel by pixel. Nothing here calls the service's kernels."""

from __future__ import annotations

import math

import numpy as np
import rasterio
import rasterio.warp
from rasterio.enums import Resampling

from app.raster.grid import Grid
from tests.support.rasters import Raster


def as_float(raster: Raster) -> np.ndarray:
    """Band 1 as float32, NaN where nodata."""
    values = raster.data[0].astype(np.float32)
    if raster.spec.nodata is not None:
        values[raster.data[0] == raster.spec.nodata] = np.nan
    return values


def numpy_change(old: np.ndarray, new: np.ndarray, method: str) -> np.ndarray:
    """The change in float32 numpy arithmetic; NaN where undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "difference":
            return new - old
        if method == "ratio":
            return np.where(old != 0, new / old, np.float32(np.nan))
        total = new + old
        return np.where(total != 0, (new - old) / total, np.float32(np.nan))


def numpy_mask(values: np.ndarray, method: str, threshold: float) -> np.ndarray:
    size = np.abs(values.astype(np.float64) - (1.0 if method == "ratio" else 0.0))
    mask = np.where(size > threshold, 1, 0).astype(np.uint8)
    mask[np.isnan(values)] = 255
    return mask


def numpy_fraction(mask: np.ndarray) -> float:
    valid = int((mask != 255).sum())
    return int((mask == 1).sum()) / valid if valid else 0.0


def aligned_by_rasterio(after: Raster, before: Raster) -> np.ndarray:
    """``after`` as float32 (NaN nodata), warped bilinearly onto ``before``'s grid in one call."""
    out = np.full((before.spec.height, before.spec.width), np.nan, dtype=np.float32)
    rasterio.warp.reproject(
        as_float(after),
        out,
        src_transform=after.spec.transform,
        src_crs=after.spec.crs,
        src_nodata=np.nan,
        dst_transform=before.spec.transform,
        dst_crs=before.spec.crs,
        dst_nodata=np.nan,
        resampling=Resampling.bilinear,
    )
    return out


def whole_array_warp(raster: Raster, grid: Grid, method: str, nodata: float | None = None) -> np.ndarray:
    """rasterio.warp.reproject of the whole (band, y, x) array in memory, GDAL defaults."""
    fill = raster.spec.nodata if nodata is None else nodata
    out = np.full((raster.spec.count, grid.height, grid.width), fill, dtype=raster.spec.dtype)
    rasterio.warp.reproject(
        raster.data,
        out,
        src_transform=raster.spec.transform,
        src_crs=raster.spec.crs,
        src_nodata=raster.spec.nodata,
        dst_transform=grid.transform,
        dst_crs=grid.crs,
        dst_nodata=fill,
        resampling=Resampling[method],
    )
    return out


def hilly(rows: int, cols: int, seed: int = 0) -> np.ndarray:
    """A smooth surface with noise and a tilt: every aspect and slope occurs."""
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float64)
    noise = np.random.default_rng(seed).normal(0.0, 2.0, (rows, cols))
    return (40 * np.sin(x / 7.0) * np.cos(y / 11.0) + 0.8 * x - 0.3 * y + noise + 500).astype(np.float32)


def esri_reference(
    z: np.ndarray,
    x_size: np.ndarray,
    y_size: np.ndarray,
    product: str,
    z_factor: float = 1.0,
    azimuth: float = 315.0,
    altitude: float = 45.0,
) -> np.ndarray:
    """Per-pixel loops with ESRI's published slope/aspect/hillshade formulas (north-up rasters).

    ``x_size``/``y_size`` are the positive pixel sizes of each row. Edge and nodata-adjacent
    pixels are NaN; flat pixels have NaN aspect.
    """
    rows, cols = z.shape
    out = np.full((rows, cols), np.nan)
    for r in range(1, rows - 1):
        for c in range(1, cols - 1):
            w = z[r - 1 : r + 2, c - 1 : c + 2].astype(np.float64) * z_factor
            if np.isnan(w).any():
                continue
            dzdx = ((w[0, 2] + 2 * w[1, 2] + w[2, 2]) - (w[0, 0] + 2 * w[1, 0] + w[2, 0])) / (8 * x_size[r])
            dzdy = ((w[2, 0] + 2 * w[2, 1] + w[2, 2]) - (w[0, 0] + 2 * w[0, 1] + w[0, 2])) / (8 * y_size[r])
            out[r, c] = _esri_value(dzdx, dzdy, product, azimuth, altitude)
    return out


def _esri_value(dzdx: float, dzdy: float, product: str, azimuth: float, altitude: float) -> float:
    slope_rad = math.atan(math.hypot(dzdx, dzdy))
    if product == "slope":
        return math.degrees(slope_rad)
    if product == "aspect":
        if dzdx == 0 and dzdy == 0:
            return math.nan
        aspect = math.degrees(math.atan2(dzdy, -dzdx))
        cell = 90.0 - aspect if aspect <= 90.0 else 360.0 - aspect + 90.0
        return cell % 360.0
    if dzdx != 0:
        aspect_rad = math.atan2(dzdy, -dzdx) % (2 * math.pi)
    else:
        aspect_rad = math.pi / 2 if dzdy > 0 else (1.5 * math.pi if dzdy < 0 else 0.0)
    zenith = math.radians(90.0 - altitude)
    azimuth_math = math.radians((360.0 - azimuth + 90.0) % 360.0)
    shade = math.cos(zenith) * math.cos(slope_rad) + math.sin(zenith) * math.sin(slope_rad) * math.cos(
        azimuth_math - aspect_rad
    )
    return 1.0 + 254.0 * max(shade, 0.0)
