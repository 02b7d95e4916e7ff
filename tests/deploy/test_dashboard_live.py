"""Every panel of the Grafana dashboard shows data from a real Prometheus scraping the service at work.

Debian's Prometheus scrapes the service (a real uvicorn process) as the deployed job ``wps`` each
second while a workload runs against it: echo jobs (synchronous and asynchronous), an NDVI of two
rasters by reference, and an asynchronous NDVI whose input answers 404 (a job that fails). Then
every query of every panel of deploy/grafana/provisioning/dashboards/rasterwps.json, with Grafana's
variables replaced as Grafana would, is evaluated through Prometheus's HTTP API and must return
data, and the data must say what the workload did. Once with the service as one plain process, once
in prometheus-client's multiprocess mode (as with several uvicorn workers: memory by worker pid).

The workload runs twice, with scrapes in between: rate() needs a counter to grow between two
samples, and a labelled series first appears in a scrape already holding its first count.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.dataserver import DataServer
from tests.support.grafana import dashboard_targets, load_dashboard, promql
from tests.support.prometheus import Prometheus, prometheus_available, running_prometheus
from tests.support.rasters import RasterFactory
from tests.support.service import free_port, service_process

GEOTIFF = "image/tiff; application=geotiff"
UNAVAILABLE = (
    "PROMETHEUS IS NOT INSTALLED, THE DASHBOARD IS NOT CHECKED LIVE (.ci/run installs the package prometheus)"
)

if not prometheus_available():
    print(f"\nWARNING: {UNAVAILABLE}", file=sys.stderr)
pytestmark = pytest.mark.skipif(not prometheus_available(), reason=UNAVAILABLE)


def finished(client: httpx.Client, location: str) -> dict[str, Any]:
    """The job at ``location`` once it has ended."""
    deadline = time.monotonic() + 60
    while True:
        job: dict[str, Any] = client.get(location).json()
        if job["status"] in {"successful", "failed", "dismissed"}:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def workload(client: httpx.Client, data_server: DataServer) -> None:
    """Jobs that succeed and one that fails, on the OGC API face; a WPS 1.0 and a WPS 2.0 request."""
    echo = {"inputs": {"literal": "hello"}, "response": "document"}
    answer = client.post("/processes/echo/execution", json=echo)
    assert answer.status_code == 200 and answer.json() == {"literal": "hello"}, answer.text
    answer = client.post("/processes/echo/execution", json=echo, headers={"Prefer": "respond-async"})
    assert answer.status_code == 201, answer.text
    assert finished(client, answer.headers["location"])["status"] == "successful"

    bands = {band: {"href": data_server.url(f"{band}.tif"), "type": GEOTIFF} for band in ("red", "nir")}
    ndvi = {"inputs": bands, "outputs": {"ndvi": {"transmissionMode": "reference"}}, "response": "document"}
    answer = client.post("/processes/ndvi/execution", json=ndvi)
    assert answer.status_code == 200 and "href" in answer.json()["ndvi"], answer.text

    missing = ndvi | {"inputs": bands | {"red": {"href": data_server.url("missing.tif"), "type": GEOTIFF}}}
    answer = client.post("/processes/ndvi/execution", json=missing, headers={"Prefer": "respond-async"})
    assert answer.status_code == 201, answer.text
    failed = finished(client, answer.headers["location"])
    assert failed["status"] == "failed" and "404" in failed["message"], failed

    for version in ("1.0.0", "2.0.0"):
        answer = client.get(
            "/wps", params={"service": "WPS", "request": "GetCapabilities", "AcceptVersions": version}
        )
        assert answer.status_code == 200, answer.text


def values(series: list[dict[str, Any]]) -> dict[tuple[tuple[str, str], ...], float]:
    """An instant vector as {sorted labels: value}."""
    return {tuple(sorted(item["metric"].items())): float(item["value"][1]) for item in series}


def panel_data(prometheus: Prometheus) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """{(panel title, refId): the instant vector its query evaluates to now}."""
    return {
        (panel["title"], target["refId"]): prometheus.query(promql(target["expr"]))
        for panel, target in dashboard_targets(load_dashboard())
    }


@pytest.mark.parametrize("multiprocess", [False, True], ids=["one-process", "multiprocess-mode"])
def test_every_panel_shows_data_from_a_prometheus_scraping_the_service(
    tmp_path: Path, rasters: RasterFactory, data_server: DataServer, multiprocess: bool
) -> None:
    env: dict[str, str] = {}
    if multiprocess:  # as with several uvicorn workers: metrics kept in files, memory by pid
        (tmp_path / "multiproc").mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "multiproc")
    common = {"width": 301, "height": 211, "nodata": 0, "nodata_fraction": 0.05, "blocksize": 64}
    rasters("red.tif", seed=1, **common)
    rasters("nir.tif", seed=2, **common)
    port, prometheus_port = free_port(), free_port()
    with (
        service_process(tmp_path / "data", port, env),
        running_prometheus(tmp_path / "prometheus", prometheus_port, [f"127.0.0.1:{port}"]) as prometheus,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client,
    ):
        prometheus.wait_for_scrapes(2)
        assert all(health == "up" for health in prometheus.targets_up().values()), prometheus.targets_up()
        for _ in range(2):
            workload(client, data_server)
            prometheus.wait_for_scrapes(3)
        data = panel_data(prometheus)
        assert all(health == "up" for health in prometheus.targets_up().values()), prometheus.targets_up()

    empty = sorted(key for key, series in data.items() if not series)
    assert not empty, f"panels without data: {empty}"
    by_title = {title: values(series) for (title, _), series in data.items() if _ == "A"}
    by_query = {key: values(series) for key, series in data.items()}

    requests = by_title["Requests per minute by process"]
    rates = {dict(labels)["process_id"]: rate for labels, rate in requests.items() if rate > 0}
    assert {"echo", "ndvi", "(none)"} <= set(rates), requests
    assert {"ogcapi", "wps1", "wps2"} <= {dict(labels)["face"] for labels in requests}, requests

    for ref_id in ("A", "B", "C"):  # p50, p90, p99: a duration for each process that ran jobs
        quantiles = by_query[("Job duration p50 / p90 / p99 by process", ref_id)]
        durations = {dict(labels)["process_id"]: seconds for labels, seconds in quantiles.items()}
        assert {"echo", "ndvi"} <= set(durations), quantiles
        assert all(math.isfinite(seconds) and seconds > 0 for seconds in durations.values()), quantiles

    memory = by_title["Resident memory by instance"]
    assert memory and all(rss > 10 * 2**20 for rss in memory.values()), memory
    if multiprocess:  # one line per worker process
        assert all(dict(labels).get("pid") for labels in memory), memory

    failures = by_title["Failed jobs per minute by code"]
    failed = {
        dict(labels)["process_id"]: (dict(labels).get("code"), rate) for labels, rate in failures.items()
    }
    assert set(failed) == {"ndvi"} and failed["ndvi"][0] and failed["ndvi"][1] > 0, failures

    # every job has ended: nothing waits, nothing runs (the gauges are there, at zero)
    assert list(by_title["Queue depth"].values()) == [0.0]
    assert list(by_title["Running jobs"].values()) == [0.0]
