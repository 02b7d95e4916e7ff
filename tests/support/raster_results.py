"""Raster results of the service: downloaded from the test app and compared with independent computations."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import rasterio
from fastapi.testclient import TestClient

from tests.support.ows import NS, output_by_id, xml
from tests.support.rasters import UTM_10M, Raster


def fetch_geotiff(client: TestClient, href: str) -> rasterio.io.MemoryFile:
    """The GeoTIFF at an output URL of the test app (``http://testserver/outputs/...``), in memory."""
    response = client.get(href.removeprefix("http://testserver"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/tiff; subtype=geotiff"
    return rasterio.MemoryFile(response.content)


def download(client: TestClient, response: httpx.Response) -> tuple[np.ndarray, str, Any]:
    """The single band of the referenced ``result`` output (an ExecuteResponse), with its dtype and
    nodata; its grid checked to be the raster factory's default (EPSG:32631, 10 m pixels)."""
    assert response.status_code == 200, response.text[:500]
    href = output_by_id(xml(response), "result").find("wps:Reference", NS).get("href")
    with fetch_geotiff(client, href) as memfile, memfile.open() as dataset:
        assert dataset.transform.almost_equals(UTM_10M)
        assert dataset.crs == rasterio.crs.CRS.from_epsg(32631)
        return dataset.read(1), dataset.dtypes[0], dataset.nodata


def expected_ndvi(red: Raster, nir: Raster) -> np.ndarray:
    """Independent NDVI in float64: NaN where nodata or where the sum is zero."""
    r, n = red.data[0].astype(np.float64), nir.data[0].astype(np.float64)
    invalid = (r + n) == 0
    for raster, band in ((red, r), (nir, n)):
        if raster.spec.nodata is not None:
            invalid |= band == raster.spec.nodata
    with np.errstate(divide="ignore", invalid="ignore"):
        result = (n - r) / (n + r)
    result[invalid] = np.nan
    return result


def assert_ndvi_matches(dataset: rasterio.io.DatasetReader, red: Raster, nir: Raster) -> None:
    """The dataset is a tiled float32 NDVI of red and nir on red's grid, NaN as nodata, within 1e-6."""
    assert dataset.dtypes == ("float32",)
    assert dataset.crs == rasterio.crs.CRS.from_user_input(red.spec.crs)
    assert dataset.transform.almost_equals(red.spec.transform)
    assert np.isnan(dataset.nodata)
    assert dataset.profile["tiled"]
    actual = dataset.read(1).astype(np.float64)
    expected = expected_ndvi(red, nir)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    valid = ~np.isnan(expected)
    assert np.max(np.abs(actual[valid] - expected[valid])) < 1e-6


def assert_is_window(dataset: rasterio.io.DatasetReader, scene: Raster) -> tuple[int, int]:
    """The clip equals the scene's pixels at the offset its own transform gives; returns the offset."""
    source = scene.spec.transform
    col, row = ~source * (dataset.transform.c, dataset.transform.f)
    assert abs(col - round(col)) < 1e-9 and abs(row - round(row)) < 1e-9
    col, row = round(col), round(row)
    assert dataset.transform.a == source.a and dataset.transform.e == source.e
    assert dataset.dtypes[0] == scene.spec.dtype and dataset.nodata == scene.spec.nodata
    assert dataset.crs == rasterio.crs.CRS.from_user_input(scene.spec.crs)
    window = scene.data[:, row : row + dataset.height, col : col + dataset.width]
    np.testing.assert_array_equal(dataset.read(), window)
    return col, row
