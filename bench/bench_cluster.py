"""NDVI of a Sentinel-2-sized pair on the local pool vs a 2-worker dask.distributed cluster, same machine.

    python -m bench.bench_cluster                   # 10980 x 10980 pair, 3 runs on each side
    python -m bench.bench_cluster --size 2048 -n 1  # a quick run on a small pair
    python -m bench.bench_cluster --workers 2 --nthreads 1 --memory-limit 4GiB

Both sides are the real service (``uvicorn app.main:app`` child processes) answering the same WPS
1.0.0 Execute of ``ndvi`` (inputs by reference from the same local HTTP data server, output by
reference, downloaded). The cluster side is a ``dask scheduler`` and ``--workers`` ``dask worker``
processes on 127.0.0.1 (tests.support.cluster) with the API pointing at them; workers and API share
the data directory. Printed: medians and their ratio, the API process's peak RSS on each side (in
cluster mode it only orchestrates: target below 300 MiB) and each worker's. See bench/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.bench_ndvi import same_ndvi
from bench.data import ensure_pair
from bench.service import PeakRss, bench_service, execute_and_download, execute_xml, reference_input
from tests.support.cluster import ProcessCluster
from tests.support.dataserver import DataServer

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work"


@dataclass
class Side:
    """Wall times (s) and peak RSS (bytes) of the API and of each worker, over repeated runs."""

    name: str
    seconds: list[float] = field(default_factory=list)
    api_rss: list[int] = field(default_factory=list)
    worker_rss: dict[int, int] = field(default_factory=dict)  # worker pid -> peak over all runs

    @property
    def median(self) -> float:
        """Median wall time."""
        return statistics.median(self.seconds)

    def report(self) -> None:
        """Print this side's figures."""
        runs = ", ".join(f"{s:.2f}" for s in self.seconds)
        line = f"{self.name:>8}: median {self.median:7.2f} s  (runs: {runs})"
        line += f"  API peak RSS {max(self.api_rss) / 2**20:5.0f} MiB"
        if self.worker_rss:
            workers = ", ".join(f"{peak / 2**20:.0f}" for peak in self.worker_rss.values())
            line += f"  workers' peak RSS {workers} MiB"
        print(line, flush=True)


def ndvi_xml(server: DataServer, red: Path, nir: Path) -> str:
    """The Execute both sides answer."""
    inputs = [reference_input("red", server.url(red.name)), reference_input("nir", server.url(nir.name))]
    return execute_xml("ndvi", inputs, "ndvi")


def run(side: Side, url: str, api_pid: int, workers: list[int], xml: str, out: Path) -> None:
    """One Execute + download, sampling the RSS of the API and of each worker (with their children)."""
    with ExitStack() as stack:
        api = stack.enter_context(PeakRss(api_pid))
        peaks = {pid: stack.enter_context(PeakRss(pid)) for pid in workers}
        start = time.perf_counter()
        execute_and_download(url, xml, out)
        side.seconds.append(time.perf_counter() - start)
    side.api_rss.append(api.peak)
    for pid, sampler in peaks.items():
        side.worker_rss[pid] = max(side.worker_rss.get(pid, 0), sampler.peak)


@contextmanager
def cluster_service(data_dir: Path, options: argparse.Namespace) -> Iterator[tuple[str, int, list[int]]]:
    """A scheduler, the workers and the API on it: yields (API URL, API pid, worker pids)."""
    env = {"WPS_DATA_DIR": str(data_dir), "WPS_ALLOWED_HOSTS": "127.0.0.1"}
    cluster = ProcessCluster(
        WORK / "cluster",
        workers=options.workers,
        env=env,
        nthreads=options.nthreads,
        memory_limit=options.memory_limit,
    )
    with cluster, bench_service(data_dir, {"WPS_DASK_SCHEDULER": cluster.address}) as (url, pid):
        yield url, pid, [worker.pid for worker in cluster.workers]


def main(argv: list[str] | None = None) -> int:
    """Alternate local-pool and cluster runs; print medians, ratio, peak RSS and agreement."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--repeat", type=int, default=3, help="runs on each side (default 3)")
    parser.add_argument("--size", type=int, default=10980, help="edge of the square scene in pixels")
    parser.add_argument("--workers", type=int, default=2, help="cluster workers (default 2)")
    parser.add_argument("--nthreads", type=int, default=1, help="threads per worker (default 1)")
    parser.add_argument("--memory-limit", default="4GiB", help="per worker (default 4GiB)")
    options = parser.parse_args(argv)

    inputs, outputs = WORK / "inputs", WORK / "outputs"
    outputs.mkdir(parents=True, exist_ok=True)
    print(f"generating or reusing the {options.size} x {options.size} pair under {inputs} ...", flush=True)
    red, nir = ensure_pair(inputs, options.size)
    print(f"{psutil.cpu_count()} CPUs; cluster: {options.workers} workers x {options.nthreads} threads")
    local, clustered = Side("local"), Side("cluster")
    with (
        DataServer(inputs) as server,
        bench_service(WORK / "data-local") as (local_url, local_pid),
        cluster_service(WORK / "data-cluster", options) as (cluster_url, cluster_pid, workers),
    ):
        xml = ndvi_xml(server, red, nir)
        for _ in range(options.repeat):
            run(local, local_url, local_pid, [], xml, outputs / "ndvi-local.tif")
            run(clustered, cluster_url, cluster_pid, workers, xml, outputs / "ndvi-cluster.tif")
    local.report()
    clustered.report()
    print(f"   ratio: cluster / local = {clustered.median / local.median:.2f}")
    print(f"   agree: {same_ndvi(outputs / 'ndvi-local.tif', outputs / 'ndvi-cluster.tif')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
