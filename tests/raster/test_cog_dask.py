"""The COG writer's graph: it pickles, runs on a dask.distributed cluster, reads shared inputs
once, keeps memory bounded on the threaded scheduler, and reports a full disk as such."""

from __future__ import annotations

import errno
import threading
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import cloudpickle
import dask
import dask.array as da
import distributed
import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401
import xarray as xr
from rio_cogeo.cogeo import cog_validate

import app.raster.cog
from app.model.errors import NotEnoughStorage
from app.raster.open import open_raster
from app.raster.write import geotiff_store, write_geotiff
from tests.support.rasters import RasterFactory


def on_grid(data: da.Array) -> xr.DataArray:
    height, width = data.shape[-2:]
    coords = {"y": 5600000 - 10 * (np.arange(height) + 0.5), "x": 500000 + 10 * (np.arange(width) + 0.5)}
    return xr.DataArray(data, dims=("y", "x"), coords=coords).rio.write_crs("EPSG:32631")


def gradient_block(block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
    """Pixels computed from their position: a lazy raster that exists nowhere as a whole."""
    assert block_info is not None
    (row0, row1), (col0, col1) = block_info[None]["array-location"]
    rows = (np.arange(row0, row1) * 7 % 1000).astype(np.float32) / 8
    cols = (np.arange(col0, col1) * 3 % 1000).astype(np.float32) / 8
    return np.add.outer(rows, cols)  # one block-sized allocation


def gradient(side: int, chunks: int) -> xr.DataArray:
    template = da.zeros((side, side), dtype=np.float32, chunks=chunks)
    return on_grid(template.map_blocks(gradient_block, dtype=np.float32))


@pytest.fixture(scope="module")
def client() -> Iterator[distributed.Client]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as dask_client,
    ):
        yield dask_client


def test_graph_pickles_without_locks_or_datasets(tmp_path: Path) -> None:
    raster = RasterFactory(tmp_path / "in")(width=900, height=700, dtype="int16", nodata=-1, blocksize=256)
    data = open_raster(str(raster.path), chunk_size=512, locator="raster")
    with geotiff_store(data * 3, tmp_path / "out.tif") as store:
        shipped = cloudpickle.loads(cloudpickle.dumps(store))
        dask.compute(shipped, scheduler="sync")
    with rasterio.open(tmp_path / "out.tif") as src:
        np.testing.assert_array_equal(src.read(), raster.data * 3)
        assert src.nodata == -1


def test_writes_on_a_dask_distributed_cluster(tmp_path: Path, client: distributed.Client) -> None:
    """Workers in other processes read, compute and write parts; one of them assembles."""
    raster = RasterFactory(tmp_path / "in")(width=1500, height=1300, dtype="uint16", nodata=0, blocksize=256)
    source = open_raster(str(raster.path), chunk_size=512, locator="raster")
    doubled = (source.astype("float32") * 2).rio.write_nodata(float("nan"))
    mask = (source > 30000).astype("uint8")
    with ExitStack() as stack:
        first = stack.enter_context(geotiff_store(doubled, tmp_path / "doubled.tif"))
        second = stack.enter_context(geotiff_store(mask, tmp_path / "mask.tif", "deflate:6"))
        sizes = client.compute([first, second, (source > 30000).mean().data], sync=True)
    assert sizes[0] == (tmp_path / "doubled.tif").stat().st_size
    assert sizes[2] == pytest.approx((raster.data > 30000).mean())
    with rasterio.open(tmp_path / "doubled.tif") as src:
        np.testing.assert_array_equal(src.read(), raster.data.astype("float32") * 2)
    with rasterio.open(tmp_path / "mask.tif") as src:
        np.testing.assert_array_equal(src.read(), (raster.data > 30000).astype("uint8"))
    for name in ("doubled.tif", "mask.tif"):
        assert cog_validate(str(tmp_path / name), strict=True, quiet=True) == (True, [], [])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["doubled.tif", "in", "mask.tif"]


def test_failure_on_the_cluster_leaves_nothing(tmp_path: Path, client: distributed.Client) -> None:
    def explode(block: np.ndarray) -> np.ndarray:
        if block.shape[0] < 512:  # the last row of chunks, after others were written
            raise RuntimeError("kernel failed")
        return block

    data = gradient(1500, 512)
    broken = data.copy(data=data.data.map_blocks(explode, dtype=data.dtype))
    with (
        pytest.raises(RuntimeError, match="kernel failed"),
        geotiff_store(broken, tmp_path / "out.tif") as store,
    ):
        client.compute(store, sync=True)
    assert list(tmp_path.iterdir()) == []


def test_shared_inputs_are_computed_once(tmp_path: Path) -> None:
    """Two rasters and a reduction of one source in one compute: each source chunk once."""
    computed: Counter[tuple[int, ...]] = Counter()
    lock = threading.Lock()

    def counted(block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        assert block_info is not None
        with lock:
            computed[tuple(block_info[None]["chunk-location"])] += 1
        return gradient_block(block, block_info)

    template = da.zeros((1800, 1300), dtype=np.float32, chunks=512)
    source = on_grid(template.map_blocks(counted, dtype=np.float32))
    with ExitStack() as stack:
        plus = stack.enter_context(geotiff_store(source + 1, tmp_path / "plus.tif"))
        times = stack.enter_context(geotiff_store(source * 2, tmp_path / "times.tif"))
        dask.compute(plus, times, source.mean().data)
    assert len(computed) == 4 * 3
    assert set(computed.values()) == {1}


def test_memory_stays_bounded_on_threads(tmp_path: Path) -> None:
    data = gradient(8192, 1024)  # 256 MiB of float32, generated chunk by chunk
    tracemalloc.start()
    try:
        write_geotiff(data, tmp_path / "big.tif")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"peak traced {peak / 2**20:.1f} MiB for {data.nbytes / 2**20:.0f} MiB")
    assert peak < data.nbytes / 6  # about 26 MiB here, the same for 64 or 576 MiB rasters
    with rasterio.open(tmp_path / "big.tif") as src:
        assert src.overviews(1) == [2, 4, 8, 16]
        window = rasterio.windows.Window(5000, 7000, 700, 600)
        expected = data[7000:7600, 5000:5700].values
        np.testing.assert_array_equal(src.read(1, window=window), expected)


def test_full_disk_is_not_enough_storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_room(*args: object) -> bytes:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(app.raster.cog, "encode_tile", no_room)
    with pytest.raises(NotEnoughStorage):
        write_geotiff(gradient(600, 300), tmp_path / "out.tif")
    assert list(tmp_path.iterdir()) == []
