"""Chunked reprojection: each output chunk is warped by GDAL from just the source window it needs.

For every output chunk the source window is found by transforming a grid of points over the
chunk's footprint (pixel edges) back to source pixels, plus a margin for the resampling kernel;
only that window is sliced (lazily) from the source array, and ``rasterio.warp.reproject`` warps
it, numpy in, numpy out, into the chunk. Nothing ever holds the whole scene.

Two GDAL details make the chunks agree with a whole-image warp:

- GDAL widens its kernels when it downsamples, by a scale it derives from the size of the window
  it warps. Each chunk would derive a different one, so the scale is computed once for the whole
  grid (GDAL's formula: output size over the source footprint) and pinned with the ``XSCALE`` /
  ``YSCALE`` warp options.
- GDAL maps output pixels to source pixels with an approximate transformer (error up to 1/8 pixel)
  that interpolates along each output row between exactly transformed points; where it places
  those points depends on the row's extent. Output chunks are therefore whole rows (bands of rows,
  like GDAL's own warp chunks) so every row is transformed as in a whole-image warp. Very wide
  outputs (over ``MAX_BAND_WIDTH`` columns) are split in columns too; there results may differ
  from a whole-image warp where that 1/8-pixel approximation falls differently.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

import dask.array as da
import numpy as np
import rasterio.warp
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from pyproj import CRS as ProjCRS
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.enums import Resampling

from app.raster.grid import Grid, nodata_or_default

MAX_BAND_WIDTH = 16384  # output columns warped in one piece; wider outputs are split in columns
COLUMN_BLOCK = 8192
_TILE = 512  # output rows per band are a multiple of the GeoTIFF writer's tiles
_SAMPLE_STEP = 32  # output pixels between footprint samples
_SAFETY = 2  # extra source pixels: the approximate transformer's error, GDAL's pixel-centre rounding

# GDAL's kernel radius per method (anGWKFilterRadius); the averaging family reads each output
# pixel's footprint, which the window already covers.
KERNEL_RADIUS = {
    Resampling.nearest: 0,
    Resampling.bilinear: 1,
    Resampling.cubic: 2,
    Resampling.cubic_spline: 2,
    Resampling.lanczos: 3,
}


def target_grid(source: Grid, crs: CRS, resolution: float | None = None) -> Grid:
    """The output grid gdalwarp picks for ``source`` in ``crs`` (``-tr resolution`` if given).

    Without a resolution, GDAL's suggested warp output; with one, the suggested extent's top-left
    corner is kept and the size is the extent over the resolution, rounded (gdalwarp ``-tr``).
    The source's nodata is kept, as gdalwarp does without ``-dstnodata``.
    """
    left, bottom, right, top = source.bounds
    transform, width, height = rasterio.warp.calculate_default_transform(
        source.crs, crs, source.width, source.height, left=left, bottom=bottom, right=right, top=top
    )
    assert width is not None and height is not None
    if resolution is None:
        return Grid(crs, transform, height, width, source.nodata)
    extent_x, extent_y = transform.a * width, -transform.e * height
    return Grid(
        crs,
        Affine(resolution, 0.0, transform.c, 0.0, -resolution, transform.f),
        int((extent_y + resolution / 2) / resolution),
        int((extent_x + resolution / 2) / resolution),
        source.nodata,
    )


@dataclass(frozen=True)
class Piece:
    """Everything one output chunk's warp needs (small and picklable)."""

    source: Grid  # the source window, with the source's nodata (None: every pixel is data)
    target: Grid  # the output chunk, with the output's nodata (always set: it fills the chunk)
    bands: int
    dtype: str
    resampling: Resampling
    scale: tuple[float, float]  # GDAL's kernel scale (x, y) for the whole grid


def warp(
    data: xr.DataArray,
    target: Grid,
    resampling: Resampling,
    *,
    chunks: tuple[int, int] | None = None,
) -> xr.DataArray:
    """``data`` ((band,) y, x) warped onto ``target``, lazily, one output chunk at a time.

    Source nodata pixels are left out of the resampling. The output keeps the dtype; its nodata
    is ``target``'s (:func:`target_grid` keeps the source's), else the one rule's
    (``app.raster.grid.default_nodata``), and fills what the source does not cover. ``chunks``
    are the output (rows, columns) per chunk; by default whole-width bands of about the source
    chunks' area.
    """
    cube = data if data.ndim == 3 else data.expand_dims("band")
    array = cube.data if isinstance(cube.data, da.Array) else da.from_array(cube.data)
    source = Grid.of(data)
    output = target.with_nodata(nodata_or_default(target.nodata, array.dtype))
    base = Piece(
        source=source,
        target=output,
        bands=array.shape[0],
        dtype=array.dtype.name,
        resampling=resampling,
        scale=kernel_scale(source, output),
    )
    rows, cols = chunks or _default_chunks(array, output)
    pieces = [
        [_piece(array, base, r, c) for c in _spans(output.width, cols)] for r in _spans(output.height, rows)
    ]
    result = da.block([pieces])
    return _as_raster(result, cube, output, squeeze=data.ndim == 2)


def _default_chunks(array: da.Array, target: Grid) -> tuple[int, int]:
    """Whole-width bands (column blocks past MAX_BAND_WIDTH) of about a source chunk's size."""
    cols = target.width if target.width <= MAX_BAND_WIDTH else COLUMN_BLOCK
    area = max(array.chunks[0]) * max(array.chunks[1]) * max(array.chunks[2]) // array.shape[0]
    rows = _TILE * max(1, round(area / (cols * _TILE)))
    return min(rows, target.height), cols


def _spans(size: int, step: int) -> list[tuple[int, int]]:
    return [(start, min(start + step, size)) for start in range(0, size, step)]


def _piece(array: da.Array, base: Piece, rows: tuple[int, int], cols: tuple[int, int]) -> da.Array:
    """The lazy output chunk ``rows x cols`` (all bands): a fill, or a warp of its source window.

    ``base`` holds the whole source and target grids. All bands are warped together, as in a
    whole-image warp: GDAL then treats a pixel as nodata only where every band is (rasterio's
    ``UNIFIED_SRC_NODATA=YES``).
    """
    chunk = base.target.crop(rows, cols)
    shape = (base.bands, *chunk.shape)
    window = source_window(base.source, base.target, rows, cols, margin=_margin(base))
    if window is None:
        filled: da.Array = da.full(shape, chunk.nodata, dtype=array.dtype, chunks=shape)
        return filled
    (r0, r1), (c0, c1) = window
    piece = replace(base, source=base.source.crop((r0, r1), (c0, c1)), target=chunk)
    window_array = array[:, r0:r1, c0:c1]
    whole = window_array.rechunk(window_array.shape)  # one block: the window, sliced from its chunks
    meta = np.empty((0, 0, 0), array.dtype)
    warped: da.Array = whole.map_blocks(warp_piece, piece=piece, chunks=shape, dtype=array.dtype, meta=meta)
    return warped


def warp_piece(source: np.ndarray, piece: Piece) -> np.ndarray:
    """Warp one source window into a new output chunk (numpy in, numpy out).

    GDAL warps it in one go (a generous memory limit, no splitting of poorly filled windows): the
    window is in memory already, and splitting would cut the output rows.
    """
    out = np.full((piece.bands, *piece.target.shape), piece.target.nodata, dtype=piece.dtype)
    megabytes = 4 * (source.nbytes + out.nbytes) // 2**20
    rasterio.warp.reproject(
        np.ascontiguousarray(source),
        out,
        src_transform=piece.source.transform,
        src_crs=piece.source.crs,
        src_nodata=piece.source.nodata,
        dst_transform=piece.target.transform,
        dst_crs=piece.target.crs,
        dst_nodata=piece.target.nodata,
        resampling=piece.resampling,
        warp_mem_limit=max(256, int(megabytes)),
        XSCALE=repr(piece.scale[0]),
        YSCALE=repr(piece.scale[1]),
        SRC_FILL_RATIO_HEURISTICS="NO",
    )
    return out


def _margin(piece: Piece) -> tuple[int, int]:
    radius = KERNEL_RADIUS.get(piece.resampling, 0)
    return tuple(math.ceil(radius / min(scale, 1.0)) + _SAFETY for scale in piece.scale)  # type: ignore[return-value]


def source_window(
    source: Grid,
    target: Grid,
    rows: tuple[int, int],
    cols: tuple[int, int],
    margin: tuple[int, int] = (0, 0),
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Source (rows, cols) covering output ``rows x cols`` plus ``margin`` (x, y); None if none."""
    bounds = footprint(source, target, rows, cols)
    if bounds is None:
        return None
    col_min, row_min, col_max, row_max = bounds
    c0 = max(math.floor(col_min) - margin[0], 0)
    c1 = min(math.ceil(col_max) + margin[0], source.width)
    r0 = max(math.floor(row_min) - margin[1], 0)
    r1 = min(math.ceil(row_max) + margin[1], source.height)
    if c1 <= c0 or r1 <= r0:
        return None
    return (r0, r1), (c0, c1)


def footprint(
    source: Grid, target: Grid, rows: tuple[int, int], cols: tuple[int, int]
) -> tuple[float, float, float, float] | None:
    """(col_min, row_min, col_max, row_max) in source pixels of an output window, densified."""
    ys = np.linspace(rows[0], rows[1], max(2, (rows[1] - rows[0]) // _SAMPLE_STEP + 2))
    xs = np.linspace(cols[0], cols[1], max(2, (cols[1] - cols[0]) // _SAMPLE_STEP + 2))
    grid_x, grid_y = np.meshgrid(xs, ys)
    world_x, world_y = _apply(target.transform, grid_x.ravel(), grid_y.ravel())
    src_x, src_y = transformer(target.crs, source.crs).transform(world_x, world_y, errcheck=False)
    col, row = _apply(~source.transform, np.asarray(src_x), np.asarray(src_y))
    valid = np.isfinite(col) & np.isfinite(row)
    if not valid.any():
        return None
    col, row = col[valid], row[valid]
    return float(col.min()), float(row.min()), float(col.max()), float(row.max())


def _apply(t: Affine, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return t.a * x + t.b * y + t.c, t.d * x + t.e * y + t.f


@functools.lru_cache(maxsize=32)
def transformer(from_crs: CRS, to_crs: CRS) -> Transformer:
    """A cached x/y-order pyproj transformer between two CRSs (creating one costs milliseconds)."""
    return Transformer.from_crs(ProjCRS(from_crs.to_wkt()), ProjCRS(to_crs.to_wkt()), always_xy=True)


def kernel_scale(source: Grid, target: Grid) -> tuple[float, float]:
    """GDAL's resampling scale (x, y) for warping all of ``source`` onto all of ``target``.

    As GDAL computes it for a whole-image warp: output size over the size of the output's
    footprint in the source (clamped to the source), snapped to 1/n when within 5 % of it.
    """
    bounds = footprint(source, target, (0, target.height), (0, target.width))
    if bounds is None:
        return 1.0, 1.0
    col_min, row_min, col_max, row_max = bounds
    raw_x = max(0.0, min(source.width - int(max(0.0, col_min)), col_max - col_min))
    raw_y = max(0.0, min(source.height - int(max(0.0, row_min)), row_max - row_min))
    return _snapped(target.width, raw_x), _snapped(target.height, raw_y)


def _snapped(dst_size: int, src_size: float) -> float:
    if src_size <= 0 or dst_size == src_size:
        return 1.0
    scale = dst_size / src_size
    if scale < 1.0:
        reciprocal = 1.0 / scale
        nearest = int(reciprocal + 0.5)
        if abs(reciprocal - nearest) < 0.05:
            scale = 1.0 / nearest
    return scale


def _as_raster(result: da.Array, cube: xr.DataArray, target: Grid, squeeze: bool) -> xr.DataArray:
    band = cube.dims[0]
    centres = target.coords()
    coords = {
        band: cube.coords[band].values if band in cube.coords else np.arange(1, len(result) + 1),
        "y": centres["y"],
        "x": centres["x"],
    }
    out = xr.DataArray(result, dims=(band, "y", "x"), coords=coords)
    if squeeze:
        out = out.isel({band: 0}, drop=True)
    return target.stamp(out)
