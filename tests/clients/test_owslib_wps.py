"""OWSLib's WPS 1.0.0 client, unmodified, against the real service over HTTP (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import httpx
import pytest
import rasterio
from lxml import etree
from owslib.util import ServiceException
from owslib.wps import SYNC, BoundingBoxDataInput, ComplexDataInput, WebProcessingService

from tests.support.catalogue import CATALOGUE
from tests.support.dataserver import DataServer
from tests.support.jobs import complete_owslib_execution
from tests.support.live import LiveServer
from tests.support.raster_results import assert_is_window, assert_ndvi_matches
from tests.support.rasters import RasterFactory

GEOTIFF = "image/tiff; subtype=geotiff"


def ndvi_inputs(data_server: DataServer) -> list[tuple[str, ComplexDataInput]]:
    """red.tif and nir.tif of the data server, by reference."""
    return [
        (band, ComplexDataInput(data_server.url(f"{band}.tif"), mimeType=GEOTIFF)) for band in ("red", "nir")
    ]


def test_capabilities_and_descriptions(live_server: LiveServer) -> None:
    wps = WebProcessingService(f"{live_server.url}/wps")
    assert wps.identification.type == "WPS"
    assert [p.identifier for p in wps.processes] == CATALOGUE
    ndvi = wps.describeprocess("ndvi")
    assert [i.identifier for i in ndvi.dataInputs] == ["red", "nir"]
    assert ndvi.dataInputs[0].dataType == "ComplexData"
    assert GEOTIFF in [f.mimeType for f in ndvi.dataInputs[0].supportedValues]
    assert [o.identifier for o in ndvi.processOutputs] == ["ndvi"]
    clip = wps.describeprocess("clip")
    assert clip.dataInputs[1].dataType == "BoundingBoxData"
    assert [p.identifier for p in wps.describeprocess("all")] == CATALOGUE


def test_execute_ndvi_sync_by_reference(
    live_server: LiveServer, data_server: DataServer, rasters: RasterFactory
) -> None:
    common = {"width": 515, "height": 333, "nodata": 0, "nodata_fraction": 0.02, "blocksize": 128}
    red = rasters("red.tif", seed=11, **common)
    nir = rasters("nir.tif", seed=12, **common)
    wps = WebProcessingService(f"{live_server.url}/wps", skip_caps=True)
    execution = wps.execute(
        "ndvi",
        ndvi_inputs(data_server),
        output=[("ndvi", True)],
        mode=SYNC,
    )
    assert execution.status == "ProcessSucceeded", execution.errors
    (output,) = execution.processOutputs
    assert output.reference.startswith(f"{live_server.url}/outputs/")
    assert output.mimeType == GEOTIFF
    downloaded = httpx.get(output.reference)
    with rasterio.MemoryFile(downloaded.content) as memfile, memfile.open() as dataset:
        assert_ndvi_matches(dataset, red, nir)


def test_execute_clip_with_bbox(
    live_server: LiveServer, data_server: DataServer, rasters: RasterFactory
) -> None:
    scene = rasters("scene.tif", width=200, height=150, dtype="int16", nodata=-1, pattern="xy")
    wps = WebProcessingService(f"{live_server.url}/wps", skip_caps=True)
    execution = wps.execute(
        "clip",
        [
            ("raster", ComplexDataInput(data_server.url("scene.tif"), mimeType=GEOTIFF)),
            ("bbox", BoundingBoxDataInput([500100, 5598800, 500300, 5599900], crs="EPSG:32631")),
        ],
        output=[("clipped", True)],
        mode=SYNC,
    )
    assert execution.status == "ProcessSucceeded", execution.errors
    downloaded = httpx.get(execution.processOutputs[0].reference)
    with rasterio.MemoryFile(downloaded.content) as memfile, memfile.open() as dataset:
        assert (dataset.width, dataset.height) == (20, 110)
        assert assert_is_window(dataset, scene) == (10, 10)


def test_execute_echo_by_value(live_server: LiveServer) -> None:
    wps = WebProcessingService(f"{live_server.url}/wps", skip_caps=True)
    execution = wps.execute("echo", [("literal", "hello OWSLib")], mode=SYNC)
    assert execution.status == "ProcessSucceeded"
    literal = next(o for o in execution.processOutputs if o.identifier == "literal")
    assert literal.data == ["hello OWSLib"]


def test_execute_error_reaches_owslib(live_server: LiveServer) -> None:
    """OWSLib turns HTTP 400 into ServiceException carrying our ExceptionReport."""
    wps = WebProcessingService(f"{live_server.url}/wps", skip_caps=True)
    with pytest.raises(ServiceException) as info:
        wps.execute("echo", [("nonsense", "1")], mode=SYNC)
    report = etree.fromstring(str(info.value).encode())
    exception = report.find("{http://www.opengis.net/ows/1.1}Exception")
    assert exception.get("exceptionCode") == "InvalidParameterValue"
    assert exception.get("locator") == "nonsense"


def test_execute_ndvi_async_with_status_polling(
    live_server: LiveServer, data_server: DataServer, rasters: RasterFactory
) -> None:
    common = {"width": 700, "height": 450, "nodata": 0, "nodata_fraction": 0.01, "blocksize": 128}
    red = rasters("red.tif", seed=21, **common)
    nir = rasters("nir.tif", seed=22, **common)
    wps = WebProcessingService(f"{live_server.url}/wps", skip_caps=True)
    execution = wps.execute(
        "ndvi",
        ndvi_inputs(data_server),
        output=[("ndvi", True)],
    )  # OWSLib's default mode: storeExecuteResponse + status, then poll statusLocation
    assert execution.statusLocation.startswith(f"{live_server.url}/wps/status/")
    complete_owslib_execution(execution)
    assert execution.isSucceded(), execution.errors
    downloaded = httpx.get(execution.processOutputs[0].reference)
    with rasterio.MemoryFile(downloaded.content) as memfile, memfile.open() as dataset:
        assert_ndvi_matches(dataset, red, nir)
