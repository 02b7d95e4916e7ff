"""upstream_mask and snap_outlet against their oracles (a BFS on the reversed D8 graph; a scan of the
window): exact masks on every chunking, the mask's size equal to the outlet's accumulation, the
snapping rules (highest, then nearest, then row-major; NaN never wins; the window clipped), the
Delayed outlet, and laziness."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from dask.delayed import Delayed

from app.algorithms.hydrology.watershed import snap_outlet, upstream_mask
from tests.algorithms.hydrology.cases import (
    CASES,
    CHUNK_IDS,
    CHUNKINGS,
    HAND_DIRECTIONS,
    TINY_CASES,
    TINY_CHUNKINGS,
    assert_identical,
    dem_array,
    large_lake,
    random_acyclic_directions,
)
from tests.support import hydrology_reference as ref
from tests.support.dask_guard import raise_if_dask_computes

N = np.nan


def directions_of(name: str) -> np.ndarray:
    if name == "random-tree":
        return random_acyclic_directions((40, 47), 5)
    if name == "lake":
        return ref.flow_direction_reference(ref.fill_reference(large_lake()), 10.0, 10.0)
    case = CASES[name] if name in CASES else TINY_CASES[name]
    return ref.flow_direction_reference(ref.fill_reference(case.build(), case.nodata), 10.0, 10.0)


def outlets(directions: np.ndarray, count: int = 3) -> list[tuple[int, int]]:
    """The cell of the largest accumulation, the first valid cell in row-major order, random valid
    cells."""
    accumulation = ref.flow_accumulation_reference(directions)
    valid = np.argwhere(directions != 255)
    top = np.unravel_index(np.nanargmax(accumulation), accumulation.shape)
    rng = np.random.default_rng(directions.size)
    cells = [top, valid[0], *valid[rng.choice(len(valid), count)]]
    return [(int(row), int(col)) for row, col in cells]


@pytest.mark.parametrize("chunks", CHUNKINGS, ids=CHUNK_IDS)
@pytest.mark.parametrize("name", ["nodata-holes", "plateaus", "serpentine", "integers-nodata", "random-tree"])
def test_matches_reference(name: str, chunks: tuple[int, int] | None) -> None:
    directions = directions_of(name)
    accumulation = ref.flow_accumulation_reference(directions)
    for row, col in outlets(directions):
        mask = upstream_mask(dem_array(directions, chunks=chunks), (row, col))
        assert mask.dtype == np.uint8
        expected = ref.upstream_reference(directions, row, col)
        assert_identical(mask.values, expected)
        assert (mask.values == 1).sum() == accumulation[row, col]


@pytest.mark.parametrize("chunks", TINY_CHUNKINGS, ids=str)
@pytest.mark.parametrize("name", list(TINY_CASES))
def test_tiny_chunks(name: str, chunks: tuple[int, int]) -> None:
    directions = directions_of(name)
    for row, col in outlets(directions, count=1):
        assert_identical(
            upstream_mask(dem_array(directions, chunks=chunks), (row, col)).values,
            ref.upstream_reference(directions, row, col),
        )


@pytest.mark.parametrize("chunks", [None, (64, 64), (16, 23), (37, 11)], ids=str)
def test_lake_basin(chunks: tuple[int, int] | None) -> None:
    directions = directions_of("lake")
    for row, col in outlets(directions, count=1):
        assert_identical(
            upstream_mask(dem_array(directions, chunks=chunks), (row, col)).values,
            ref.upstream_reference(directions, row, col),
        )


def test_hand_worked() -> None:
    expected = np.zeros((4, 5), dtype=np.uint8)
    expected[[1, 0, 1, 0, 0, 1], [2, 2, 1, 0, 1, 0]] = 1
    assert_identical(upstream_mask(dem_array(HAND_DIRECTIONS, chunks=(2, 3)), (1, 2)).values, expected)
    assert_identical(
        upstream_mask(dem_array(HAND_DIRECTIONS), (2, 4)).values, np.ones((4, 5), dtype=np.uint8)
    )
    leaf = np.zeros((4, 5), dtype=np.uint8)
    leaf[3, 0] = 1
    assert_identical(upstream_mask(dem_array(HAND_DIRECTIONS, chunks=(1, 1)), (3, 0)).values, leaf)


SNAP = np.array(
    [
        [1, 5, 1, 5, 2],
        [1, 1, 1, N, 2],
        [5, 1, 1, 1, 2],
        [1, 1, 1, 9, N],
    ],
    dtype=np.float32,
)


@pytest.mark.parametrize(
    ("row", "col", "radius_rows", "radius_cols", "expected"),
    [
        (1, 1, 1, 1, (0, 1)),  # 5 at (0, 1) and (2, 0): the nearer
        (1, 2, 1, 1, (0, 1)),  # 5 at (0, 1) and (0, 3), equally near: row-major
        (1, 2, 2, 1, (3, 3)),  # the 9 enters the window
        (1, 3, 0, 1, (1, 4)),  # NaN never wins
        (1, 3, 1, 0, (0, 3)),  # on a NaN cell: 5 above it, 1 below
        (1, 4, 0, 0, (1, 4)),  # radius 0: the cell itself
        (3, 4, 1, 1, (3, 3)),  # clipped at the corner
        (0, 0, 0, 2, (0, 1)),
        (2, 4, 1, 0, (2, 4)),  # 2, 2 and NaN in a column: the cell itself is the nearest
    ],
)
def test_snap_rules(
    row: int, col: int, radius_rows: int, radius_cols: int, expected: tuple[int, int]
) -> None:
    assert ref.snap_reference(SNAP, row, col, radius_rows, radius_cols) == expected
    for chunks in (None, (2, 3), (1, 1)):
        snapped = snap_outlet(dem_array(SNAP, chunks=chunks), row, col, radius_rows, radius_cols)
        assert isinstance(snapped, Delayed)
        assert tuple(int(i) for i in snapped.compute()) == expected


@pytest.mark.parametrize("name", ["integers", "nodata-holes", "random-tree"])
def test_snap_matches_reference_on_accumulations(name: str) -> None:
    """Integer counts: ties everywhere. Windows of every shape, clipped at every side."""
    accumulation = ref.flow_accumulation_reference(directions_of(name))
    grid = dem_array(accumulation, chunks=(6, 7))
    rng = np.random.default_rng(21)
    rows, cols = accumulation.shape
    for _ in range(25):
        row, col = int(rng.integers(0, rows)), int(rng.integers(0, cols))
        radius_rows, radius_cols = int(rng.integers(0, 9)), int(rng.integers(0, 9))
        if np.isnan(
            accumulation[
                max(0, row - radius_rows) : row + radius_rows + 1,
                max(0, col - radius_cols) : col + radius_cols + 1,
            ]
        ).all():
            continue
        expected = ref.snap_reference(accumulation, row, col, radius_rows, radius_cols)
        got = snap_outlet(grid, row, col, radius_rows, radius_cols).compute()
        assert tuple(int(i) for i in got) == expected, (row, col, radius_rows, radius_cols)


def test_delayed_outlet_and_laziness() -> None:
    directions = directions_of("nodata-holes")
    accumulation = ref.flow_accumulation_reference(directions)
    top_row, top_col = outlets(directions)[0]
    row, col = top_row - 2, top_col + 3  # near the largest accumulation: the snap moves there
    with raise_if_dask_computes():
        snapped = snap_outlet(dem_array(accumulation, chunks=(16, 23)), row, col, 4, 6)
        mask = upstream_mask(dem_array(directions, chunks=(16, 23)), snapped)
        by_index = upstream_mask(dem_array(directions, chunks=(16, 23)), (row, col))
    assert isinstance(mask.data, da.Array) and isinstance(by_index.data, da.Array)
    snapped_row, snapped_col = ref.snap_reference(accumulation, row, col, 4, 6)
    assert accumulation[snapped_row, snapped_col] > accumulation[row, col]  # the snap moved the outlet
    assert_identical(mask.values, ref.upstream_reference(directions, snapped_row, snapped_col))
    assert_identical(by_index.values, ref.upstream_reference(directions, row, col))
