"""Flow accumulation of D8 codes, tiled as Barnes (2017).

Accumulation: the number of cells whose path passes through each cell, itself included
(float32, NaN on nodata; counted in float64). Tiled ("Parallel non-divergent flow accumulation
for trillion cell digital elevation models"): each tile accumulates its own cells and links
every ring cell to the exit where its path leaves the tile; one task chains the exits of all
tiles (an exit drains into a ring cell of the next tile, whose link leads to that tile's exit)
and totals what enters each ring cell; the second pass accumulates each tile again with those
inflows added where they enter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import dask.array as da
import numpy as np
import xarray as xr

from app.algorithms.hydrology.fill import COL_STEP, ROW_STEP
from app.algorithms.hydrology.paths import LEAVES, accumulate, destinations, forest_totals, targets
from app.algorithms.hydrology.tiles import Step, Tile, Tiling, as_dask, ring_indices, run
from app.raster.grid import Grid


@dataclass
class TileLinks:
    """Where the flow through a tile's ring goes, in whole-raster cell ids."""

    ring: np.ndarray  # the ring's cells
    link: np.ndarray  # for each: the exit its path leaves by, or a paths.END / paths.STOP
    exits: np.ndarray  # cells whose code points out of the tile
    exit_targets: np.ndarray  # the cell each exit drains into (-1 off the raster)
    exit_totals: np.ndarray  # accumulation inside the tile at each exit


def tile_links(code: np.ndarray, tile: Tile, tiling: Tiling, stop: int, with_totals: bool) -> TileLinks:
    """The links of one tile of codes (``stop``: a flat index in the tile, or -1)."""
    rows, cols = code.shape
    ring = np.unique(np.concatenate(list(ring_indices(rows, cols))))
    dest = destinations(code, stop).ravel()[ring]
    link = np.where(dest >= 0, tiling.global_ids(tile, np.maximum(dest, 0)), dest)
    exits = np.flatnonzero(targets(code) == LEAVES)
    exit_codes = code.ravel()[exits]
    k = np.log2(exit_codes).astype(np.int64)
    row0, col0 = tiling.origin(tile)
    to_row = exits // cols + row0 + ROW_STEP[k]
    to_col = exits % cols + col0 + COL_STEP[k]
    height, width = sum(tiling.row_chunks), tiling.width
    inside = (to_row >= 0) & (to_col >= 0) & (to_row < height) & (to_col < width)
    exit_targets = np.where(inside, to_row * width + to_col, -1)
    totals = accumulate(code, np.ones(code.shape)).ravel()[exits] if with_totals else np.empty(0)
    return TileLinks(
        tiling.global_ids(tile, ring), link, tiling.global_ids(tile, exits), exit_targets, totals
    )


@dataclass
class Chained:
    """All tiles' links gathered: exits in id order, and what each exit's target links to."""

    exits: np.ndarray
    targets: np.ndarray
    ring_position: np.ndarray  # per exit: its target's position in ``ring`` (-1 if none)
    downstream: np.ndarray  # per exit: the next exit's index, or the END / STOP its path meets
    ring: np.ndarray

    @classmethod
    def of(cls, links: list[TileLinks]) -> Chained:
        """Chain the exits of every tile."""
        ring = np.concatenate([found.ring for found in links])
        ring_link = np.concatenate([found.link for found in links])
        order = np.argsort(ring)
        ring, ring_link = ring[order], ring_link[order]
        exits = np.concatenate([found.exits for found in links])
        exit_targets = np.concatenate([found.exit_targets for found in links])
        position = np.clip(np.searchsorted(ring, exit_targets), 0, max(len(ring) - 1, 0))
        known = (exit_targets >= 0) & (len(ring) > 0)
        known &= ring[position] == exit_targets if len(ring) else known
        ring_position = np.where(known, position, -1)
        next_link = np.where(known, ring_link[position], -1)
        exit_order = np.argsort(exits)
        sorted_exits = exits[exit_order]
        at = np.clip(np.searchsorted(sorted_exits, next_link), 0, max(len(exits) - 1, 0))
        downstream = np.where(next_link >= 0, exit_order[at] if len(exits) else -1, next_link)
        return cls(exits, exit_targets, ring_position, downstream.astype(np.int64), ring)


def _summarise(code: np.ndarray, tile: Tile, tiling: Tiling) -> TileLinks:
    return tile_links(code, tile, tiling, -1, with_totals=True)


def _solve(links: list[list[TileLinks]], tiling: Tiling) -> dict[Tile, tuple[np.ndarray, np.ndarray]]:
    """Per tile: the flat indices of ring cells that receive flow from other tiles, and how much."""
    found = [links[i][j] for i, j in tiling.tiles()]
    chained = Chained.of(found)
    totals = forest_totals(chained.downstream, np.concatenate([f.exit_totals for f in found]))
    entering = chained.ring_position >= 0
    inflow = np.bincount(
        chained.ring_position[entering], weights=totals[entering], minlength=len(chained.ring)
    )
    cells = np.flatnonzero(inflow)
    return _by_tile(chained.ring[cells], inflow[cells], tiling)


def _by_tile(
    ids: np.ndarray, values: np.ndarray, tiling: Tiling
) -> dict[Tile, tuple[np.ndarray, np.ndarray]]:
    """Whole-raster cell ids (and values) split by tile, as flat indices in each tile."""
    rows, cols = np.divmod(ids, tiling.width)
    row_edges = np.cumsum(tiling.row_chunks)
    col_edges = np.cumsum(tiling.col_chunks)
    tile_rows = np.searchsorted(row_edges, rows, side="right")
    tile_cols = np.searchsorted(col_edges, cols, side="right")
    split: dict[Tile, tuple[np.ndarray, np.ndarray]] = {}
    for tile in tiling.tiles():
        mine = (tile_rows == tile[0]) & (tile_cols == tile[1])
        row0, col0 = tiling.origin(tile)
        local = (rows[mine] - row0) * tiling.tile_shape(tile)[1] + (cols[mine] - col0)
        split[tile] = (local, values[mine])
    return split


def _accumulate_tile(
    code: np.ndarray, tile: Tile, tiling: Tiling, inflows: dict[Tile, tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    weights = np.ones(code.size, dtype=np.float64)
    local, inflow = inflows[tile]
    weights[local] += inflow
    result: np.ndarray = accumulate(code, weights.reshape(code.shape)).astype(np.float32)
    return result


ACCUMULATION = Step(_summarise, _solve, _accumulate_tile, np.dtype(np.float32), pad=None)


def as_codes(directions: xr.DataArray) -> da.Array:
    """The D8 codes of a (y, x) DataArray as a uint8 dask array (one chunk if it was numpy)."""
    return as_dask(directions.data, np.uint8)


def flow_accumulation(directions: xr.DataArray) -> xr.DataArray:
    """Cells draining through each cell, itself included (float32, NaN on nodata); lazy."""
    accumulation: da.Array = run(as_codes(directions), [ACCUMULATION])
    return Grid.of(directions).with_nodata(math.nan).stamp(directions.copy(data=accumulation))
