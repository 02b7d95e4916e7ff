"""Jobs on a real dask.distributed cluster (scheduler + 2 workers as processes on 127.0.0.1).

The API runs in the test process (TestClient) with ``dask_scheduler`` set; the workers are
``dask worker`` processes. Checked: the tasks run on the workers (both of them), a multi-output job
reads each chunk once, results equal the local pool's, progress, dismissal (the workers go idle),
a worker killed mid-job (its work is redone on the other), errors raised on a worker, and the
workers' guarded reads (a late redirect outside the allow-list reaches nothing).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient

from app.jobs import distributed_executor
from app.jobs.context import JobContext
from app.jobs.engine import executor_for
from app.main import create_app
from app.settings import Settings
from tests.support.cluster import ProcessCluster, cluster_registry, task_stream
from tests.support.dataserver import DataServer
from tests.support.hydrology_scenes import cell_centre_lonlat, outlet_geojson, sinky, write_dem
from tests.support.jobs import mixed_collections, submit, wait_for_job, wait_until_progress
from tests.support.ogcapi import assert_problem, execute
from tests.support.rasters import UTM_10M, RasterFactory
from tests.support.vectors import ZONES, feature_collection, lonlat, zones_scene

# see tests/algorithms/test_zonal.py: rasterio's warning suppression is not thread-safe
pytestmark = [
    pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning"),
    pytest.mark.xdist_group("cluster"),  # one xdist worker, one cluster (dev.py test: --dist loadgroup)
]

SLOW_TOTAL = 512.0 * 512.0  # slow_total sums a 512 x 512 array of ones
EPSG_32631 = "http://www.opengis.net/def/crs/EPSG/0/32631"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessCluster]:
    """One cluster for the module: a scheduler and two one-thread workers."""
    with ProcessCluster(tmp_path_factory.mktemp("cluster"), workers=2) as running:
        yield running


@pytest.fixture
def on_cluster(settings: Settings, cluster: ProcessCluster) -> Iterator[TestClient]:
    """The app running its jobs on the cluster (workers restored and idle first)."""
    cluster.restore_workers()
    configured = settings.model_copy(update={"dask_scheduler": cluster.address, "chunk_size": 256})
    with TestClient(create_app(configured, cluster_registry()), raise_server_exceptions=False) as api:
        yield api


@pytest.fixture
def on_pool(tmp_path: Path, settings: Settings) -> Iterator[TestClient]:
    """The same app on the local pool, for comparison."""
    configured = settings.model_copy(update={"data_dir": tmp_path / "local-data", "chunk_size": 256})
    with TestClient(create_app(configured, cluster_registry()), raise_server_exceptions=False) as api:
        yield api


def raw_result(api: TestClient, process: str, inputs: dict[str, Any], output: str) -> bytes:
    """A synchronous execute asking for one output, raw; its bytes."""
    body = {"inputs": inputs, "outputs": {output: {}}, "response": "raw"}
    response = execute(api, process, body)
    assert response.status_code == 200, response.text
    return response.content


def key_names(records: list[dict[str, Any]]) -> Counter[str]:
    """How many tasks ran of each kind (the key's name without its token)."""
    names = Counter[str]()
    for record in records:
        key = record["key"][0] if isinstance(record["key"], tuple) else record["key"]
        names[key.rsplit("-", 1)[0]] += 1
    return names


def test_job_runs_on_the_workers_and_reads_each_chunk_once(
    on_cluster: TestClient, cluster: ProcessCluster, rasters: RasterFactory, data_server: DataServer
) -> None:
    scene = rasters("scene.tif", width=1000, height=600, blocksize=256, seed=3)  # 4 x 3 chunks of 256
    inputs = {"raster": {"href": data_server.url("scene.tif")}, "seconds": 0.05}
    body = {"inputs": inputs, "response": "document"}
    with task_stream(cluster) as records:
        response = execute(on_cluster, "raster_stats", body)
    assert response.status_code == 200, response.text
    outputs = response.json()
    assert float(outputs["total"]) == float(scene.data.astype(np.float64).sum())
    assert float(outputs["maximum"]) == float(scene.data.max())
    workers = Counter(record["worker"] for record in records)
    assert set(workers) == set(cluster.client().nthreads()), workers  # both workers computed
    # each chunk is read (and passed through the per-chunk kernel) once for both outputs
    assert key_names(records)["_slow_block"] == 12, key_names(records)


def test_same_results_as_the_local_pool(
    on_cluster: TestClient, on_pool: TestClient, rasters: RasterFactory, data_server: DataServer
) -> None:
    zones_scene(rasters)
    zonal = {
        "raster": {"href": data_server.url("scene.tif")},
        "zones": {
            "value": json.loads(feature_collection([lonlat(z) for z in ZONES])),
            "mediaType": "application/geo+json",
        },
    }
    rasters("before.tif", width=700, height=500, dtype="float32", nodata=-1.0, nodata_fraction=0.03, seed=4)
    rasters("after.tif", width=700, height=500, dtype="float32", nodata=-1.0, nodata_fraction=0.03, seed=5)
    change = {
        "before": {"href": data_server.url("before.tif")},
        "after": {"href": data_server.url("after.tif")},
        "method": "ratio",
        "threshold": 0.25,
    }
    cases = [("zonal_statistics", zonal, "statistics"), ("change_detection", change, "changed_fraction")]
    for process, inputs, output in cases:
        expected = raw_result(on_pool, process, inputs, output)
        assert raw_result(on_cluster, process, inputs, output) == expected, process


def delivered(
    api: TestClient, process: str, inputs: dict[str, Any], outputs: tuple[str, ...]
) -> dict[str, Any]:
    """A synchronous execute, rasters by reference: each raster downloaded (pixels and georeferencing),
    other outputs as they came."""
    wanted = {name: {"transmissionMode": "reference"} for name in outputs}
    response = execute(api, process, {"inputs": inputs, "outputs": wanted, "response": "document"})
    assert response.status_code == 200, response.text
    found: dict[str, Any] = {}
    for name, value in response.json().items():
        if not (isinstance(value, dict) and "href" in value):
            found[name] = value
            continue
        download = api.get(value["href"].removeprefix("http://testserver"))
        assert download.status_code == 200
        with rasterio.MemoryFile(download.content) as memfile, memfile.open() as dataset:
            found[name] = (
                dataset.read(),
                dataset.profile["dtype"],
                dataset.crs,
                dataset.transform,
                dataset.nodata,
            )
    return found


def test_same_rasters_as_the_local_pool(
    on_cluster: TestClient,
    on_pool: TestClient,
    cluster: ProcessCluster,
    rasters: RasterFactory,
    data_server: DataServer,
) -> None:
    for name, seed in (("red.tif", 1), ("nir.tif", 2), ("later.tif", 3)):
        rasters(name, width=700, height=500, dtype="uint16", nodata=0, nodata_fraction=0.02, seed=seed)
    url = data_server.url
    cases = [
        ("ndvi", {"red": {"href": url("red.tif")}, "nir": {"href": url("nir.tif")}}, ("ndvi",)),
        (
            "clip",
            {
                "raster": {"href": url("red.tif")},
                "bbox": {"bbox": [501234, 5596123, 505678, 5599011], "crs": EPSG_32631},
            },
            ("clipped",),
        ),
        ("reproject", {"raster": {"href": url("red.tif")}, "crs": "EPSG:3857"}, ("reprojected",)),
        (
            "change_detection",  # two rasters and a reduction of the same inputs, in one job
            {"before": {"href": url("red.tif")}, "after": {"href": url("later.tif")}, "threshold": 500},
            ("difference", "mask", "changed_fraction"),
        ),
    ]
    for process, inputs, outputs in cases:
        expected = delivered(on_pool, process, inputs, outputs)
        with task_stream(cluster) as records:
            actual = delivered(on_cluster, process, inputs, outputs)
        assert len(records) > 10, (process, records)  # read, computed and written by the workers
        assert list(actual) == list(expected) == list(outputs), process
        for name in outputs:
            if isinstance(expected[name], tuple):
                np.testing.assert_array_equal(actual[name][0], expected[name][0], err_msg=f"{process} {name}")
                assert actual[name][1:-1] == expected[name][1:-1], (process, name)
                assert str(actual[name][-1]) == str(expected[name][-1]), (process, name)  # NaN == NaN
            else:
                assert actual[name] == expected[name], (process, name)


def test_hydrology_on_the_cluster_equals_the_local_pool(
    on_cluster: TestClient,
    on_pool: TestClient,
    cluster: ProcessCluster,
    rasters: RasterFactory,
    data_server: DataServer,
) -> None:
    """The tiled chain (global tasks between per-tile stages, cloned source reads) runs on the
    workers: accumulation and a snapped watershed (mask, outline, area) equal the pool's."""
    write_dem(rasters, sinky(height=600, width=700, seed=8))  # 256-pixel chunks: 3 x 3 tiles
    dem = {"href": data_server.url("dem.tif")}
    lon, lat = cell_centre_lonlat(UTM_10M, "EPSG:32631", 590, 350)
    watershed = {
        "dem": dem,
        "outlet": {"value": outlet_geojson(lon, lat), "mediaType": "application/geo+json"},
        "snap_distance": 100.0,
    }
    for process, inputs, output in (
        ("flow_accumulation", {"dem": dem}, "accumulation"),
        ("watershed", watershed, "watershed"),
    ):
        expected = delivered(on_pool, process, inputs, (output,))[output]
        with task_stream(cluster) as records:
            actual = delivered(on_cluster, process, inputs, (output,))[output]
        assert "hydrology-solution" in key_names(records), (
            process,
            key_names(records),
        )  # global steps ran there
        np.testing.assert_array_equal(actual[0], expected[0], err_msg=process)
        assert actual[1:-1] == expected[1:-1] and str(actual[-1]) == str(expected[-1]), process  # NaN nodata
    outline = raw_result(on_pool, "watershed", watershed, "outline")
    assert raw_result(on_cluster, "watershed", watershed, "outline") == outline
    area = json.loads(outline)["features"][0]["properties"]["area_km2"]
    assert area == pytest.approx(int((expected[0] == 1).sum()) * 100 / 1e6)


def test_progress_is_reported(on_cluster: TestClient) -> None:
    job_id = submit(on_cluster, "slow_total", {"seconds": 0.1})  # 64 chunks on 2 workers: ~3 s
    seen: list[int] = []
    deadline = time.monotonic() + 60
    while (status := on_cluster.get(f"/jobs/{job_id}").json())["status"] in ("accepted", "running"):
        if status["status"] == "running":
            seen.append(status["progress"])
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    assert status["status"] == "successful", status
    assert seen == sorted(seen), seen
    assert any(0 < percent < 100 for percent in seen), seen
    assert float(on_cluster.get(f"/jobs/{job_id}/results").json()) == SLOW_TOTAL  # the one output


def test_job_limits_apply_as_on_the_pool(settings: Settings, cluster: ProcessCluster) -> None:
    cluster.restore_workers()
    limited = {"dask_scheduler": cluster.address, "max_parallel": 1, "queue_size": 1}
    app = create_app(settings.model_copy(update=limited), cluster_registry())
    with TestClient(app, raise_server_exceptions=False) as api:
        running = submit(api, "slow_total", {"seconds": 0.5})
        queued = submit(api, "slow_total", {"seconds": 0.5})
        refused = execute(api, "slow_total", {"inputs": {"seconds": 0}}, Prefer="respond-async")
        assert "queue is full" in assert_problem(refused, 503, "server-busy")["detail"]
        wait_until_progress(api, running)
        assert api.get(f"/jobs/{queued}").json()["status"] == "accepted"  # waits for a slot
        for job_id in (queued, running):
            assert api.delete(f"/jobs/{job_id}").status_code == 200


def test_dismiss_cancels_the_futures_and_the_workers_go_idle(
    on_cluster: TestClient, cluster: ProcessCluster
) -> None:
    with task_stream(cluster) as records:
        job_id = submit(on_cluster, "slow_total", {"seconds": 0.5})  # 64 chunks: ~16 s on 2 workers
        wait_until_progress(on_cluster, job_id)
        assert on_cluster.delete(f"/jobs/{job_id}").status_code == 200
        wait_until_idle(cluster, within=5)
    assert on_cluster.get(f"/jobs/{job_id}").status_code == 404
    assert key_names(records)["_slow_block"] < 64  # stopped long before the end
    assert cluster.client().run_on_scheduler(_scheduler_tasks) == 0  # nothing of the job is left


def test_dismissed_raster_job_leaves_no_file(
    on_cluster: TestClient, cluster: ProcessCluster, settings: Settings
) -> None:
    job_id = submit(on_cluster, "slow", {"seconds": 0.3})  # a raster written by the workers
    wait_until_progress(on_cluster, job_id)
    assert on_cluster.delete(f"/jobs/{job_id}").status_code == 200
    wait_until_idle(cluster, within=5)
    time.sleep(0.5)
    assert not (settings.outputs_dir / job_id).exists()


def test_worker_killed_mid_job_is_recomputed_elsewhere(
    on_cluster: TestClient, cluster: ProcessCluster
) -> None:
    job_id = submit(on_cluster, "slow_total", {"seconds": 0.1})
    wait_until_progress(on_cluster, job_id)
    cluster.kill_worker(0)
    status = wait_for_job(on_cluster.get, job_id, timeout=60)
    assert status["status"] == "successful", status
    assert float(on_cluster.get(f"/jobs/{job_id}/results").json()) == SLOW_TOTAL  # the one output


def test_no_worker_left_fails_the_job_with_a_reason(
    on_cluster: TestClient, cluster: ProcessCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(distributed_executor, "NO_WORKER_GRACE", 2.0)
    job_id = submit(on_cluster, "slow_total", {"seconds": 0.5})
    wait_until_progress(on_cluster, job_id)
    cluster.kill_worker(0)
    cluster.kill_worker(0)
    status = wait_for_job(on_cluster.get, job_id, timeout=30)
    assert status["status"] == "failed", status
    problem = on_cluster.get(f"/jobs/{job_id}/results").json()
    assert "had no worker" in problem["detail"], problem


def test_error_raised_on_a_worker_reaches_the_client(
    on_cluster: TestClient, rasters: RasterFactory, data_server: DataServer
) -> None:
    rasters("scene.tif", width=300, height=200)
    inputs = {"raster": {"href": data_server.url("scene.tif")}, "fail": True}
    response = execute(on_cluster, "raster_stats", {"inputs": inputs})
    problem = assert_problem(response, 400, "data-not-accessible", locator="raster")
    assert "vanished" in problem["detail"]


def test_workers_read_through_the_guard_a_late_redirect_reaches_nothing(
    settings: Settings, cluster: ProcessCluster, rasters: RasterFactory, data_server: DataServer
) -> None:
    """The header reads of the API process are honest; the pixel reads, made by the workers, are
    redirected outside the allow-list: the workers' own guards refuse them."""
    common = {"width": 600, "height": 400, "blocksize": 256, "compress": None}
    red = rasters("red.tif", seed=1, **common)
    rasters("nir.tif", seed=2, **common)
    with rasterio.open(red.path) as dataset:
        first_pixel = int(dataset.get_tag_item("BLOCK_OFFSET_0_0", "TIFF", bidx=1))
    cluster.restore_workers()
    with (
        DataServer(rasters.directory) as forbidden,
        DataServer(
            rasters.directory, redirect_ranges=forbidden.base_url, redirect_ranges_from=first_pixel
        ) as late,
    ):
        allowed = [f"127.0.0.1:{data_server.port}", f"127.0.0.1:{late.port}"]
        configured = settings.model_copy(
            update={"dask_scheduler": cluster.address, "chunk_size": 256, "allowed_hosts": allowed}
        )
        inputs = {"red": {"href": late.url("red.tif")}, "nir": {"href": data_server.url("nir.tif")}}
        with (
            TestClient(create_app(configured), raise_server_exceptions=False) as api,
            task_stream(cluster) as records,
        ):
            response = execute(api, "ndvi", {"inputs": inputs})
        assert_problem(response, 400, "data-not-accessible", locator="red")
        assert forbidden.requests == []  # nothing reached the address outside the list
        assert any(entry.status == 302 for entry in late.requests)  # the redirects were served
    failed_on = {record["worker"] for record in records if record.get("status") == "error"}
    assert failed_on and failed_on <= set(cluster.client().nthreads())  # refused on the workers


def wait_until_idle(cluster: ProcessCluster, within: float) -> None:
    """Until no worker executes or holds a task; fails after ``within`` seconds."""
    deadline = time.monotonic() + within
    while any(cluster.executing().values()):
        assert time.monotonic() < deadline, cluster.executing()
        time.sleep(0.1)


def _scheduler_tasks(dask_scheduler: Any) -> int:
    """Runs on the scheduler: tasks it still knows."""
    return len(dask_scheduler.tasks)


def test_results_come_in_the_order_given_on_the_cluster(
    settings: Settings, cluster: ProcessCluster, tmp_path: Path
) -> None:
    """As on the local pool (tests/jobs/test_compute_order.py): dask groups mixed kinds, jobs must not."""
    executor = executor_for(settings.model_copy(update={"dask_scheduler": cluster.address}))
    try:
        context = JobContext("job", tmp_path, executor=executor)
        assert context.compute(*mixed_collections()) == (16.0, b"first", 7.0, "second")
    finally:
        executor.close()
