"""Job engine figures: async round-trip overhead, and many concurrent async jobs held without loss.

Run by hand: ``.venv/bin/python -m bench.bench_jobs [--jobs 50] [--repeat 20]``.

Starts the real service (``uvicorn app.main:app``) and a local data server, then measures
1. the submit -> succeeded round trip of a trivial WPS 2.0 async ``echo`` (polling GetStatus every
   10 ms), against a synchronous ``echo`` in the same run (median of ``--repeat`` each);
2. ``--jobs`` async ``ndvi`` jobs on a 1024 x 1024 pair submitted at once from as many threads:
   how many were accepted, refused (ServerBusy), succeeded, failed, and how long the batch took.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from lxml import etree

from tests.support.dataserver import DataServer
from tests.support.rasters import RasterFactory
from tests.support.service import running_service

WPS2 = "http://www.opengis.net/wps/2.0"
NS = {"wps": WPS2}


def execute(identifier: str, body: str, mode: str) -> str:
    """A WPS 2.0 Execute document."""
    return (
        f'<wps:Execute xmlns:wps="{WPS2}" xmlns:ows="http://www.opengis.net/ows/2.0"'
        ' xmlns:xlink="http://www.w3.org/1999/xlink" service="WPS" version="2.0.0"'
        f' mode="{mode}" response="document"><ows:Identifier>{identifier}</ows:Identifier>{body}</wps:Execute>'
    )


ECHO = '<wps:Input id="literal"><wps:Data><wps:LiteralValue>x</wps:LiteralValue></wps:Data></wps:Input>'


def status(client: httpx.Client, url: str, job_id: str) -> str:
    """The job's WPS 2.0 status word."""
    document = f'<wps:GetStatus xmlns:wps="{WPS2}" service="WPS" version="2.0.0"><wps:JobID>{job_id}</wps:JobID></wps:GetStatus>'
    return (
        etree.fromstring(client.post(url, content=document).content).findtext("wps:Status", namespaces=NS)
        or ""
    )


def submit(client: httpx.Client, url: str, document: str) -> str | None:
    """Submit an async job; its id, or None when refused."""
    response = client.post(url, content=document)
    if response.status_code != 200:
        return None
    return etree.fromstring(response.content).findtext("wps:JobID", namespaces=NS)


def round_trips(url: str, repeat: int) -> tuple[float, float]:
    """Median seconds of an async echo to Succeeded, and of a sync echo."""
    asynchronous, synchronous = [], []
    with httpx.Client(timeout=60) as client:
        for _ in range(repeat):
            started = time.perf_counter()
            job_id = submit(client, url, execute("echo", ECHO, "async"))
            assert job_id
            while status(client, url, job_id) != "Succeeded":
                time.sleep(0.01)
            asynchronous.append(time.perf_counter() - started)
            started = time.perf_counter()
            assert client.post(url, content=execute("echo", ECHO, "sync")).status_code == 200
            synchronous.append(time.perf_counter() - started)
    return statistics.median(asynchronous), statistics.median(synchronous)


def concurrent_jobs(url: str, server: DataServer, jobs: int) -> dict[str, float]:
    """Submit ``jobs`` async ndvi jobs at once; count what became of each."""
    body = (
        f'<wps:Input id="red"><wps:Reference xlink:href="{server.url("red.tif")}"/></wps:Input>'
        f'<wps:Input id="nir"><wps:Reference xlink:href="{server.url("nir.tif")}"/></wps:Input>'
        '<wps:Output id="ndvi" transmission="reference"/>'
    )
    started = time.perf_counter()
    with httpx.Client(timeout=120) as client, ThreadPoolExecutor(max_workers=jobs) as pool:
        ids = list(pool.map(lambda _: submit(client, url, execute("ndvi", body, "async")), range(jobs)))
        accepted = [job_id for job_id in ids if job_id]
        final: dict[str, str] = {}
        while len(final) < len(accepted):
            for job_id in accepted:
                if job_id not in final:
                    word = status(client, url, job_id)
                    if word in {"Succeeded", "Failed"}:
                        final[job_id] = word
            time.sleep(0.1)
    words = list(final.values())
    return {
        "submitted": jobs,
        "accepted": len(accepted),
        "refused": jobs - len(accepted),
        "succeeded": words.count("Succeeded"),
        "failed": words.count("Failed"),
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    """Run both measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rasters = RasterFactory(Path(tmp) / "served")
        common = {"width": 1024, "height": 1024, "blocksize": 256, "nodata": 0}
        rasters("red.tif", seed=1, **common)
        rasters("nir.tif", seed=2, **common)
        with DataServer(rasters.directory) as server, running_service(Path(tmp) / "data") as url:
            async_median, sync_median = round_trips(f"{url}/wps", args.repeat)
            print(
                f"echo async round trip: median {async_median * 1000:.1f} ms "
                f"(sync execute {sync_median * 1000:.1f} ms, ratio {async_median / sync_median:.2f})"
            )
            figures = concurrent_jobs(f"{url}/wps", server, args.jobs)
            print(
                "concurrent ndvi 1024x1024: "
                + ", ".join(
                    f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()
                )
            )


if __name__ == "__main__":
    main()
