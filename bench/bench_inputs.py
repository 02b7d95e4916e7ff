"""Bytes pulled by a 512 px clip of the bench's red COG, for each kind of server an input may sit on.

    python -m bench.bench_inputs                # the 10980 x 10980 red band of bench_ndvi
    python -m bench.bench_inputs --size 2048    # a quick run on a small pair

The reference goes through the service's own input path (``app.raster.fetch.resolve_reference``,
preflight included), then ``open_raster``, ``clip_bbox`` and ``write_geotiff``, in-process. Servers
that serve byte ranges must stay lazy (``/vsicurl/``, a few tiles: under 2 % of the file); servers
that ignore ``Range`` get the file downloaded whole into the job's folder, pulled exactly once.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench.bench_ndvi import CLIP_PIXELS, WORK, clip_bounds
from bench.data import ensure_pair
from tests.support.dataserver import DataServer

SERVERS: dict[str, dict[str, Any]] = {
    "ranges": {},
    "ranges, HEAD refused": {"head_allowed": False},
    "ranges, HEAD without length": {"head_length": False},
    "no ranges": {"ranges": "ignored"},
    "no ranges, HEAD refused": {"ranges": "ignored", "head_allowed": False},
    "Accept-Ranges: none": {"ranges": "none"},
    "chunked, no length": {"chunked": True},
}


def clip_by_reference(server: DataServer, name: str, size: int, workdir: Path) -> tuple[str, float]:
    """Resolve the reference as a job would, clip it; (how it was read, seconds)."""
    from app.algorithms.clip import clip_bbox
    from app.model.requests import BoundingBoxValue, ComplexValue
    from app.raster.egress import remote_url
    from app.raster.fetch import resolve_reference
    from app.raster.open import open_raster
    from app.raster.write import write_geotiff
    from app.settings import Settings

    settings = Settings(data_dir=WORK / "data-inputs", allowed_hosts=["127.0.0.1"])
    workdir.mkdir(parents=True, exist_ok=True)  # as the job engine does before a job runs
    started = time.perf_counter()
    path = resolve_reference(ComplexValue(href=server.url(name)), settings, "raster", workdir)
    minx, miny, maxx, maxy = clip_bounds(size)
    data = open_raster(path, chunk_size=2048, locator="raster")
    bbox = BoundingBoxValue(lower=(minx, miny), upper=(maxx, maxy), crs="EPSG:32631")
    write_geotiff(clip_bbox(data, bbox), workdir / "clip.tif")
    how = "lazy /vsicurl/" if remote_url(path) is not None else "downloaded"
    return how, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Print, per server kind: how the input was read, bytes pulled (and as a share), seconds."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=10980, help="edge of the square scene in pixels")
    args = parser.parse_args(argv)

    inputs = WORK / "inputs"
    red, _ = ensure_pair(inputs, args.size)
    size = red.stat().st_size
    print(f"red {size} B ({size / 2**20:.0f} MiB); clip {CLIP_PIXELS} x {CLIP_PIXELS} px")
    for label, modes in SERVERS.items():
        workdir = WORK / "outputs" / "inputs-job"
        shutil.rmtree(workdir, ignore_errors=True)
        with DataServer(inputs, **modes) as server:
            how, seconds = clip_by_reference(server, red.name, args.size, workdir)
            pulled = server.bytes_sent
            requests = len(server.requests)
        shutil.rmtree(workdir, ignore_errors=True)
        print(
            f"{label:>28}: {how:<15} pulled {pulled:>10} B = {pulled / size:8.3%}"
            f"  ({requests} requests, {seconds:.2f} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
