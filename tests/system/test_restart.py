"""Restart semantics with the service as a real process: SIGKILL mid-job, restart on the same data dir."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
from lxml import etree

from tests.support.dataserver import DataServer
from tests.support.ows import NS
from tests.support.rasters import RasterFactory
from tests.support.service import free_port, service_process

ENV = {"WPS_MAX_PARALLEL": "1", "WPS_CHUNK_SIZE": "256"}


def ndvi_request(data_server: DataServer, red: str, nir: str, asynchronous: bool) -> str:
    flags = 'storeExecuteResponse="true"' + (' status="true"' if asynchronous else "")
    return (
        '<wps:Execute xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1"'
        ' xmlns:xlink="http://www.w3.org/1999/xlink" service="WPS" version="1.0.0">'
        "<ows:Identifier>ndvi</ows:Identifier><wps:DataInputs>"
        f'<wps:Input><ows:Identifier>red</ows:Identifier><wps:Reference xlink:href="{data_server.url(red)}"/></wps:Input>'
        f'<wps:Input><ows:Identifier>nir</ows:Identifier><wps:Reference xlink:href="{data_server.url(nir)}"/></wps:Input>'
        f"</wps:DataInputs><wps:ResponseForm><wps:ResponseDocument {flags}>"
        '<wps:Output asReference="true"><ows:Identifier>ndvi</ows:Identifier></wps:Output>'
        "</wps:ResponseDocument></wps:ResponseForm></wps:Execute>"
    )


def status(location: str) -> etree._Element:
    return etree.fromstring(httpx.get(location, timeout=10).content)


def state(document: etree._Element) -> str:
    return etree.QName(next(iter(document.find("wps:Status", NS)))).localname


def test_sigkill_mid_job_then_restart(
    tmp_path: Path, rasters: RasterFactory, data_server: DataServer
) -> None:
    small = {"width": 200, "height": 150, "blocksize": 64}
    rasters("red-small.tif", seed=1, **small)
    rasters("nir-small.tif", seed=2, **small)
    big = {"width": 8000, "height": 8000, "blocksize": 256, "compress": None}
    rasters("red-big.tif", seed=3, **big)
    rasters("nir-big.tif", seed=4, **big)
    data_dir, port = tmp_path / "service-data", free_port()
    url = f"http://127.0.0.1:{port}/wps"

    with service_process(data_dir, port, ENV) as process:
        done = etree.fromstring(
            httpx.post(
                url, content=ndvi_request(data_server, "red-small.tif", "nir-small.tif", False), timeout=60
            ).content
        )
        assert state(done) == "ProcessSucceeded"
        href = done.find("wps:ProcessOutputs/wps:Output/wps:Reference", NS).get("href")
        finished_bytes = httpx.get(href).content
        running = etree.fromstring(
            httpx.post(url, content=ndvi_request(data_server, "red-big.tif", "nir-big.tif", True)).content
        )
        queued = etree.fromstring(
            httpx.post(url, content=ndvi_request(data_server, "red-big.tif", "nir-big.tif", True)).content
        )
        deadline = time.monotonic() + 30
        while state(status(running.get("statusLocation"))) != "ProcessStarted":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert state(status(queued.get("statusLocation"))) == "ProcessAccepted"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    running_id = running.get("statusLocation").rsplit("/", 1)[1]
    with service_process(data_dir, port, ENV):
        assert httpx.get(href).content == finished_bytes
        assert state(status(done.get("statusLocation"))) == "ProcessSucceeded"
        for interrupted in (running, queued):
            document = status(interrupted.get("statusLocation"))
            assert state(document) == "ProcessFailed"
            text = document.findtext(
                ".//ows:ExceptionText", namespaces={"ows": "http://www.opengis.net/ows/1.1"}
            )
            assert "service restarted" in text
        assert not (data_dir / "outputs" / running_id).exists()
