"""Output files under /outputs: served with HTTP Range support, and nothing outside a job's folder."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.dataserver import DataServer
from tests.support.ows import NS, output_by_id, xml
from tests.support.rasters import RasterFactory
from tests.support.wps_v100_requests import as_reference, bbox_input, execute_xml, reference_input


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
