"""Independent whole-array oracles for the hydrology kernels (numpy, scipy and scikit-image only;
nothing here imports the service's code).

Conventions (the contract of app.algorithms.hydrology):

* Seeds: valid cells on the raster's edge and valid cells with any of their 8 neighbours nodata.
* Fill: priority-flood without epsilon - every valid cell becomes the minimum, over the 8-connected
  paths of valid cells from it to a seed, of the highest elevation along the path (both ends
  included): morphological reconstruction by erosion of the DEM from the DEM's values at the seeds.
* D8 codes 1=E 2=SE 4=S 8=SW 16=W 32=NW 64=N 128=NE, 0 without a way down, 255 nodata. The steepest
  strictly lower valid neighbour ((z - zn) / distance), ties to the first in the order E, SE, S, SW,
  W, NW, N, NE. A cell without a strictly lower neighbour gets 0 on a seed; on a flat it steps
  towards the flat's nearest outlet (BFS over 8-connected cells of exactly its elevation; outlets
  are the flat's cells with a strictly lower neighbour and its seeds), ties in the same order.
* Accumulation: the number of cells whose downstream path passes through a cell, itself included.
* Upstream mask: 1 where the cell's downstream path passes through the outlet, 255 on nodata.
"""

from __future__ import annotations

import heapq
import math
from collections import deque

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, sparse
from scipy.sparse import csgraph
from skimage.morphology import reconstruction

BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]
CodeArray = NDArray[np.uint8]

#: (row offset, column offset, code) in the tie-break order E, SE, S, SW, W, NW, N, NE.
D8: tuple[tuple[int, int, int], ...] = (
    (0, 1, 1),
    (1, 1, 2),
    (1, 0, 4),
    (1, -1, 8),
    (0, -1, 16),
    (-1, -1, 32),
    (-1, 0, 64),
    (-1, 1, 128),
)
OFFSETS: dict[int, tuple[int, int]] = {code: (dr, dc) for dr, dc, code in D8}
NODATA_CODE = 255
SQUARE_3X3 = np.ones((3, 3), dtype=bool)

# WGS 84 (EPSG:4326's ellipsoid)
WGS84_A = 6378137.0
WGS84_B = 6356752.314245179


def valid_cells(z: np.ndarray, nodata: float | None = None) -> BoolArray:
    """Cells that are neither NaN nor equal to ``nodata``."""
    valid: BoolArray = np.ones(z.shape, dtype=bool)
    if np.issubdtype(z.dtype, np.floating):
        valid &= ~np.isnan(z)
    if nodata is not None and not math.isnan(nodata):
        valid &= z != nodata
    return valid


def seed_cells(valid: BoolArray) -> BoolArray:
    """Valid cells on the raster's edge or with a nodata cell among their 8 neighbours."""
    interior: BoolArray = ndimage.binary_erosion(valid, structure=SQUARE_3X3, border_value=0)
    return valid & ~interior


def fill_reference(z: np.ndarray, nodata: float | None = None) -> NDArray[np.float32]:
    """Epsilon-free fill by scikit-image's reconstruction by erosion; float32, NaN on nodata.

    Filled values are input values (a max along a path, then a min over paths), so filling the
    float64 values then rounding to float32 equals filling the float32 values: rounding is monotone.
    """
    valid = valid_cells(z, nodata)
    out = np.full(z.shape, np.nan, dtype=np.float32)
    if not valid.any():
        return out
    values = z.astype(np.float64)
    # Higher than every valid cell: nodata never lowers a path, non-seeds start above any answer.
    high = float(values[valid].max()) + 1.0
    mask = np.where(valid, values, high)
    marker = np.where(seed_cells(valid), values, high)
    filled: FloatArray = reconstruction(marker, mask, method="erosion", footprint=SQUARE_3X3)  # type: ignore[no-untyped-call]
    out[valid] = filled[valid].astype(np.float32)
    return out


def priority_flood_reference(z: np.ndarray, nodata: float | None = None) -> NDArray[np.float32]:
    """The same fill by a plain-Python priority flood (Barnes et al. 2014, without epsilon): a second,
    independent oracle for fill_reference (which pysheds can only check without inner nodata)."""
    valid = valid_cells(z, nodata)
    values = z.astype(np.float64)
    rows, cols = z.shape
    out = np.full(z.shape, np.nan, dtype=np.float64)
    closed = ~valid
    heap: list[tuple[float, int, int]] = []
    for r, c in zip(*np.nonzero(seed_cells(valid)), strict=True):
        heap.append((float(values[r, c]), int(r), int(c)))
        out[r, c] = values[r, c]
        closed[r, c] = True
    heapq.heapify(heap)
    while heap:
        level, r, c = heapq.heappop(heap)
        for dr, dc, _ in D8:
            nr, nc = r + dr, c + dc
            if 0 <= nr < rows and 0 <= nc < cols and not closed[nr, nc]:
                closed[nr, nc] = True
                out[nr, nc] = max(float(values[nr, nc]), level)
                heapq.heappush(heap, (float(out[nr, nc]), nr, nc))
    return out.astype(np.float32)


def metres_per_degree(latitude: np.ndarray) -> tuple[FloatArray, FloatArray]:
    """Metres per degree of longitude and of latitude on WGS 84 at ``latitude`` (degrees): the radii
    of curvature in the prime vertical (times cos latitude) and in the meridian, per degree."""
    e2 = 1.0 - (WGS84_B / WGS84_A) ** 2
    phi = np.radians(latitude)
    w = np.sqrt(1.0 - e2 * np.sin(phi) ** 2)
    per_degree = math.pi / 180.0
    return per_degree * WGS84_A / w * np.cos(phi), per_degree * WGS84_A * (1.0 - e2) / w**3


def _row_column(values: float | FloatArray, rows: int) -> FloatArray:
    return np.broadcast_to(np.abs(np.asarray(values, dtype=np.float64)), (rows,)).reshape(rows, 1)


def steepest_descent(
    z: FloatArray, dx: float | FloatArray, dy: float | FloatArray
) -> tuple[CodeArray, BoolArray]:
    """D8 code of the steepest strictly lower valid neighbour (0 where none) and where there is one.

    ``z`` is float with NaN on nodata; ``dx``/``dy`` are the pixel width/height, scalars or one per
    row (the distances of a cell are those of its own row).
    """
    rows, cols = z.shape
    width, height = _row_column(dx, rows), _row_column(dy, rows)
    diagonal = np.hypot(width, height)
    padded = np.pad(z, 1, constant_values=np.nan)
    codes = np.zeros(z.shape, dtype=np.uint8)
    best = np.zeros(z.shape, dtype=np.float64)
    has_lower = np.zeros(z.shape, dtype=bool)
    for dr, dc, code in D8:
        neighbour = padded[1 + dr : 1 + dr + rows, 1 + dc : 1 + dc + cols]
        distance = width if dr == 0 else height if dc == 0 else diagonal
        lower = neighbour < z  # False wherever either is NaN
        slope = np.where(lower, (z - neighbour) / distance, 0.0)
        wins = lower & (~has_lower | (slope > best))  # a later direction must be strictly steeper
        codes[wins] = code
        best[wins] = slope[wins]
        has_lower |= lower
    return codes, has_lower


def flow_direction_reference(filled: np.ndarray, dx: float | FloatArray, dy: float | FloatArray) -> CodeArray:
    """D8 directions of a (filled) DEM with NaN on nodata: steepest descent, then flats by BFS."""
    z = filled.astype(np.float64)
    rows, cols = z.shape
    valid = ~np.isnan(z)
    codes, has_lower = steepest_descent(z, dx, dy)
    flat = valid & ~has_lower & ~seed_cells(valid)
    distance = np.full(z.shape, -1, dtype=np.int64)
    distance[valid & ~flat] = 0  # every outlet (and every other non-flat cell) is at 0
    queue: deque[tuple[int, int]] = deque(
        (int(r), int(c)) for r, c in zip(*np.nonzero(valid & ~flat), strict=True)
    )
    while queue:
        r, c = queue.popleft()
        for dr, dc, _ in D8:
            nr, nc = r + dr, c + dc
            if (
                0 <= nr < rows
                and 0 <= nc < cols
                and flat[nr, nc]
                and distance[nr, nc] < 0
                and z[nr, nc] == z[r, c]
            ):
                distance[nr, nc] = distance[r, c] + 1
                queue.append((nr, nc))
    for r, c in zip(*np.nonzero(flat & (distance > 0)), strict=True):
        for dr, dc, code in D8:
            nr, nc = r + dr, c + dc
            if (
                0 <= nr < rows
                and 0 <= nc < cols
                and z[nr, nc] == z[r, c]
                and distance[nr, nc] == distance[r, c] - 1
            ):
                codes[r, c] = code
                break
    codes[~valid] = NODATA_CODE
    return codes


def downstream_index(directions: CodeArray) -> NDArray[np.int64]:
    """Flat index of each cell's downstream neighbour; -1 for nodata, code 0, or a step off the
    raster or onto nodata (such a path ends there)."""
    rows, cols = directions.shape
    down = np.full(directions.size, -1, dtype=np.int64)
    indices = np.indices(directions.shape)
    rr, cc = indices[0], indices[1]
    for code, (dr, dc) in OFFSETS.items():
        here = directions == code
        tr, tc = rr[here] + dr, cc[here] + dc
        inside = (tr >= 0) & (tr < rows) & (tc >= 0) & (tc < cols)
        target = np.where(inside, tr * cols + tc, -1)
        target[inside] = np.where(directions.flat[target[inside]] == NODATA_CODE, -1, target[inside])
        down[(rr[here] * cols + cc[here])] = target
    return down


def flow_accumulation_reference(directions: CodeArray) -> NDArray[np.float32]:
    """Cells draining through each cell (itself included) by a topological pass (Kahn); float32,
    NaN on nodata. Raises ValueError on a cycle."""
    valid = (directions != NODATA_CODE).ravel()
    down = downstream_index(directions)
    indegree = np.bincount(down[down >= 0], minlength=directions.size)
    accumulation = valid.astype(np.float64)
    queue: deque[int] = deque(int(i) for i in np.flatnonzero(valid & (indegree == 0)))
    done = 0
    while queue:
        i = queue.popleft()
        done += 1
        j = int(down[i])
        if j >= 0:
            accumulation[j] += accumulation[i]
            indegree[j] -= 1
            if indegree[j] == 0:
                queue.append(j)
    if done != int(valid.sum()):
        raise ValueError("the directions contain a cycle")
    out: NDArray[np.float32] = accumulation.astype(np.float32).reshape(directions.shape)
    out[directions == NODATA_CODE] = np.nan
    return out


def upstream_reference(directions: CodeArray, row: int, col: int) -> CodeArray:
    """1 where the downstream path passes through (row, col), by a BFS on the reversed graph."""
    rows, cols = directions.shape
    down = downstream_index(directions)
    source = np.flatnonzero(down >= 0)
    reverse = sparse.csr_matrix(
        (np.ones(source.size), (down[source], source)), shape=(directions.size, directions.size)
    )
    reached = csgraph.breadth_first_order(reverse, row * cols + col, directed=True, return_predecessors=False)
    mask = np.zeros(directions.size, dtype=np.uint8)
    mask[reached] = 1
    out = mask.reshape(rows, cols)
    out[directions == NODATA_CODE] = NODATA_CODE
    return out


def snap_reference(
    accumulation: np.ndarray, row: int, col: int, radius_rows: int, radius_cols: int
) -> tuple[int, int]:
    """The highest accumulation in the clipped window; ties to the nearest (Euclidean, in cells),
    then the first in row-major order; NaN never wins."""
    rows, cols = accumulation.shape
    best: tuple[float, int, int, int] | None = None
    for r in range(max(0, row - radius_rows), min(rows, row + radius_rows + 1)):
        for c in range(max(0, col - radius_cols), min(cols, col + radius_cols + 1)):
            value = float(accumulation[r, c])
            if math.isnan(value):
                continue
            key = (-value, (r - row) ** 2 + (c - col) ** 2, r, c)
            if best is None or key < best:
                best = key
    if best is None:
        raise ValueError("no valid cell in the window")
    return best[2], best[3]


def terminal_cells(directions: CodeArray) -> NDArray[np.int64]:
    """Flat index of the cell where each cell's downstream path ends (pointer doubling); -1 on
    nodata. Raises ValueError on a cycle."""
    down = downstream_index(directions)
    cells = np.arange(directions.size, dtype=np.int64)
    jump = np.where(down >= 0, down, cells)
    for _ in range(max(1, int(directions.size).bit_length() + 1)):
        jump = jump[jump]
    if np.any(jump[jump] != jump) or np.any(down[jump] >= 0):
        raise ValueError("the directions contain a cycle")
    jump[(directions == NODATA_CODE).ravel()] = -1
    return jump
