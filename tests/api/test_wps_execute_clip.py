"""``clip`` through WPS 1.0.0 Execute: by a bounding box in any CRS (in that CRS's axis order) and by a
GeoJSON or zipped-shapefile geometry, the output compared with the scene's own pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from rasterio.features import geometry_mask
from rasterio.transform import array_bounds

from tests.support.dataserver import DataServer
from tests.support.ows import NS, assert_exception, output_by_id, xml
from tests.support.raster_results import assert_is_window, fetch_geotiff
from tests.support.rasters import Raster, RasterFactory
from tests.support.vectors import (
    HEIGHT,
    TRANSFORM,
    WIDTH,
    ZONES,
    feature_collection,
    lonlat,
    zipped_shapefile,
    zones_scene,
)
from tests.support.wps_v100_requests import (
    as_reference,
    bbox_input,
    execute_xml,
    geojson_input,
    reference_input,
    zip_input,
)

# see tests/algorithms/test_zonal.py: rasterio's warning suppression is not thread-safe
pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")


@pytest.fixture
def scene(rasters: RasterFactory) -> Raster:
    """The scene the vector ZONES lie on."""
    return zones_scene(rasters)


def run_clip(client: TestClient, data_server: DataServer, bbox: str) -> rasterio.io.MemoryFile:
    inputs = reference_input("raster", data_server.url("scene.tif")) + bbox
    response = client.post("/wps", content=execute_xml(inputs, as_reference("clipped"), "clip"))
    assert response.status_code == 200, response.text
    href = output_by_id(xml(response), "clipped").find("wps:Reference", NS).get("href")
    return fetch_geotiff(client, href)


def test_clip_bbox_in_raster_crs(client: TestClient, data_server: DataServer, rasters: RasterFactory) -> None:
    scene = rasters("scene.tif", width=257, height=193, dtype="int16", nodata=-9999, pattern="xy")
    # pixel edges: x = 500000 + 10*col, y = 5600000 - 10*row; this box covers cols 20..49, rows 30..69
    bbox = bbox_input((500205.0, 5599305.0), (500495.0, 5599695.0), "EPSG:32631")
    with run_clip(client, data_server, bbox) as memfile, memfile.open() as dataset:
        assert (dataset.width, dataset.height) == (30, 40)
        assert assert_is_window(dataset, scene) == (20, 30)


def test_clip_bbox_in_epsg_4326(client: TestClient, data_server: DataServer, rasters: RasterFactory) -> None:
    scene = rasters("scene.tif", width=400, height=300, dtype="uint16", nodata=0, pattern="xy")
    to_lonlat = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True)
    lon0, lat0 = to_lonlat.transform(500600.0, 5597800.0)
    lon1, lat1 = to_lonlat.transform(501400.0, 5598900.0)
    bbox = bbox_input((lon0, lat0), (lon1, lat1), "EPSG:4326")
    with run_clip(client, data_server, bbox) as memfile, memfile.open() as dataset:
        assert_is_window(dataset, scene)
        west, south, east, north = array_bounds(dataset.height, dataset.width, dataset.transform)
        # the requested box (reprojected) lies inside the clip, and the clip is at most one pixel larger
        corners = [
            to_lonlat.transform(x, y, direction="INVERSE")
            for x, y in ((lon0, lat0), (lon0, lat1), (lon1, lat0), (lon1, lat1))
        ]
        xs, ys = [c[0] for c in corners], [c[1] for c in corners]
        assert west <= min(xs) < west + 10 and east - 10 < max(xs) <= east
        assert south <= min(ys) < south + 10 and north - 10 < max(ys) <= north


def test_clip_urn_4326_is_lat_lon(
    client: TestClient, data_server: DataServer, rasters: RasterFactory
) -> None:
    rasters("scene.tif", width=400, height=300, pattern="xy")
    to_lonlat = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True)
    lon0, lat0 = to_lonlat.transform(500600.0, 5597800.0)
    lon1, lat1 = to_lonlat.transform(501400.0, 5598900.0)
    short = bbox_input((lon0, lat0), (lon1, lat1), "EPSG:4326")
    urn = bbox_input((lat0, lon0), (lat1, lon1), "urn:ogc:def:crs:EPSG::4326")
    with run_clip(client, data_server, short) as a, a.open() as first:
        expected = (first.transform, first.read())
    with run_clip(client, data_server, urn) as b, b.open() as second:
        assert second.transform == expected[0]
        np.testing.assert_array_equal(second.read(), expected[1])


def test_clip_outside_raster(client: TestClient, data_server: DataServer, rasters: RasterFactory) -> None:
    rasters("scene.tif", width=50, height=50)
    inputs = reference_input("raster", data_server.url("scene.tif")) + bbox_input((0, 0), (1, 1), "EPSG:4326")
    response = client.post("/wps", content=execute_xml(inputs, "", "clip"))
    assert_exception(response, "InvalidParameterValue", 400, "bbox")


def test_clip_by_inline_geojson(client: TestClient, data_server: DataServer, scene: Raster) -> None:
    polygon = ZONES[0]
    inputs = reference_input("raster", data_server.url("scene.tif")) + geojson_input(
        "geometry", feature_collection([lonlat(polygon)])
    )
    response = client.post("/wps", content=execute_xml(inputs, as_reference("clipped"), "clip"))
    assert response.status_code == 200, response.text
    href = output_by_id(xml(response), "clipped").find("wps:Reference", NS).get("href")
    with fetch_geotiff(client, href) as memfile, memfile.open() as dataset:
        col, row = (round(v) for v in ~TRANSFORM * (dataset.transform.c, dataset.transform.f))
        # the polygon as the service sees it: its lon/lat vertices projected back to UTM
        in_utm = shapely.geometry.shape(lonlat(polygon))
        to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32631", always_xy=True)
        in_utm = shapely.transform(in_utm, lambda c: np.column_stack(to_utm.transform(*c.T)))
        outside = geometry_mask([in_utm], out_shape=(HEIGHT, WIDTH), transform=TRANSFORM)
        expected = np.where(outside, 0, scene.data[0])[row : row + dataset.height, col : col + dataset.width]
        assert dataset.nodata == 0
        np.testing.assert_array_equal(dataset.read(1), expected)
        assert (
            abs(dataset.bounds.left - in_utm.bounds[0]) < 10
            and abs(dataset.bounds.top - in_utm.bounds[3]) < 7.5
        )


def test_clip_needs_bbox_or_geometry(client: TestClient, data_server: DataServer, scene: Raster) -> None:
    inputs = reference_input("raster", data_server.url("scene.tif"))
    response = client.post("/wps", content=execute_xml(inputs, "", "clip"))
    assert_exception(response, "MissingParameterValue", 400, "bbox")


def test_clip_shapefile_without_prj_refused(
    client: TestClient, data_server: DataServer, scene: Raster, tmp_path: Path
) -> None:
    inputs = reference_input("raster", data_server.url("scene.tif")) + zip_input(
        "geometry", zipped_shapefile(tmp_path / "shp", ZONES[:1], prj=False)
    )
    response = client.post("/wps", content=execute_xml(inputs, "", "clip"))
    assert_exception(response, "InvalidParameterValue", 400, "geometry")
