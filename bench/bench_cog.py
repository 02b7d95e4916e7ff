"""What each WPS_OUTPUT_COMPRESSION value costs and saves: the COG writer, in-process.

    python -m bench.bench_cog                          # 10980 x 10980, every codec, 3 kinds of result
    python -m bench.bench_cog --size 4096 -n 1         # a quick run
    python -m bench.bench_cog --codecs zstd:1,deflate:6 --kinds ndvi

Kinds of result, all computed lazily from the ``bench_ndvi`` pair (local files, no HTTP):
``ndvi`` (float32, noisy: the hard case), ``mask`` (uint8, NDVI > 0.48, about half the pixels, 255 where undefined, as
change_detection's mask), ``surface`` (float32, a smooth DEM-like field from the red band's
low bits removed: what terrain and interpolated results look like). Each is written as a COG by
``app.raster.write.write_geotiff`` on the threaded scheduler with each codec; printed: median
wall time, CPU time, file size and its share of the raw pixels (overviews included).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import xarray as xr

from app.algorithms.ndvi import ndvi
from app.raster.open import open_raster
from app.raster.write import write_geotiff
from bench.data import ensure_pair

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work"
CODECS = "zstd:1,zstd:3,zstd:9,deflate:1,deflate:6,lzw"
KINDS = "ndvi,mask,surface"


def result(kind: str, red: Path, nir: Path, chunk_size: int) -> xr.DataArray:
    """One lazy result of the given kind."""
    red_band = open_raster(str(red), chunk_size=chunk_size, locator="red").isel(band=0)
    nir_band = open_raster(str(nir), chunk_size=chunk_size, locator="nir").isel(band=0)
    index = ndvi(red_band, nir_band)
    if kind == "ndvi":
        return index
    if kind == "mask":
        mask = xr.where(index.isnull(), 255, index > 0.48).astype(np.uint8)
        return mask.rio.write_crs(index.rio.crs).rio.write_nodata(255)
    surface = (red_band // 64 * 64).astype(np.float32) / 10  # the noise of bench.data removed
    return surface.rio.write_crs(red_band.rio.crs).rio.write_nodata(float("nan"))


def measure(data: xr.DataArray, out: Path, codec: str, repeat: int) -> tuple[float, float, int]:
    """Median wall and CPU seconds of writing ``data`` with ``codec``, and the file size."""
    process = psutil.Process()
    walls, cpus = [], []
    for _ in range(repeat):
        before, start = process.cpu_times(), time.perf_counter()
        write_geotiff(data, out, compression=codec)
        walls.append(time.perf_counter() - start)
        after = process.cpu_times()
        cpus.append(after.user - before.user + after.system - before.system)
    return statistics.median(walls), statistics.median(cpus), out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    """Print one line per kind and codec."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--repeat", type=int, default=3, help="writes per codec (default 3)")
    parser.add_argument("--size", type=int, default=10980, help="edge of the square scene in pixels")
    parser.add_argument("--chunk-size", type=int, default=2048, help="as WPS_CHUNK_SIZE")
    parser.add_argument("--codecs", default=CODECS, help=f"comma list (default {CODECS})")
    parser.add_argument("--kinds", default=KINDS, help=f"comma list (default {KINDS})")
    args = parser.parse_args(argv)
    red, nir = ensure_pair(WORK / "inputs", args.size)
    out = WORK / "outputs" / "bench_cog.tif"
    out.parent.mkdir(parents=True, exist_ok=True)
    print(
        f"{args.size} x {args.size}, chunks {args.chunk_size}, {psutil.cpu_count()} CPUs, median of {args.repeat}"
    )
    print(f"{'kind':8} {'codec':10} {'wall s':>7} {'cpu s':>7} {'MiB':>8} {'of raw':>7}")
    for kind in args.kinds.split(","):
        data = result(kind, red, nir, args.chunk_size)
        raw = data.nbytes * 4 / 3  # with overviews
        for codec in args.codecs.split(","):
            wall, cpu, size = measure(data, out, codec, args.repeat)
            print(
                f"{kind:8} {codec:10} {wall:7.2f} {cpu:7.2f} {size / 2**20:8.1f} {size / raw:7.1%}",
                flush=True,
            )
    out.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
