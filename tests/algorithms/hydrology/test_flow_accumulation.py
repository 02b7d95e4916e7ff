"""flow_accumulation against the topological-pass oracle (itself checked against pysheds): exactly on
steepest-descent directions, on random D8 trees and on long flat paths, on every chunking; lazy; the
counts are consistent (terminal cells hold every valid cell, each cell is 1 + its inflows)."""

from __future__ import annotations

from collections.abc import Callable

import dask.array as da
import numpy as np
import pytest

from app.algorithms.hydrology.accumulation import flow_accumulation
from app.algorithms.hydrology.directions import flow_direction
from app.algorithms.hydrology.fill import fill_sinks
from tests.algorithms.hydrology.cases import (
    CASES,
    CHUNK_IDS,
    CHUNKINGS,
    HAND_ACCUMULATION,
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


def steepest(name: str) -> Callable[[], np.ndarray]:
    def build() -> np.ndarray:
        case = CASES[name] if name in CASES else TINY_CASES[name]
        return ref.flow_direction_reference(ref.fill_reference(case.build(), case.nodata), 10.0, 10.0)

    return build


def random_tree(seed: int) -> Callable[[], np.ndarray]:
    def build() -> np.ndarray:
        return random_acyclic_directions((40, 47), seed)

    return build


DIRECTIONS: dict[str, Callable[[], np.ndarray]] = {name: steepest(name) for name in CASES}
DIRECTIONS |= {f"random-tree-{seed}": random_tree(seed) for seed in range(3)}
DIRECTIONS["hand"] = HAND_DIRECTIONS.copy


@pytest.mark.parametrize("chunks", CHUNKINGS, ids=CHUNK_IDS)
@pytest.mark.parametrize("name", list(DIRECTIONS))
def test_matches_reference(name: str, chunks: tuple[int, int] | None) -> None:
    directions = DIRECTIONS[name]()
    result = flow_accumulation(dem_array(directions, chunks=chunks))
    assert result.dtype == np.float32
    assert_identical(result.values, ref.flow_accumulation_reference(directions))


@pytest.mark.parametrize("chunks", [None, (1, 1), (2, 2), (4, 1)], ids=str)
def test_hand_worked(chunks: tuple[int, int] | None) -> None:
    assert_identical(flow_accumulation(dem_array(HAND_DIRECTIONS, chunks=chunks)).values, HAND_ACCUMULATION)


TINY: dict[str, Callable[[], np.ndarray]] = {name: steepest(name) for name in TINY_CASES}
TINY["tiny-random-tree"] = lambda: random_acyclic_directions((12, 13), 9)


@pytest.mark.parametrize("chunks", TINY_CHUNKINGS, ids=str)
@pytest.mark.parametrize("name", list(TINY))
def test_tiny_chunks(name: str, chunks: tuple[int, int]) -> None:
    directions = TINY[name]()
    assert_identical(
        flow_accumulation(dem_array(directions, chunks=chunks)).values,
        ref.flow_accumulation_reference(directions),
    )


@pytest.mark.parametrize("chunks", [None, (64, 64), (16, 23), (37, 11)], ids=str)
def test_lake_across_chunks(chunks: tuple[int, int] | None) -> None:
    directions = ref.flow_direction_reference(ref.fill_reference(large_lake()), 10.0, 10.0)
    assert_identical(
        flow_accumulation(dem_array(directions, chunks=chunks)).values,
        ref.flow_accumulation_reference(directions),
    )


def test_one_long_path_through_every_chunk() -> None:
    """A serpentine of 50 x 40 cells, every one stepping onto the next: the last holds them all."""
    rows, cols = 50, 40
    directions = np.zeros((rows, cols), dtype=np.uint8)
    for row in range(rows):
        directions[row, :] = 1 if row % 2 == 0 else 16
        directions[row, -1 if row % 2 == 0 else 0] = 4
    directions[-1, 0] = 0
    result = flow_accumulation(dem_array(directions, chunks=(3, 7))).values
    expected = np.empty((rows, cols), dtype=np.float32)
    for row in range(rows):
        counts = row * cols + np.arange(1, cols + 1)
        expected[row] = counts if row % 2 == 0 else counts[::-1]
    assert_identical(result, expected)
    assert_identical(expected, ref.flow_accumulation_reference(directions))


def test_paths_stepping_off_the_raster_or_onto_nodata_end_there() -> None:
    directions = np.array(
        [
            [64, 1, 1, 4],
            [16, 1, 1, 255],
            [4, 2, 255, 1],
        ],
        dtype=np.uint8,
    )
    expected = np.array([[1, 1, 2, 3], [1, 1, 2, np.nan], [1, 1, np.nan, 1]], dtype=np.float32)
    assert_identical(ref.flow_accumulation_reference(directions), expected)
    assert_identical(flow_accumulation(dem_array(directions, chunks=(2, 2))).values, expected)


@pytest.mark.parametrize("name", ["nodata-holes", "integers-nodata", "serpentine", "random-tree-0"])
def test_counts_are_consistent(name: str) -> None:
    """Whatever the oracle says: the terminal cells together hold every valid cell, and each cell
    holds itself plus what its upstream neighbours hold."""
    directions = DIRECTIONS[name]()
    accumulation = flow_accumulation(dem_array(directions, chunks=(9, 8))).values.astype(np.float64)
    valid = directions != 255
    down = ref.downstream_index(directions)
    assert accumulation.ravel()[valid.ravel() & (down < 0)].sum() == valid.sum()
    inflow = np.bincount(down[down >= 0], weights=accumulation.ravel()[down >= 0], minlength=directions.size)
    np.testing.assert_array_equal(accumulation[valid], 1.0 + inflow.reshape(directions.shape)[valid])


def test_lazy_and_chained() -> None:
    case = CASES["nodata-holes"]
    z = case.build()
    with raise_if_dask_computes():
        accumulation = flow_accumulation(
            flow_direction(fill_sinks(dem_array(z, nodata=case.nodata, chunks=(16, 23))))
        )
        alone = flow_accumulation(dem_array(DIRECTIONS["serpentine"](), chunks=(7, 9)))
    assert isinstance(accumulation.data, da.Array) and isinstance(alone.data, da.Array)
    expected = ref.flow_accumulation_reference(
        ref.flow_direction_reference(ref.fill_reference(z, case.nodata), 10.0, 10.0)
    )
    assert_identical(accumulation.values, expected)
    assert_identical(alone.values, ref.flow_accumulation_reference(DIRECTIONS["serpentine"]()))
