"""Sink filling by priority-flood (Barnes, Lehman & Mulla 2014), tiled as Barnes (2016).

Convention: the seeds are the valid cells on the raster's edge and the valid cells with any of
their 8 neighbours nodata (water leaves through the edge or into nodata). Every other cell is
raised to the lowest level at which water can leave it: the minimum, over 8-connected paths of
valid cells to a seed, of the highest elevation on the path. Epsilon-free: a filled depression
is exactly flat at its spill elevation (:mod:`.directions` drains such flats).

Tiled (Barnes 2016, "Parallel priority-flood depression filling for trillion cell digital
elevation models"): each tile is flooded from its own ring (every ring cell a seed with its own
label; the raster's true seeds share the label "ocean"), recording, for each pair of labels that
meet, the lowest elevation at which water crosses between them. Ring cells of adjacent tiles
meet at the higher of their elevations. A priority-flood on that graph of labels from the ocean
gives each label its spill level; the second pass raises each cell of the tile's own fill to
its label's level. The answer is exactly the whole-array fill (tests compare with morphological
reconstruction on every chunking down to single rows).
"""

from __future__ import annotations

import math

import dask.array as da
import numpy as np
import xarray as xr
from numba import njit, types
from numba.typed import Dict

from app.algorithms.hydrology.queues import ITEM_BITS, ITEM_MASK, from_sortable, pop, push, sortable
from app.algorithms.hydrology.tiles import Ring, Step, Tile, Tiling, as_dask, run, seams
from app.raster.grid import Grid, as_float

OCEAN = 1  # the label of the raster's own seeds (edge and next to nodata); 0 is "no label"
ROW_STEP = np.array([0, 1, 1, 1, 0, -1, -1, -1])  # E, SE, S, SW, W, NW, N, NE (D8 code order)
COL_STEP = np.array([1, 1, 0, -1, -1, -1, 0, 1])


@njit(cache=True, nogil=True)
def is_seed(block: np.ndarray, row: int, col: int) -> bool:
    """Whether the cell (row, col) of a padded block (indices of the padding) touches nodata."""
    for k in range(8):  # noqa: SIM110 - numba compiles no generator expressions
        if np.isnan(block[row + ROW_STEP[k], col + COL_STEP[k]]):
            return True
    return False


def flood(
    block: np.ndarray, record: bool
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]:
    """Priority-flood one padded tile from its ring and its true seeds.

    Returns the tile filled (float32, NaN nodata), each cell's label (0 for nodata, OCEAN for the
    true seeds' basins, 2.. one per other ring cell's basin), the number of labels, and when
    ``record`` the label graph: pairs (low, high) of labels that meet and the lowest elevation
    at which water crosses between them.
    """
    return _flood(block, sortable(block[1:-1, 1:-1]).ravel(), record)


@njit(cache=True, nogil=True)
def _seed(
    block: np.ndarray, order: np.ndarray, filled: np.ndarray, labels: np.ndarray, heap: np.ndarray
) -> tuple[int, int]:
    """Copy the tile into ``filled``, label and queue its seeds. Returns (queue size, labels used)."""
    rows, cols = block.shape[0] - 2, block.shape[1] - 2
    size, next_label = 0, OCEAN + 1
    for row in range(rows):
        for col in range(cols):
            index = row * cols + col
            value = block[row + 1, col + 1]
            filled[index] = value
            if np.isnan(value):
                continue
            if is_seed(block, row + 1, col + 1):
                labels[index] = OCEAN
            elif row == 0 or col == 0 or row == rows - 1 or col == cols - 1:
                labels[index] = next_label
                next_label += 1
            else:
                continue
            size = push(heap, size, order[index] << ITEM_BITS | np.uint64(index))
    return size, next_label


@njit(cache=True, nogil=True)
def _cross(crossings: Dict, label: int, other: int, height: np.float32) -> None:
    """Record that water crosses between two labels at ``height`` (keeping the lowest)."""
    key = np.int64(min(label, other)) << 32 | max(label, other)
    if key not in crossings or height < crossings[key]:
        crossings[key] = height


@njit(cache=True, nogil=True)
def _flood(
    block: np.ndarray, order: np.ndarray, record: bool
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]:
    rows, cols = block.shape[0] - 2, block.shape[1] - 2
    cells = rows * cols
    filled = np.empty(cells, dtype=np.float32)
    labels = np.zeros(cells, dtype=np.int32)
    heap = np.empty(cells, dtype=np.uint64)
    pit = np.empty(cells, dtype=np.int64)  # cells raised to the level being flooded: first out
    size, next_label = _seed(block, order, filled, labels, heap)
    head, tail = 0, 0
    crossings = Dict.empty(key_type=types.int64, value_type=types.float32)
    while size > 0 or head < tail:
        if head < tail:
            index = pit[head]
            head += 1
        else:
            entry, size = pop(heap, size)
            index = np.int64(entry & ITEM_MASK)
        level, label = filled[index], labels[index]
        row, col = index // cols, index % cols
        for k in range(8):
            r, c = row + ROW_STEP[k], col + COL_STEP[k]
            if r < 0 or c < 0 or r >= rows or c >= cols or np.isnan(filled[r * cols + c]):
                continue
            other = r * cols + c
            if labels[other] != 0:
                if record and labels[other] != label:
                    _cross(crossings, label, labels[other], max(level, filled[other]))
                continue
            labels[other] = label
            if filled[other] <= level:
                filled[other] = level
                pit[tail] = other
                tail += 1
            else:
                size = push(heap, size, order[other] << ITEM_BITS | np.uint64(other))
    count = len(crossings)
    low_labels = np.empty(count, dtype=np.int64)
    high_labels = np.empty(count, dtype=np.int64)
    heights = np.empty(count, dtype=np.float32)
    for n, (key, crossing) in enumerate(crossings.items()):
        low_labels[n], high_labels[n], heights[n] = key >> 32, key & 0xFFFFFFFF, crossing
    return (
        filled.reshape(rows, cols),
        labels.reshape(rows, cols),
        next_label,
        low_labels,
        high_labels,
        heights,
    )


@njit(cache=True, nogil=True)
def spill_levels(starts: np.ndarray, targets: np.ndarray, heights: np.ndarray, nodes: int) -> np.ndarray:
    """Priority-flood of a graph (CSR ``starts``/``targets``, :func:`sortable` ``heights``) from node 0.

    Each node's level (as a sortable key): the minimum over paths from node 0 (the ocean) of
    the highest edge on the path; the largest key where unreachable.
    """
    unreached = np.uint64(0xFFFFFFFF)
    level = np.full(nodes, unreached, dtype=np.uint64)
    heap = np.empty(len(targets) + 1, dtype=np.uint64)
    level[0] = 0
    size = push(heap, 0, np.uint64(0))
    while size > 0:
        entry, size = pop(heap, size)
        key, node = entry >> ITEM_BITS, np.int64(entry & ITEM_MASK)
        if key > level[node]:
            continue
        for e in range(starts[node], starts[node + 1]):
            target = targets[e]
            candidate = max(key, heights[e])
            if candidate < level[target]:
                level[target] = candidate
                size = push(heap, size, candidate << ITEM_BITS | np.uint64(target))
    return level


class TileBasins:
    """Stage-1 summary of one tile: its label graph and its ring's labels and elevations."""

    def __init__(self, block: np.ndarray) -> None:
        _, labels, count, low, high, heights = flood(block, True)
        self.count = count
        self.low, self.high, self.heights = low, high, heights
        self.labels = Ring.of(labels)
        self.elevations = Ring.of(block[1:-1, 1:-1])


def _summarise(block: np.ndarray, tile: Tile, tiling: Tiling) -> TileBasins:
    return TileBasins(block)


def _solve(basins: list[list[TileBasins]], tiling: Tiling) -> dict[Tile, np.ndarray]:
    """Each tile's spill level per local label (index 0 unused, OCEAN -inf)."""
    offsets: dict[Tile, int] = {}
    nodes = 1  # node 0: the ocean; a tile's label L >= 2 is node offsets[tile] + L - 2
    for tile in tiling.tiles():
        offsets[tile] = nodes
        nodes += basins[tile[0]][tile[1]].count - 2

    def node(tile: Tile, labels: np.ndarray) -> np.ndarray:
        return np.where(labels == OCEAN, 0, offsets[tile] + labels.astype(np.int64) - 2)

    low, high, heights = [], [], []
    for tile in tiling.tiles():
        summary = basins[tile[0]][tile[1]]
        low.append(node(tile, summary.low))
        high.append(node(tile, summary.high))
        heights.append(summary.heights)
    for seam in seams(tiling):
        a, b = basins[seam.a[0]][seam.a[1]], basins[seam.b[0]][seam.b[1]]
        a_labels, b_labels = (
            a.labels.side(seam.a_side)[seam.a_index],
            b.labels.side(seam.b_side)[seam.b_index],
        )
        a_heights = a.elevations.side(seam.a_side)[seam.a_index]
        b_heights = b.elevations.side(seam.b_side)[seam.b_index]
        valid = (a_labels != 0) & (b_labels != 0)
        low.append(node(seam.a, a_labels[valid]))
        high.append(node(seam.b, b_labels[valid]))
        heights.append(np.maximum(a_heights[valid], b_heights[valid]))
    sources = np.concatenate([*low, *high])
    targets = np.concatenate([*high, *low])
    crossing = sortable(np.concatenate([*heights, *heights]))
    order = np.argsort(sources, kind="stable")
    starts = np.searchsorted(sources[order], np.arange(nodes + 1)).astype(np.int64)
    keys = spill_levels(starts, targets[order], crossing[order], nodes)
    level = np.where(keys == 0xFFFFFFFF, -np.inf, from_sortable(keys)).astype(np.float32)
    solution: dict[Tile, np.ndarray] = {}
    for tile in tiling.tiles():
        count = basins[tile[0]][tile[1]].count
        local = np.full(count, -np.inf, dtype=np.float32)
        local[OCEAN + 1 :] = level[offsets[tile] : offsets[tile] + count - 2]
        solution[tile] = local
    return solution


def _raise_tile(block: np.ndarray, tile: Tile, tiling: Tiling, levels: dict[Tile, np.ndarray]) -> np.ndarray:
    filled, labels, _, _, _, _ = flood(block, False)
    raised: np.ndarray = np.maximum(filled, levels[tile][labels])  # label 0 is nodata: NaN stays NaN
    return raised


FILL = Step(_summarise, _solve, _raise_tile, np.dtype(np.float32), pad=math.nan)


def elevations(dem: xr.DataArray) -> da.Array:
    """A (y, x) raster as a float32 dask array with NaN nodata (one chunk if it was numpy)."""
    return as_dask(as_float(dem).data, np.float32)


def fill_sinks(dem: xr.DataArray) -> xr.DataArray:
    """The filled (y, x) DEM as float32 with NaN nodata; lazy, one dask chunk per tile."""
    filled: da.Array = run(elevations(dem), [FILL])
    return Grid.of(dem).with_nodata(math.nan).stamp(dem.copy(data=filled))
