"""The provisioned Grafana dashboard, deploy/grafana/provisioning/dashboards/rasterwps.json, as data.

    for panel, target in dashboard_targets(load_dashboard()):
        prometheus.query(promql(target["expr"]))

``promql`` turns a panel's query into plain PromQL, as Grafana does before sending it: its global
variables (``$__rate_interval``...) replaced by fixed durations. The dashboard defines no variables
of its own, so anything else that looks like one is an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"
DASHBOARD = PROVISIONING / "dashboards" / "rasterwps.json"
DATASOURCES = PROVISIONING / "datasources" / "prometheus.yml"

# Grafana's global variables, with values a panel a few minutes wide would get from a Prometheus
# scraping every 15 s ($__rate_interval is at least four scrape intervals).
GLOBALS = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h", "__range_s": "3600"}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


def load_dashboard(path: Path = DASHBOARD) -> dict[str, Any]:
    """The dashboard JSON."""
    dashboard: dict[str, Any] = json.loads(path.read_text())
    return dashboard


def provisioned_datasource() -> dict[str, Any]:
    """The one Prometheus datasource Grafana is provisioned with."""
    document = yaml.safe_load(DATASOURCES.read_text())
    (datasource,) = [item for item in document["datasources"] if item["type"] == "prometheus"]
    return dict(datasource)


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside rows included."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_targets(dashboard: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(panel, target) for every query of every panel."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield panel, target


def promql(expr: str) -> str:
    """A panel's query with Grafana's global variables replaced; unknown variables are refused."""

    def value(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name not in GLOBALS:
            raise ValueError(f"the query uses ${name}, which is not one of Grafana's globals: {expr}")
        return GLOBALS[name]

    return VARIABLE.sub(value, expr)
