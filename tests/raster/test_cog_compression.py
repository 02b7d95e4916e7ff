"""WPS_OUTPUT_COMPRESSION values: parsed or refused, and every codec read back by GDAL."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import imagecodecs
import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401
import xarray as xr
from rio_cogeo.cogeo import cog_validate

from app.raster.compression import (
    DEFAULT_COMPRESSION,
    Compression,
    floating_point_difference,
    horizontal_difference,
    parse_compression,
)
from app.raster.write import geotiff_store, write_geotiff


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Compression("zstd", 1)),
        (None, Compression("zstd", 1)),
        ("  ", Compression("zstd", 1)),
        ("zstd:1", Compression("zstd", 1)),
        ("ZSTD:22", Compression("zstd", 22)),
        ("zstd", Compression("zstd", 9)),  # GDAL's ZSTD_LEVEL default
        (" zstd : 3 ", Compression("zstd", 3)),
        ("deflate:6", Compression("deflate", 6)),
        ("deflate:12", Compression("deflate", 12)),
        ("Deflate", Compression("deflate", 6)),  # GDAL's ZLEVEL default
        ("zlib:1", Compression("deflate", 1)),
        ("lzw", Compression("lzw", None)),
        ("LZW", Compression("lzw", None)),
    ],
)
def test_accepted_values(text: str | None, expected: Compression) -> None:
    assert parse_compression(text) == expected
    assert parse_compression(str(expected)) == expected  # str() round-trips


def test_default_is_zstd_level_1() -> None:
    assert Compression("zstd", 1) == DEFAULT_COMPRESSION
    assert str(DEFAULT_COMPRESSION) == "zstd:1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jpeg", "invalid output compression 'jpeg' \\(unknown codec\\)"),
        ("webp:90", "unknown codec"),
        ("none", "unknown codec"),
        (":1", "unknown codec"),
        ("zstd:0", "zstd level must be 1 to 22"),
        ("zstd:23", "zstd level must be 1 to 22"),
        ("zstd:-1", "zstd level must be 1 to 22"),
        ("deflate:13", "deflate level must be 1 to 12"),
        ("deflate:fast", "must be an integer"),
        ("zstd:1.5", "must be an integer"),
        ("zstd:", "empty level"),
        ("lzw:5", "lzw takes no level"),
        ("lzw:", "lzw takes no level"),
    ],
)
def test_refused_values_say_what_is_accepted(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        parse_compression(text)
    assert "expected zstd[:1-22], deflate[:1-12] or lzw" in str(caught.value)


def test_invalid_value_refused_before_any_file(tmp_path: Path) -> None:
    data = raster(np.zeros((64, 64), np.uint8))
    with (
        pytest.raises(ValueError, match="unknown codec"),
        geotiff_store(data, tmp_path / "out.tif", "brotli"),
    ):
        pass
    assert list(tmp_path.iterdir()) == []


def raster(pixels: np.ndarray, nodata: float | None = None) -> xr.DataArray:
    height, width = pixels.shape[-2:]
    dims = ("band", "y", "x")[-pixels.ndim :]
    coords = {"y": 5600000 - 10 * (np.arange(height) + 0.5), "x": 500000 + 10 * (np.arange(width) + 0.5)}
    data = xr.DataArray(da.from_array(pixels, chunks=(1024)), dims=dims, coords=coords).rio.write_crs(
        "EPSG:32631"
    )
    return data if nodata is None else data.rio.write_nodata(nodata)


def smooth(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Compressible pixels: a smooth field plus a little noise."""
    rows, cols = np.indices(shape[-2:])
    field = np.round(1000 + 500 * np.sin(rows / 90) * np.cos(cols / 70))
    noise = np.random.default_rng(0).integers(0, 8, shape)
    return np.broadcast_to(field + noise, shape).astype(dtype)


@pytest.mark.parametrize("text", ["zstd:1", "zstd:9", "zstd", "deflate:1", "deflate:6", "deflate:9", "lzw"])
@pytest.mark.parametrize(("dtype", "bands"), [("float32", 1), ("uint16", 3)])
def test_every_codec_reads_back(tmp_path: Path, text: str, dtype: str, bands: int) -> None:
    pixels = smooth((bands, 700, 600), dtype)
    write_geotiff(raster(pixels), tmp_path / "out.tif", compression=text)
    with rasterio.open(tmp_path / "out.tif") as src:
        assert src.profile["compress"] == parse_compression(text).codec
        assert src.tags(ns="IMAGE_STRUCTURE")["PREDICTOR"] == ("3" if dtype.startswith("float") else "2")
        np.testing.assert_array_equal(src.read(), pixels)
    assert cog_validate(str(tmp_path / "out.tif"), strict=True, quiet=True) == (True, [], [])
    assert (tmp_path / "out.tif").stat().st_size < pixels.nbytes  # it did compress


def test_higher_levels_are_not_larger(tmp_path: Path) -> None:
    pixels = smooth((1, 1000, 1000), "float32")
    sizes = {}
    for text in ("zstd:1", "zstd:9", "deflate:1", "deflate:9"):
        write_geotiff(raster(pixels), tmp_path / f"{text}.tif", compression=text)
        sizes[text] = (tmp_path / f"{text}.tif").stat().st_size
    assert sizes["zstd:9"] <= sizes["zstd:1"]
    assert sizes["deflate:9"] <= sizes["deflate:1"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("samples", [1, 3])
def test_floating_point_predictor_matches_imagecodecs(dtype: str, samples: int) -> None:
    tile = np.random.default_rng(1).normal(0, 1e3, (64, 48, samples)).astype(dtype)
    ours = floating_point_difference(tile)
    theirs = imagecodecs.floatpred_encode(tile, axis=-2)  # along the row, per sample
    np.testing.assert_array_equal(ours.ravel(), np.asarray(theirs).view(np.uint8).ravel())


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "int32", "uint32", "int64"])
@pytest.mark.parametrize("samples", [1, 4])
def test_horizontal_predictor_matches_imagecodecs(dtype: str, samples: int) -> None:
    info = np.iinfo(dtype)
    tile = np.random.default_rng(2).integers(
        info.min, info.max, (32, 40, samples), dtype=dtype, endpoint=True
    )
    theirs = imagecodecs.delta_encode(tile, axis=-2)
    np.testing.assert_array_equal(horizontal_difference(tile), np.asarray(theirs).reshape(tile.shape))
