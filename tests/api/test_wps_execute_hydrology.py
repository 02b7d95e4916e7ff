"""The hydrology processes through WPS 1.0.0 Execute (responses XSD-checked by the ``client``
fixture), compared with scikit-image, pysheds and numpy (tests/support/hydrology_scenes.py)."""

from __future__ import annotations

import json

import numpy as np
import rasterio
from fastapi.testclient import TestClient

from tests.support.dataserver import DataServer
from tests.support.hydrology_scenes import (
    HEIGHT,
    NODATA,
    WIDTH,
    assert_outline,
    cell_centre_lonlat,
    cone,
    outlet_geojson,
    pysheds_flow,
    reconstruction_fill,
    sinky,
    upstream,
    write_dem,
)
from tests.support.ows import NS, assert_exception, output_by_id, xml
from tests.support.raster_results import fetch_geotiff
from tests.support.rasters import UTM_10M, RasterFactory
from tests.support.wps_v100_requests import (
    as_reference,
    execute_xml,
    geojson_input,
    literal_input,
    raw,
    reference_input,
)

UTM = "EPSG:32631"


def test_fill_sinks_raw(client: TestClient, data_server: DataServer, rasters: RasterFactory) -> None:
    values = sinky()
    write_dem(rasters, values)
    inputs = reference_input("dem", data_server.url("dem.tif"))
    response = client.post("/wps", content=execute_xml(inputs, raw("filled"), "fill_sinks"))
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "image/tiff; subtype=geotiff"
    with rasterio.MemoryFile(response.content) as memfile, memfile.open() as dataset:
        assert dataset.dtypes == ("float32",) and np.isnan(dataset.nodata)
        assert dataset.transform.almost_equals(UTM_10M) and dataset.crs == rasterio.crs.CRS.from_epsg(32631)
        np.testing.assert_array_equal(dataset.read(1), reconstruction_fill(values))


def test_direction_and_accumulation_by_reference(
    client: TestClient, data_server: DataServer, rasters: RasterFactory
) -> None:
    values = cone()
    write_dem(rasters, values)
    directions, accumulation = pysheds_flow(values)
    inputs = reference_input("dem", data_server.url("dem.tif"))
    for process, output, expected, nodata in (
        ("flow_direction", "direction", directions, 255),
        ("flow_accumulation", "accumulation", accumulation, None),
    ):
        response = client.post("/wps", content=execute_xml(inputs, as_reference(output), process))
        assert response.status_code == 200, response.text[:500]
        href = output_by_id(xml(response), output).find("wps:Reference", NS).get("href")
        with fetch_geotiff(client, href) as memfile, memfile.open() as dataset:
            assert dataset.dtypes == (expected.dtype.name,)
            assert dataset.nodata == nodata if nodata is not None else np.isnan(dataset.nodata)
            np.testing.assert_array_equal(dataset.read(1), expected)


def test_stream_network_threshold(
    client: TestClient, data_server: DataServer, rasters: RasterFactory
) -> None:
    values = cone()
    write_dem(rasters, values)
    _, accumulation = pysheds_flow(values)
    inputs = reference_input("dem", data_server.url("dem.tif")) + literal_input("threshold", "40")
    response = client.post("/wps", content=execute_xml(inputs, raw("streams"), "stream_network"))
    assert response.status_code == 200, response.text[:500]
    expected = np.where(accumulation >= 40, 1, 0).astype(np.uint8)
    expected[values == NODATA] = 255
    with rasterio.MemoryFile(response.content) as memfile, memfile.open() as dataset:
        assert dataset.dtypes == ("uint8",) and dataset.nodata == 255
        np.testing.assert_array_equal(dataset.read(1), expected)


def test_watershed_all_outputs_in_one_document(
    client: TestClient, data_server: DataServer, rasters: RasterFactory
) -> None:
    values = cone()
    write_dem(rasters, values)
    directions, accumulation = pysheds_flow(values)
    row = HEIGHT // 2
    col = int(np.nanargmax(accumulation[row]))
    expected = upstream(directions, row, col)
    outlet = outlet_geojson(*cell_centre_lonlat(UTM_10M, UTM, row, col), kind="Point")
    inputs = reference_input("dem", data_server.url("dem.tif")) + geojson_input("outlet", json.dumps(outlet))
    outputs = (
        "<wps:ResponseForm><wps:ResponseDocument>"
        '<wps:Output asReference="true"><ows:Identifier>watershed</ows:Identifier></wps:Output>'
        "<wps:Output><ows:Identifier>outline</ows:Identifier></wps:Output>"
        "<wps:Output><ows:Identifier>area_km2</ows:Identifier></wps:Output>"
        "</wps:ResponseDocument></wps:ResponseForm>"
    )
    response = client.post("/wps", content=execute_xml(inputs, outputs, "watershed"))
    assert response.status_code == 200, response.text[:500]
    root = xml(response)
    literal = output_by_id(root, "area_km2").find("wps:Data/wps:LiteralData", NS)
    assert literal.get("dataType") == "double"
    area = float(literal.text)
    assert abs(area - np.count_nonzero(expected == 1) * 100.0 / 1e6) < 1e-12
    href = output_by_id(root, "watershed").find("wps:Reference", NS).get("href")
    with fetch_geotiff(client, href) as memfile, memfile.open() as dataset:
        assert dataset.dtypes == ("uint8",) and dataset.nodata == 255
        assert dataset.transform.almost_equals(UTM_10M) and (dataset.height, dataset.width) == (HEIGHT, WIDTH)
        np.testing.assert_array_equal(dataset.read(1), expected)
    document = output_by_id(root, "outline").find("wps:Data/wps:ComplexData", NS)
    assert document.get("mimeType") == "application/geo+json"
    assert_outline(json.loads(document.text), expected, UTM_10M, UTM, area)


def test_watershed_outlet_outside_the_dem(
    client: TestClient, data_server: DataServer, rasters: RasterFactory
) -> None:
    write_dem(rasters, cone())
    outlet = outlet_geojson(*cell_centre_lonlat(UTM_10M, UTM, HEIGHT + 5, 3), kind="FeatureCollection")
    inputs = reference_input("dem", data_server.url("dem.tif")) + geojson_input("outlet", json.dumps(outlet))
    response = client.post("/wps", content=execute_xml(inputs, raw("area_km2"), "watershed"))
    assert_exception(response, "InvalidParameterValue", 400, "outlet")
