"""What the egress guard costs range reads: the same lazy read, direct and through the proxy.

    python -m bench.bench_egress                # all of bench_ndvi's red COG (124 MiB), 5 rounds
    python -m bench.bench_egress -n 9 --window 4096  # a 4096 x 4096 window

Both sides read through ``app.raster.open.open_raster`` with dask, as a job does (2048-pixel
chunks, one task per chunk, each opening the file and reading its window): once from a plain
``/vsicurl/`` path (GDAL connects to the data server itself), once from a guarded path
(``app.raster.egress.guarded_path``: every connection through this process's egress proxy).
GDAL's per-URL cache is dropped before each run, so both pull their bytes from the data server;
the runs alternate, and which side goes first alternates by round. Printed: both medians, their
ratio, bytes pulled per run (the same on both sides) and the proxy process's RSS. See
bench/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import psutil

from bench.bench_ndvi import WORK
from bench.data import ensure_pair
from tests.support.dataserver import DataServer


def timed_read(path: str, window: int, server: DataServer) -> tuple[float, int]:
    """Seconds to read (and sum) the top-left ``window`` pixels of ``path``; bytes pulled."""
    from app.raster.egress import remote_url
    from app.raster.gdal_env import forget_remote_file
    from app.raster.open import open_raster

    forget_remote_file("/vsicurl/" + str(remote_url(path)))
    server.reset()
    started = time.perf_counter()
    data = open_raster(path, chunk_size=2048, locator="red")
    data[:, :window, :window].sum().compute()
    return time.perf_counter() - started, server.bytes_sent


def main(argv: list[str] | None = None) -> int:
    """Alternate direct and guarded reads; print medians, ratio, bytes, proxy RSS."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--repeat", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--size", type=int, default=10980, help="edge of bench_ndvi's scene")
    parser.add_argument("--window", type=int, default=0, help="edge of the window read (default: all)")
    args = parser.parse_args(argv)

    from app.raster import egress
    from app.raster.gdal_env import configure_gdal
    from app.settings import Settings

    red, _ = ensure_pair(WORK / "inputs", args.size)
    settings = Settings(data_dir=WORK / "data-egress", allowed_hosts=["127.0.0.1"])
    configure_gdal(settings)
    times: dict[str, list[float]] = {"direct": [], "guarded": []}
    pulled: dict[str, set[int]] = {"direct": set(), "guarded": set()}
    with DataServer(red.parent) as server:
        url = server.url(red.name)
        paths = {"direct": "/vsicurl/" + url, "guarded": egress.guarded_path(url, settings)}
        timed_read(paths["guarded"], 512, server)  # start the proxy and warm both code paths
        for round_ in range(args.repeat):
            for side in sorted(paths, reverse=bool(round_ % 2)):  # who goes first alternates
                path = paths[side]
                seconds, sent = timed_read(path, args.window or args.size, server)
                times[side].append(seconds)
                pulled[side].add(sent)
        proxy_rss = psutil.Process(egress.current().process.pid).memory_info().rss
    for side, runs in times.items():
        shown = ", ".join(f"{s:.2f}" for s in runs)
        print(
            f"{side:>8}: median {statistics.median(runs):6.2f} s  (runs: {shown})  pulled {sorted(pulled[side])} B"
        )
    ratio = statistics.median(times["guarded"]) / statistics.median(times["direct"])
    print(f"   ratio: guarded / direct = {ratio:.2f}; proxy process RSS {proxy_rss / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
