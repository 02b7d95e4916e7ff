"""The baseline: NDVI of two GeoTIFFs with plain rasterio + numpy, as a careful user would write it.

    python -m bench.direct_ndvi RED NIR OUT [COMPRESSION]

RED and NIR are paths or ``/vsicurl/`` URLs. Reads and writes one row of 512-pixel tiles at a time
(bounded memory, whole tiles, GDAL merges the row's range requests), computes in float32 with
numpy, writes a tiled float32 GeoTIFF (512 x 512, predictor 3, NaN nodata) compressed as the
service compresses its results (COMPRESSION in ``WPS_OUTPUT_COMPRESSION`` form, default
``zstd:1``, the service's default), with the same GDAL options for remote reads and
multi-threaded compression. No overviews: a plain rasterio user writes a tiled GeoTIFF, not a COG
(GDAL's COG driver would add a second pass over the file). One process, one thread of Python:
the simplest correct script, no dask.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import rasterio
import rasterio.windows

GDAL_OPTIONS = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIPLEX": "YES",
    "VSI_CACHE": "TRUE",
}
ROWS = 512
DEFAULT_COMPRESSION = "zstd:1"


def creation_options(compression: str) -> dict[str, object]:
    """GDAL creation options for ``zstd:1``, ``deflate:6``, ``lzw`` (a codec alone: GDAL's level)."""
    codec, _, level = compression.lower().partition(":")
    options: dict[str, object] = {"compress": codec}
    if level:
        options["zstd_level" if codec == "zstd" else "zlevel"] = int(level)
    return options


def ndvi_block(
    red: np.ndarray, nir: np.ndarray, red_nodata: float | None, nir_nodata: float | None
) -> np.ndarray:
    """(nir - red) / (nir + red) in float32, NaN where nodata or the sum is zero."""
    red_f, nir_f = red.astype(np.float32), nir.astype(np.float32)
    total = nir_f + red_f
    with np.errstate(divide="ignore", invalid="ignore"):
        index = (nir_f - red_f) / total
    invalid = total == 0
    if red_nodata is not None:
        invalid |= red == red_nodata
    if nir_nodata is not None:
        invalid |= nir == nir_nodata
    index[invalid] = np.nan
    return index


def run(red_path: str, nir_path: str, out_path: Path, compression: str = DEFAULT_COMPRESSION) -> None:
    """Compute the NDVI of two rasters on the same grid into ``out_path``."""
    with rasterio.Env(**GDAL_OPTIONS), rasterio.open(red_path) as red, rasterio.open(nir_path) as nir:
        profile = {
            "driver": "GTiff",
            "width": red.width,
            "height": red.height,
            "count": 1,
            "dtype": "float32",
            "nodata": np.nan,
            "crs": red.crs,
            "transform": red.transform,
            "tiled": True,
            "blockxsize": 512,
            "blockysize": 512,
            **creation_options(compression),
            "predictor": 3,
            "BIGTIFF": "IF_SAFER",
            "NUM_THREADS": "ALL_CPUS",
        }
        with rasterio.open(out_path, "w", **profile) as dst:
            for row0 in range(0, red.height, ROWS):
                window = rasterio.windows.Window(0, row0, red.width, min(ROWS, red.height - row0))
                index = ndvi_block(
                    red.read(1, window=window), nir.read(1, window=window), red.nodata, nir.nodata
                )
                dst.write(index, 1, window=window)


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit("usage: python -m bench.direct_ndvi RED NIR OUT [COMPRESSION]")
    run(sys.argv[1], sys.argv[2], Path(sys.argv[3]), *sys.argv[4:])
