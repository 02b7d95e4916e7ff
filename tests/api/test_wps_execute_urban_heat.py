"""``land_surface_temperature`` and ``urban_heat_island`` through WPS 1.0.0 Execute (responses
XSD-checked by the ``client`` fixture), compared with numpy."""

from __future__ import annotations

import json

import numpy as np
import rasterio
from fastapi.testclient import TestClient

from tests.support.dataserver import DataServer
from tests.support.ows import NS, output_by_id, xml
from tests.support.raster_results import fetch_geotiff
from tests.support.rasters import RasterFactory
from tests.support.urban_heat import (
    assert_uhi_statistics,
    landsat_bands,
    lst_scene,
    uhi_expected,
    urban_geojson,
)
from tests.support.wps_v100_requests import as_reference, execute_xml, geojson_input, reference_input


def test_lst_by_reference(client: TestClient, data_server: DataServer, rasters: RasterFactory) -> None:
    bands = landsat_bands(rasters)
    inputs = "".join(
        reference_input(name, data_server.url(f"{name}.tif")) for name in ("thermal", "red", "nir")
    )
    response = client.post(
        "/wps", content=execute_xml(inputs, as_reference("lst"), "land_surface_temperature")
    )
    assert response.status_code == 200, response.text
    href = output_by_id(xml(response), "lst").find("wps:Reference", NS).get("href")
    with fetch_geotiff(client, href) as memfile, memfile.open() as dataset:
        assert dataset.dtypes == ("float32",) and np.isnan(dataset.nodata)
        assert dataset.crs == rasterio.crs.CRS.from_epsg(32631)
        np.testing.assert_allclose(dataset.read(1), bands.expected(), rtol=1e-6, atol=1e-4, equal_nan=True)


def test_uhi_all_outputs_in_one_document(
    client: TestClient, data_server: DataServer, rasters: RasterFactory
) -> None:
    scene = lst_scene(rasters)
    expected = uhi_expected(scene)
    inputs = reference_input("lst", data_server.url("lst.tif")) + geojson_input("urban", urban_geojson())
    outputs = (
        "<wps:ResponseForm><wps:ResponseDocument>"
        "<wps:Output><ows:Identifier>intensity</ows:Identifier></wps:Output>"
        '<wps:Output asReference="true"><ows:Identifier>hotspots</ows:Identifier></wps:Output>'
        "<wps:Output><ows:Identifier>statistics</ows:Identifier></wps:Output>"
        "</wps:ResponseDocument></wps:ResponseForm>"
    )
    response = client.post("/wps", content=execute_xml(inputs, outputs, "urban_heat_island"))
    assert response.status_code == 200, response.text
    root = xml(response)
    literal = output_by_id(root, "intensity").find("wps:Data/wps:LiteralData", NS)
    assert literal.get("dataType") == "double"
    assert abs(float(literal.text) - expected["intensity"]) < 1e-9
    href = output_by_id(root, "hotspots").find("wps:Reference", NS).get("href")
    with fetch_geotiff(client, href) as memfile, memfile.open() as dataset:
        assert dataset.dtypes == ("uint8",) and dataset.nodata == 255
        np.testing.assert_array_equal(dataset.read(1), expected["hotspots"])
    document = output_by_id(root, "statistics").find("wps:Data/wps:ComplexData", NS)
    assert_uhi_statistics(json.loads(document.text), expected)
