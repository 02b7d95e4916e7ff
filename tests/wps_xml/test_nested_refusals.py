"""Nested processes through /wps, refused: an unknown nested process, a missing or malformed nested
input answer 400 before any job exists, located by the path of input names from the top (WPS 1.0.0
InvalidParameterValue / MissingParameterValue, WPS 2.0 NoSuchProcess...); a chain to another server
is refused without one request to it; too deep a tree is refused quickly, by the decoder
(WPS_MAX_NESTING) or, past 256 nested elements, by the hardened parser. Every report is XSD-checked."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from tests.support import wps_v100_requests as w1
from tests.support import wps_v200_requests as w2
from tests.support.dataserver import DataServer
from tests.support.ows import assert_exception
from tests.support.wps_chaining import (
    BOX,
    chained_v100,
    chained_v200,
    clip_kvp,
    clip_v100,
    clip_v200,
    ndvi_v100,
    ndvi_v200,
)

DATA = "http://data.example/nir.tif"  # never read: every request here is refused before it runs
VERSIONS = ("1.0.0", "2.0.0")


def ndvi_of(version: str, red: str) -> str:
    """An ndvi of ``version`` whose red chains the Execute ``red`` and whose nir is plain data."""
    if version == "1.0.0":
        return ndvi_v100(w1.nested_input("red", red), w1.reference_input("nir", DATA))
    return ndvi_v200(w2.nested("red", red), w2.reference("nir", DATA))


def clip_of(version: str, raster: str) -> str:
    """A clip of ``version`` to BOX with this ``raster`` wps:Input fragment (or none)."""
    if version == "1.0.0":
        return w1.execute_xml(raster + w1.bbox_input(*BOX, "EPSG:32631"), w1.raw("clipped"), "clip")
    return w2.execute_xml(raster + w2.bbox("bbox", *BOX, "EPSG:32631") + w2.output("clipped"), "clip")


def no_job(client: TestClient) -> bool:
    return client.get("/jobs").json()["jobs"] == []


@pytest.mark.parametrize("version", VERSIONS)
def test_unknown_nested_process(client: TestClient, version: str) -> None:
    if version == "1.0.0":
        unknown = w1.nested_input("raster", w1.execute_xml(w1.literal_input("x", "1"), "", "nope"))
    else:
        unknown = w2.nested("raster", w2.execute_xml(w2.literal("x", "1"), "nope"))
    response = client.post("/wps", content=ndvi_of(version, clip_of(version, unknown)))
    code = "NoSuchProcess" if version == "2.0.0" else "InvalidParameterValue"
    exception = assert_exception(response, code, 400, "red/raster", version)
    assert "'nope'" in "".join(exception.itertext())
    assert no_job(client)


@pytest.mark.parametrize("version", VERSIONS)
def test_missing_nested_input(client: TestClient, version: str) -> None:
    response = client.post("/wps", content=ndvi_of(version, clip_of(version, "")))
    exception = assert_exception(response, "MissingParameterValue", 400, "red/raster", version)
    assert "'clip'" in "".join(exception.itertext())
    assert no_job(client)


@pytest.mark.parametrize("version", VERSIONS)
def test_malformed_nested_execute(client: TestClient, version: str) -> None:
    clip = (clip_v100 if version == "1.0.0" else clip_v200)(DATA)
    bad = clip.replace(f"<ows:LowerCorner>{BOX[0][0]}", "<ows:LowerCorner>west")
    assert bad != clip
    assert_exception(
        client.post("/wps", content=ndvi_of(version, bad)), "InvalidParameterValue", 400, "red/bbox", version
    )
    assert no_job(client)


@pytest.mark.parametrize("form", ["1.0.0 body", "1.0.0 kvp href", "2.0.0 body", "kvp request"])
def test_a_remote_chain_is_refused_without_contacting_it(
    client: TestClient, data_server: DataServer, form: str
) -> None:
    remote, raster = f"{data_server.base_url}/wps", data_server.url("red.tif")
    version = form.split()[0] if form[0].isdigit() else "1.0.0"
    if form == "1.0.0 body":
        response = client.post(
            "/wps", content=ndvi_of(version, clip_v100(raster)).replace(w1.OWN_WPS, remote)
        )
    elif form == "2.0.0 body":
        response = client.post(
            "/wps", content=ndvi_of(version, clip_v200(raster)).replace(w2.OWN_WPS, remote)
        )
    else:
        red = clip_kvp(raster, base=remote)
        if form == "kvp request":
            items = [w1.kvp_reference("red", red), w1.kvp_reference("nir", raster)]
            response = client.get(w1.kvp_execute_url("ndvi", items).removeprefix("http://testserver"))
        else:
            document = ndvi_v100(w1.kvp_nested_input("red", red), w1.reference_input("nir", raster))
            response = client.post("/wps", content=document)
    exception = assert_exception(response, "InvalidParameterValue", 400, "red", version)
    assert "remote processes are not supported" in "".join(exception.itertext())
    assert data_server.requests == []
    assert no_job(client)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_tree_deeper_than_the_limit(client: TestClient, version: str) -> None:
    if version == "1.0.0":
        document = chained_v100(17, clip_v100(DATA), w1.reference_input("nir", DATA))
    else:
        document = chained_v200(17, clip_v200(DATA))
    exception = assert_exception(
        client.post("/wps", content=document), "InvalidParameterValue", 400, "/".join(["red"] * 17), version
    )
    assert "allows 16 (WPS_MAX_NESTING)" in "".join(exception.itertext())
    assert no_job(client)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_thousand_levels_are_refused_by_the_parser_quickly(client: TestClient, version: str) -> None:
    if version == "1.0.0":
        document = chained_v100(1000, clip_v100(DATA), w1.reference_input("nir", DATA))
    else:
        document = chained_v200(1000, clip_v200(DATA))
    started = time.perf_counter()
    response = client.post("/wps", content=document)
    assert time.perf_counter() - started < 2.0
    # a document the parser refuses tells no version: the default (1.0.0) reports it
    exception = assert_exception(response, "InvalidParameterValue", 400, "request", "1.0.0")
    assert "more than 256 levels deep" in "".join(exception.itertext())
    assert no_job(client)
