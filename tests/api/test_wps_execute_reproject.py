"""``reproject`` through WPS 1.0.0 Execute (XML POST), the output downloaded and compared with
rasterio.warp.reproject of the whole array."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from fastapi.testclient import TestClient
from rasterio.crs import CRS

from app.algorithms.reproject import METHODS
from app.algorithms.warp import target_grid
from app.raster.grid import Grid
from app.settings import Settings
from tests.support.dataserver import DataServer
from tests.support.ows import NS, assert_exception, output_by_id, xml
from tests.support.raster_results import fetch_geotiff
from tests.support.rasters import Raster, RasterFactory
from tests.support.references import whole_array_warp
from tests.support.wps_v100_requests import (
    as_reference,
    describe,
    execute_xml,
    inline_input,
    literal_input,
    raw,
    reference_input,
)

WGS84 = CRS.from_epsg(4326)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings computing in 256-pixel chunks: the test rasters span several chunks."""
    return settings.model_copy(update={"chunk_size": 256})


@pytest.fixture
def scene(rasters: RasterFactory) -> Raster:
    transform = Affine(10.0, 0.0, 700000.0, 0.0, -7.5, 5600000.0)
    return rasters(
        "scene.tif", width=301, height=273, count=2, dtype="uint16", nodata=0, nodata_fraction=0.02,
        transform=transform, blocksize=64,
    )  # fmt: skip


def test_describe_reproject(client: TestClient) -> None:
    root = describe(client, "reproject")
    resampling = root.xpath("//Input[ows:Identifier='resampling']/LiteralData", namespaces=NS)[0]
    values = [v.text for v in resampling.iterfind("ows:AllowedValues/ows:Value", NS)]
    assert tuple(values) == METHODS
    assert resampling.findtext("DefaultValue") == "nearest"
    resolution = root.xpath("//Input[ows:Identifier='resolution']", namespaces=NS)[0]
    assert resolution.get("minOccurs") == "0"


def test_reproject_by_reference(client: TestClient, data_server: DataServer, scene: Raster) -> None:
    inputs = (
        reference_input("raster", data_server.url("scene.tif"))
        + literal_input("crs", "EPSG:4326")
        + literal_input("resampling", "cubic")
    )
    response = client.post("/wps", content=execute_xml(inputs, as_reference("reprojected"), "reproject"))
    assert response.status_code == 200, response.text[:500]
    href = output_by_id(xml(response), "reprojected").find("wps:Reference", NS).get("href")
    grid = target_grid(Grid(CRS.from_user_input(scene.spec.crs), scene.spec.transform, 273, 301), WGS84)
    with fetch_geotiff(client, href) as memfile, memfile.open() as dataset:
        assert dataset.crs == WGS84 and dataset.transform.almost_equals(grid.transform)
        assert dataset.dtypes == ("uint16", "uint16") and dataset.nodata == 0
        np.testing.assert_array_equal(dataset.read(), whole_array_warp(scene, grid, "cubic"))


def test_reproject_inline_with_resolution_raw_output(client: TestClient, scene: Raster) -> None:
    inputs = (
        inline_input("raster", scene)
        + literal_input("crs", "urn:ogc:def:crs:EPSG::4326")
        + literal_input("resampling", "average")
        + literal_input("resolution", "0.0003")
    )
    response = client.post("/wps", content=execute_xml(inputs, raw("reprojected"), "reproject"))
    assert response.status_code == 200, response.text[:500]
    source = Grid(CRS.from_user_input(scene.spec.crs), scene.spec.transform, 273, 301)
    grid = target_grid(source, WGS84, 0.0003)
    with rasterio.MemoryFile(response.content) as memfile, memfile.open() as dataset:
        assert (dataset.width, dataset.height) == (grid.width, grid.height)
        assert dataset.res == pytest.approx((0.0003, 0.0003), rel=1e-12)
        np.testing.assert_array_equal(dataset.read(), whole_array_warp(scene, grid, "average"))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("crs", "EPSG:99999"),
        ("crs", "/etc/passwd"),
        ("crs", "EPSG:4978"),
        ("resampling", "gauss"),
        ("resolution", "0"),
    ],
)
def test_reproject_invalid_literals(
    client: TestClient, data_server: DataServer, scene: Raster, name: str, value: str
) -> None:
    literals = {"crs": "EPSG:4326", name: value}
    inputs = reference_input("raster", data_server.url("scene.tif"))
    inputs += "".join(literal_input(key, text) for key, text in literals.items())
    response = client.post("/wps", content=execute_xml(inputs, "", "reproject"))
    assert_exception(response, "InvalidParameterValue", 400, name)


def test_reproject_missing_crs(client: TestClient, data_server: DataServer, scene: Raster) -> None:
    inputs = reference_input("raster", data_server.url("scene.tif"))
    response = client.post("/wps", content=execute_xml(inputs, "", "reproject"))
    assert_exception(response, "MissingParameterValue", 400, "crs")
