"""The hydrology chain on a Sentinel-2-sized DEM: the service (WPS 1.0.0, by reference) vs one whole-array tile.

    python -m bench.bench_hydrology                  # 10980 x 10980, 3 runs of each side, one watershed
    python -m bench.bench_hydrology --size 2048 -n 1 # a quick run
    python -m bench.bench_hydrology --pysheds 4096   # also pysheds and the service on a 4096 x 4096 window
    python -m bench.bench_hydrology --whole DEM OUT  # the whole-array baseline alone
    python -m bench.bench_hydrology --pysheds-run DEM   # the pysheds chain alone

The DEM (generated once under bench/_work/inputs, strip by strip, with a stamp): float32, EPSG:32631,
10 m pixels on ``bench.data``'s grid, 512 x 512 deflate tiles with predictor 3, no overviews,
nodata -9999. Its elevations: a regional slope towards the lower right, smooth noise at four
scales (cubic B-splines through seeded coarse grids, so every strip agrees with its neighbours at
the seams), valleys carved along the zero line of another smooth field, 42 closed bowls from
about 1 km to a 48 km wide basin (scene fractions; on the full scene the fill raises 23.5 % of
the cells and the largest lakes span 2 x 2 chunks of 2048 pixels), rounded to whole metres as
SRTM is (so flats are common, and every filled lake is a flat), a nodata wedge in the lower left
corner and three nodata holes.

Service side: ``uvicorn app.main:app`` (``bench.service.bench_service``), a WPS 1.0.0 Execute of
``flow_accumulation`` with the DEM by reference on the local data server and the output by
reference, downloaded (time = request + compute + download). Then one ``watershed`` Execute at
the cell of largest accumulation (snap_distance 100 m), the mask by reference (downloaded), the
outline and the area in the response. The service's peak RSS (with its children) is sampled
every 50 ms.

Baseline (a fresh process per run): the same chain (``Drainage(dem).accumulation()``) on the
whole raster as ONE tile: the DEM read at once with rasterio over the same HTTP server, a
numpy-backed DataArray, the result written as a tiled zstd float32 GeoTIFF. Its wall time and
peak RSS are what not tiling costs; its result is the oracle: the service's accumulation must
equal it pixel for pixel (NaN where it is NaN), and the watershed's cell count must equal its
accumulation at the snapped outlet.

``--pysheds SIZE``: the top-left SIZE x SIZE window of the DEM as its own file, run through
pysheds 0.5 (depressions filled as pysheds did before 0.4, see :func:`pysheds_steps`;
resolve_flats, flowdir, accumulation) in a fresh process, the whole-array baseline and the
service; times and peak RSS only for pysheds (its flats are resolved differently, so its values
are not compared).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
import numpy as np
import psutil
import rasterio
import rasterio.windows
from pyproj import Transformer

from bench.data import TILE, transform_for, write_dem_cog
from bench.direct_ndvi import GDAL_OPTIONS
from bench.service import PeakRss, bench_service, reference_input
from tests.support.dataserver import DataServer

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work"
INPUTS, OUTPUTS = WORK / "inputs", WORK / "outputs-hydrology"
ROWS = 512
NODATA = -9999.0
VERSION = 1
SNAP_METRES = 100.0
WPS = "{http://www.opengis.net/wps/1.0.0}"
OWS = "{http://www.opengis.net/ows/1.1}"
NAMESPACES = (
    'xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1" '
    'xmlns:xlink="http://www.w3.org/1999/xlink"'
)


# --- the DEM --------------------------------------------------------------------------------------


def spline_weights(first: int, count: int, spacing: float, nodes: int) -> np.ndarray:
    """(count, nodes) weights of pixels ``first ..`` on a uniform cubic B-spline, knots every ``spacing``.

    Pixel ``p`` (centre ``p + 0.5``) takes the 4 nodes around it; node ``k`` sits at pixel
    ``(k - 1) * spacing``, so every pixel of the raster has its 4 nodes within ``nodes``.
    """
    t = (np.arange(first, first + count) + 0.5) / spacing
    base = np.floor(t).astype(np.int64)
    f = t - base
    weights = np.zeros((count, nodes))
    rows = np.arange(count)
    for k, w in enumerate(
        ((1 - f) ** 3 / 6, (3 * f**3 - 6 * f**2 + 4) / 6, (-3 * f**3 + 3 * f**2 + 3 * f + 1) / 6, f**3 / 6)
    ):
        weights[rows, base + k] = w
    return weights


@dataclass
class Noise:
    """Smooth noise of one scale over a ``size`` x ``size`` raster, any rows of it at a time.

    A seeded coarse grid of normal values, one node every ``spacing`` pixels, interpolated by a
    cubic B-spline (separable: rows of weights @ grid @ columns of weights). A pixel's value
    depends on its own coordinates only, so strips are continuous across their seams.
    """

    size: int
    spacing: float
    amplitude: float
    seed: int
    grid: np.ndarray = field(init=False)
    columns: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        nodes = math.ceil(self.size / self.spacing) + 4
        self.grid = np.random.default_rng([self.seed, int(self.spacing)]).normal(size=(nodes, nodes))
        self.columns = spline_weights(0, self.size, self.spacing, nodes).T.copy()

    def rows(self, row0: int, rows: int) -> np.ndarray:
        """Rows ``row0 .. row0 + rows``, float64, standard deviation about 0.48 x ``amplitude``."""
        weights = spline_weights(row0, rows, self.spacing, self.grid.shape[0])
        values: np.ndarray = (weights @ self.grid) @ self.columns
        return values * self.amplitude


@dataclass(frozen=True)
class Bowl:
    """A closed depression: a cosine bowl of ``depth`` metres, ``radius`` pixels, centred at (row, col)."""

    row: float
    col: float
    radius: float
    depth: float


def bowls(size: int) -> list[Bowl]:
    """Two large basins (the first 48 km wide on the full scene) and 40 smaller ones, in scene fractions."""
    found = [
        Bowl(0.5 * size, 0.42 * size, 0.22 * size, 260.0),
        Bowl(0.22 * size, 0.78 * size, 0.1 * size, 140.0),
    ]
    rng = np.random.default_rng([size, 11])
    for _ in range(40):
        row, col = rng.uniform(0.05, 0.95, size=2) * size
        radius = size * 10 ** rng.uniform(-2.3, -1.2)  # 55 to 690 pixels on the full scene
        found.append(Bowl(row, col, radius, float(rng.uniform(4.0, 40.0))))
    return found


def holes(size: int) -> list[tuple[float, float, float]]:
    """Three nodata holes (row, col, radius in pixels): water leaves into them."""
    return [
        (0.3 * size, 0.25 * size, 0.012 * size),
        (0.7 * size, 0.7 * size, 0.02 * size),
        (0.15 * size, 0.5 * size, 0.008 * size),
    ]


class Terrain:
    """The DEM of one size, any rows of it at a time (deterministic; strips agree at their seams)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.relief = [
            Noise(size, 2048, 150.0, 1),
            Noise(size, 512, 120.0, 2),
            Noise(size, 128, 60.0, 3),
            Noise(size, 32, 10.0, 4),
        ]
        self.valleys = Noise(size, 1024, 1.0, 5)
        self.bowls = bowls(size)
        self.holes = holes(size)

    def rows(self, row0: int, rows: int, step: float = 1.0) -> np.ndarray:
        """Rows ``row0 .. row0 + rows`` of the DEM: float32 metres rounded to ``step``, NODATA outside."""
        size = self.size
        y = np.arange(row0, row0 + rows, dtype=np.float64)[:, None]
        x = np.arange(size, dtype=np.float64)[None, :]
        z = 1400.0 - 1000.0 * (0.6 * x + 0.4 * y) / size  # towards the lower right
        for noise in self.relief:
            z = z + noise.rows(row0, rows)
        z -= 80.0 * np.exp(-((self.valleys.rows(row0, rows) / 0.15) ** 2))  # valleys along its zero line
        for bowl in self.bowls:
            top, bottom = (
                max(row0, math.floor(bowl.row - bowl.radius)),
                min(row0 + rows, math.ceil(bowl.row + bowl.radius) + 1),
            )
            left, right = (
                max(0, math.floor(bowl.col - bowl.radius)),
                min(size, math.ceil(bowl.col + bowl.radius) + 1),
            )
            if top >= bottom or left >= right:
                continue
            d = np.hypot(y[top - row0 : bottom - row0] - bowl.row, x[:, left:right] - bowl.col) / bowl.radius
            z[top - row0 : bottom - row0, left:right] -= np.where(
                d < 1, bowl.depth * 0.5 * (1 + np.cos(np.pi * np.minimum(d, 1))), 0.0
            )
        values = (np.round(z / step) * step if step else z).astype(np.float32)
        values[(size - 1 - y) + x < size / 12] = NODATA  # the lower left corner: outside the swath
        for row, col, radius in self.holes:
            values[np.hypot(y - row, x - col) < radius] = NODATA
        return values


def ensure_dem(directory: Path, size: int) -> Path:
    """The cached hydrology DEM of this size, generated strip by strip when missing or stale."""
    directory.mkdir(parents=True, exist_ok=True)
    path, stamp = directory / f"hydro_dem_{size}.tif", directory / f"hydro_dem_{size}.json"
    wanted = {"size": size, "tile": TILE, "version": VERSION}
    if path.exists() and stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return path
    started = time.perf_counter()
    terrain = Terrain(size)
    strips = (
        (row0, min(ROWS, size - row0), terrain.rows(row0, min(ROWS, size - row0)))
        for row0 in range(0, size, ROWS)
    )
    write_dem_cog(path, size, strips, transform_for(), NODATA)
    stamp.write_text(json.dumps(wanted))
    print(
        f"generated {path.name} ({path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return path


def ensure_window(dem: Path, edge: int) -> Path:
    """The top-left ``edge`` x ``edge`` pixels of ``dem`` as their own COG (cached beside it)."""
    path = dem.with_name(f"{dem.stem}_window_{edge}.tif")
    if path.exists() and path.stat().st_mtime >= dem.stat().st_mtime:
        return path
    with rasterio.open(dem) as src:
        strips = (
            (
                row0,
                min(ROWS, edge - row0),
                src.read(1, window=rasterio.windows.Window(0, row0, edge, min(ROWS, edge - row0))),
            )
            for row0 in range(0, edge, ROWS)
        )
        write_dem_cog(path, edge, strips, src.transform, NODATA)
    return path


# --- the whole-array baseline and pysheds (each run in a fresh process) ----------------------------


def peak_rss_self() -> int:
    """This process's peak RSS in bytes (getrusage: KiB on Linux)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def whole_array(dem_path: str, out_path: Path) -> None:
    """The service's chain on the whole DEM as one numpy tile; stage times as JSON on stdout.

    The chain first runs on a 64 x 64 corner (the "warm-up" stage: numba loading its compiled
    functions from its cache), so "compute" times the work.
    """
    import rioxarray  # noqa: F401  (the .rio accessor)
    import xarray as xr

    from app.algorithms.hydrology.drainage import Drainage

    started = time.perf_counter()
    with rasterio.Env(**GDAL_OPTIONS), rasterio.open(dem_path) as src:
        values = src.read(1)
        t, crs, nodata = src.transform, src.crs, src.nodata
    read = time.perf_counter()
    rows, cols = values.shape
    coords = {"y": t.f + t.e * (np.arange(rows) + 0.5), "x": t.c + t.a * (np.arange(cols) + 0.5)}
    dem = xr.DataArray(values, dims=("y", "x"), coords=coords).rio.write_crs(crs).rio.write_transform(t)
    dem = dem.rio.write_nodata(nodata, encoded=False)
    Drainage(dem.isel(y=slice(0, 64), x=slice(0, 64))).accumulation().compute()  # numba's cache
    warm = time.perf_counter()
    accumulation = Drainage(dem).accumulation()
    assert accumulation.data.npartitions == 1
    result = accumulation.values
    computed = time.perf_counter()
    profile = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": 1,
        "dtype": "float32",
        "nodata": np.nan,
        "crs": crs,
        "transform": t,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "zstd",  # as the service's results (WPS_OUTPUT_COMPRESSION default zstd:1)
        "zstd_level": 1,
        "predictor": 3,
        "BIGTIFF": "IF_SAFER",
        "NUM_THREADS": "ALL_CPUS",
    }
    with rasterio.open(out_path, "w", **profile) as dst:
        dst.write(result, 1)
    stages = {
        "read": read - started,
        "warm-up": warm - read,
        "compute": computed - warm,
        "write": time.perf_counter() - computed,
    }
    print(json.dumps(stages | {"maxrss": peak_rss_self()}))


def pysheds_steps(grid: Any, dem: Any) -> Iterator[str | float]:
    """Fill, resolve_flats, flowdir, accumulation with pysheds: yields each stage's name when done, then the largest accumulation.

    The fill is the one pysheds shipped before 0.4 (scikit-image's morphological reconstruction
    from the edges and the nodata cells): 0.5's ``fill_depressions`` does not compile on numba
    0.68 (its priority-flood zips ``itertools.count`` generators: "KeyError: int64 generator").
    """
    import skimage.morphology
    from pysheds.sview import Raster

    outlets = np.asarray(dem) == dem.nodata
    outlets[0, :] = outlets[-1, :] = outlets[:, 0] = outlets[:, -1] = True
    seed = np.where(outlets, dem, np.max(dem))
    reconstruction: Any = skimage.morphology.reconstruction  # untyped
    filled = Raster(
        reconstruction(seed, dem, method="erosion").astype(dem.dtype),
        viewfinder=dem.viewfinder,
    )
    yield "fill"
    inflated = grid.resolve_flats(filled)
    yield "resolve_flats"
    directions = grid.flowdir(inflated)
    yield "flowdir"
    accumulation = grid.accumulation(directions)
    yield "accumulation"
    yield float(np.nanmax(accumulation))


def pysheds_chain(dem_path: str) -> None:
    """pysheds 0.5 on a DEM (see :func:`pysheds_steps`); stage times as JSON on stdout.

    Its numba functions are first run on a 64 x 64 corner (the "warm-up" stage: loading or
    compiling them), so the stages time the work.
    """
    np.in1d = np.isin  # type: ignore[attr-defined]  # numpy 2.4 removed in1d, pysheds 0.5 calls it
    from pysheds.grid import Grid
    from pysheds.sview import Raster, ViewFinder

    times: dict[str, float] = {}
    last = time.perf_counter()
    with rasterio.Env(**GDAL_OPTIONS):
        grid = Grid.from_raster(dem_path)
        dem = grid.read_raster(dem_path)
    times["read"] = time.perf_counter() - last
    last = time.perf_counter()
    finder = ViewFinder(affine=dem.affine, shape=(64, 64), nodata=dem.nodata, crs=dem.crs)
    corner = Raster(np.asarray(dem)[:64, :64].copy(), viewfinder=finder)
    for _ in pysheds_steps(Grid.from_raster(corner), corner):
        pass
    times["warm-up"] = time.perf_counter() - last
    last = time.perf_counter()
    for stage in pysheds_steps(grid, dem):
        if isinstance(stage, float):
            times["max"] = stage
            continue
        now = time.perf_counter()
        times[stage], last = now - last, now
    print(json.dumps(times | {"maxrss": peak_rss_self()}))


@dataclass
class Runs:
    """Wall times and peak RSS (sampled from outside) of one side's runs."""

    seconds: list[float] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)
    stages: list[dict[str, float]] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak(self) -> float:
        """The largest peak, MiB."""
        return max(self.peaks) / 2**20

    def line(self, label: str) -> str:
        runs = ", ".join(f"{s:.1f}" for s in self.seconds)
        text = f"{label}: median {self.median:7.1f} s (runs {runs})  peak RSS {self.peak:6.0f} MiB"
        if self.stages:
            names = [k for k in self.stages[0] if k != "maxrss" and k != "max"]
            parts = ", ".join(f"{k} {statistics.median(s[k] for s in self.stages):.1f}" for k in names)
            maxrss = max(s["maxrss"] for s in self.stages) / 2**20
            text += f"\n{'':>{len(label)}}  in the process: {parts} s; ru_maxrss {maxrss:.0f} MiB"
        return text


def run_child(arguments: list[str], runs: Runs) -> None:
    """One run of ``python -m bench.bench_hydrology ARGUMENTS`` in a fresh process."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_hydrology", *arguments], cwd=ROOT, stdout=subprocess.PIPE
    )
    with PeakRss(process.pid) as rss:
        printed, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{arguments[0]} failed with code {process.returncode}")
    runs.seconds.append(time.perf_counter() - start)
    runs.peaks.append(rss.peak)
    runs.stages.append(json.loads(printed.decode().strip().splitlines()[-1]))


# --- the service ----------------------------------------------------------------------------------


def accumulation_xml(dem: str) -> str:
    """flow_accumulation of a DEM by reference, the result by reference."""
    return (
        f'<wps:Execute service="WPS" version="1.0.0" {NAMESPACES}>'
        "<ows:Identifier>flow_accumulation</ows:Identifier><wps:DataInputs>"
        + reference_input("dem", dem)
        + "</wps:DataInputs><wps:ResponseForm><wps:ResponseDocument>"
        '<wps:Output asReference="true"><ows:Identifier>accumulation</ows:Identifier></wps:Output>'
        "</wps:ResponseDocument></wps:ResponseForm></wps:Execute>"
    )


def watershed_xml(dem: str, lon: float, lat: float) -> str:
    """watershed at a lon/lat point snapped by SNAP_METRES: the mask by reference, outline and area inline."""
    point = json.dumps({"type": "Point", "coordinates": [lon, lat]})
    return (
        f'<wps:Execute service="WPS" version="1.0.0" {NAMESPACES}>'
        "<ows:Identifier>watershed</ows:Identifier><wps:DataInputs>"
        + reference_input("dem", dem)
        + "<wps:Input><ows:Identifier>outlet</ows:Identifier><wps:Data>"
        f'<wps:ComplexData mimeType="application/geo+json">{escape(point)}</wps:ComplexData></wps:Data></wps:Input>'
        "<wps:Input><ows:Identifier>snap_distance</ows:Identifier><wps:Data>"
        f"<wps:LiteralData>{SNAP_METRES}</wps:LiteralData></wps:Data></wps:Input>"
        "</wps:DataInputs><wps:ResponseForm><wps:ResponseDocument>"
        '<wps:Output asReference="true"><ows:Identifier>watershed</ows:Identifier></wps:Output>'
        "<wps:Output><ows:Identifier>outline</ows:Identifier></wps:Output>"
        "<wps:Output><ows:Identifier>area_km2</ows:Identifier></wps:Output>"
        "</wps:ResponseDocument></wps:ResponseForm></wps:Execute>"
    )


def execute(url: str, xml: str, reference: str, out: Path) -> dict[str, str | None]:
    """POST an Execute, download the output ``reference``; every output's href or inline text."""
    with httpx.Client(timeout=3600) as client:
        answer = client.post(f"{url}/wps", content=xml, headers={"Content-Type": "text/xml"})
        found: dict[str, str | None] = {}
        for output in ET.fromstring(answer.content).iter(f"{WPS}Output"):
            name = str(output.findtext(f"{OWS}Identifier"))
            href = output.find(f"{WPS}Reference")
            data = output.find(f".//{WPS}Data/*")
            found[name] = href.get("href") if href is not None else (data.text if data is not None else None)
        if not found.get(reference):
            raise RuntimeError(answer.text[:2000])
        with client.stream("GET", str(found[reference])) as result, out.open("wb") as sink:
            result.raise_for_status()
            for block in result.iter_bytes(1 << 20):
                sink.write(block)
    return found


def run_service(url: str, pid: int, xml: str, reference: str, out: Path, runs: Runs) -> dict[str, str | None]:
    """One Execute through the service, timed with its download, peak RSS of the service's tree."""
    with PeakRss(pid) as rss:
        start = time.perf_counter()
        found = execute(url, xml, reference, out)
        runs.seconds.append(time.perf_counter() - start)
    runs.peaks.append(rss.peak)
    return found


# --- checks ---------------------------------------------------------------------------------------


def strips_of(path: Path) -> Iterator[tuple[int, np.ndarray]]:
    """(row0, band 1 rows) of a raster, 1024 rows at a time."""
    with rasterio.open(path) as src:
        for row0 in range(0, src.height, 1024):
            window = rasterio.windows.Window(0, row0, src.width, min(1024, src.height - row0))
            yield row0, src.read(1, window=window)


def differing(first: Path, second: Path) -> int:
    """Pixels that differ between two rasters of the same grid, NaN equal to NaN."""
    count = 0
    with rasterio.open(first) as a, rasterio.open(second) as b:
        if (a.shape, a.transform) != (b.shape, b.transform):
            return int(a.width * a.height)
    for (_, x), (_, y) in zip(strips_of(first), strips_of(second), strict=True):
        count += int(np.count_nonzero((x != y) & ~(np.isnan(x) & np.isnan(y))))
    return count


def largest(path: Path) -> tuple[int, int, float]:
    """(row, col, value) of the largest value of a raster (the first in row order)."""
    best = (0, 0, -math.inf)
    for row0, values in strips_of(path):
        if np.isnan(values).all():
            continue
        row, col = np.unravel_index(int(np.nanargmax(values)), values.shape)
        if values[row, col] > best[2]:
            best = (row0 + int(row), int(col), float(values[row, col]))
    return best


def value_at(path: Path, row: int, col: int) -> float:
    """One pixel of band 1."""
    with rasterio.open(path) as src:
        return float(src.read(1, window=rasterio.windows.Window(col, row, 1, 1))[0, 0])


def lonlat_of(path: Path, row: int, col: int) -> tuple[float, float]:
    """The lon/lat of a cell's centre."""
    with rasterio.open(path) as src:
        x, y = src.transform * (col + 0.5, row + 0.5)
        to_lonlat = Transformer.from_crs(src.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform(x, y)
    return float(lon), float(lat)


def count_equal(path: Path, value: int) -> int:
    """Pixels of band 1 equal to ``value``."""
    return sum(int(np.count_nonzero(v == value)) for _, v in strips_of(path))


# --- the runs -------------------------------------------------------------------------------------


def compare_chain(
    label: str, dem: Path, server: DataServer, url: str, pid: int, repeat: int, with_pysheds: bool
) -> tuple[Path, Path]:
    """Baseline (and pysheds) and service runs, alternating; prints the figures; the two results."""
    href = server.url(dem.name)
    whole, service = Runs(), Runs()
    sheds = Runs()
    whole_out, service_out = OUTPUTS / f"{dem.stem}_whole.tif", OUTPUTS / f"{dem.stem}_service.tif"
    xml = accumulation_xml(href)
    for k in range(repeat):
        if with_pysheds:
            run_child(["--pysheds-run", "/vsicurl/" + href], sheds)
            print(f"  run {k + 1} pysheds: {sheds.seconds[-1]:.1f} s", flush=True)
        run_child(["--whole", "/vsicurl/" + href, str(whole_out)], whole)
        print(f"  run {k + 1} baseline: {whole.seconds[-1]:.1f} s", flush=True)
        server.reset()
        run_service(url, pid, xml, "accumulation", service_out, service)
        pulled = server.bytes_sent
        print(
            f"  run {k + 1} service: {service.seconds[-1]:.1f} s, DEM pulled {pulled / 2**20:.0f} MiB "
            f"({pulled / dem.stat().st_size:.1f} x the file)",
            flush=True,
        )
    if with_pysheds:
        print(sheds.line(f"{label}  pysheds"))
    print(whole.line(f"{label} baseline"))
    print(service.line(f"{label}  service"))
    diff = differing(service_out, whole_out)
    size = (service_out.stat().st_size / 2**20, whole_out.stat().st_size / 2**20)
    print(
        f"{label}    ratio: time {service.median / whole.median:.2f}  peak RSS {service.peak / whole.peak:.2f}   "
        f"accumulation equal: {diff == 0} ({diff} pixels differ); results {size[0]:.0f} MiB (COG) and {size[1]:.0f} MiB",
        flush=True,
    )
    if with_pysheds:
        print(
            f"{label}  service / pysheds: time {service.median / sheds.median:.2f}  peak RSS {service.peak / sheds.peak:.2f}"
        )
    return whole_out, service_out


def watershed_run(dem: Path, whole_out: Path, server: DataServer, url: str, pid: int) -> None:
    """One watershed Execute at the largest accumulation; checked against the baseline.

    The watershed's cell count is exact; the accumulation is float32, so above 2^24 cells it is
    the count rounded to float32 (50,535,854 cells are 50,535,856 there).
    """
    row, col, value = largest(whole_out)
    lon, lat = lonlat_of(dem, row, col)
    runs = Runs()
    mask = OUTPUTS / f"{dem.stem}_watershed.tif"
    server.reset()
    found = run_service(url, pid, watershed_xml(server.url(dem.name), lon, lat), "watershed", mask, runs)
    pulled = server.bytes_sent / dem.stat().st_size
    outline = json.loads(str(found["outline"]))
    properties = outline["features"][0]["properties"]
    cells, area = int(properties["cells"]), float(str(found["area_km2"]))
    at_outlet = value_at(whole_out, int(properties["row"]), int(properties["col"]))
    inside = count_equal(mask, 1)
    print(
        f"watershed  service: {runs.seconds[0]:.1f} s  peak RSS {runs.peak:.0f} MiB  area {area:.2f} km2, {cells} cells "
        f"(outlet asked at row {row} col {col}, accumulation {value:.0f}; snapped to row {properties['row']} col {properties['col']})\n"
        f"watershed   checks: float32(cells) == baseline accumulation at the outlet: "
        f"{float(np.float32(cells)) == at_outlet} (accumulation is float32: exact below 2^24 cells); "
        f"mask cells == cells: {inside == cells}; area == cells x 100 m2: {math.isclose(area, cells * 1e-4)}; "
        f"outline {len(str(found['outline'])) / 2**20:.1f} MiB; DEM pulled {pulled:.1f} x",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with --whole / --pysheds-run, one side alone)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--repeat", type=int, default=3, help="runs of each side (default 3)")
    parser.add_argument("--size", type=int, default=10980, help="edge of the square DEM in pixels")
    parser.add_argument(
        "--pysheds", type=int, metavar="SIZE", help="also pysheds on the top-left SIZE x SIZE window"
    )
    parser.add_argument("--whole", nargs=2, metavar=("DEM", "OUT"), help="run the whole-array baseline alone")
    parser.add_argument("--pysheds-run", metavar="DEM", help="run the pysheds chain alone")
    args = parser.parse_args(argv)
    if args.whole:
        whole_array(args.whole[0], Path(args.whole[1]))
        return 0
    if args.pysheds_run:
        pysheds_chain(args.pysheds_run)
        return 0
    OUTPUTS.mkdir(parents=True, exist_ok=True)
    dem = ensure_dem(INPUTS, args.size)
    print(
        f"{args.size} x {args.size} DEM {dem.name} ({dem.stat().st_size / 2**20:.0f} MiB); {psutil.cpu_count()} CPUs; load {psutil.getloadavg()}",
        flush=True,
    )
    with (
        DataServer(INPUTS) as server,
        bench_service(WORK / "data-hydrology", {"WPS_RESULT_TTL": "300"}) as (url, pid),
    ):
        print(f"service idle RSS {psutil.Process(pid).memory_info().rss / 2**20:.0f} MiB", flush=True)
        whole_out, _ = compare_chain("hydrology", dem, server, url, pid, args.repeat, False)
        watershed_run(dem, whole_out, server, url, pid)
        if args.pysheds:
            window = ensure_window(dem, min(args.pysheds, args.size))
            print(
                f"window {window.name}: {min(args.pysheds, args.size)} x {min(args.pysheds, args.size)}",
                flush=True,
            )
            compare_chain(
                f"window {min(args.pysheds, args.size)}", window, server, url, pid, args.repeat, True
            )
    print(f"load {psutil.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
