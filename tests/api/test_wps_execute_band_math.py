"""``band_math`` through WPS 1.0.0 Execute (XML POST and KVP), results compared with numpy; unsafe or
invalid expressions refused."""

from __future__ import annotations

from xml.sax.saxutils import escape

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.support.dataserver import DataServer
from tests.support.ows import NS, assert_exception
from tests.support.raster_results import download
from tests.support.rasters import Raster, RasterFactory
from tests.support.wps_v100_requests import (
    as_reference,
    describe,
    execute_xml,
    literal_input,
    reference_input,
)


@pytest.fixture
def trio(rasters: RasterFactory) -> tuple[Raster, Raster, Raster]:
    common = {"width": 91, "height": 67, "nodata_fraction": 0.03, "blocksize": 32}
    return (
        rasters("a.tif", dtype="uint16", nodata=0, seed=1, **common),
        rasters("b.tif", dtype="int16", nodata=-9999, seed=2, **common),
        rasters("c.tif", dtype="float32", nodata=-1.0, seed=3, **common),
    )


def band_math_xml(
    server: DataServer, expression: str, dtype: str | None, names=("a.tif", "b.tif", "c.tif")
) -> str:
    inputs = "".join(reference_input("raster", server.url(name)) for name in names)
    inputs += literal_input("expression", escape(expression))
    if dtype is not None:
        inputs += literal_input("dtype", dtype)
    return execute_xml(inputs, as_reference("result"), "band_math")


def masked(raster: Raster) -> np.ndarray:
    band = raster.data[0].astype(np.float64)
    band[raster.data[0] == raster.spec.nodata] = np.nan
    return band


def test_describe_band_math(client: TestClient) -> None:
    root = describe(client, "band_math")
    raster = root.xpath("//Input[ows:Identifier='raster']", namespaces=NS)[0]
    assert (raster.get("minOccurs"), raster.get("maxOccurs")) == ("1", "32")
    dtype = root.xpath("//Input[ows:Identifier='dtype']/LiteralData", namespaces=NS)[0]
    assert "uint8" in [v.text for v in dtype.iterfind("ows:AllowedValues/ows:Value", NS)]
    assert dtype.findtext("DefaultValue") == "float32"


def test_band_math_three_rasters(
    client: TestClient, data_server: DataServer, trio: tuple[Raster, Raster, Raster]
) -> None:
    expression = "where((b3 > 100) & (b1 < 40000), (b1 - b2) / 10, -b3)"
    response = client.post("/wps", content=band_math_xml(data_server, expression, "int16"))
    values, dtype, nodata = download(client, response)
    assert dtype == "int16" and nodata == -32768
    a, b, c = (masked(r) for r in trio)
    with np.errstate(invalid="ignore"):
        raw_values = np.where((c > 100) & (a < 40000), (a - b) / 10, -c)
        rounded = np.sign(raw_values) * np.floor(np.abs(raw_values) + 0.5)
        ok = ~np.isnan(a + b + c) & (rounded >= -32768) & (rounded <= 32767)
    np.testing.assert_array_equal(values, np.where(ok, rounded, -32768).astype("int16"))


def test_band_math_default_float32(
    client: TestClient, data_server: DataServer, trio: tuple[Raster, Raster, Raster]
) -> None:
    response = client.post(
        "/wps", content=band_math_xml(data_server, "(b1 - b2) / (b1 + b2)", None, ("a.tif", "c.tif"))
    )
    values, dtype, nodata = download(client, response)
    assert dtype == "float32" and np.isnan(nodata)
    a, c = masked(trio[0]), masked(trio[2])
    with np.errstate(all="ignore"):
        expected = ((a - c) / (a + c)).astype(np.float32)
    expected[~np.isfinite(expected)] = np.nan
    np.testing.assert_array_equal(values, expected)


@pytest.mark.parametrize(
    ("expression", "token"),
    [
        ("__import__('os').listdir('/')", ".listdir"),
        ("b1.__class__", "__class__"),
        ("b4 + 1", "'b4'"),
        ("b1 +", "syntax error"),
        ("open('x')", "'open'"),
    ],
)
def test_band_math_invalid_expression(
    client: TestClient,
    data_server: DataServer,
    trio: tuple[Raster, Raster, Raster],
    expression: str,
    token: str,
) -> None:
    response = client.post("/wps", content=band_math_xml(data_server, expression, "float32"))
    exception = assert_exception(response, "InvalidParameterValue", 400, "expression")
    assert token in exception.findtext("ows:ExceptionText", namespaces=NS)


def test_band_math_mismatched_grid(
    client: TestClient, data_server: DataServer, rasters: RasterFactory
) -> None:
    rasters("a.tif", width=40, height=30)
    rasters("b.tif", width=41, height=30)
    response = client.post(
        "/wps", content=band_math_xml(data_server, "b1 + b2", "float32", ("a.tif", "b.tif"))
    )
    assert_exception(response, "InvalidParameterValue", 400, "raster")


def test_band_math_too_many_rasters(
    client: TestClient, data_server: DataServer, rasters: RasterFactory
) -> None:
    rasters("a.tif", width=8, height=8)
    response = client.post("/wps", content=band_math_xml(data_server, "b1", "float32", ("a.tif",) * 33))
    assert_exception(response, "InvalidParameterValue", 400, "raster")


def test_band_math_bad_dtype(
    client: TestClient, data_server: DataServer, trio: tuple[Raster, Raster, Raster]
) -> None:
    response = client.post("/wps", content=band_math_xml(data_server, "b1", "int64"))
    assert_exception(response, "InvalidParameterValue", 400, "dtype")


def test_band_math_kvp(
    client: TestClient, data_server: DataServer, trio: tuple[Raster, Raster, Raster]
) -> None:
    """KVP Execute: the expression's '+' and '/' survive URL encoding (the client encodes them)."""
    params = {
        "service": "WPS",
        "version": "1.0.0",
        "request": "Execute",
        "identifier": "band_math",
        "DataInputs": f"raster=@xlink:href={data_server.url('a.tif')};expression=b1 / 2 + 1;dtype=uint16",
        "ResponseDocument": "result@asReference=true",
    }
    values, dtype, nodata = download(client, client.get("/wps", params=params))
    a = masked(trio[0])
    assert dtype == "uint16" and nodata == 65535
    expected = np.where(np.isnan(a), 65535, np.floor(a / 2 + 1 + 0.5))
    expected[expected > 65535] = 65535
    np.testing.assert_array_equal(values, expected.astype("uint16"))
