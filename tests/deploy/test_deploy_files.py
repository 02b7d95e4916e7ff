"""The container deployment (Dockerfile, deploy/) agrees with the code it runs.

No container runtime runs here, so these tests hold the compose stack to what the service actually
reads and serves: every WPS_* variable is a setting, the API and the workers share one image and one
results volume, the URLs between services name real ports and routes, the proxy is the one trusted.
The same topology runs for real, as processes, in tests/deploy/test_stack_live.py.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.support.nginx import nginx_available, rendered_conf

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DEFAULT = re.compile(r"\$\{[A-Z0-9_]+:-([^}]*)\}")


def interpolated(value: Any) -> Any:
    """The compose document as `docker compose` reads it with no variables set (defaults applied)."""
    if isinstance(value, dict):
        return {key: interpolated(item) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolated(item) for item in value]
    if isinstance(value, str):
        return DEFAULT.sub(r"\1", value)
    return value


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return interpolated(yaml.safe_load((DEPLOY / "docker-compose.yml").read_text()))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def service_env(service: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in service.get("environment", {}).items()}


def test_every_wps_variable_is_a_setting(services: dict[str, Any]) -> None:
    fields = {f"WPS_{name.upper()}" for name in Settings.model_fields}
    named = {key for service in services.values() for key in service_env(service) if key.startswith("WPS_")}
    dockerfile_env = " ".join(args for op, args in dockerfile_instructions() if op == "ENV")
    named |= set(re.findall(r"\b(WPS_[A-Z_]+)=", dockerfile_env))
    assert named, "the deployment configures the service through WPS_* variables"
    assert named <= fields, f"not settings of the service: {sorted(named - fields)}"


def test_one_image_for_api_scheduler_and_workers(services: dict[str, Any]) -> None:
    images = {
        name: (services[name]["image"], services[name]["build"]["context"])
        for name in ("api", "dask-scheduler", "dask-worker")
    }
    assert len(set(images.values())) == 1, images
    assert (DEPLOY / images["api"][1] / "Dockerfile").resolve() == ROOT / "Dockerfile"


def test_the_image_runs_as_a_user_and_the_api_trusts_only_its_own_list() -> None:
    instructions = dockerfile_instructions()
    users = [args for op, args in instructions if op == "USER"]
    assert users and users[-1] not in {"root", "0"}
    command = next(args for op, args in reversed(instructions) if op == "CMD")
    assert "app.main:app" in command and "--no-proxy-headers" in command
    assert any(op == "HEALTHCHECK" and "/readyz" in args for op, args in instructions)


def test_api_and_workers_share_the_results_volume_at_the_data_dir(services: dict[str, Any]) -> None:
    for name in ("api", "dask-worker"):
        env = service_env(services[name])
        data_dir = env["WPS_DATA_DIR"]
        assert f"results:{data_dir}" in services[name]["volumes"], name
        assert env["WPS_DASK_SCHEDULER"] == service_env(services["api"])["WPS_DASK_SCHEDULER"]
    assert int(services["api"]["deploy"]["replicas"]) == 2
    assert int(services["dask-worker"]["deploy"]["replicas"]) >= 2


def test_the_api_reaches_postgres_and_the_scheduler_it_waits_for(services: dict[str, Any]) -> None:
    env = service_env(services["api"])
    database = urlsplit(env["WPS_DATABASE_URL"])
    postgres = service_env(services["postgres"])
    assert database.scheme == "postgresql" and database.hostname == "postgres"
    assert (database.username, database.password, database.path.lstrip("/")) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        postgres["POSTGRES_DB"],
    )
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])

    scheduler = urlsplit(env["WPS_DASK_SCHEDULER"])
    command = services["dask-scheduler"]["command"]
    assert scheduler.hostname == "dask-scheduler"
    assert command[:2] == ["dask", "scheduler"]
    assert command[command.index("--port") + 1] == str(scheduler.port)
    worker = services["dask-worker"]["command"]
    assert worker[:3] == ["dask", "worker", env["WPS_DASK_SCHEDULER"]]
    for dependency in ("postgres", "dask-scheduler"):
        assert services["api"]["depends_on"][dependency]["condition"] == "service_healthy"
    for name in ("proxy", "api", "postgres", "dask-scheduler", "dask-worker"):
        assert "healthcheck" in services[name], name


def test_only_the_compose_network_is_trusted_for_forwarded_headers(compose: dict[str, Any]) -> None:
    trusted = service_env(compose["services"]["api"])["WPS_TRUSTED_PROXIES"].split(",")
    subnet = ipaddress.ip_network(compose["networks"]["default"]["ipam"]["config"][0]["subnet"])
    assert [ipaddress.ip_network(item) for item in trusted] == [subnet]
    assert subnet.is_private


def test_prometheus_scrapes_every_api_replica_where_metrics_are_served(
    services: dict[str, Any], tmp_path: Path
) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    wps = next(job for job in config["scrape_configs"] if job["job_name"] == "wps")
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        scraped = client.get(wps["metrics_path"])
    assert scraped.status_code == 200 and "wps_http_requests" in scraped.text
    assert wps["dns_sd_configs"] == [{"names": ["api"], "type": "A", "port": 8000, "refresh_interval": "30s"}]
    worker = services["dask-worker"]["command"]
    workers = next(job for job in config["scrape_configs"] if job["job_name"] == "dask-worker")
    assert worker[worker.index("--dashboard-address") + 1] == f":{workers['dns_sd_configs'][0]['port']}"
    assert (
        "./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in services["prometheus"]["volumes"]
    )


def test_grafana_is_provisioned_with_the_compose_prometheus(services: dict[str, Any]) -> None:
    provisioning = DEPLOY / "grafana" / "provisioning"
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in services["grafana"]["volumes"]


@pytest.mark.skipif(not nginx_available(), reason="nginx is not installed (.ci/run installs it)")
def test_the_proxy_configuration_is_accepted_by_nginx(tmp_path: Path) -> None:
    conf = tmp_path / "nginx.conf"
    conf.write_text(rendered_conf(["127.0.0.1:8000"]))
    checked = subprocess.run(
        ["nginx", "-t", "-c", str(conf), "-e", "/dev/stderr"], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr


def test_the_proxy_keeps_metrics_private_and_streams(services: dict[str, Any]) -> None:
    text = (DEPLOY / "nginx" / "nginx.conf").read_text()
    assert re.search(r"location = /metrics \{\s*return 404;", text)
    for directive in (
        "proxy_buffering off;",
        "proxy_request_buffering off;",
        "X-Forwarded-For $proxy_add_x_forwarded_for;",
        "X-Forwarded-Proto $scheme;",
    ):
        assert directive in text
    size = re.search(r"client_max_body_size (\d+)m;", text)
    assert size and int(size.group(1)) * 2**20 >= Settings().max_request_bytes
    assert "./nginx/nginx.conf:/etc/nginx/nginx.conf:ro" in services["proxy"]["volumes"]
