"""The COG writer against independent oracles: rio-cogeo's validator, tifffile's reading of the
structure, GDAL's reading of pixels and overviews, numpy decimations."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401
import tifffile
import xarray as xr
from affine import Affine
from rio_cogeo.cogeo import cog_validate

import app.raster.cog
from app.raster.cog import GHOST_HEADER
from app.raster.write import geotiff_store, write_geotiff

TRANSFORM = Affine(10, 0, 500000, 0, -10, 5600000)


def lazy_raster(
    pixels: np.ndarray,
    chunks: int | tuple[int, ...],
    crs: str | None = "EPSG:32631",
    nodata: float | None = None,
) -> xr.DataArray:
    """``pixels`` ((y, x) or (band, y, x)) as a dask-backed DataArray on a 10 m UTM grid."""
    height, width = pixels.shape[-2:]
    dims = ("band", "y", "x")[-pixels.ndim :]
    coords = {"y": 5600000 - 10 * (np.arange(height) + 0.5), "x": 500000 + 10 * (np.arange(width) + 0.5)}
    data = xr.DataArray(da.from_array(pixels, chunks=chunks), dims=dims, coords=coords)
    if crs is not None:
        data = data.rio.write_crs(crs)
    return data if nodata is None else data.rio.write_nodata(nodata)


def random_pixels(shape: tuple[int, ...], dtype: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.normal(100, 30, shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, endpoint=True, dtype=dtype)


def assert_valid_cog(path: Path) -> None:
    valid, errors, warnings = cog_validate(str(path), strict=True, quiet=True)
    assert (valid, errors, warnings) == (True, [], [])


def overview(path: Path, level: int) -> np.ndarray:
    with rasterio.open(path, OVERVIEW_LEVEL=level) as src:
        return src.read()


# ----------------------------------------------------------------------------------- validity


@pytest.mark.parametrize(
    ("shape", "chunks"),
    [
        ((1, 1500, 1300), (1, 512, 512)),
        ((1, 2049, 1031), (1, 700, 300)),  # odd sizes, chunks off the tile grid
        ((3, 1100, 900), (2, 1024, 1024)),  # bands over two chunks
        ((1, 4000, 600), (1, 2048, 2048)),  # a tall strip
        ((1, 300, 200), (1, 100, 100)),  # one tile, no overview
    ],
)
def test_valid_cog_for_rio_cogeo_and_gdal(
    tmp_path: Path, shape: tuple[int, ...], chunks: tuple[int, ...]
) -> None:
    pixels = random_pixels(shape, "float32")
    write_geotiff(lazy_raster(pixels, chunks), tmp_path / "out.tif")
    assert_valid_cog(tmp_path / "out.tif")
    with rasterio.open(tmp_path / "out.tif") as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        np.testing.assert_array_equal(src.read(), pixels)


def test_layout_is_gdals_cog_layout(tmp_path: Path) -> None:
    """Header, structural metadata, all IFDs, then tiles: smallest overview first, row-major,
    each tile between its size (leader) and its last 4 bytes (trailer)."""
    write_geotiff(lazy_raster(random_pixels((1, 2100, 1700), "uint16"), 600), tmp_path / "out.tif")
    raw = (tmp_path / "out.tif").read_bytes()
    assert raw[:4] == b"II*\0"  # classic TIFF: far below 4 GiB
    assert raw[8 : 8 + len(GHOST_HEADER)] == GHOST_HEADER
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        pages = list(tif.pages)
        assert [page.shape for page in pages] == [(2100, 1700), (1050, 850), (525, 425), (263, 213)]
        assert [page.tags["NewSubfileType"].value for page in pages[1:]] == [1, 1, 1]
        ifd_offsets = [page.offset for page in pages]
        assert ifd_offsets == sorted(ifd_offsets)
        offsets = [list(page.dataoffsets) for page in reversed(pages)]  # smallest level first
        sizes = [list(page.databytecounts) for page in reversed(pages)]
    flat_offsets = [offset for level in offsets for offset in level]
    flat_sizes = [size for level in sizes for size in level]
    assert min(flat_offsets) > max(ifd_offsets)
    position = min(flat_offsets) - 4
    for offset, size in zip(flat_offsets, flat_sizes, strict=True):
        assert offset == position + 4  # contiguous, in COG order
        assert struct.unpack("<I", raw[offset - 4 : offset])[0] == size
        assert raw[offset + size : offset + size + 4] == raw[offset + size - 4 : offset + size]
        position = offset + size + 4
    assert position == len(raw)


def test_bigtiff_when_the_file_could_pass_4_gib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.raster.cog, "_needs_bigtiff", lambda levels, coder: True)
    pixels = random_pixels((2, 1300, 1200), "int16")
    write_geotiff(lazy_raster(pixels, 512, nodata=-1), tmp_path / "big.tif")
    with tifffile.TiffFile(tmp_path / "big.tif") as tif:
        assert tif.is_bigtiff
    assert_valid_cog(tmp_path / "big.tif")
    with rasterio.open(tmp_path / "big.tif") as src:
        np.testing.assert_array_equal(src.read(), pixels)
        assert src.nodata == -1
    np.testing.assert_array_equal(overview(tmp_path / "big.tif", 0), pixels[:, ::2, ::2])


def test_bigtiff_bound() -> None:
    from app.raster.cog import TileCoder, _needs_bigtiff
    from app.raster.compression import parse_compression

    def needs(side: int, dtype: str) -> bool:
        coder = TileCoder("/nowhere", (512, 512), parse_compression("zstd:1"), 1, 0.0)
        return _needs_bigtiff([da.zeros((1, side, side), dtype=dtype, chunks=4096)], coder)

    assert not needs(30000, "uint8")  # 0.9 GB even uncompressed
    assert needs(70000, "uint8")  # 4.9 GB
    assert needs(40000, "float32")


# ----------------------------------------------------------------------------- metadata, pixels


@pytest.mark.parametrize(
    ("dtype", "nodata", "crs"),
    [
        ("uint8", 255, "EPSG:4326"),
        ("uint16", 0, "EPSG:32631"),
        ("uint32", None, "EPSG:3035"),
        ("int16", -9999, "EPSG:3857"),
        ("int32", None, "EPSG:2154"),
        ("float32", float("nan"), "EPSG:32631"),
        ("float64", -1e30, "EPSG:4326"),
    ],
)
@pytest.mark.parametrize(
    ("shape", "chunks"), [((1, 777, 1025), (1, 256, 384)), ((4, 515, 530), (3, 515, 100))]
)
def test_metadata_and_pixels_exact(
    tmp_path: Path,
    dtype: str,
    nodata: float | None,
    crs: str,
    shape: tuple[int, ...],
    chunks: tuple[int, ...],
) -> None:
    pixels = random_pixels(shape, dtype)
    write_geotiff(lazy_raster(pixels, chunks, crs=crs, nodata=nodata), tmp_path / "out.tif")
    with rasterio.open(tmp_path / "out.tif") as src:
        assert (src.count, src.height, src.width) == shape
        assert src.dtypes == (dtype,) * shape[0]
        assert src.crs == rasterio.crs.CRS.from_user_input(crs)
        assert src.transform == TRANSFORM
        np.testing.assert_equal(src.nodata, nodata)
        np.testing.assert_array_equal(src.read(), pixels)
        assert src.block_shapes[0] == (512, 512)
    assert_valid_cog(tmp_path / "out.tif")


def test_two_dimensional_numpy_backed_without_crs(tmp_path: Path) -> None:
    pixels = random_pixels((600, 700), "uint16")
    data = xr.DataArray(
        pixels, dims=("y", "x"), coords={"y": -np.arange(600) - 0.5, "x": np.arange(700) + 0.5}
    )
    write_geotiff(data, tmp_path / "plain.tif")
    with rasterio.open(tmp_path / "plain.tif") as src:
        assert src.crs is None
        np.testing.assert_array_equal(src.read(1), pixels)


def test_complex_pixels_are_refused_before_any_file(tmp_path: Path) -> None:
    data = lazy_raster(np.ones((20, 20), np.complex64), 10)
    with pytest.raises(ValueError, match="complex64"), geotiff_store(data, tmp_path / "out.tif"):
        pass
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------- overviews


def numpy_average(pixels: np.ndarray, nodata: float | None) -> np.ndarray:
    """An independent 2 x 2 mean of valid pixels (odd edges: the pixels there are)."""
    bands, rows, cols = pixels.shape
    values = np.full((bands, rows + rows % 2, cols + cols % 2), np.nan)
    values[:, :rows, :cols] = pixels
    if nodata is not None:
        values[values == nodata] = np.nan
    blocks = values.reshape(bands, values.shape[1] // 2, 2, values.shape[2] // 2, 2)
    valid = ~np.isnan(blocks)
    count = valid.sum(axis=(2, 4))
    total = np.where(valid, blocks, 0).sum(axis=(2, 4))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    if pixels.dtype.kind in "iu":
        mean = np.floor(mean + 0.5)
    mean[count == 0] = np.nan if nodata is None else nodata
    return mean.astype(pixels.dtype)


@pytest.mark.parametrize("nodata", [float("nan"), -9999.0])
def test_float_overviews_are_averages_of_valid_pixels(tmp_path: Path, nodata: float) -> None:
    pixels = random_pixels((2, 2111, 1301), "float32")
    pixels[:, :300, :200] = nodata  # whole 2 x 2 blocks of nodata
    pixels[:, 1001:1400:7, 3:900:5] = nodata  # and scattered single pixels
    write_geotiff(lazy_raster(pixels, (2, 700, 500), nodata=nodata), tmp_path / "out.tif")
    expected = pixels
    for level in range(3):  # 1056 x 651, 528 x 326, 264 x 163
        expected = numpy_average(expected, nodata)
        found = overview(tmp_path / "out.tif", level)
        assert found.shape == expected.shape
        np.testing.assert_array_equal(found, expected)
    with rasterio.open(tmp_path / "out.tif") as src:
        assert src.overviews(1) == [2, 4, 8]


def test_float64_overviews(tmp_path: Path) -> None:
    pixels = random_pixels((1, 1030, 1030), "float64")
    write_geotiff(lazy_raster(pixels, 1030), tmp_path / "out.tif")
    np.testing.assert_allclose(overview(tmp_path / "out.tif", 0), numpy_average(pixels, None), rtol=1e-15)


@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint32"])
def test_integer_overviews_are_nearest_decimations(tmp_path: Path, dtype: str) -> None:
    """Masks and classes keep their values: level k is pixels[::2**k, ::2**k]."""
    pixels = random_pixels((1, 2500, 1111), dtype)
    write_geotiff(lazy_raster(pixels, (1, 1024, 512), nodata=None), tmp_path / "out.tif")
    with rasterio.open(tmp_path / "out.tif") as src:
        assert len(src.overviews(1)) == 3
    for level in range(3):
        step = 2 ** (level + 1)
        np.testing.assert_array_equal(overview(tmp_path / "out.tif", level), pixels[:, ::step, ::step])


def test_integer_average_on_request_rounds_half_up(tmp_path: Path) -> None:
    pixels = random_pixels((1, 1201, 1025), "int16")
    pixels[0, :2, :2] = [[1, 2], [2, 2]]  # 1.75 -> 2
    pixels[0, :2, 2:4] = [[1, 2], [1, 2]]  # 1.5 -> 2
    pixels[0, :2, 4:6] = [[-1, -2], [-1, -2]]  # -1.5 -> -1
    data = lazy_raster(pixels, 400, nodata=-32768)
    with geotiff_store(data, tmp_path / "out.tif", resampling="average") as store:
        store.compute()
    found = overview(tmp_path / "out.tif", 0)
    np.testing.assert_array_equal(found, numpy_average(pixels, -32768))
    assert found[0, 0, :3].tolist() == [2, 2, -1]


def test_unknown_resampling_is_refused(tmp_path: Path) -> None:
    with (
        pytest.raises(ValueError, match="resampling"),
        geotiff_store(
            lazy_raster(random_pixels((10, 10), "uint8"), 5), tmp_path / "out.tif", resampling="cubic"
        ),
    ):
        pass


def test_levels_until_one_tile(tmp_path: Path) -> None:
    """As GDAL's COG driver: halve until the level fits in one 512 x 512 tile."""
    write_geotiff(lazy_raster(random_pixels((5000, 513), "uint8"), 1000), tmp_path / "out.tif")
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        shapes = [page.shape for page in tif.pages]
    assert shapes == [(5000, 513), (2500, 257), (1250, 129), (625, 65), (313, 33)]
    assert [math.ceil(5000 / 2**k) for k in range(5)] == [shape[0] for shape in shapes]
