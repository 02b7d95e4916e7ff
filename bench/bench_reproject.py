"""Reproject and change detection of a Sentinel-2-sized scene: the service vs direct rasterio scripts.

    python -m bench.bench_reproject                     # 10980 x 10980, both jobs, 3 runs each
    python -m bench.bench_reproject --size 4096 -n 1    # a quick run
    python -m bench.bench_reproject --jobs reproject    # one job
    python -m bench.bench_reproject --direct reproject IN OUT        # a direct script alone
    python -m bench.bench_reproject --direct change BEFORE AFTER OUT_DIFF OUT_MASK

Inputs: the uint16 red/nir COG pair of ``bench.data`` (EPSG:32631, nodata 0), served by the local
HTTP data server; both sides read through GDAL ``/vsicurl/``.

- ``reproject``: red to EPSG:4326, bilinear, on GDAL's suggested grid. The direct script is what
  ``gdalwarp -r bilinear -multi -wo NUM_THREADS=ALL_CPUS`` does: ``rasterio.warp.reproject`` from
  the source band into the destination file's band (GDAL chunks, warps with all cores and
  writes), into a tiled 512 GeoTIFF compressed as the service's results (zstd level 1; the
  service writes a COG, with overviews).
- ``change``: difference of nir and red (same grid) with threshold 1700: the service is asked for
  all three outputs (difference and mask by reference, changed_fraction by value); the direct
  script reads both inputs 512 rows at a time once, writes both rasters and counts as it goes.

The service runs as ``uvicorn app.main:app`` (``bench.service.bench_service``); its peak RSS
(with children) is sampled every 50 ms. Direct and service runs alternate; medians, ratios and agreement are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import psutil
import rasterio
import rasterio.windows
from rasterio.enums import Resampling
from rasterio.warp import calculate_default_transform

from bench.data import ensure_pair
from bench.direct_ndvi import GDAL_OPTIONS
from bench.service import PeakRss, bench_service, reference_input
from tests.support.dataserver import DataServer

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work"
ROWS = 512
THRESHOLD = 1700.0  # about half the nir - red differences of bench.data
WPS = "{http://www.opengis.net/wps/1.0.0}"
OWS = "{http://www.opengis.net/ows/1.1}"
NAMESPACES = (
    'xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1" '
    'xmlns:xlink="http://www.w3.org/1999/xlink"'
)
PROFILE = {  # compressed as app.raster.write's results (zstd:1), for the direct scripts (no overviews)
    "driver": "GTiff",
    "tiled": True,
    "blockxsize": 512,
    "blockysize": 512,
    "compress": "zstd",
    "zstd_level": 1,
    "BIGTIFF": "IF_SAFER",
    "NUM_THREADS": "ALL_CPUS",
}


# --- the direct scripts ---------------------------------------------------------------------------


def direct_reproject(source: str, out: Path) -> None:
    """gdalwarp -t_srs EPSG:4326 -r bilinear -multi, with rasterio."""
    with rasterio.Env(**GDAL_OPTIONS), rasterio.open(source) as src:
        transform, width, height = calculate_default_transform(
            src.crs, "EPSG:4326", src.width, src.height, *src.bounds
        )
        profile = PROFILE | {
            "width": width,
            "height": height,
            "count": src.count,
            "dtype": src.dtypes[0],
            "crs": "EPSG:4326",
            "transform": transform,
            "nodata": src.nodata,
            "predictor": 2,
        }
        with rasterio.open(out, "w", **profile) as dst:
            rasterio.warp.reproject(
                rasterio.band(src, list(range(1, src.count + 1))),
                rasterio.band(dst, list(range(1, src.count + 1))),
                resampling=Resampling.bilinear,
                num_threads=os.cpu_count() or 1,
                warp_mem_limit=256,
            )


def change_block(
    before: np.ndarray, after: np.ndarray, nodata: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """after - before in float32 (NaN where nodata) and the uint8 mask (1, 0, 255)."""
    old, new = before.astype(np.float32), after.astype(np.float32)
    difference = new - old
    if nodata is not None:
        difference[(before == nodata) | (after == nodata)] = np.nan
    mask = (np.abs(difference.astype(np.float64)) > THRESHOLD).astype(np.uint8)
    mask[np.isnan(difference)] = 255
    return difference, mask


def direct_change(before_path: str, after_path: str, out_difference: Path, out_mask: Path) -> float:
    """Difference, mask and changed fraction, 512 rows at a time; returns the fraction."""
    changed = valid = 0
    with (
        rasterio.Env(**GDAL_OPTIONS),
        rasterio.open(before_path) as before,
        rasterio.open(after_path) as after,
    ):
        common = PROFILE | {"width": before.width, "height": before.height, "count": 1}
        common |= {"crs": before.crs, "transform": before.transform}
        float_profile = common | {"dtype": "float32", "nodata": np.nan, "predictor": 3}
        mask_profile = common | {"dtype": "uint8", "nodata": 255, "predictor": 2}
        with (
            rasterio.open(out_difference, "w", **float_profile) as diff,
            rasterio.open(out_mask, "w", **mask_profile) as msk,
        ):
            for row0 in range(0, before.height, ROWS):
                window = rasterio.windows.Window(0, row0, before.width, min(ROWS, before.height - row0))
                difference, mask = change_block(
                    before.read(1, window=window), after.read(1, window=window), before.nodata
                )
                diff.write(difference, 1, window=window)
                msk.write(mask, 1, window=window)
                changed += int((mask == 1).sum())
                valid += int((mask != 255).sum())
    return changed / valid if valid else 0.0


# --- the service ----------------------------------------------------------------------------------


def literal(identifier: str, value: str) -> str:
    """A wps:Input with LiteralData."""
    return (
        f"<wps:Input><ows:Identifier>{identifier}</ows:Identifier><wps:Data>"
        f"<wps:LiteralData>{value}</wps:LiteralData></wps:Data></wps:Input>"
    )


def execute(process: str, inputs: list[str], outputs: dict[str, bool]) -> str:
    """A synchronous Execute; ``outputs`` maps identifiers to asReference."""
    wanted = "".join(
        f'<wps:Output asReference="{str(ref).lower()}"><ows:Identifier>{name}</ows:Identifier></wps:Output>'
        for name, ref in outputs.items()
    )
    return (
        f'<wps:Execute service="WPS" version="1.0.0" {NAMESPACES}><ows:Identifier>{process}</ows:Identifier>'
        f"<wps:DataInputs>{''.join(inputs)}</wps:DataInputs>"
        f"<wps:ResponseForm><wps:ResponseDocument>{wanted}</wps:ResponseDocument></wps:ResponseForm></wps:Execute>"
    )


def run_execute(url: str, xml: str, downloads: dict[str, Path]) -> dict[str, str]:
    """POST the Execute, download the referenced outputs; returns the literal outputs' values."""
    literals: dict[str, str] = {}
    with httpx.Client(timeout=3600) as client:
        answer = client.post(f"{url}/wps", content=xml, headers={"Content-Type": "text/xml"})
        root = ET.fromstring(answer.content)
        outputs = root.findall(f"{WPS}ProcessOutputs/{WPS}Output")
        if not outputs:
            raise RuntimeError(answer.text[:2000])
        for output in outputs:
            name = output.findtext(f"{OWS}Identifier") or ""
            reference = output.find(f"{WPS}Reference")
            if reference is None:
                literals[name] = output.findtext(f"{WPS}Data/{WPS}LiteralData") or ""
                continue
            with (
                client.stream("GET", reference.get("href") or "") as result,
                downloads[name].open("wb") as sink,
            ):
                result.raise_for_status()
                for block in result.iter_bytes(1 << 20):
                    sink.write(block)
    return literals


# --- the runs -------------------------------------------------------------------------------------


@dataclass
class Figures:
    """Wall times (s) and peak RSS (bytes) of repeated runs."""

    seconds: list[float] = field(default_factory=list)
    peak_rss: list[int] = field(default_factory=list)

    def add(self, seconds: float, peak: int) -> None:
        """Record one run."""
        self.seconds.append(seconds)
        self.peak_rss.append(peak)

    def line(self, name: str) -> str:
        """One printed line: median, runs, peak RSS."""
        runs = ", ".join(f"{s:.1f}" for s in self.seconds)
        median = statistics.median(self.seconds)
        return f"{name:>18}: median {median:7.1f} s (runs: {runs})  peak RSS {max(self.peak_rss) / 2**20:6.0f} MiB"


def timed_direct(arguments: list[str]) -> tuple[float, int]:
    """A direct script in a fresh process: (seconds, peak RSS)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_reproject", "--direct", *arguments], cwd=ROOT
    )
    with PeakRss(process.pid) as rss:
        if process.wait() != 0:
            raise RuntimeError(f"direct script failed: {arguments}")
    return time.perf_counter() - start, rss.peak


def timed_service(pid: int, run: Callable[[], dict[str, str]]) -> tuple[float, int, dict[str, str]]:
    """One Execute through the service: (seconds, peak RSS of the service, literals)."""
    with PeakRss(pid) as rss:
        start = time.perf_counter()
        literals = run()
        seconds = time.perf_counter() - start
    return seconds, rss.peak, literals


def compare(first: Path, second: Path) -> tuple[float, float]:
    """(share of differing pixels, largest difference) of two single-band rasters, strip by strip."""
    differing = total = 0
    largest = 0.0
    with rasterio.open(first) as a, rasterio.open(second) as b:
        assert (a.shape, a.crs) == (b.shape, b.crs) and a.transform.almost_equals(b.transform)
        for row0 in range(0, a.height, 1024):
            window = rasterio.windows.Window(0, row0, a.width, min(1024, a.height - row0))
            x, y = a.read(1, window=window).astype(np.float64), b.read(1, window=window).astype(np.float64)
            unequal = ~((x == y) | (np.isnan(x) & np.isnan(y)))
            differing += int(unequal.sum())
            total += x.size
            if unequal.any():
                largest = max(largest, float(np.nanmax(np.abs(x - y)[unequal])))
    return differing / total, largest


def bench_reproject(url: str, pid: int, source_url: str, repeat: int) -> None:
    """The reproject job both ways."""
    outputs = WORK / "outputs"
    direct, service = Figures(), Figures()
    xml = execute(
        "reproject",
        [
            reference_input("raster", source_url),
            literal("crs", "EPSG:4326"),
            literal("resampling", "bilinear"),
        ],
        {"reprojected": True},
    )
    for _ in range(repeat):
        direct.add(
            *timed_direct(["reproject", "/vsicurl/" + source_url, str(outputs / "reproject_direct.tif")])
        )
        seconds, peak, _ = timed_service(
            pid, lambda: run_execute(url, xml, {"reprojected": outputs / "reproject_service.tif"})
        )
        service.add(seconds, peak)
    print(direct.line("reproject direct"))
    print(service.line("reproject service"))
    ratio = statistics.median(service.seconds) / statistics.median(direct.seconds)
    share, largest = compare(outputs / "reproject_direct.tif", outputs / "reproject_service.tif")
    print(
        f"{'':>18}  ratio service / direct = {ratio:.2f}; pixels differing {share:.3%}, largest {largest:g}"
    )


def bench_change(url: str, pid: int, before_url: str, after_url: str, repeat: int) -> None:
    """The change detection job both ways (nir - red, aligned)."""
    outputs = WORK / "outputs"
    direct, service = Figures(), Figures()
    inputs = [reference_input("before", before_url), reference_input("after", after_url)]
    inputs.append(literal("threshold", str(THRESHOLD)))
    xml = execute("change_detection", inputs, {"difference": True, "mask": True, "changed_fraction": False})
    targets = {"difference": outputs / "change_service.tif", "mask": outputs / "mask_service.tif"}
    literals: dict[str, str] = {}
    for _ in range(repeat):
        arguments = ["change", "/vsicurl/" + before_url, "/vsicurl/" + after_url]
        direct.add(
            *timed_direct([*arguments, str(outputs / "change_direct.tif"), str(outputs / "mask_direct.tif")])
        )
        seconds, peak, literals = timed_service(pid, lambda: run_execute(url, xml, targets))
        service.add(seconds, peak)
    print(direct.line("change direct"))
    print(service.line("change service"))
    ratio = statistics.median(service.seconds) / statistics.median(direct.seconds)
    difference = compare(outputs / "change_direct.tif", outputs / "change_service.tif")
    mask = compare(outputs / "mask_direct.tif", outputs / "mask_service.tif")
    expected = (WORK / "outputs" / "change_fraction.txt").read_text()
    print(
        f"{'':>18}  ratio service / direct = {ratio:.2f}; difference differs {difference[0]:.3%}, "
        f"mask differs {mask[0]:.3%}; changed_fraction service {literals.get('changed_fraction')} "
        f"direct {expected}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or one direct script with --direct)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--repeat", type=int, default=3, help="repetitions of each job (default 3)")
    parser.add_argument("--size", type=int, default=10980, help="edge of the square scene in pixels")
    parser.add_argument("--jobs", nargs="+", default=["reproject", "change"], choices=["reproject", "change"])
    parser.add_argument("--direct", nargs="+", metavar="ARG", help="run one direct script and exit")
    args = parser.parse_args(argv)
    if args.direct:
        return run_direct(args.direct)

    inputs = WORK / "inputs"
    (WORK / "outputs").mkdir(parents=True, exist_ok=True)
    print(f"generating or reusing the {args.size} x {args.size} pair under {inputs} ...", flush=True)
    red, nir = ensure_pair(inputs, args.size)
    print(f"{psutil.cpu_count()} CPUs; red {red.stat().st_size / 2**20:.0f} MiB", flush=True)
    with DataServer(inputs) as server, bench_service(WORK / "data") as (url, pid):
        if "reproject" in args.jobs:
            bench_reproject(url, pid, server.url(red.name), args.repeat)
        if "change" in args.jobs:
            bench_change(url, pid, server.url(red.name), server.url(nir.name), args.repeat)
    return 0


def run_direct(arguments: list[str]) -> int:
    """``--direct reproject IN OUT`` or ``--direct change BEFORE AFTER OUT_DIFF OUT_MASK``."""
    job, *paths = arguments
    if job == "reproject":
        direct_reproject(paths[0], Path(paths[1]))
    else:
        fraction = direct_change(paths[0], paths[1], Path(paths[2]), Path(paths[3]))
        (Path(paths[2]).parent / "change_fraction.txt").write_text(repr(fraction))
    return 0


if __name__ == "__main__":
    sys.exit(main())
