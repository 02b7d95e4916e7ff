"""The hydrology processes through OGC API - Processes, compared with pysheds and numpy
(tests/support/hydrology_scenes.py)."""

from __future__ import annotations

import numpy as np
import rasterio
from fastapi.testclient import TestClient
from pyproj import Transformer

from tests.support.dataserver import DataServer
from tests.support.hydrology_scenes import (
    HEIGHT,
    NODATA,
    WIDTH,
    assert_outline,
    cell_centre_lonlat,
    cone,
    outlet_geojson,
    pysheds_flow,
    snapped,
    upstream,
    write_dem,
)
from tests.support.ogcapi import assert_problem, execute, local
from tests.support.rasters import UTM_10M, RasterFactory

GEOTIFF = "image/tiff; subtype=geotiff"
GEOJSON = "application/geo+json"
UTM = "EPSG:32631"


def test_flow_accumulation_raw(client: TestClient, data_server: DataServer, rasters: RasterFactory) -> None:
    values = cone()
    write_dem(rasters, values)
    _, accumulation = pysheds_flow(values)
    body = {"inputs": {"dem": {"href": data_server.url("dem.tif"), "type": GEOTIFF}}}
    response = execute(client, "flow_accumulation", body)
    assert response.status_code == 200, response.text[:500]
    with rasterio.MemoryFile(response.content) as memfile, memfile.open() as dataset:
        assert dataset.dtypes == ("float32",) and np.isnan(dataset.nodata)
        np.testing.assert_array_equal(dataset.read(1), accumulation)


def test_watershed_document_outlet_in_utm_snapped(
    client: TestClient, data_server: DataServer, rasters: RasterFactory
) -> None:
    values = cone()
    write_dem(rasters, values)
    directions, accumulation = pysheds_flow(values)
    row = 20
    col = int(np.nanargmax(accumulation[row])) + 2  # two cells off the stream
    target = snapped(accumulation, row, col, 3, 3)  # ceil(30 m / 10 m) = 3 cells each way
    assert target != (row, col)
    expected = upstream(directions, *target)
    x, y = UTM_10M * (col + 0.5, row + 0.5)
    outlet = outlet_geojson(x, y, kind="FeatureCollection", crs="urn:ogc:def:crs:EPSG::32631")
    body = {
        "inputs": {
            "dem": {"href": data_server.url("dem.tif"), "type": GEOTIFF},
            "outlet": {"value": outlet, "mediaType": GEOJSON},
            "snap_distance": 30,
        },
        "outputs": {"watershed": {"transmissionMode": "reference"}, "outline": {}, "area_km2": {}},
        "response": "document",
    }
    response = execute(client, "watershed", body)
    assert response.status_code == 200, response.text[:500]
    results = response.json()
    area = results["area_km2"]
    assert abs(area - np.count_nonzero(expected == 1) * 100.0 / 1e6) < 1e-12
    downloaded = client.get(local(results["watershed"]["href"]))
    with rasterio.MemoryFile(downloaded.content) as memfile, memfile.open() as dataset:
        assert dataset.dtypes == ("uint8",) and dataset.nodata == 255
        assert (dataset.height, dataset.width) == (HEIGHT, WIDTH)
        np.testing.assert_array_equal(dataset.read(1), expected)
    outline = results["outline"]["value"]  # GeoJSON inline, as JSON
    assert_outline(outline, expected, UTM_10M, UTM, area)
    properties = outline["features"][0]["properties"]
    assert (properties["row"], properties["col"]) == target


def test_watershed_outlet_in_web_mercator_raw_outline(
    client: TestClient, data_server: DataServer, rasters: RasterFactory
) -> None:
    values = cone()
    write_dem(rasters, values)
    directions, accumulation = pysheds_flow(values)
    row, col = 30, int(np.nanargmax(accumulation[30]))
    lon, lat = cell_centre_lonlat(UTM_10M, UTM, row, col)
    x, y = Transformer.from_crs("OGC:CRS84", "EPSG:3857", always_xy=True).transform(lon, lat)
    body = {
        "inputs": {
            "dem": {"href": data_server.url("dem.tif"), "type": GEOTIFF},
            "outlet": {"value": outlet_geojson(x, y, crs="EPSG:3857"), "mediaType": GEOJSON},
        },
        "outputs": {"outline": {}},
    }
    response = execute(client, "watershed", body)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith(GEOJSON)
    document = response.json()
    expected = upstream(directions, row, col)
    assert_outline(document, expected, UTM_10M, UTM, document["features"][0]["properties"]["area_km2"])


def test_stream_network_threshold_must_be_positive(
    client: TestClient, data_server: DataServer, rasters: RasterFactory
) -> None:
    write_dem(rasters, cone())
    body = {"inputs": {"dem": {"href": data_server.url("dem.tif"), "type": GEOTIFF}, "threshold": 0}}
    assert_problem(execute(client, "stream_network", body), 400, "invalid-parameter-value", "threshold")


def test_watershed_outlet_outside_the_dem_is_400(
    client: TestClient, data_server: DataServer, rasters: RasterFactory
) -> None:
    write_dem(rasters, cone())
    body = {
        "inputs": {
            "dem": {"href": data_server.url("dem.tif"), "type": GEOTIFF},
            "outlet": {"value": outlet_geojson(0.5, 45.0), "mediaType": GEOJSON},
        },
        "outputs": {"area_km2": {}},
    }
    assert_problem(execute(client, "watershed", body), 400, "invalid-parameter-value", "outlet")


def test_watershed_outlet_on_nodata_is_400(
    client: TestClient, data_server: DataServer, rasters: RasterFactory
) -> None:
    values = cone()
    write_dem(rasters, values)
    row, col = np.argwhere(values == NODATA)[0]
    body = {
        "inputs": {
            "dem": {"href": data_server.url("dem.tif"), "type": GEOTIFF},
            "outlet": {"value": outlet_geojson(*cell_centre_lonlat(UTM_10M, UTM, int(row), int(col)))},
        },
        "outputs": {"watershed": {}},
    }
    assert_problem(execute(client, "watershed", body), 400, "invalid-parameter-value", "outlet")
