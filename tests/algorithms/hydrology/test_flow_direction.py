"""flow_direction against the D8 oracle (steepest descent, then BFS towards the flats' outlets):
exactly on every case and chunking, hand-worked ties and flats, pixel distances (non-square and
geographic), chained after fill_sinks, and lazy on dask input."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from affine import Affine

from app.algorithms.hydrology.directions import flow_direction
from app.algorithms.hydrology.fill import fill_sinks
from tests.algorithms.hydrology.cases import (
    CASES,
    CHUNK_IDS,
    CHUNKINGS,
    HAND_DEM,
    HAND_DIRECTIONS,
    NON_SQUARE,
    TINY_CASES,
    TINY_CHUNKINGS,
    assert_identical,
    dem_array,
    large_lake,
    smooth,
)
from tests.support import hydrology_reference as ref
from tests.support.dask_guard import raise_if_dask_computes


def filled(name: str) -> np.ndarray:
    case = CASES[name] if name in CASES else TINY_CASES[name]
    return ref.fill_reference(case.build(), case.nodata)


@pytest.mark.parametrize("chunks", CHUNKINGS, ids=CHUNK_IDS)
@pytest.mark.parametrize("name", list(CASES))
def test_matches_reference(name: str, chunks: tuple[int, int] | None) -> None:
    z = filled(name)
    result = flow_direction(dem_array(z, chunks=chunks))
    assert result.dtype == np.uint8
    assert_identical(result.values, ref.flow_direction_reference(z, 10.0, 10.0))


@pytest.mark.parametrize("chunks", TINY_CHUNKINGS, ids=str)
@pytest.mark.parametrize("name", list(TINY_CASES))
def test_tiny_chunks(name: str, chunks: tuple[int, int]) -> None:
    z = filled(name)
    assert_identical(
        flow_direction(dem_array(z, chunks=chunks)).values, ref.flow_direction_reference(z, 10.0, 10.0)
    )


@pytest.mark.parametrize("chunks", [None, (64, 64), (16, 23), (37, 11)], ids=str)
def test_lake_flat_resolved_across_chunks(chunks: tuple[int, int] | None) -> None:
    """The filled lake is one flat of thousands of cells draining through its spill point."""
    z = ref.fill_reference(large_lake())
    assert_identical(
        flow_direction(dem_array(z, chunks=chunks)).values, ref.flow_direction_reference(z, 10.0, 10.0)
    )


@pytest.mark.parametrize("chunks", [None, (1, 1), (2, 3), (4, 1)], ids=str)
def test_hand_worked(chunks: tuple[int, int] | None) -> None:
    assert_identical(flow_direction(dem_array(HAND_DEM, chunks=chunks)).values, HAND_DIRECTIONS)
    z = np.full((7, 7), 5.0)
    z[3, 3] = np.nan  # a flat around a hole: the cells touching it are seeds
    expected = np.array(
        [
            [0, 0, 0, 0, 0, 0, 0],
            [0, 2, 2, 2, 4, 1, 0],
            [0, 1, 0, 0, 0, 1, 0],
            [0, 1, 0, 255, 0, 1, 0],
            [0, 1, 0, 0, 0, 1, 0],
            [0, 2, 2, 2, 2, 1, 0],
            [0, 0, 0, 0, 0, 0, 0],
        ],
        dtype=np.uint8,
    )
    assert_identical(flow_direction(dem_array(z, chunks=chunks)).values, expected)


UNIT = Affine(1.0, 0.0, 0.0, 0.0, -1.0, 0.0)


def centre(z: list[list[float]], transform: Affine = UNIT) -> int:
    return int(flow_direction(dem_array(np.array(z, dtype=np.float64), transform)).values[1, 1])


def test_ties_and_distances() -> None:
    assert centre([[9, 9, 9], [5, 7, 5], [9, 9, 9]]) == 1  # E before W
    assert centre([[9, 9, 9], [4.9, 7, 5], [9, 9, 9]]) == 16  # W strictly steeper
    assert centre([[9, 9, 9], [9, 7, 9], [5, 5, 5]]) == 4  # S before SE and SW (same drop, shorter)
    assert centre([[5, 9, 5], [9, 7, 9], [5, 9, 5]]) == 2  # SE first of the diagonals
    assert centre([[9, 4, 9], [9, 6, 5], [9, 9, 9]]) == 64  # square pixels: 2 to the N beats 1 to the E
    assert centre([[9, 4, 9], [9, 6, 5], [9, 9, 9]], NON_SQUARE) == 1  # but not over 30 m
    assert centre([[9, 9, 9], [9, 6, 9], [9, 5, 4.5]]) == 2  # 1.5 over hypot(1, 1) beats 1 over 1
    assert centre([[9, 9, 9], [9, 6, 9], [9, 5, 4.6]]) == 4


def test_unfilled_pits_and_undrained_flats_get_zero() -> None:
    z = np.full((9, 9), 5.0)
    z[2:5, 2:5] = 3.0
    z[6, 6] = 1.0
    result = flow_direction(dem_array(z, chunks=(2, 3))).values
    expected = ref.flow_direction_reference(z, 10.0, 10.0)
    assert_identical(result, expected)
    assert not result[2:5, 2:5].any() and result[6, 6] == 0


@pytest.mark.parametrize("chunks", [None, (-1, -1), (16, 23), (5, 7)], ids=str)
def test_non_square_pixels(chunks: tuple[int, int] | None) -> None:
    z = filled("smooth-0")
    expected = ref.flow_direction_reference(z, 10.0, 30.0)
    assert (expected != ref.flow_direction_reference(z, 10.0, 10.0)).sum() > 100  # the distance matters
    assert_identical(flow_direction(dem_array(z, NON_SQUARE, chunks=chunks)).values, expected)


@pytest.mark.parametrize("chunks", [None, (-1, -1), (16, 23), (5, 7)], ids=str)
def test_geographic_pixels_in_metres(chunks: tuple[int, int] | None) -> None:
    """Between 64 and 61 N a 0.05-degree pixel is 2.4 to 2.7 km wide and 5.6 km high."""
    z = ref.fill_reference(smooth((60, 50), seed=12, relief=30.0))
    transform = Affine(0.05, 0.0, 10.0, 0.0, -0.05, 64.0)
    latitude = transform.f + transform.e * (np.arange(60) + 0.5)
    per_lon, per_lat = ref.metres_per_degree(latitude)
    expected = ref.flow_direction_reference(z, transform.a * per_lon, transform.e * per_lat)
    assert (expected != ref.flow_direction_reference(z, transform.a, transform.e)).sum() > 50
    mean = ref.flow_direction_reference(z, transform.a * per_lon.mean(), transform.e * per_lat.mean())
    assert (expected != mean).sum() > 10  # the spacing of each row matters too
    result = flow_direction(dem_array(z, transform, crs="EPSG:4326", chunks=chunks))
    assert_identical(result.values, expected)


@pytest.mark.parametrize("name", ["nodata-holes", "integers-nodata", "uint8-nodata-0", "plateaus"])
def test_chained_after_fill_sinks(name: str) -> None:
    case = CASES[name]
    z = case.build()
    dem = dem_array(z, nodata=case.nodata, chunks=(11, 13))
    result = flow_direction(fill_sinks(dem))
    expected = ref.flow_direction_reference(ref.fill_reference(z, case.nodata), 10.0, 10.0)
    assert_identical(result.values, expected)


def test_lazy_on_dask_input() -> None:
    case = CASES["nodata-holes"]
    z = case.build()
    dem = dem_array(z, nodata=case.nodata, chunks=(16, 23))
    with raise_if_dask_computes():
        directions = flow_direction(fill_sinks(dem))
        alone = flow_direction(dem_array(filled("serpentine"), chunks=(7, 9)))
    assert isinstance(directions.data, da.Array) and isinstance(alone.data, da.Array)
    assert_identical(alone.values, ref.flow_direction_reference(filled("serpentine"), 10.0, 10.0))


@pytest.mark.parametrize("name", ["serpentine", "flat", "plateaus", "integers"])
def test_paths_end_on_seeds_without_rising(name: str) -> None:
    """The kernel's own directions on a filled DEM: no cycle, each path ends on a seed, never rising."""
    z = filled(name)
    directions = flow_direction(dem_array(z, chunks=(4, 6))).values
    valid = ~np.isnan(z)
    terminal = ref.terminal_cells(directions)
    assert ref.seed_cells(valid).ravel()[terminal[valid.ravel()]].all()
    down = ref.downstream_index(directions)
    steps = down >= 0
    assert (z.ravel()[down[steps]] <= z.ravel()[steps]).all()
