"""Nested processes through /wps: clip -> ndvi -> zonal_statistics as ONE request and ONE job in WPS
1.0.0 XML (References holding an Execute in wps:Body), WPS 1.0.0 KVP (Execute URLs in Execute URLs)
and WPS 2.0.0, each equal to the steps run one by one (each result downloaded and sent back by
reference) and to numpy on the window rasterio reads; the lineage echoes the chaining References."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine
from fastapi.testclient import TestClient
from rasterio.features import geometry_mask

from tests.support import wps_v100_requests as w1
from tests.support import wps_v200_requests as w2
from tests.support.dataserver import DataServer
from tests.support.jobs import poll
from tests.support.ows import NS, NS2, output_by_id, xml
from tests.support.rasters import Raster, RasterFactory
from tests.support.vectors import HEIGHT, TRANSFORM, WIDTH, ZONES, feature_collection, lonlat
from tests.support.wps_chaining import WINDOW, clip_kvp, clip_v100, clip_v200, ndvi_v100, ndvi_v200

ZONES_JSON = feature_collection([lonlat(zone) for zone in ZONES])
STATISTICS = ("count", "min", "max", "mean", "std", "sum", "median")
LINEAGE = (
    '<wps:ResponseForm><wps:ResponseDocument lineage="true"><wps:Output asReference="true">'
    "<ows:Identifier>ndvi</ows:Identifier></wps:Output></wps:ResponseDocument></wps:ResponseForm>"
)


@pytest.fixture
def pair(rasters: RasterFactory) -> tuple[Raster, Raster]:
    """red and nir on the zones' scene: uint16, 5 % nodata, tiles smaller than the window."""
    common: dict[str, Any] = {"width": WIDTH, "height": HEIGHT, "transform": TRANSFORM, "blocksize": 64}
    common |= {"nodata": 0, "nodata_fraction": 0.05}
    return rasters("red.tif", seed=1, **common), rasters("nir.tif", seed=2, **common)


# ----------------------------------------------------------------------------- requests


def zonal_v100(raster: str) -> str:
    """zonal_statistics of a ``raster`` wps:Input fragment over ZONES, the GeoJSON as the raw answer."""
    inputs = raster + w1.geojson_input("zones", ZONES_JSON)
    return w1.execute_xml(inputs, w1.raw("statistics"), "zonal_statistics")


def v100_chain(data_server: DataServer) -> str:
    red = w1.nested_input("red", clip_v100(data_server.url("red.tif")))
    nir = w1.nested_input("nir", clip_v100(data_server.url("nir.tif")))
    return zonal_v100(w1.nested_input("raster", ndvi_v100(red, nir)))


def kvp_chain(data_server: DataServer) -> str:
    """The whole chain as one GET: Execute URLs inside the DataInputs of Execute URLs."""
    red, nir = (w1.kvp_reference(name, clip_kvp(data_server.url(f"{name}.tif"))) for name in ("red", "nir"))
    ndvi = w1.kvp_execute_url("ndvi", [red, nir], "ndvi")
    zones = w1.kvp_value("zones", ZONES_JSON, "application/geo+json")
    return w1.kvp_execute_url("zonal_statistics", [w1.kvp_reference("raster", ndvi), zones], "statistics")


def v200_chain(data_server: DataServer) -> str:
    red = w2.nested("red", clip_v200(data_server.url("red.tif")))
    nir = w2.nested("nir", clip_v200(data_server.url("nir.tif")))
    ndvi = ndvi_v200(red, nir)
    zones = w2.complex_text("zones", ZONES_JSON, "application/geo+json")
    body = w2.nested("raster", ndvi) + zones + w2.output("statistics")
    return w2.execute_xml(body, "zonal_statistics", mode="async")


# ----------------------------------------------------------------------------- expectations


def stepwise(client: TestClient, data_server: DataServer, served: Path) -> list[dict[str, Any]]:
    """The same chain as four WPS 1.0.0 jobs, each result downloaded and given to the next by reference."""

    def run(document: str, name: str) -> str:
        response = client.post("/wps", content=document)
        assert response.status_code == 200, response.text[:500]
        (served / name).write_bytes(response.content)
        return data_server.url(name)

    red = run(clip_v100(data_server.url("red.tif")), "step-red.tif")
    nir = run(clip_v100(data_server.url("nir.tif")), "step-nir.tif")
    ndvi = run(ndvi_v100(w1.reference_input("red", red), w1.reference_input("nir", nir)), "step-ndvi.tif")
    run(zonal_v100(w1.reference_input("raster", ndvi)), "step-statistics.json")
    return properties(json.loads((served / "step-statistics.json").read_bytes()))


def window_ndvi(pair: tuple[Raster, Raster]) -> np.ndarray:
    """NDVI in float64 of the window, read with rasterio: NaN where nodata or where the sum is 0."""
    bands = []
    for raster in pair:
        with rasterio.open(raster.path) as dataset:
            bands.append(dataset.read(1, window=WINDOW).astype(np.float64))
    red, nir = bands
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((red == 0) | (nir == 0) | (red + nir == 0), np.nan, (nir - red) / (nir + red))


def expected_statistics(pair: tuple[Raster, Raster]) -> list[dict[str, Any]]:
    """Zonal statistics of the window's NDVI with numpy: pixel centres inside each zone, NaN left out."""
    ndvi = window_ndvi(pair)
    transform = TRANSFORM * Affine.translation(WINDOW.col_off, WINDOW.row_off)
    expected = []
    for zone in ZONES:
        inside = geometry_mask([zone], out_shape=ndvi.shape, transform=transform, invert=True)
        values = ndvi[inside & ~np.isnan(ndvi)]
        if values.size == 0:
            expected.append({"count": 0} | dict.fromkeys(STATISTICS[1:]))
            continue
        expected.append(
            {
                "count": values.size,
                "min": values.min(),
                "max": values.max(),
                "mean": values.mean(),
                "std": values.std(),
                "sum": values.sum(),
                "median": float(np.median(values)),
            }
        )
    return expected


def properties(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The statistics of each zone of a zonal_statistics GeoJSON, in zone order."""
    assert document["type"] == "FeatureCollection"
    return [{name: feature["properties"][name] for name in STATISTICS} for feature in document["features"]]


def assert_chain_result(chained: list[dict[str, Any]], steps: list[dict[str, Any]], pair: Any) -> None:
    """The chain's statistics are the steps' (to rounding) and numpy's (to float32 precision)."""
    assert len(chained) == len(steps) == len(ZONES)
    for zone, (mine, theirs, numpy) in enumerate(zip(chained, steps, expected_statistics(pair), strict=True)):
        assert mine["count"] == theirs["count"] == numpy["count"], zone
        for name in STATISTICS[1:]:
            if numpy[name] is None:
                assert mine[name] is None and theirs[name] is None, (zone, name)
                continue
            assert mine[name] == pytest.approx(theirs[name], rel=1e-9), (zone, name)
            assert mine[name] == pytest.approx(numpy[name], rel=1e-5, abs=1e-6), (zone, name)
    assert chained[0]["count"] > 1000 and chained[1]["count"] > 1000 and chained[2]["count"] == 0


def job_ids(client: TestClient) -> list[str]:
    """Every job the service knows (OGC API /jobs)."""
    return [job["jobID"] for job in client.get("/jobs").json()["jobs"]]


# ----------------------------------------------------------------------------- one request, one job


def test_v100_xml_chain_equals_the_steps(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster], rasters: RasterFactory
) -> None:
    response = client.post("/wps", content=v100_chain(data_server))
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("application/geo+json")
    assert len(job_ids(client)) == 1
    assert_chain_result(properties(response.json()), stepwise(client, data_server, rasters.directory), pair)


def test_v100_kvp_chain_equals_the_steps(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster], rasters: RasterFactory
) -> None:
    response = client.get(kvp_chain(data_server).removeprefix("http://testserver"))
    assert response.status_code == 200, response.text[:500]
    assert len(job_ids(client)) == 1
    assert_chain_result(properties(response.json()), stepwise(client, data_server, rasters.directory), pair)


def test_v200_async_chain_is_one_job_and_equals_the_steps(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster], rasters: RasterFactory
) -> None:
    accepted = xml(client.post("/wps", content=v200_chain(data_server)))
    job_id = accepted.findtext("wps:JobID", namespaces=NS2)
    final = poll(
        lambda: xml(client.post("/wps", content=w2.job_request("GetStatus", job_id))),
        lambda doc: doc.findtext("wps:Status", namespaces=NS2) in {"Succeeded", "Failed"},
    )
    assert final.findtext("wps:Status", namespaces=NS2) == "Succeeded"
    assert job_ids(client) == [job_id]
    result = xml(client.post("/wps", content=w2.job_request("GetResult", job_id)))
    (output,) = result.iterfind("wps:Output", NS2)
    assert output.get("id") == "statistics"
    chained = properties(json.loads(output.findtext("wps:Data", namespaces=NS2)))
    assert_chain_result(chained, stepwise(client, data_server, rasters.directory), pair)


def test_clip_inside_ndvi_is_numpy_on_the_window(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster]
) -> None:
    """A 2.0 request chaining a 1.0.0 clip and a 2.0 one: each body read in its own version."""
    red = w2.nested("red", clip_v100(data_server.url("red.tif")))
    nir = w2.nested("nir", clip_v200(data_server.url("nir.tif")))
    response = client.post("/wps", content=ndvi_v200(red, nir, response="raw"))
    assert response.status_code == 200, response.text[:500]
    with rasterio.MemoryFile(response.content) as memfile, memfile.open() as dataset:
        assert (dataset.height, dataset.width) == (WINDOW.height, WINDOW.width)
        assert dataset.transform.almost_equals(TRANSFORM * Affine.translation(WINDOW.col_off, WINDOW.row_off))
        actual = dataset.read(1).astype(np.float64)
    expected = window_ndvi(pair)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    assert np.nanmax(np.abs(actual - expected)) < 1e-6


def test_lineage_echoes_the_chaining_references(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster]
) -> None:
    kvp = clip_kvp(data_server.url("nir.tif"))
    red = w1.nested_input("red", clip_v100(data_server.url("red.tif")))
    document = ndvi_v100(red, w1.kvp_nested_input("nir", kvp), LINEAGE)
    root = xml(client.post("/wps", content=document))  # XSD-checked by the client fixture
    assert root.find("wps:Status/wps:ProcessSucceeded", NS) is not None
    echoed = {
        element.findtext("ows:Identifier", namespaces=NS): element.find("wps:Reference", NS)
        for element in root.iterfind("wps:DataInputs/wps:Input", NS)
    }
    assert echoed["red"].attrib == {
        f"{{{NS['xlink']}}}href": w1.OWN_WPS,
        "method": "POST",
        "mimeType": w1.GEOTIFF,
    }
    assert echoed["nir"].get(f"{{{NS['xlink']}}}href") == kvp and echoed["nir"].get("method") == "GET"
    assert all(len(reference) == 0 for reference in echoed.values())  # no wps:Body echoed
    assert output_by_id(root, "ndvi").find("wps:Reference", NS) is not None
