"""Tiles on dask chunks: their rings of edge cells, the cell pairs across seams, and the stages.

A tiled hydrology algorithm runs in three stages (Barnes 2016, 2017):

1. one task per tile reads the tile (padded by one cell if needed) and returns a small summary
   of what crosses its edges (its *ring*: first and last rows and columns);
2. one task solves the problem between the rings of all tiles;
3. one task per tile recomputes the tile with the global answer.

A :class:`Step` is one such algorithm; :func:`run` chains steps (fill, directions,
accumulation). The tiles of stage 3 are re-read and recomputed (the source's graph is cloned by
``graph_manipulation.bind`` to run after stage 2) rather than kept: holding every tile across
the global step would hold the whole raster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.delayed import Delayed, delayed
from dask.graph_manipulation import bind

Tile = tuple[int, int]
SIDES = ("top", "bottom", "left", "right")


class Ring(NamedTuple):
    """The edge cells of a tile, one array per side (corners appear on two sides)."""

    top: np.ndarray
    bottom: np.ndarray
    left: np.ndarray
    right: np.ndarray

    @classmethod
    def of(cls, block: np.ndarray) -> Ring:
        """The ring of a (rows, cols) array (copies: a ring outlives its tile)."""
        return cls(block[0].copy(), block[-1].copy(), block[:, 0].copy(), block[:, -1].copy())

    def side(self, name: str) -> np.ndarray:
        """One side by name."""
        side: np.ndarray = getattr(self, name)
        return side


def ring_indices(rows: int, cols: int) -> Ring:
    """The flat (row-major) indices in a (rows, cols) tile of each side's cells."""
    index = np.arange(rows * cols, dtype=np.int64).reshape(rows, cols)
    return Ring.of(index)


@dataclass(frozen=True)
class Tiling:
    """The tiles of a 2-D dask array: row and column chunk sizes."""

    row_chunks: tuple[int, ...]
    col_chunks: tuple[int, ...]

    @classmethod
    def of(cls, array: da.Array) -> Tiling:
        """The tiling of a 2-D dask array."""
        rows, cols = array.chunks
        return cls(tuple(rows), tuple(cols))

    @property
    def shape(self) -> tuple[int, int]:
        """Number of tile rows and tile columns."""
        return len(self.row_chunks), len(self.col_chunks)

    @property
    def width(self) -> int:
        """Columns of the whole raster."""
        return sum(self.col_chunks)

    def origin(self, tile: Tile) -> tuple[int, int]:
        """Row and column of the tile's first cell in the whole raster."""
        return sum(self.row_chunks[: tile[0]]), sum(self.col_chunks[: tile[1]])

    def tile_shape(self, tile: Tile) -> tuple[int, int]:
        """Rows and columns of one tile."""
        return self.row_chunks[tile[0]], self.col_chunks[tile[1]]

    def tiles(self) -> Iterator[Tile]:
        """Every tile, row-major."""
        rows, cols = self.shape
        for i in range(rows):
            for j in range(cols):
                yield i, j

    def neighbours(self, tile: Tile) -> Iterator[Tile]:
        """The up to 8 tiles around one."""
        return (other for other in self.around(tile) if other is not None)

    def around(self, tile: Tile) -> list[Tile | None]:
        """The tiles up-left, up, up-right, left, right, down-left, down, down-right (None outside)."""
        rows, cols = self.shape
        found: list[Tile | None] = []
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                i, j = tile[0] + di, tile[1] + dj
                if di or dj:
                    found.append((i, j) if 0 <= i < rows and 0 <= j < cols else None)
        return found

    def global_ids(self, tile: Tile, local: np.ndarray) -> np.ndarray:
        """Row-major indices in the whole raster of flat indices ``local`` in ``tile``."""
        row0, col0 = self.origin(tile)
        cols = self.tile_shape(tile)[1]
        rows, columns = np.divmod(local.astype(np.int64), cols)
        ids: np.ndarray = (rows + row0) * self.width + (columns + col0)
        return ids


class Seam(NamedTuple):
    """8-adjacent cell pairs across the seam of two tiles: ``a``'s side cells with ``b``'s."""

    a: Tile
    a_side: str
    a_index: np.ndarray
    b: Tile
    b_side: str
    b_index: np.ndarray


def _facing(length: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (p, q) of positions along two facing sides of ``length`` cells with |p - q| <= 1."""
    p = np.arange(length)
    pairs = [(p, p), (p[:-1], p[1:]), (p[1:], p[:-1])]
    return np.concatenate([a for a, _ in pairs]), np.concatenate([b for _, b in pairs])


def _seams_from(tiling: Tiling, tile: Tile) -> Iterator[Seam]:
    """The seams between ``tile`` and its right, lower and two lower diagonal neighbours."""
    rows, cols = tiling.shape
    i, j = tile
    if j + 1 < cols:
        a, b = _facing(tiling.row_chunks[i])
        yield Seam(tile, "right", a, (i, j + 1), "left", b)
    if i + 1 < rows:
        a, b = _facing(tiling.col_chunks[j])
        yield Seam(tile, "bottom", a, (i + 1, j), "top", b)
        last = np.array([tiling.col_chunks[j] - 1])
        if j + 1 < cols:
            yield Seam(tile, "bottom", last, (i + 1, j + 1), "top", np.array([0]))
        if j > 0:
            yield Seam(
                tile, "bottom", np.array([0]), (i + 1, j - 1), "top", np.array([tiling.col_chunks[j - 1] - 1])
            )


def seams(tiling: Tiling) -> Iterator[Seam]:
    """Every pair of 8-adjacent cells in different tiles, once (right, down and the diagonals)."""
    for tile in tiling.tiles():
        yield from _seams_from(tiling, tile)


def seams_of(tiling: Tiling, tile: Tile) -> list[tuple[Seam, bool]]:
    """The seams of one tile with its neighbours, each with whether the tile is its ``a``."""
    found = [(seam, True) for seam in _seams_from(tiling, tile)]
    for neighbour in tiling.neighbours(tile):
        found += [(seam, False) for seam in _seams_from(tiling, neighbour) if seam.b == tile]
    return found


def as_dask(data: object, dtype: type[np.generic]) -> da.Array:
    """A DataArray's 2-D data as a dask array of ``dtype`` (numpy data becomes one chunk)."""
    array: da.Array = data if isinstance(data, da.Array) else da.from_array(np.asarray(data), chunks=-1)
    converted: da.Array = array.astype(dtype)
    return converted


def padded(array: da.Array, fill: float) -> da.Array:
    """Every block with a one-cell border from its neighbours (``fill`` outside the raster).

    Built by hand rather than with ``dask.array.overlap``: each block hands its neighbours copies
    of its edge cells (a :class:`Ring`), so a block is released as soon as its own tile and its
    ring are done. (With ``overlap``, each padded block is a concatenation of views of nine
    blocks, and on a large raster dask held most of them at once.)
    """
    tiles = tuple((1,) * len(sizes) for sizes in array.chunks)
    rings = da.map_blocks(_ring_block, array, chunks=tiles, dtype=object, meta=np.empty((0, 0), dtype=object))
    around = [_shifted(rings, di, dj) for di in (-1, 0, 1) for dj in (-1, 0, 1) if di or dj]
    result: da.Array = da.map_blocks(
        _pad_block,
        array,
        *around,
        fill=fill,
        chunks=tuple(tuple(size + 2 for size in sizes) for sizes in array.chunks),
        dtype=array.dtype,
        meta=np.empty((0, 0), dtype=array.dtype),
    )
    return result


def _ring_block(block: np.ndarray) -> np.ndarray:
    out = np.empty((1, 1), dtype=object)
    out[0, 0] = Ring.of(block)
    return out


def _shifted(rings: da.Array, di: int, dj: int) -> da.Array:
    """At each tile, the ring of the tile (di, dj) away from it (None outside the raster)."""
    shifted = rings
    for axis, step in ((0, di), (1, dj)):
        if step == 0:
            continue
        shape = list(shifted.shape)
        shape[axis] = 1
        edge = da.from_array(np.full(shape, None, dtype=object), chunks=1)
        kept = shifted[:-1] if axis == 0 else shifted[:, :-1]
        moved = shifted[1:] if axis == 0 else shifted[:, 1:]
        shifted = da.concatenate([edge, kept] if step < 0 else [moved, edge], axis=axis)
    return shifted


def _pad_block(block: np.ndarray, *around: np.ndarray, fill: float) -> np.ndarray:
    """``block`` inside a one-cell border from its 8 neighbours' rings, each a (1, 1) object array."""
    return with_border(block, [ring[0, 0] for ring in around], fill)


def with_border(block: np.ndarray, around: list[Ring | None], fill: float) -> np.ndarray:
    """``block`` inside a one-cell border: the facing edge cells of the rings ``around`` it.

    ``around``: the rings up-left, up, up-right, left, right, down-left, down, down-right (None
    outside the raster, where the border is ``fill``).
    """
    up_left, up, up_right, left, right, down_left, down, down_right = around
    rows, cols = block.shape
    out = np.full((rows + 2, cols + 2), fill, dtype=block.dtype)
    out[1:-1, 1:-1] = block
    if up is not None:
        out[0, 1:-1] = up.bottom
    if down is not None:
        out[-1, 1:-1] = down.top
    if left is not None:
        out[1:-1, 0] = left.right
    if right is not None:
        out[1:-1, -1] = right.left
    if up_left is not None:
        out[0, 0] = up_left.bottom[-1]
    if up_right is not None:
        out[0, -1] = up_right.bottom[0]
    if down_left is not None:
        out[-1, 0] = down_left.top[-1]
    if down_right is not None:
        out[-1, -1] = down_right.top[0]
    return out


SOLUTION = "hydrology-solution"  # key prefix of the global tasks (stage 2)


@dataclass(frozen=True)
class Step:
    """One tiled algorithm: its three stages, the result's dtype, how its input tiles are padded.

    ``summarise(block, tile, tiling, *args)`` -> summary; ``solver(summaries, tiling, *args)`` ->
    solution; ``finish(block, tile, tiling, solution)`` -> the tile's result. ``pad``: the value
    around the raster when each block is padded by one cell, or None for unpadded blocks. The
    ``args`` may be dask Delayed values (a solver can hand them on to ``finish`` in its solution).
    """

    summarise: Callable[..., Any]
    solver: Callable[..., Any]
    finish: Callable[..., np.ndarray]
    dtype: np.dtype
    pad: float | None
    args: tuple[Any, ...] = ()

    def blocks(self, data: da.Array) -> da.Array:
        """The input blocks, padded if the step needs its neighbours' cells."""
        return data if self.pad is None else padded(data, self.pad)

    def solve(self, data: da.Array) -> Delayed:
        """Stages 1 and 2 on ``data``: the global solution."""
        tiling = Tiling.of(data)
        parts = self.blocks(data).to_delayed(optimize_graph=False)
        call = delayed(self.summarise, pure=True)
        summaries = [
            [call(parts[i, j], (i, j), tiling, *self.args) for j in range(parts.shape[1])]
            for i in range(parts.shape[0])
        ]
        token = tokenize(self.solver, summaries, tiling, *self.args)
        solution: Delayed = delayed(self.solver, pure=True)(
            summaries, tiling, *self.args, dask_key_name=f"{SOLUTION}-{token}"
        )
        return solution

    def apply(self, data: da.Array, solution: Delayed) -> da.Array:
        """Stage 3 on ``data`` with the solution: the result, one block per tile."""
        tiling = Tiling.of(data)
        finish = self.finish

        def block_stage(block: np.ndarray, found: Any, block_id: tuple[int, int]) -> np.ndarray:
            return finish(block, block_id, tiling, found)

        result: da.Array = da.map_blocks(
            block_stage,
            self.blocks(data),
            solution,
            chunks=(tiling.row_chunks, tiling.col_chunks),
            dtype=self.dtype,
            meta=np.empty((0, 0), dtype=self.dtype),
        )
        return result


def run(source: da.Array, steps: Sequence[Step]) -> da.Array:
    """The last step's result of a chain of tiled steps on a 2-D dask array, memory bounded.

    Each stage 3, and each later step's stages 1, works on its own copy of ``source``'s graph
    (``graph_manipulation.bind``) that starts after the latest global solution it needs: so no
    tile is held across a global step; each copy re-reads the source and recomputes the earlier
    steps' tiles. (The copy is made of ``source``, which must not contain overlap layers: dask
    does not clone through them.)
    """
    solutions: list[Delayed] = []
    for k, step in enumerate(steps):
        solutions.append(step.solve(_replay(source, steps[:k], solutions)))
    return _replay(source, steps, solutions)


def _replay(source: da.Array, steps: Sequence[Step], solutions: Sequence[Delayed]) -> da.Array:
    data = bind(source, solutions[-1]) if solutions else source
    for step, solution in zip(steps, solutions, strict=True):
        data = step.apply(data, solution)
    return data
