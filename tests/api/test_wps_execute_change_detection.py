"""``change_detection`` through WPS 1.0.0 Execute (XML POST), the outputs downloaded and compared with
numpy on the grid rasterio aligns the later date to."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import rasterio
from affine import Affine
from fastapi.testclient import TestClient

from app.settings import Settings
from tests.support.dataserver import DataServer
from tests.support.ows import NS, assert_exception, output_by_id, xml
from tests.support.raster_results import fetch_geotiff
from tests.support.rasters import Raster, RasterFactory
from tests.support.references import (
    aligned_by_rasterio,
    as_float,
    numpy_change,
    numpy_fraction,
    numpy_mask,
)
from tests.support.wps_v100_requests import execute_xml, inline_input, literal_input, reference_input


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings computing in 256-pixel chunks: the test rasters span several chunks."""
    return settings.model_copy(update={"chunk_size": 256})


def response_document(*outputs: tuple[str, bool]) -> str:
    """A ResponseDocument asking for these (identifier, asReference) outputs."""
    parts = "".join(
        f'<wps:Output asReference="{str(ref).lower()}"><ows:Identifier>{name}</ows:Identifier></wps:Output>'
        for name, ref in outputs
    )
    return f"<wps:ResponseForm><wps:ResponseDocument>{parts}</wps:ResponseDocument></wps:ResponseForm>"


@pytest.fixture
def dates(rasters: RasterFactory) -> tuple[Raster, Raster]:
    """A float32 ``before`` and an int16 ``after`` on a shifted, coarser grid, both with nodata."""
    before = rasters(
        "before.tif", width=211, height=157, dtype="float32", nodata=-1.0, nodata_fraction=0.03, seed=4
    )
    after = rasters(
        "after.tif", width=230, height=150, dtype="int16", nodata=-9999, nodata_fraction=0.03, seed=5,
        transform=Affine(9.5, 0.0, 499950.5, 0.0, -11.0, 5600040.0),
    )  # fmt: skip
    for raster, scale in ((before, 1.0), (after, 1.0)):
        valid = raster.data != raster.spec.nodata
        raster.data[valid] = (np.abs(raster.data[valid]) % 150 + 50) * scale
        with rasterio.open(raster.path, "r+") as dst:
            dst.write(raster.data)
    return before, after


def expected_change(before: Raster, after: Raster, method: str) -> np.ndarray:
    aligned = (
        aligned_by_rasterio(after, before)
        if after.spec.transform != before.spec.transform
        else as_float(after)
    )
    return numpy_change(as_float(before), aligned, method)


@pytest.mark.parametrize(
    ("method", "threshold"), [("difference", 30.0), ("ratio", 0.25), ("normalized_difference", 0.1)]
)
def test_change_detection_by_reference(
    client: TestClient, data_server: DataServer, dates: tuple[Raster, Raster], method: str, threshold: float
) -> None:
    before, after = dates
    inputs = (
        reference_input("before", data_server.url("before.tif"))
        + reference_input("after", data_server.url("after.tif"))
        + literal_input("method", method)
        + literal_input("threshold", str(threshold))
    )
    form = response_document(("difference", True), ("mask", True), ("changed_fraction", False))
    response = client.post("/wps", content=execute_xml(inputs, form, "change_detection"))
    assert response.status_code == 200, response.text[:500]
    root = xml(response)
    expected = expected_change(before, after, method)
    expected_mask = numpy_mask(expected, method, threshold)
    difference = output_by_id(root, "difference").find("wps:Reference", NS).get("href")
    with fetch_geotiff(client, difference) as memfile, memfile.open() as dataset:
        assert dataset.dtypes == ("float32",) and np.isnan(dataset.nodata)
        assert dataset.transform == before.spec.transform
        np.testing.assert_array_equal(dataset.read(1), expected)
    mask = output_by_id(root, "mask").find("wps:Reference", NS).get("href")
    with fetch_geotiff(client, mask) as memfile, memfile.open() as dataset:
        assert dataset.dtypes == ("uint8",) and dataset.nodata == 255
        np.testing.assert_array_equal(dataset.read(1), expected_mask)
    literal = output_by_id(root, "changed_fraction").find("wps:Data/wps:LiteralData", NS)
    assert literal.get("dataType") == "double"
    assert float(literal.text) == numpy_fraction(expected_mask)


def test_changed_fraction_alone_inline_inputs(client: TestClient, dates: tuple[Raster, Raster]) -> None:
    """Only the literal asked for: computed by the job without writing any raster."""
    before, after = dates
    inputs = inline_input("before", before) + inline_input("after", after)
    form = response_document(("changed_fraction", False))
    response = client.post("/wps", content=execute_xml(inputs, form, "change_detection"))
    assert response.status_code == 200, response.text[:500]
    root = xml(response)
    assert len(root.findall("wps:ProcessOutputs/wps:Output", NS)) == 1
    expected = numpy_mask(expected_change(before, after, "difference"), "difference", 0.1)
    text = output_by_id(root, "changed_fraction").findtext("wps:Data/wps:LiteralData", namespaces=NS)
    assert float(text) == numpy_fraction(expected)


def test_change_detection_mask_by_value(client: TestClient, dates: tuple[Raster, Raster]) -> None:
    before, _ = dates
    inputs = inline_input("before", before) + inline_input("after", before)
    form = response_document(("mask", False), ("changed_fraction", False))
    root = xml(client.post("/wps", content=execute_xml(inputs, form, "change_detection")))
    data = output_by_id(root, "mask").find("wps:Data/wps:ComplexData", NS)
    with rasterio.MemoryFile(base64.b64decode(data.text)) as memfile, memfile.open() as dataset:
        mask = dataset.read(1)
    assert set(np.unique(mask)) <= {0, 255} and (mask == 0).any()
    fraction = output_by_id(root, "changed_fraction").findtext("wps:Data/wps:LiteralData", namespaces=NS)
    assert float(fraction) == 0.0


def test_change_detection_no_overlap(client: TestClient, rasters: RasterFactory) -> None:
    before = rasters("b.tif", width=30, height=20)
    after = rasters("a.tif", width=30, height=20, transform=Affine(10, 0, 900000, 0, -10, 5600000))
    inputs = inline_input("before", before) + inline_input("after", after)
    response = client.post("/wps", content=execute_xml(inputs, "", "change_detection"))
    assert_exception(response, "InvalidParameterValue", 400, "after")


@pytest.mark.parametrize(
    ("name", "value"), [("method", "log_ratio"), ("threshold", "-1"), ("threshold", "abc")]
)
def test_change_detection_invalid_literals(
    client: TestClient, dates: tuple[Raster, Raster], name: str, value: str
) -> None:
    before, after = dates
    inputs = inline_input("before", before) + inline_input("after", after) + literal_input(name, value)
    response = client.post("/wps", content=execute_xml(inputs, "", "change_detection"))
    assert_exception(response, "InvalidParameterValue", 400, name)
