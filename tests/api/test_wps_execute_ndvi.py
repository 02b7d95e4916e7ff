"""``ndvi`` through WPS 1.0.0 Execute: inputs by reference or inline, the output by reference, raw or by
value, compared with an independent numpy NDVI; unusable inputs refused with the input as locator."""

from __future__ import annotations

import base64

import pytest
import rasterio
from fastapi.testclient import TestClient

from app.settings import Settings
from tests.support.dataserver import DataServer
from tests.support.ows import NS, assert_exception, output_by_id, xml
from tests.support.raster_results import assert_ndvi_matches, fetch_geotiff
from tests.support.rasters import Raster, RasterFactory
from tests.support.wps_v100_requests import as_reference, execute_xml, inline_input, raw, reference_input


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


def test_inputs_written_to_disk_leave_with_the_job(
    client: TestClient, pair: tuple[Raster, Raster], settings: Settings
) -> None:
    red, nir = pair
    inputs = inline_input("red", red) + inline_input("nir", nir)
    response = client.post("/wps", content=execute_xml(inputs, as_reference("ndvi"), "ndvi"))
    assert response.status_code == 200, response.text[:300]
    (job_folder,) = settings.outputs_dir.iterdir()
    assert [path.name for path in job_folder.iterdir()] == ["ndvi.tif"]  # no input copy is kept or served
