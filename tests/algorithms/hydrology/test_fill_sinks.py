"""fill_sinks against the reconstruction-by-erosion oracle: bit for bit on every case and chunking,
the grid kept, lazy on dask input, and filled DEMs that drain to their seeds."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from app.algorithms.hydrology.fill import fill_sinks
from tests.algorithms.hydrology.cases import (
    CASES,
    CHUNK_IDS,
    CHUNKINGS,
    NODATA,
    NON_SQUARE,
    TINY_CASES,
    TINY_CHUNKINGS,
    assert_identical,
    dem_array,
    drains_into_hole,
    large_lake,
    smooth,
)
from tests.support import hydrology_reference as ref
from tests.support.dask_guard import raise_if_dask_computes


@pytest.mark.parametrize("chunks", CHUNKINGS, ids=CHUNK_IDS)
@pytest.mark.parametrize("name", list(CASES))
def test_matches_reference(name: str, chunks: tuple[int, int] | None) -> None:
    case = CASES[name]
    z = case.build()
    result = fill_sinks(dem_array(z, nodata=case.nodata, chunks=chunks))
    assert result.dtype == np.float32
    assert_identical(result.values, ref.fill_reference(z, case.nodata))


@pytest.mark.parametrize("chunks", [None, (1, 1), (2, 3), (5, 1)], ids=str)
def test_hand_worked(chunks: tuple[int, int] | None) -> None:
    """The bowl's only way out is the 8 on its bottom edge: all inside rises to 8 but the 9.5. The
    1 is enclosed by 9s but for the 3, a seed as it touches the nodata cell: the 1 rises to 3."""
    bowl = np.array(
        [
            [9, 9, 9, 9, 9],
            [9, 1, 2, 3, 9],
            [9, 2, 0, 9.5, 9],
            [9, 5, 6, 7, 9],
            [9, 9, 8, 9, 9],
        ]
    )
    expected = np.where((bowl < 8) & (np.indices(bowl.shape)[0] % 4 != 0), 8.0, bowl).astype(np.float32)
    assert_identical(fill_sinks(dem_array(bowl, chunks=chunks)).values, expected)
    holed = np.array(
        [
            [9, 9, 9, 9, 9, 9],
            [9, 1, 9, 9, 9, 9],
            [9, 9, 3, 2, 9, 9],
            [9, 9, 2, -1, 9, 9],
            [9, 9, 9, 9, 9, 9],
        ],
        dtype=np.int16,
    )
    expected = np.where(holed == -1, np.nan, holed).astype(np.float32)
    expected[1, 1] = 3.0
    assert_identical(fill_sinks(dem_array(holed, nodata=-1, chunks=chunks)).values, expected)


@pytest.mark.parametrize("chunks", TINY_CHUNKINGS, ids=str)
@pytest.mark.parametrize("name", list(TINY_CASES))
def test_tiny_chunks(name: str, chunks: tuple[int, int]) -> None:
    case = TINY_CASES[name]
    z = case.build()
    result = fill_sinks(dem_array(z, nodata=case.nodata, chunks=chunks))
    assert_identical(result.values, ref.fill_reference(z, case.nodata))


@pytest.mark.parametrize("chunks", [None, (64, 64), (16, 23), (37, 11)], ids=str)
def test_large_lake_across_chunks(chunks: tuple[int, int] | None) -> None:
    """The lake fills flat to its spill point (150) over many chunks; the islands stay above it."""
    z = large_lake()
    filled = fill_sinks(dem_array(z, chunks=chunks)).values
    assert_identical(filled, ref.fill_reference(z))
    assert filled[75, 90] == 150.0 and filled[73, 63] == 160.0 and filled[100, 100] == 155.0


def test_only_exit_through_a_nodata_hole() -> None:
    """Cells touching the hole are seeds: the cone drains into it rather than filling up to its rim;
    the pit and the basin on its flank rise to their own spill levels only."""
    z = drains_into_hole()
    filled = fill_sinks(dem_array(z, nodata=NODATA, chunks=(8, 9))).values
    assert_identical(filled, ref.fill_reference(z, NODATA))
    valid = z != NODATA
    raised = valid & (filled != z.astype(np.float32))
    assert raised.sum() == 10  # the pit and the 3 x 3 basin
    assert filled[21, 3] == 40.0 and filled[5, 23] < 40.0  # the basin, the pit


@pytest.mark.parametrize(
    ("dtype", "nodata"),
    [(np.int16, -9999), (np.int32, None), (np.uint16, 0), (np.float32, np.nan), (np.float64, NODATA)],
)
def test_dtypes_and_nodata_encodings(dtype: type[np.generic], nodata: float | None) -> None:
    z = np.round(smooth((31, 29), seed=9, relief=50.0)).astype(dtype)
    if nodata is not None:
        z[10:13, 10:14] = nodata
        z[0, :5] = nodata
    result = fill_sinks(dem_array(z, nodata=nodata, chunks=(7, 6)))
    assert_identical(result.values, ref.fill_reference(z, nodata))


def test_nodata_attribute_that_no_cell_carries() -> None:
    z = smooth((20, 22), seed=6)
    assert_identical(fill_sinks(dem_array(z, nodata=NODATA, chunks=(6, 6))).values, ref.fill_reference(z))


def test_all_nodata_and_single_cells() -> None:
    empty = np.full((9, 8), NODATA)
    assert np.isnan(fill_sinks(dem_array(empty, nodata=NODATA, chunks=(4, 4))).values).all()
    one = np.array([[7.0]])
    assert fill_sinks(dem_array(one)).values.tolist() == [[7.0]]
    column = np.array([[3.0], [1.0], [2.0], [0.5]])  # every cell on the edge: nothing to fill
    assert_identical(fill_sinks(dem_array(column, chunks=(1, 1))).values, column.astype(np.float32))


def test_keeps_the_grid() -> None:
    z = CASES["nodata-holes"].build()
    dem = dem_array(z, transform=NON_SQUARE, nodata=NODATA, chunks=(16, 23))
    result = fill_sinks(dem)
    assert result.dims == ("y", "x")
    assert result.rio.transform() == dem.rio.transform()
    assert result.rio.crs == dem.rio.crs
    np.testing.assert_array_equal(result["x"].values, dem["x"].values)
    np.testing.assert_array_equal(result["y"].values, dem["y"].values)


def test_lazy_on_dask_input() -> None:
    z = CASES["nodata-holes"].build()
    dem = dem_array(z, nodata=NODATA, chunks=(16, 23))
    with raise_if_dask_computes():
        result = fill_sinks(dem)
    assert isinstance(result.data, da.Array)
    assert_identical(result.values, ref.fill_reference(z, NODATA))


@pytest.mark.parametrize("name", ["multi-pit", "nodata-holes", "integers-nodata", "smooth-nan"])
def test_filled_dem_drains_to_seeds_and_is_a_fixed_point(name: str) -> None:
    """Properties of the kernel's own output, whatever the oracle says: no cell below its input,
    every valid cell has a non-ascending D8 path to a seed, and filling again changes nothing."""
    case = CASES[name]
    z = case.build()
    filled = fill_sinks(dem_array(z, nodata=case.nodata, chunks=(9, 11))).values
    valid = ref.valid_cells(z, case.nodata)
    assert (filled[valid] >= z[valid].astype(np.float32)).all()
    directions = ref.flow_direction_reference(filled, 10.0, 10.0)
    assert ref.seed_cells(valid).ravel()[ref.terminal_cells(directions)[valid.ravel()]].all()
    again = fill_sinks(dem_array(filled, chunks=(5, 7))).values
    assert_identical(again, filled)
