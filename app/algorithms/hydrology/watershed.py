"""The cells upstream of an outlet (a watershed's mask), and outlet snapping; tiled.

Mask: 1 where a cell's path passes through the outlet (the outlet included), 0 elsewhere, 255
on nodata. Tiled like accumulation: each tile links its ring cells to the exit their path leaves
by (or to the outlet, a stop cell, when the outlet is in the tile); one task follows the chain
of exits to learn which exits lead to the outlet; the second pass marks each tile's cells whose
path ends at the outlet or at such an exit.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from dask.delayed import Delayed, delayed

from app.algorithms.hydrology.accumulation import Chained, TileLinks, _by_tile, as_codes, tile_links
from app.algorithms.hydrology.directions import NODATA
from app.algorithms.hydrology.paths import STOP, destinations, forest_reaches
from app.algorithms.hydrology.tiles import Step, Tile, Tiling, run
from app.raster.grid import Grid

Cell = tuple[int, int]


def _stop_in(tile: Tile, tiling: Tiling, outlet: Cell) -> int:
    """The outlet's flat index in ``tile``, or -1 when it is elsewhere."""
    row0, col0 = tiling.origin(tile)
    rows, cols = tiling.tile_shape(tile)
    row, col = outlet[0] - row0, outlet[1] - col0
    return row * cols + col if 0 <= row < rows and 0 <= col < cols else -1


def _summarise(code: np.ndarray, tile: Tile, tiling: Tiling, outlet: Cell) -> TileLinks:
    return tile_links(code, tile, tiling, _stop_in(tile, tiling, outlet), with_totals=False)


def _solve(links: list[list[TileLinks]], tiling: Tiling, outlet: Cell) -> tuple[Cell, dict[Tile, np.ndarray]]:
    """The outlet, and per tile the flat indices of its exits whose chain reaches the outlet."""
    chained = Chained.of([links[i][j] for i, j in tiling.tiles()])
    reaching = chained.exits[forest_reaches(chained.downstream)]
    split = _by_tile(reaching, np.ones(len(reaching)), tiling)
    return outlet, {tile: local for tile, (local, _) in split.items()}


def _mask_tile(
    code: np.ndarray, tile: Tile, tiling: Tiling, found: tuple[Cell, dict[Tile, np.ndarray]]
) -> np.ndarray:
    outlet, reaching = found
    dest = destinations(code, _stop_in(tile, tiling, outlet))
    inside = dest == STOP
    if len(reaching[tile]):
        inside |= np.isin(dest, reaching[tile])
    mask: np.ndarray = inside.astype(np.uint8)
    mask[code == NODATA] = NODATA
    return mask


def mask_step(outlet: Cell | Delayed) -> Step:
    """The tiled upstream-mask step of ``outlet`` (row, col; or a Delayed of it)."""
    return Step(_summarise, _solve, _mask_tile, np.dtype(np.uint8), pad=None, args=(outlet,))


def upstream_mask(directions: xr.DataArray, row: int | Delayed, col: int | None = None) -> xr.DataArray:
    """uint8 mask (1 upstream of the outlet, itself included; 0 elsewhere; 255 nodata); lazy.

    The outlet is (``row``, ``col``), or ``row`` alone is a Delayed (row, col) (from
    :func:`snap_outlet`).
    """
    outlet: Cell | Delayed = row if isinstance(row, Delayed) else (row, int(col or 0))
    mask: da.Array = run(as_codes(directions), [mask_step(outlet)])
    return Grid.of(directions).with_nodata(NODATA).stamp(directions.copy(data=mask))


def _highest(window: np.ndarray, row0: int, col0: int, row: int, col: int) -> Cell:
    """The cell of highest value in ``window`` (NaN never), ties nearest (row, col), then row-major."""
    values = np.where(np.isnan(window), -np.inf, window)
    best = values.max(initial=-np.inf)
    if best == -np.inf:
        return row, col  # nothing valid nearby: the outlet stays
    rows, cols = np.nonzero(values == best)
    rows, cols = rows + row0, cols + col0
    distance = (rows - row) ** 2 + (cols - col) ** 2
    pick = np.lexsort((cols, rows, distance))[0]
    return int(rows[pick]), int(cols[pick])


def snap_outlet(
    accumulation: xr.DataArray, row: int, col: int, radius_rows: int, radius_cols: int
) -> Delayed:
    """The cell of highest accumulation within the square window around (row, col), as a Delayed."""
    height, width = accumulation.shape
    row0, col0 = max(row - radius_rows, 0), max(col - radius_cols, 0)
    row1, col1 = min(row + radius_rows + 1, height), min(col + radius_cols + 1, width)
    window: Any = accumulation.data[row0:row1, col0:col1]
    pick: Delayed = delayed(_highest, pure=True)(window, row0, col0, row, col)
    return pick
