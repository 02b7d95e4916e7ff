"""Security against the real service process (uvicorn as a child, configured by WPS_* alone):
a late redirect of GDAL's range reads reaches nothing outside the allow-list, and users are asked
for credentials over real HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from lxml import etree

from tests.support.credentials import basic, bcrypt_line
from tests.support.dataserver import DataServer
from tests.support.ows import NS
from tests.support.rasters import Raster, RasterFactory
from tests.support.service import free_port, service_process
from tests.support.wps_v100_requests import execute_xml, literal_input, raw, reference_input


@pytest.fixture
def pair(rasters: RasterFactory) -> tuple[Raster, Raster]:
    common = {"width": 150, "height": 110, "nodata": 0, "blocksize": 32}
    return rasters("red.tif", seed=1, **common), rasters("nir.tif", seed=2, **common)


def test_late_redirect_against_the_service_process(
    tmp_path: Path,
    pair: tuple[Raster, Raster],
    data_server: DataServer,
    late: DataServer,
    forbidden: DataServer,
) -> None:
    port = free_port()
    allowed = f"127.0.0.1:{data_server.port},127.0.0.1:{late.port}"  # the forbidden server's port is not
    with service_process(tmp_path / "data", port, {"WPS_ALLOWED_HOSTS": allowed}):
        url = f"http://127.0.0.1:{port}/wps"
        inputs = reference_input("red", late.url("red.tif")) + reference_input(
            "nir", data_server.url("nir.tif")
        )
        response = httpx.post(url, content=execute_xml(inputs, raw("ndvi"), "ndvi"), timeout=60)
        assert response.status_code == 400, response.text
        exception = etree.fromstring(response.content).find("ows:Exception", NS)
        assert exception is not None and exception.get("locator") == "red"
        # control: the same request within the policy succeeds
        inputs = reference_input("red", data_server.url("red.tif")) + reference_input(
            "nir", data_server.url("nir.tif")
        )
        assert (
            httpx.post(url, content=execute_xml(inputs, raw("ndvi"), "ndvi"), timeout=60).status_code == 200
        )
    assert forbidden.requests == []


def test_users_against_the_service_process(tmp_path: Path) -> None:
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(bcrypt_line("alice", "wonderland") + "\n")
    port = free_port()
    with service_process(tmp_path / "data", port, {"WPS_AUTH_HTPASSWD": str(htpasswd)}):
        url = f"http://127.0.0.1:{port}/wps"
        assert httpx.get(url, params={"service": "WPS", "request": "GetCapabilities"}).status_code == 200
        body = execute_xml(literal_input("literal", "hi"), raw("literal"))
        refused = httpx.post(url, content=body)
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
        accepted = httpx.post(url, content=body, headers=basic("alice", "wonderland"))
        assert accepted.status_code == 200 and accepted.text == "hi"
