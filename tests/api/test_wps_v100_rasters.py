"""``ndvi`` and ``clip`` through WPS 1.0.0 Execute, checked against independent numpy/rasterio."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from pyproj import Transformer
from rasterio.transform import array_bounds

from tests.support.dataserver import DataServer
from tests.support.ows import NS, assert_exception, output_by_id, xml
from tests.support.raster_results import assert_is_window, assert_ndvi_matches, fetch_geotiff
from tests.support.rasters import Raster, RasterFactory
from tests.support.wps_v100_requests import (
    as_reference,
    bbox_input,
    execute_xml,
    inline_input,
    raw,
    reference_input,
)


@pytest.fixture
def pair(rasters: RasterFactory) -> tuple[Raster, Raster]:
    """A red/nir pair with nodata, odd size, several internal tiles."""
    common = {"width": 301, "height": 211, "nodata": 0, "nodata_fraction": 0.05, "blocksize": 64}
    return rasters("red.tif", seed=1, **common), rasters("nir.tif", seed=2, **common)


def test_ndvi_by_reference(client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster]) -> None:
    red, nir = pair
    inputs = reference_input("red", data_server.url("red.tif")) + reference_input(
        "nir", data_server.url("nir.tif")
    )
    response = client.post("/wps", content=execute_xml(inputs, as_reference("ndvi"), "ndvi"))
    assert response.status_code == 200, response.text
    reference = output_by_id(xml(response), "ndvi").find("wps:Reference", NS)
    assert reference.get("mimeType") == "image/tiff; subtype=geotiff"
    with fetch_geotiff(client, reference.get("href")) as memfile, memfile.open() as dataset:
        assert_ndvi_matches(dataset, red, nir)


def test_ndvi_inline_base64_raw_output(client: TestClient, pair: tuple[Raster, Raster]) -> None:
    red, nir = pair
    inputs = inline_input("red", red) + inline_input("nir", nir)
    response = client.post("/wps", content=execute_xml(inputs, raw("ndvi"), "ndvi"))
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "image/tiff; subtype=geotiff"
    assert 'filename="ndvi.tif"' in response.headers["content-disposition"]
    with rasterio.MemoryFile(response.content) as memfile, memfile.open() as dataset:
        assert_ndvi_matches(dataset, red, nir)


def test_ndvi_by_value_in_document(client: TestClient, pair: tuple[Raster, Raster]) -> None:
    red, nir = pair
    response = client.post(
        "/wps", content=execute_xml(inline_input("red", red) + inline_input("nir", nir), "", "ndvi")
    )
    data = output_by_id(xml(response), "ndvi").find("wps:Data/wps:ComplexData", NS)
    assert data.get("encoding") == "base64"
    with rasterio.MemoryFile(base64.b64decode(data.text)) as memfile, memfile.open() as dataset:
        assert_ndvi_matches(dataset, red, nir)


def test_ndvi_mismatched_grids(client: TestClient, rasters: RasterFactory) -> None:
    red = rasters("a.tif", width=50, height=40)
    nir = rasters("b.tif", width=51, height=40)
    response = client.post(
        "/wps", content=execute_xml(inline_input("red", red) + inline_input("nir", nir), "", "ndvi")
    )
    assert_exception(response, "InvalidParameterValue", 400, "nir")


def test_non_geotiff_bytes(client: TestClient, rasters: RasterFactory) -> None:
    red = rasters("red.tif", width=20, height=20)
    garbage = base64.b64encode(b"this is not a tiff at all" * 10).decode()
    inputs = inline_input("red", red) + (
        "<wps:Input><ows:Identifier>nir</ows:Identifier><wps:Data>"
        f'<wps:ComplexData mimeType="image/tiff" encoding="base64">{garbage}</wps:ComplexData>'
        "</wps:Data></wps:Input>"
    )
    response = client.post("/wps", content=execute_xml(inputs, "", "ndvi"))
    assert_exception(response, "InvalidParameterValue", 400, "nir")
    assert client.get("/wps?service=WPS&request=GetCapabilities").status_code == 200


def test_unreachable_reference(client: TestClient, data_server: DataServer) -> None:
    inputs = reference_input("red", data_server.url("missing.tif")) + reference_input(
        "nir", data_server.url("missing.tif")
    )
    response = client.post("/wps", content=execute_xml(inputs, "", "ndvi"))
    assert_exception(response, "InvalidParameterValue", 400, "red")


def test_reference_to_loopback_refused_by_default(tmp_path, data_server: DataServer, rasters) -> None:
    from app.main import create_app
    from app.settings import Settings

    rasters("red.tif", width=10, height=10)
    app = create_app(Settings(data_dir=tmp_path / "d", public_url="http://testserver"))
    with TestClient(app) as default_client:
        inputs = reference_input("red", data_server.url("red.tif")) + reference_input(
            "nir", data_server.url("red.tif")
        )
        response = default_client.post("/wps", content=execute_xml(inputs, "", "ndvi"))
    assert_exception(response, "InvalidParameterValue", 400, "red")
    assert data_server.requests == []


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


def test_output_range_request(client: TestClient, data_server: DataServer, rasters: RasterFactory) -> None:
    rasters("scene.tif", width=64, height=64)
    bbox = bbox_input((500000.0, 5599360.0), (500640.0, 5600000.0), "EPSG:32631")
    inputs = reference_input("raster", data_server.url("scene.tif")) + bbox
    response = client.post("/wps", content=execute_xml(inputs, as_reference("clipped"), "clip"))
    path = output_by_id(xml(response), "clipped").find("wps:Reference", NS).get("href")
    path = path.removeprefix("http://testserver")
    whole = client.get(path).content
    partial = client.get(path, headers={"Range": "bytes=4-103"})
    assert partial.status_code == 206
    assert partial.content == whole[4:104]
    assert partial.headers["content-range"] == f"bytes 4-103/{len(whole)}"
    assert client.get(path.replace("clipped", "..%2Fsecret")).status_code == 404
