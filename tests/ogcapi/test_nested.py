"""Nested processes on the JSON face (OGC API - Processes - Part 3): one request, one job, one graph.

The chained request is compared with the same steps run one by one (each result downloaded and
sent back by reference) and with numpy on the window read by rasterio; errors inside the tree are
located by the path of input names.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import numpy as np
import pytest
import rasterio
import shapely.geometry
from fastapi.testclient import TestClient
from rasterio.io import MemoryFile

from app.settings import Settings
from tests.support.dataserver import DataServer
from tests.support.jobs import submit, wait_for_job
from tests.support.ogcapi import assert_problem, execute
from tests.support.rasters import Raster, RasterFactory
from tests.support.vectors import ZONES, feature_collection

UTM = "http://www.opengis.net/def/crs/EPSG/0/32631"
WINDOW = {"bbox": [500500.0, 5598600.0, 502100.0, 5599700.0], "crs": UTM}  # inside the pair's scene
GEOTIFF = "image/tiff; application=geotiff"
NESTED = "http://www.opengis.net/spec/ogcapi-processes-3/0.0/conf/nested-processes"


@pytest.fixture
def pair(rasters: RasterFactory) -> tuple[Raster, Raster]:
    common = {"width": 301, "height": 211, "nodata": 0, "nodata_fraction": 0.05, "blocksize": 64}
    return rasters("red.tif", seed=1, **common), rasters("nir.tif", seed=2, **common)


def zones() -> dict[str, Any]:
    """The first two zones of tests.support.vectors (in EPSG:32631) as an inline GeoJSON value."""
    geometries = [dict(shapely.geometry.mapping(zone)) for zone in ZONES[:2]]
    document = json.loads(feature_collection(geometries, crs="urn:ogc:def:crs:EPSG::32631"))
    return {"value": document, "mediaType": "application/geo+json"}


def clip(data_server: DataServer, name: str) -> dict[str, Any]:
    return {"process": "clip", "inputs": {"raster": {"href": data_server.url(name)}, "bbox": WINDOW}}


def ndvi_of_clips(data_server: DataServer, process: str = "ndvi") -> dict[str, Any]:
    return {
        "process": process,
        "inputs": {"red": clip(data_server, "red.tif"), "nir": clip(data_server, "nir.tif")},
    }


def chain(data_server: DataServer) -> dict[str, Any]:
    """zonal_statistics(ndvi(clip(red), clip(nir)), zones), as one execute document."""
    return {"inputs": {"raster": ndvi_of_clips(data_server), "zones": zones()}, "response": "document"}


def statistics(document: dict[str, Any]) -> list[dict[str, Any]]:
    value = document["statistics"]["value"]
    return [feature["properties"] for feature in value["features"]]


def run(client: TestClient, process: str, body: dict[str, Any]) -> dict[str, Any]:
    response = execute(client, process, body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def step(client: TestClient, process: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Run one step on its own, download its raster, and give it back as an inline GeoTIFF value."""
    response = execute(client, process, {"inputs": inputs, "response": "raw"})
    assert response.status_code == 200, response.text
    return {"value": base64.b64encode(response.content).decode(), "mediaType": GEOTIFF}


def test_conformance_declares_nested_processes(client: TestClient) -> None:
    assert NESTED in client.get("/conformance").json()["conformsTo"]


def test_clip_ndvi_zonal_in_one_request_equals_the_steps_one_by_one(
    client: TestClient, pair: tuple[Raster, Raster], data_server: DataServer
) -> None:
    chained = statistics(run(client, "zonal_statistics", chain(data_server)))
    # the same steps as separate jobs, each result downloaded and sent back to the next
    red = step(client, "clip", clip(data_server, "red.tif")["inputs"])
    nir = step(client, "clip", clip(data_server, "nir.tif")["inputs"])
    ndvi = step(client, "ndvi", {"red": red, "nir": nir})
    stepwise = statistics(
        run(
            client, "zonal_statistics", {"inputs": {"raster": ndvi, "zones": zones()}, "response": "document"}
        )
    )
    assert len(client.get("/jobs").json()["jobs"]) == 5  # the chain, then four steps
    assert len(chained) == 2 and chained == pytest.approx(stepwise)
    assert chained[0]["count"] > 1000


def test_a_nested_ndvi_of_clips_is_numpy_on_the_window(
    client: TestClient, pair: tuple[Raster, Raster], data_server: DataServer
) -> None:
    body = {"inputs": ndvi_of_clips(data_server)["inputs"], "response": "raw"}
    response = execute(client, "ndvi", body)
    assert response.status_code == 200, response.text
    with MemoryFile(response.content) as memory, memory.open() as result:
        values = result.read(1).astype("float64")
        west, north = result.transform.c, result.transform.f
        with rasterio.open(pair[0].path) as scene:
            row, col = scene.index(west + 5, north - 5)
        window = (slice(row, row + result.height), slice(col, col + result.width))
    red = pair[0].data[0][window].astype("float64")
    nir = pair[1].data[0][window].astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where((red == 0) | (nir == 0) | (red + nir == 0), np.nan, (nir - red) / (nir + red))
    assert values.shape == (110, 160)  # the window: 1600 m x 1100 m of 10 m pixels
    np.testing.assert_array_equal(np.isnan(values), np.isnan(expected))
    assert np.nanmax(np.abs(values - expected)) < 1e-6


def test_the_tree_is_one_job(
    client: TestClient, pair: tuple[Raster, Raster], data_server: DataServer
) -> None:
    job_id = submit(client, "zonal_statistics", chain(data_server)["inputs"])
    assert wait_for_job(client.get, job_id)["status"] == "successful"
    jobs = client.get("/jobs").json()["jobs"]
    assert [job["jobID"] for job in jobs] == [job_id]
    assert jobs[0]["processID"] == "zonal_statistics"


def test_a_nested_clip_of_a_large_cog_pulls_about_its_window(
    client: TestClient, rasters: RasterFactory, data_server: DataServer
) -> None:
    scene = rasters("big.tif", cog=True, width=4096, height=4096, blocksize=256, compress="deflate")
    window = {"bbox": [510000.0, 5580000.0, 512560.0, 5582560.0], "crs": UTM}  # 256 x 256 pixels
    nested = {"process": "clip", "inputs": {"raster": {"href": data_server.url("big.tif")}, "bbox": window}}
    data_server.reset()
    body = {"inputs": {"red": nested, "nir": nested}, "response": "raw"}
    response = execute(client, "ndvi", body)
    assert response.status_code == 200, response.text
    size = scene.path.stat().st_size
    window_bytes = size * (256 * 256) / (4096 * 4096)
    # both nested clips read the same file: each pulls about its window's share, never the file
    assert data_server.bytes_sent < 0.05 * size
    assert data_server.bytes_sent < 2 * 9 * window_bytes + 200_000  # window's blocks (up to 3x3), headers


def test_a_nested_literal_feeds_a_literal_input(
    client: TestClient, pair: tuple[Raster, Raster], data_server: DataServer
) -> None:
    change = {"before": {"href": data_server.url("red.tif")}, "after": {"href": data_server.url("nir.tif")}}
    fraction = run(
        client,
        "change_detection",
        {"inputs": change, "outputs": {"changed_fraction": {}}, "response": "document"},
    )
    threshold = fraction["changed_fraction"]
    nested = {"process": "change_detection", "inputs": change, "outputs": {"changed_fraction": {}}}
    body = {
        "inputs": {**change, "threshold": nested},
        "outputs": {"changed_fraction": {}},
        "response": "document",
    }
    chained = run(client, "change_detection", body)["changed_fraction"]
    stepwise = run(
        client,
        "change_detection",
        {
            "inputs": {**change, "threshold": threshold},
            "outputs": {"changed_fraction": {}},
            "response": "document",
        },
    )["changed_fraction"]
    assert chained == pytest.approx(stepwise)


def test_a_nested_geojson_feeds_a_vector_input(
    client: TestClient, pair: tuple[Raster, Raster], data_server: DataServer
) -> None:
    scene = {"href": data_server.url("red.tif")}
    zonal = {"process": "zonal_statistics", "inputs": {"raster": scene, "zones": zones()}}
    response = execute(client, "clip", {"inputs": {"raster": scene, "geometry": zonal}, "response": "raw"})
    assert response.status_code == 200, response.text
    statistics_document = run(
        client, "zonal_statistics", {"inputs": {"raster": scene, "zones": zones()}, "response": "document"}
    )
    geometry = {"value": statistics_document["statistics"]["value"], "mediaType": "application/geo+json"}
    stepwise = execute(client, "clip", {"inputs": {"raster": scene, "geometry": geometry}, "response": "raw"})
    with (
        MemoryFile(response.content) as a,
        a.open() as chained,
        MemoryFile(stepwise.content) as b,
        b.open() as direct,
    ):
        assert chained.transform == direct.transform
        np.testing.assert_array_equal(chained.read(), direct.read())


def test_a_process_url_of_this_service_is_its_id(
    client: TestClient, pair: tuple[Raster, Raster], data_server: DataServer
) -> None:
    by_url = ndvi_of_clips(data_server, "http://TESTSERVER/processes/ndvi")
    body = {"inputs": {"raster": by_url, "zones": zones()}, "response": "document"}
    assert statistics(run(client, "zonal_statistics", body)) == statistics(
        run(client, "zonal_statistics", chain(data_server))
    )


@pytest.mark.parametrize(
    ("change", "status", "kind", "locator", "words"),
    [
        (
            lambda b: b["raster"]["inputs"]["red"].update(process="nope"),
            400,
            "no-such-process",
            "raster/red",
            "'nope'",
        ),
        (
            lambda b: b["raster"]["inputs"]["red"]["inputs"].pop("raster"),
            400,
            "missing-parameter-value",
            "raster/red/raster",
            "'clip'",
        ),
        (
            lambda b: b["raster"]["inputs"]["red"]["inputs"].update(colour=1),
            400,
            "no-such-input",
            "raster/red/colour",
            "'clip'",
        ),
        (
            lambda b: b["raster"].update(outputs={"ndvi": {}, "other": {}}),
            400,
            "no-such-output",
            "raster/other",
            "'ndvi'",
        ),
        (
            lambda b: b.update(zones={"process": "clip", "inputs": b["raster"]["inputs"]["red"]["inputs"]}),
            400,
            "no-such-format",
            "zones",
            "'clip'",
        ),
        (
            lambda b: b["raster"].update(process="https://elsewhere.example/processes/ndvi"),
            400,
            "invalid-parameter-value",
            "raster",
            "remote processes are not supported",
        ),
    ],
)
def test_errors_are_located_inside_the_tree(
    client: TestClient, data_server: DataServer, change: Any, status: int, kind: str, locator: str, words: str
) -> None:
    body = chain(data_server)
    change(body["inputs"])
    problem = assert_problem(execute(client, "zonal_statistics", body), status, kind)
    assert problem["locator"] == locator and words in problem["detail"], problem
    assert client.get("/jobs").json()["jobs"] == []  # refused before any job existed
    assert data_server.requests == []  # and before anything was read


def test_a_nested_process_gives_one_output(client: TestClient, data_server: DataServer) -> None:
    body = chain(data_server)
    inputs = {"before": {"href": data_server.url("red.tif")}, "after": {"href": data_server.url("nir.tif")}}
    change = {"process": "change_detection", "inputs": inputs, "outputs": {"difference": {}, "mask": {}}}
    body["inputs"]["raster"] = change
    problem = assert_problem(
        execute(client, "zonal_statistics", body), 400, "invalid-parameter-value", "raster"
    )
    assert "one output" in problem["detail"]


def test_a_remote_process_is_never_contacted(
    client: TestClient, forbidden: DataServer, data_server: DataServer
) -> None:
    body = chain(data_server)
    body["inputs"]["raster"]["process"] = forbidden.url("processes/ndvi")  # another port: another server
    problem = assert_problem(
        execute(client, "zonal_statistics", body), 400, "invalid-parameter-value", "raster"
    )
    assert "remote processes are not supported" in problem["detail"]
    assert forbidden.requests == []


def nest(depth: int, data_server: DataServer) -> dict[str, Any]:
    value: dict[str, Any] = {"href": data_server.url("red.tif")}
    for _ in range(depth):
        value = {"process": "clip", "inputs": {"raster": value, "bbox": WINDOW}}
    return value


def test_nesting_to_the_limit_runs_and_one_level_more_is_refused(
    client: TestClient, pair: tuple[Raster, Raster], data_server: DataServer
) -> None:
    at_limit = {"inputs": {"raster": nest(16, data_server), "bbox": WINDOW}, "response": "raw"}
    response = execute(client, "clip", at_limit)
    assert response.status_code == 200, response.text[:300]
    with MemoryFile(response.content) as memory, memory.open() as result:
        assert result.shape == (110, 160)
    beyond = {"inputs": {"raster": nest(17, data_server), "bbox": WINDOW}}
    problem = assert_problem(execute(client, "clip", beyond), 400, "invalid-parameter-value")
    assert problem["locator"] == "/".join(["raster"] * 17) and "WPS_MAX_NESTING" in problem["detail"]


def test_a_tree_of_a_thousand_nested_calls_is_refused_quickly(
    client: TestClient, data_server: DataServer
) -> None:
    inner = json.dumps({"href": data_server.url("red.tif")})
    box = json.dumps(WINDOW)
    for _ in range(1000):  # built as text: json.dumps itself cannot nest this deep
        inner = f'{{"process": "clip", "inputs": {{"raster": {inner}, "bbox": {box}}}}}'
    started = time.monotonic()
    response = client.post(
        "/processes/clip/execution",
        content=f'{{"inputs": {{"raster": {inner}, "bbox": {box}}}}}',
        headers={"Content-Type": "application/json"},
    )
    assert time.monotonic() - started < 2
    problem = assert_problem(response, 400, "invalid-parameter-value")
    assert "WPS_MAX_NESTING" in problem["detail"]
    assert data_server.requests == []


def test_the_deepest_nesting_allowed_runs_as_a_job(
    tmp_path: Any, checked: Any, pair: tuple[Raster, Raster], data_server: DataServer
) -> None:
    """WPS_MAX_NESTING's ceiling (32): the job's request, stored as JSON, reads back that deep."""
    settings = Settings(
        data_dir=tmp_path / "deep",
        public_url="http://testserver",
        allowed_hosts=["127.0.0.1"],
        max_nesting=32,
    )
    with TestClient(checked(settings), raise_server_exceptions=False) as deep:
        job_id = submit(deep, "clip", {"raster": nest(32, data_server), "bbox": WINDOW})
        assert wait_for_job(deep.get, job_id)["status"] == "successful"
        assert deep.get(f"/jobs/{job_id}/results").status_code == 200
