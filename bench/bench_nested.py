"""A chained request against the same steps run as separate jobs: wall time and bytes moved.

    python -m bench.bench_nested                # the 10980 x 10980 pair, a 4096 x 4096 window, 3 rounds
    python -m bench.bench_nested -n 5 --window 2048

The chain is ``zonal_statistics(ndvi(clip(red), clip(nir)), zones)`` on the pair of
``bench/data.py`` served by a local data server. Chained, it is ONE OGC API request whose nested
processes run as one job and one dask graph: nothing is written but the final GeoJSON. Step by
step, as users chain jobs without nesting: four jobs (two clips, ndvi, zonal statistics), each
result a COG written by the service and downloaded by the client, and the next step reading it
back by its URL from the service. Both run in the same service, interleaved, each round. Printed:
median wall time of each way and their ratio; bytes the data server sent (the inputs pulled);
bytes the client downloaded; the service's peak RSS.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.data import ORIGIN, RESOLUTION, ensure_pair
from bench.service import PeakRss, bench_service
from tests.support.dataserver import DataServer

WORK = Path(__file__).resolve().parent / "_work"
UTM = "http://www.opengis.net/def/crs/EPSG/0/32631"


def window(size: int, edge: int) -> dict[str, Any]:
    """A bbox of ``edge`` x ``edge`` pixels in the middle of the scene, in its CRS."""
    start = (size - edge) // 2
    west, north = ORIGIN[0] + start * RESOLUTION, ORIGIN[1] - start * RESOLUTION
    return {"bbox": [west, north - edge * RESOLUTION, west + edge * RESOLUTION, north], "crs": UTM}


def zones(box: dict[str, Any], count: int = 16) -> dict[str, Any]:
    """A ``count``-cell grid of square zones over the window, as an inline GeoJSON value."""
    west, south, east, north = box["bbox"]
    side = int(count**0.5)
    step_x, step_y = (east - west) / side, (north - south) / side
    features = []
    for i in range(side):
        for j in range(side):
            x0, y0 = west + i * step_x, south + j * step_y
            ring = [[x0, y0], [x0 + step_x, y0], [x0 + step_x, y0 + step_y], [x0, y0 + step_y], [x0, y0]]
            geometry = {"type": "Polygon", "coordinates": [ring]}
            features.append({"type": "Feature", "properties": {"cell": f"{i}-{j}"}, "geometry": geometry})
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32631"}}
    document = {"type": "FeatureCollection", "crs": crs, "features": features}
    return {"value": document, "mediaType": "application/geo+json"}


class Client:
    """Runs jobs through the OGC API and counts the bytes it downloads."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(timeout=1800)
        self.downloaded = 0

    def execute(self, process: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.http.post(f"{self.base}/processes/{process}/execution", json=body)
        answer.raise_for_status()
        self.downloaded += len(answer.content)
        return dict(answer.json())

    def step(self, process: str, inputs: dict[str, Any], output: str) -> str:
        """One job, its raster output by reference, downloaded; the URL the next step reads."""
        body = {
            "inputs": inputs,
            "outputs": {output: {"transmissionMode": "reference"}},
            "response": "document",
        }
        href = str(self.execute(process, body)[output]["href"])
        with self.http.stream("GET", href) as result:
            result.raise_for_status()
            for block in result.iter_bytes(1 << 20):
                self.downloaded += len(block)
        return href


def chained(client: Client, red: str, nir: str, box: dict[str, Any]) -> list[Any]:
    def clip(href: str) -> dict[str, Any]:
        return {"process": "clip", "inputs": {"raster": {"href": href}, "bbox": box}}

    ndvi = {"process": "ndvi", "inputs": {"red": clip(red), "nir": clip(nir)}}
    body = {"inputs": {"raster": ndvi, "zones": zones(box)}, "response": "document"}
    return list(client.execute("zonal_statistics", body)["statistics"]["value"]["features"])


def stepwise(client: Client, red: str, nir: str, box: dict[str, Any]) -> list[Any]:
    red_clip = client.step("clip", {"raster": {"href": red}, "bbox": box}, "clipped")
    nir_clip = client.step("clip", {"raster": {"href": nir}, "bbox": box}, "clipped")
    ndvi = client.step("ndvi", {"red": {"href": red_clip}, "nir": {"href": nir_clip}}, "ndvi")
    body = {"inputs": {"raster": {"href": ndvi}, "zones": zones(box)}, "response": "document"}
    return list(client.execute("zonal_statistics", body)["statistics"]["value"]["features"])


def largest_difference(first: list[Any], second: list[Any]) -> tuple[float, str]:
    """The largest relative difference between the two answers' statistics, and which statistic
    (sums are added up chunk by chunk, and the two ways chunk differently)."""
    largest, which = 0.0, "none"
    for a, b in zip(first, second, strict=True):
        for key, value in a["properties"].items():
            other = b["properties"][key]
            if isinstance(value, float) and isinstance(other, float):
                relative = abs(value - other) / max(abs(value), abs(other), 1e-12)
                largest, which = max((largest, which), (relative, key))
            elif value != other:
                return float("inf"), key
    return largest, which


def main(argv: list[str] | None = None) -> int:
    """Run both ways ``-n`` times, interleaved; print medians, ratio, bytes and peak RSS."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--rounds", type=int, default=3, help="rounds of both ways (default 3)")
    parser.add_argument("--size", type=int, default=10980, help="edge of the square scene in pixels")
    parser.add_argument("--window", type=int, default=4096, help="edge of the clipped window in pixels")
    args = parser.parse_args(argv)
    inputs = WORK / "inputs"
    print(f"generating or reusing the {args.size} x {args.size} pair under {inputs} ...", flush=True)
    red, nir = ensure_pair(inputs, args.size)
    box = window(args.size, args.window)
    times: dict[str, list[float]] = {"chained": [], "stepwise": []}
    pulled: dict[str, list[int]] = {"chained": [], "stepwise": []}
    downloaded: dict[str, list[int]] = {"chained": [], "stepwise": []}
    answers: dict[str, list[Any]] = {}
    with (
        DataServer(inputs) as server,
        tempfile.TemporaryDirectory(dir=WORK) as data,
        bench_service(Path(data)) as (base, pid),
        PeakRss(pid) as rss,
    ):
        for _ in range(args.rounds):
            for name, way in (("chained", chained), ("stepwise", stepwise)):
                client = Client(base)
                server.reset()
                start = time.perf_counter()
                answers[name] = way(client, server.url(red.name), server.url(nir.name), box)
                times[name].append(time.perf_counter() - start)
                pulled[name].append(server.bytes_sent)
                downloaded[name].append(client.downloaded)
    difference, statistic = largest_difference(answers["chained"], answers["stepwise"])
    print(
        f"{args.size} x {args.size} pair, {args.window} x {args.window} window, {args.rounds} rounds, medians:"
    )
    for name in times:
        print(
            f"  {name:<9} {statistics.median(times[name]):7.2f} s   pulled {statistics.median(pulled[name]) / 2**20:7.1f} MiB"
            f"   downloaded {statistics.median(downloaded[name]) / 2**20:7.1f} MiB"
        )
    ratio = statistics.median(times["chained"]) / statistics.median(times["stepwise"])
    print(
        f"  ratio chained / stepwise = {ratio:.2f}; statistics agree within {difference:.1e} (relative, {statistic}); "
        f"service peak RSS {rss.peak / 2**20:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
