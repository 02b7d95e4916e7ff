"""change_detection against numpy: every method, nodata, zero denominators, chunk invariance,
a misaligned ``after`` aligned like rasterio.warp.reproject would, the exact changed fraction."""

from __future__ import annotations

from pathlib import Path

import dask
import numpy as np
import pytest
import rasterio
import rioxarray
import xarray as xr
from affine import Affine

from app.algorithms.base import describe
from app.algorithms.change import ChangeDetection, ChangeInputs, change, change_mask, changed_fraction
from app.model.errors import InvalidParameterValue
from app.raster.open import open_raster
from tests.support.dask_guard import raise_if_dask_computes
from tests.support.rasters import Raster, RasterFactory, RasterSpec, write_raster
from tests.support.references import aligned_by_rasterio, as_float, numpy_change, numpy_fraction, numpy_mask

METHODS = ("difference", "ratio", "normalized_difference")
WIDTH, HEIGHT = 173, 119
THRESHOLDS = {"difference": 40.0, "ratio": 0.3, "normalized_difference": 0.15}


def opened(raster: Raster, chunks: int | dict[str, int] | None) -> xr.DataArray:
    """Band 1 as the service opens it; None = numpy-backed."""
    if chunks is None:
        return rioxarray.open_rasterio(raster.path).load().isel(band=0)
    if isinstance(chunks, int):
        return open_raster(str(raster.path), chunk_size=chunks, locator="raster").isel(band=0)
    return open_raster(str(raster.path), chunk_size=64, locator="raster").chunk(chunks).isel(band=0)


def with_zeros(raster: Raster) -> Raster:
    """Plant zero-denominator pixels (both zero, and before zero alone) and rewrite the file."""
    raster.data[0, :4, :4] = 0
    raster.data[0, 10, :7] = 0
    with rasterio.open(raster.path, "r+") as dst:
        dst.write(raster.data)
    return raster


@pytest.fixture(params=[("uint16", 65535), ("int16", -9999), ("float32", float("nan"))])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Raster, Raster]:
    dtype, nodata = request.param
    factory = RasterFactory(tmp_path)
    common = {"width": WIDTH, "height": HEIGHT, "dtype": dtype, "nodata": nodata, "nodata_fraction": 0.05}
    before = factory("before.tif", seed=1, pattern="random", blocksize=32, **common)
    after = factory("after.tif", seed=2, pattern="random", blocksize=64, **common)
    if dtype != "float32":  # small values, so that some pixels change and some do not
        for raster in (before, after):
            valid = raster.data != nodata
            raster.data[valid] = (np.abs(raster.data[valid].astype(np.int64)) % 200 + 100).astype(dtype)
            with rasterio.open(raster.path, "r+") as dst:
                dst.write(raster.data)
    before = with_zeros(before)
    after.data[0, :4, :4] = 0
    with rasterio.open(after.path, "r+") as dst:
        dst.write(after.data)
    return before, after


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("chunks", [None, 64, {"y": 9, "x": 13}, {"y": HEIGHT, "x": 11}])
def test_matches_numpy(pair: tuple[Raster, Raster], method: str, chunks: int | dict[str, int] | None) -> None:
    before, after = pair
    expected = numpy_change(as_float(before), as_float(after), method)
    result = change(opened(before, chunks), opened(after, chunks), method)  # type: ignore[arg-type]
    threshold = THRESHOLDS[method]
    mask = change_mask(result, method, threshold)  # type: ignore[arg-type]
    values, mask_values, fraction = dask.compute(result, mask, changed_fraction(mask))
    assert values.dtype == np.float32
    np.testing.assert_array_equal(values, expected)
    expected_mask = numpy_mask(expected, method, threshold)
    np.testing.assert_array_equal(mask_values, expected_mask)
    assert 0 < (expected_mask == 1).sum() < (expected_mask != 255).sum()
    assert float(fraction) == numpy_fraction(expected_mask)


def test_undefined_pixels_are_nan_not_inf(pair: tuple[Raster, Raster]) -> None:
    before, after = pair
    for method in ("ratio", "normalized_difference"):
        values = change(opened(before, 64), opened(after, 64), method).values  # type: ignore[arg-type]
        assert np.isnan(values[:4, :4]).all()
        assert not np.isinf(values).any()


def misaligned(tmp_path: Path, crs: str, transform: Affine, width: int, height: int) -> tuple[Raster, Raster]:
    """A float32 ``before`` on the test grid and an ``after`` on another grid, both with nodata."""
    factory = RasterFactory(tmp_path)
    before = factory(
        "before.tif", width=WIDTH, height=HEIGHT, dtype="float32", nodata=-1.0, nodata_fraction=0.03, seed=4
    )
    after = factory(
        "after.tif", width=width, height=height, dtype="int16", nodata=-9999, nodata_fraction=0.03,
        crs=crs, transform=transform, seed=5, blocksize=32,
    )  # fmt: skip
    return before, after


@pytest.mark.parametrize(
    ("crs", "transform", "width", "height"),
    [
        ("EPSG:32631", Affine(9.0, 0.0, 499933.3, 0.0, -11.0, 5600061.7), 190, 120),  # shifted, coarser
        ("EPSG:32631", Affine(10.0, 0.0, 500500.0, 0.0, -10.0, 5599500.0), 90, 70),  # partial overlap
        ("EPSG:4326", Affine(0.0001, 0.0, 2.999, 0.0, -0.00008, 50.5525), 290, 180),  # other CRS
    ],
    ids=["shifted", "partial", "geographic"],
)
@pytest.mark.parametrize("chunks", [64, {"y": 6, "x": 5}], ids=["file-chunks", "tiny-chunks"])
def test_misaligned_after_is_warped_onto_before(
    tmp_path: Path, crs: str, transform: Affine, width: int, height: int, chunks: int | dict[str, int]
) -> None:
    before, after = misaligned(tmp_path, crs, transform, width, height)
    aligned = aligned_by_rasterio(after, before)
    assert np.isfinite(aligned).sum() > 1000
    expected = numpy_change(as_float(before), aligned, "difference")
    result = change(opened(before, chunks), opened(after, chunks), "difference")
    assert result.rio.transform() == before.spec.transform
    mask = change_mask(result, "difference", 60.0)
    values, fraction = dask.compute(result, changed_fraction(mask))
    np.testing.assert_array_equal(values, expected)
    assert float(fraction) == numpy_fraction(numpy_mask(expected, "difference", 60.0))


def test_after_outside_before_is_refused(tmp_path: Path) -> None:
    before, after = misaligned(tmp_path, "EPSG:32631", Affine(10, 0, 900000, 0, -10, 5600000), 50, 50)
    with pytest.raises(InvalidParameterValue) as caught:
        change(opened(before, 64), opened(after, 64))
    assert caught.value.locator == "after"


def test_all_nodata_fraction_is_zero(tmp_path: Path) -> None:
    spec = RasterSpec(width=20, height=10, dtype="int16", nodata=-1)
    before = write_raster(tmp_path / "b.tif", spec, np.full((1, 10, 20), -1, np.int16))
    after = write_raster(tmp_path / "a.tif", spec, np.full((1, 10, 20), 5, np.int16))
    mask = change_mask(change(opened(before, 64), opened(after, 64)), "difference", 0.1)
    assert (mask.values == 255).all()
    assert float(changed_fraction(mask).values) == 0.0


def test_run_is_lazy_and_declares_outputs(pair: tuple[Raster, Raster]) -> None:
    before, after = pair
    inputs = ChangeInputs(
        before=open_raster(str(before.path), chunk_size=64, locator="before"),
        after=open_raster(str(after.path), chunk_size=64, locator="after"),
        method="ratio",
        threshold=0.3,
    )
    with raise_if_dask_computes():
        produced = ChangeDetection().run(inputs)
    difference, mask, fraction = (produced[k] for k in ("difference", "mask", "changed_fraction"))
    assert isinstance(difference, xr.DataArray) and isinstance(mask, xr.DataArray)
    assert isinstance(fraction, xr.DataArray) and fraction.ndim == 0 and fraction.chunks is not None
    assert np.isnan(difference.rio.nodata) and difference.rio.crs == mask.rio.crs
    assert mask.dtype == np.uint8 and mask.rio.nodata == 255
    assert mask.rio.transform() == before.spec.transform
    expected = numpy_mask(numpy_change(as_float(before), as_float(after), "ratio"), "ratio", 0.3)
    assert float(fraction.values) == numpy_fraction(expected)


def test_description() -> None:
    description = describe(ChangeDetection)
    inputs = {p.identifier: p for p in description.inputs}
    method = inputs["method"].literal
    assert method is not None and method.allowed_values == METHODS and method.default == "difference"
    threshold = inputs["threshold"].literal
    assert threshold is not None and threshold.data_type == "double" and threshold.default == "0.1"
    outputs = {p.identifier: p for p in description.outputs}
    assert list(outputs) == ["difference", "mask", "changed_fraction"]
    literal = outputs["changed_fraction"].literal
    assert literal is not None and literal.data_type == "double"
