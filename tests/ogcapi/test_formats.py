"""GeoTIFF media types on the OGC API face: ``image/tiff; application=geotiff`` (OGC 19-008) shown first
and accepted in and out, the COG profile delivered under its own name, every WPS spelling still taken."""

from __future__ import annotations

import base64

import pytest
import rasterio
from fastapi.testclient import TestClient

from app.algorithms import formats
from app.main import create_app
from app.model.descriptions import MediaType
from app.ogcapi.describe import GEOTIFF_MEDIA_TYPE, face_formats
from app.raster.compression import DEFAULT_COMPRESSION
from app.settings import Settings
from tests.support.dataserver import DataServer
from tests.support.jobs import submit, wait_for_job
from tests.support.ogcapi import assert_problem, execute, local
from tests.support.raster_results import assert_ndvi_matches
from tests.support.rasters import Raster, RasterFactory

OGC_GEOTIFF = "image/tiff; application=geotiff"
COG = "image/tiff; application=geotiff; profile=cloud-optimized"
WPS_GEOTIFF = "image/tiff; subtype=geotiff"
SPELLINGS = (OGC_GEOTIFF, WPS_GEOTIFF, COG, "image/tiff")
RASTER_PROCESSES = {
    "ndvi": (("red", "nir"), ("ndvi",)),
    "clip": (("raster",), ("clipped",)),
    "reproject": (("raster",), ("reprojected",)),
    "change_detection": (("before", "after"), ("difference", "mask")),
    "zonal_statistics": (("raster",), ()),
    "terrain": (("dem",), ("result",)),
    "band_math": (("raster",), ("result",)),
    "fill_sinks": (("dem",), ("filled",)),
    "flow_direction": (("dem",), ("direction",)),
    "flow_accumulation": (("dem",), ("accumulation",)),
    "watershed": (("dem",), ("watershed",)),
    "stream_network": (("dem",), ("streams",)),
}


@pytest.fixture
def pair(rasters: RasterFactory) -> tuple[Raster, Raster]:
    common = {"width": 301, "height": 211, "nodata": 0, "nodata_fraction": 0.05, "blocksize": 64}
    return rasters("red.tif", seed=1, **common), rasters("nir.tif", seed=2, **common)


def by_reference(data_server: DataServer, media_type: str) -> dict:
    return {name: {"href": data_server.url(f"{name}.tif"), "type": media_type} for name in ("red", "nir")}


def inline(pair: tuple[Raster, Raster], media_type: str, **encoding: str) -> dict:
    return {
        name: {
            "value": base64.b64encode(raster.path.read_bytes()).decode(),
            "mediaType": media_type,
            **encoding,
        }
        for name, raster in zip(("red", "nir"), pair, strict=True)
    }


def assert_geotiff(content: bytes, pair: tuple[Raster, Raster]) -> None:
    with rasterio.MemoryFile(content) as memfile, memfile.open() as dataset:
        assert_ndvi_matches(dataset, *pair)


def test_the_face_default_is_the_registered_type() -> None:
    assert GEOTIFF_MEDIA_TYPE == formats.OGC_GEOTIFF_MEDIA_TYPE == OGC_GEOTIFF
    assert face_formats(formats.GEOTIFF_FORMATS)[0] == formats.OGC_GEOTIFF
    assert formats.GEOTIFF_FORMATS[0] == formats.GEOTIFF  # declared default: the WPS 1.0.0 one


@pytest.mark.parametrize("process", sorted(RASTER_PROCESSES))
def test_raster_processes_show_the_registered_type_first(client: TestClient, process: str) -> None:
    description = client.get(f"/processes/{process}").json()
    inputs, outputs = RASTER_PROCESSES[process]
    schemas = [description["inputs"][name]["schema"] for name in inputs]
    schemas += [description["outputs"][name]["schema"] for name in outputs]
    for schema in schemas:
        listed = [(s["contentMediaType"], s["contentEncoding"]) for s in schema["oneOf"]]
        assert listed[0] == (OGC_GEOTIFF, "binary")
        for media_type in SPELLINGS:
            assert {(media_type, "binary"), (media_type, "base64")} <= set(listed)
        assert len(listed) == len(set(listed)) == 8


def test_echo_shows_the_registered_type_first_among_inline_tiffs(client: TestClient) -> None:
    schemas = client.get("/processes/echo").json()["inputs"]["complex"]["schema"]["oneOf"]
    tiffs = [s["contentMediaType"] for s in schemas if s["contentMediaType"].startswith("image/tiff")]
    assert tiffs[0] == OGC_GEOTIFF and set(tiffs) == set(SPELLINGS)
    assert schemas[0]["contentMediaType"] == "text/xml"  # the declared default of echo stays first


def test_ndvi_application_geotiff_by_reference_in_and_out(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster]
) -> None:
    body = {
        "inputs": by_reference(data_server, OGC_GEOTIFF),
        "outputs": {"ndvi": {"transmissionMode": "reference", "format": {"mediaType": OGC_GEOTIFF}}},
        "response": "document",
    }
    response = execute(client, "ndvi", body)
    assert response.status_code == 200, response.text
    output = response.json()["ndvi"]
    assert output["type"] == OGC_GEOTIFF
    downloaded = client.get(local(output["href"]))
    assert downloaded.status_code == 200
    assert MediaType.parse(downloaded.headers["content-type"]).essence == "image/tiff"
    assert_geotiff(downloaded.content, pair)


def test_ndvi_application_geotiff_raw(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster]
) -> None:
    body = {
        "inputs": by_reference(data_server, OGC_GEOTIFF),
        "outputs": {"ndvi": {"format": {"mediaType": OGC_GEOTIFF}}},
    }
    response = execute(client, "ndvi", body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == OGC_GEOTIFF
    assert 'filename="ndvi.tif"' in response.headers["content-disposition"]
    assert_geotiff(response.content, pair)


@pytest.mark.parametrize("encoding", [{}, {"encoding": "base64"}])
def test_ndvi_application_geotiff_inline_base64(
    client: TestClient, pair: tuple[Raster, Raster], encoding: dict[str, str]
) -> None:
    body = {
        "inputs": inline(pair, OGC_GEOTIFF, **encoding),
        "outputs": {"ndvi": {"format": {"mediaType": OGC_GEOTIFF}}},
        "response": "document",
    }
    response = execute(client, "ndvi", body)
    assert response.status_code == 200, response.text
    output = response.json()["ndvi"]
    assert (output["mediaType"], output["encoding"]) == (OGC_GEOTIFF, "base64")
    assert_geotiff(base64.b64decode(output["value"]), pair)


def test_ndvi_cog_profile_in_a_document_and_raw(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster]
) -> None:
    inputs = by_reference(data_server, COG)
    document = execute(
        client,
        "ndvi",
        {"inputs": inputs, "outputs": {"ndvi": {"format": {"mediaType": COG}}}, "response": "document"},
    )
    assert document.status_code == 200, document.text
    output = document.json()["ndvi"]
    assert (output["mediaType"], output["encoding"]) == (COG, "base64")
    assert_geotiff(base64.b64decode(output["value"]), pair)
    raw = execute(client, "ndvi", {"inputs": inputs, "outputs": {"ndvi": {"format": {"mediaType": COG}}}})
    assert raw.status_code == 200, raw.text
    assert raw.headers["content-type"] == COG
    with rasterio.MemoryFile(raw.content) as memfile, memfile.open() as dataset:
        # the service's default compression (WPS_OUTPUT_COMPRESSION unset)
        assert dataset.profile["tiled"] and dataset.profile["compress"] == DEFAULT_COMPRESSION.codec
        assert_ndvi_matches(dataset, *pair)


def test_cog_raw_by_reference_links_with_its_type(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster]
) -> None:
    outputs = {"ndvi": {"transmissionMode": "reference", "format": {"mediaType": COG}}}
    response = execute(client, "ndvi", {"inputs": by_reference(data_server, OGC_GEOTIFF), "outputs": outputs})
    assert response.status_code == 204, response.text
    assert f'type="{COG}"' in response.headers["link"]
    href = response.headers["link"].split(">")[0].removeprefix("<")
    assert_geotiff(client.get(local(href)).content, pair)


def test_any_spelling_of_the_media_type_is_delivered_under_the_declared_one(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster]
) -> None:
    inputs = {
        "red": {"href": data_server.url("red.tif"), "type": 'IMAGE/TIFF;Application="GeoTIFF"'},
        "nir": {
            "href": data_server.url("nir.tif"),
            "type": "image/tiff;profile=cloud-optimized;application=geotiff",
        },
    }
    outputs = {"ndvi": {"format": {"mediaType": 'image/tiff ; application="geotiff"'}}}
    response = execute(client, "ndvi", {"inputs": inputs, "outputs": outputs})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == OGC_GEOTIFF
    assert_geotiff(response.content, pair)


@pytest.mark.parametrize("media_type", [WPS_GEOTIFF, "image/tiff"])
def test_the_other_spellings_still_work(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster], media_type: str
) -> None:
    outputs = {"ndvi": {"format": {"mediaType": media_type}}}
    response = execute(client, "ndvi", {"inputs": by_reference(data_server, media_type), "outputs": outputs})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    assert_geotiff(response.content, pair)


def test_async_job_results_keep_the_type_asked_for(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster]
) -> None:
    outputs = {"ndvi": {"transmissionMode": "reference", "format": {"mediaType": OGC_GEOTIFF}}}
    job_id = submit(
        client, "ndvi", by_reference(data_server, OGC_GEOTIFF), outputs=outputs, response="document"
    )
    assert wait_for_job(client.get, job_id)["status"] == "successful"
    output = client.get(f"/jobs/{job_id}/results").json()["ndvi"]
    assert output["type"] == OGC_GEOTIFF
    assert_geotiff(client.get(local(output["href"])).content, pair)


@pytest.mark.parametrize(
    "media_type",
    ["image/tiff; application=cog", "image/tiff; subtype=geotiff; profile=cloud-optimized", "image/geotiff"],
)
def test_unknown_tiff_spellings_are_no_such_format(
    client: TestClient, data_server: DataServer, pair: tuple[Raster, Raster], media_type: str
) -> None:
    refused_input = execute(client, "ndvi", {"inputs": by_reference(data_server, media_type)})
    assert_problem(refused_input, 400, "no-such-format", "red")
    outputs = {"ndvi": {"format": {"mediaType": media_type}}}
    refused_output = execute(
        client, "ndvi", {"inputs": by_reference(data_server, OGC_GEOTIFF), "outputs": outputs}
    )
    assert_problem(refused_output, 400, "no-such-format", "ndvi")


@pytest.mark.parametrize(("setting", "codec"), [("deflate:6", "deflate"), ("lzw", "lzw"), ("zstd:3", "zstd")])
def test_results_use_the_configured_compression(
    settings: Settings, data_server: DataServer, pair: tuple[Raster, Raster], setting: str, codec: str
) -> None:
    configured = settings.model_copy(update={"output_compression": setting})
    with TestClient(create_app(configured)) as client:
        raw = execute(client, "ndvi", {"inputs": by_reference(data_server, COG)})
    assert raw.status_code == 200, raw.text
    with rasterio.MemoryFile(raw.content) as memfile, memfile.open() as dataset:
        assert dataset.profile["compress"] == codec
        assert_ndvi_matches(dataset, *pair)


@pytest.mark.parametrize("setting", ["jpeg", "zstd:0", "deflate:fast", "lzw:3"])
def test_an_invalid_compression_stops_the_start(settings: Settings, setting: str) -> None:
    with pytest.raises(ValueError, match="invalid output compression"):
        create_app(settings.model_copy(update={"output_compression": setting}))
