"""Zonal statistics of a Sentinel-2-sized scene: the service (WPS 1.0.0, by reference) vs a direct script.

    python -m bench.bench_zonal                  # 10980 x 10980 uint16 scene, 50 zones, 3 runs each
    python -m bench.bench_zonal --size 2048 -n 1 # a quick run on a small scene

Inputs: the red band of ``bench/data.py`` (a uint16 COG, 512-pixel deflate tiles, nodata 0 in a
corner wedge) and 50 zones as RFC 7946 GeoJSON (lon/lat): a 7 x 7 grid of irregular polygons that
overlap their neighbours a little, plus one large polygon across the middle that overlaps many.
Both jobs read the raster from the same local HTTP data server through GDAL ``/vsicurl/`` and
compute count, min, max, mean, std, sum and median per zone (pixel centres inside, nodata left
out). The direct script (``--direct``, a fresh process per run) is what a careful user writes with
rasterio + numpy: per zone, a windowed read of its bounds, ``geometry_mask``, numpy reductions.
The service is a ``uvicorn`` child process with ``zonal_statistics`` registered; its RSS (with
children) is sampled every 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import rasterio
import shapely
from pyproj import Transformer
from rasterio.errors import WindowError
from rasterio.features import geometry_mask, geometry_window
from shapely.geometry import mapping, shape

from bench.data import ORIGIN, RESOLUTION, ensure_pair
from bench.service import PeakRss
from tests.support.dataserver import DataServer
from tests.support.service import free_port

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work"
GDAL_OPTIONS = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIPLEX": "YES",
    "VSI_CACHE": "TRUE",
}
NAMES = ("count", "min", "max", "mean", "std", "sum", "median")


def service_app() -> Any:
    """``uvicorn --factory`` target: the service with zonal_statistics registered."""
    from app.algorithms.registry import default_registry
    from app.algorithms.zonal import ZonalStatistics
    from app.main import create_app

    registry = default_registry()
    if not any(p.identifier == "zonal_statistics" for p in registry):
        registry = registry.register(ZonalStatistics)
    return create_app(registry=registry)


# ----------------------------------------------------------------------------- inputs


def make_zones(size: int, path: Path) -> None:
    """50 zones over a ``size``-pixel scene as RFC 7946 GeoJSON, deterministic."""
    rng = np.random.default_rng(42)
    extent = size * RESOLUTION
    cell = extent / 7
    polygons = []
    for row in range(7):
        for col in range(7):
            cx, cy = ORIGIN[0] + (col + 0.5) * cell, ORIGIN[1] - (row + 0.5) * cell
            angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
            radii = cell * rng.uniform(0.45, 0.62, 9)
            polygons.append(
                shapely.Polygon(np.column_stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)]))
            )
    # a large band across the middle; vertices off any rational grid, as real data has them
    fractions = np.array([(0.1, 0.4), (0.9, 0.45), (0.85, 0.6), (0.2, 0.58)]) + rng.uniform(
        -0.01, 0.01, (4, 2)
    )
    corners = np.column_stack([ORIGIN[0] + fractions[:, 0] * extent, ORIGIN[1] - fractions[:, 1] * extent])
    polygons.append(shapely.Polygon(corners))
    to_lonlat = Transformer.from_crs("EPSG:32631", "OGC:CRS84", always_xy=True)
    features = []
    for index, polygon in enumerate(polygons):
        lonlat = shapely.transform(polygon, lambda c: np.column_stack(to_lonlat.transform(c[:, 0], c[:, 1])))
        features.append(
            {"type": "Feature", "id": index, "properties": {"zone": index}, "geometry": mapping(lonlat)}
        )
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))


# ----------------------------------------------------------------------------- the direct script


def direct(raster: str, zones: Path, out: Path) -> None:
    """Zonal statistics with rasterio + numpy: one windowed read per zone."""
    document = json.loads(zones.read_text())
    with rasterio.Env(**GDAL_OPTIONS), rasterio.open(raster) as src:
        to_raster = Transformer.from_crs("OGC:CRS84", src.crs, always_xy=True)
        for feature in document["features"]:
            geometry = shapely.transform(
                shape(feature["geometry"]), lambda c: np.column_stack(to_raster.transform(c[:, 0], c[:, 1]))
            )
            feature["properties"].update(zone_statistics(src, geometry))
    out.write_text(json.dumps(document))


def zone_statistics(src: rasterio.DatasetReader, geometry: Any) -> dict[str, Any]:
    """The seven statistics of one zone (pixel centres inside, nodata left out)."""
    try:
        window = geometry_window(src, [geometry])
    except WindowError:
        return {name: 0 if name == "count" else None for name in NAMES}
    data = src.read(1, window=window)
    inside = geometry_mask(
        [geometry], out_shape=data.shape, transform=src.window_transform(window), invert=True
    )
    values = data[inside]
    if src.nodata is not None:
        values = values[values != src.nodata]
    if values.size == 0:
        return {name: 0 if name == "count" else None for name in NAMES}
    as_float = values.astype(np.float64)
    return {
        "count": int(values.size),
        "min": int(values.min()),
        "max": int(values.max()),
        "mean": float(as_float.mean()),
        "std": float(as_float.std()),
        "sum": int(values.sum(dtype=np.int64)),
        "median": float(np.median(values)),
    }


# ----------------------------------------------------------------------------- runs


def run_direct(raster_url: str, zones: Path, out: Path) -> tuple[float, int]:
    """One direct run in a fresh process: (seconds, peak RSS)."""
    command = [
        sys.executable,
        "-m",
        "bench.bench_zonal",
        "--direct",
        "/vsicurl/" + raster_url,
        str(zones),
        str(out),
    ]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT)
    with PeakRss(process.pid) as rss:
        if process.wait() != 0:
            raise RuntimeError("the direct script failed")
    return time.perf_counter() - start, rss.peak


def execute_xml(raster_url: str, zones_url: str) -> str:
    """A WPS 1.0.0 Execute of zonal_statistics, inputs and output by reference, all statistics."""
    return (
        '<wps:Execute service="WPS" version="1.0.0" xmlns:wps="http://www.opengis.net/wps/1.0.0" '
        'xmlns:ows="http://www.opengis.net/ows/1.1" xmlns:xlink="http://www.w3.org/1999/xlink">'
        "<ows:Identifier>zonal_statistics</ows:Identifier><wps:DataInputs>"
        f'<wps:Input><ows:Identifier>raster</ows:Identifier><wps:Reference xlink:href="{raster_url}" mimeType="image/tiff; subtype=geotiff"/></wps:Input>'
        f'<wps:Input><ows:Identifier>zones</ows:Identifier><wps:Reference xlink:href="{zones_url}" mimeType="application/geo+json"/></wps:Input>'
        "</wps:DataInputs><wps:ResponseForm><wps:RawDataOutput><ows:Identifier>statistics</ows:Identifier>"
        "</wps:RawDataOutput></wps:ResponseForm></wps:Execute>"
    )


def run_service(url: str, pid: int, body: str, out: Path) -> tuple[float, int]:
    """One Execute through the service, raw GeoJSON answer: (seconds, peak RSS of the service)."""
    with PeakRss(pid) as rss:
        start = time.perf_counter()
        answer = httpx.post(f"{url}/wps", content=body, headers={"Content-Type": "text/xml"}, timeout=3600)
        seconds = time.perf_counter() - start
    if answer.status_code != 200 or not answer.headers["content-type"].startswith("application/geo+json"):
        raise RuntimeError(f"the service failed: {answer.text[:2000]}")
    out.write_bytes(answer.content)
    return seconds, rss.peak


class Service:
    """``uvicorn --factory bench.bench_zonal:service_app`` on a free port, WPS_* environment only."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = os.environ | {
            "WPS_DATA_DIR": str(data_dir),
            "WPS_PUBLIC_URL": self.url,
            "WPS_ALLOWED_HOSTS": "127.0.0.1",
        }
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "bench.bench_zonal:service_app",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("the service did not start")

    def stop(self) -> None:
        """Terminate the service (it is our own child)."""
        self.process.terminate()
        self.process.wait(timeout=30)


def agree(first: Path, second: Path) -> bool:
    """Same counts, min, max, sums and medians; means and stds to 1e-9."""
    a, b = (json.loads(p.read_text())["features"] for p in (first, second))
    for fa, fb in zip(a, b, strict=True):
        pa, pb = fa["properties"], fb["properties"]
        for name in NAMES:
            x, y = pa[name], pb[name]
            close = (
                x == y if name not in {"mean", "std"} or x is None else abs(x - y) <= 1e-9 * max(abs(x), 1)
            )
            if not close:
                print(f"  zone {pa['zone']}: {name} {x} != {y}")
                return False
    return True


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print medians, ratio, peak RSS and agreement."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--repeat", type=int, default=3)
    parser.add_argument("--size", type=int, default=10980)
    parser.add_argument(
        "--direct", nargs=3, metavar=("RASTER", "ZONES", "OUT"), help="run the direct script only"
    )
    args = parser.parse_args(argv)
    if args.direct:
        direct(args.direct[0], Path(args.direct[1]), Path(args.direct[2]))
        return 0
    inputs, outputs = WORK / "inputs", WORK / "outputs"
    outputs.mkdir(parents=True, exist_ok=True)
    red, _ = ensure_pair(inputs, args.size)
    zones = inputs / f"zones_{args.size}.geojson"
    make_zones(args.size, zones)
    print(
        f"scene {args.size} x {args.size} uint16 ({red.stat().st_size / 2**20:.0f} MiB), 50 zones, {os.cpu_count()} CPUs"
    )
    runs: dict[str, list[tuple[float, int]]] = {"direct": [], "service": []}
    with DataServer(inputs) as server:
        service = Service(
            WORK / "data-zonal"
        )  # its own job store: a service starting on a shared one fails running jobs
        try:
            body = execute_xml(server.url(red.name), server.url(zones.name))
            for _ in range(args.repeat):
                runs["direct"].append(run_direct(server.url(red.name), zones, outputs / "zonal_direct.json"))
                runs["service"].append(
                    run_service(service.url, service.process.pid, body, outputs / "zonal_service.json")
                )
        finally:
            service.stop()
    for name, figures in runs.items():
        seconds = ", ".join(f"{s:.2f}" for s, _ in figures)
        median = statistics.median(s for s, _ in figures)
        print(
            f"{name:>8}: median {median:6.2f} s (runs {seconds}), peak RSS {max(r for _, r in figures) / 2**20:.0f} MiB"
        )
    ratio = statistics.median(s for s, _ in runs["service"]) / statistics.median(s for s, _ in runs["direct"])
    print(f"   ratio: service / direct = {ratio:.2f}")
    print(f"   agree: {agree(outputs / 'zonal_direct.json', outputs / 'zonal_service.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
