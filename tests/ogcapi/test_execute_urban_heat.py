"""``land_surface_temperature`` and ``urban_heat_island`` through OGC API - Processes, compared with
numpy."""

from __future__ import annotations

import json

import numpy as np
import rasterio
import shapely
from fastapi.testclient import TestClient

from tests.support.dataserver import DataServer
from tests.support.ogcapi import assert_problem, execute, local
from tests.support.rasters import RasterFactory
from tests.support.urban_heat import (
    assert_uhi_statistics,
    landsat_bands,
    lst_scene,
    uhi_expected,
    urban_geojson,
)
from tests.support.vectors import feature_collection, lonlat

GEOTIFF = "image/tiff; subtype=geotiff"


def test_lst_raw(client: TestClient, data_server: DataServer, rasters: RasterFactory) -> None:
    bands = landsat_bands(rasters)
    inputs: dict[str, object] = {
        name: {"href": data_server.url(f"{name}.tif"), "type": GEOTIFF} for name in ("thermal", "red", "nir")
    }
    inputs |= {"radiance_mult": 3.342e-4, "radiance_add": 0.1, "k1": 774.8853, "k2": 1321.0789}
    response = execute(client, "land_surface_temperature", {"inputs": inputs})
    assert response.status_code == 200, response.text
    with rasterio.MemoryFile(response.content) as memfile, memfile.open() as dataset:
        np.testing.assert_allclose(dataset.read(1), bands.expected(), rtol=1e-6, atol=1e-4, equal_nan=True)


def test_uhi_document(client: TestClient, data_server: DataServer, rasters: RasterFactory) -> None:
    scene = lst_scene(rasters)
    expected = uhi_expected(scene)
    body = {
        "inputs": {
            "lst": {"href": data_server.url("lst.tif"), "type": GEOTIFF},
            "urban": {"value": json.loads(urban_geojson()), "mediaType": "application/geo+json"},
        },
        "outputs": {"intensity": {}, "hotspots": {"transmissionMode": "reference"}, "statistics": {}},
        "response": "document",
    }
    response = execute(client, "urban_heat_island", body)
    assert response.status_code == 200, response.text
    results = response.json()
    assert abs(results["intensity"] - expected["intensity"]) < 1e-9
    downloaded = client.get(local(results["hotspots"]["href"]))
    with rasterio.MemoryFile(downloaded.content) as memfile, memfile.open() as dataset:
        np.testing.assert_array_equal(dataset.read(1), expected["hotspots"])
    assert_uhi_statistics(results["statistics"]["value"], expected)  # GeoJSON inline, as JSON


def test_uhi_without_an_urban_pixel_is_400(
    client: TestClient, data_server: DataServer, rasters: RasterFactory
) -> None:
    lst_scene(rasters)
    outside = feature_collection([lonlat(shapely.box(400000.0, 5000000.0, 401000.0, 5001000.0))])
    body = {
        "inputs": {
            "lst": {"href": data_server.url("lst.tif"), "type": GEOTIFF},
            "urban": {"value": json.loads(outside), "mediaType": "application/geo+json"},
        },
        "outputs": {"intensity": {}},
    }
    assert_problem(execute(client, "urban_heat_island", body), 400, "invalid-parameter-value", "urban")
