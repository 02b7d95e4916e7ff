"""Write a (dask-backed) DataArray as a Cloud Optimized GeoTIFF, chunk by chunk, in parallel.

The result is a COG as GDAL's COG driver lays it out (tiled 512 x 512, compressed, with
overviews, IFDs before the data, smallest overview first): see :mod:`app.raster.cog` for how
dask tasks write it without a lock and without holding the raster, :mod:`app.raster.overviews`
for the overview levels and their resampling, :mod:`app.raster.compression` for the codecs.

:func:`geotiff_store` yields a lazy dask collection; computed inside the ``with`` block (with
whatever scheduler the caller uses: threads, or a dask.distributed cluster sharing the folder),
possibly together with other stores and reductions so that shared inputs are read once, it leaves
the complete file at ``path``. If anything fails, no file is left, nor any part of one.
"""

from __future__ import annotations

import errno
import math
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dask.array as da
import dask.base
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from app.model.errors import NotEnoughStorage
from app.raster.cog import TileCoder, cog_collection
from app.raster.compression import Compression, as_compression, predictor_for
from app.raster.grid import default_nodata
from app.raster.overviews import aligned, overview_resampling
from app.raster.tiff import georeferencing_tags, sample_format

TILE = 512
_CASTS = {np.dtype(bool): np.uint8, np.dtype(np.float16): np.float32}  # not GeoTIFF types
_CHUNK_BYTES = 64 * 2**20  # bound of one chunk of all bands (many-band results get smaller chunks)
_NO_ROOM = {errno.ENOSPC, errno.EDQUOT}


def write_geotiff(
    data: xr.DataArray,
    path: Path,
    compute_kwargs: Mapping[str, Any] | None = None,
    compression: Compression | str | None = None,
) -> None:
    """Compute ``data`` (dims (y, x) or (band, y, x)) into a COG at ``path``.

    CRS, transform, dtype and nodata are kept; float results without a nodata value get NaN (the
    service's rule, ``app.raster.grid.default_nodata``); integer ones declare none.
    ``compute_kwargs`` go to the scheduler (a job's progress/cancellation callbacks);
    ``compression`` is a :class:`Compression` or a ``WPS_OUTPUT_COMPRESSION`` text ("" = default).
    """
    with geotiff_store(data, path, compression) as store:
        dask.base.compute(store, **(compute_kwargs or {}))


@contextmanager
def geotiff_store(
    data: xr.DataArray,
    path: Path,
    compression: Compression | str | None = None,
    *,
    resampling: str | None = None,
) -> Iterator[da.Array]:
    """Yield the lazy write of ``data`` as a COG at ``path`` (a 0-d array: the file size).

    Compute it inside the ``with`` (possibly together with other stores and reductions, so that
    shared inputs are read once); the file is complete when the computation ends, and neither
    it nor its part files remain if anything failed. ``resampling`` of the overviews: ``average``
    or ``nearest``, by default average for floats and nearest for integers.
    Raises ValueError for an invalid ``compression`` or ``resampling`` before anything is written.
    """
    codec = as_compression(compression)
    cube = _as_cube(data)
    array = _dask_array(cube)
    sample_format(array.dtype)  # refuses complex and other non-GeoTIFF types now
    method = overview_resampling(array.dtype, resampling)
    nodata = result_nodata(cube, array.dtype)
    tile = (_tile_edge(array.shape[1]), _tile_edge(array.shape[2]))
    tags = georeferencing_tags(
        cube.rio.crs, cube.rio.transform(recalc=True), nodata, array.dtype.name, array.shape[0]
    )
    parts = path.parent / f".{path.name}.parts"
    try:
        shutil.rmtree(parts, ignore_errors=True)  # a crashed run's leftovers
        parts.mkdir()
        fill = 0.0 if nodata is None else nodata
        coder = TileCoder(str(parts), tile, codec, predictor_for(array.dtype), fill)
        yield cog_collection(
            write_chunks(array, tile), path, coder, main_tags=tags, resampling=method, nodata=nodata
        )
    except BaseException as exc:
        path.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in _NO_ROOM:
            raise NotEnoughStorage("no room left for the result") from exc
        raise
    finally:
        shutil.rmtree(parts, ignore_errors=True)


def result_nodata(cube: xr.DataArray, dtype: np.dtype) -> float | None:
    """The nodata the file declares: the data's, or NaN for floats without one; None otherwise.

    The one rule's NaN is never data, so declaring it changes nothing; an integer type's default
    (its extreme) may be data, so an integer result without nodata declares none.
    """
    nodata = cube.rio.nodata
    if nodata is None and dtype.kind == "f":
        nodata = default_nodata(dtype)
    return None if nodata is None else float(nodata)


def write_chunks(array: da.Array, tile: tuple[int, int]) -> da.Array:
    """Chunks of whole tiles holding every band (pixel-interleaved tiles), at most _CHUNK_BYTES."""
    pixel_bytes = array.shape[0] * array.dtype.itemsize
    edge = math.isqrt(max(_CHUNK_BYTES // pixel_bytes, 1))
    rows = _at_most(aligned(array.chunks[1], tile[0]), tile[0], edge)
    cols = _at_most(aligned(array.chunks[2], tile[1]), tile[1], edge)
    new = ((array.shape[0],), rows, cols)
    return array if new == array.chunks else array.rechunk(new)


def _at_most(chunks: tuple[int, ...], tile: int, edge: int) -> tuple[int, ...]:
    step = max(tile, edge // tile * tile)
    if max(chunks) <= step:
        return chunks
    total = sum(chunks)
    return tuple(min(step, total - start) for start in range(0, total, step))


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
    data = cube.data
    array = data if isinstance(data, da.Array) else da.from_array(data, chunks=(-1, 2048, 2048))
    cast = _CASTS.get(array.dtype)
    array = array.astype(cast) if cast is not None else array
    little = array.dtype.newbyteorder("<")
    return array if little == array.dtype else array.astype(little)
