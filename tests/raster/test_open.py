"""Lazy, block-aligned, thread-safe raster opening; client-safe errors."""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pytest
import rasterio
import rioxarray
import xarray as xr
from distributed.core import error_message
from distributed.protocol import pickle as distributed_pickle
from rasterio.errors import NotGeoreferencedWarning

from app.model.errors import DataNotAccessible, WpsError, WrongInputData
from app.raster.grid import Grid
from app.raster.open import RasterInfo, block_aligned_chunks, open_raster
from tests.support.dask_guard import raise_if_dask_computes
from tests.support.dataserver import DataServer
from tests.support.rasters import RasterFactory, RasterSpec, profile


@pytest.fixture
def make_raster(tmp_path: Path) -> RasterFactory:
    return RasterFactory(tmp_path / "rasters")


@pytest.fixture
def served(make_raster: RasterFactory) -> Iterator[DataServer]:
    with DataServer(make_raster.directory) as server:
        yield server


def open_local(path: Path, chunk_size: int = 256) -> xr.DataArray:
    return open_raster(str(path), chunk_size=chunk_size, locator="raster")


@pytest.mark.parametrize(
    ("dtype", "nodata", "crs"),
    [
        ("uint8", None, "EPSG:4326"),
        ("uint16", 0, "EPSG:32631"),
        ("int16", -9999, "EPSG:3857"),
        ("int32", None, "EPSG:2154"),
        ("float32", float("nan"), "EPSG:32631"),
        ("float64", -1e30, "EPSG:4326"),
    ],
)
def test_values_and_metadata_match_rioxarray(
    make_raster: RasterFactory, dtype: str, nodata: float | None, crs: str
) -> None:
    raster = make_raster(width=203, height=157, count=2, dtype=dtype, nodata=nodata, crs=crs, blocksize=64)
    with raise_if_dask_computes():
        opened = open_local(raster.path, chunk_size=100)
    reference = rioxarray.open_rasterio(raster.path)
    assert isinstance(opened.data, da.Array)
    assert opened.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(opened.values, raster.data)
    xr.testing.assert_equal(opened.coords.to_dataset(), reference.coords.to_dataset())
    assert opened.rio.crs == reference.rio.crs
    assert opened.rio.transform() == reference.rio.transform()
    np.testing.assert_equal(opened.rio.nodata, reference.rio.nodata)
    reference.close()


@pytest.mark.parametrize(
    ("spec", "chunk_size", "expected"),
    [
        (RasterSpec(width=1000, height=700, blocksize=128), 300, (1, 256, 256)),
        (RasterSpec(width=1000, height=700, blocksize=128), 2048, (1, 700, 1000)),
        (RasterSpec(width=1000, height=700, blocksize=256), 256, (1, 256, 256)),
        (RasterSpec(width=1000, height=700, blocksize=256, count=3), 600, (3, 512, 512)),
        (RasterSpec(width=1000, height=700, blocksize=256, count=3, interleave="band"), 600, (1, 512, 512)),
        (RasterSpec(width=1000, height=700, blocksize=16, tiled=False), 256, (1, 64, 1000)),
        (RasterSpec(width=500, height=700, blocksize=7, tiled=False), 300, (1, 182, 500)),
    ],
)
def test_chunks_align_to_blocks(
    make_raster: RasterFactory, spec: RasterSpec, chunk_size: int, expected: tuple[int, int, int]
) -> None:
    raster = make_raster(**vars(spec))
    opened = open_local(raster.path, chunk_size)
    assert tuple(chunks[0] for chunks in opened.chunks) == expected
    with rasterio.open(raster.path) as src:
        block_rows, block_cols = src.block_shapes[0]
    assert all(size % block_rows == 0 for size in opened.chunks[1][:-1])
    assert all(size % block_cols == 0 or size == spec.width for size in opened.chunks[2][:-1])
    np.testing.assert_array_equal(opened.values, raster.data)


def test_huge_single_strip_gets_bounded_chunks() -> None:
    info = RasterInfo(
        Grid(rasterio.crs.CRS.from_epsg(4326), rasterio.Affine.identity(), 50_000, 50_000),
        1,
        "uint8",
        (50_000, 50_000),
        True,
    )
    assert block_aligned_chunks(info, 1024) == (1, 1024, 50_000)


@pytest.mark.parametrize("workers", [2, 8])
def test_concurrent_threaded_reads_are_correct(make_raster: RasterFactory, workers: int) -> None:
    raster = make_raster(width=330, height=250, count=3, dtype="int16", blocksize=32)
    opened = open_local(raster.path, chunk_size=32)
    assert opened.data.npartitions == 11 * 8
    with ThreadPoolExecutor(workers) as pool, dask.config.set(pool=pool, scheduler="threads"):
        for _ in range(3):
            np.testing.assert_array_equal(opened.values, raster.data)
            np.testing.assert_array_equal((opened * 2).sum("band").values, (raster.data * 2).sum(0))


def test_concurrent_remote_reads_are_correct(make_raster: RasterFactory, served: DataServer) -> None:
    raster = make_raster("remote.tif", cog=True, width=600, height=500, dtype="uint16", blocksize=128)
    opened = open_raster("/vsicurl/" + served.url("remote.tif"), chunk_size=64, locator="raster")
    with ThreadPoolExecutor(8) as pool, dask.config.set(pool=pool, scheduler="threads"):
        np.testing.assert_array_equal(opened.values, raster.data)


def test_graph_pickles_for_distributed_workers(make_raster: RasterFactory) -> None:
    raster = make_raster(width=200, height=150, blocksize=64)
    opened = open_local(raster.path, chunk_size=64)
    revived = pickle.loads(pickle.dumps(opened))
    np.testing.assert_array_equal(revived.values, raster.data)


def test_fused_int_and_strided_indexing(make_raster: RasterFactory) -> None:
    raster = make_raster(width=300, height=200, count=3, pattern="xy", dtype="int32", blocksize=64)
    opened = open_local(raster.path, chunk_size=128)
    np.testing.assert_array_equal(opened.isel(band=1).values, raster.data[1])
    np.testing.assert_array_equal(opened[2, ::7, 5].values, raster.data[2, ::7, 5])
    np.testing.assert_array_equal(opened[:, -3:, ::-2].values, raster.data[:, -3:, ::-2])
    np.testing.assert_array_equal(opened[:, 10:10, :].values, raster.data[:, 10:10, :])


# ----------------------------------------------------------------------------- remote reads


def test_open_reads_no_pixels(make_raster: RasterFactory, served: DataServer) -> None:
    raster = make_raster("scene.tif", cog=True, width=2048, height=2048, dtype="uint16", blocksize=256)
    size = raster.path.stat().st_size
    with raise_if_dask_computes():
        opened = open_raster("/vsicurl/" + served.url("scene.tif"), chunk_size=1024, locator="raster")
    assert opened.shape == (1, 2048, 2048)
    assert served.bytes_sent <= 64 * 1024 < size // 50  # the header only
    with rasterio.open(raster.path) as src:
        first_tile = int(src.get_tag_item("BLOCK_OFFSET_0_0", "TIFF", bidx=1))
    for request in served.requests:
        if request.range:
            start = int(request.range.split("=")[1].split("-")[0])
            assert start < first_tile


def test_small_window_of_remote_cog_pulls_few_bytes(make_raster: RasterFactory, served: DataServer) -> None:
    raster = make_raster("scene.tif", cog=True, width=4096, height=4096, dtype="uint16", blocksize=256)
    size = raster.path.stat().st_size
    opened = open_raster("/vsicurl/" + served.url("scene.tif"), chunk_size=2048, locator="raster")
    window = opened[:, 1024:1280, 2048:2304].values
    np.testing.assert_array_equal(window, raster.data[:, 1024:1280, 2048:2304])
    assert served.bytes_sent / size < 0.02


def test_remote_404_is_data_not_accessible(served: DataServer) -> None:
    with pytest.raises(DataNotAccessible, match="404") as caught:
        open_raster("/vsicurl/" + served.url("missing.tif"), chunk_size=256, locator="red")
    assert caught.value.locator == "red"


def test_remote_failure_during_compute_is_data_not_accessible(make_raster: RasterFactory) -> None:
    make_raster("gone.tif", cog=True, width=512, height=512, blocksize=128)
    with DataServer(make_raster.directory) as server:
        opened = open_raster("/vsicurl/" + server.url("gone.tif"), chunk_size=128, locator="nir")
        (make_raster.directory / "gone.tif").unlink()
        with pytest.raises(DataNotAccessible) as caught:
            opened.values  # noqa: B018
    assert caught.value.locator == "nir"


@pytest.mark.parametrize("damage", ["unlink", "corrupt"])
def test_read_errors_cross_to_the_api_process_whole(make_raster: RasterFactory, damage: str) -> None:
    """A chunk read fails on a dask worker: distributed pickles the error with its chain (tblib), and
    GDAL's errors do not unpickle; the client's error must arrive as itself, not a bare Exception."""
    raster = make_raster("scene.tif", width=256, height=256, blocksize=64)
    opened = open_local(raster.path, chunk_size=64)
    if damage == "unlink":
        raster.path.unlink()
    else:
        content = bytearray(raster.path.read_bytes())
        with rasterio.open(raster.path) as src:
            offset = int(src.get_tag_item("BLOCK_OFFSET_1_1", "TIFF", bidx=1))
        content[offset : offset + 200] = b"\xff" * 200
        raster.path.write_bytes(bytes(content))
    with pytest.raises(WpsError) as caught:
        opened.values  # noqa: B018
    message = error_message(caught.value)  # what a worker sends back to the client
    back = distributed_pickle.loads(message["exception"].data)
    assert type(back) is type(caught.value) and isinstance(back, WpsError)
    assert (back.message, back.locator) == (caught.value.message, caught.value.locator)


# ----------------------------------------------------------------------------- refused inputs


def test_not_a_tiff_is_wrong_input_data(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b'{"type": "FeatureCollection", "features": []}')
    with pytest.raises(WrongInputData) as caught:
        open_local(junk)
    assert caught.value.locator == "raster"
    assert str(tmp_path) not in caught.value.message


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")  # writing the PNG
def test_other_raster_formats_are_wrong_input_data(tmp_path: Path) -> None:
    png = tmp_path / "image.png"
    with rasterio.open(png, "w", driver="PNG", width=8, height=8, count=1, dtype="uint8") as dst:
        dst.write(np.zeros((1, 8, 8), "uint8"))
    with pytest.raises(WrongInputData):
        open_local(png)


def test_empty_file_is_wrong_input_data(tmp_path: Path) -> None:
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    with pytest.raises(WrongInputData):
        open_local(empty)


def test_remote_junk_is_wrong_input_data(make_raster: RasterFactory, served: DataServer) -> None:
    (make_raster.directory / "junk.tif").write_bytes(b"not a tiff at all" * 100)
    with pytest.raises(WrongInputData) as caught:
        open_raster("/vsicurl/" + served.url("junk.tif"), chunk_size=256, locator="raster")
    assert "127.0.0.1" not in caught.value.message


def test_corrupt_tiles_fail_at_compute_with_wrong_input_data(make_raster: RasterFactory) -> None:
    raster = make_raster(width=256, height=256, blocksize=64)
    content = bytearray(raster.path.read_bytes())
    with rasterio.open(raster.path) as src:
        offset = int(src.get_tag_item("BLOCK_OFFSET_1_1", "TIFF", bidx=1))
    content[offset : offset + 200] = b"\xff" * 200
    raster.path.write_bytes(bytes(content))
    opened = open_local(raster.path, chunk_size=64)
    with pytest.raises(WrongInputData, match="not a readable GeoTIFF"):
        opened.values  # noqa: B018


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")  # writing the file
@pytest.mark.parametrize(
    ("fields", "message"),
    [({"crs": None}, "coordinate reference system"), ({"transform": None}, "geotransform")],
)
def test_georeferencing_required(tmp_path: Path, fields: dict[str, object], message: str) -> None:
    spec = RasterSpec(**fields)  # type: ignore[arg-type]
    path = tmp_path / "plain.tif"
    options = profile(spec)
    if spec.transform is None:
        options["crs"] = "EPSG:32631"
    with rasterio.open(path, "w", **options) as dst:  # type: ignore[arg-type]
        dst.write(np.zeros((1, spec.height, spec.width), spec.dtype))
    with pytest.raises(WrongInputData, match=message):
        open_local(path)


def test_no_georeferencing_where_warnings_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "plain.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile(RasterSpec(crs=None, transform=None))) as dst:  # type: ignore[arg-type]
            dst.write(np.zeros((1, 200, 300), "uint16"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", NotGeoreferencedWarning)
        with pytest.raises(WrongInputData, match="georeferencing"):
            open_local(path)
