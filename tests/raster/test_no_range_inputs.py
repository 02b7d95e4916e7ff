"""Raster references on servers that ignore HTTP ``Range``: downloaded whole, once, capped.

Against the real local data server in its "no Range" modes (no mocks): the preflight tells such a
server from a range-capable one, the body of the probe GET is the download (bytes the server sent =
the file size, exactly once), the file lands in the job's work folder and GDAL reads it from disk.
Range-capable servers keep the lazy ``/vsicurl/`` path.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient

from app.model.errors import DataNotAccessible, FileSizeExceeded, WpsError
from app.model.requests import ComplexValue
from app.raster.egress import is_guarded, remote_url
from app.raster.fetch import materialize, resolve_reference
from app.raster.open import open_raster
from app.settings import Settings
from tests.support.dataserver import DataServer, RangeMode
from tests.support.ows import assert_exception
from tests.support.raster_results import assert_ndvi_matches, download
from tests.support.rasters import UTM_10M, Raster, RasterFactory, RasterSpec, write_raster
from tests.support.references import esri_reference, hilly
from tests.support.wps_v100_requests import as_reference, execute_xml, literal_input, raw, reference_input

LOOPBACK = ["127.0.0.1"]
BIG_SIDE = 10240  # uint8, uncompressed, tiled: 100 MiB of pixels
BIG_BLOCK = 512
E2E_CAP = 200_000  # bytes: the service's input cap in the end-to-end tests


def make_settings(tmp_path: Path, **fields: object) -> Settings:
    """Settings on a temporary data dir with loopback allowed, whatever the environment says."""
    fields.setdefault("allowed_hosts", LOOPBACK)
    return Settings(data_dir=tmp_path / "data", **fields)  # type: ignore[arg-type]


def ref(href: str) -> ComplexValue:
    """A plain GET reference."""
    return ComplexValue(href=href)


def gets(server: DataServer) -> list[tuple[str | None, int, int]]:
    """(Range header, status, body bytes) of each GET the server answered."""
    return [
        (entry.range, entry.status, entry.body_bytes) for entry in server.requests if entry.method == "GET"
    ]


# ----------------------------------------------------------------------------- the rasters


def big_pixels(row0: int, row1: int) -> np.ndarray:
    """Rows ``row0:row1`` of the 100 MiB raster: a multiplicative hash of each pixel's index, so a
    misplaced block or strip cannot go unnoticed (uint32 arithmetic wraps on purpose)."""
    rows = np.arange(row0, row1, dtype=np.uint32)[:, None]
    cols = np.arange(BIG_SIDE, dtype=np.uint32)[None, :]
    return ((rows * np.uint32(BIG_SIDE) + cols) * np.uint32(2654435761) >> np.uint32(24)).astype(np.uint8)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiled, uncompressed 10240 x 10240 uint8 GeoTIFF (about 100 MB), written block row by block
    row (the whole array is never in memory; about a second)."""
    path = tmp_path_factory.mktemp("big") / "big.tif"
    profile = {
        "driver": "GTiff",
        "width": BIG_SIDE,
        "height": BIG_SIDE,
        "count": 1,
        "dtype": "uint8",
        "crs": "EPSG:32631",
        "transform": UTM_10M,
        "tiled": True,
        "blockxsize": BIG_BLOCK,
        "blockysize": BIG_BLOCK,
    }
    with rasterio.open(path, "w", **profile) as dst:  # type: ignore[arg-type]
        for row in range(0, BIG_SIDE, BIG_BLOCK):
            window = rasterio.windows.Window(0, row, BIG_SIDE, BIG_BLOCK)
            dst.write(big_pixels(row, row + BIG_BLOCK)[None], window=window)
    return path


@pytest.fixture
def tiled(tmp_path: Path) -> Raster:
    """A tiled, uncompressed 720 x 720 uint16 GeoTIFF of random pixels (about 1 MB)."""
    return RasterFactory(tmp_path / "served")(
        "tiled.tif", width=720, height=720, blocksize=240, compress=None
    )


# ----------------------------------------------------------------------------- downloaded once


@pytest.mark.parametrize(
    ("ranges", "head_allowed", "head_length"),
    [
        ("ignored", True, True),  # HEAD with a length, no Accept-Ranges: the probe GET decides
        ("ignored", False, True),  # HEAD refused (405)
        ("ignored", True, False),  # HEAD without Content-Length
        ("none", True, True),  # "Accept-Ranges: none": no probe needed
    ],
)
def test_tiled_1mb_downloaded_once(
    tmp_path: Path, tiled: Raster, ranges: RangeMode, head_allowed: bool, head_length: bool
) -> None:
    size = tiled.path.stat().st_size
    assert 1_000_000 < size < 1_100_000
    workdir = tmp_path / "job"
    modes = {"ranges": ranges, "head_allowed": head_allowed, "head_length": head_length}
    with DataServer(tiled.path.parent, **modes) as server:  # type: ignore[arg-type]
        path = materialize(ref(server.url("tiled.tif")), make_settings(tmp_path), workdir, "dem")
        assert Path(path).parent == workdir
        assert Path(path).read_bytes() == tiled.path.read_bytes()
        opened = open_raster(path, chunk_size=256, locator="dem")
        np.testing.assert_array_equal(opened.values, tiled.data)
        assert server.bytes_sent == size  # the file, exactly once
        assert [(status, sent) for _, status, sent in gets(server)] == [(200, size)]


def test_100mb_downloaded_once(tmp_path: Path, big: Path) -> None:
    size = big.stat().st_size
    assert size > 100 * 2**20
    workdir = tmp_path / "job"
    with DataServer(big.parent, ranges="ignored") as server:
        path = resolve_reference(ref(server.url("big.tif")), make_settings(tmp_path), "dem", workdir)
        assert Path(path).parent == workdir and Path(path).stat().st_size == size
        opened = open_raster(path, chunk_size=2048, locator="dem")
        assert opened.shape == (1, BIG_SIDE, BIG_SIDE)
        for row in range(0, BIG_SIDE, 2048):
            np.testing.assert_array_equal(opened[0, row : row + 2048].values, big_pixels(row, row + 2048))
        assert server.bytes_sent == size
        assert gets(server) == [("bytes=0-0", 200, size)]


def test_chunked_without_length_downloaded_once(tmp_path: Path, tiled: Raster) -> None:
    size = tiled.path.stat().st_size
    with DataServer(tiled.path.parent, chunked=True) as server:
        path = resolve_reference(ref(server.url("tiled.tif")), make_settings(tmp_path), "dem", tmp_path / "j")
        np.testing.assert_array_equal(open_raster(path, chunk_size=256, locator="d").values, tiled.data)
        assert server.bytes_sent == size


# ----------------------------------------------------------------------------- the input cap


def test_announced_length_over_cap(tmp_path: Path, tiled: Raster) -> None:
    size = tiled.path.stat().st_size
    workdir = tmp_path / "job"
    settings = make_settings(tmp_path, max_input_bytes=size - 1)
    with (
        DataServer(tiled.path.parent, ranges="ignored", head_allowed=False) as server,
        pytest.raises(FileSizeExceeded) as caught,
    ):
        resolve_reference(ref(server.url("tiled.tif")), settings, "dem", workdir)
    assert caught.value.locator == "dem"
    assert caught.value.message == (
        f"input 'dem': the server ignores HTTP Range requests; downloading the whole file ({size} bytes)"
        f" exceeds the input cap of {size - 1} bytes"
    )
    assert not workdir.exists() or list(workdir.iterdir()) == []


def test_accept_ranges_none_over_cap_costs_no_body(tmp_path: Path, tiled: Raster) -> None:
    size = tiled.path.stat().st_size
    settings = make_settings(tmp_path, max_input_bytes=size // 2)
    with DataServer(tiled.path.parent, ranges="none") as server:
        with pytest.raises(FileSizeExceeded, match=r"ignores HTTP Range requests.*\(\d+ bytes\)"):
            resolve_reference(ref(server.url("tiled.tif")), settings, "dem", tmp_path / "job")
        assert [entry.method for entry in server.requests] == ["HEAD"]
        assert server.bytes_sent == 0


def test_chunked_over_cap_stops_streaming(tmp_path: Path, big: Path) -> None:
    size = big.stat().st_size
    cap = 8 * 2**20
    workdir = tmp_path / "job"
    with DataServer(big.parent, chunked=True) as server:
        with pytest.raises(FileSizeExceeded) as caught:
            resolve_reference(
                ref(server.url("big.tif")), make_settings(tmp_path, max_input_bytes=cap), "dem", workdir
            )
        sent = server.bytes_sent
    assert caught.value.message == (
        f"input 'dem': the server ignores HTTP Range requests; downloading the whole file"
        f" exceeds the input cap of {cap} bytes"
    )
    assert list(workdir.iterdir()) == []  # the partial file is gone
    assert sent < size // 2  # the body was not drained: at most the cap plus what the sockets buffered


# ----------------------------------------------------------------------------- redirects, failures


def test_redirect_to_no_range_server(tmp_path: Path, tiled: Raster) -> None:
    size = tiled.path.stat().st_size
    with DataServer(tiled.path.parent, ranges="ignored", head_allowed=False) as server:
        href = server.redirect_url(server.url("tiled.tif"), 307)
        path = resolve_reference(ref(href), make_settings(tmp_path), "dem", tmp_path / "job")
        assert Path(path).read_bytes() == tiled.path.read_bytes()
        assert server.bytes_sent == size


@pytest.mark.parametrize("head_allowed", [True, False])
@pytest.mark.parametrize("target", ["http://localhost:{port}/tiled.tif", "http://10.0.0.1/tiled.tif"])
def test_redirect_from_no_range_server_still_guarded(
    tmp_path: Path, tiled: Raster, head_allowed: bool, target: str
) -> None:
    workdir = tmp_path / "job"
    with DataServer(tiled.path.parent, ranges="ignored", head_allowed=head_allowed) as server:
        href = server.redirect_url(target.format(port=server.port))
        with pytest.raises(DataNotAccessible, match="not allowed"):
            resolve_reference(ref(href), make_settings(tmp_path), "dem", workdir)
        assert server.bytes_sent == 0
        assert {entry.path.split("?")[0] for entry in server.requests} == {"/redirect"}
    assert not workdir.exists()


@pytest.fixture
def breaking_server() -> Iterator[str]:
    """A server that refuses HEAD and answers GET with half the body it announces, then hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()

    def answer() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.settimeout(5)
            with connection:
                request = connection.recv(65536)
                if request.startswith(b"HEAD"):
                    connection.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                else:
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 50_000)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/dem.tif"
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_download_broken_off(tmp_path: Path, breaking_server: str) -> None:
    workdir = tmp_path / "job"
    with pytest.raises(DataNotAccessible) as caught:
        resolve_reference(ref(breaking_server), make_settings(tmp_path), "dem", workdir)
    assert caught.value.message == (
        "input 'dem': the server ignores HTTP Range requests; the download of the whole file broke off"
    )
    assert list(workdir.iterdir()) == []


def test_work_folder_not_writable(tmp_path: Path, tiled: Raster) -> None:
    blocked = tmp_path / "job"
    blocked.write_text("a file where the work folder should be")
    with (
        DataServer(tiled.path.parent, ranges="ignored") as server,
        pytest.raises(WpsError, match="could not store the download") as caught,
    ):
        resolve_reference(ref(server.url("tiled.tif")), make_settings(tmp_path), "dem", blocked)
    assert caught.value.code == "NoApplicableCode"


# ----------------------------------------------------------------------------- range-capable servers


@pytest.mark.parametrize(("head_allowed", "head_length"), [(True, True), (False, True), (True, False)])
def test_range_capable_servers_stay_lazy(
    tmp_path: Path, tiled: Raster, head_allowed: bool, head_length: bool
) -> None:
    workdir = tmp_path / "job"
    with DataServer(tiled.path.parent, head_allowed=head_allowed, head_length=head_length) as server:
        url = server.url("tiled.tif")
        path = resolve_reference(ref(url), make_settings(tmp_path), "dem", workdir)
        assert is_guarded(path) and remote_url(path) == url
        assert server.bytes_sent <= 1  # HEAD, or a one-byte ranged GET
        opened = open_raster(path, chunk_size=256, locator="dem")
        np.testing.assert_array_equal(opened[:, :240, :240].values, tiled.data[:, :240, :240])
    assert not workdir.exists()


# ----------------------------------------------------------------------------- through the service


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The service's settings for the end-to-end tests (overrides tests/conftest.py): a small cap."""
    return Settings(
        data_dir=tmp_path / "data",
        public_url="http://testserver",
        allowed_hosts=["127.0.0.1", "localhost"],
        max_input_bytes=E2E_CAP,
    )


@pytest.fixture
def no_range_server(rasters: RasterFactory) -> Iterator[DataServer]:
    """The rasters' folder served by a server that ignores Range and refuses HEAD."""
    with DataServer(rasters.directory, ranges="ignored", head_allowed=False) as server:
        yield server


def test_terrain_execute_with_a_no_range_dem(
    client: TestClient, rasters: RasterFactory, no_range_server: DataServer
) -> None:
    z = hilly(83, 101, seed=3)
    spec = RasterSpec(width=101, height=83, dtype="float32", blocksize=32)
    dem = write_raster(rasters.directory / "dem.tif", spec, z[None])
    inputs = reference_input("dem", no_range_server.url("dem.tif")) + literal_input("product", "slope")
    request = execute_xml(inputs, as_reference("result"), "terrain")
    values, dtype, _ = download(client, client.post("/wps", content=request))
    expected = esri_reference(dem.data[0].astype(np.float64), np.full(83, 10.0), np.full(83, 10.0), "slope")
    valid = ~np.isnan(expected)
    np.testing.assert_array_equal(np.isnan(values), ~valid)
    assert dtype == "float32" and np.abs(values[valid] - expected[valid]).max() < 1e-3
    assert no_range_server.bytes_sent == dem.path.stat().st_size


def test_ndvi_execute_with_no_range_bands(
    client: TestClient, rasters: RasterFactory, no_range_server: DataServer
) -> None:
    common = {"width": 301, "height": 211, "nodata": 0, "nodata_fraction": 0.05, "blocksize": 64}
    red, nir = rasters("red.tif", seed=1, **common), rasters("nir.tif", seed=2, **common)
    inputs = reference_input("red", no_range_server.url("red.tif"))
    inputs += reference_input("nir", no_range_server.url("nir.tif"))
    response = client.post("/wps", content=execute_xml(inputs, raw("ndvi"), "ndvi"))
    assert response.status_code == 200, response.text[:500]
    with rasterio.MemoryFile(response.content) as memfile, memfile.open() as dataset:
        assert_ndvi_matches(dataset, red, nir)
    assert no_range_server.bytes_sent == red.path.stat().st_size + nir.path.stat().st_size


def test_execute_over_the_cap_says_why(
    client: TestClient, rasters: RasterFactory, no_range_server: DataServer
) -> None:
    dem = rasters("dem.tif", width=300, height=300, dtype="float32", compress=None)
    size = dem.path.stat().st_size
    assert size > E2E_CAP
    inputs = reference_input("dem", no_range_server.url("dem.tif"))
    response = client.post("/wps", content=execute_xml(inputs, as_reference("result"), "terrain"))
    exception = assert_exception(response, "FileSizeExceeded", 413, "dem")
    text = "".join(exception.itertext())
    assert "the server ignores HTTP Range requests" in text
    assert f"({size} bytes) exceeds the input cap of {E2E_CAP} bytes" in text
