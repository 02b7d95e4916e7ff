"""The clip kernel: exact windows for bboxes in the raster's CRS and in EPSG:4326 (both axis orders)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rioxarray
import xarray as xr
from affine import Affine
from pyproj import Transformer

from app.algorithms.clip import Clip, ClipInputs, clip_bbox
from app.model.errors import InvalidParameterValue
from app.model.requests import BoundingBoxValue
from app.raster.open import open_raster
from app.raster.write import write_geotiff
from tests.support.dask_guard import raise_if_dask_computes
from tests.support.dataserver import DataServer
from tests.support.rasters import Raster, RasterFactory

X0, Y0, RES = 500000.0, 5600000.0, 10.0  # RasterSpec's default grid (EPSG:32631)
WIDTH, HEIGHT = 523, 411
UTM_BOX = (501234.5, 5596789.0, 503456.7, 5598765.4)  # minx, miny, maxx, maxy inside the raster


@pytest.fixture(scope="module")
def raster(tmp_path_factory: pytest.TempPathFactory) -> Raster:
    factory = RasterFactory(tmp_path_factory.mktemp("clip"))
    return factory(width=WIDTH, height=HEIGHT, count=2, dtype="int32", nodata=-1, pattern="xy", blocksize=64)


def expected_window(minx: float, miny: float, maxx: float, maxy: float) -> tuple[int, int, int, int]:
    """(row0, row1, col0, col1) of the pixels whose area meets the box, clamped to the raster."""
    col0 = max(math.floor((minx - X0) / RES), 0)
    col1 = min(math.ceil((maxx - X0) / RES), WIDTH)
    row0 = max(math.floor((Y0 - maxy) / RES), 0)
    row1 = min(math.ceil((Y0 - miny) / RES), HEIGHT)
    return row0, row1, col0, col1


def lonlat_box() -> tuple[float, float, float, float]:
    """A lon/lat box around UTM_BOX's corners."""
    to_lonlat = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True)
    minx, miny, maxx, maxy = UTM_BOX
    lons, lats = to_lonlat.transform([minx, minx, maxx, maxx], [miny, maxy, miny, maxy])
    return min(lons), min(lats), max(lons), max(lats)


def utm_bounds_of_lonlat_box(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """Bounds in EPSG:32631 of a lon/lat box, its edges densified (independent of rasterio)."""
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32631", always_xy=True)
    west, south, east, north = box
    steps = np.linspace(0.0, 1.0, 1001)
    lons = np.concatenate([west + (east - west) * steps, np.full(1001, east), west + (east - west) * steps])
    lats = np.concatenate([np.full(1001, south), south + (north - south) * steps, np.full(1001, north)])
    lons = np.concatenate([lons, np.full(1001, west)])
    lats = np.concatenate([lats, south + (north - south) * steps])
    xs, ys = to_utm.transform(lons, lats)
    return float(np.min(xs)), float(np.min(ys)), float(np.max(xs)), float(np.max(ys))


def check_clip(result: xr.DataArray, raster: Raster, window: tuple[int, int, int, int]) -> None:
    row0, row1, col0, col1 = window
    np.testing.assert_array_equal(result.values, raster.data[:, row0:row1, col0:col1])
    assert result.dtype == raster.data.dtype
    assert result.rio.nodata == -1
    assert result.rio.crs.to_epsg() == 32631
    assert result.rio.transform() == raster.spec.transform * Affine.translation(col0, row0)


@pytest.mark.parametrize("chunks", [None, 64, 128, 4096])
def test_bbox_in_raster_crs(raster: Raster, chunks: int | None) -> None:
    data = (
        rioxarray.open_rasterio(raster.path).load()
        if chunks is None
        else open_raster(str(raster.path), chunk_size=chunks, locator="raster")
    )
    minx, miny, maxx, maxy = UTM_BOX
    bbox = BoundingBoxValue(lower=(minx, miny), upper=(maxx, maxy), crs="EPSG:32631")
    check_clip(clip_bbox(data, bbox), raster, expected_window(*UTM_BOX))
    without_crs = BoundingBoxValue(lower=(minx, miny), upper=(maxx, maxy))  # the raster's own CRS
    check_clip(clip_bbox(data, without_crs), raster, expected_window(*UTM_BOX))


@pytest.mark.parametrize(
    ("crs", "lat_first"),
    [
        ("EPSG:4326", False),
        ("urn:ogc:def:crs:EPSG::4326", True),
        ("http://www.opengis.net/def/crs/EPSG/0/4326", True),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", False),
    ],
)
@pytest.mark.parametrize("chunks", [64, 200])
def test_bbox_in_epsg_4326(raster: Raster, crs: str, lat_first: bool, chunks: int) -> None:
    west, south, east, north = lonlat_box()
    lower, upper = ((south, west), (north, east)) if lat_first else ((west, south), (east, north))
    data = open_raster(str(raster.path), chunk_size=chunks, locator="raster")
    result = clip_bbox(data, BoundingBoxValue(lower=lower, upper=upper, crs=crs))
    window = expected_window(*utm_bounds_of_lonlat_box((west, south, east, north)))
    check_clip(result, raster, window)
    assert window[1] - window[0] > 150  # a real window, larger than the UTM box it was made from


def test_bbox_partly_outside_is_clamped(raster: Raster) -> None:
    data = open_raster(str(raster.path), chunk_size=128, locator="raster")
    bbox = BoundingBoxValue(lower=(X0 - 1000, Y0 - 555), upper=(X0 + 333, Y0 + 1000), crs="EPSG:32631")
    check_clip(clip_bbox(data, bbox), raster, (0, 56, 0, 34))


def test_clip_is_lazy_and_reads_only_its_window(tmp_path: Path) -> None:
    factory = RasterFactory(tmp_path)
    scene = factory("scene.tif", cog=True, width=4096, height=4096, dtype="uint16", blocksize=256)
    with DataServer(tmp_path) as server:
        data = open_raster("/vsicurl/" + server.url("scene.tif"), chunk_size=2048, locator="raster")
        minx, maxy = X0 + 1030 * RES, Y0 - 2000 * RES  # a 300 x 300 window over 2 x 2 of 16 x 16 tiles
        bbox = BoundingBoxValue(lower=(minx, maxy - 3000), upper=(minx + 3000, maxy), crs="EPSG:32631")
        with raise_if_dask_computes():
            clipped = Clip().run(ClipInputs(raster=data, bbox=bbox))["clipped"]
        assert isinstance(clipped, xr.DataArray)
        write_geotiff(clipped, tmp_path / "clipped.tif")
        pulled = server.bytes_sent / scene.path.stat().st_size
    result = open_raster(str(tmp_path / "clipped.tif"), chunk_size=512, locator="r")
    np.testing.assert_array_equal(result.values, scene.data[:, 2000:2300, 1030:1330])
    assert pulled < 0.02


@pytest.mark.parametrize(
    ("bbox", "message"),
    [
        (BoundingBoxValue(lower=(0, 0), upper=(10, 10), crs="EPSG:32631"), "does not intersect"),
        (BoundingBoxValue(lower=(503000, 5598000), upper=(502000, 5599000), crs="EPSG:32631"), "lower"),
        (BoundingBoxValue(lower=(1, 2, 3), upper=(4, 5, 6), crs="EPSG:32631"), "two dimensions"),
        (BoundingBoxValue(lower=(1, 2), upper=(4, 5), crs="EPSG:999999"), "unknown CRS"),
    ],
)
def test_bad_bboxes_refused(raster: Raster, bbox: BoundingBoxValue, message: str) -> None:
    data = open_raster(str(raster.path), chunk_size=128, locator="raster")
    with pytest.raises(InvalidParameterValue, match=message) as caught:
        clip_bbox(data, bbox)
    assert caught.value.locator == "bbox"


@pytest.fixture
def no_computes() -> Iterator[None]:
    with raise_if_dask_computes():
        yield


def test_clip_builds_no_compute(raster: Raster, no_computes: None) -> None:
    data = open_raster(str(raster.path), chunk_size=64, locator="raster")
    minx, miny, maxx, maxy = UTM_BOX
    result = clip_bbox(data, BoundingBoxValue(lower=(minx, miny), upper=(maxx, maxy), crs="EPSG:32631"))
    assert result.shape[1:] == (199, 223)
