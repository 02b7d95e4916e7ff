"""Map tiles of a full-size result: latency per zoom through the service against rio-tiler alone.

    python -m bench.bench_tiles                 # the 10980 x 10980 NDVI, 3 rounds
    python -m bench.bench_tiles -n 5 --size 4096

The service (a ``uvicorn app.main:app`` child process) runs ndvi on the pair of ``bench/data.py``
served by a local data server, then draws tiles of that result at three zooms: the one where the
whole scene fits (read from the COG's smallest overviews), three levels deeper, and the scene's
own resolution. Each round fetches up to 16 distinct tiles over the scene per zoom over one keep-alive
connection (sequential: latency, not throughput). The baseline, in the same run and on the same
tiles of the same file, is rio-tiler in this process: ``Reader.tile`` and ``render``, nothing
else: what a hand-written tile script costs. The ratio of medians is the figure to compare across
machines. The service's peak RSS while drawing is sampled from outside.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import morecantile
import numpy as np
from rio_tiler.colormap import cmap
from rio_tiler.io import Reader
from rio_tiler.utils import render

from bench.data import ensure_pair
from bench.service import PeakRss, bench_service
from tests.support.dataserver import DataServer

WORK = Path(__file__).resolve().parent / "_work"
TILES = 16  # tiles drawn at each zoom (fewer where fewer cover the scene)
WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")


def run_ndvi(base: str, red: str, nir: str) -> str:
    """Submit ndvi (OGC API, async) and wait for it; the job id."""
    with httpx.Client(timeout=60) as client:
        body = {"inputs": {"red": {"href": red}, "nir": {"href": nir}}}
        answer = client.post(
            f"{base}/processes/ndvi/execution", json=body, headers={"Prefer": "respond-async"}
        )
        answer.raise_for_status()
        job_id = str(answer.json()["jobID"])
        while (status := client.get(f"{base}/jobs/{job_id}").json())["status"] not in (
            "successful",
            "failed",
        ):
            time.sleep(0.5)
    if status["status"] != "successful":
        raise RuntimeError(f"ndvi failed: {status}")
    return job_id


def tile_blocks(tilejson: dict, zooms: list[int]) -> dict[int, list[tuple[int, int, int]]]:
    """Up to TILES tiles over the scene at each zoom, those nearest its centre."""
    lon, lat, _ = tilejson["center"]
    blocks = {}
    for z in zooms:
        over = list(WEB_MERCATOR.tiles(*tilejson["bounds"], [z]))
        centre = WEB_MERCATOR.tile(lon, lat, z)
        over.sort(key=lambda t: (t.x - centre.x) ** 2 + (t.y - centre.y) ** 2)
        blocks[z] = [(t.z, t.x, t.y) for t in over[:TILES]]
    return blocks


def direct_tile(path: Path, z: int, x: int, y: int) -> bytes:
    """rio-tiler alone: the tile, stretched -1..1 and coloured, as a PNG (the baseline)."""
    with Reader(str(path)) as source:
        image = source.tile(x, y, z, tilesize=256)
    values = np.ma.getdata(image.array).astype("float64")
    valid = np.isfinite(values).all(axis=0) & ~np.ma.getmaskarray(image.array).any(axis=0)
    pixels = np.clip(np.rint((np.where(valid, values, -1) + 1) * 127.5), 0, 255).astype("uint8")
    return render(
        pixels, np.where(valid, 255, 0).astype("uint8"), img_format="PNG", colormap=cmap.get("rdylgn")
    )


def main(argv: list[str] | None = None) -> int:
    """Time each zoom's tiles through the service and directly, interleaved; print medians and ratios."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--rounds", type=int, default=3, help="rounds over every zoom (default 3)")
    parser.add_argument("--size", type=int, default=10980, help="edge of the square scene in pixels")
    args = parser.parse_args(argv)
    inputs = WORK / "inputs"
    print(f"generating or reusing the {args.size} x {args.size} pair under {inputs} ...", flush=True)
    red, nir = ensure_pair(inputs, args.size)
    with (
        DataServer(inputs) as server,
        tempfile.TemporaryDirectory(dir=WORK) as data,
        bench_service(Path(data)) as (base, pid),
    ):
        job_id = run_ndvi(base, server.url(red.name), server.url(nir.name))
        result = Path(data) / "outputs" / job_id / "ndvi.tif"
        with httpx.Client(timeout=60) as client:
            tilejson = client.get(
                f"{base}/jobs/{job_id}/results/ndvi/tiles/WebMercatorQuad/tilejson.json"
            ).json()
            fit = tilejson["center"][2]
            zooms = [fit, min(fit + 3, tilejson["maxzoom"]), tilejson["maxzoom"]]
            blocks = tile_blocks(tilejson, sorted(set(zooms)))
            template = tilejson["tiles"][0]
            served: dict[int, list[float]] = {z: [] for z in blocks}
            direct: dict[int, list[float]] = {z: [] for z in blocks}
            with PeakRss(pid) as rss:
                for _ in range(args.rounds):
                    for z, tiles in blocks.items():
                        for tile in tiles:
                            start = time.perf_counter()
                            answer = client.get(template.format(z=tile[0], x=tile[1], y=tile[2]))
                            served[z].append(time.perf_counter() - start)
                            answer.raise_for_status()
                            start = time.perf_counter()
                            direct_tile(result, *tile)
                            direct[z].append(time.perf_counter() - start)
    print(f"{args.size} x {args.size} NDVI COG; {args.rounds} rounds, medians:")
    for z in blocks:
        service_ms, direct_ms = statistics.median(served[z]) * 1000, statistics.median(direct[z]) * 1000
        print(
            f"  z{z:<3} {len(blocks[z]):2} tiles  service {service_ms:7.1f} ms   rio-tiler alone {direct_ms:7.1f} ms   "
            f"ratio {service_ms / direct_ms:.2f}"
        )
    print(f"  service peak RSS while drawing: {rss.peak / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
