"""The chunked reprojection against rasterio.warp.reproject of the whole array in memory.

Every method, odd sizes, non-square pixels, nodata, several input and output chunkings (down to
chunks smaller than the lanczos footprint): the chunked result must equal the whole-image warp
exactly. The reference is GDAL's own default behaviour (no warp options), so the chunk warps
must reproduce the kernel scale GDAL picks for the whole image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import rioxarray
import xarray as xr
from affine import Affine
from pydantic import ValidationError
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.transform import array_bounds
from rasterio.warp import calculate_default_transform

from app.algorithms.base import describe
from app.algorithms.reproject import (
    METHODS,
    Reproject,
    ReprojectInputs,
    output_grid,
    parse_crs,
    reproject,
)
from app.algorithms.warp import source_window, target_grid, warp
from app.model.errors import InvalidParameterValue
from app.raster.grid import Grid, default_nodata
from app.raster.open import open_raster
from app.raster.write import write_geotiff
from tests.support.dask_guard import raise_if_dask_computes
from tests.support.rasters import Raster, RasterFactory
from tests.support.references import whole_array_warp

NON_SQUARE = Affine(10.0, 0.0, 500000.0, 0.0, -7.5, 5600000.0)
EAST_OF_MERIDIAN = Affine(60.0, 0.0, 700000.0, 0.0, -60.0, 5600000.0)  # grid turned ~2 degrees
WGS84 = CRS.from_epsg(4326)


def opened(raster: Raster, chunks: dict[str, int] | None = None) -> xr.DataArray:
    data = open_raster(str(raster.path), chunk_size=64, locator="raster")
    return data if chunks is None else data.chunk(chunks)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Raster:
    """uint16, odd size, non-square pixels, 5 % nodata."""
    factory = RasterFactory(tmp_path_factory.mktemp("scene"))
    return factory(width=131, height=97, nodata=0, nodata_fraction=0.05, transform=NON_SQUARE, blocksize=32)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("chunks", "out_chunks"),
    [(None, None), ({"y": 3, "x": 4}, (2, 10**6)), ({"y": 50, "x": 13}, (17, 10**6))],
    ids=["file-chunks", "tiny-chunks", "odd-chunks"],
)
def test_equals_whole_array_warp(
    scene: Raster, method: str, chunks: dict[str, int] | None, out_chunks: tuple[int, int] | None
) -> None:
    grid = target_grid(Grid.of(opened(scene)), WGS84)
    result = reproject(opened(scene, chunks), WGS84, method, chunks=out_chunks)  # type: ignore[arg-type]
    assert result.dtype == np.uint16
    np.testing.assert_array_equal(result.values, whole_array_warp(scene, grid, method))


@pytest.mark.parametrize("method", ["nearest", "bilinear", "lanczos", "average", "mode"])
def test_downsampling_resolution_equals_whole_array_warp(scene: Raster, method: str) -> None:
    """A coarse resolution makes GDAL widen its kernels: the chunks must widen them alike."""
    grid = target_grid(Grid.of(opened(scene)), WGS84, resolution=0.0004)
    result = reproject(opened(scene, {"y": 20, "x": 20}), WGS84, method, 0.0004, chunks=(3, 10**6))  # type: ignore[arg-type]
    assert result.shape == (1, grid.height, grid.width)
    np.testing.assert_array_equal(result.values, whole_array_warp(scene, grid, method))


@pytest.mark.parametrize("interleave", ["pixel", "band"])
def test_multiband_signed_with_nodata(tmp_path: Path, interleave: str) -> None:
    raster = RasterFactory(tmp_path)(
        width=77, height=59, count=3, dtype="int16", nodata=-9999, nodata_fraction=0.1, interleave=interleave
    )
    grid = target_grid(Grid.of(opened(raster)), WGS84)
    result = reproject(opened(raster), WGS84, "cubic")
    assert result.dims == ("band", "y", "x")
    assert list(result.band.values) == [1, 2, 3]
    assert result.rio.nodata == -9999
    np.testing.assert_array_equal(result.values, whole_array_warp(raster, grid, "cubic"))


def test_geographic_to_web_mercator(tmp_path: Path) -> None:
    lonlat = Affine(0.002, 0.0, 2.0, 0.0, -0.0015, 49.0)
    raster = RasterFactory(tmp_path)(
        width=103,
        height=89,
        dtype="float32",
        nodata=-1.0,
        nodata_fraction=0.05,
        crs="EPSG:4326",
        transform=lonlat,
    )
    mercator = CRS.from_epsg(3857)
    grid = target_grid(Grid.of(opened(raster)), mercator)
    result = reproject(opened(raster, {"y": 10, "x": 9}), mercator, "bilinear", chunks=(8, 10**6))
    np.testing.assert_array_equal(result.values, whole_array_warp(raster, grid, "bilinear"))
    assert result.rio.crs == mercator


def test_default_grid_is_gdals_suggestion(scene: Raster) -> None:
    left, bottom, right, top = array_bounds(scene.spec.height, scene.spec.width, scene.spec.transform)
    transform, width, height = calculate_default_transform(
        scene.spec.crs, WGS84, scene.spec.width, scene.spec.height, left, bottom, right, top
    )
    result = reproject(opened(scene), WGS84)
    assert result.rio.transform() == transform
    assert result.rio.shape == (height, width)
    assert result.rio.crs == WGS84


def test_resolution_follows_gdalwarp_tr(scene: Raster) -> None:
    """gdalwarp -tr: keep the suggested extent's top-left corner, size = extent / res rounded."""
    suggested = target_grid(Grid.of(opened(scene)), WGS84)
    resolution = 0.00017
    extent_x = suggested.transform.a * suggested.width
    extent_y = -suggested.transform.e * suggested.height
    grid = target_grid(Grid.of(opened(scene)), WGS84, resolution)
    assert grid.transform == Affine(
        resolution, 0, suggested.transform.c, 0, -resolution, suggested.transform.f
    )
    assert (grid.width, grid.height) == (round(extent_x / resolution), round(extent_y / resolution))


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [("uint8", 255), ("uint16", 65535), ("int16", -32768), ("int32", -(2**31)), ("float32", np.nan)],
)
def test_raster_without_nodata_gets_one(tmp_path: Path, dtype: str, expected: float) -> None:
    raster = RasterFactory(tmp_path)(
        width=40, height=30, dtype=dtype, nodata=None, seed=3, transform=EAST_OF_MERIDIAN
    )
    assert default_nodata(np.dtype(dtype)) == expected or np.isnan(expected)
    result = reproject(opened(raster), WGS84, "bilinear")
    np.testing.assert_array_equal(result.rio.nodata, expected)
    values = result.values
    np.testing.assert_array_equal(values, whole_array_warp(raster, Grid.of(result), "bilinear", expected))
    outside = np.isnan(values) if np.isnan(expected) else values == expected
    assert outside[0, 0, 0] and outside[0, -1, -1]  # the turned footprint leaves the corners empty


def test_numpy_backed_input(scene: Raster) -> None:
    data = rioxarray.open_rasterio(scene.path).load()
    grid = target_grid(Grid.of(data), WGS84)
    result = reproject(data, WGS84, "lanczos")
    np.testing.assert_array_equal(result.values, whole_array_warp(scene, grid, "lanczos"))


def test_lazy_until_written(scene: Raster, tmp_path: Path) -> None:
    data = opened(scene)
    with raise_if_dask_computes():
        result = Reproject().run(ReprojectInputs(raster=data, crs="EPSG:4326", resampling="bilinear"))
    reprojected = result["reprojected"]
    assert isinstance(reprojected, xr.DataArray)
    write_geotiff(reprojected, tmp_path / "out.tif")
    with rasterio.open(tmp_path / "out.tif") as written:
        assert written.crs == WGS84
        assert written.nodata == 0 and written.dtypes == ("uint16",)
        np.testing.assert_array_equal(
            written.read(), whole_array_warp(scene, Grid.of(reprojected), "bilinear")
        )


def test_each_chunk_reads_only_its_window(tmp_path: Path) -> None:
    raster = RasterFactory(tmp_path)(width=600, height=500, blocksize=64, transform=EAST_OF_MERIDIAN)
    source = Grid.of(opened(raster))
    grid = target_grid(source, WGS84)
    window = source_window(source, grid, (100, 132), (0, grid.width), margin=(3, 3))
    assert window is not None
    (r0, r1), (c0, c1) = window
    assert (r1 - r0) * (c1 - c0) < 0.25 * 600 * 500
    assert source_window(source, grid, (0, 1), (0, 1)) is None  # a corner outside the footprint


def test_chunks_follow_whole_rows(scene: Raster) -> None:
    data = opened(scene)
    result = warp(data, target_grid(Grid.of(data), WGS84), Resampling.nearest, chunks=(7, 10**6))
    assert result.chunks is not None
    assert set(result.chunks[2]) == {result.sizes["x"]}
    assert set(result.chunks[1][:-1]) == {7}


@pytest.mark.parametrize(
    "text",
    [
        "EPSG:4326",
        "epsg:3857",
        "urn:ogc:def:crs:EPSG::32631",
        "http://www.opengis.net/def/crs/EPSG/0/2154",
        "OGC:CRS84",
    ],
)
def test_crs_forms_accepted(text: str) -> None:
    assert parse_crs(text).to_wkt()


@pytest.mark.parametrize(
    "text",
    ["EPSG:99999999", "not a crs", "+proj=longlat", "/etc/passwd", "EPSG:4978", "EPSG:5714", ""],
    ids=["unknown", "words", "proj-string", "path", "geocentric", "vertical", "empty"],
)
def test_crs_refused(scene: Raster, text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ReprojectInputs(raster=opened(scene), crs=text)
    assert caught.value.errors()[0]["loc"] == ("crs",)


def test_resolution_limits(scene: Raster) -> None:
    source = Grid.of(opened(scene))
    with pytest.raises(InvalidParameterValue) as coarse:
        output_grid(source, WGS84, resolution=10.0)
    assert coarse.value.locator == "resolution"
    with pytest.raises(InvalidParameterValue, match="pixels") as fine:
        output_grid(source, WGS84, resolution=1e-9)
    assert fine.value.locator == "resolution"
    with pytest.raises(ValidationError):
        ReprojectInputs(raster=opened(scene), crs="EPSG:4326", resolution=0)


def test_description() -> None:
    inputs = {p.identifier: p for p in describe(Reproject).inputs}
    resampling = inputs["resampling"].literal
    assert resampling is not None
    assert resampling.allowed_values == (
        "nearest",
        "bilinear",
        "cubic",
        "cubic_spline",
        "lanczos",
        "average",
        "mode",
        "min",
        "max",
        "med",
    )
    assert resampling.default == "nearest"
    assert inputs["resolution"].min_occurs == 0 and inputs["crs"].min_occurs == 1
    assert [o.identifier for o in describe(Reproject).outputs] == ["reprojected"]
