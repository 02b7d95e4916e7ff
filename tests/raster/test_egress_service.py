"""The late redirect through the whole service: an ``ndvi`` Execute whose red band sits on a server
that answers HEAD honestly and redirects every ranged GET to a server outside the allow-list. The
job fails with the input named, and the forbidden server, which holds the same file, gets nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from tests.support import wps_v200_requests as v200
from tests.support.dataserver import DataServer
from tests.support.ows import NS, assert_exception, output_by_id, xml
from tests.support.raster_results import assert_ndvi_matches, fetch_geotiff
from tests.support.rasters import Raster, RasterFactory
from tests.support.wps_v100_requests import as_reference, execute_xml, raw, reference_input


@pytest.fixture
def pair(rasters: RasterFactory) -> tuple[Raster, Raster]:
    common = {"width": 150, "height": 110, "nodata": 0, "nodata_fraction": 0.05, "blocksize": 32}
    return rasters("red.tif", seed=1, **common), rasters("nir.tif", seed=2, **common)


@pytest.fixture
def settings(tmp_path: Path, data_server: DataServer, late: DataServer) -> Settings:
    """Only the two data servers' ports on 127.0.0.1 are allowed (overrides tests/conftest.py)."""
    return Settings(
        data_dir=tmp_path / "data",
        public_url="http://testserver",
        allowed_hosts=[f"127.0.0.1:{data_server.port}", f"127.0.0.1:{late.port}"],
    )


def test_wps1_ndvi_with_a_late_redirect_fails_and_reaches_nothing(
    client: TestClient,
    pair: tuple[Raster, Raster],
    data_server: DataServer,
    late: DataServer,
    forbidden: DataServer,
) -> None:
    inputs = reference_input("red", late.url("red.tif")) + reference_input("nir", data_server.url("nir.tif"))
    response = client.post("/wps", content=execute_xml(inputs, raw("ndvi"), "ndvi"))
    exception = assert_exception(response, "InvalidParameterValue", 400, "red")
    assert "egress guard" in exception.findtext("{http://www.opengis.net/ows/1.1}ExceptionText")
    assert any(entry.status == 302 for entry in late.requests)  # the redirect was served ...
    assert forbidden.requests == []  # ... and never followed


def test_wps2_ndvi_with_a_late_redirect_is_data_not_accessible(
    client: TestClient,
    pair: tuple[Raster, Raster],
    data_server: DataServer,
    late: DataServer,
    forbidden: DataServer,
) -> None:
    body = (
        f'<wps:Input id="red"><wps:Reference xlink:href="{late.url("red.tif")}"/></wps:Input>'
        f'<wps:Input id="nir"><wps:Reference xlink:href="{data_server.url("nir.tif")}"/></wps:Input>'
        '<wps:Output id="ndvi" transmission="reference"/>'
    )
    response = client.post("/wps", content=v200.execute_xml(body, "ndvi"))
    assert_exception(response, "DataNotAccessible", 400, "red", version="2.0.0")
    assert forbidden.requests == []


def test_wps1_ndvi_within_the_policy_still_works(
    client: TestClient, pair: tuple[Raster, Raster], data_server: DataServer, forbidden: DataServer
) -> None:
    red, nir = pair
    inputs = reference_input("red", data_server.url("red.tif")) + reference_input(
        "nir", data_server.url("nir.tif")
    )
    response = client.post("/wps", content=execute_xml(inputs, as_reference("ndvi"), "ndvi"))
    assert response.status_code == 200, response.text
    reference = output_by_id(xml(response), "ndvi").find("wps:Reference", NS)
    with fetch_geotiff(client, reference.get("href")) as memfile, memfile.open() as dataset:
        assert_ndvi_matches(dataset, red, nir)
    assert forbidden.requests == []
