"""OWSLib's own OGC API - Processes client, unmodified, against the real service over HTTP.

OWSLib 0.35's ``Processes`` lists, describes and executes; it has no job methods, so the async tests
follow the ``Location`` the service answers with plain HTTP, as any client would.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import rasterio
from owslib.ogcapi import REQUEST_HEADERS
from owslib.ogcapi.processes import Processes

from tests.support.dataserver import DataServer
from tests.support.jobs import wait_for_job
from tests.support.live import LiveServer
from tests.support.raster_results import assert_ndvi_matches
from tests.support.rasters import Raster, RasterFactory

GEOTIFF = "image/tiff; subtype=geotiff"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@pytest.fixture
def processes(live_server: LiveServer) -> Iterator[Processes]:
    """The client on the live server; OWSLib keeps ``Prefer`` in module-level headers, reset after."""
    yield Processes(live_server.url)
    REQUEST_HEADERS.pop("Prefer", None)


@pytest.fixture
def pair(rasters: RasterFactory, data_server: DataServer) -> tuple[Raster, Raster]:
    common = {"width": 515, "height": 333, "nodata": 0, "nodata_fraction": 0.02, "blocksize": 128}
    return rasters("red.tif", seed=11, **common), rasters("nir.tif", seed=12, **common)


def ndvi_inputs(data_server: DataServer) -> dict:
    return {name: {"href": data_server.url(f"{name}.tif"), "type": GEOTIFF} for name in ("red", "nir")}


def test_lists_and_describes(processes: Processes) -> None:
    assert (
        "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core"
        in processes.conformance()["conformsTo"]
    )
    assert processes.api()["paths"]["/processes"]
    ids = [p["id"] for p in processes.processes()]
    assert ids[:3] == ["echo", "ndvi", "clip"]
    ndvi = processes.process("ndvi")
    assert list(ndvi["inputs"]) == ["red", "nir"] and list(ndvi["outputs"]) == ["ndvi"]
    assert processes.process("echo")["inputs"]["literal"]["schema"] == {"type": "string"}


def test_executes_echo_sync(processes: Processes) -> None:
    inputs = {"literal": "hello", "bbox": {"bbox": [5.0, 45.0, 6.0, 46.0]}}
    result = processes.execute("echo", inputs=inputs)
    assert result == {"literal": "hello", "bbox": {"bbox": [5.0, 45.0, 6.0, 46.0], "crs": CRS84}}


def test_executes_echo_async(processes: Processes, live_server: LiveServer) -> None:
    status = processes.execute("echo", inputs={"literal": "later"}, async_=True)
    assert status["status"] in {"accepted", "running", "successful"}
    location = processes.response_headers["Location"]
    assert location == f"{live_server.url}/jobs/{status['jobID']}"
    with httpx.Client(base_url=live_server.url) as http:
        assert wait_for_job(http.get, status["jobID"])["status"] == "successful"
        assert http.get(f"/jobs/{status['jobID']}/results").json() == {"literal": "later"}


def test_executes_ndvi_sync_by_reference(
    processes: Processes, data_server: DataServer, pair: tuple[Raster, Raster]
) -> None:
    outputs = {"ndvi": {"transmissionMode": "reference"}}
    result = processes.execute("ndvi", inputs=ndvi_inputs(data_server), outputs=outputs)
    assert result["ndvi"]["type"] == "image/tiff; application=geotiff"  # the face's default
    downloaded = httpx.get(result["ndvi"]["href"])
    with rasterio.MemoryFile(downloaded.content) as memfile, memfile.open() as dataset:
        assert_ndvi_matches(dataset, *pair)


def test_executes_ndvi_async(
    processes: Processes, live_server: LiveServer, data_server: DataServer, pair: tuple[Raster, Raster]
) -> None:
    outputs = {"ndvi": {"transmissionMode": "reference"}}
    status = processes.execute("ndvi", inputs=ndvi_inputs(data_server), outputs=outputs, async_=True)
    with httpx.Client(base_url=live_server.url) as http:
        final = wait_for_job(http.get, status["jobID"])
        assert final["status"] == "successful", final
        results = next(link["href"] for link in final["links"] if link["rel"].endswith("/results"))
        href = http.get(results).json()["ndvi"]["href"]
        with rasterio.MemoryFile(http.get(href).content) as memfile, memfile.open() as dataset:
            assert_ndvi_matches(dataset, *pair)
