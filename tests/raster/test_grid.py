"""The Grid value object and the one nodata rule: of(), same_as, require_same, stamp, windows."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import rioxarray
import xarray as xr
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from app.model.errors import InvalidParameterValue
from app.raster.grid import Grid, as_float, default_nodata, is_nodata, nodata_or_default
from app.raster.open import open_raster
from tests.support.dask_guard import raise_if_dask_computes
from tests.support.rasters import RasterFactory

UTM = CRS.from_epsg(32631)
TRANSFORM = Affine(10.0, 0.0, 500000.0, 0.0, -7.5, 5600000.0)  # non-square pixels
GRID = Grid(UTM, TRANSFORM, 40, 30)


def array_on(grid: Grid, dtype: str = "float32", chunks: int | None = None) -> xr.DataArray:
    """A (y, x) DataArray on ``grid`` with nothing else written (numpy, or dask with ``chunks``)."""
    values = np.arange(grid.height * grid.width, dtype=dtype).reshape(grid.shape)
    data = xr.DataArray(da.from_array(values, chunks=chunks) if chunks else values, dims=("y", "x"))
    return data.assign_coords(grid.coords())


# ----------------------------------------------------------------------------- the nodata rule


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        ("uint8", 255),
        ("uint16", 65535),
        ("uint32", 4294967295),
        ("uint64", 2**64 - 1),
        ("int8", -128),
        ("int16", -32768),
        ("int32", -(2**31)),
        ("int64", -(2**63)),
    ],
)
def test_integer_types_reserve_their_extreme(dtype: str, expected: int) -> None:
    nodata = default_nodata(np.dtype(dtype))
    assert nodata == expected and isinstance(nodata, int)  # exact, even past float precision
    assert np.dtype(dtype).type(nodata) == expected
    assert default_nodata(dtype) == expected  # any dtype-like


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "complex64"])
def test_floating_types_use_nan(dtype: str) -> None:
    nodata = default_nodata(np.dtype(dtype))
    assert isinstance(nodata, float) and math.isnan(nodata)


def test_bool_is_unsigned_its_maximum_is_true() -> None:
    assert default_nodata(np.dtype(bool)) is True


@pytest.mark.parametrize("dtype", ["datetime64[s]", "object", "U3"])
def test_types_without_a_rule_are_refused(dtype: str) -> None:
    with pytest.raises(TypeError, match="no nodata rule"):
        default_nodata(np.dtype(dtype))


def test_declared_nodata_wins_over_the_rule() -> None:
    assert nodata_or_default(0, "uint16") == 0
    assert nodata_or_default(None, "uint16") == 65535
    assert math.isnan(nodata_or_default(None, "float32"))


def test_is_nodata() -> None:
    floats = np.array([1.0, np.nan, -9999.0, 0.0], dtype=np.float32)
    np.testing.assert_array_equal(is_nodata(floats, -9999.0), [False, True, True, False])
    np.testing.assert_array_equal(is_nodata(floats, None), [False, True, False, False])
    np.testing.assert_array_equal(is_nodata(floats, math.nan), [False, True, False, False])
    integers = np.array([0, 1, 65535], dtype=np.uint16)
    np.testing.assert_array_equal(is_nodata(integers, 0), [True, False, False])
    np.testing.assert_array_equal(is_nodata(integers, None), [False, False, False])


def test_as_float_masks_declared_nodata_lazily() -> None:
    data = array_on(GRID, "int16", chunks=7).rio.write_nodata(5, encoded=False)
    with raise_if_dask_computes():
        values = as_float(data)
    assert values.dtype == np.float32
    expected = np.arange(GRID.height * GRID.width, dtype=np.float32).reshape(GRID.shape)
    expected[expected == 5] = np.nan
    np.testing.assert_array_equal(values.values, expected)


# ----------------------------------------------------------------------------- the value object


def test_of_an_opened_raster(tmp_path: Path) -> None:
    raster = RasterFactory(tmp_path)(width=31, height=23, dtype="uint16", nodata=0, transform=TRANSFORM)
    opened = open_raster(str(raster.path), chunk_size=16, locator="raster")
    grid = Grid.of(opened)
    assert grid == Grid(UTM, TRANSFORM, 23, 31, 0)
    assert grid.shape == (23, 31) and grid.crs == UTM and grid.transform == TRANSFORM
    assert grid.nodata == 0 and type(grid.nodata) is int  # a plain number, not a numpy scalar
    assert Grid.of(opened.isel(band=0)) == grid
    np.testing.assert_array_equal(grid.coords()["x"], opened.x.values)
    np.testing.assert_array_equal(grid.coords()["y"], opened.y.values)


def test_of_a_raster_without_nodata_or_crs(tmp_path: Path) -> None:
    raster = RasterFactory(tmp_path)(width=8, height=6, dtype="float32", transform=TRANSFORM)
    data = rioxarray.open_rasterio(raster.path)
    assert Grid.of(data).nodata is None
    with pytest.raises(ValueError, match="no CRS"):
        Grid.of(array_on(GRID))


def test_rotated_or_negative_grids_are_refused() -> None:
    with pytest.raises(ValueError, match="rotated"):
        Grid(UTM, Affine(10.0, 0.5, 0.0, 0.0, -10.0, 0.0), 4, 4)
    with pytest.raises(ValueError, match="pixels"):
        Grid(UTM, TRANSFORM, -1, 4)


def test_equality_hash_and_pickle() -> None:
    with_nan = GRID.with_nodata(math.nan)
    assert with_nan == GRID.with_nodata(float("nan")) and hash(with_nan) == hash(GRID.with_nodata(np.nan))
    assert GRID.with_nodata(0) == GRID.with_nodata(0.0)
    assert with_nan != GRID and GRID.with_nodata(0) != GRID
    assert pickle.loads(pickle.dumps(with_nan)) == with_nan
    assert len({GRID, Grid(UTM, TRANSFORM, 40, 30), with_nan}) == 2


def test_bounds_crop_and_window() -> None:
    assert GRID.bounds == (500000.0, 5600000.0 - 7.5 * 40, 500000.0 + 10.0 * 30, 5600000.0)
    part = GRID.with_nodata(3).crop((5, 12), (2, 10))
    assert part == Grid(UTM, TRANSFORM @ Affine.translation(2, 5), 7, 8, 3)
    np.testing.assert_allclose(part.coords()["x"], GRID.coords()["x"][2:10], rtol=0, atol=1e-9)
    np.testing.assert_allclose(part.coords()["y"], GRID.coords()["y"][5:12], rtol=0, atol=1e-9)
    # pixels whose area meets the bounds; an edge within 1e-9 pixel does not reach the next one
    assert GRID.window((500015.0, 5599900.0, 500031.0, 5599970.0)) == Window(1, 4, 3, 10)
    assert GRID.window((500010.0 + 1e-10, 5599910.0, 500030.0 - 1e-10, 5599970.0)) == Window(1, 4, 2, 8)
    assert GRID.window((499000.0, 5590000.0, 510000.0, 5610000.0)) == Window(0, 0, 30, 40)  # clipped
    assert GRID.window((400000.0, 5500000.0, 400010.0, 5500010.0)) is None


# ----------------------------------------------------------------------------- same grid


def test_same_as_allows_rounding_and_ignores_nodata() -> None:
    rounded = Grid(UTM, Affine(10.0, 0.0, 500000.0 + 1e-7, 0.0, -7.5 - 1e-12, 5600000.0), 40, 30)
    assert GRID.same_as(rounded) and rounded.same_as(GRID)
    assert GRID.same_as(GRID.with_nodata(0)) and GRID.with_nodata(math.nan).same_as(GRID.with_nodata(7))
    assert not GRID.same_as(Grid(UTM, TRANSFORM @ Affine.translation(1, 0), 40, 30))
    assert not GRID.same_as(Grid(UTM, Affine(20.0, 0.0, 500000.0, 0.0, -7.5, 5600000.0), 40, 30))
    assert not GRID.same_as(Grid(CRS.from_epsg(32632), TRANSFORM, 40, 30))
    assert not GRID.same_as(Grid(UTM, TRANSFORM, 40, 31))


@pytest.mark.parametrize(
    ("other", "message"),
    [
        (
            Grid(CRS.from_epsg(32632), TRANSFORM, 40, 30),
            "input 'nir' is not on the same grid: CRS EPSG:32632 differs from EPSG:32631",
        ),
        (
            Grid(UTM, TRANSFORM, 40, 31),
            "input 'nir' is not on the same grid: size (40, 31) differs from (40, 30)",
        ),
        (
            Grid(UTM, TRANSFORM @ Affine.translation(1, 0), 40, 30),
            "input 'nir' is not on the same grid: the geotransforms differ",
        ),
        (
            Grid(CRS.from_epsg(4326), Affine(1.0, 0.0, 0.0, 0.0, -1.0, 0.0), 41, 30),
            "input 'nir' is not on the same grid: CRS EPSG:4326 differs from EPSG:32631; "
            "size (41, 30) differs from (40, 30); the geotransforms differ",
        ),
    ],
    ids=["crs", "size", "transform", "everything"],
)
def test_require_same_names_every_difference(other: Grid, message: str) -> None:
    with pytest.raises(InvalidParameterValue) as caught:
        GRID.require_same(other, locator="nir")
    assert str(caught.value) == message
    assert caught.value.locator == "nir"


def test_require_same_accepts_the_same_grid() -> None:
    GRID.require_same(GRID.with_nodata(0), locator="nir")  # no exception


# ----------------------------------------------------------------------------- stamp


@pytest.mark.parametrize("nodata", [math.nan, -1.0, None])
def test_stamp_writes_the_grid_lazily(nodata: float | None) -> None:
    data = array_on(GRID, chunks=16)
    data.attrs = {"long_name": "elevation", "scale_factor": 2.0}
    grid = GRID.with_nodata(nodata)
    with raise_if_dask_computes():
        stamped = grid.stamp(data)
    assert isinstance(stamped.data, da.Array)
    assert stamped.rio.crs == UTM and stamped.rio.transform() == TRANSFORM
    assert Grid.of(stamped) == grid
    assert "long_name" not in stamped.attrs and "scale_factor" not in stamped.attrs
    assert data.attrs == {"long_name": "elevation", "scale_factor": 2.0}  # the input is untouched


def test_stamp_removes_a_declared_nodata_and_checks_the_size() -> None:
    data = GRID.with_nodata(-1).stamp(array_on(GRID))
    assert GRID.stamp(data).rio.nodata is None
    with pytest.raises(ValueError, match="not on a"):
        Grid(UTM, TRANSFORM, 41, 30).stamp(data)
