"""Where flow goes inside one tile of D8 codes: accumulation and each cell's destination.

A cell's *target* is the cell its code points to. Inside a tile a path ends in one of three
ways: at a cell without a way down (code 0), at a cell whose code points out of the tile (an
*exit*, always on the tile's ring), or at a chosen stop cell (a watershed's outlet).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from app.algorithms.hydrology.fill import COL_STEP, ROW_STEP

NODATA_CODE = 255
END = -1  # a path ending inside the tile (code 0)
STOP = -2  # a path reaching the stop cell
NODATA_CELL = -3
LEAVES = -4  # target outside the tile
_UNKNOWN, _ON_PATH = -5, -6


@njit(cache=True, nogil=True)
def targets(code: np.ndarray) -> np.ndarray:
    """Each cell's target as a flat index in the tile, END, LEAVES or NODATA_CELL."""
    rows, cols = code.shape
    found = np.full(rows * cols, NODATA_CELL, dtype=np.int64)
    for row in range(rows):
        for col in range(cols):
            value = code[row, col]
            if value == NODATA_CODE:
                continue
            index = row * cols + col
            found[index] = END
            for k in range(8):
                if value == 1 << k:
                    r, c = row + ROW_STEP[k], col + COL_STEP[k]
                    found[index] = r * cols + c if 0 <= r < rows and 0 <= c < cols else LEAVES
    return found


@njit(cache=True, nogil=True)
def accumulate(code: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Sum of ``weights`` over the cells draining through each cell inside the tile (float64).

    NaN on nodata; cells whose target is outside the tile, or none, end the sums there.
    """
    total = forest_totals(targets(code), weights.ravel())
    rows, cols = code.shape
    for index in range(rows * cols):
        if code.ravel()[index] == NODATA_CODE:
            total[index] = np.nan
    return total.reshape(code.shape)


@njit(cache=True, nogil=True)
def destinations(code: np.ndarray, stop: int) -> np.ndarray:
    """Where each cell's path ends in the tile: the exit cell's flat index, END, STOP or NODATA_CELL.

    ``stop`` is a flat index in the tile (or -1 for none). A cycle (not a valid D8 field) ends.
    """
    target = targets(code)
    cells = len(target)
    found = np.full(cells, _UNKNOWN, dtype=np.int64)
    path = np.empty(cells, dtype=np.int64)
    for start in range(cells):
        if found[start] != _UNKNOWN:
            continue
        if target[start] == NODATA_CELL:
            found[start] = NODATA_CELL
            continue
        length, result = _follow(start, target, stop, found, path)
        for n in range(length):
            found[path[n]] = result
    return found.reshape(code.shape)


@njit(cache=True, nogil=True)
def _follow(
    start: int, target: np.ndarray, stop: int, found: np.ndarray, path: np.ndarray
) -> tuple[int, int]:
    """Follow the path from ``start`` until a known cell or an end; the cells walked go in ``path``.

    Returns (cells walked, where they all end).
    """
    length, index = 0, start
    while True:
        known = found[index]
        if known != _UNKNOWN:
            return length, (END if known == _ON_PATH else known)
        path[length] = index
        length += 1
        found[index] = _ON_PATH
        downstream = target[index]
        if index == stop:
            return length, STOP
        if downstream == LEAVES:
            return length, index
        if downstream < 0:
            return length, END
        index = downstream


@njit(cache=True, nogil=True)
def forest_totals(downstream: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Totals over a forest (``downstream``: an index, or negative for none): each node's
    ``local`` plus its upstream nodes' totals, in order of their upstream being done (Kahn)."""
    nodes = len(downstream)
    waiting = np.zeros(nodes, dtype=np.int64)
    for node in range(nodes):
        if downstream[node] >= 0:
            waiting[downstream[node]] += 1
    total = local.astype(np.float64)
    queue = np.empty(nodes, dtype=np.int64)
    tail = 0
    for node in range(nodes):
        if waiting[node] == 0:
            queue[tail] = node
            tail += 1
    head = 0
    while head < tail:
        node = queue[head]
        head += 1
        below = downstream[node]
        if below >= 0:
            total[below] += total[node]
            waiting[below] -= 1
            if waiting[below] == 0:
                queue[tail] = below
                tail += 1
    return total


@njit(cache=True, nogil=True)
def forest_reaches(downstream: np.ndarray) -> np.ndarray:
    """Whether each node's chain (``downstream``: index, END, or STOP) ends at STOP."""
    nodes = len(downstream)
    state = np.full(nodes, -1, dtype=np.int8)  # -1 unknown, 0 no, 1 yes, 2 on the current chain
    chain = np.empty(nodes, dtype=np.int64)
    for start in range(nodes):
        length, node = 0, start
        while True:
            if node < 0:
                result = 1 if node == STOP else 0
                break
            if state[node] == 2:
                result = 0
                break
            if state[node] >= 0:
                result = state[node]
                break
            state[node] = 2
            chain[length] = node
            length += 1
            node = downstream[node]
        for n in range(length):
            state[chain[n]] = result
    reaches: np.ndarray = state == 1
    return reaches
