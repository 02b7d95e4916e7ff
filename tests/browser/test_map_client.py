"""/map in a real browser, with nothing but 127.0.0.1 reachable: ndvi on local rasters end to end
(form, async run, progress, tiles on the map, legend, download, recent jobs), a failure's problem
detail, a bounding box drawn on the map for clip, and the basemap taken from WPS_BASEMAP_URL.

The service runs as a child process (``uvicorn app.main:app``) configured by its environment, the
inputs come from a local data server; the tests of one service stay on one xdist worker.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import rasterio
from playwright.sync_api import Page, Response, expect
from rasterio.transform import array_bounds
from rasterio.warp import transform_bounds

from tests.support.browser import PageWatch
from tests.support.dataserver import DataServer
from tests.support.rasters import UTM_10M, RasterSpec, write_raster
from tests.support.service import running_service
from tests.support.tileserver import TileServer

pytestmark = pytest.mark.xdist_group("browser-map")

TIMEOUT_MS = 30_000  # a job and its tiles on a busy CI machine
VIEWPORT = {"width": 1280, "height": 800}
TILES = "/tiles/WebMercatorQuad/"
SHAPE = (256, 256)
RED = 1200


@dataclass(frozen=True)
class Bands:
    """The inputs on their server, their pixels and their lon/lat bounds (west, south, east, north)."""

    server: DataServer
    red: np.ndarray
    nir: np.ndarray
    bounds: tuple[float, float, float, float]


@pytest.fixture(scope="module")
def bands(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bands]:
    """Red and near-infrared GeoTIFFs (fields of vegetation over bare ground) on a local server."""
    folder = tmp_path_factory.mktemp("map-bands")
    rows, cols = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]]
    vigour = 0.5 + 0.5 * np.sin(cols / 23.0) * np.cos(rows / 31.0) + cols / SHAPE[1]
    red = np.full(SHAPE, RED, dtype="uint16")
    nir = (300.0 + 4700.0 * vigour / vigour.max()).astype("uint16")  # NDVI from -0.6 to 0.61
    spec = RasterSpec(width=SHAPE[1], height=SHAPE[0], dtype="uint16")
    write_raster(folder / "red.tif", spec, red[None])
    write_raster(folder / "nir.tif", spec, nir[None])
    west, south, east, north = transform_bounds(spec.crs, "EPSG:4326", *array_bounds(*SHAPE, UTM_10M))
    with DataServer(folder) as server:
        yield Bands(server, red, nir, (west, south, east, north))


@pytest.fixture(scope="module")
def offline_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service as an offline site runs it: no basemap."""
    data = tmp_path_factory.mktemp("map-service") / "data"
    with running_service(data, extra_env={"WPS_BASEMAP_URL": ""}) as url:
        yield url


def _open(page: Page, service_url: str, process: str | None = None) -> None:
    """Load /map (ready once processes and jobs are listed) and pick a process."""
    page.set_viewport_size(VIEWPORT)
    page.goto(f"{service_url}/map")
    expect(page.locator("body")).to_have_attribute("data-ready", "true", timeout=TIMEOUT_MS)
    if process is not None:
        page.select_option("#process", process)
        expect(page.locator("#submit")).to_be_visible()


def _run(page: Page, after: str | None = None) -> str:
    """Submit the form; the id of the job the page then follows (another than ``after``)."""
    page.click("#submit")
    section = page.locator("#job-section")
    other = re.compile(rf"^(?!{re.escape(after or '')}$).+")  # any id but ``after``
    expect(section).to_have_attribute("data-job-id", other)
    job_id = section.get_attribute("data-job-id")
    assert job_id
    return job_id


def _download(page: Page) -> np.ndarray:
    """Band 1 of the GeoTIFF the job section's download link gives (fetched as the page would)."""
    answer = page.request.get(str(page.locator("#job-results a.download").get_attribute("href")))
    assert answer.status == 200
    with rasterio.MemoryFile(answer.body()) as memory, memory.open() as dataset:
        return dataset.read(1)


def _tile_answers(page: Page) -> list[Response]:
    """The page's answers for result tiles, collected from now on."""
    answers: list[Response] = []
    page.on("response", lambda answer: answers.append(answer) if TILES in answer.url else None)
    return answers


def test_ndvi_runs_and_its_result_is_on_the_map(
    watched: PageWatch, offline_service: str, bands: Bands
) -> None:
    page = watched.page
    tiles = _tile_answers(page)
    _open(page, offline_service, "ndvi")
    page.fill("#input-red", bands.server.url("red.tif"))
    page.fill("#input-nir", bands.server.url("nir.tif"))
    job_id = _run(page)

    section = page.locator("#job-section")
    expect(section).to_have_attribute("data-status", "successful", timeout=TIMEOUT_MS)
    expect(page.locator("#job-progress")).to_have_js_property("value", 100)
    expect(page.locator("#job-status")).to_have_text("ndvi · successful · 100%")
    # the result's tiles are drawn, from the tiles endpoint of this job's output
    expect(page.locator(".result-tiles img.leaflet-tile-loaded").first).to_be_visible(timeout=TIMEOUT_MS)
    pngs = [answer for answer in tiles if answer.url.split("?")[0].endswith(".png")]
    assert pngs, [answer.url for answer in tiles]
    for answer in pngs:
        assert f"/jobs/{job_id}/results/ndvi{TILES}" in answer.url
        assert (answer.status, answer.header_value("content-type")) == (200, "image/png")
    # the legend: NDVI from -1 to 1, red-yellow-green
    legend = page.locator(".leaflet-legend .legend")
    expect(legend.locator(".legend-title")).to_have_text("ndvi (rdylgn)")
    expect(legend.locator(".legend-labels span")).to_have_text(["-1", "0", "1"])
    # the download link gives the GeoTIFF the job computed
    expect(page.locator("#job-results a.download")).to_have_text("Download ndvi")
    red, nir = bands.red.astype("float64"), bands.nir.astype("float64")
    np.testing.assert_allclose(_download(page), (nir - red) / (nir + red), rtol=1e-6)
    # the job is first among the recent ones, and marked as the one shown
    listed = page.locator("#jobs li").first
    expect(listed).to_have_attribute("data-job-id", job_id)
    expect(listed).to_have_class("selected")
    expect(listed.locator(".job-status")).to_have_text("successful")

    watched.screenshot("map-client")
    watched.assert_stayed_local()
    watched.assert_no_errors()
    # no basemap configured: the page asked the service and nothing else
    assert all(url.startswith(f"{offline_service}/") for url in watched.requests)

    # a failing job shows its problem detail; the first job is one click away
    page.fill("#input-nir", bands.server.url("missing.tif"))
    failed_id = _run(page, after=job_id)
    expect(section).to_have_attribute("data-status", "failed", timeout=TIMEOUT_MS)
    problem = page.locator("#job-problem")
    expect(problem).to_contain_text("DataNotAccessible")
    expect(problem.locator("dd").filter(has_text=re.compile(r"^nir$"))).to_have_count(1)  # the locator
    expect(page.locator(".result-tiles")).to_have_count(0)
    expect(page.locator("#jobs li").first).to_have_attribute("data-job-id", failed_id)
    page.locator(f"#jobs li[data-job-id='{job_id}'] button").click()
    expect(section).to_have_attribute("data-status", "successful", timeout=TIMEOUT_MS)
    expect(section).to_have_attribute("data-job-id", job_id)
    expect(page.locator(".result-tiles img.leaflet-tile-loaded").first).to_be_visible(timeout=TIMEOUT_MS)
    expect(problem).to_be_hidden()
    # the one console error: the failed job's results answering its exception (read for the detail)
    assert len(watched.console_errors) == 1 and "status of 400" in watched.console_errors[0]
    assert not watched.page_errors
    watched.assert_stayed_local()


def test_a_bounding_box_drawn_on_the_map_clips_the_raster(
    watched: PageWatch, offline_service: str, bands: Bands
) -> None:
    page = watched.page
    _open(page, offline_service, "clip")
    page.fill("#input-raster", bands.server.url("red.tif"))
    # typed bounds: the rectangle shows, and the map moves to it
    numbers = page.locator(".bbox-numbers input")
    for index, value in enumerate(bands.bounds):
        numbers.nth(index).fill(str(value))
    numbers.nth(3).press("Tab")  # leaving the field moves the map
    expect(page.locator("path.bbox-rectangle")).to_have_count(1)
    # drawn: a box in the middle of the map, inside the raster
    page.click("button.draw")
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.4)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6, steps=5)
    page.mouse.up()
    west, south, east, north = bands.bounds
    drawn = [float(numbers.nth(index).input_value()) for index in range(4)]
    assert west < drawn[0] < drawn[2] < east and south < drawn[1] < drawn[3] < north, drawn
    expect(page.locator("path.bbox-rectangle")).to_have_count(1)
    _run(page)
    expect(page.locator("#job-section")).to_have_attribute("data-status", "successful", timeout=TIMEOUT_MS)
    clipped = _download(page)
    assert 0 < clipped.shape[0] < SHAPE[0] and 0 < clipped.shape[1] < SHAPE[1]
    assert (clipped == RED).all()
    watched.assert_stayed_local()
    watched.assert_no_errors()


def test_forms_follow_the_descriptions_and_send_what_they_hold(
    watched: PageWatch, offline_service: str, bands: Bands
) -> None:
    page = watched.page
    _open(page, offline_service, "terrain")
    product = page.locator("#input-product")
    expect(product.locator("option")).to_have_text(["slope", "aspect", "hillshade"])
    expect(product).to_have_value("slope")
    azimuth = page.locator("#input-azimuth")
    for name, value in {"type": "number", "min": "0", "max": "360"}.items():
        expect(azimuth).to_have_attribute(name, value)
    expect(azimuth).to_have_value("315")
    page.select_option("#process", "zonal_statistics")
    statistics = page.locator("#input-statistics")
    expect(statistics).to_have_js_property("multiple", True)
    expect(statistics.locator("option")).to_have_count(7)

    page.select_option("#process", "band_math")
    urls = [bands.server.url("red.tif"), bands.server.url("nir.tif")]
    page.fill("#input-raster", "\n".join(urls))  # several occurrences: one URL per line
    page.fill("#input-expression", "b2 - b1")
    with page.expect_request(lambda request: request.method == "POST") as posted:
        _run(page)
    assert posted.value.headers["prefer"] == "respond-async"
    assert posted.value.post_data_json == {
        "inputs": {"raster": [{"href": url} for url in urls], "expression": "b2 - b1", "dtype": "float32"},
        "outputs": {"result": {"transmissionMode": "reference"}},
        "response": "document",
    }
    expect(page.locator("#job-section")).to_have_attribute("data-status", "successful", timeout=TIMEOUT_MS)
    np.testing.assert_array_equal(_download(page), bands.nir.astype("float32") - RED)
    watched.assert_stayed_local()
    watched.assert_no_errors()


def test_the_basemap_comes_from_the_configured_url(watched: PageWatch, tmp_path: Path) -> None:
    with TileServer() as basemap:
        env = {"WPS_BASEMAP_URL": basemap.template, "WPS_BASEMAP_ATTRIBUTION": "Tiles <b>local</b>"}
        with running_service(tmp_path / "data", extra_env=env) as service_url:
            page = watched.page
            _open(page, service_url)
            expect(page.locator(".leaflet-tile-loaded").first).to_be_visible(timeout=TIMEOUT_MS)
            # the attribution is text, never markup
            expect(page.locator(".leaflet-control-attribution")).to_contain_text("Tiles <b>local</b>")
    assert basemap.paths and all(re.fullmatch(r"/basemap/\d+/\d+/\d+\.png", path) for path in basemap.paths)
    asked = [url for url in watched.requests if url.startswith(basemap.base_url)]
    assert len(asked) == len(basemap.paths)
    watched.assert_stayed_local()
    watched.assert_no_errors()
