"""band_math against numpy on generated rasters: nodata, casting, chunkings, grids, laziness."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rioxarray
import xarray as xr
from affine import Affine

from app.algorithms.band_math import BandMath, BandMathInputs, band_math, cast_result
from app.algorithms.base import describe
from app.model.errors import InvalidParameterValue
from app.raster.grid import default_nodata
from app.raster.open import open_raster
from app.raster.write import write_geotiff
from tests.support.dask_guard import raise_if_dask_computes
from tests.support.rasters import Raster, RasterFactory

WIDTH, HEIGHT = 103, 71
INTEGER_NODATA = {"uint8": 255, "uint16": 65535, "uint32": 4294967295, "int16": -32768, "int32": -2147483648}


@pytest.fixture
def trio(tmp_path: Path) -> tuple[Raster, Raster, Raster]:
    """Three rasters on one grid: uint16 (nodata 0), int16 (nodata -9999), float32 (NaN), odd tiles."""
    factory = RasterFactory(tmp_path)
    common = {"width": WIDTH, "height": HEIGHT, "nodata_fraction": 0.05}
    return (
        factory("a.tif", dtype="uint16", nodata=0, blocksize=32, seed=1, **common),
        factory("b.tif", dtype="int16", nodata=-9999, blocksize=64, seed=2, **common),
        factory("c.tif", dtype="float32", nodata=float("nan"), blocksize=16, seed=3, **common),
    )


def values_of(raster: Raster) -> np.ndarray:
    """Band 1 in float64 with nodata as NaN (the independent reading)."""
    band = raster.data[0].astype(np.float64)
    nodata = raster.spec.nodata
    if nodata is not None and not np.isnan(nodata):
        band[raster.data[0] == nodata] = np.nan
    return band


def expected(values: np.ndarray, dtype: str, invalid: np.ndarray | None = None) -> np.ndarray:
    """Cast as documented: round half away from zero, out of range / non-finite / invalid -> nodata."""
    if invalid is not None:
        values = np.where(invalid, np.nan, values)
    if np.dtype(dtype).kind == "f":
        out = values.astype(dtype)
        out[~np.isfinite(out)] = np.nan
        return out
    info = np.iinfo(dtype)
    with np.errstate(invalid="ignore"):
        rounded = np.sign(values) * np.floor(np.abs(values) + 0.5)
        ok = np.isfinite(rounded) & (rounded >= info.min) & (rounded <= info.max)
    return np.where(ok, rounded, INTEGER_NODATA[dtype]).astype(dtype)


def opened(raster: Raster, chunks: int | dict[str, int] | None) -> xr.DataArray:
    """As the service opens it; None = numpy-backed."""
    if chunks is None:
        return rioxarray.open_rasterio(raster.path).load()
    if isinstance(chunks, int):
        return open_raster(str(raster.path), chunk_size=chunks, locator="raster")
    return open_raster(str(raster.path), chunk_size=256, locator="raster").chunk(chunks)


CASES = [
    ("(b1 - b2) / (b1 + b2)", "float32", lambda a, b, c: (a - b) / (a + b)),
    ("b1 * 0.001 + b3", "float64", lambda a, b, c: a * 0.001 + c),
    ("where(b3 > 100, b1, b2)", "int32", lambda a, b, c: np.where(c > 100, a, b)),
    ("b2 / 10", "int16", lambda a, b, c: b / 10),
    ("b1 / 100", "uint8", lambda a, b, c: a / 100),
    ("sqrt(abs(b2)) * (b3 > 50)", "uint16", lambda a, b, c: np.sqrt(np.abs(b)) * (c > 50)),
    (
        "max(b1, b2, b3) - min(b1, b2)",
        "uint32",
        lambda a, b, c: np.maximum(np.maximum(a, b), c) - np.minimum(a, b),
    ),
    ("clip(b3, 0, 200)", "uint8", lambda a, b, c: np.clip(c, 0, 200)),
    ("log(b1) + exp(b3 / 100)", "float32", lambda a, b, c: np.log(a) + np.exp(c / 100)),
]


@pytest.mark.parametrize(("text", "dtype", "reference"), CASES, ids=[f"{t}->{d}" for t, d, _ in CASES])
@pytest.mark.parametrize("chunks", [None, 32, {"y": 7, "x": 50}, {"y": HEIGHT, "x": 3}])
def test_matches_numpy(trio: tuple[Raster, Raster, Raster], text: str, dtype: str, reference, chunks) -> None:
    bands = {f"b{i}": values_of(r) for i, r in enumerate(trio, 1)}
    used = [band for name, band in bands.items() if name in re.findall(r"b\d", text)]
    with np.errstate(all="ignore"):
        wanted = expected(reference(*bands.values()), dtype, np.isnan(used).any(axis=0))
    result = band_math([opened(r, chunks) for r in trio], text, dtype)
    assert result.dtype == np.dtype(dtype)
    assert result.dims == ("y", "x")
    np.testing.assert_array_equal(result.values, wanted)


def test_nodata_of_used_bands_only(trio: tuple[Raster, Raster, Raster]) -> None:
    rasters = [opened(r, 32) for r in trio]
    a_nodata = trio[0].data[0] == 0
    result = band_math(rasters, "b1 * 2", "float32").values
    np.testing.assert_array_equal(np.isnan(result), a_nodata)  # b2's and b3's holes do not matter
    both = band_math(rasters, "b1 * 0 + b2 * 0", "int16").values
    np.testing.assert_array_equal(both == -32768, a_nodata | (trio[1].data[0] == -9999))


def test_division_by_zero_and_domain_errors_are_nodata(tmp_path: Path) -> None:
    factory = RasterFactory(tmp_path)
    data = np.array([[[0, 1, 2, 4]]], dtype="int16")
    raster = factory(width=4, height=1, dtype="int16")
    with rasterio.open(raster.path, "r+") as dst:
        dst.write(data)
    band = opened(raster, 16)
    np.testing.assert_array_equal(band_math([band], "1 / b1", "float32").values, [[np.nan, 1, 0.5, 0.25]])
    np.testing.assert_array_equal(band_math([band], "b1 / (b1 - 1)", "int16").values, [[0, -32768, 2, 1]])
    np.testing.assert_array_equal(band_math([band], "log(b1 - 1)", "float64").values[0, :2], [np.nan, np.nan])
    np.testing.assert_array_equal(band_math([band], "exp(b1 * 1000)", "float64").values[0, 1:], [np.nan] * 3)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "uint32", "int32"])
def test_integer_casting(dtype: str) -> None:
    info = np.iinfo(dtype)
    values = np.array(
        [
            0.4,
            0.5,
            1.5,
            2.5,
            -0.5,
            -2.5,
            -0.4,
            info.max - 0.4,
            info.max + 0.6,
            info.min - 0.6,
            np.nan,
            np.inf,
            1e20,
        ]
    )
    result = cast_result(values, np.zeros(values.shape, bool), dtype)
    nodata = INTEGER_NODATA[dtype]
    assert default_nodata(dtype) == nodata
    assert result.dtype == np.dtype(dtype)
    expected_values = [0, 1, 2, 3, -1, -3, 0, info.max, nodata, nodata, nodata, nodata, nodata]
    if info.min == 0:  # negatives round to -1 / -3: outside an unsigned type
        expected_values[4] = expected_values[5] = nodata
    np.testing.assert_array_equal(result, np.array(expected_values, dtype=np.float64).astype(dtype))


def test_float_casting() -> None:
    values = np.array([1.5, 1e39, -1e39, np.nan, np.inf, 3.0])
    invalid = np.array([False, False, False, False, False, True])
    np.testing.assert_array_equal(
        cast_result(values, invalid, "float32"),
        np.array([1.5, np.nan, np.nan, np.nan, np.nan, np.nan], "float32"),
    )
    assert cast_result(values, invalid, "float64")[1] == 1e39


def test_multiband_inputs_are_numbered_across(tmp_path: Path) -> None:
    factory = RasterFactory(tmp_path)
    pair = factory("pair.tif", width=30, height=20, count=2, dtype="uint16", pattern="xy")
    single = factory("single.tif", width=30, height=20, dtype="uint16", seed=4)
    rasters = [opened(pair, 16), opened(single, 16)]
    result = band_math(rasters, "b3 * 1000000 + b2 - b1", "float64").values
    data = pair.data.astype(np.float64)
    np.testing.assert_array_equal(result, single.data[0] * 1e6 + data[1] - data[0])
    with pytest.raises(InvalidParameterValue, match="'b4'"):
        band_math(rasters, "b4", "float32")


def test_constant_and_boolean_expressions(trio: tuple[Raster, Raster, Raster]) -> None:
    rasters = [opened(r, 32) for r in trio]
    np.testing.assert_array_equal(band_math(rasters, "2 * 21", "uint8").values, np.full((HEIGHT, WIDTH), 42))
    mask = band_math(rasters, "(b3 > 100) & (b1 > 30000)", "uint8").values
    a, c = values_of(trio[0]), values_of(trio[2])
    with np.errstate(invalid="ignore"):
        wanted = ((c > 100) & (a > 30000)).astype("uint8")
    wanted[np.isnan(a) | np.isnan(c)] = 255
    np.testing.assert_array_equal(mask, wanted)


def test_process_is_lazy_and_keeps_the_grid(trio: tuple[Raster, Raster, Raster]) -> None:
    rasters = [opened(r, 32) for r in trio]
    with raise_if_dask_computes():
        result = BandMath().run(BandMathInputs(raster=rasters, expression="b1 + b2 + b3", dtype="int32"))[
            "result"
        ]
    assert isinstance(result, xr.DataArray)
    assert result.rio.crs == rasters[0].rio.crs
    assert result.rio.transform() == trio[0].spec.transform
    assert result.rio.nodata == -2147483648


@pytest.mark.parametrize(("dtype", "nodata"), [("uint8", 255.0), ("float32", None), ("int16", -32768.0)])
def test_written_result(trio: tuple[Raster, Raster, Raster], tmp_path: Path, dtype: str, nodata) -> None:
    result = band_math([opened(r, 32) for r in trio], "b2 / 100", dtype)
    write_geotiff(result, tmp_path / "out.tif")
    with rasterio.open(tmp_path / "out.tif") as src:
        assert src.dtypes == (dtype,)
        assert np.isnan(src.nodata) if nodata is None else src.nodata == nodata
        assert src.transform == trio[0].spec.transform
        np.testing.assert_array_equal(src.read(1), expected(values_of(trio[1]) / 100, dtype))


def test_invalid_expression_raised_before_any_compute(trio: tuple[Raster, Raster, Raster]) -> None:
    rasters = [opened(r, 32) for r in trio]
    with raise_if_dask_computes(), pytest.raises(InvalidParameterValue) as caught:
        BandMath().run(BandMathInputs(raster=rasters, expression="b1.__class__", dtype="float32"))
    assert caught.value.locator == "expression"
    assert "__class__" in caught.value.message


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"crs": "EPSG:32632"}, "CRS"),
        ({"width": WIDTH + 1}, "size"),
        ({"transform": Affine(10, 0, 500010, 0, -10, 5600000)}, "geotransforms"),
    ],
)
def test_mismatched_grids_refused(tmp_path: Path, fields: dict[str, object], problem: str) -> None:
    factory = RasterFactory(tmp_path)
    first = opened(factory(width=WIDTH, height=HEIGHT), 32)
    second = opened(factory(width=WIDTH, height=HEIGHT), 32)
    odd = opened(factory(**{"width": WIDTH, "height": HEIGHT, **fields}), 32)
    with pytest.raises(InvalidParameterValue, match=problem) as caught:
        BandMath().run(BandMathInputs(raster=[first, second, odd], expression="b1 + b3", dtype="float32"))
    assert caught.value.locator == "raster"


def test_description_is_derived() -> None:
    inputs = {p.identifier: p for p in describe(BandMath).inputs}
    assert (inputs["raster"].min_occurs, inputs["raster"].max_occurs) == (1, 32)
    assert inputs["expression"].literal is not None and inputs["expression"].literal.data_type == "string"
    dtype = inputs["dtype"].literal
    assert dtype is not None and dtype.default == "float32"
    assert set(dtype.allowed_values) == {"uint8", "uint16", "int16", "uint32", "int32", "float32", "float64"}
    assert [o.identifier for o in describe(BandMath).outputs] == ["result"]
