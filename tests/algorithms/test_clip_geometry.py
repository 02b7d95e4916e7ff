"""Clip by geometry: pixel for pixel against rasterio.features.geometry_mask on the whole array."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import rioxarray
import shapely
import xarray as xr
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.features import geometry_mask
from shapely.geometry.base import BaseGeometry

from app.algorithms.clip import Clip, ClipInputs, clip_geometry
from app.model.errors import InvalidParameterValue, MissingParameterValue
from app.model.requests import BoundingBoxValue
from app.raster.grid import default_nodata
from app.raster.open import open_raster
from app.raster.vectors import CRS84, Vector, read_vector
from tests.support.dask_guard import raise_if_dask_computes
from tests.support.rasters import Raster, RasterFactory

# rasterio's MemoryDataset (used by geometry_mask) silences NotGeoreferencedWarning with
# warnings.catch_warnings, which is not thread-safe: under dask's threads the warning can leak.
pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")

X0, Y0 = 500000.0, 5600000.0
XRES, YRES = 10.0, 7.5  # non-square pixels
WIDTH, HEIGHT = 301, 211
UTM = CRS.from_epsg(32631)
# an irregular polygon with a hole, and a second feature overlapping it
POLYGON = shapely.Polygon(
    [(500123.4, 5599876.5), (502456.7, 5599512.3), (502987.1, 5598654.2), (501234.5, 5598567.8)],
    holes=[[(501500.2, 5599300.1), (501900.9, 5599250.6), (501700.3, 5599000.4)]],
)
TRIANGLE = shapely.Polygon([(502500.5, 5599000.3), (503050.5, 5598700.7), (502400.2, 5598500.9)])


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> RasterFactory:
    return RasterFactory(tmp_path_factory.mktemp("clip-geometry"))


def make(factory: RasterFactory, **fields: object) -> Raster:
    transform = Affine(XRES, 0.0, X0, 0.0, -YRES, Y0)
    spec = {"width": WIDTH, "height": HEIGHT, "blocksize": 64, "transform": transform, "pattern": "xy"}
    return factory(**(spec | fields))


def opened(raster: Raster, chunks: tuple[int, int] | None) -> xr.DataArray:
    if chunks is None:
        return rioxarray.open_rasterio(raster.path).load()  # numpy-backed
    data = open_raster(str(raster.path), chunk_size=256, locator="raster")
    return data.chunk({"band": 1, "y": chunks[0], "x": chunks[1]})


def expected_window(bounds: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """(row0, row1, col0, col1): the pixels whose area meets ``bounds``, clamped to the raster."""
    minx, miny, maxx, maxy = bounds
    col0 = max(math.floor((minx - X0) / XRES), 0)
    col1 = min(math.ceil((maxx - X0) / XRES), WIDTH)
    row0 = max(math.floor((Y0 - maxy) / YRES), 0)
    row1 = min(math.ceil((Y0 - miny) / YRES), HEIGHT)
    return row0, row1, col0, col1


def expected_clip(
    raster: Raster, shapes: list[BaseGeometry], nodata: float, window: tuple[int, ...]
) -> np.ndarray:
    outside = geometry_mask(shapes, out_shape=(HEIGHT, WIDTH), transform=raster.spec.transform)
    whole = np.where(outside, raster.data.dtype.type(nodata), raster.data)
    row0, row1, col0, col1 = window
    return whole[:, row0:row1, col0:col1]


def check(
    result: xr.DataArray, raster: Raster, expected: np.ndarray, window: tuple[int, ...], nodata: float
) -> None:
    row0, _, col0, _ = window
    assert result.dtype == raster.data.dtype
    assert result.rio.crs == UTM
    assert result.rio.transform() == raster.spec.transform @ Affine.translation(col0, row0)
    assert (np.isnan(result.rio.nodata) and np.isnan(nodata)) or result.rio.nodata == nodata
    np.testing.assert_array_equal(result.values, expected)


def utm_vector(*shapes: BaseGeometry) -> Vector:
    return Vector(tuple(shapes), tuple({} for _ in shapes), UTM)


@pytest.mark.parametrize("chunks", [None, (29, 37), (64, 64), (50, 301), (211, 301)])
def test_polygons_in_raster_crs(factory: RasterFactory, chunks: tuple[int, int] | None) -> None:
    raster = make(factory, dtype="int32", count=2, nodata=-1)
    result = clip_geometry(opened(raster, chunks), utm_vector(POLYGON, TRIANGLE))
    window = expected_window(shapely.union(POLYGON, TRIANGLE).bounds)
    expected = expected_clip(raster, [POLYGON, TRIANGLE], -1, window)
    check(result, raster, expected, window, -1)
    assert (expected == -1).sum() > 1000 and (expected != -1).sum() > 10_000  # a real mask, both ways


@pytest.mark.parametrize(
    ("dtype", "nodata"), [("uint16", 65535), ("uint8", 255), ("int16", -32768), ("float32", math.nan)]
)
def test_raster_without_nodata_gets_one(factory: RasterFactory, dtype: str, nodata: float) -> None:
    raster = make(factory, dtype=dtype, pattern="random", seed=3)
    assert default_nodata(np.dtype(dtype)) == nodata or (
        math.isnan(nodata) and math.isnan(default_nodata(np.dtype(dtype)))
    )
    result = clip_geometry(opened(raster, (40, 40)), utm_vector(POLYGON))
    window = expected_window(POLYGON.bounds)
    check(result, raster, expected_clip(raster, [POLYGON], nodata, window), window, nodata)


def lonlat_geojson(polygon: BaseGeometry) -> bytes:
    to_lonlat = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True)
    ring = [list(to_lonlat.transform(x, y)) for x, y in polygon.exterior.coords]
    feature = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
    return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()


@pytest.mark.parametrize("chunks", [(33, 47), (211, 301)])
def test_polygon_in_epsg_4326(factory: RasterFactory, tmp_path: Path, chunks: tuple[int, int]) -> None:
    raster = make(factory, dtype="uint16", nodata=0)
    data = lonlat_geojson(TRIANGLE)
    vector = read_vector(data, "application/geo+json", "geometry", tmp_path)
    assert vector.crs == CRS84
    # independently: the lon/lat vertices back to UTM with pyproj
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32631", always_xy=True)
    coords = json.loads(data)["features"][0]["geometry"]["coordinates"][0]
    in_utm = shapely.Polygon([to_utm.transform(lon, lat) for lon, lat in coords])
    result = clip_geometry(opened(raster, chunks), vector)
    window = expected_window(in_utm.bounds)
    check(result, raster, expected_clip(raster, [in_utm], 0, window), window, 0)


def test_bbox_and_geometry_intersect(factory: RasterFactory) -> None:
    raster = make(factory, dtype="int16", nodata=-9999)
    box = (501000.0, 5598000.0, 502000.0, 5599400.0)  # cuts the polygon's left and right
    bbox = BoundingBoxValue(lower=box[:2], upper=box[2:], crs="EPSG:32631")
    with raise_if_dask_computes():
        result = Clip().run(
            ClipInputs(raster=opened(raster, (64, 64)), bbox=bbox, geometry=utm_vector(POLYGON))
        )
    clipped = result["clipped"]
    assert isinstance(clipped, xr.DataArray)
    geometry_window = expected_window(POLYGON.bounds)
    bbox_window = expected_window(box)
    window = (
        max(geometry_window[0], bbox_window[0]),
        min(geometry_window[1], bbox_window[1]),
        max(geometry_window[2], bbox_window[2]),
        min(geometry_window[3], bbox_window[3]),
    )
    check(clipped, raster, expected_clip(raster, [POLYGON], -9999, window), window, -9999)


def test_geometry_only_builds_no_compute(factory: RasterFactory) -> None:
    raster = make(factory, dtype="float32", nodata=math.nan)
    data = open_raster(str(raster.path), chunk_size=256, locator="raster")
    with raise_if_dask_computes():
        result = Clip().run(ClipInputs(raster=data, geometry=utm_vector(POLYGON, TRIANGLE)))["clipped"]
    assert isinstance(result, xr.DataArray)
    row0, row1, col0, col1 = expected_window(shapely.union(POLYGON, TRIANGLE).bounds)
    assert result.shape == (1, row1 - row0, col1 - col0)


def test_bbox_only_is_unchanged(factory: RasterFactory) -> None:
    raster = make(factory, dtype="int32", nodata=-1)
    bbox = BoundingBoxValue(lower=(501000.0, 5599000.0), upper=(501500.0, 5599500.0), crs="EPSG:32631")
    result = Clip().run(ClipInputs(raster=opened(raster, (64, 64)), bbox=bbox))["clipped"]
    row0, row1, col0, col1 = expected_window((501000.0, 5599000.0, 501500.0, 5599500.0))
    np.testing.assert_array_equal(result.values, raster.data[:, row0:row1, col0:col1])


def test_neither_bbox_nor_geometry(factory: RasterFactory) -> None:
    raster = make(factory)
    with pytest.raises(MissingParameterValue) as caught:
        Clip().run(ClipInputs(raster=opened(raster, (64, 64))))
    assert caught.value.locator == "bbox"


@pytest.mark.parametrize(
    ("shapes", "bbox", "match"),
    [
        ((shapely.box(0, 0, 100, 100),), None, "does not intersect the raster"),
        ((shapely.Polygon(),), None, "does not intersect the raster"),
        ((POLYGON,), (502800.0, 5599700.0, 503000.0, 5599990.0), "does not intersect the bbox"),
    ],
)
def test_geometry_outside(
    factory: RasterFactory, shapes: tuple[BaseGeometry, ...], bbox: tuple[float, ...] | None, match: str
) -> None:
    raster = make(factory)
    box = None if bbox is None else BoundingBoxValue(lower=bbox[:2], upper=bbox[2:], crs="EPSG:32631")
    inputs = ClipInputs(raster=opened(raster, (64, 64)), bbox=box, geometry=utm_vector(*shapes))
    with pytest.raises(InvalidParameterValue, match=match) as caught:
        Clip().run(inputs)
    assert caught.value.locator == "geometry"


def test_geometry_without_crs_refused(factory: RasterFactory) -> None:
    raster = make(factory)
    inputs = ClipInputs(raster=opened(raster, (64, 64)), geometry=Vector((POLYGON,), ({},), None))
    with pytest.raises(InvalidParameterValue, match="no coordinate reference system") as caught:
        Clip().run(inputs)
    assert caught.value.locator == "geometry"
