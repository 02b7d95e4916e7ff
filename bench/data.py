"""Benchmark inputs: a Sentinel-2-like red/nir pair of uint16 COGs, generated once and cached.

Each band is ``size`` x ``size`` (10980 = one Sentinel-2 tile at 10 m), EPSG:32631, 512 x 512
deflate tiles with the horizontal predictor, no overviews (the hardest case for "bytes pulled": the
full-resolution tiles are the whole file). Pixels are smooth reflectance-like fields plus noise,
nodata 0 in a corner wedge, so the files compress roughly like real scenes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
import rasterio.windows
from affine import Affine

TILE = 512
CRS = "EPSG:32631"
ORIGIN = (600000.0, 5000040.0)  # a Sentinel-2 tile's upper-left corner
RESOLUTION = 10.0


def transform_for() -> Affine:
    """The geotransform of the generated pair."""
    return Affine(RESOLUTION, 0.0, ORIGIN[0], 0.0, -RESOLUTION, ORIGIN[1])


def band_rows(name: str, size: int, row0: int, rows: int) -> np.ndarray:
    """Rows ``row0 .. row0 + rows`` of band ``name`` ("red" or "nir"), deterministic."""
    y, x = np.mgrid[row0 : row0 + rows, 0:size].astype(np.float32)
    smooth = np.sin(x / 371.0) * np.cos(y / 533.0) + 0.5 * np.sin((x + y) / 1291.0)
    rng = np.random.default_rng([row0, 1 if name == "red" else 2])
    noise = rng.integers(0, 64, size=(rows, size), dtype=np.uint16)
    base, scale = (900.0, 500.0) if name == "red" else (2600.0, 1200.0)
    values = (base + scale * smooth).astype(np.uint16) + noise
    values[x + y < size / 8] = 0  # a no-data wedge, as at a swath edge
    return values


def write_band(path: Path, name: str, size: int) -> None:
    """Write one band as a COG, strip by strip (bounded memory), via a temporary tiled GeoTIFF."""
    plain = path.with_suffix(".tmp.tif")
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 1,
        "dtype": "uint16",
        "crs": CRS,
        "transform": transform_for(),
        "nodata": 0,
        "tiled": True,
        "blockxsize": TILE,
        "blockysize": TILE,
    }
    with rasterio.open(plain, "w", **profile) as dst:
        for row0 in range(0, size, TILE):
            rows = min(TILE, size - row0)
            window = rasterio.windows.Window(0, row0, size, rows)
            dst.write(band_rows(name, size, row0, rows), 1, window=window)
    options = {"BLOCKSIZE": TILE, "COMPRESS": "DEFLATE", "PREDICTOR": "YES", "OVERVIEWS": "NONE"}
    rasterio.shutil.copy(plain, path, driver="COG", NUM_THREADS="ALL_CPUS", **options)
    plain.unlink()


def ensure_pair(directory: Path, size: int) -> tuple[Path, Path]:
    """The cached red/nir pair of this size, generated when missing or stale."""
    directory.mkdir(parents=True, exist_ok=True)
    red, nir = directory / f"red_{size}.tif", directory / f"nir_{size}.tif"
    stamp = directory / f"pair_{size}.json"
    wanted = {"size": size, "tile": TILE, "version": 1}
    if red.exists() and nir.exists() and stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return red, nir
    for path, name in ((red, "red"), (nir, "nir")):
        write_band(path, name, size)
    stamp.write_text(json.dumps(wanted))
    return red, nir


def write_dem_cog(
    path: Path, size: int, strips: Iterable[tuple[int, int, np.ndarray]], transform: Any, nodata: float
) -> None:
    """A float32 DEM COG (512 tiles, deflate, predictor 3, no overviews) from (row0, rows, values) strips."""
    plain = path.with_suffix(".tmp.tif")
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 1,
        "dtype": "float32",
        "crs": CRS,
        "transform": transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": TILE,
        "blockysize": TILE,
    }
    with rasterio.open(plain, "w", **profile) as dst:
        for row0, rows, values in strips:
            dst.write(values, 1, window=rasterio.windows.Window(0, row0, size, rows))
    options = {"BLOCKSIZE": TILE, "COMPRESS": "DEFLATE", "PREDICTOR": "3", "OVERVIEWS": "NONE"}
    rasterio.shutil.copy(plain, path, driver="COG", NUM_THREADS="ALL_CPUS", **options)
    plain.unlink()
