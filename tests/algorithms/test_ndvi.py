"""The ndvi kernel against an independent numpy computation, numpy vs dask, lazy, grid checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import rioxarray
import xarray as xr
from affine import Affine

from app.algorithms.ndvi import Ndvi, NdviInputs, ndvi
from app.model.errors import InvalidParameterValue
from app.raster.open import open_raster
from app.raster.write import write_geotiff
from tests.support.dask_guard import raise_if_dask_computes
from tests.support.rasters import Raster, RasterFactory

WIDTH, HEIGHT = 301, 257  # not multiples of any chunk size used


def numpy_ndvi(red: Raster, nir: Raster) -> np.ndarray:
    """(nir - red) / (nir + red) in float64, NaN where nodata or zero sum; then float32."""
    r, n = red.data[0].astype(np.float64), nir.data[0].astype(np.float64)
    invalid = np.isnan(r) | np.isnan(n) | (r + n == 0)
    for raster, values in ((red, red.data[0]), (nir, nir.data[0])):
        if raster.spec.nodata is not None:
            invalid |= values == raster.spec.nodata
    with np.errstate(divide="ignore", invalid="ignore"):
        result = (n - r) / (n + r)
    result[invalid] = np.nan
    return result.astype(np.float32)


@pytest.fixture(params=[("uint16", 0), ("int16", -9999), ("float32", float("nan")), ("uint8", None)])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Raster, Raster]:
    dtype, nodata = request.param
    factory = RasterFactory(tmp_path)
    common = {"width": WIDTH, "height": HEIGHT, "dtype": dtype, "nodata": nodata, "blocksize": 64}
    fraction = 0.05 if nodata is not None else 0.0
    red = factory("red.tif", seed=1, nodata_fraction=fraction, **common)
    nir = factory("nir.tif", seed=2, nodata_fraction=fraction, **common)
    red.data[0, :3, :3] = 0  # zero sums: NaN, not inf
    nir.data[0, :3, :3] = 0
    for raster in (red, nir):
        with rasterio.open(raster.path, "r+") as dst:
            dst.write(raster.data)
    return red, nir


def opened(raster: Raster, chunks: int | dict[str, int] | None) -> xr.DataArray:
    """The raster as the service opens it; None = numpy-backed (read eagerly by rioxarray)."""
    if chunks is None:
        return rioxarray.open_rasterio(raster.path).load()
    if isinstance(chunks, int):
        return open_raster(str(raster.path), chunk_size=chunks, locator="raster")
    return open_raster(str(raster.path), chunk_size=256, locator="raster").chunk(chunks)


@pytest.mark.parametrize("chunks", [None, 64, 128, 2048, {"y": 37, "x": 50}, {"y": 5, "x": WIDTH}])
def test_matches_numpy(pair: tuple[Raster, Raster], chunks: int | dict[str, int] | None) -> None:
    red, nir = pair
    result = ndvi(opened(red, chunks).isel(band=0), opened(nir, chunks).isel(band=0))
    assert result.dtype == np.float32
    np.testing.assert_allclose(result.values, numpy_ndvi(red, nir), rtol=1e-6, atol=1e-7, equal_nan=True)
    assert np.isnan(result.values[:3, :3]).all()
    assert not np.isinf(result.values).any()


def test_numpy_and_dask_agree_exactly(pair: tuple[Raster, Raster]) -> None:
    red, nir = pair
    reference = ndvi(opened(red, None).isel(band=0), opened(nir, None).isel(band=0)).values
    for chunks in (64, {"y": 37, "x": 50}, {"y": 100, "x": 7}):
        result = ndvi(opened(red, chunks).isel(band=0), opened(nir, chunks).isel(band=0))
        np.testing.assert_array_equal(result.values, reference)


def test_metadata_and_laziness(pair: tuple[Raster, Raster]) -> None:
    red, nir = pair
    red_da, nir_da = opened(red, 64), opened(nir, 64)
    with raise_if_dask_computes():
        result = Ndvi().run(NdviInputs(red=red_da, nir=nir_da))["ndvi"]
    assert isinstance(result, xr.DataArray)
    assert result.dims == ("y", "x")
    assert result.rio.crs == red_da.rio.crs
    assert result.rio.transform() == red.spec.transform
    assert np.isnan(result.rio.nodata)


def test_written_result(pair: tuple[Raster, Raster], tmp_path: Path) -> None:
    red, nir = pair
    write_geotiff(ndvi(opened(red, 128).isel(band=0), opened(nir, 128).isel(band=0)), tmp_path / "ndvi.tif")
    with rasterio.open(tmp_path / "ndvi.tif") as src:
        assert src.dtypes == ("float32",)
        assert np.isnan(src.nodata)
        assert src.transform == red.spec.transform
        np.testing.assert_allclose(src.read(1), numpy_ndvi(red, nir), rtol=1e-6, atol=1e-7, equal_nan=True)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"crs": "EPSG:32632"}, "CRS"),
        ({"width": WIDTH + 1}, "size"),
        ({"transform": Affine(10, 0, 500010, 0, -10, 5600000)}, "geotransforms"),
        ({"transform": Affine(20, 0, 500000, 0, -20, 5600000)}, "geotransforms"),
    ],
)
def test_mismatched_grids_refused(tmp_path: Path, fields: dict[str, object], problem: str) -> None:
    factory = RasterFactory(tmp_path)
    red = open_raster(str(factory(width=WIDTH, height=HEIGHT).path), chunk_size=128, locator="red")
    nir_path = factory(**{"width": WIDTH, "height": HEIGHT, **fields}).path
    nir = open_raster(str(nir_path), chunk_size=128, locator="nir")
    with pytest.raises(InvalidParameterValue, match=problem) as caught:
        Ndvi().run(NdviInputs(red=red, nir=nir))
    assert caught.value.locator == "nir"


def test_grids_equal_up_to_rounding_give_a_full_result(tmp_path: Path) -> None:
    factory = RasterFactory(tmp_path)
    red = factory(width=WIDTH, height=HEIGHT, seed=1)
    nir = factory(width=WIDTH, height=HEIGHT, seed=2, transform=Affine(10, 0, 500000 + 1e-7, 0, -10, 5600000))
    result = Ndvi().run(NdviInputs(red=opened(red, 128), nir=opened(nir, 128)))["ndvi"]
    assert isinstance(result, xr.DataArray)
    assert result.shape == (HEIGHT, WIDTH)
    np.testing.assert_allclose(result.values, numpy_ndvi(red, nir), rtol=1e-6, atol=1e-7, equal_nan=True)
