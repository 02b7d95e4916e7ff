"""Map tiles of raster results: TileJSON 3.0.0, WebMercatorQuad PNGs, defaults per process, access.

Tiles are checked against an independent rendering: the result GeoTIFF warped by rasterio onto
the tile's Web Mercator bounds (computed here from the spheroid's half circumference, not by
morecantile), stretched and coloured by hand. PNGs are decoded by GDAL's PNG driver.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine
from fastapi.testclient import TestClient
from rasterio.io import MemoryFile
from rasterio.warp import Resampling, reproject, transform_bounds

from app.settings import Settings
from tests.support.credentials import basic, bcrypt_line
from tests.support.dataserver import DataServer
from tests.support.jobs import submit, wait_for_job, wait_until_running
from tests.support.json_check import CheckedFactory
from tests.support.ogcapi import EXCEPTIONS, assert_problem, local
from tests.support.rasters import Raster, RasterFactory, RasterSpec, write_raster
from tests.support.tilejson_check import tilejson_problems

GEOTIFF = "image/tiff; application=geotiff"
HALF_WORLD = 20037508.342789244  # metres: half the equator of the WGS 84 sphere Web Mercator uses
# a bbox around every raster the factory makes (origin 500000, 5600000; 10 m pixels; UTM 31N)
WHOLE = {"bbox": [499000, 5590000, 510000, 5601000], "crs": "http://www.opengis.net/def/crs/EPSG/0/32631"}
RDYLGN_FIRST, RDYLGN_LAST = (0xA5, 0x00, 0x26), (0x00, 0x68, 0x37)  # ColorBrewer RdYlGn, 11 classes


def tile_transform(z: int, x: int, y: int) -> Affine:
    """The geotransform of a 256 x 256 WebMercatorQuad tile (OGC 17-083r4 annex D.1)."""
    size = 2 * HALF_WORLD / 2**z
    return Affine(size / 256, 0, -HALF_WORLD + x * size, 0, -size / 256, HALF_WORLD - y * size)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The column and row of the tile holding a point (the slippy map formula)."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def decode_png(content: bytes) -> np.ndarray:
    """The bands of a PNG (bands x 256 x 256), as GDAL reads it."""
    with MemoryFile(content) as memory, memory.open() as png:
        assert png.driver == "PNG"
        return png.read()


def warped(path: Path, z: int, x: int, y: int, band: int = 1) -> np.ndarray:
    """One band of a GeoTIFF warped (nearest) onto a tile, NaN outside and where nodata."""
    out = np.full((256, 256), np.nan, dtype="float64")
    with rasterio.open(path) as source:
        reproject(
            source.read(band).astype("float64"),
            out,
            src_transform=source.transform,
            src_crs=source.crs,
            src_nodata=source.nodata,
            dst_transform=tile_transform(z, x, y),
            dst_crs="EPSG:3857",
            dst_nodata=np.nan,
            resampling=Resampling.nearest,
        )
    return out


def stretched(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Values onto 0..255 as the tiles stretch them."""
    return np.clip(np.rint((values - low) * 255 / (high - low)), 0, 255)


@pytest.fixture
def pair(rasters: RasterFactory) -> tuple[Raster, Raster]:
    common = {"width": 301, "height": 211, "nodata": 0, "nodata_fraction": 0.05, "blocksize": 64}
    return rasters("red.tif", seed=1, **common), rasters("nir.tif", seed=2, **common)


def run(client: TestClient, process: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Run a job to success through the OGC API; its id and final status document."""
    job_id = submit(client, process, inputs)
    status = wait_for_job(client.get, job_id)
    assert status["status"] == "successful", status
    return job_id, status


@pytest.fixture
def ndvi_job(client: TestClient, pair: tuple[Raster, Raster], data_server: DataServer) -> tuple[str, dict]:
    inputs = {name: {"href": data_server.url(f"{name}.tif"), "type": GEOTIFF} for name in ("red", "nir")}
    return run(client, "ndvi", inputs)


def tilejson_of(client: TestClient, status: dict[str, Any], **params: str) -> dict[str, Any]:
    (link,) = [link for link in status["links"] if link["rel"] == "tiles"]
    response = client.get(local(link["href"]), params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return dict(response.json())


def tile(client: TestClient, document: dict[str, Any], z: int, x: int, y: int) -> np.ndarray:
    response = client.get(local(document["tiles"][0].format(z=z, x=x, y=y)))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return decode_png(response.content)


def result_file(settings: Settings, job_id: str, output: str) -> Path:
    return settings.outputs_dir / job_id / f"{output}.tif"


def test_a_succeeded_job_links_the_tilejson_of_each_raster_output(ndvi_job: tuple[str, dict]) -> None:
    job_id, status = ndvi_job
    tiles = [link for link in status["links"] if link["rel"] == "tiles"]
    assert tiles == [
        {
            "href": f"http://testserver/jobs/{job_id}/results/ndvi/tiles/WebMercatorQuad/tilejson.json",
            "rel": "tiles",
            "type": "application/json",
            "title": "ndvi",
        }
    ]


def test_tilejson_of_ndvi(
    client: TestClient, ndvi_job: tuple[str, dict], pair: tuple[Raster, Raster]
) -> None:
    job_id, status = ndvi_job
    document = tilejson_of(client, status)
    assert document["tilejson"] == "3.0.0"
    base = f"http://testserver/jobs/{job_id}/results/ndvi/tiles/WebMercatorQuad"
    assert document["tiles"] == [f"{base}/{{z}}/{{x}}/{{y}}.png?rescale=-1,1&colormap_name=rdylgn"]
    with rasterio.open(pair[0].path) as red:
        expected = transform_bounds(red.crs, "EPSG:4326", *red.bounds)
    assert document["bounds"] == pytest.approx(expected, abs=1e-6)
    west, south, east, north = document["bounds"]
    lon, lat, zoom = document["center"]
    assert (lon, lat) == pytest.approx(((west + east) / 2, (south + north) / 2))
    # the native zoom: the level whose pixel is nearest the result's, in Web Mercator metres
    mercator = transform_bounds("EPSG:4326", "EPSG:3857", *document["bounds"])
    native = (mercator[2] - mercator[0]) / 301
    nearest = min(range(25), key=lambda z: abs(2 * HALF_WORLD / 256 / 2**z - native))
    assert document["minzoom"] == 0 and document["maxzoom"] == nearest and 0 <= zoom <= nearest
    assert document["rescale"] == [-1, 1] and document["colormap_name"] == "rdylgn"
    assert tilejson_problems(document) == []
    assert document["legend"] == "ndvi: -1 (#a50026) to 1 (#006837)"
    legend = document["legend_stops"]
    assert [entry["value"] for entry in legend] == pytest.approx(np.linspace(-1, 1, 11).tolist())
    assert legend[0]["color"] == "#{:02x}{:02x}{:02x}".format(*RDYLGN_FIRST)
    assert legend[-1]["color"] == "#{:02x}{:02x}{:02x}".format(*RDYLGN_LAST)


def test_an_ndvi_tile_is_the_result_warped_stretched_and_coloured(
    client: TestClient, ndvi_job: tuple[str, dict], settings: Settings
) -> None:
    job_id, status = ndvi_job
    document = tilejson_of(client, status)
    west, south, east, north = document["bounds"]
    z = document["maxzoom"]
    x, y = tile_of((west + east) / 2, (south + north) / 2, z)
    rgba = tile(client, document, z, x, y)
    assert rgba.shape == (4, 256, 256)
    expected = warped(result_file(settings, job_id, "ndvi"), z, x, y)
    valid = ~np.isnan(expected)
    assert 0.05 < (~valid).mean() < 0.95  # the tile holds data and the outside (or nodata)
    # nearest neighbours may pick the other pixel on a boundary: nearly all, not all, agree
    assert ((rgba[3] == 255) == valid).mean() > 0.98
    both = valid & (rgba[3] == 255)
    from rio_tiler.colormap import cmap

    table = np.array([cmap.get("rdylgn")[i][:3] for i in range(256)])
    colours = table[stretched(expected[both], -1, 1).astype(int)]
    assert (np.abs(rgba[:3, both].T.astype(int) - colours) <= 1).all(axis=1).mean() > 0.98


def test_nodata_and_nan_are_transparent(
    client: TestClient, ndvi_job: tuple[str, dict], settings: Settings
) -> None:
    job_id, status = ndvi_job
    document = tilejson_of(client, status)
    with rasterio.open(result_file(settings, job_id, "ndvi")) as ndvi:
        values = ndvi.read(1)
        row, col = map(int, np.argwhere(np.isnan(values))[len(values) // 2])
        lon, lat = transform_bounds(ndvi.crs, "EPSG:4326", *ndvi.xy(row, col), *ndvi.xy(row, col))[:2]
    z = document["maxzoom"] + 4  # deeper than the data: each pixel covers many tile pixels
    x, y = tile_of(lon, lat, z)
    rgba = tile(client, document, z, x, y)
    expected = warped(result_file(settings, job_id, "ndvi"), z, x, y)
    assert np.isnan(expected).any()
    assert ((rgba[3] == 0) == np.isnan(expected)).mean() > 0.98


def test_a_tile_outside_the_result_is_a_transparent_png(
    client: TestClient, ndvi_job: tuple[str, dict]
) -> None:
    document = tilejson_of(client, ndvi_job[1])
    for z, x, y in [(document["maxzoom"], 0, 0), (2, 3, 3)]:
        rgba = tile(client, document, z, x, y)
        assert (rgba[-1] == 0).all()


def test_a_tile_outside_the_tile_matrix_is_404(client: TestClient, ndvi_job: tuple[str, dict]) -> None:
    document = tilejson_of(client, ndvi_job[1])
    for z, x, y in [(3, 8, 0), (3, 0, 8), (25, 0, 0)]:
        response = client.get(local(document["tiles"][0].format(z=z, x=x, y=y)))
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"


def test_rescale_and_colormap_are_the_clients_to_choose(
    client: TestClient, ndvi_job: tuple[str, dict], settings: Settings
) -> None:
    job_id, status = ndvi_job
    document = tilejson_of(client, status, rescale="0,0.5", colormap_name="viridis")
    assert document["rescale"] == [0, 0.5] and document["colormap_name"] == "viridis"
    assert document["tiles"][0].endswith(".png?rescale=0,0.5&colormap_name=viridis")
    west, south, east, north = document["bounds"]
    z = document["maxzoom"]
    x, y = tile_of((west + east) / 2, (south + north) / 2, z)
    rgba = tile(client, document, z, x, y)
    expected = warped(result_file(settings, job_id, "ndvi"), z, x, y)
    both = ~np.isnan(expected) & (rgba[3] == 255)
    from rio_tiler.colormap import cmap

    table = np.array([cmap.get("viridis")[i][:3] for i in range(256)])
    colours = table[stretched(expected[both], 0, 0.5).astype(int)]
    assert (np.abs(rgba[:3, both].T.astype(int) - colours) <= 1).all(axis=1).mean() > 0.98


@pytest.mark.parametrize("path", ["tilejson.json", "14/0/0.png"])
def test_an_unknown_colormap_is_a_400_naming_the_known_ones(
    client: TestClient, ndvi_job: tuple[str, dict], path: str
) -> None:
    url = f"/jobs/{ndvi_job[0]}/results/ndvi/tiles/WebMercatorQuad/{path}"
    problem = assert_problem(
        client.get(url, params={"colormap_name": "rainbowz"}), 400, "invalid-parameter-value"
    )
    assert "'rainbowz'" in problem["detail"]
    for known in ("rdylgn", "viridis", "greys", "terrain"):
        assert f" {known}," in problem["detail"] or problem["detail"].endswith(f" {known}")


@pytest.mark.parametrize("rescale", ["1", "a,b", "1,1", "2,1", "nan,1", "0,inf", "1,2,3"])
def test_a_bad_rescale_is_a_400(client: TestClient, ndvi_job: tuple[str, dict], rescale: str) -> None:
    url = f"/jobs/{ndvi_job[0]}/results/ndvi/tiles/WebMercatorQuad/tilejson.json"
    problem = assert_problem(client.get(url, params={"rescale": rescale}), 400, "invalid-parameter-value")
    assert "rescale" in problem["detail"]


def test_unknown_jobs_and_outputs_are_404(client: TestClient, ndvi_job: tuple[str, dict]) -> None:
    job_id = ndvi_job[0]
    for url in [
        f"/jobs/{'0' * 32}/results/ndvi/tiles/WebMercatorQuad/tilejson.json",
        f"/jobs/{job_id}/results/nope/tiles/WebMercatorQuad/tilejson.json",
        f"/jobs/{job_id}/results/nope/tiles/WebMercatorQuad/0/0/0.png",
        "/jobs/not-a-job/results/ndvi/tiles/WebMercatorQuad/0/0/0.png",
    ]:
        response = client.get(url)
        assert response.status_code == 404, (url, response.text)
        assert response.json()["type"] == EXCEPTIONS + "no-such-job"


def test_a_dismissed_job_has_no_tiles(client: TestClient, ndvi_job: tuple[str, dict]) -> None:
    job_id = ndvi_job[0]
    assert client.delete(f"/jobs/{job_id}").status_code == 200
    response = client.get(f"/jobs/{job_id}/results/ndvi/tiles/WebMercatorQuad/tilejson.json")
    assert response.status_code == 404


def test_a_literal_output_has_no_tiles(
    client: TestClient, pair: tuple[Raster, Raster], data_server: DataServer
) -> None:
    inputs = {
        name: {"href": data_server.url(f"{key}.tif")} for name, key in (("before", "red"), ("after", "nir"))
    }
    job_id, status = run(client, "change_detection", inputs)
    assert sorted(link["title"] for link in status["links"] if link["rel"] == "tiles") == [
        "difference",
        "mask",
    ]
    response = client.get(f"/jobs/{job_id}/results/changed_fraction/tiles/WebMercatorQuad/tilejson.json")
    assert response.status_code == 404
    mask = tilejson_of(client, {"links": [lk for lk in status["links"] if lk.get("title") == "mask"]})
    assert mask["rescale"] == [0, 1] and mask["colormap_name"] == "reds"
    difference = tilejson_of(
        client, {"links": [lk for lk in status["links"] if lk.get("title") == "difference"]}
    )
    assert difference["colormap_name"] == "rdbu"


def test_a_running_job_has_no_tiles_yet(slow_client: TestClient) -> None:
    job_id = submit(slow_client, "slow", {"seconds": 0.5})
    wait_until_running(slow_client, job_id)
    response = slow_client.get(f"/jobs/{job_id}/results/result/tiles/WebMercatorQuad/tilejson.json")
    assert_problem(response, 404, "result-not-ready")
    slow_client.delete(f"/jobs/{job_id}")


def dem(rasters: RasterFactory) -> Raster:
    """A smooth hill, in metres on a 10 m grid."""
    rows, cols = np.mgrid[0:200, 0:300]
    heights = 500 + 300 * np.exp(-(((rows - 100) / 60.0) ** 2 + ((cols - 150) / 80.0) ** 2))
    spec = RasterSpec(width=300, height=200, dtype="float32")
    return write_raster(rasters.directory / "dem.tif", spec, heights[None].astype("float32"))


@pytest.mark.parametrize(
    ("product", "rescale", "colormap"),
    [("slope", [0, 90], "ylorrd"), ("aspect", [0, 360], "twilight"), ("hillshade", [0, 255], None)],
)
def test_terrain_products_have_their_own_defaults(
    client: TestClient,
    rasters: RasterFactory,
    data_server: DataServer,
    product: str,
    rescale: list[int],
    colormap: str | None,
    settings: Settings,
) -> None:
    dem(rasters)
    job_id, status = run(client, "terrain", {"dem": {"href": data_server.url("dem.tif")}, "product": product})
    document = tilejson_of(client, status)
    assert document["rescale"] == rescale and document["colormap_name"] == colormap
    if colormap is None:  # hillshade: grey, so every legend colour and tile pixel has R = G = B
        stops = document["legend_stops"]
        assert all(stop["color"][1:3] == stop["color"][3:5] == stop["color"][5:] for stop in stops)
        lon, lat, z = document["center"]
        x, y = tile_of(lon, lat, z)
        grey = tile(client, document, z, x, y)
        assert grey.shape[0] == 2  # grey and alpha
        expected = warped(result_file(settings, job_id, "result"), z, x, y)
        both = ~np.isnan(expected) & (grey[1] == 255)
        assert both.mean() > 0.1
        assert (np.abs(grey[0, both] - stretched(expected[both], 0, 255)) <= 1).mean() > 0.98


def test_a_three_band_byte_result_shows_as_rgb(
    client: TestClient, rasters: RasterFactory, data_server: DataServer, settings: Settings
) -> None:
    rasters("rgb.tif", count=3, dtype="uint8", width=256, height=256)
    job_id, status = run(client, "clip", {"raster": {"href": data_server.url("rgb.tif")}, "bbox": WHOLE})
    document = tilejson_of(client, status)
    assert document["rescale"] == [0, 255] and document["colormap_name"] is None
    assert (
        document["legend_stops"] == [] and document["legend"] == "clipped: bands 1, 2, 3 as red, green, blue"
    )
    west, south, east, north = document["bounds"]
    z = document["maxzoom"]
    x, y = tile_of((west + east) / 2, (south + north) / 2, z)
    rgba = tile(client, document, z, x, y)
    path = result_file(settings, job_id, "clipped")
    expected = np.stack([warped(path, z, x, y, band) for band in (1, 2, 3)])
    both = ~np.isnan(expected[0]) & (rgba[3] == 255)
    assert both.mean() > 0.2
    assert (rgba[:3, both] == expected[:, both]).all(axis=0).mean() > 0.98
    # one band of it, on a colormap, when asked
    one = tilejson_of(client, status, bidx="2", colormap_name="greys")
    assert one["tiles"][0].endswith("&bidx=2") and len(one["legend_stops"]) == 11
    refused = client.get(local(document["tiles"][0].format(z=z, x=x, y=y)), params={"bidx": "4"})
    assert_problem(refused, 400, "invalid-parameter-value")


def test_without_defaults_the_range_comes_from_the_data(
    client: TestClient, rasters: RasterFactory, data_server: DataServer
) -> None:
    source = rasters("band.tif", dtype="uint16", width=400, height=300)
    _, status = run(client, "clip", {"raster": {"href": data_server.url("band.tif")}, "bbox": WHOLE})
    document = tilejson_of(client, status)
    low, high = np.percentile(source.data, [2, 98])
    span = float(source.data.max()) - float(source.data.min())
    assert document["rescale"][0] == pytest.approx(low, abs=0.03 * span)
    assert document["rescale"][1] == pytest.approx(high, abs=0.03 * span)
    assert document["colormap_name"] is None


@pytest.fixture
def two_users(tmp_path: Path, checked: CheckedFactory) -> Iterator[TestClient]:
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"{bcrypt_line('alice', 'wonderland')}\n{bcrypt_line('bob', 'builder')}\n")
    settings = Settings(
        data_dir=tmp_path / "users-data",
        public_url="http://testserver",
        allowed_hosts=["127.0.0.1"],
        auth_htpasswd=htpasswd,
    )
    with TestClient(checked(settings), raise_server_exceptions=False) as client:
        yield client


def test_tiles_follow_the_jobs_access_rules(
    two_users: TestClient, pair: tuple[Raster, Raster], data_server: DataServer
) -> None:
    alice, bob = basic("alice", "wonderland"), basic("bob", "builder")
    inputs = {name: {"href": data_server.url(f"{name}.tif")} for name in ("red", "nir")}
    response = two_users.post(
        "/processes/ndvi/execution", json={"inputs": inputs}, headers={"Prefer": "respond-async", **alice}
    )
    job_id = response.json()["jobID"]
    wait_for_job(lambda path: two_users.get(path, headers=alice), job_id)
    url = f"/jobs/{job_id}/results/ndvi/tiles/WebMercatorQuad"
    assert two_users.get(f"{url}/tilejson.json", headers=alice).status_code == 200
    assert two_users.get(f"{url}/0/0/0.png", headers=alice).status_code == 200
    for path in ("tilejson.json", "0/0/0.png"):
        assert two_users.get(f"{url}/{path}", headers=bob).status_code == 404
        assert two_users.get(f"{url}/{path}").status_code == 401
