"""``terrain`` through WPS 1.0.0 Execute (XML POST), slope, aspect and hillshade compared with the ESRI
reference formulas."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient

from tests.support.dataserver import DataServer
from tests.support.ows import NS, assert_exception
from tests.support.raster_results import download
from tests.support.rasters import UTM_10M as SQUARE
from tests.support.rasters import Raster, RasterFactory, RasterSpec, write_raster
from tests.support.references import esri_reference, hilly
from tests.support.wps_v100_requests import (
    as_reference,
    describe,
    execute_xml,
    inline_input,
    literal_input,
    raw,
    reference_input,
)


@pytest.fixture
def dem(rasters: RasterFactory) -> Raster:
    z = hilly(83, 101, seed=11)
    z[30:32, 40:43] = -9999.0
    spec = RasterSpec(width=101, height=83, dtype="float32", nodata=-9999.0, blocksize=32, transform=SQUARE)
    return write_raster(rasters.directory / "dem.tif", spec, z[None])


def test_describe_terrain(client: TestClient) -> None:
    root = describe(client, "terrain")
    product = root.xpath("//Input[ows:Identifier='product']/LiteralData", namespaces=NS)[0]
    assert [v.text for v in product.iterfind("ows:AllowedValues/ows:Value", NS)] == [
        "slope",
        "aspect",
        "hillshade",
    ]
    assert product.findtext("DefaultValue") == "slope"
    azimuth = root.xpath(
        "//Input[ows:Identifier='azimuth']/LiteralData/ows:AllowedValues/ows:Range", namespaces=NS
    )[0]
    assert float(azimuth.findtext("ows:MaximumValue", namespaces=NS)) == 360
    output = root.xpath("//Output[ows:Identifier='result']", namespaces=NS)[0]
    assert output.findtext("ComplexOutput/Default/Format/MimeType") == "image/tiff; subtype=geotiff"


@pytest.mark.parametrize(
    ("literals", "product", "options"),
    [
        (
            {"product": "hillshade", "z_factor": "2", "azimuth": "270", "altitude": "35"},
            "hillshade",
            {"z_factor": 2.0, "azimuth": 270.0, "altitude": 35.0},
        ),
        ({"product": "aspect"}, "aspect", {}),
        ({}, "slope", {}),  # the default product
    ],
)
def test_terrain_by_reference(
    client: TestClient, data_server: DataServer, dem: Raster, literals: dict[str, str], product: str, options
) -> None:
    inputs = reference_input("dem", data_server.url("dem.tif"))
    inputs += "".join(literal_input(name, value) for name, value in literals.items())
    values, dtype, nodata = download(
        client, client.post("/wps", content=execute_xml(inputs, as_reference("result"), "terrain"))
    )
    assert dtype == "float32" and np.isnan(nodata)
    source = np.where(dem.data[0] == -9999.0, np.nan, dem.data[0])
    expected = esri_reference(source, np.full(83, 10.0), np.full(83, 10.0), product, **options)
    np.testing.assert_array_equal(np.isnan(values), np.isnan(expected))
    valid = ~np.isnan(expected)
    difference = np.abs(values[valid] - expected[valid])
    if product == "aspect":
        difference = np.minimum(difference, 360 - difference)
    assert difference.max() < 1e-3


def test_terrain_raw_output_inline_input(client: TestClient, dem: Raster) -> None:
    inputs = inline_input("dem", dem) + literal_input("product", "slope")
    response = client.post("/wps", content=execute_xml(inputs, raw("result"), "terrain"))
    assert response.status_code == 200, response.text[:300]
    with rasterio.MemoryFile(response.content) as memfile, memfile.open() as dataset:
        slope = dataset.read(1)
    assert np.nanmax(slope) < 90 and np.nanmin(slope) >= 0
    assert np.isnan(slope[0]).all()


@pytest.mark.parametrize(
    ("name", "value"),
    [("z_factor", "0"), ("z_factor", "-2"), ("azimuth", "361"), ("altitude", "-1"), ("product", "curvature")],
)
def test_terrain_invalid_literals(
    client: TestClient, data_server: DataServer, dem: Raster, name: str, value: str
) -> None:
    inputs = reference_input("dem", data_server.url("dem.tif")) + literal_input(name, value)
    response = client.post("/wps", content=execute_xml(inputs, "", "terrain"))
    assert_exception(response, "InvalidParameterValue", 400, name)
