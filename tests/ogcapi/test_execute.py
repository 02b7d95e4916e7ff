"""POST /processes/{id}/execution: inputs of every form, outputs raw or in a document, errors named."""

from __future__ import annotations

import base64
import email
import email.policy
import json
from pathlib import Path

import pytest
import rasterio
from fastapi.testclient import TestClient

from app.settings import Settings
from tests.support.dataserver import DataServer
from tests.support.jobs import wait_for_job
from tests.support.json_check import CheckedFactory
from tests.support.ogcapi import assert_problem, execute, local
from tests.support.raster_results import assert_is_window, assert_ndvi_matches
from tests.support.rasters import Raster, RasterFactory

GEOTIFF = "image/tiff; subtype=geotiff"
DEFAULT_GEOTIFF = "image/tiff; application=geotiff"  # what this face delivers unless asked otherwise
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@pytest.fixture
def pair(rasters: RasterFactory) -> tuple[Raster, Raster]:
    common = {"width": 301, "height": 211, "nodata": 0, "nodata_fraction": 0.05, "blocksize": 64}
    return rasters("red.tif", seed=1, **common), rasters("nir.tif", seed=2, **common)


def ndvi_inputs(data_server: DataServer) -> dict:
    return {name: {"href": data_server.url(f"{name}.tif"), "type": GEOTIFF} for name in ("red", "nir")}


def test_echo_document_with_every_kind_of_input(client: TestClient) -> None:
    inputs = {
        "literal": "hello",
        "complex": {"value": "<a>1</a>", "mediaType": "text/xml"},
        "bbox": {"bbox": [5.0, 45.0, 6.0, 46.0], "crs": CRS84},
    }
    response = execute(client, "echo", {"inputs": inputs, "response": "document"})
    assert response.status_code == 200, response.text
    assert response.json() == inputs


def test_echo_json_and_binary_complex_values(client: TestClient) -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\xff").decode()
    cases = [
        ({"k": [1, 2]}, {"value": {"k": [1, 2]}, "mediaType": "application/json"}),
        ({"value": png, "mediaType": "image/png", "encoding": "base64"}, None),
        ({"value": "plain", "mediaType": "text/plain"}, None),
    ]
    for given, expected in cases:
        body = {
            "inputs": {"literal": "x", "complex": given},
            "outputs": {"complex": {}},
            "response": "document",
        }
        response = execute(client, "echo", body)
        assert response.status_code == 200, response.text
        assert response.json() == {"complex": expected or given}


def test_bbox_without_crs_is_crs84(client: TestClient) -> None:
    body = {
        "inputs": {"literal": "x", "bbox": {"bbox": [1, 2, 3, 4]}},
        "outputs": {"bbox": {}},
        "response": "document",
    }
    assert execute(client, "echo", body).json() == {"bbox": {"bbox": [1.0, 2.0, 3.0, 4.0], "crs": CRS84}}


def test_raw_single_output_is_the_value_itself(client: TestClient) -> None:
    response = execute(client, "echo", {"inputs": {"literal": "hello"}, "outputs": {"literal": {}}})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "hello"


def test_raw_is_the_default_and_several_outputs_are_multipart(client: TestClient) -> None:
    inputs = {"literal": "hello", "bbox": {"bbox": [5, 45, 6, 46]}}
    response = execute(client, "echo", {"inputs": inputs})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("multipart/related")
    message = email.message_from_bytes(
        b"Content-Type: " + response.headers["content-type"].encode() + b"\r\n\r\n" + response.content,
        policy=email.policy.HTTP,
    )
    parts = {part["Content-ID"]: part for part in message.iter_parts()}
    assert set(parts) == {"<literal>", "<bbox>"}
    assert parts["<literal>"].get_content() == "hello"
    assert json.loads(parts["<bbox>"].get_content()) == {"bbox": [5.0, 45.0, 6.0, 46.0], "crs": CRS84}


def test_invalid_requests_name_the_culprit(client: TestClient) -> None:
    echo = {"literal": "x"}
    assert_problem(execute(client, "echo", {"inputs": {}}), 400, "missing-parameter-value", "literal")
    assert_problem(execute(client, "echo", {"inputs": {**echo, "nope": 1}}), 400, "no-such-input", "nope")
    body = {"inputs": echo, "outputs": {"nope": {}}}
    assert_problem(execute(client, "echo", body), 400, "no-such-output", "nope")
    body = {"inputs": {**echo, "bbox": {"bbox": [1, 2, 3, 4, 5]}}}
    assert_problem(execute(client, "echo", body), 400, "invalid-parameter-value", "bbox")
    assert_problem(
        execute(client, "echo", {"inputs": {"literal": {"a": 1}}}), 400, "invalid-parameter-value", "literal"
    )
    assert_problem(
        execute(client, "echo", {"inputs": {"literal": ["a", "b"]}}), 400, "too-many-inputs", "literal"
    )
    body = {"inputs": {**echo, "complex": {"value": "!!", "mediaType": "image/png", "encoding": "base64"}}}
    assert_problem(execute(client, "echo", body), 400, "invalid-parameter-value", "complex")
    body = {"inputs": {**echo, "complex": {"value": "x", "mediaType": "video/mp4"}}}
    assert_problem(execute(client, "echo", body), 400, "no-such-format", "complex")
    assert_problem(
        execute(client, "echo", {"inputs": echo, "response": "xml"}), 400, "invalid-parameter-value"
    )
    assert_problem(execute(client, "nope", {"inputs": echo}), 404, "no-such-process", "nope")


def test_malformed_bodies_are_400_not_422(client: TestClient) -> None:
    for content, content_type in [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"inputs": 5}', "application/json"),
        (b"<xml/>", "text/xml"),
        (b"", "application/json"),
    ]:
        response = client.post(
            "/processes/echo/execution", content=content, headers={"Content-Type": content_type}
        )
        assert_problem(response, 400, "invalid-parameter-value")


def test_body_over_the_cap_is_413(tmp_path: Path, checked: CheckedFactory) -> None:
    settings = Settings(data_dir=tmp_path / "small", public_url="http://testserver", max_request_bytes=100)
    with TestClient(checked(settings)) as client:
        response = execute(client, "echo", {"inputs": {"literal": "x" * 200}})
        assert_problem(response, 413, "size-exceeded")
        assert execute(client, "echo", {"inputs": {"literal": "x"}}).status_code == 200


def test_documented_examples_work(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    examples = document["paths"]["/processes/{processID}/execution"]["post"]["requestBody"]["content"][
        "application/json"
    ]["examples"]
    for name in ("echo", "echo-raw"):
        response = execute(client, name.split("-")[0], examples[name]["value"])
        assert response.status_code == 200, (name, response.text)
    # the ndvi example reads public Sentinel-2 scenes; the tests allow only local hosts, so it is
    # refused before any network access: proof that the request itself is well-formed
    refused = execute(client, "ndvi", examples["ndvi"]["value"])
    assert_problem(refused, 400, "data-not-accessible", "red")


def test_ndvi_by_reference_in_a_document(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster]
) -> None:
    body = {
        "inputs": ndvi_inputs(data_server),
        "outputs": {"ndvi": {"transmissionMode": "reference"}},
        "response": "document",
    }
    response = execute(client, "ndvi", body)
    assert response.status_code == 200, response.text
    output = response.json()["ndvi"]
    assert output["type"] == DEFAULT_GEOTIFF and output["href"].startswith("http://testserver/outputs/")
    downloaded = client.get(local(output["href"]))
    with rasterio.MemoryFile(downloaded.content) as memfile, memfile.open() as dataset:
        assert_ndvi_matches(dataset, *pair)


def test_ndvi_raw_streams_the_geotiff(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster]
) -> None:
    response = execute(client, "ndvi", {"inputs": ndvi_inputs(data_server)})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == DEFAULT_GEOTIFF
    with rasterio.MemoryFile(response.content) as memfile, memfile.open() as dataset:
        assert_ndvi_matches(dataset, *pair)


def test_ndvi_by_value_in_a_document_is_base64(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster]
) -> None:
    response = execute(client, "ndvi", {"inputs": ndvi_inputs(data_server), "response": "document"})
    assert response.status_code == 200, response.text
    output = response.json()["ndvi"]
    assert (output["mediaType"], output["encoding"]) == (DEFAULT_GEOTIFF, "base64")
    with rasterio.MemoryFile(base64.b64decode(output["value"])) as memfile, memfile.open() as dataset:
        assert_ndvi_matches(dataset, *pair)


def test_ndvi_raw_by_reference_is_204_with_a_link(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster]
) -> None:
    body = {"inputs": ndvi_inputs(data_server), "outputs": {"ndvi": {"transmissionMode": "reference"}}}
    response = execute(client, "ndvi", body)
    assert response.status_code == 204, response.text
    href = response.headers["link"].split(">")[0].removeprefix("<")
    assert f'type="{DEFAULT_GEOTIFF}"' in response.headers["link"]
    with rasterio.MemoryFile(client.get(local(href)).content) as memfile, memfile.open() as dataset:
        assert_ndvi_matches(dataset, *pair)


def test_ndvi_inline_base64_inputs(client: TestClient, pair: tuple[Raster, Raster]) -> None:
    inputs = {
        name: {"value": base64.b64encode(raster.path.read_bytes()).decode(), "mediaType": "image/tiff"}
        for name, raster in zip(("red", "nir"), pair, strict=True)
    }
    response = execute(client, "ndvi", {"inputs": inputs})
    assert response.status_code == 200, response.text
    with rasterio.MemoryFile(response.content) as memfile, memfile.open() as dataset:
        assert_ndvi_matches(dataset, *pair)


def test_clip_with_a_bbox_in_a_crs_uri(
    client: TestClient, data_server: DataServer, rasters: RasterFactory
) -> None:
    scene = rasters("scene.tif", width=200, height=150, dtype="int16", nodata=-1, pattern="xy")
    bbox = {"bbox": [500100, 5598800, 500300, 5599900], "crs": "http://www.opengis.net/def/crs/EPSG/0/32631"}
    inputs = {"raster": {"href": data_server.url("scene.tif"), "type": GEOTIFF}, "bbox": bbox}
    response = execute(client, "clip", {"inputs": inputs})
    assert response.status_code == 200, response.text
    with rasterio.MemoryFile(response.content) as memfile, memfile.open() as dataset:
        assert (dataset.width, dataset.height) == (20, 110)
        assert assert_is_window(dataset, scene) == (10, 10)


def test_async_execution_creates_a_job(client: TestClient) -> None:
    body = {"inputs": {"literal": "later"}, "response": "document"}
    response = execute(client, "echo", body, Prefer="respond-async")
    assert response.status_code == 201, response.text
    status = response.json()
    assert status["status"] in {"accepted", "running", "successful"} and status["type"] == "process"
    assert response.headers["location"] == f"http://testserver/jobs/{status['jobID']}"
    assert response.headers["preference-applied"] == "respond-async"
    final = wait_for_job(client.get, status["jobID"])
    assert final["status"] == "successful" and final["progress"] == 100
    results = next(link for link in final["links"] if link["rel"].endswith("/results"))
    assert client.get(local(results["href"])).json() == {"literal": "later"}
