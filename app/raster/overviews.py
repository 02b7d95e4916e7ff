"""Overview levels of a raster result, computed lazily chunk by chunk.

Level ``k + 1`` is level ``k`` halved: each pixel stands for a 2 x 2 block of the level above
(the block is 2 x 1, 1 x 2 or 1 x 1 on the last row and column of an odd size), so a level has
``ceil(size / 2**k)`` pixels, the sizes GDAL gives overviews. Levels are added until the whole
level fits in one tile, as GDAL's COG driver does.

Resampling (:func:`overview_resampling` decides it from the data type):

- ``average`` for floats (NDVI, differences, terrain, band math: continuous measurements): the mean
  of the block's valid pixels, computed in float64 and rounded to the data type; NaN and the
  declared nodata are never data and never enter a mean; a block without valid pixels is nodata.
  For integers (only when asked for) the mean is rounded half up, as GDAL's ``average`` does.
- ``nearest`` for integers (change masks, classes, counts, and clips of inputs whose meaning the
  service cannot know): the block's top-left pixel, so level ``k`` is exactly
  ``pixels[::2**k, ::2**k]`` and never shows a value that is not in the data.
"""

from __future__ import annotations

import math

import dask.array as da
import numpy as np

RESAMPLINGS = ("average", "nearest")
_STRIP = 128  # output rows per step of an average: bounds the float64 temporaries


def overview_resampling(dtype: np.dtype, requested: str | None = None) -> str:
    """``requested`` if given (checked), else average for floats and nearest for integers."""
    if requested is not None:
        if requested not in RESAMPLINGS:
            raise ValueError(f"overview resampling must be one of {RESAMPLINGS} (got {requested!r})")
        return requested
    return "average" if dtype.kind == "f" else "nearest"


def level_shapes(height: int, width: int, tile: tuple[int, int]) -> list[tuple[int, int]]:
    """(height, width) of the full resolution and of each overview level."""
    shapes = [(height, width)]
    while shapes[-1][0] > tile[0] or shapes[-1][1] > tile[1]:
        rows, cols = shapes[-1]
        shapes.append((math.ceil(rows / 2), math.ceil(cols / 2)))
    return shapes


def pyramid(array: da.Array, tile: tuple[int, int], resampling: str, nodata: float | None) -> list[da.Array]:
    """The (band, y, x) array and its overview levels, each chunked on whole tiles."""
    levels = [array]
    for _ in level_shapes(array.shape[1], array.shape[2], tile)[1:]:
        above = levels[-1]
        halved = tuple(tuple((size + 1) // 2 for size in sizes) for sizes in above.chunks[1:])
        level = da.map_blocks(
            halve,
            above,
            resampling=resampling,
            nodata=nodata,
            chunks=(above.chunks[0], *halved),
            dtype=above.dtype,
            token=f"overview-{len(levels)}",
        )
        levels.append(align_chunks(level, tile))
    return levels


def align_chunks(array: da.Array, tile: tuple[int, int]) -> da.Array:
    """Rechunk so that every chunk boundary falls on a tile boundary (no-op when it already does)."""
    new = (array.chunks[0], aligned(array.chunks[1], tile[0]), aligned(array.chunks[2], tile[1]))
    return array if new == array.chunks else array.rechunk(new)


def aligned(chunks: tuple[int, ...], tile: int) -> tuple[int, ...]:
    """Chunk sizes that are whole tiles (but the last), about as large as the largest given."""
    if all(size % tile == 0 for size in chunks[:-1]):
        return chunks
    step = tile * max(1, round(max(chunks) / tile))
    total = sum(chunks)
    return tuple(min(step, total - start) for start in range(0, total, step))


def halve(block: np.ndarray, resampling: str, nodata: float | None) -> np.ndarray:
    """A (band, y, x) block at half resolution (odd sizes rounded up)."""
    if resampling == "nearest":
        return np.ascontiguousarray(block[:, ::2, ::2])
    out = np.empty((block.shape[0], (block.shape[1] + 1) // 2, (block.shape[2] + 1) // 2), block.dtype)
    for row in range(0, out.shape[1], _STRIP):
        strip = block[:, 2 * row : 2 * (row + _STRIP)]
        mean = _average_of_full_blocks(strip, nodata)
        out[:, row : row + _STRIP] = _average(strip, nodata) if mean is None else mean
    return out


def _average_of_full_blocks(strip: np.ndarray, nodata: float | None) -> np.ndarray | None:
    """The common case quickly: float pixels, even sizes, no invalid pixel; else None.

    Same arithmetic as :func:`_average` (float64 sum in the same order, then a quarter).
    """
    if strip.dtype.kind != "f" or strip.shape[1] % 2 or strip.shape[2] % 2:
        return None
    if nodata is not None and not math.isnan(nodata) and (strip == nodata).any():
        return None
    total = np.add(strip[:, ::2, ::2], strip[:, 1::2, ::2], dtype=np.float64)
    total += strip[:, ::2, 1::2]
    total += strip[:, 1::2, 1::2]
    if np.isnan(total).any():
        return None
    total *= 0.25
    mean: np.ndarray = total.astype(strip.dtype)
    return mean


def _average(strip: np.ndarray, nodata: float | None) -> np.ndarray:
    """Means of the valid pixels of each 2 x 2 block of a (band, y, x) strip."""
    bands, rows, cols = strip.shape
    valid = _valid(strip, nodata)
    exact = strip.dtype.kind in "iu" and strip.dtype.itemsize <= 4
    values = np.zeros((bands, rows + rows % 2, cols + cols % 2), np.int64 if exact else np.float64)
    mask = np.zeros(values.shape, np.uint8)
    values[:, :rows, :cols] = np.where(valid, strip, 0)
    mask[:, :rows, :cols] = valid
    total = values[:, ::2, ::2] + values[:, 1::2, ::2] + values[:, ::2, 1::2] + values[:, 1::2, 1::2]
    count = mask[:, ::2, ::2] + mask[:, 1::2, ::2] + mask[:, ::2, 1::2] + mask[:, 1::2, 1::2]
    empty = count == 0
    count[empty] = 1
    if exact:
        mean = (2 * total + count) // (2 * count)  # round half up, in exact integers
    elif strip.dtype.kind == "f":
        mean = total / count
    else:
        mean = np.floor(total / count + 0.5)
    result: np.ndarray = mean.astype(strip.dtype)
    if empty.any():
        result[empty] = np.nan if nodata is None else nodata
    return result


def _valid(block: np.ndarray, nodata: float | None) -> np.ndarray:
    """Pixels that are data: not NaN, not the declared nodata."""
    valid: np.ndarray
    if block.dtype.kind == "f":
        valid = ~np.isnan(block)
        if nodata is not None and not math.isnan(nodata):
            valid &= block != nodata
    elif nodata is None:
        valid = np.ones(block.shape, bool)
    else:
        valid = block != nodata
    return valid
