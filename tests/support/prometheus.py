"""Debian's Prometheus, run for real on 127.0.0.1, scraping the service as deploy/prometheus/prometheus.yml does.

    with running_prometheus(tmp_path / "prometheus", port, ["127.0.0.1:8001"]) as prometheus:
        prometheus.wait_for_scrapes(2)
        prometheus.query('sum(rate(wps_requests_total{job="wps"}[1m]))')

The configuration is the deployed job ``wps`` (its name and metrics path) with only what Docker
provides replaced: the replicas found by DNS become the given static targets, and every target is
scraped each second instead of each 15 s, so that a test needs seconds, not minutes. Storage and
log go to ``scratch``.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.service import stop_process

DEPLOYED = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "prometheus.yml"
JOB = "wps"
START_TIMEOUT = 30.0
SCRAPE_TIMEOUT = 30.0


def prometheus_available() -> bool:
    """Whether Debian's Prometheus server is installed (.ci/run installs the package ``prometheus``)."""
    return shutil.which("prometheus") is not None


def rendered_config(targets: list[str], scrape_interval: str = "1s") -> dict[str, Any]:
    """The deployed scrape job ``wps`` pointed at ``targets`` (``host:port``), every ``scrape_interval``."""
    deployed = yaml.safe_load(DEPLOYED.read_text())
    job = next(job for job in deployed["scrape_configs"] if job["job_name"] == JOB)
    assert "dns_sd_configs" in job, "the deployed job finds the API replicas by DNS"
    job = {key: value for key, value in job.items() if key != "dns_sd_configs"}
    job["static_configs"] = [{"targets": targets}]
    interval = {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval}
    return {"global": deployed.get("global", {}) | interval, "scrape_configs": [job]}


@dataclass
class Prometheus:
    """A running Prometheus server and its HTTP API."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector ``expr`` evaluates to now (``/api/v1/query``); fails on a query error."""
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = answer.json()
        assert answer.status_code == 200 and body["status"] == "success", f"{expr}: {answer.text}"
        assert body["data"]["resultType"] == "vector", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def scrapes(self, job: str = JOB) -> int:
        """Scrapes of ``job`` stored so far (successful or not), over all its targets."""
        result = self.query(f'sum(count_over_time(up{{job="{job}"}}[1h]))')
        return int(float(result[0]["value"][1])) if result else 0

    def wait_for_scrapes(self, count: int, job: str = JOB) -> None:
        """Return once ``count`` more scrapes of ``job`` have been stored (and are queryable)."""
        target = self.scrapes(job) + count
        deadline = time.monotonic() + SCRAPE_TIMEOUT
        while self.scrapes(job) < target:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{count} scrapes of {job} not stored in time; log:\n{self.log_tail()}")
            time.sleep(0.2)

    def targets_up(self, job: str = JOB) -> dict[str, str]:
        """Health of each target of ``job`` as Prometheus last saw it, with its last error if any."""
        answer = httpx.get(f"{self.url}/api/v1/targets", params={"state": "active"}, timeout=10).json()
        return {
            target["scrapeUrl"]: f"{target['health']} {target['lastError']}".strip()
            for target in answer["data"]["activeTargets"]
            if target["labels"].get("job") == job
        }

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def running_prometheus(scratch: Path, port: int, targets: list[str]) -> Iterator[Prometheus]:
    """Prometheus on 127.0.0.1:``port`` scraping ``targets`` as job ``wps``; stopped on exit."""
    scratch.mkdir(parents=True, exist_ok=True)
    config = scratch / "prometheus.yml"
    config.write_text(yaml.safe_dump(rendered_config(targets), sort_keys=False))
    log = scratch / "prometheus.log"
    command = [
        "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={scratch / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with log.open("ab") as output:
        process = subprocess.Popen(command, cwd=scratch, stdout=output, stderr=subprocess.STDOUT)
    server = Prometheus(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_until_ready(server)
        yield server
    finally:
        stop_process(process)


def _wait_until_ready(server: Prometheus) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if httpx.get(f"{server.url}/-/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"Prometheus not ready on {server.url} (exit {server.process.poll()}); log:\n{server.log_tail()}"
            )
        time.sleep(0.1)
