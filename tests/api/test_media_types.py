"""GeoTIFF media types on the WPS faces: ``image/tiff; application=geotiff`` (OGC 19-008) and the COG
profile accepted in and out on WPS 1.0.0 and 2.0.0, ``image/tiff; subtype=geotiff`` still the 1.0.0
default that OWSLib and birdy rely on, the registered type the 2.0.0 default (as on the OGC API)."""

from __future__ import annotations

import base64

import pytest
import rasterio
from fastapi.testclient import TestClient

from tests.support.dataserver import DataServer
from tests.support.ows import NS, NS2, assert_exception, output_by_id, xml
from tests.support.raster_results import assert_ndvi_matches
from tests.support.rasters import Raster, RasterFactory
from tests.support.wps_v100_requests import describe, execute_xml, reference_input
from tests.support.wps_v200_requests import execute_xml as execute_xml_v200

OGC_GEOTIFF = "image/tiff; application=geotiff"
COG = "image/tiff; application=geotiff; profile=cloud-optimized"
WPS_GEOTIFF = "image/tiff; subtype=geotiff"
SPELLINGS = (WPS_GEOTIFF, OGC_GEOTIFF, COG, "image/tiff")
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


@pytest.fixture
def pair(rasters: RasterFactory) -> tuple[Raster, Raster]:
    common = {"width": 301, "height": 211, "nodata": 0, "nodata_fraction": 0.05, "blocksize": 64}
    return rasters("red.tif", seed=1, **common), rasters("nir.tif", seed=2, **common)


def assert_ndvi(content: bytes, pair: tuple[Raster, Raster]) -> None:
    with rasterio.MemoryFile(content) as memfile, memfile.open() as dataset:
        assert_ndvi_matches(dataset, *pair)


def download(client: TestClient, href: str) -> bytes:
    response = client.get(href.removeprefix("http://testserver"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/tiff")
    return response.content


# ----------------------------------------------------------------------------- WPS 1.0.0


def v100_inline(name: str, raster: Raster, mime: str) -> str:
    encoded = base64.b64encode(raster.path.read_bytes()).decode()
    return (
        f"<wps:Input><ows:Identifier>{name}</ows:Identifier><wps:Data>"
        f'<wps:ComplexData mimeType="{mime}" encoding="base64">{encoded}</wps:ComplexData>'
        "</wps:Data></wps:Input>"
    )


def v100_document(output: str, mime: str, as_reference: bool) -> str:
    return (
        f'<wps:ResponseForm><wps:ResponseDocument><wps:Output asReference="{str(as_reference).lower()}"'
        f' mimeType="{mime}"><ows:Identifier>{output}</ows:Identifier></wps:Output>'
        "</wps:ResponseDocument></wps:ResponseForm>"
    )


def v100_raw(output: str, mime: str) -> str:
    return (
        f'<wps:ResponseForm><wps:RawDataOutput mimeType="{mime}"><ows:Identifier>{output}</ows:Identifier>'
        "</wps:RawDataOutput></wps:ResponseForm>"
    )


def test_v100_describe_keeps_subtype_geotiff_as_the_default(client: TestClient) -> None:
    root = describe(client, "ndvi")
    for path in (
        "//Input[ows:Identifier='red']/ComplexData",
        "//Output[ows:Identifier='ndvi']/ComplexOutput",
    ):
        (form,) = root.xpath(path, namespaces=NS)
        assert form.findtext("Default/Format/MimeType") == WPS_GEOTIFF
        supported = [
            (f.findtext("MimeType"), f.findtext("Encoding")) for f in form.iterfind("Supported/Format")
        ]
        assert supported[0] == (WPS_GEOTIFF, None)
        for mime in SPELLINGS:
            assert {(mime, None), (mime, "base64")} <= set(supported)


def test_v100_application_geotiff_by_reference_in_and_out(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster]
) -> None:
    inputs = reference_input("red", data_server.url("red.tif"), OGC_GEOTIFF) + reference_input(
        "nir", data_server.url("nir.tif"), OGC_GEOTIFF
    )
    response = client.post(
        "/wps", content=execute_xml(inputs, v100_document("ndvi", OGC_GEOTIFF, True), "ndvi")
    )
    assert response.status_code == 200, response.text
    reference = output_by_id(xml(response), "ndvi").find("wps:Reference", NS)
    assert reference.get("mimeType") == OGC_GEOTIFF
    assert_ndvi(download(client, reference.get("href")), pair)


def test_v100_application_geotiff_inline_and_by_value(
    client: TestClient, pair: tuple[Raster, Raster]
) -> None:
    red, nir = pair
    quoted = "image/tiff;application=&quot;geotiff&quot;"  # a quoted parameter value, XML-escaped
    inputs = v100_inline("red", red, OGC_GEOTIFF) + v100_inline("nir", nir, quoted)
    form = v100_document("ndvi", OGC_GEOTIFF, False).replace('mimeType="', 'encoding="base64" mimeType="')
    response = client.post("/wps", content=execute_xml(inputs, form, "ndvi"))
    assert response.status_code == 200, response.text[:500]
    data = output_by_id(xml(response), "ndvi").find("wps:Data/wps:ComplexData", NS)
    assert (data.get("mimeType"), data.get("encoding")) == (OGC_GEOTIFF, "base64")
    assert_ndvi(base64.b64decode(data.text), pair)


@pytest.mark.parametrize("mime", [OGC_GEOTIFF, COG])
def test_v100_raw_output_in_the_type_asked_for(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster], mime: str
) -> None:
    inputs = reference_input("red", data_server.url("red.tif"), COG) + reference_input(
        "nir", data_server.url("nir.tif"), OGC_GEOTIFF
    )
    response = client.post("/wps", content=execute_xml(inputs, v100_raw("ndvi", mime), "ndvi"))
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == mime
    assert_ndvi(response.content, pair)


def test_v100_kvp_with_application_geotiff(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster]
) -> None:
    # KVP separates DataInputs with ';': the one inside the media type is percent-encoded in the value
    encoded = "image/tiff%3B%20application%3Dgeotiff"
    params = {
        "service": "WPS",
        "version": "1.0.0",
        "request": "Execute",
        "identifier": "ndvi",
        "DataInputs": ";".join(
            f"{name}=@href={data_server.url(name + '.tif')}@mimeType={encoded}" for name in ("red", "nir")
        ),
        "RawDataOutput": f"ndvi@mimeType={encoded}",
    }
    response = client.get("/wps", params=params)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == OGC_GEOTIFF
    assert_ndvi(response.content, pair)


def test_v100_default_output_is_still_subtype_geotiff(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster]
) -> None:
    inputs = reference_input("red", data_server.url("red.tif"), OGC_GEOTIFF) + reference_input(
        "nir", data_server.url("nir.tif"), OGC_GEOTIFF
    )
    form = (
        "<wps:ResponseForm><wps:RawDataOutput><ows:Identifier>ndvi</ows:Identifier></wps:RawDataOutput>"
        "</wps:ResponseForm>"
    )
    response = client.post("/wps", content=execute_xml(inputs, form, "ndvi"))
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == WPS_GEOTIFF


def test_v100_unknown_tiff_spelling_is_invalid(client: TestClient, data_server: DataServer) -> None:
    inputs = reference_input(
        "red", data_server.url("red.tif"), "image/tiff; application=cog"
    ) + reference_input("nir", data_server.url("nir.tif"), OGC_GEOTIFF)
    response = client.post("/wps", content=execute_xml(inputs, v100_raw("ndvi", OGC_GEOTIFF), "ndvi"))
    assert_exception(response, "InvalidParameterValue", 400, "red")


# ----------------------------------------------------------------------------- WPS 2.0.0


def v200_reference(name: str, href: str, mime: str) -> str:
    return f'<wps:Input id="{name}"><wps:Reference xlink:href="{href}" mimeType="{mime}"/></wps:Input>'


def v200_inline(name: str, raster: Raster, mime: str) -> str:
    encoded = base64.b64encode(raster.path.read_bytes()).decode()
    return f'<wps:Input id="{name}"><wps:Data mimeType="{mime}" encoding="base64">{encoded}</wps:Data></wps:Input>'


def test_v200_describe_lists_every_spelling(client: TestClient) -> None:
    params = {"service": "WPS", "version": "2.0.0", "request": "DescribeProcess", "identifier": "ndvi"}
    root = xml(client.get("/wps", params=params))
    for form in root.iterfind(".//wps:ComplexData", NS2):
        listed = [(f.get("mimeType"), f.get("encoding")) for f in form.iterfind("wps:Format", NS2)]
        for mime in SPELLINGS:
            assert {(mime, None), (mime, "base64")} <= set(listed)
        assert [f.get("default") for f in form.iterfind("wps:Format", NS2)].count("true") == 1


def test_v200_default_is_the_registered_type(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster]
) -> None:
    params = {"service": "WPS", "version": "2.0.0", "request": "DescribeProcess", "identifier": "ndvi"}
    root = xml(client.get("/wps", params=params))
    for form in root.iterfind(".//wps:ComplexData", NS2):
        (default,) = (f for f in form.iterfind("wps:Format", NS2) if f.get("default") == "true")
        assert (default.get("mimeType"), default.get("encoding")) == (OGC_GEOTIFF, None)
    # an output whose format is not named comes in that default
    body = (
        v200_reference("red", data_server.url("red.tif"), WPS_GEOTIFF)
        + v200_reference("nir", data_server.url("nir.tif"), WPS_GEOTIFF)
        + '<wps:Output id="ndvi" transmission="reference"/>'
    )
    result = xml(client.post("/wps", content=execute_xml_v200(body, "ndvi")))
    reference = result.find("wps:Output/wps:Reference", NS2)
    assert reference is not None and reference.get("mimeType") == OGC_GEOTIFF
    assert_ndvi(download(client, reference.get(XLINK_HREF)), pair)


def test_v200_application_geotiff_by_reference_in_and_out(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster]
) -> None:
    body = (
        v200_reference("red", data_server.url("red.tif"), OGC_GEOTIFF)
        + v200_reference("nir", data_server.url("nir.tif"), "image/tiff ; Application=&quot;GeoTIFF&quot;")
        + f'<wps:Output id="ndvi" transmission="reference" mimeType="{OGC_GEOTIFF}"/>'
    )
    root = xml(client.post("/wps", content=execute_xml_v200(body, "ndvi")))
    reference = root.find("wps:Output/wps:Reference", NS2)
    assert reference is not None, root
    assert reference.get("mimeType") == OGC_GEOTIFF
    assert_ndvi(download(client, reference.get(XLINK_HREF)), pair)


@pytest.mark.parametrize("mime", [OGC_GEOTIFF, COG])
def test_v200_inline_in_raw_out(client: TestClient, pair: tuple[Raster, Raster], mime: str) -> None:
    red, nir = pair
    body = (
        v200_inline("red", red, OGC_GEOTIFF)
        + v200_inline("nir", nir, COG)
        + f'<wps:Output id="ndvi" transmission="value" mimeType="{mime}"/>'
    )
    response = client.post("/wps", content=execute_xml_v200(body, "ndvi", response="raw"))
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == mime
    assert_ndvi(response.content, pair)


def test_v200_by_value_in_a_document(client: TestClient, pair: tuple[Raster, Raster]) -> None:
    red, nir = pair
    body = (
        v200_inline("red", red, OGC_GEOTIFF)
        + v200_inline("nir", nir, OGC_GEOTIFF)
        + f'<wps:Output id="ndvi" transmission="value" mimeType="{OGC_GEOTIFF}" encoding="base64"/>'
    )
    root = xml(client.post("/wps", content=execute_xml_v200(body, "ndvi")))
    data = root.find("wps:Output/wps:Data", NS2)
    assert data is not None, root
    assert (data.get("mimeType"), data.get("encoding")) == (OGC_GEOTIFF, "base64")
    assert_ndvi(base64.b64decode(data.text), pair)


def test_v200_unknown_tiff_spelling_is_no_such_format(client: TestClient, data_server: DataServer) -> None:
    body = (
        v200_reference("red", data_server.url("red.tif"), OGC_GEOTIFF)
        + v200_reference("nir", data_server.url("nir.tif"), OGC_GEOTIFF)
        + '<wps:Output id="ndvi" mimeType="image/tiff; subtype=geotiff; profile=cloud-optimized"/>'
    )
    response = client.post("/wps", content=execute_xml_v200(body, "ndvi"))
    assert_exception(response, "NoSuchFormat", 400, "ndvi", version="2.0.0")
