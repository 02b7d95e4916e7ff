"""Redo ``docs/images/notebook-map.png``: ndvi_map.ipynb run in JupyterLab, its NDVI map photographed.

From the repository root, on a Debian machine with chromium::

    python3 -m venv /tmp/lab    # JupyterLab and the widgets' front-ends, not a project dependency
    /tmp/lab/bin/pip install jupyterlab jupyterlab_widgets==3.0.17 jupyter-leaflet==0.20.0
    apt-get download r-cran-stars && dpkg-deb -x r-cran-stars_*.deb /tmp/stars    # a real scene
    .venv/bin/python -m examples.screenshot_notebook --jupyter /tmp/lab/bin/jupyter \\
        --scene /tmp/stars/usr/lib/R/site-library/stars/tif/L7_ETMs.tif

(the front-ends' versions must be those of ``.venv``'s ``jupyterlab_widgets`` and ``ipyleaflet``,
which the kernel runs). Everything happens on 127.0.0.1, offline:

* the red and near-infrared bands of ``--scene`` (by default bands 3 and 4 of ``L7_ETMs.tif``, the
  349 x 352 pixels Landsat 7 ETM+ excerpt near Olinda, Brazil, that R's stars package ships under
  the Apache 2.0 licence) become two GeoTIFFs, served by a local data server;
* the service runs as a child process (``tests/support/service.py``, loopback references allowed);
* JupyterLab, from the ``--jupyter`` environment, serves a copy of the notebook (the repository's
  own stays without outputs) with a kernel of this interpreter, WPS_URL, RED_URL and NIR_URL set;
* Debian's chromium, driven by Playwright, runs all cells, waits until the NDVI map's tiles are
  drawn and photographs the cell ``show(ndvi_execution, "ndvi")``. Requests to any other host are
  refused, the OpenStreetMap basemap's included: the map's background stays blank.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import rasterio
from playwright.sync_api import Page, Route, sync_playwright

from tests.support.dataserver import DataServer
from tests.support.service import ROOT, free_port, running_service, stop_process

NOTEBOOK = ROOT / "examples" / "ndvi_map.ipynb"
MAP_CELL = 'show(ndvi_execution, "ndvi")'
STARS_SCENE = "/usr/lib/R/site-library/stars/tif/L7_ETMs.tif"
LAB_SETTINGS = {
    # every cell stays in the page (JupyterLab 4 otherwise detaches those out of view)
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # no "receive news?" prompt over the notebook
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def arguments(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jupyter", default="jupyter", help="the jupyter command of an env with jupyterlab")
    parser.add_argument("--scene", type=Path, default=Path(STARS_SCENE), help="a multi-band GeoTIFF")
    parser.add_argument("--red-band", type=int, default=3, help="the scene's red band (default 3)")
    parser.add_argument("--nir-band", type=int, default=4, help="the scene's near-infrared band (default 4)")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="the browser Playwright drives")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "notebook-map.png")
    return parser.parse_args(argv)


def write_bands(scene: Path, bands: dict[str, int], directory: Path) -> None:
    """Each named band of the scene as a single-band tiled GeoTIFF ``<name>.tif`` in ``directory``."""
    with rasterio.open(scene) as source:
        profile = source.profile | {"count": 1, "tiled": True, "blockxsize": 256, "blockysize": 256}
        profile |= {"compress": "deflate", "interleave": "band"}
        for name, band in bands.items():
            with rasterio.open(directory / f"{name}.tif", "w", **profile) as target:
                target.write(source.read(band), 1)


@contextmanager
def jupyter_lab(jupyter: str, workdir: Path, env: dict[str, str]) -> Iterator[str]:
    """JupyterLab on 127.0.0.1 over a copy of the notebook, kernel = this interpreter; its URL."""
    root, data, settings = workdir / "root", workdir / "jupyter-data", workdir / "lab-settings"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    kernel = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]}
    (data / "kernels" / "python3").mkdir(parents=True)
    kernel |= {"display_name": "Python 3 (rasterwps .venv)", "language": "python"}
    (data / "kernels" / "python3" / "kernel.json").write_text(json.dumps(kernel))
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    command = [
        *(jupyter, "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}"),
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run all cells, read the kernel state
    ]
    paths = {"JUPYTER_PATH": str(data), "JUPYTER_CONFIG_DIR": str(workdir / "config")}  # first in line
    lab_env = os.environ | env | paths
    with (workdir / "jupyterlab.log").open("wb") as log:
        process = subprocess.Popen(command, env=lab_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(lambda: _answers(f"{url}/api/status?token={token}"), 60, "JupyterLab did not start")
            yield f"{url}/lab/tree/{NOTEBOOK.name}?token={token}"
        finally:
            stop_process(process)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def wait_for(check: Callable[[], bool], timeout: float, message: str) -> None:
    """Call ``check`` until it is true, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(message)
        time.sleep(0.5)


def local_only(route: Route) -> None:
    """Let requests to 127.0.0.1 through, refuse every other."""
    if urlsplit(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


def run_all_cells(page: Page) -> None:
    """Run the notebook's cells in JupyterLab and wait until each code cell has run, without error."""
    page.wait_for_function(
        "() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle'",
        timeout=120_000,
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # idle with every code cell run, or with an error (JupyterLab stops running cells at the first)
    failure = page.wait_for_function(
        """() => {
            const panel = window.jupyterapp.shell.currentWidget;
            const cells = panel.content.widgets.filter((cell) => cell.model.type === 'code');
            if (panel.sessionContext.session.kernel.status !== 'idle') return false;
            for (const cell of cells) {
                for (let i = 0; i < cell.model.outputs.length; i++) {
                    const output = cell.model.outputs.get(i);
                    if (output.type === 'error') return output.toJSON().traceback.join('\\n');
                }
            }
            return cells.every((cell) => cell.model.executionCount !== null) ? 'ok' : false;
        }""",
        timeout=300_000,
    ).json_value()
    if failure != "ok":
        raise RuntimeError(f"a cell failed:\n{failure}")


def photograph_map(page: Page, out: Path) -> None:
    """Screenshot the map cell once its tiles from the service are drawn."""
    cell = page.locator(".jp-CodeCell", has_text=MAP_CELL)
    cell.scroll_into_view_if_needed()
    tiles = "img.leaflet-tile[src*='/tiles/WebMercatorQuad/']"
    cell.locator(f"{tiles}.leaflet-tile-loaded").first.wait_for(timeout=60_000)
    page.wait_for_function(
        "(selector) => [...document.querySelectorAll(selector)].every((tile) => tile.complete)", arg=tiles
    )
    page.wait_for_timeout(1000)  # the tiles' fade-in
    out.parent.mkdir(parents=True, exist_ok=True)
    cell.screenshot(path=str(out))


def main(argv: list[str] | None = None) -> int:
    """Run the notebook against a local service in JupyterLab and screenshot its NDVI map."""
    args = arguments(argv)
    if not args.scene.is_file():
        sys.exit(f"{args.scene} not found: see how to get it at the top of {Path(__file__).name}")
    with tempfile.TemporaryDirectory(prefix="notebook-screenshot-") as temporary:
        workdir = Path(temporary)
        (workdir / "served").mkdir()
        write_bands(args.scene, {"red": args.red_band, "nir": args.nir_band}, workdir / "served")
        with DataServer(workdir / "served") as data, running_service(workdir / "service") as service:
            env = {"WPS_URL": service, "RED_URL": data.url("red.tif"), "NIR_URL": data.url("nir.tif")}
            with jupyter_lab(args.jupyter, workdir, env) as lab, sync_playwright() as playwright:
                root = ["--no-sandbox"] if os.geteuid() == 0 else []
                browser = playwright.chromium.launch(executable_path=args.chromium, args=root)
                page = browser.new_page(viewport={"width": 1100, "height": 1000})
                page.route("**/*", local_only)
                page.goto(lab)
                run_all_cells(page)
                photograph_map(page, args.out)
                browser.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
