"""The README's batch example (one async OWSLib job per scene), run as it stands against the service."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import rasterio

from tests.support.dataserver import DataServer
from tests.support.live import LiveServer
from tests.support.raster_results import assert_is_window
from tests.support.rasters import RasterFactory

README = Path(__file__).resolve().parents[2] / "README.md"


def batch_example() -> str:
    """The python block of the README's Batches section."""
    section = README.read_text().split("### Batches", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "no python block under ### Batches"
    return match.group(1)


def test_the_readme_batch_clips_every_scene(
    live_server: LiveServer, data_server: DataServer, rasters: RasterFactory
) -> None:
    scenes = [rasters(f"scene-{i}.tif", width=160, height=140, seed=i, pattern="random") for i in range(4)]
    namespace = {
        "WPS_URL": f"{live_server.url}/wps",
        "SCENES": [data_server.url(scene.path.name) for scene in scenes]
        + [data_server.url("missing.tif")],  # one scene fails: the others do not
    }
    exec(compile(batch_example(), "README.md (Batches)", "exec"), namespace)
    clipped, failed = namespace["clipped"], namespace["failed"]
    assert list(failed) == [data_server.url("missing.tif")]
    assert len(clipped) == 4
    for scene in scenes:
        result = httpx.get(clipped[data_server.url(scene.path.name)])
        with rasterio.MemoryFile(result.content) as memory, memory.open() as dataset:
            col, row = assert_is_window(dataset, scene)
            assert (col, row) == (10, 10) and dataset.shape == (110, 80)
