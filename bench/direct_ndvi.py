"""The baseline: NDVI of two GeoTIFFs with plain rasterio + numpy, as a careful user would write it.

    python -m bench.direct_ndvi RED NIR OUT [COMPRESSION] [--cog]

RED and NIR are paths or ``/vsicurl/`` URLs. Reads and writes one row of 512-pixel tiles at a time
(bounded memory, whole tiles, GDAL merges the row's range requests), computes in float32 with
numpy, writes a tiled float32 GeoTIFF (512 x 512, predictor 3, NaN nodata) compressed as the
service compresses its results (COMPRESSION in ``WPS_OUTPUT_COMPRESSION`` form, default
``zstd:1``, the service's default), with the same GDAL options for remote reads and
multi-threaded compression. No overviews: a plain rasterio user writes a tiled GeoTIFF, not a COG.
With ``--cog`` the script then makes that file a COG as a GDAL user would (``gdal_translate -of
COG``: the COG driver, overviews averaged, the same codec and predictor, all cores), the second
pass over the file that the service's results (COGs) are compared with in ``bench_ndvi --cog``.
One process, one thread of Python: the simplest correct script, no dask.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
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


def run_cog(red_path: str, nir_path: str, out_path: Path, compression: str = DEFAULT_COMPRESSION) -> None:
    """:func:`run` into a temporary tiled GeoTIFF, then GDAL's COG driver from it to ``out_path``."""
    with tempfile.TemporaryDirectory(dir=out_path.parent) as scratch:
        tiled = Path(scratch) / "tiled.tif"
        run(red_path, nir_path, tiled, compression)
        options = creation_options(compression)
        if "zstd_level" in options or "zlevel" in options:
            options["level"] = options.pop("zstd_level", options.pop("zlevel", None))
        with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):
            rasterio.shutil.copy(
                tiled,
                out_path,
                driver="COG",
                **options,
                predictor="FLOATING_POINT",
                overview_resampling="AVERAGE",
                blocksize=512,
                num_threads="ALL_CPUS",
                bigtiff="IF_SAFER",
            )


if __name__ == "__main__":
    arguments = [argument for argument in sys.argv[1:] if argument != "--cog"]
    if len(arguments) not in (3, 4):
        sys.exit("usage: python -m bench.direct_ndvi RED NIR OUT [COMPRESSION] [--cog]")
    (run_cog if "--cog" in sys.argv else run)(arguments[0], arguments[1], Path(arguments[2]), *arguments[3:])
