"""The cells upstream of an outlet (a watershed's mask), and outlet snapping; tiled.

Mask: 1 where a cell's path passes through the outlet (the outlet included), 0 elsewhere, 255
on nodata. Tiled like accumulation: each tile links its ring cells to the exit their path leaves
by (or to the outlet, a stop cell, when the outlet is in the tile); one task follows the chain
of exits to learn which exits lead to the outlet; the second pass marks each tile's cells whose
path ends at the outlet or at such an exit.
"""

from __future__ import annotations

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


def upstream_mask(directions: xr.DataArray, outlet: Cell | Delayed) -> xr.DataArray:
    """uint8 mask (1 upstream of the outlet, itself included; 0 elsewhere; 255 nodata); lazy.

    ``outlet``: (row, col), or a Delayed of it (from :func:`snap_outlet`).
    """
    mask: da.Array = run(as_codes(directions), [mask_step(outlet)])
    return Grid.of(directions).with_nodata(NODATA).stamp(directions.copy(data=mask))


Candidate = tuple[float, int, int, int]  # (-value, squared distance, row, col): the smallest wins


def _best_in_block(block: np.ndarray, row0: int, col0: int, row: int, col: int) -> Candidate | None:
    """The best cell of one block of the window: highest value, then nearest, then row-major."""
    values = np.where(np.isnan(block), -np.inf, block)
    best = values.max(initial=-np.inf)
    if best == -np.inf:
        return None
    rows, cols = np.nonzero(values == best)
    rows, cols = rows + row0, cols + col0
    distance = (rows - row) ** 2 + (cols - col) ** 2
    pick = np.lexsort((cols, rows, distance))[0]
    return -float(best), int(distance[pick]), int(rows[pick]), int(cols[pick])


def _best(candidates: list[Candidate | None], row: int, col: int) -> Cell:
    found = [candidate for candidate in candidates if candidate is not None]
    if not found:
        return row, col  # nothing valid nearby: the outlet stays
    _, _, best_row, best_col = min(found)
    return best_row, best_col


def snap_outlet(
    accumulation: xr.DataArray, row: int, col: int, radius_rows: int, radius_cols: int
) -> Delayed:
    """The cell of highest accumulation within the square window around (row, col), as a Delayed.

    Ties go to the cell nearest (row, col), then to the first in row-major order; NaN never
    wins; the window is clipped to the grid. Reduced block by block (a window may be the scene).
    """
    height, width = accumulation.shape
    row0, col0 = max(row - radius_rows, 0), max(col - radius_cols, 0)
    row1, col1 = min(row + radius_rows + 1, height), min(col + radius_cols + 1, width)
    data = accumulation.data
    window: da.Array = (data if isinstance(data, da.Array) else da.from_array(np.asarray(data)))[
        row0:row1, col0:col1
    ]
    blocks = window.to_delayed(optimize_graph=False)
    starts = [np.cumsum((0, *sizes[:-1])) for sizes in window.chunks]
    best_in_block = delayed(_best_in_block, pure=True)
    candidates = [
        best_in_block(blocks[i, j], row0 + int(starts[0][i]), col0 + int(starts[1][j]), row, col)
        for i in range(blocks.shape[0])
        for j in range(blocks.shape[1])
    ]
    pick: Delayed = delayed(_best, pure=True)(candidates, row, col)
    return pick
