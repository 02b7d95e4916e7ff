"""NDVI of a Sentinel-2-sized pair: the service (WPS 1.0.0, by reference) vs a direct rasterio script.

    python -m bench.bench_ndvi                  # everything: generate, serve, service vs direct, clip
    python -m bench.bench_ndvi --direct-only    # no service: direct script + library-level clip
    python -m bench.bench_ndvi --size 2048 -n 1 # a quick run on a small pair

Both jobs read the same two COGs from the same local HTTP data server through GDAL ``/vsicurl/``
range reads and write a tiled float32 GeoTIFF compressed alike (``--compression``, default the
service's ``zstd:1``); the service's is a COG, with overviews. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
import rasterio
import rasterio.windows

from app.raster.compression import DEFAULT_COMPRESSION, parse_compression
from bench.data import ORIGIN, RESOLUTION, ensure_pair
from bench.service import (
    PeakRss,
    ServiceProcess,
    bbox_input,
    execute_and_download,
    execute_xml,
    reference_input,
)
from tests.support.dataserver import DataServer

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work"
CLIP_PIXELS = 512


@dataclass
class Timings:
    """Wall times (s) and peak RSS (bytes) of repeated runs of one job."""

    seconds: list[float] = field(default_factory=list)
    peak_rss: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        """Median wall time."""
        return statistics.median(self.seconds)


def run_direct(
    red_url: str, nir_url: str, out: Path, compression: str, cog: bool = False
) -> tuple[float, int]:
    """One run of the direct script in a fresh process (``cog``: then made a COG): (seconds, peak RSS)."""
    command = [sys.executable, "-m", "bench.direct_ndvi", red_url, nir_url, str(out), compression]
    command += ["--cog"] if cog else []
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT)
    with PeakRss(process.pid) as rss:
        if process.wait() != 0:
            raise RuntimeError("the direct script failed")
    return time.perf_counter() - start, rss.peak


def run_service(service: ServiceProcess, red_url: str, nir_url: str, out: Path) -> tuple[float, int]:
    """One NDVI Execute through the service, output downloaded: (seconds, peak RSS of the service)."""
    assert service.process is not None
    xml = execute_xml("ndvi", [reference_input("red", red_url), reference_input("nir", nir_url)], "ndvi")
    with PeakRss(service.process.pid) as rss:
        start = time.perf_counter()
        execute_and_download(service.url, xml, out)
        seconds = time.perf_counter() - start
    return seconds, rss.peak


def same_ndvi(first: Path, second: Path) -> bool:
    """Whether two NDVI rasters agree (NaN where one is NaN), compared strip by strip."""
    with rasterio.open(first) as a, rasterio.open(second) as b:
        if (a.width, a.height, a.transform, a.crs) != (b.width, b.height, b.transform, b.crs):
            return False
        for row0 in range(0, a.height, 1024):
            window = rasterio.windows.Window(0, row0, a.width, min(1024, a.height - row0))
            if not np.allclose(a.read(1, window=window), b.read(1, window=window), equal_nan=True):
                return False
    return True


def clip_bounds(size: int) -> tuple[float, float, float, float]:
    """A CLIP_PIXELS-square bbox (EPSG:32631) at the centre of the scene, tile-aligned off by 100 px."""
    col0 = row0 = size // 2 - CLIP_PIXELS // 2 + 100
    minx = ORIGIN[0] + col0 * RESOLUTION
    maxy = ORIGIN[1] - row0 * RESOLUTION
    return minx, maxy - CLIP_PIXELS * RESOLUTION, minx + CLIP_PIXELS * RESOLUTION, maxy


def clip_through_library(server: DataServer, red_url: str, size: int, out: Path) -> int:
    """Bytes pulled by the service's own raster layer for a clip (no HTTP service needed)."""
    from app.algorithms.clip import clip_bbox
    from app.model.requests import BoundingBoxValue
    from app.raster.egress import guarded_path
    from app.raster.gdal_env import configure_gdal
    from app.raster.open import open_raster
    from app.raster.write import write_geotiff
    from app.settings import Settings

    settings = Settings(allowed_hosts=["127.0.0.1"])
    configure_gdal(settings)
    server.reset()
    minx, miny, maxx, maxy = clip_bounds(size)
    data = open_raster(guarded_path(red_url, settings), chunk_size=2048, locator="raster")
    bbox = BoundingBoxValue(lower=(minx, miny), upper=(maxx, maxy), crs="EPSG:32631")
    write_geotiff(clip_bbox(data, bbox), out)
    return server.bytes_sent


def clip_through_service(
    server: DataServer, service: ServiceProcess, red_url: str, size: int, out: Path
) -> int:
    """Bytes pulled from the data server by a clip Execute on the service."""
    server.reset()
    inputs = [reference_input("raster", red_url), bbox_input("bbox", clip_bounds(size), "EPSG:32631")]
    execute_and_download(service.url, execute_xml("clip", inputs, "clipped"), out)
    return server.bytes_sent


def report(name: str, timings: Timings, output: Path) -> None:
    """Print one job's figures."""
    runs = ", ".join(f"{s:.2f}" for s in timings.seconds)
    peak = max(timings.peak_rss) / 2**20
    size = output.stat().st_size / 2**20
    print(
        f"{name:>8}: median {timings.median:7.2f} s  (runs: {runs})  peak RSS {peak:7.0f} MiB"
        f"  output {size:.1f} MiB"
    )


def run_jobs(
    server: DataServer, service: ServiceProcess | None, red: Path, nir: Path, args: argparse.Namespace
) -> tuple[Timings, Timings, Timings]:
    """Alternate direct (and direct COG with ``--cog``) and service runs ``args.repeat`` times on
    the same served pair."""
    red_url, nir_url = server.url(red.name), server.url(nir.name)
    direct, direct_cog, served = Timings(), Timings(), Timings()
    for _ in range(args.repeat):
        seconds, peak = run_direct(
            "/vsicurl/" + red_url, "/vsicurl/" + nir_url, WORK / "outputs" / "direct.tif", args.compression
        )
        direct.seconds.append(seconds)
        direct.peak_rss.append(peak)
        if args.cog:
            out = WORK / "outputs" / "direct_cog.tif"
            seconds, peak = run_direct(
                "/vsicurl/" + red_url, "/vsicurl/" + nir_url, out, args.compression, True
            )
            direct_cog.seconds.append(seconds)
            direct_cog.peak_rss.append(peak)
        if service is not None:
            seconds, peak = run_service(service, red_url, nir_url, WORK / "outputs" / "service.tif")
            served.seconds.append(seconds)
            served.peak_rss.append(peak)
    return direct, direct_cog, served


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print medians, their ratio, peak RSS and bytes pulled by the clip."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--repeat", type=int, default=3, help="repetitions of each job (default 3)")
    parser.add_argument("--size", type=int, default=10980, help="edge of the square scene in pixels")
    parser.add_argument("--direct-only", action="store_true", help="skip the service (not ready yet)")
    parser.add_argument(
        "--compression",
        default=str(DEFAULT_COMPRESSION),
        help="of both outputs, as WPS_OUTPUT_COMPRESSION (default: the service's, %(default)s)",
    )
    parser.add_argument(
        "--cog",
        action="store_true",
        help="also time the direct script making its result a COG (GDAL's COG driver, overviews)",
    )
    args = parser.parse_args(argv)
    parse_compression(args.compression)  # refused here rather than by both jobs

    inputs, outputs = WORK / "inputs", WORK / "outputs"
    outputs.mkdir(parents=True, exist_ok=True)
    print(f"generating or reusing the {args.size} x {args.size} pair under {inputs} ...", flush=True)
    red, nir = ensure_pair(inputs, args.size)
    size = red.stat().st_size
    print(f"red {size / 2**20:.0f} MiB, nir {nir.stat().st_size / 2**20:.0f} MiB; {psutil.cpu_count()} CPUs")

    with DataServer(inputs) as server:
        env = {"WPS_OUTPUT_COMPRESSION": args.compression}
        service = None if args.direct_only else ServiceProcess(WORK / "data", extra_env=env)
        with service or contextlib.nullcontext():
            direct, direct_cog, served = run_jobs(server, service, red, nir, args)
            report("direct", direct, outputs / "direct.tif")
            if args.cog:
                report("dir. COG", direct_cog, outputs / "direct_cog.tif")
            if service is not None:
                report("service", served, outputs / "service.tif")
                print(f"   ratio: service / direct = {served.median / direct.median:.2f}")
                if args.cog:
                    print(f"   ratio: service / direct COG = {served.median / direct_cog.median:.2f}")
                print(f"   agree: {same_ndvi(outputs / 'direct.tif', outputs / 'service.tif')}")
                pulled = clip_through_service(
                    server, service, server.url(red.name), args.size, outputs / "clip.tif"
                )
                print(
                    f"clip {CLIP_PIXELS} px via the service: pulled {pulled} B = {pulled / size:.3%} of the file"
                )
        pulled = clip_through_library(server, server.url(red.name), args.size, outputs / "clip_library.tif")
        print(f"clip {CLIP_PIXELS} px via app.raster: pulled {pulled} B = {pulled / size:.3%} of the file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
