"""urban_heat_island on a Sentinel-2-sized scene: the service (WPS 1.0.0, by reference) vs a direct script.

    python -m bench.bench_uhi                      # 10980 x 10980, 3 runs of each side
    python -m bench.bench_uhi --size 4096 -n 1     # a quick run
    python -m bench.bench_uhi --direct LST ZONES OUT   # the direct script alone

The ``lst`` input is the red band of ``bench.data``'s pair (uint16, nodata 0 in a corner wedge):
the process reads any numeric type, and the timing does not depend on the units. The urban zones
are 24 overlapping polygons in the scene's CRS (a GeoJSON with a legacy ``crs`` member) covering
about a tenth of it, offset so that no edge runs exactly through a pixel centre (where the
service's union of the zones and the direct script's union of their masks may disagree); rural is
the default (every valid pixel outside them). One Execute asks for
all three outputs (``intensity``, ``hotspots`` by reference and downloaded, ``statistics`` inline),
so the service reads the raster in one compute. The direct script is rasterio + numpy, 512 rows at
a time, in two passes (the statistics, then the hotspot classes written as a tiled zstd uint8
GeoTIFF), no dask. Peak RSS is sampled every 50 ms (the service with its children).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import rasterio
import rasterio.windows
import shapely
import shapely.affinity
import shapely.geometry
from rasterio.features import geometry_mask

from bench.data import ensure_pair, transform_for
from bench.direct_ndvi import GDAL_OPTIONS
from bench.service import PeakRss, bench_service, reference_input
from tests.support.dataserver import DataServer

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work"
ROWS = 512
NAMESPACES = (
    'xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1" '
    'xmlns:xlink="http://www.w3.org/1999/xlink"'
)


# --- inputs ---------------------------------------------------------------------------------------


def urban_zones(size: int) -> list[shapely.Geometry]:
    """24 deterministic polygons (a 6 x 4 pattern of rotated squares and boxes, some overlapping)."""
    transform = transform_for()
    zones = []
    for k in range(24):
        col, row = (k % 6 + 0.5) * size / 6, (k // 6 + 0.5) * size / 4
        x, y = transform * (col, row)
        x, y = x + 0.37, y + 0.23  # no edge through a pixel centre (see the report line)
        half = transform.a * size / 40 * (1 + (k % 3) / 2)
        square = shapely.box(x - half, y - half, x + half, y + half)
        zones.append(shapely.affinity.rotate(square, 15 * k) if k % 2 else square)
        if k % 5 == 0:  # an overlapping neighbour
            zones.append(shapely.box(x, y - half / 2, x + 1.5 * half, y + half / 2))
    return zones


def write_zones(directory: Path, size: int) -> Path:
    """The zones as GeoJSON in the scene's CRS (legacy crs member)."""
    features = [
        {"type": "Feature", "id": i, "properties": {"zone": f"z{i}"}, "geometry": shapely.geometry.mapping(g)}
        for i, g in enumerate(urban_zones(size))
    ]
    document = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32631"}},
        "features": features,
    }
    path = directory / f"urban_{size}.geojson"
    path.write_text(json.dumps(document))
    return path


# --- the direct script ----------------------------------------------------------------------------


class Moments:
    """Count, sum, sum of squares (float64, about a shift), min and max of streamed values."""

    def __init__(self, shift: float) -> None:
        self.shift = shift
        self.count, self.total, self.squares = 0, 0.0, 0.0
        self.minimum, self.maximum = math.inf, -math.inf

    def add(self, values: np.ndarray) -> None:
        if values.size:
            centred = values - self.shift
            self.count += values.size
            self.total += float(centred.sum())
            self.squares += float(np.square(centred).sum())
            self.minimum = min(self.minimum, float(values.min()))
            self.maximum = max(self.maximum, float(values.max()))

    def mean(self) -> float:
        return self.shift + self.total / self.count

    def std(self) -> float:
        centred_mean = self.total / self.count
        return math.sqrt(max(self.squares / self.count - centred_mean**2, 0.0))


def direct_uhi(lst_path: str, zones_path: str, out_path: Path) -> None:
    """Intensity, hotspots and zone statistics in two strip-wise passes; the literals as JSON on stdout."""
    zones = [
        shapely.geometry.shape(f["geometry"]) for f in json.loads(Path(zones_path).read_text())["features"]
    ]
    with rasterio.Env(**GDAL_OPTIONS), rasterio.open(lst_path) as src:
        shift = float(
            src.read(1, window=rasterio.windows.Window(src.width // 2, src.height // 2, 1, 1))[0, 0]
        )
        scene, urban, rural = Moments(shift), Moments(shift), Moments(shift)
        per_zone = [Moments(shift) for _ in zones]
        strips = [(row0, min(ROWS, src.height - row0)) for row0 in range(0, src.height, ROWS)]
        for row0, rows in strips:
            window = rasterio.windows.Window(0, row0, src.width, rows)
            raw = src.read(1, window=window)
            values, valid = raw.astype(np.float64), raw != src.nodata
            at = rasterio.windows.transform(window, src.transform)
            masks = [geometry_mask([z], out_shape=values.shape, transform=at, invert=True) for z in zones]
            in_urban = np.logical_or.reduce(masks)
            scene.add(values[valid])
            urban.add(values[valid & in_urban])
            rural.add(values[valid & ~in_urban])
            for moments, mask in zip(per_zone, masks, strict=True):
                moments.add(values[valid & mask])
        mean, std = scene.mean(), scene.std()
        profile = {
            **{k: src.profile[k] for k in ("width", "height", "crs", "transform")},
            "driver": "GTiff",
            "count": 1,
            "dtype": "uint8",
            "nodata": 255,
            "tiled": True,
            "blockxsize": 512,
            "blockysize": 512,
            "compress": "zstd",
            "zstd_level": 1,
            "NUM_THREADS": "ALL_CPUS",
        }
        with rasterio.open(out_path, "w", **profile) as dst:
            for row0, rows in strips:
                window = rasterio.windows.Window(0, row0, src.width, rows)
                raw = src.read(1, window=window)
                values = raw.astype(np.float64)
                classes = np.where(values > mean + 2 * std, 2, np.where(values > mean + std, 1, 0)).astype(
                    np.uint8
                )
                classes[raw == src.nodata] = 255
                dst.write(classes, 1, window=window)
    stats = [{"count": m.count, "mean": m.mean() if m.count else None} for m in per_zone]
    print(json.dumps({"intensity": urban.mean() - rural.mean(), "zones": stats}))


# --- the service ----------------------------------------------------------------------------------


def execute_xml(lst: str, zones: str) -> str:
    """One Execute: intensity and statistics in the document, hotspots by reference."""
    return (
        f'<wps:Execute service="WPS" version="1.0.0" {NAMESPACES}>'
        "<ows:Identifier>urban_heat_island</ows:Identifier><wps:DataInputs>"
        + reference_input("lst", lst)
        + f'<wps:Input><ows:Identifier>urban</ows:Identifier><wps:Reference xlink:href="{zones}" '
        'mimeType="application/geo+json"/></wps:Input>'
        "</wps:DataInputs><wps:ResponseForm><wps:ResponseDocument>"
        "<wps:Output><ows:Identifier>intensity</ows:Identifier></wps:Output>"
        '<wps:Output asReference="true"><ows:Identifier>hotspots</ows:Identifier></wps:Output>'
        "<wps:Output><ows:Identifier>statistics</ows:Identifier></wps:Output>"
        "</wps:ResponseDocument></wps:ResponseForm></wps:Execute>"
    )


def run_service(url: str, xml: str, out: Path) -> dict[str, Any]:
    """POST the Execute, download the hotspots; the intensity and the statistics document."""
    with httpx.Client(timeout=3600) as client:
        answer = client.post(f"{url}/wps", content=xml, headers={"Content-Type": "text/xml"})
        root = ET.fromstring(answer.content)
        found: dict[str, Any] = {}
        for output in root.iter("{http://www.opengis.net/wps/1.0.0}Output"):
            name = output.findtext("{http://www.opengis.net/ows/1.1}Identifier")
            reference = output.find("{http://www.opengis.net/wps/1.0.0}Reference")
            data = output.find(".//{http://www.opengis.net/wps/1.0.0}Data/*")
            found[str(name)] = (
                reference.get("href") if reference is not None else (data.text if data is not None else None)
            )
        if "hotspots" not in found:
            raise RuntimeError(answer.text[:1000])
        with client.stream("GET", found["hotspots"]) as result, out.open("wb") as sink:
            result.raise_for_status()
            for block in result.iter_bytes(1 << 20):
                sink.write(block)
    return {"intensity": float(found["intensity"]), "statistics": json.loads(found["statistics"])}


def same_classes(first: Path, second: Path) -> int:
    """Pixels whose hotspot class differs between two rasters."""
    differing = 0
    with rasterio.open(first) as a, rasterio.open(second) as b:
        for row0 in range(0, a.height, 1024):
            window = rasterio.windows.Window(0, row0, a.width, min(1024, a.height - row0))
            differing += int((a.read(1, window=window) != b.read(1, window=window)).sum())
    return differing


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with --direct, the direct script alone)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--repeat", type=int, default=3, help="runs of each side (default 3)")
    parser.add_argument("--size", type=int, default=10980, help="edge of the square scene in pixels")
    parser.add_argument("--direct", nargs=3, metavar=("LST", "ZONES", "OUT"), help="run the direct script")
    args = parser.parse_args(argv)
    if args.direct:
        direct_uhi(args.direct[0], args.direct[1], Path(args.direct[2]))
        return 0
    inputs, outputs = WORK / "inputs", WORK / "outputs-uhi"
    outputs.mkdir(parents=True, exist_ok=True)
    lst = ensure_pair(inputs, args.size)[0]
    zones = write_zones(inputs, args.size)
    print(
        f"{args.size} x {args.size} scene {lst.name}, {len(urban_zones(args.size))} zones; {psutil.cpu_count()} CPUs"
    )
    seconds: dict[str, list[float]] = {"direct": [], "service": []}
    peaks: dict[str, list[int]] = {"direct": [], "service": []}
    with (
        DataServer(inputs) as server,
        bench_service(WORK / "data-uhi", {"WPS_RESULT_TTL": "300"}) as (url, pid),
    ):
        xml = execute_xml(server.url(lst.name), server.url(zones.name))
        direct_out, service_out = outputs / "hotspots_direct.tif", outputs / "hotspots_service.tif"
        for _ in range(args.repeat):
            start = time.perf_counter()
            command = [
                sys.executable,
                "-m",
                "bench.bench_uhi",
                "--direct",
                "/vsicurl/" + server.url(lst.name),
            ]
            process = subprocess.Popen(
                [*command, str(zones), str(direct_out)], cwd=ROOT, stdout=subprocess.PIPE
            )
            with PeakRss(process.pid) as rss:
                printed, _ = process.communicate()
            if process.returncode != 0:
                raise RuntimeError("the direct script failed")
            seconds["direct"].append(time.perf_counter() - start)
            peaks["direct"].append(rss.peak)
            direct = json.loads(printed)
            with PeakRss(pid) as rss:
                start = time.perf_counter()
                service = run_service(url, xml, service_out)
                seconds["service"].append(time.perf_counter() - start)
            peaks["service"].append(rss.peak)
    medians = {side: statistics.median(times) for side, times in seconds.items()}
    for side in ("direct", "service"):
        runs = ", ".join(f"{s:.1f}" for s in seconds[side])
        print(
            f"uhi {side:>7}: median {medians[side]:6.1f} s (runs {runs})  peak RSS {max(peaks[side]) / 2**20:5.0f} MiB"
        )
    counts = [f["properties"]["count"] for f in service["statistics"]["features"][:-1]]
    print(
        f"uhi   ratio: {medians['service'] / medians['direct']:.2f}   "
        f"|intensity difference| = {abs(service['intensity'] - direct['intensity']):.2g}   "
        f"zone counts equal: {counts == [z['count'] for z in direct['zones']]}   "
        f"hotspot pixels differing: {same_classes(direct_out, service_out)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
