"""Chunked COG writing: round trips, layout, bounded memory, the caller's scheduler, failures."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import dask.threaded
import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401
import xarray as xr
from affine import Affine
from dask.callbacks import Callback

from app.raster.open import open_raster
from app.raster.write import write_geotiff
from tests.support.rasters import RasterFactory


@pytest.fixture
def make_raster(tmp_path: Path) -> RasterFactory:
    return RasterFactory(tmp_path / "rasters")


def read_back(path: Path) -> tuple[np.ndarray, dict[str, Any], dict[str, str]]:
    with rasterio.open(path) as src:
        return src.read(), dict(src.profile), src.tags(ns="IMAGE_STRUCTURE")


def synthetic(shape: tuple[int, ...], chunks: int, dtype: str = "float32") -> xr.DataArray:
    """A lazy array on a 10 m UTM grid (no file behind it)."""
    height, width = shape[-2:]
    dims = ("band", "y", "x")[-len(shape) :]
    coords = {"y": 5600000 - 10 * (np.arange(height) + 0.5), "x": 500000 + 10 * (np.arange(width) + 0.5)}
    data = da.random.default_rng(0).random(shape, chunks=chunks).astype(dtype)
    return xr.DataArray(data, dims=dims, coords=coords).rio.write_crs("EPSG:32631")


@pytest.mark.parametrize(
    ("dtype", "nodata", "crs", "predictor"),
    [
        ("uint8", None, "EPSG:4326", "2"),
        ("uint16", 0, "EPSG:32631", "2"),
        ("int16", -9999, "EPSG:3857", "2"),
        ("int32", None, "EPSG:2154", "2"),
        ("float32", float("nan"), "EPSG:32631", "3"),
        ("float64", -1e30, "EPSG:4326", "3"),
    ],
)
def test_round_trip_keeps_everything(
    make_raster: RasterFactory, tmp_path: Path, dtype: str, nodata: float | None, crs: str, predictor: str
) -> None:
    raster = make_raster(width=1100, height=601, count=2, dtype=dtype, nodata=nodata, crs=crs, blocksize=256)
    opened = open_raster(str(raster.path), chunk_size=512, locator="raster")
    out = tmp_path / "out.tif"
    write_geotiff(opened, out)
    pixels, profile, structure = read_back(out)
    np.testing.assert_array_equal(pixels, raster.data)
    assert profile["dtype"] == dtype
    np.testing.assert_equal(profile["nodata"], nodata)
    assert profile["crs"] == rasterio.crs.CRS.from_user_input(crs)
    assert profile["transform"] == raster.spec.transform
    assert (profile["blockxsize"], profile["blockysize"], profile["tiled"]) == (512, 512, True)
    assert profile["compress"] == "zstd"  # the default, zstd:1
    assert structure["PREDICTOR"] == predictor
    assert structure["LAYOUT"] == "COG"  # GDAL recognises its COG layout and structural metadata


def test_float_result_without_nodata_gets_nan(tmp_path: Path) -> None:
    data = synthetic((300, 200), chunks=128)
    write_geotiff(data, tmp_path / "out.tif")
    pixels, profile, _ = read_back(tmp_path / "out.tif")
    assert np.isnan(profile["nodata"])
    np.testing.assert_array_equal(pixels[0], data.values)
    assert profile["transform"] == Affine(10, 0, 500000, 0, -10, 5600000)
    assert (profile["blockxsize"], profile["blockysize"]) == (208, 304)  # small: tiles shrink to fit


def test_three_dimensional_and_transposed(tmp_path: Path) -> None:
    cube = synthetic((3, 130, 170), chunks=64)
    write_geotiff(cube.transpose("x", "band", "y"), tmp_path / "cube.tif")
    pixels, profile, _ = read_back(tmp_path / "cube.tif")
    assert profile["count"] == 3
    np.testing.assert_array_equal(pixels, cube.values)


def test_numpy_backed_and_bool_arrays(tmp_path: Path) -> None:
    mask = synthetic((90, 70), chunks=32).compute() > 0.5
    write_geotiff(mask, tmp_path / "mask.tif")
    pixels, profile, _ = read_back(tmp_path / "mask.tif")
    assert profile["dtype"] == "uint8"
    assert profile["nodata"] is None
    np.testing.assert_array_equal(pixels[0], mask.values.astype("uint8"))


def test_misaligned_window_is_written_correctly(make_raster: RasterFactory, tmp_path: Path) -> None:
    raster = make_raster(width=2000, height=1500, dtype="int16", nodata=-1, blocksize=256)
    opened = open_raster(str(raster.path), chunk_size=512, locator="raster")
    window = rasterio.windows.Window(col_off=77, row_off=301, width=1111, height=999)
    clipped = opened.rio.isel_window(window)
    write_geotiff(clipped, tmp_path / "clip.tif")
    pixels, profile, _ = read_back(tmp_path / "clip.tif")
    np.testing.assert_array_equal(pixels, raster.data[:, 301:1300, 77:1188])
    assert profile["transform"] == raster.spec.transform * Affine.translation(77, 301)
    assert profile["nodata"] == -1


def test_single_pixel_wide_result(make_raster: RasterFactory, tmp_path: Path) -> None:
    raster = make_raster(width=300, height=200, dtype="uint16")
    opened = open_raster(str(raster.path), chunk_size=256, locator="raster")
    column = opened.rio.isel_window(rasterio.windows.Window(col_off=5, row_off=7, width=1, height=50))
    write_geotiff(column, tmp_path / "column.tif")
    pixels, profile, _ = read_back(tmp_path / "column.tif")
    np.testing.assert_array_equal(pixels, raster.data[:, 7:57, 5:6])
    assert profile["transform"] == raster.spec.transform * Affine.translation(5, 7)


def test_memory_is_bounded_by_chunks(tmp_path: Path) -> None:
    data = synthetic((4096, 4096), chunks=512)  # 64 MiB of float32 in 64 chunks of 1 MiB
    tracemalloc.start()
    try:
        write_geotiff(data, tmp_path / "big.tif")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < data.nbytes / 4


def test_uses_the_callers_scheduler(tmp_path: Path) -> None:
    calls: list[int] = []

    def scheduler(dsk: Any, keys: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return dask.threaded.get(dsk, keys, **kwargs)

    with dask.config.set(scheduler=scheduler):
        write_geotiff(synthetic((100, 100), chunks=50), tmp_path / "out.tif")
    assert len(calls) == 1


def test_compute_keywords_reach_dask(tmp_path: Path) -> None:
    finished: list[object] = []
    callback = Callback(posttask=lambda key, result, dsk, state, worker: finished.append(key))
    write_geotiff(
        synthetic((300, 300), chunks=100), tmp_path / "out.tif", {"callbacks": [callback._callback]}
    )
    assert len(finished) >= 9


def test_failure_leaves_no_partial_file(tmp_path: Path) -> None:
    def explode(block: np.ndarray) -> np.ndarray:
        raise RuntimeError("kernel failed")

    data = synthetic((600, 600), chunks=256)
    broken = data.copy(data=data.data.map_blocks(explode, dtype=data.dtype))
    with pytest.raises(RuntimeError, match="kernel failed"):
        write_geotiff(broken, tmp_path / "out.tif")
    assert list(tmp_path.iterdir()) == []  # neither the file nor its part files
