"""Terrain and band math on Sentinel-2-sized scenes: the service (WPS 1.0.0, by reference) vs direct scripts.

    python -m bench.bench_terrain                       # 10980 x 10980: hillshade, slope, band_math; 3 runs
    python -m bench.bench_terrain --size 4096 -n 1      # a quick run
    python -m bench.bench_terrain --jobs hillshade      # one job
    python -m bench.bench_terrain --direct PRODUCT DEM OUT   # the direct terrain script alone

Inputs are generated once under bench/_work/inputs and served by the local HTTP data server; both
sides read them through GDAL ``/vsicurl/`` and write a tiled zstd (level 1, predictor 3) float32
GeoTIFF with NaN nodata (the service's a COG, with overviews). The direct terrain script is plain rasterio + numpy, 512 rows at a time
with a one-row halo, Horn's method in float64, no dask. ``band_math`` computes the NDVI of the
red/nir pair of ``bench.bench_ndvi`` and is compared with ``bench.direct_ndvi``. The service runs
as ``uvicorn app.main:app`` (``bench.service.bench_service``); its peak RSS (with children) is
sampled every 50 ms.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import psutil
import rasterio
import rasterio.windows

from bench.data import TILE, ensure_pair, transform_for, write_dem_cog
from bench.direct_ndvi import GDAL_OPTIONS
from bench.service import PeakRss, bench_service, execute_and_download, execute_xml, reference_input
from tests.support.dataserver import DataServer

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work"
ROWS = 512
NODATA = -9999.0
NDVI = "(b2 - b1) / (b2 + b1)"


# --- inputs ---------------------------------------------------------------------------------------


def dem_rows(size: int, row0: int, rows: int) -> np.ndarray:
    """Rows ``row0 .. row0 + rows`` of a deterministic mountainous DEM (metres), nodata wedge."""
    y, x = np.mgrid[row0 : row0 + rows, 0:size].astype(np.float32)
    relief = 600 * np.sin(x / 1500.0) * np.cos(y / 1100.0) + 150 * np.sin((x + 2 * y) / 230.0)
    relief += 25 * np.cos(x / 37.0) * np.sin(y / 53.0) + 0.02 * x + 900
    rng = np.random.default_rng([row0, 7])
    values = (relief + rng.normal(0.0, 0.5, (rows, size))).astype(np.float32)
    values[x + y < size / 10] = NODATA
    return values


def ensure_dem(directory: Path, size: int) -> Path:
    """The cached DEM COG of this size (512 tiles, deflate, predictor 3), generated when missing."""
    directory.mkdir(parents=True, exist_ok=True)
    path, stamp = directory / f"dem_{size}.tif", directory / f"dem_{size}.json"
    wanted = {"size": size, "tile": TILE, "version": 1}
    if path.exists() and stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return path
    strips = (
        (row0, min(TILE, size - row0), dem_rows(size, row0, min(TILE, size - row0)))
        for row0 in range(0, size, TILE)
    )
    write_dem_cog(path, size, strips, transform_for(), NODATA)
    stamp.write_text(json.dumps(wanted))
    return path


# --- the direct script ----------------------------------------------------------------------------


def horn_product(padded: np.ndarray, x_size: float, y_size: float, product: str) -> np.ndarray:
    """Slope (degrees) or hillshade (gdaldem's formula, 315/45) of the interior of a padded block."""
    z = padded.astype(np.float64)
    a, b, c = z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:]
    d, f = z[1:-1, :-2], z[1:-1, 2:]
    g, h, i = z[2:, :-2], z[2:, 1:-1], z[2:, 2:]
    east = ((c + 2 * f + i) - (a + 2 * d + g)) / (8 * x_size)
    north = ((a + 2 * b + c) - (g + 2 * h + i)) / (8 * y_size)
    if product == "slope":
        out = np.degrees(np.arctan(np.sqrt(east**2 + north**2)))
    else:
        az, alt = math.radians(315.0), math.radians(45.0)
        cosine = (math.sin(alt) - (east * math.sin(az) + north * math.cos(az)) * math.cos(alt)) / np.sqrt(
            1 + east**2 + north**2
        )
        out = 1 + 254 * np.maximum(cosine, 0)
    out[np.isnan(z[1:-1, 1:-1])] = np.nan
    return out.astype(np.float32)


def direct_terrain(product: str, dem_path: str, out_path: Path) -> None:
    """The product of a north-up DEM, strip by strip with a one-row halo; NaN edges and nodata."""
    with rasterio.Env(**GDAL_OPTIONS), rasterio.open(dem_path) as src:
        profile = {
            **{k: src.profile[k] for k in ("width", "height", "crs", "transform")},
            "driver": "GTiff",
            "count": 1,
            "dtype": "float32",
            "nodata": np.nan,
            "tiled": True,
            "blockxsize": 512,
            "blockysize": 512,
            "compress": "zstd",  # as the service's results (WPS_OUTPUT_COMPRESSION default zstd:1)
            "zstd_level": 1,
            "predictor": 3,
            "BIGTIFF": "IF_SAFER",
            "NUM_THREADS": "ALL_CPUS",
        }
        x_size, y_size = src.transform.a, -src.transform.e
        with rasterio.open(out_path, "w", **profile) as dst:
            for row0 in range(0, src.height, ROWS):
                rows = min(ROWS, src.height - row0)
                top, bottom = max(row0 - 1, 0), min(row0 + rows + 1, src.height)
                block = src.read(1, window=rasterio.windows.Window(0, top, src.width, bottom - top))
                block = np.where(block == src.nodata, np.nan, block).astype(np.float32)
                pad_top, pad_bottom = 1 - (row0 - top), 1 - (bottom - row0 - rows)
                padded = np.pad(block, ((pad_top, pad_bottom), (1, 1)), constant_values=np.nan)
                window = rasterio.windows.Window(0, row0, src.width, rows)
                dst.write(horn_product(padded, x_size, y_size, product), 1, window=window)


# --- the service ----------------------------------------------------------------------------------


def literal(identifier: str, value: str) -> str:
    """A wps:Input with LiteralData."""
    return (
        f"<wps:Input><ows:Identifier>{identifier}</ows:Identifier><wps:Data>"
        f"<wps:LiteralData>{escape(value)}</wps:LiteralData></wps:Data></wps:Input>"
    )


# --- the runs -------------------------------------------------------------------------------------


@dataclass
class Job:
    """One job run both ways: the service's Execute and the direct script's command."""

    name: str
    execute: str
    direct: list[str]
    seconds: dict[str, list[float]] = field(default_factory=lambda: {"direct": [], "service": []})
    peak: dict[str, list[int]] = field(default_factory=lambda: {"direct": [], "service": []})


def make_jobs(names: list[str], server: DataServer, size: int) -> list[Job]:
    """The requested jobs on the cached inputs of this size."""
    jobs = []
    for name in names:
        if name == "band_math":
            red, nir = (server.url(p.name) for p in ensure_pair(WORK / "inputs", size))
            inputs = [
                reference_input("raster", red),
                reference_input("raster", nir),
                literal("expression", NDVI),
            ]
            direct = ["-m", "bench.direct_ndvi", "/vsicurl/" + red, "/vsicurl/" + nir]
        else:
            dem = server.url(ensure_dem(WORK / "inputs", size).name)
            inputs = [reference_input("dem", dem), literal("product", name)]
            direct = ["-m", "bench.bench_terrain", "--direct", name, "/vsicurl/" + dem]
        kind = "band_math" if name == "band_math" else "terrain"
        jobs.append(Job(name, execute_xml(kind, inputs, "result"), direct))
    return jobs


def run_direct(job: Job, out: Path) -> None:
    """One run of the direct script in a fresh process."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, *job.direct, str(out)], cwd=ROOT)
    with PeakRss(process.pid) as rss:
        if process.wait() != 0:
            raise RuntimeError(f"the direct script of {job.name} failed")
    job.seconds["direct"].append(time.perf_counter() - start)
    job.peak["direct"].append(rss.peak)


def run_service(job: Job, url: str, pid: int, out: Path) -> None:
    """One Execute through the service, the result downloaded."""
    with PeakRss(pid) as rss:
        start = time.perf_counter()
        execute_and_download(url, job.execute, out)
        job.seconds["service"].append(time.perf_counter() - start)
    job.peak["service"].append(rss.peak)


def agree(first: Path, second: Path) -> float:
    """Largest absolute difference between two float rasters (inf if NaN masks or grids differ)."""
    worst = 0.0
    with rasterio.open(first) as a, rasterio.open(second) as b:
        if (a.shape, a.transform) != (b.shape, b.transform):
            return math.inf
        for row0 in range(0, a.height, 1024):
            window = rasterio.windows.Window(0, row0, a.width, min(1024, a.height - row0))
            x, y = a.read(1, window=window), b.read(1, window=window)
            if not np.array_equal(np.isnan(x), np.isnan(y)):
                return math.inf
            worst = max(worst, float(np.nanmax(np.abs(x - y), initial=0.0)))
    return worst


def report(job: Job, difference: float) -> None:
    """Print one job's figures."""
    medians = {side: statistics.median(times) for side, times in job.seconds.items()}
    for side in ("direct", "service"):
        runs = ", ".join(f"{s:.1f}" for s in job.seconds[side])
        peak = max(job.peak[side]) / 2**20
        print(
            f"{job.name:>10} {side:>7}: median {medians[side]:6.1f} s (runs {runs})  peak RSS {peak:5.0f} MiB"
        )
    ratio = medians["service"] / medians["direct"]
    print(f"{job.name:>10}   ratio: {ratio:.2f}   max |service - direct| = {difference:.2g}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with --direct, the direct terrain script alone)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--repeat", type=int, default=3, help="runs of each job and side (default 3)")
    parser.add_argument("--size", type=int, default=10980, help="edge of the square scenes in pixels")
    parser.add_argument("--jobs", default="hillshade,slope,band_math", help="comma list of jobs")
    parser.add_argument("--direct", nargs=3, metavar=("PRODUCT", "DEM", "OUT"), help="run the direct script")
    args = parser.parse_args(argv)
    if args.direct:
        direct_terrain(args.direct[0], args.direct[1], Path(args.direct[2]))
        return 0
    outputs = WORK / "outputs-terrain"
    outputs.mkdir(parents=True, exist_ok=True)
    print(f"{args.size} x {args.size} scenes under {WORK / 'inputs'}; {psutil.cpu_count()} CPUs", flush=True)
    with (
        DataServer(WORK / "inputs") as server,
        bench_service(WORK / "data-terrain", {"WPS_RESULT_TTL": "300"}) as (url, pid),
    ):
        print(f"service idle RSS {psutil.Process(pid).memory_info().rss / 2**20:.0f} MiB", flush=True)
        for job in make_jobs(args.jobs.split(","), server, args.size):
            direct_out, service_out = outputs / f"{job.name}_direct.tif", outputs / f"{job.name}_service.tif"
            for _ in range(args.repeat):
                run_direct(job, direct_out)
                run_service(job, url, pid, service_out)
            report(job, agree(direct_out, service_out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
