"""The oracles of tests/support/hydrology_reference.py checked before they judge the kernels: against
hand-worked cases, against each other (reconstruction vs a priority flood) and against pysheds (an
independent implementation) wherever its conventions agree with the service's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Geod

from tests.algorithms.hydrology.cases import (
    CASES,
    HAND_ACCUMULATION,
    HAND_DEM,
    HAND_DIRECTIONS,
    NODATA,
    as_nan,
    large_lake,
    random_acyclic_directions,
)
from tests.support import hydrology_reference as ref

N = np.nan


@pytest.fixture
def pysheds(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """pysheds 0.5 still calls np.in1d, which numpy 2.4 removed: np.isin is its replacement."""
    monkeypatch.setattr(np, "in1d", np.isin, raising=False)
    yield


UNIT = Affine(1.0, 0.0, 0.0, 0.0, -1.0, 0.0)


def pysheds_raster(values: np.ndarray, nodata: float, affine: Affine = UNIT) -> object:
    from pysheds.sview import Raster, ViewFinder

    return Raster(values, viewfinder=ViewFinder(affine=affine, shape=values.shape, nodata=nodata))


# --- hand-worked cases ------------------------------------------------------------------------------


def test_fill_hand_worked_cases() -> None:
    # the only way out of the bowl is the 8 on the bottom edge: every inner cell rises to 8, but 9.5
    z = np.array(
        [
            [9, 9, 9, 9, 9],
            [9, 1, 2, 3, 9],
            [9, 2, 0, 9.5, 9],
            [9, 5, 6, 7, 9],
            [9, 9, 8, 9, 9],
        ]
    )
    expected = np.where(z == 9.5, 9.5, np.where(z < 8, 8.0, z)).astype(np.float32)
    expected[0] = expected[-1] = 9.0
    expected[4, 2] = 8.0
    np.testing.assert_array_equal(ref.fill_reference(z), expected)
    # (1, 1) is enclosed by 9s but for the 3, a seed because it touches the nodata cell: it fills to 3
    z = np.array(
        [
            [9, 9, 9, 9, 9, 9],
            [9, 1, 9, 9, 9, 9],
            [9, 9, 3, 2, 9, 9],
            [9, 9, 2, N, 9, 9],
            [9, 9, 9, 9, 9, 9],
        ]
    )
    expected = z.astype(np.float32)
    expected[1, 1] = 3.0
    np.testing.assert_array_equal(ref.fill_reference(z), expected)
    np.testing.assert_array_equal(ref.fill_reference(np.where(np.isnan(z), -1, z), nodata=-1), expected)


def test_directions_hand_worked() -> None:
    np.testing.assert_array_equal(ref.flow_direction_reference(HAND_DEM, 1.0, 1.0), HAND_DIRECTIONS)


def test_directions_flat_around_a_nodata_hole() -> None:
    """Every cell touching the edge or the hole is a seed (0); the ring between steps onto the first
    seed in the order E, SE, S, ... (its BFS distance is 1)."""
    z = np.full((7, 7), 5.0)
    z[3, 3] = np.nan
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
    np.testing.assert_array_equal(ref.flow_direction_reference(z, 10.0, 10.0), expected)


def test_directions_ties_distances_and_undrained_flats() -> None:
    # E and W equally steep: E first
    assert ref.flow_direction_reference(np.array([[9, 9, 9], [5, 7, 5], [9, 9, 9.0]]), 1.0, 1.0)[1, 1] == 1
    # W steeper by a hair wins over E
    assert ref.flow_direction_reference(np.array([[9, 9, 9], [4.9, 7, 5], [9, 9, 9.0]]), 1, 1)[1, 1] == 16
    # a drop of 1 to the E over 10 m beats 2 to the N over 30 m, not over 10 m
    z = np.array([[9, 4, 9], [9, 6, 5], [9, 9, 9.0]])
    assert ref.flow_direction_reference(z, 10.0, 30.0)[1, 1] == 1
    assert ref.flow_direction_reference(z, 10.0, 10.0)[1, 1] == 64
    # diagonal distance: a drop of 1.5 to the SE over hypot(1, 1) beats 1 to the S over 1
    z = np.array([[9, 9, 9], [9, 6, 9], [9, 5, 4.5]])
    assert ref.flow_direction_reference(z, 1.0, 1.0)[1, 1] == 2
    # an unfilled flat pit without an outlet: 0 everywhere on it
    z = np.full((7, 7), 5.0)
    z[2:5, 2:5] = 3.0
    assert not ref.flow_direction_reference(z, 1.0, 1.0)[2:5, 2:5].any()


def test_accumulation_and_upstream_hand_worked() -> None:
    np.testing.assert_array_equal(ref.flow_accumulation_reference(HAND_DIRECTIONS), HAND_ACCUMULATION)
    expected = np.zeros((4, 5), dtype=np.uint8)
    expected[[1, 0, 1, 0, 0, 1], [2, 2, 1, 0, 1, 0]] = 1
    np.testing.assert_array_equal(ref.upstream_reference(HAND_DIRECTIONS, 1, 2), expected)
    assert ref.upstream_reference(HAND_DIRECTIONS, 2, 4).all()
    with_hole = HAND_DIRECTIONS.copy()
    with_hole[1, 2] = 255  # (1, 1) now steps onto nodata: its path ends there
    accumulation = ref.flow_accumulation_reference(with_hole)
    assert np.isnan(accumulation[1, 2]) and accumulation[1, 1] == 4 and accumulation[1, 3] == 3
    assert ref.upstream_reference(with_hole, 1, 3).tolist()[:2] == [[0, 0, 0, 1, 1], [0, 0, 255, 1, 0]]


def test_accumulation_reference_refuses_cycles() -> None:
    with pytest.raises(ValueError, match="cycle"):
        ref.flow_accumulation_reference(np.array([[1, 16]], dtype=np.uint8))
    with pytest.raises(ValueError, match="cycle"):
        ref.terminal_cells(np.array([[1, 16]], dtype=np.uint8))


def test_snap_reference() -> None:
    acc = np.array([[1, 5, 1, 5], [1, 1, 1, N], [5, 1, 1, 1], [1, 1, 1, 9]], dtype=np.float32)
    assert ref.snap_reference(acc, 1, 1, 1, 1) == (0, 1)  # (0, 1) and (2, 0): the nearer
    assert ref.snap_reference(acc, 1, 2, 1, 1) == (0, 1)  # (0, 1), (0, 3) equally near: row-major
    assert ref.snap_reference(acc, 1, 2, 2, 1) == (3, 3)
    assert ref.snap_reference(acc, 1, 3, 0, 1) == (1, 2)  # NaN never wins
    assert ref.snap_reference(acc, 0, 0, 0, 0) == (0, 0)


# --- the references against each other ------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_reconstruction_equals_priority_flood(name: str) -> None:
    case = CASES[name]
    z = case.build()
    np.testing.assert_array_equal(
        ref.fill_reference(z, case.nodata), ref.priority_flood_reference(z, case.nodata)
    )


def test_reconstruction_equals_priority_flood_on_the_lake() -> None:
    z = large_lake()
    filled = ref.fill_reference(z)
    np.testing.assert_array_equal(filled, ref.priority_flood_reference(z))
    assert filled[75, 90] == 150.0 and filled[73, 63] == 160.0 and filled[100, 100] == 155.0


@pytest.mark.parametrize("name", list(CASES))
def test_filled_dems_drain_to_seeds(name: str) -> None:
    """After the fill every valid cell's D8 path ends on a seed, the elevation never rising."""
    case = CASES[name]
    filled = ref.fill_reference(case.build(), case.nodata)
    directions = ref.flow_direction_reference(filled, 10.0, 10.0)
    valid = ~np.isnan(filled)
    terminal = ref.terminal_cells(directions)[valid.ravel()]
    assert ref.seed_cells(valid).ravel()[terminal].all()
    down = ref.downstream_index(directions)
    steps = down >= 0
    assert (filled.ravel()[down[steps]] <= filled.ravel()[steps]).all()
    accumulation = ref.flow_accumulation_reference(directions)
    assert accumulation[directions == 0].sum() == valid.sum()


def test_unfilled_dems_do_not_all_drain_to_seeds() -> None:
    """The property above can fail: on the raw DEM the pits are terminal cells that are no seeds."""
    z = CASES["multi-pit"].build()
    directions = ref.flow_direction_reference(z, 10.0, 10.0)
    terminal = ref.terminal_cells(directions)
    assert not ref.seed_cells(np.ones(z.shape, dtype=bool)).ravel()[terminal].all()


def test_metres_per_degree_against_geodesics() -> None:
    geod = Geod(ellps="WGS84")
    latitude = np.array([0.0, 35.5, 60.2, 79.9])
    per_lon, per_lat = ref.metres_per_degree(latitude)
    step = 1e-4
    for k, lat in enumerate(latitude):
        _, _, east = geod.inv(10.0 - step / 2, lat, 10.0 + step / 2, lat)
        _, _, north = geod.inv(10.0, lat - step / 2, 10.0, lat + step / 2)
        assert east / step == pytest.approx(per_lon[k], rel=1e-7)
        assert north / step == pytest.approx(per_lat[k], rel=1e-7)


# --- pysheds ----------------------------------------------------------------------------------------


@pytest.mark.xdist_group("pysheds")  # one worker pays for importing (and compiling) pysheds
@pytest.mark.usefixtures("pysheds")
@pytest.mark.parametrize(
    ("name", "banded"), [("smooth-0", False), ("smooth-1", False), ("multi-pit", False), ("smooth-0", True)]
)
def test_fill_matches_pysheds(tmp_path: Path, name: str, banded: bool) -> None:
    """pysheds' priority flood (epsilon-free) seeds the first valid cell from each edge along every
    row and column, ours every valid cell on the edge or touching nodata: the same cells without
    nodata, or with nodata in full rows and columns along the border (not with holes inside)."""
    from pysheds.grid import Grid

    z = CASES[name].build().astype(np.float64)
    if banded:
        z[:3] = NODATA
        z[:, -2:] = NODATA
    path = tmp_path / "dem.tif"
    profile = {"driver": "GTiff", "width": z.shape[1], "height": z.shape[0], "count": 1, "dtype": "float64"}
    with rasterio.open(
        path, "w", **profile, nodata=NODATA, crs="EPSG:32631", transform=Affine(10, 0, 0, 0, -10, 0)
    ) as dst:
        dst.write(z, 1)
    grid = Grid.from_raster(str(path))
    dem = grid.read_raster(str(path))
    theirs = np.asarray(grid.fill_depressions(dem), dtype=np.float64)
    ours = ref.fill_reference(z, NODATA)
    valid = z != NODATA
    assert (ours[valid] != z[valid]).any()  # the case has depressions
    np.testing.assert_array_equal(ours[valid], theirs[valid].astype(np.float32))


@pytest.mark.xdist_group("pysheds")  # one worker pays for importing (and compiling) pysheds
@pytest.mark.usefixtures("pysheds")
@pytest.mark.parametrize(
    "transform", [Affine(10, 0, 0, 0, -10, 0), Affine(10, 0, 0, 0, -30, 0)], ids=["square", "non-square"]
)
@pytest.mark.parametrize("name", ["smooth-0", "smooth-1", "nodata-holes", "smooth-nan"])
def test_steepest_descent_matches_pysheds(name: str, transform: Affine) -> None:
    """pysheds' D8 (dirmap N, NE, E, SE, S, SW, W, NW = 64, 128, 1, 2, 4, 8, 16, 32: our codes) takes
    the steepest valid in-raster neighbour; its tie order differs (N first) but random float DEMs have
    no ties. Cells without a lower neighbour are flats (-1) or pits (-2) there, ours go to the BFS."""
    from pysheds.grid import Grid

    case = CASES[name]
    z = as_nan(case.build(), case.nodata)
    raster = pysheds_raster(z, np.nan, transform)
    theirs = np.asarray(Grid.from_raster(raster).flowdir(raster, nodata_out=255))
    codes, has_lower = ref.steepest_descent(z, abs(transform.a), abs(transform.e))
    valid = ~np.isnan(z)
    np.testing.assert_array_equal(has_lower[valid], theirs[valid] > 0)
    np.testing.assert_array_equal(codes[has_lower], theirs[has_lower])
    np.testing.assert_array_equal(
        ref.flow_direction_reference(z, abs(transform.a), abs(transform.e))[has_lower], theirs[has_lower]
    )


def directions_cases() -> Iterator[tuple[str, np.ndarray]]:
    for name, case in CASES.items():
        filled = ref.fill_reference(case.build(), case.nodata)
        yield name, ref.flow_direction_reference(filled, 10.0, 10.0)
    yield "lake", ref.flow_direction_reference(ref.fill_reference(large_lake()), 10.0, 10.0)
    for seed in range(3):
        yield f"random-tree-{seed}", random_acyclic_directions((40, 47), seed)


@pytest.mark.xdist_group("pysheds")  # one worker pays for importing (and compiling) pysheds
@pytest.mark.usefixtures("pysheds")
def test_accumulation_matches_pysheds() -> None:
    from pysheds.grid import Grid

    for name, directions in directions_cases():
        raster = pysheds_raster(directions.astype(np.int64), 255)
        theirs = np.asarray(Grid.from_raster(raster).accumulation(raster), dtype=np.float64)
        ours = ref.flow_accumulation_reference(directions)
        valid = directions != 255
        np.testing.assert_array_equal(ours[valid], theirs[valid].astype(np.float32), err_msg=name)
        assert np.isnan(ours[~valid]).all()


def test_upstream_mask_sums_to_the_accumulation() -> None:
    rng = np.random.default_rng(8)
    for name, directions in directions_cases():
        accumulation = ref.flow_accumulation_reference(directions)
        valid = np.argwhere(directions != 255)
        for row, col in valid[rng.choice(len(valid), 5)]:
            mask = ref.upstream_reference(directions, int(row), int(col))
            assert (mask == 1).sum() == accumulation[row, col], name
            assert ((mask == 255) == (directions == 255)).all()
