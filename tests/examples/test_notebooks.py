"""examples/ndvi_map.ipynb, executed by nbclient against the real service (a child process) on small
local rasters: no cell may fail, the statistics it prints must be those of an independent NDVI, and
its maps must hold the service's tile layers, whose tiles answer."""

from __future__ import annotations

import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import nbformat
import numpy as np
import pytest
import rasterio
from nbclient import NotebookClient

from tests.support.dataserver import DataServer
from tests.support.raster_results import expected_ndvi
from tests.support.rasters import UTM_10M, RasterFactory
from tests.support.service import ROOT, running_service

NOTEBOOK = ROOT / "examples" / "ndvi_map.ipynb"
KERNEL = "rasterwps-tests"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
STATISTIC = re.compile(r"^(grid|bounds|valid pixels|min|mean|max)\s*: (.+)$", re.MULTILINE)


def execute_notebook(
    path: Path, workdir: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> nbformat.NotebookNode:
    """Run every cell of a notebook in a kernel of this interpreter (the venv's), with ``env``."""
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]}
    spec |= {"display_name": "Python (tests)", "language": "python"}
    (workdir / "jupyter" / "kernels" / KERNEL).mkdir(parents=True)
    (workdir / "jupyter" / "kernels" / KERNEL / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(workdir / "jupyter"))  # searched before any other place
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, kernel_name=KERNEL, timeout=120, resources={"metadata": {"path": str(workdir)}}
    )
    client.execute(env=os.environ | env)
    return notebook


def cell_output(notebook: nbformat.NotebookNode, source: str) -> str:
    """The text printed by the one code cell whose source holds ``source``."""
    (cell,) = [c for c in notebook.cells if c.cell_type == "code" and source in c.source]
    return "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")


def printed_summary(text: str) -> dict[str, str]:
    """The lines of the notebook's ``summarize()``, by name."""
    return dict(STATISTIC.findall(text))


def assert_statistics(summary: dict[str, str], expected: np.ndarray) -> None:
    """Valid pixel count exact; min, mean and max as printed (6 decimals) within float32 rounding."""
    valid = expected[~np.isnan(expected)]
    assert int(summary["valid pixels"]) == valid.size
    for name, value in (("min", valid.min()), ("mean", valid.mean()), ("max", valid.max())):
        assert abs(float(summary[name]) - value) < 2e-6, (name, summary[name], value)


def window_of(summary: dict[str, str]) -> tuple[slice, slice]:
    """The rows and columns of the test grid (UTM_10M) covered by a printed grid and bounds."""
    width, height = (int(n) for n in re.match(r"(\d+) x (\d+) pixels of 10 x 10$", summary["grid"]).groups())
    left, _bottom, _right, top = (float(value) for value in summary["bounds"].split(", "))
    col, row = ~UTM_10M * (left, top)
    assert col == round(col) and row == round(row)
    return slice(round(row), round(row) + height), slice(round(col), round(col) + width)


def widget_models(notebook: nbformat.NotebookNode, model_name: str) -> list[dict[str, Any]]:
    """The saved state of every widget of one kind (nbclient keeps the state of the kernel's widgets)."""
    models = notebook.metadata["widgets"][WIDGET_STATE]["state"].values()
    return [model["state"] for model in models if model["model_name"] == model_name]


def tile_at(longitude: float, latitude: float, zoom: int) -> tuple[int, int]:
    """The WebMercatorQuad (x, y) tile holding a point at a zoom level."""
    scale = 2**zoom
    y = (1 - math.asinh(math.tan(math.radians(latitude))) / math.pi) / 2
    return int((longitude + 180) / 360 * scale), int(y * scale)


def test_committed_notebook_has_no_outputs() -> None:
    """The saved form stays clean: whoever opens it sees what their own run prints."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)
    assert "widgets" not in notebook.metadata


@pytest.mark.xdist_group("notebook")
def test_ndvi_map_notebook(
    tmp_path: Path, rasters: RasterFactory, data_server: DataServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    common = {"width": 600, "height": 400, "nodata": 0, "nodata_fraction": 0.02, "blocksize": 128}
    red = rasters("red.tif", seed=41, **common)
    nir = rasters("nir.tif", seed=42, **common)
    expected = expected_ndvi(red, nir)
    with running_service(tmp_path / "service") as service:
        env = {
            "WPS_URL": service,
            "RED_URL": data_server.url("red.tif"),
            "NIR_URL": data_server.url("nir.tif"),
        }
        notebook = execute_notebook(NOTEBOOK, tmp_path, env, monkeypatch)

        # rioxarray's statistics of both results are those of an independent NDVI of the inputs
        ndvi = printed_summary(cell_output(notebook, "summarize(ndvi)"))
        assert ndvi["grid"] == "600 x 400 pixels of 10 x 10"
        assert_statistics(ndvi, expected)
        clipped = printed_summary(cell_output(notebook, "summarize(clipped)"))
        rows, cols = window_of(clipped)
        assert 0.4 < (cols.stop - cols.start) / 600 < 0.65 and 0.4 < (rows.stop - rows.start) / 400 < 0.65
        assert 0 < cols.start < cols.stop < 600 and 0 < rows.start < rows.stop < 400
        assert_statistics(clipped, expected[rows, cols])

        # each progress bar was driven to its end by the status documents' percentCompleted
        bars = widget_models(notebook, "FloatProgressModel")
        assert len(bars) == 2
        assert all(bar["value"] == bar["max"] == 100 and bar["bar_style"] == "success" for bar in bars)

        # each map holds the result's tile layer from the service, and its tile at the map's centre answers
        jobs = {
            output: re.search(rf"{service}/outputs/([^/]+)/", cell_output(notebook, source)).group(1)
            for output, source in (("ndvi", 'run("ndvi"'), ("clipped", 'run("clip"'))
        }
        maps = widget_models(notebook, "LeafletMapModel")
        layers = [
            layer
            for layer in widget_models(notebook, "LeafletTileLayerModel")
            if layer["url"].startswith(service)
        ]
        assert len(maps) == len(layers) == 2
        for output, layer, map_state in zip(("ndvi", "clipped"), layers, maps, strict=True):
            prefix = (
                f"{service}/jobs/{jobs[output]}/results/{output}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png"
            )
            assert layer["url"].startswith(prefix)
            assert "colormap_name=rdylgn" in layer["url"]  # the process's default, or asked for (clipped)
            latitude, longitude = map_state["center"]
            zoom = int(map_state["zoom"])
            x, y = tile_at(longitude, latitude, zoom)
            url = layer["url"].replace("{z}", str(zoom)).replace("{x}", str(x)).replace("{y}", str(y))
            tile = httpx.get(url, timeout=30)
            assert tile.status_code == 200 and tile.headers["content-type"] == "image/png"
            with rasterio.MemoryFile(tile.content) as memfile, memfile.open() as png:
                assert png.count == 4 and png.read(4).any()  # RGBA, not a fully transparent tile

        # the legends are the TileJSON's colours
        legends = [
            html["value"]
            for html in widget_models(notebook, "HTMLModel")
            if "linear-gradient" in html["value"]
        ]
        assert len(legends) == 2
        tilejson = httpx.get(
            f"{service}/jobs/{jobs['ndvi']}/results/ndvi/tiles/WebMercatorQuad/tilejson.json", timeout=30
        ).json()
        assert all(stop["color"] in legends[0] for stop in tilejson["legend_stops"])
