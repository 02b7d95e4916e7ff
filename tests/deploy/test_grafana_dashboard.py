"""The Grafana dashboard provisioned with the compose stack holds together without a Grafana.

Grafana is not run here: these tests hold deploy/grafana/provisioning/dashboards/rasterwps.json to
what Grafana needs to load it (where the provisioning file looks, the datasource uid it references)
and to what the service exposes (every metric a query names, on the job Prometheus scrapes it as).
Whether each query returns data from a real Prometheus scraping the service at work is
tests/deploy/test_dashboard_live.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from tests.support.grafana import (
    DASHBOARD,
    PROVISIONING,
    dashboard_targets,
    load_dashboard,
    panels,
    promql,
    provisioned_datasource,
)
from tests.support.prometheus import DEPLOYED as PROMETHEUS_CONFIG
from tests.support.prometheus import JOB

DEPLOY = PROVISIONING.parents[1]

# What GET /metrics exposes (DESIGN.md "Metrics"): the series names Prometheus stores for it.
EXPOSED = {
    "wps_requests_total",
    "wps_job_duration_seconds_bucket",
    "wps_job_duration_seconds_sum",
    "wps_job_duration_seconds_count",
    "wps_jobs_failed_total",
    "wps_jobs",
    "wps_queue_depth",
    "process_resident_memory_bytes",
    "wps_http_requests_total",
    "wps_http_request_seconds_bucket",
    "wps_http_request_seconds_sum",
    "wps_http_request_seconds_count",
}
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or"}
PROMQL_KEYWORDS |= {"unless", "offset", "inf", "nan"}


def metric_names(expr: str) -> list[str]:
    """The metric names a PromQL query selects (each occurrence), ignoring functions and labels."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings (label values, label_replace arguments)
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    words = re.findall(r"(?<![\w:.])([A-Za-z_:][\w:]*)\b(?!\s*\()", text)
    return [word for word in words if word.lower() not in PROMQL_KEYWORDS]


def selectors(expr: str) -> list[tuple[str, str]]:
    """(metric name, label matchers) of every vector selector in a query."""
    return re.findall(r"(?<![\w:\"])([A-Za-z_:][\w:]*)\s*\{([^}]*)\}", expr)


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return load_dashboard()


@pytest.fixture(scope="module")
def datasource() -> dict[str, Any]:
    return provisioned_datasource()


def test_the_provisioning_file_points_at_the_folder_holding_the_dashboard() -> None:
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "rasterwps.yml").read_text())
    (dashboards,) = provider["providers"]
    assert dashboards["type"] == "file"
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    mounts = [volume.split(":") for volume in compose["services"]["grafana"]["volumes"]]
    # the folder Grafana reads inside its container, mapped back to the repository through the mount
    in_container = PurePosixPath(dashboards["options"]["path"])
    (folder,) = [
        (DEPLOY / source / in_container.relative_to(target)).resolve()
        for source, target, *_ in mounts
        if in_container.is_relative_to(target)
    ]
    assert folder == DASHBOARD.parent
    assert sorted(path.name for path in folder.glob("*.json")) == [DASHBOARD.name]


def test_the_dashboard_is_a_grafana_11_dashboard_of_timeseries_panels(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] and dashboard["title"]
    assert dashboard["schemaVersion"] >= 39  # Grafana 11
    assert "id" not in dashboard or dashboard["id"] is None  # provisioning assigns it
    ids = [panel["id"] for panel in panels(dashboard)]
    assert ids and len(ids) == len(set(ids)), ids
    for panel in panels(dashboard):
        assert panel["type"] == "timeseries", panel["title"]
        assert panel["title"] and {"h", "w", "x", "y"} <= set(panel["gridPos"]), panel
    assert "${DS" not in DASHBOARD.read_text() and "__inputs" not in dashboard  # no import-time inputs


def test_every_panel_queries_the_provisioned_datasource_by_its_uid(
    dashboard: dict[str, Any], datasource: dict[str, Any]
) -> None:
    assert datasource["uid"], "the datasource has a fixed uid for the dashboard to reference"
    expected = {"type": "prometheus", "uid": datasource["uid"]}
    for panel in panels(dashboard):
        assert panel["datasource"] == expected, panel["title"]
        for target in panel["targets"]:
            assert target.get("datasource", expected) == expected, (panel["title"], target)


def test_every_panel_has_queries_with_unique_ref_ids(dashboard: dict[str, Any]) -> None:
    for panel in panels(dashboard):
        targets = panel["targets"]
        assert targets and all(target.get("expr", "").strip() for target in targets), panel["title"]
        ref_ids = Counter(target["refId"] for target in targets)
        assert all(count == 1 for count in ref_ids.values()), (panel["title"], ref_ids)


def test_queries_name_only_metrics_the_service_exposes_on_the_scraped_job(dashboard: dict[str, Any]) -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    assert JOB in {job["job_name"] for job in config["scrape_configs"]}
    for panel, target in dashboard_targets(dashboard):
        expr = promql(target["expr"])  # also refuses variables the dashboard does not define
        names = metric_names(expr)
        assert names and set(names) <= EXPOSED, (panel["title"], sorted(set(names) - EXPOSED))
        selected = selectors(expr)
        assert sorted(name for name, _ in selected) == sorted(names), (panel["title"], expr)
        for name, matchers in selected:
            assert re.search(rf'(?:^|,)\s*job\s*=\s*"{JOB}"\s*(?:,|$)', matchers), (panel["title"], name)


def test_the_required_panels_are_there(dashboard: dict[str, Any]) -> None:
    def exprs(panel: dict[str, Any]) -> list[str]:
        return [re.sub(r"\s+", "", target["expr"]) for target in panel["targets"]]

    required = {
        "requests per minute by process": lambda e: any(
            "wps_requests_total" in x and "rate(" in x and "by(" in x and "process_id" in x and "*60" in x
            for x in e
        ),
        "job duration p50/p90/p99 by process": lambda e: (
            all(
                any(f"histogram_quantile({q}," in x and "wps_job_duration_seconds_bucket" in x for x in e)
                for q in ("0.5", "0.9", "0.99")
            )
            and all("process_id" in x and "le" in x for x in e)
        ),
        "resident memory": lambda e: any("process_resident_memory_bytes" in x for x in e),
        "failures by code": lambda e: any("wps_jobs_failed_total" in x and "code" in x for x in e),
        "queue depth": lambda e: any("wps_queue_depth" in x for x in e),
        "running jobs": lambda e: any(re.search(r'wps_jobs\{[^}]*status="running"', x) for x in e),
    }
    found = {
        name: [p["title"] for p in panels(dashboard) if test(exprs(p))] for name, test in required.items()
    }
    assert all(len(titles) == 1 for titles in found.values()), found
    assert len({titles[0] for titles in found.values()}) == len(required), found  # one panel each


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed (package prometheus)")
def test_every_query_is_valid_promql(dashboard: dict[str, Any], tmp_path: Path) -> None:
    rules = [
        {"record": f"panel_{panel['id']}_{target['refId']}", "expr": promql(target["expr"])}
        for panel, target in dashboard_targets(dashboard)
    ]
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
