"""D8 flow directions of a filled DEM, flats drained towards lower terrain; tiled.

Codes (ESRI's): 1=E 2=SE 4=S 8=SW 16=W 32=NW 64=N 128=NE; 0 where the cell has no way down;
255 nodata. Conventions:

- a valid cell with strictly lower valid neighbours flows to the one of steepest drop per
  distance (pixel width east-west, height north-south, their hypotenuse diagonally; in metres
  at the row's latitude for a geographic CRS); ties go to the first in the code order
  E, SE, S, SW, W, NW, N, NE;
- a cell without a lower neighbour that is a seed (on the raster's edge or next to nodata) gets
  0: edges are not forced outward, water leaves there;
- any other cell without a lower neighbour is on a flat (after filling, a filled depression):
  its *outlets* are the cells of the flat (8-connected cells of exactly its elevation) that
  have a lower neighbour or are seeds; the cell flows to the equal neighbour one step closer
  (in 8-connected steps across the flat) to the nearest outlet, ties in the code order. This is
  the "towards lower terrain" gradient of Garbrecht & Martz (1997), without their second
  gradient away from higher terrain: paths on a flat are shortest, not centred. A cell of a flat
  without any outlet gets 0 (cannot happen on a filled DEM).

Tiled: steepest descent needs only a one-cell border. Distances across a flat may cross tiles:
each tile measures them from its own outlets; one task then propagates distances between tile
rings (re-running a tile's breadth-first search from its ring when a neighbour offers a shorter
way; a tile whose ring touches a flat keeps a compressed copy of its flat cells for that); the
second pass runs each tile's search with the final distances entering its ring.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections import deque
from dataclasses import dataclass

import numpy as np
import xarray as xr
from numba import njit

from app.algorithms.hydrology.fill import COL_STEP, ROW_STEP, elevations, is_seed
from app.algorithms.hydrology.tiles import (
    Ring,
    Seam,
    Step,
    Tile,
    Tiling,
    ring_indices,
    run,
    seams_of,
    with_border,
)
from app.algorithms.terrain import row_spacing
from app.raster.grid import Grid

NODATA = 255
FAR = np.iinfo(np.int32).max  # distance of a cell no outlet reaches
NOT_FLAT, FLAT, OUTLET = 0, 1, 2  # a cell's part in flat resolution


@njit(cache=True, nogil=True)
def classify(block: np.ndarray, x_step: np.ndarray, y_step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Steepest-descent codes (0 without a lower neighbour, 255 nodata) and each cell's part.

    ``block`` is the tile padded by one cell; ``x_step``/``y_step`` the tile rows' pixel sizes.
    """
    rows, cols = block.shape[0] - 2, block.shape[1] - 2
    code = np.full((rows, cols), NODATA, dtype=np.uint8)
    part = np.zeros((rows, cols), dtype=np.int8)
    distance = np.empty(8, dtype=np.float64)
    for row in range(rows):
        dx, dy = x_step[row], y_step[row]
        diagonal = math.sqrt(dx * dx + dy * dy)
        for k in range(8):
            distance[k] = (
                diagonal if ROW_STEP[k] != 0 and COL_STEP[k] != 0 else (dx if ROW_STEP[k] == 0 else dy)
            )
        for col in range(cols):
            z = block[row + 1, col + 1]
            if np.isnan(z):
                continue
            best, chosen = 0.0, 0
            for k in range(8):
                other = block[row + 1 + ROW_STEP[k], col + 1 + COL_STEP[k]]
                if other < z:  # False for NaN
                    drop = (np.float64(z) - np.float64(other)) / distance[k]
                    if drop > best:
                        best, chosen = drop, 1 << k
            code[row, col] = chosen
            if chosen != 0 or is_seed(block, row + 1, col + 1):
                part[row, col] = OUTLET
            else:
                part[row, col] = FLAT
    return code, part


@njit(cache=True, nogil=True)
def flat_distances(
    z: np.ndarray, part: np.ndarray, seeds: np.ndarray, seed_distances: np.ndarray
) -> np.ndarray:
    """Steps across flats to the nearest outlet, for a tile (FAR where none, 0 at outlets).

    Outlets start at 0; ``seeds`` (flat indices, sorted by ``seed_distances``) are flat cells on
    the ring reached from outside at those distances. A breadth-first search over 8-connected
    cells of equal elevation, merging the seeds in distance order.
    """
    rows, cols = z.shape
    flat_z = z.ravel()
    flat_part = part.ravel()
    dist = np.full(rows * cols, FAR, dtype=np.int32)
    queue = np.empty(rows * cols + len(seeds), dtype=np.int64)
    head, tail = 0, 0
    for index in range(rows * cols):
        if flat_part[index] == OUTLET:
            dist[index] = 0
            queue[tail] = index
            tail += 1
    next_seed = 0
    while True:
        if next_seed < len(seeds) and (head == tail or seed_distances[next_seed] <= dist[queue[head]]):
            index, d = seeds[next_seed], seed_distances[next_seed]
            next_seed += 1
            if d >= dist[index]:
                continue
            dist[index] = d
        elif head < tail:
            index = queue[head]
            head += 1
            d = dist[index]
        else:
            break
        row, col = index // cols, index % cols
        for k in range(8):
            r, c = row + ROW_STEP[k], col + COL_STEP[k]
            if r < 0 or c < 0 or r >= rows or c >= cols:
                continue
            other = r * cols + c
            if flat_part[other] == FLAT and flat_z[other] == flat_z[index] and dist[other] > d + 1:
                dist[other] = d + 1
                queue[tail] = other
                tail += 1
    return dist.reshape(rows, cols)


@njit(cache=True, nogil=True)
def drain_flats(block: np.ndarray, code: np.ndarray, part: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """``code`` with each flat cell pointing to an equal neighbour one step closer to an outlet.

    ``dist`` is padded by one cell like ``block`` (the neighbours' distances, FAR outside).
    """
    rows, cols = code.shape
    for row in range(rows):
        for col in range(cols):
            if part[row, col] != FLAT:
                continue
            z, d = block[row + 1, col + 1], dist[row + 1, col + 1]
            if d == FAR:
                continue
            for k in range(8):
                r, c = row + 1 + ROW_STEP[k], col + 1 + COL_STEP[k]
                if block[r, c] == z and dist[r, c] == d - 1:
                    code[row, col] = 1 << k
                    break
    return code


@njit(cache=True, nogil=True)
def ring_flats(z: np.ndarray, part: np.ndarray) -> np.ndarray:
    """The cells of the flats that touch the tile's ring (FLAT ring cells and the cells of equal
    elevation connected to them, outlets included): the only ones distances from outside reach."""
    rows, cols = z.shape
    keep = np.zeros((rows, cols), dtype=np.bool_)
    queue = np.empty(rows * cols, dtype=np.int64)
    tail = 0
    for row in range(rows):
        for col in range(cols):
            on_ring = row == 0 or col == 0 or row == rows - 1 or col == cols - 1
            if on_ring and part[row, col] == FLAT:
                keep[row, col] = True
                queue[tail] = row * cols + col
                tail += 1
    head = 0
    while head < tail:
        index = queue[head]
        head += 1
        row, col = index // cols, index % cols
        for k in range(8):
            r, c = row + ROW_STEP[k], col + COL_STEP[k]
            if (
                0 <= r < rows
                and 0 <= c < cols
                and not keep[r, c]
                and part[r, c] != NOT_FLAT
                and z[r, c] == z[row, col]
            ):
                keep[r, c] = True
                if part[r, c] == FLAT:  # an outlet ends the flat: its other neighbours are not on it
                    queue[tail] = r * cols + c
                    tail += 1
    return keep


@dataclass
class FlatRing:
    """What tiles exchange about flats: their ring's parts, elevations and distances."""

    part: Ring
    z: Ring
    dist: Ring


@dataclass
class FlatTile:
    """Stage-1 summary of a tile: its ring and, if the ring has flat cells, the flats touching
    the ring (elevations and parts, compressed; everything else NaN and NOT_FLAT)."""

    ring: FlatRing
    shape: tuple[int, int]
    packed: tuple[bytes, bytes] | None

    def unpack(self) -> tuple[np.ndarray, np.ndarray]:
        """The tile's elevations (NaN off its flats and outlets) and parts."""
        assert self.packed is not None
        z = np.frombuffer(zlib.decompress(self.packed[0]), dtype=np.float32).reshape(self.shape)
        part = np.frombuffer(zlib.decompress(self.packed[1]), dtype=np.int8).reshape(self.shape)
        return z, part


def _steps(
    tile: Tile, tiling: Tiling, x_step: np.ndarray, y_step: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    row0, _ = tiling.origin(tile)
    rows = tiling.tile_shape(tile)[0]
    return x_step[row0 : row0 + rows], y_step[row0 : row0 + rows]


def _summarise(
    block: np.ndarray, tile: Tile, tiling: Tiling, x_step: np.ndarray, y_step: np.ndarray
) -> FlatTile:
    _, part = classify(block, *_steps(tile, tiling, x_step, y_step))
    z = block[1:-1, 1:-1]
    dist = flat_distances(z, part, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int32))
    ring = FlatRing(Ring.of(part), Ring.of(z), Ring.of(dist))
    packed = None
    if any((side == FLAT).any() for side in ring.part):
        keep = ring_flats(z, part)
        kept_z = np.where(keep, z, np.float32(np.nan)).astype(np.float32)
        kept_part = np.where(keep, part, np.int8(NOT_FLAT)).astype(np.int8)
        packed = (zlib.compress(kept_z.tobytes(), 1), zlib.compress(kept_part.tobytes(), 1))
    return FlatTile(ring, z.shape, packed)


def _entering(tile: Tile, rings: dict[Tile, FlatRing], touching: list[tuple[Seam, bool]]) -> Ring:
    """For each ring cell of ``tile`` on a flat, the shortest distance offered by the next tiles."""
    own = rings[tile]
    offered = Ring(*(np.full(len(side), FAR, dtype=np.int64) for side in own.part))
    for seam, is_a in touching:
        mine, theirs = (seam.a_side, seam.b_side) if is_a else (seam.b_side, seam.a_side)
        my_index, their_index = (seam.a_index, seam.b_index) if is_a else (seam.b_index, seam.a_index)
        other = rings[seam.b if is_a else seam.a]
        their_dist = other.dist.side(theirs)[their_index].astype(np.int64)
        usable = (
            (own.part.side(mine)[my_index] == FLAT)
            & (own.z.side(mine)[my_index] == other.z.side(theirs)[their_index])
            & (their_dist < FAR)
        )
        np.minimum.at(offered.side(mine), my_index[usable], their_dist[usable] + 1)
    return offered


def _ring_seeds(shape: tuple[int, int], offered: Ring) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices and distances of the ring cells reached from outside, sorted by distance."""
    positions = ring_indices(*shape)
    index = np.concatenate(list(positions))
    dist = np.concatenate(list(offered))
    reached = dist < FAR
    index, dist = index[reached], dist[reached]
    order = np.argsort(dist, kind="stable")
    return index[order], dist[order].astype(np.int32)


def _solve(tiles: list[list[FlatTile]], tiling: Tiling, *_: object) -> dict[Tile, FlatRing]:
    """The final ring distances of every tile: tiles re-searched until no ring improves."""
    summary = {tile: tiles[tile[0]][tile[1]] for tile in tiling.tiles()}
    rings = {tile: found.ring for tile, found in summary.items()}
    touching = {tile: seams_of(tiling, tile) for tile in tiling.tiles()}
    waiting = deque(tile for tile, found in summary.items() if found.packed is not None)
    queued = set(waiting)
    while waiting:
        tile = waiting.popleft()
        queued.discard(tile)
        offered = _entering(tile, rings, touching[tile])
        if not any((new < old).any() for new, old in zip(offered, rings[tile].dist, strict=True)):
            continue
        z, part = summary[tile].unpack()
        dist = flat_distances(z, part, *_ring_seeds(z.shape, offered))
        # the packed tile holds only the flats touching the ring: elsewhere (outlets beyond
        # them, other flats) the distances measured in stage 1 stand
        found = Ring(
            *(np.minimum(new, old) for new, old in zip(Ring.of(dist), rings[tile].dist, strict=True))
        )
        rings[tile] = FlatRing(rings[tile].part, rings[tile].z, found)
        for neighbour in tiling.neighbours(tile):
            if summary[neighbour].packed is not None and neighbour not in queued:
                waiting.append(neighbour)
                queued.add(neighbour)
    return rings


def _padded_distances(
    dist: np.ndarray, tile: Tile, tiling: Tiling, rings: dict[Tile, FlatRing]
) -> np.ndarray:
    """The tile's distances with a one-cell border of its neighbours' ring distances (FAR outside)."""
    around = [None if other is None else rings[other].dist for other in tiling.around(tile)]
    return with_border(dist, around, FAR)


def _directions_tile(
    block: np.ndarray,
    tile: Tile,
    tiling: Tiling,
    rings: dict[Tile, FlatRing],
    x_step: np.ndarray,
    y_step: np.ndarray,
) -> np.ndarray:
    code, part = classify(block, *_steps(tile, tiling, x_step, y_step))
    if not (part == FLAT).any():
        return code
    z = block[1:-1, 1:-1]
    offered = _entering(tile, rings, seams_of(tiling, tile))
    dist = flat_distances(z, part, *_ring_seeds(z.shape, offered))
    return drain_flats(block, code, part, _padded_distances(dist, tile, tiling, rings))


def direction_step(x_step: np.ndarray, y_step: np.ndarray) -> Step:
    """The tiled D8 step, given every raster row's pixel width and height (positive)."""
    finish = functools.partial(_directions_tile, x_step=x_step, y_step=y_step)
    return Step(_summarise, _solve, finish, np.dtype(np.uint8), pad=math.nan, args=(x_step, y_step))


def pixel_steps(grid_data: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Every row's pixel width and height as positive float64 (metres for a geographic CRS)."""
    x_step, y_step = row_spacing(grid_data)
    return np.abs(x_step[:, 0]), np.abs(y_step[:, 0])


def flow_direction(filled: xr.DataArray) -> xr.DataArray:
    """D8 codes (uint8, 255 nodata) of a filled (y, x) DEM; lazy, one dask chunk per tile."""
    codes = run(elevations(filled), [direction_step(*pixel_steps(filled))])
    return Grid.of(filled).with_nodata(NODATA).stamp(filled.copy(data=codes))
