"""``zonal_statistics`` through WPS 1.0.0 Execute: zones as inline GeoJSON, GeoJSON by reference or a
zipped shapefile; statistics compared with numpy over rasterio's masks, unsafe archives refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from rasterio.features import geometry_mask
from shapely.geometry.base import BaseGeometry

from app.algorithms.registry import Registry, default_registry
from app.algorithms.zonal import ZonalStatistics
from app.main import create_app
from app.settings import Settings
from tests.support.dataserver import DataServer
from tests.support.ows import NS, assert_exception, output_by_id, xml
from tests.support.rasters import Raster, RasterFactory
from tests.support.vectors import (
    HEIGHT,
    TRANSFORM,
    WIDTH,
    ZONES,
    feature_collection,
    lonlat,
    zipped_shapefile,
    zones_scene,
)
from tests.support.wps_v100_requests import (
    as_reference,
    execute_xml,
    geojson_input,
    literal_input,
    raw,
    reference_input,
    zip_input,
)
from tests.support.xsd_check import XsdChecker

# see tests/algorithms/test_zonal.py: rasterio's warning suppression is not thread-safe
pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")


def registry() -> Registry:
    """The default processes plus zonal_statistics (unless it is registered already)."""
    processes = default_registry()
    if any(p.identifier == "zonal_statistics" for p in processes):
        return processes
    return processes.register(ZonalStatistics)


@pytest.fixture
def zonal_client(settings: Settings) -> Iterator[TestClient]:
    checker = XsdChecker(create_app(settings, registry()))
    with TestClient(checker, raise_server_exceptions=False) as test_client:
        yield test_client
    assert not checker.failures, "invalid XML responses:\n" + "\n".join(checker.failures)


@pytest.fixture
def scene(rasters: RasterFactory) -> Raster:
    """The scene the vector ZONES lie on."""
    return zones_scene(rasters)


def reference(raster: Raster, geometry: BaseGeometry) -> dict[str, Any]:
    inside = geometry_mask([geometry], out_shape=(HEIGHT, WIDTH), transform=TRANSFORM, invert=True)
    values = raster.data[0][inside & (raster.data[0] != 0)]
    if values.size == 0:
        return {
            name: (0 if name == "count" else None)
            for name in ("count", "min", "max", "mean", "std", "sum", "median")
        }
    return {
        "count": values.size,
        "min": int(values.min()),
        "max": int(values.max()),
        "mean": float(values.mean(dtype=np.float64)),
        "std": float(values.std(dtype=np.float64)),
        "sum": int(values.sum()),
        "median": float(np.median(values)),
    }


def assert_statistics(document: dict[str, Any], raster: Raster, wanted: tuple[str, ...]) -> None:
    assert document["type"] == "FeatureCollection"
    assert len(document["features"]) == len(ZONES)
    for index, (feature, zone) in enumerate(zip(document["features"], ZONES, strict=True)):
        expected = reference(raster, zone)
        properties = feature["properties"]
        assert properties.pop("zone") == f"z{index}"
        assert list(properties) == list(wanted)
        for name in wanted:
            if isinstance(expected[name], float):
                assert properties[name] == pytest.approx(expected[name], rel=1e-9), name
            else:
                assert properties[name] == expected[name], name
        # the geometry comes back in lon/lat (a shapefile may have turned its rings around)
        back = shapely.normalize(shapely.geometry.shape(feature["geometry"]))
        assert back.equals_exact(shapely.normalize(shapely.geometry.shape(lonlat(zone))), tolerance=1e-9)


def test_zonal_inline_geojson_raw_output(
    zonal_client: TestClient, data_server: DataServer, scene: Raster
) -> None:
    inputs = reference_input("raster", data_server.url("scene.tif")) + geojson_input(
        "zones", feature_collection([lonlat(z) for z in ZONES])
    )
    response = zonal_client.post("/wps", content=execute_xml(inputs, raw("statistics"), "zonal_statistics"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    assert_statistics(response.json(), scene, ("count", "min", "max", "mean", "std", "sum", "median"))


def test_zonal_geojson_by_reference(
    zonal_client: TestClient, data_server: DataServer, scene: Raster, rasters: RasterFactory
) -> None:
    # a legacy crs member: coordinates in the raster's CRS
    text = feature_collection([shapely.geometry.mapping(z) for z in ZONES], crs="urn:ogc:def:crs:EPSG::32631")
    (rasters.directory / "zones.geojson").write_text(text)
    inputs = (
        reference_input("raster", data_server.url("scene.tif"))
        + reference_input("zones", data_server.url("zones.geojson"), mime="application/json")
        + literal_input("statistics", "median")
        + literal_input("statistics", "count")
    )
    response = zonal_client.post("/wps", content=execute_xml(inputs, "", "zonal_statistics"))
    assert response.status_code == 200, response.text
    data = output_by_id(xml(response), "statistics").find("wps:Data/wps:ComplexData", NS)
    assert data.get("mimeType") == "application/geo+json"
    assert_statistics(json.loads(data.text), scene, ("median", "count"))


def test_zonal_statistics_as_one_comma_list(
    zonal_client: TestClient, data_server: DataServer, scene: Raster
) -> None:
    params = {
        "service": "WPS",
        "version": "1.0.0",
        "request": "Execute",
        "identifier": "zonal_statistics",
        "DataInputs": f"raster=@xlink:href={data_server.url('scene.tif')};"
        f"zones=@xlink:href={data_server.url('zones.geojson')}@mimeType=application/geo+json;"
        "statistics=median,count",
        "RawDataOutput": "statistics",
    }
    (data_server.root / "zones.geojson").write_text(feature_collection([lonlat(z) for z in ZONES]))
    response = zonal_client.get("/wps", params=params)
    assert response.status_code == 200, response.text
    assert_statistics(response.json(), scene, ("median", "count"))


def test_zonal_statistics_comma_list_in_json(
    zonal_client: TestClient, data_server: DataServer, scene: Raster
) -> None:
    zones = json.loads(feature_collection([lonlat(z) for z in ZONES]))
    body = {
        "inputs": {
            "raster": {"href": data_server.url("scene.tif")},
            "zones": {"value": zones, "mediaType": "application/geo+json"},
            "statistics": "sum,max",
        },
        "outputs": {"statistics": {}},
        "response": "raw",
    }
    response = zonal_client.post("/processes/zonal_statistics/execution", json=body)
    assert response.status_code == 200, response.text
    assert_statistics(response.json(), scene, ("sum", "max"))


def test_zonal_zipped_shapefile_base64(
    zonal_client: TestClient, data_server: DataServer, scene: Raster, tmp_path: Path
) -> None:
    archive = zipped_shapefile(tmp_path / "shp", ZONES, prj=False)  # no .prj: the raster's CRS
    inputs = reference_input("raster", data_server.url("scene.tif")) + zip_input("zones", archive)
    inputs += literal_input("statistics", "mean") + literal_input("statistics", "sum")
    response = zonal_client.post(
        "/wps", content=execute_xml(inputs, as_reference("statistics"), "zonal_statistics")
    )
    assert response.status_code == 200, response.text
    reference_element = output_by_id(xml(response), "statistics").find("wps:Reference", NS)
    assert reference_element.get("mimeType") == "application/geo+json"
    result = zonal_client.get(reference_element.get("href").removeprefix("http://testserver"))
    assert result.status_code == 200
    assert_statistics(result.json(), scene, ("mean", "sum"))


def test_zonal_unsafe_zip_refused(
    zonal_client: TestClient, data_server: DataServer, scene: Raster, tmp_path: Path
) -> None:
    archive = zipped_shapefile(tmp_path / "shp", ZONES, prj=True, entries={"../../evil.txt": b"x"})
    inputs = reference_input("raster", data_server.url("scene.tif")) + zip_input(
        "zones", archive, "application/zip"
    )
    response = zonal_client.post("/wps", content=execute_xml(inputs, "", "zonal_statistics"))
    assert_exception(response, "InvalidParameterValue", 400, "zones")


def test_zonal_unknown_statistic_refused(
    zonal_client: TestClient, data_server: DataServer, scene: Raster
) -> None:
    inputs = reference_input("raster", data_server.url("scene.tif")) + geojson_input(
        "zones", feature_collection([lonlat(ZONES[0])])
    )
    inputs += literal_input("statistics", "mode")
    response = zonal_client.post("/wps", content=execute_xml(inputs, "", "zonal_statistics"))
    assert_exception(response, "InvalidParameterValue", 400, "statistics")


def test_describe_zonal_statistics(zonal_client: TestClient) -> None:
    params = {
        "service": "WPS",
        "version": "1.0.0",
        "request": "DescribeProcess",
        "identifier": "zonal_statistics",
    }
    root = xml(zonal_client.get("/wps", params=params))
    statistics = root.xpath("//Input[ows:Identifier='statistics']", namespaces=NS)[0]
    assert (statistics.get("minOccurs"), statistics.get("maxOccurs")) == ("0", "7")
    allowed = [e.text for e in statistics.iterfind("LiteralData/ows:AllowedValues/ows:Value", NS)]
    assert allowed == ["count", "min", "max", "mean", "std", "sum", "median"]
    zones = root.xpath("//Input[ows:Identifier='zones']", namespaces=NS)[0]
    supported = {e.text for e in zones.iterfind("ComplexData/Supported/Format/MimeType")}
    assert {"application/geo+json", "application/zip", "application/x-zipped-shp"} <= supported
    output = root.xpath("//Output[ows:Identifier='statistics']", namespaces=NS)[0]
    assert output.find("ComplexOutput/Default/Format/MimeType").text == "application/geo+json"
    assert "median is exact" in output.find("ows:Abstract", NS).text
