"""The compose deployment without containers: the same parts, as real processes on 127.0.0.1.

deploy/docker-compose.yml cannot run here (no container runtime). This runs what it describes:
the proxy with deploy/nginx/nginx.conf (only the upstream addresses, port and scratch paths
replaced) in front of two API processes (uvicorn, as the image starts them) that share one
PostgreSQL job store and one data directory and run their graphs on a 2-worker dask cluster
(`dask scheduler` and `dask worker`, as the compose services do). OWSLib, unmodified, talks to the
proxy only: every link the service writes must lead back through it, whichever API answers.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import rasterio
from owslib.wps import ComplexDataInput, WebProcessingService

from tests.support.cluster import ProcessCluster, task_stream
from tests.support.dataserver import DataServer
from tests.support.jobs import complete_owslib_execution
from tests.support.nginx import nginx_available, running_nginx
from tests.support.raster_results import assert_ndvi_matches
from tests.support.rasters import RasterFactory
from tests.support.service import free_port, service_process

GEOTIFF = "image/tiff; subtype=geotiff"

pytestmark = [
    pytest.mark.skipif(not nginx_available(), reason="nginx is not installed (.ci/run installs nginx-light)"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # OWSLib's own
]


def test_owslib_through_the_proxy_on_shared_jobs_and_a_cluster(
    tmp_path: Path, rasters: RasterFactory, data_server: DataServer, postgres_url: str
) -> None:
    common = {"width": 900, "height": 700, "nodata": 0, "nodata_fraction": 0.02, "blocksize": 128}
    red = rasters("red.tif", seed=31, **common)
    nir = rasters("nir.tif", seed=32, **common)
    data_dir = tmp_path / "results-volume"
    proxy_port, port_1, port_2 = free_port(), free_port(), free_port()
    public = f"http://127.0.0.1:{proxy_port}"
    with ProcessCluster(tmp_path / "cluster", workers=2, env={"WPS_DATA_DIR": str(data_dir)}) as cluster:
        shared = {
            "WPS_PUBLIC_URL": public,  # as WPS_PUBLIC_URL in the compose file: the proxy's URL
            "WPS_DATABASE_URL": postgres_url,
            "WPS_DASK_SCHEDULER": cluster.address,
            "WPS_TRUSTED_PROXIES": "127.0.0.1",
            "WPS_CHUNK_SIZE": "256",
        }
        with (
            service_process(data_dir, port_1, shared | {"WPS_INSTANCE_NAME": "api-1"}),
            service_process(data_dir, port_2, shared | {"WPS_INSTANCE_NAME": "api-2"}),
            running_nginx(tmp_path / "proxy", proxy_port, [f"127.0.0.1:{port_1}", f"127.0.0.1:{port_2}"]),
        ):
            wps = WebProcessingService(f"{public}/wps")
            assert "ndvi" in {process.identifier for process in wps.processes}
            inputs = [
                (band, ComplexDataInput(data_server.url(f"{band}.tif"), mimeType=GEOTIFF))
                for band in ("red", "nir")
            ]
            with task_stream(cluster) as records:
                execution = wps.execute("ndvi", inputs, output=[("ndvi", True)])  # async, polled
                assert execution.statusLocation.startswith(f"{public}/wps/status/")
                complete_owslib_execution(execution, polls=600)
            assert execution.isSucceded(), execution.errors
            href = execution.processOutputs[0].reference
            assert href.startswith(f"{public}/outputs/")
            downloaded = httpx.get(href, timeout=60)  # through the proxy, from either API
            assert downloaded.status_code == 200
            with rasterio.MemoryFile(downloaded.content) as memfile, memfile.open() as dataset:
                assert_ndvi_matches(dataset, red, nir)
            job_id = execution.statusLocation.rsplit("/", 1)[1]
            for port in (port_1, port_2):  # one job store: each API knows the job
                job = httpx.get(f"http://127.0.0.1:{port}/jobs/{job_id}", timeout=10)
                assert job.status_code == 200 and job.json()["status"] == "successful", job.text
            metrics = httpx.get(f"{public}/metrics", timeout=10)
            assert metrics.status_code == 404  # kept from the public side of the proxy
    workers = {record["worker"] for record in records}
    assert len(workers) == 2, workers  # the pixels were computed on both workers
    served = [_served_wps_requests(tmp_path / f"service-{port}.log") for port in (port_1, port_2)]
    assert all(served), served  # the proxy spread the requests over both APIs


def _served_wps_requests(log: Path) -> int:
    """Requests to /wps that uvicorn's access log records for one API process."""
    return sum(1 for line in log.read_text(errors="replace").splitlines() if '"GET /wps' in line)
