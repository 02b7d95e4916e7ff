"""Write a (dask-backed) DataArray as a tiled, compressed GeoTIFF, chunk by chunk.

``dask.array.store`` computes the graph with whatever scheduler is active in the caller's context
and hands each finished chunk to a window writer; writes are serialized by a lock (a GDAL dataset
is not thread-safe) while reads and kernels run in parallel. Chunks are first aligned to the 512 x
512 output tiles so every tile is written once, whole, and compressed once. Memory stays bounded by
a few chunks per worker thread, never the whole scene.

A dask.distributed scheduler cannot ship the open dataset to its workers; distributed runs need a
write path of their own (results gathered to the writing process, or per-tile files).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dask.array as da
import dask.base
import numpy as np
import rasterio
import rasterio.windows
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from dask.delayed import Delayed
from rasterio.errors import RasterioError

from app.model.errors import NotEnoughStorage
from app.raster.grid import default_nodata

TILE = 512
_CASTS = {np.dtype(bool): np.uint8, np.dtype(np.float16): np.float32}  # not GeoTIFF types


def write_geotiff(data: xr.DataArray, path: Path, compute_kwargs: Mapping[str, Any] | None = None) -> None:
    """Compute ``data`` (dims (y, x) or (band, y, x)) into a tiled deflate GeoTIFF at ``path``.

    CRS, transform, dtype and nodata are kept; float results without a nodata value get NaN (the
    service's rule, ``app.raster.grid.default_nodata``); integer ones declare none.
    ``compute_kwargs`` go to the scheduler (a job's progress/cancellation callbacks).
    """
    with geotiff_store(data, path) as store:
        dask.base.compute(store, **(compute_kwargs or {}))


@contextmanager
def geotiff_store(data: xr.DataArray, path: Path) -> Iterator[Delayed]:
    """Open the output file and yield the lazy store of ``data`` into it.

    Compute the store inside the ``with`` (possibly together with other stores and reductions,
    so that shared inputs are read once); the file is complete when the block exits, and removed
    if anything failed.
    """
    cube = _as_cube(data)
    array = _dask_array(cube)
    profile = geotiff_profile(cube, array.dtype)
    array = _align_chunks(array, int(profile["blockysize"]), int(profile["blockxsize"]))
    try:
        with rasterio.open(path, "w", **profile) as dst:
            target = _WindowTarget(dst)
            yield da.store(array, target, lock=threading.Lock(), compute=False)  # type: ignore[arg-type]
    except BaseException as exc:
        path.unlink(missing_ok=True)
        if isinstance(exc, RasterioError) and "No space left" in str(exc):
            raise NotEnoughStorage("no room left for the result") from exc
        raise


def geotiff_profile(cube: xr.DataArray, dtype: np.dtype) -> dict[str, Any]:
    """The creation options of the output file for a (band, y, x) array."""
    count, height, width = cube.shape
    nodata = cube.rio.nodata
    if nodata is None and dtype.kind == "f":
        # The one rule's NaN is never data, so declaring it changes nothing; an integer type's
        # default (its extreme) may be data, so a result without nodata declares none.
        nodata = default_nodata(dtype)
    predictor = {"f": 3, "i": 2, "u": 2}.get(dtype.kind, 1)
    return {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": dtype.name,
        "crs": cube.rio.crs,
        "transform": cube.rio.transform(recalc=True),
        "nodata": None if nodata is None else float(nodata),
        "tiled": True,
        "blockxsize": _tile_edge(width),
        "blockysize": _tile_edge(height),
        "compress": "deflate",
        # Level 1: on 10980 x 10980 NDVI (float32) and reflectance (uint16) tiles the files came
        # out the same size as at the default level 6, in about half the compression time.
        "zlevel": 1,
        "predictor": predictor,
        "interleave": "pixel" if count > 1 else "band",
        "BIGTIFF": "IF_SAFER",
        # Deflate in GDAL worker threads while the dask threads read and compute the next chunks.
        "NUM_THREADS": os.environ.get("GDAL_NUM_THREADS", "ALL_CPUS"),
    }


def _tile_edge(size: int) -> int:
    """512, or less for small rasters (GeoTIFF tiles are multiples of 16)."""
    return min(TILE, 16 * math.ceil(max(size, 1) / 16))


def _as_cube(data: xr.DataArray) -> xr.DataArray:
    """The array as (band, y, x), with the spatial dims last."""
    y_dim, x_dim = data.rio.y_dim, data.rio.x_dim
    if data.ndim == 2:
        return data.transpose(y_dim, x_dim).expand_dims("band")
    if data.ndim == 3:
        (band_dim,) = (dim for dim in data.dims if dim not in (y_dim, x_dim))
        return data.transpose(band_dim, y_dim, x_dim)
    raise ValueError(f"cannot write a {data.ndim}-D array as a GeoTIFF")


def _dask_array(cube: xr.DataArray) -> da.Array:
    array = cube.data if isinstance(cube.data, da.Array) else da.from_array(cube.data, chunks=(1, 2048, 2048))
    cast = _CASTS.get(array.dtype)
    return array.astype(cast) if cast is not None else array


def _align_chunks(array: da.Array, tile_rows: int, tile_cols: int) -> da.Array:
    """Rechunk so that every chunk boundary falls on a tile boundary (no-op when it already does)."""
    new = (array.chunks[0], _aligned(array.chunks[1], tile_rows), _aligned(array.chunks[2], tile_cols))
    return array if new == array.chunks else array.rechunk(new)


def _aligned(chunks: tuple[int, ...], tile: int) -> tuple[int, ...]:
    if all(size % tile == 0 for size in chunks[:-1]):
        return chunks
    step = tile * max(1, round(max(chunks) / tile))
    total = sum(chunks)
    return tuple(min(step, total - start) for start in range(0, total, step))


class _WindowTarget:
    """``dask.array.store`` target: ``target[band, rows, cols] = block`` writes that window."""

    def __init__(self, dataset: rasterio.io.DatasetWriter) -> None:
        self.dataset = dataset

    def __setitem__(self, key: tuple[slice, slice, slice], block: np.ndarray) -> None:
        bands, rows, cols = key
        window = rasterio.windows.Window.from_slices((rows.start, rows.stop), (cols.start, cols.stop))
        indexes = list(range(bands.start + 1, bands.stop + 1))
        self.dataset.write(block, indexes=indexes, window=window)
