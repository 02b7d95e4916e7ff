"""Small GeoTIFFs with known pixels, for any CRS x dtype x nodata x size x layout x band count.

``RasterFactory(tmp_path)(width=..., dtype=..., nodata=...)`` writes a file and returns it with the
exact array written, so tests compare what the service reads against an independent numpy array.
Pixels are seeded random values in the dtype's range (``pattern="random"``) or encode their own
position (``pattern="xy"``: ``band * 1_000_000 + row * 1000 + col``, wrapped to the dtype), as in
odc-geo's ``gen_test_image_xy``. Nothing is committed: fixtures generate what they need.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine

Pattern = Literal["random", "xy"]
UTM_10M = Affine(10.0, 0.0, 500000.0, 0.0, -10.0, 5600000.0)


@dataclass(frozen=True)
class RasterSpec:
    """What to write. The default transform puts the origin at (500000, 5600000), 10 m pixels."""

    width: int = 300
    height: int = 200
    count: int = 1
    dtype: str = "uint16"
    crs: str | None = "EPSG:32631"
    nodata: float | None = None
    nodata_fraction: float = 0.0  # share of pixels set to nodata (needs nodata)
    tiled: bool = True
    blocksize: int = 128
    compress: str | None = "deflate"
    interleave: Literal["pixel", "band"] = "pixel"
    transform: Affine | None = UTM_10M
    pattern: Pattern = "random"
    seed: int = 0


@dataclass(frozen=True)
class Raster:
    """A written raster: its path, the exact pixels (band, y, x) and how it was made."""

    path: Path
    data: np.ndarray
    spec: RasterSpec


def make_pixels(spec: RasterSpec) -> np.ndarray:
    """The (band, y, x) array a spec describes."""
    shape = (spec.count, spec.height, spec.width)
    dtype = np.dtype(spec.dtype)
    rng = np.random.default_rng(spec.seed)
    if spec.pattern == "xy":
        band, row, col = np.indices(shape, dtype=np.int64)
        values = (band + 1) * 1_000_000 + row * 1000 + col
        data = values.astype(dtype) if dtype.kind == "f" else (values % _span(dtype)).astype(dtype)
    elif dtype.kind == "f":
        data = rng.normal(100.0, 50.0, shape).astype(dtype)
    else:
        info = np.iinfo(dtype)
        data = rng.integers(info.min, info.max, shape, endpoint=True, dtype=dtype)
    if spec.nodata is not None:
        data[data == spec.nodata] = data.dtype.type(1)  # nodata only where placed on purpose
        if spec.nodata_fraction:
            data[rng.random(shape) < spec.nodata_fraction] = spec.nodata
    return data


def _span(dtype: np.dtype) -> int:
    info = np.iinfo(dtype)
    return min(int(info.max), 2**31 - 1)


def profile(spec: RasterSpec) -> dict[str, object]:
    """The rasterio creation profile of a spec."""
    options: dict[str, object] = {
        "driver": "GTiff",
        "width": spec.width,
        "height": spec.height,
        "count": spec.count,
        "dtype": spec.dtype,
        "crs": spec.crs,
        "transform": spec.transform,
        "nodata": spec.nodata,
        "interleave": spec.interleave,
    }
    if spec.compress:
        options["compress"] = spec.compress
    if spec.tiled:
        options.update(tiled=True, blockxsize=spec.blocksize, blockysize=spec.blocksize)
    else:
        options["blockysize"] = min(spec.blocksize, spec.height)
    return {key: value for key, value in options.items() if value is not None}


def write_raster(path: Path, spec: RasterSpec, data: np.ndarray | None = None) -> Raster:
    """Write ``data`` (or the spec's pixels) as a GeoTIFF."""
    pixels = make_pixels(spec) if data is None else data
    with rasterio.open(path, "w", **profile(spec)) as dst:  # type: ignore[arg-type]
        dst.write(pixels)
    return Raster(path, pixels, spec)


def write_cog(path: Path, spec: RasterSpec, data: np.ndarray | None = None) -> Raster:
    """Write a cloud-optimized GeoTIFF (header first, tiles after, no overviews)."""
    plain = write_raster(path.with_suffix(".plain.tif"), replace(spec, compress=None), data)
    rasterio.shutil.copy(
        plain.path,
        path,
        driver="COG",
        BLOCKSIZE=spec.blocksize,
        COMPRESS=(spec.compress or "NONE").upper(),
        OVERVIEWS="NONE",
    )
    plain.path.unlink()
    return Raster(path, plain.data, spec)


class RasterFactory:
    """Writes rasters into one directory: ``factory(name, **spec_fields)``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._count = 0

    def __call__(self, name: str | None = None, *, cog: bool = False, **fields: object) -> Raster:
        """Write one raster; ``fields`` override :class:`RasterSpec` defaults."""
        self._count += 1
        path = self.directory / (name or f"raster-{self._count}.tif")
        spec = RasterSpec(**fields)  # type: ignore[arg-type]
        return write_cog(path, spec) if cog else write_raster(path, spec)
