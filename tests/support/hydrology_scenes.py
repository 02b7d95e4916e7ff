"""DEMs for the process and end-to-end tests of the hydrology processes, and the answers that
libraries other than the service's give for them: scikit-image's morphological reconstruction
(sink filling), pysheds 0.5 (D8 directions and flow accumulation) and plain numpy (the cells
upstream of an outlet, snapping).

The "cone" DEM is built so that pysheds' conventions and the catalogue's agree: elevations rise
with the distance to one cell of the bottom edge (the apex, the only cell without a lower
neighbour), plus noise smaller than the rise between neighbours, so that filling changes
nothing, there is no flat, and every cell has one steepest downslope neighbour by a clear margin
(:func:`steepest_margin`). A small nodata hole tests that nodata never receives flow.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import shapely
from affine import Affine
from pyproj import CRS, Geod, Transformer
from shapely.geometry import shape
from skimage.morphology import reconstruction

from tests.support.rasters import UTM_10M, Raster, RasterFactory, RasterSpec, write_raster

NODATA = -9999.0
GEODESIC = Geod(ellps="WGS84")
HEIGHT, WIDTH = 48, 64
CODES = np.array([1, 2, 4, 8, 16, 32, 64, 128])  # E, SE, S, SW, W, NW, N, NE
ROW_STEP = np.array([0, 1, 1, 1, 0, -1, -1, -1])
COL_STEP = np.array([1, 1, 0, -1, -1, -1, 0, 1])
# pysheds' dirmap lists N, NE, E, SE, S, SW, W, NW: with these codes it is the catalogue's D8
PYSHEDS_DIRMAP = (64, 128, 1, 2, 4, 8, 16, 32)


def cone(height: int = HEIGHT, width: int = WIDTH, seed: int = 12, hole: bool = True) -> np.ndarray:
    """float32 elevations rising 0.5 m per 10 m pixel away from the bottom edge's middle cell, with
    noise of at most 0.1 m; a 3 x 4 nodata hole (``NODATA``) up the slope when ``hole``."""
    rows, cols = np.indices((height, width), dtype=np.float64)
    noise = np.random.default_rng(seed).uniform(0.0, 0.1, (height, width))
    z = (100.0 + 0.5 * np.hypot(rows - (height - 1), cols - width // 2) + noise).astype(np.float32)
    if hole:
        z[height // 4 : height // 4 + 3, width // 3 : width // 3 + 4] = NODATA
    return z


def sinky(height: int = 40, width: int = 56, seed: int = 5) -> np.ndarray:
    """float32 rough terrain with many depressions (in cells, not just pits) and a nodata lake."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0.0, 50.0, (height // 4 + 2, width // 4 + 2))
    rows = np.linspace(0, coarse.shape[0] - 1.001, height)
    cols = np.linspace(0, coarse.shape[1] - 1.001, width)
    r0, c0 = rows.astype(int), cols.astype(int)
    fr, fc = (rows - r0)[:, None], (cols - c0)[None, :]
    z = (
        coarse[r0][:, c0] * (1 - fr) * (1 - fc)
        + coarse[r0 + 1][:, c0] * fr * (1 - fc)
        + coarse[r0][:, c0 + 1] * (1 - fr) * fc
        + coarse[r0 + 1][:, c0 + 1] * fr * fc
        + rng.uniform(0.0, 2.0, (height, width))
    ).astype(np.float32)
    z[height // 2 : height // 2 + 5, width // 2 : width // 2 + 6] = NODATA
    terrain: np.ndarray = z
    return terrain


def write_dem(
    rasters: RasterFactory,
    values: np.ndarray,
    name: str = "dem.tif",
    transform: Affine = UTM_10M,
    crs: str = "EPSG:32631",
) -> Raster:
    """The DEM as a tiled float32 GeoTIFF (nodata ``NODATA``) in the data server's folder."""
    height, width = values.shape
    spec = RasterSpec(
        width=width, height=height, dtype="float32", nodata=NODATA, transform=transform, crs=crs, blocksize=16
    )
    return write_raster(rasters.directory / name, spec, values[np.newaxis])


def as_nan(values: np.ndarray) -> np.ndarray:
    """float64 with NaN for nodata."""
    return np.where(values == NODATA, np.nan, values.astype(np.float64))


def steepest_margin(values: np.ndarray, dx: float = 10.0, dy: float = 10.0) -> float:
    """The smallest gap, over the cells with a downslope neighbour, between the steepest and the
    second steepest descent (distance-weighted, valid neighbours only): 0 means a tie somewhere."""
    z = as_nan(values)
    height, width = z.shape
    padded = np.pad(z, 1, constant_values=np.nan)
    slopes = np.stack(
        [
            (z - padded[1 + dr : 1 + dr + height, 1 + dc : 1 + dc + width]) / math.hypot(dr * dy, dc * dx)
            for dr, dc in zip(ROW_STEP, COL_STEP, strict=True)
        ]
    )
    slopes = np.where(np.isnan(slopes), -np.inf, slopes)
    ordered = np.sort(slopes, axis=0)
    draining = ordered[-1] > 0
    return float(np.min(ordered[-1][draining] - ordered[-2][draining]))


def reconstruction_fill(values: np.ndarray) -> np.ndarray:
    """Sink filling by morphological reconstruction (erosion), seeded at the edge cells and the
    valid cells with a nodata neighbour; float32 with NaN nodata."""
    z = as_nan(values)
    nodata = np.isnan(z)
    near_nodata = np.zeros_like(nodata)
    padded = np.pad(nodata, 1, constant_values=False)
    height, width = z.shape
    for dr, dc in zip(ROW_STEP, COL_STEP, strict=True):
        near_nodata |= padded[1 + dr : 1 + dr + height, 1 + dc : 1 + dc + width]
    seeds = near_nodata & ~nodata
    seeds[[0, -1], :] |= ~nodata[[0, -1], :]
    seeds[:, [0, -1]] |= ~nodata[:, [0, -1]]
    top = np.nanmax(z) + 1.0
    mask = np.where(nodata, top, z)
    marker = np.where(seeds, z, top)
    filled = reconstruction(  # type: ignore[no-untyped-call]
        marker, mask, method="erosion", footprint=np.ones((3, 3), dtype=bool)
    )
    return np.where(nodata, np.nan, filled).astype(np.float32)


@contextmanager
def _pysheds_on_numpy_2() -> Iterator[None]:
    """pysheds 0.5 calls ``np.in1d``, gone in numpy 2.4: lend it ``np.isin`` meanwhile."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(np, "in1d", np.isin, raising=False)
        yield


def pysheds_flow(values: np.ndarray, transform: Affine = UTM_10M) -> tuple[np.ndarray, np.ndarray]:
    """pysheds' D8 directions (uint8: the catalogue's codes, 0 for its pits and flats, 255
    nodata) and accumulation (float32, NaN nodata) of an unfilled DEM (``NODATA``)."""
    from pysheds.grid import Grid as PyshedsGrid
    from pysheds.sview import Raster as PyshedsRaster
    from pysheds.sview import ViewFinder

    finder = ViewFinder(affine=transform, shape=values.shape, nodata=NODATA)
    dem = PyshedsRaster(values.astype(np.float64), viewfinder=finder)
    grid = PyshedsGrid.from_raster(dem)
    with _pysheds_on_numpy_2():
        fdir = grid.flowdir(dem, dirmap=PYSHEDS_DIRMAP, flats=0, pits=0, nodata_out=np.int64(255))
        accumulation = grid.accumulation(fdir, dirmap=PYSHEDS_DIRMAP)
    nodata = values == NODATA
    directions = np.asarray(fdir).astype(np.uint8)
    directions[nodata] = 255
    flow = np.asarray(accumulation).astype(np.float32)
    flow[nodata] = np.nan
    return directions, flow


def upstream(directions: np.ndarray, row: int, col: int) -> np.ndarray:
    """uint8: 1 for the cells whose D8 path passes through (row, col), itself included, 0 for the
    other valid cells, 255 nodata (plain numpy: every cell's path followed downstream)."""
    height, width = directions.shape
    target = np.full(directions.shape, -1, dtype=np.int64)  # flat index of the downstream cell
    for code, dr, dc in zip(CODES, ROW_STEP, COL_STEP, strict=True):
        rows, cols = np.nonzero(directions == code)
        inside = (rows + dr >= 0) & (rows + dr < height) & (cols + dc >= 0) & (cols + dc < width)
        target[rows[inside], cols[inside]] = (rows[inside] + dr) * width + cols[inside] + dc
    flat = target.ravel()
    outlet = row * width + col
    current = np.arange(flat.size)
    reached = current == outlet
    for _ in range(flat.size):
        moving = (flat[current] >= 0) & ~reached
        if not moving.any():
            break
        current = np.where(moving, flat[current], current)
        reached |= current == outlet
    mask: np.ndarray = reached.reshape(directions.shape).astype(np.uint8)
    mask[directions == 255] = 255
    return mask


def snapped(
    accumulation: np.ndarray, row: int, col: int, radius_rows: int, radius_cols: int
) -> tuple[int, int]:
    """The cell of highest accumulation in the square window (clipped to the grid); ties: the
    nearest to (row, col), then the first in row-major order."""
    height, width = accumulation.shape
    r0, r1 = max(row - radius_rows, 0), min(row + radius_rows + 1, height)
    c0, c1 = max(col - radius_cols, 0), min(col + radius_cols + 1, width)
    window = np.where(np.isnan(accumulation[r0:r1, c0:c1]), -np.inf, accumulation[r0:r1, c0:c1])
    best = [
        (float(np.hypot(r + r0 - row, c + c0 - col)), r + r0, c + c0)
        for r, c in np.argwhere(window == window.max())
    ]
    _, best_row, best_col = min(best)
    return int(best_row), int(best_col)


def cell_centre_lonlat(transform: Affine, crs: str, row: int, col: int) -> tuple[float, float]:
    """The lon/lat of the centre of a cell."""
    x, y = transform * (col + 0.5, row + 0.5)
    lon, lat = Transformer.from_crs(CRS.from_user_input(crs), "OGC:CRS84", always_xy=True).transform(x, y)
    return float(lon), float(lat)


def outlet_geojson(
    lon: float, lat: float, kind: str = "Feature", crs: str | None = None
) -> dict[str, object]:
    """A GeoJSON outlet: a bare Point, a Feature or a FeatureCollection of one, with a legacy crs member."""
    point: dict[str, object] = {"type": "Point", "coordinates": [lon, lat]}
    document: dict[str, object]
    if kind == "Point":
        document = point
    elif kind == "Feature":
        document = {"type": "Feature", "properties": {"name": "gauge"}, "geometry": point}
    else:
        document = {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {}, "geometry": point}],
        }
    if crs is not None:
        document["crs"] = {"type": "name", "properties": {"name": crs}}
    return document


def assert_outline(
    document: dict[str, Any], mask: np.ndarray, transform: Affine, crs: str, area: float, rtol: float = 2e-3
) -> None:
    """One feature in lon/lat holding every inside pixel centre and no outside one, of this area."""
    assert document["type"] == "FeatureCollection"
    (feature,) = document["features"]
    assert feature["id"] == "watershed" and feature["properties"]["area_km2"] == area
    geometry = shape(feature["geometry"])
    assert geometry.geom_type in {"Polygon", "MultiPolygon"} and geometry.is_valid
    for polygon in getattr(geometry, "geoms", [geometry]):
        assert polygon.exterior.is_ccw  # RFC 7946's right-hand rule
    rows, cols = np.indices(mask.shape)
    xs, ys = transform * (cols.ravel() + 0.5, rows.ravel() + 0.5)  # type: ignore[operator]
    lon, lat = Transformer.from_crs(crs, "OGC:CRS84", always_xy=True).transform(xs, ys)
    contained = shapely.contains_xy(geometry, lon, lat).reshape(mask.shape)
    np.testing.assert_array_equal(contained, mask == 1)
    geodesic_km2 = abs(GEODESIC.geometry_area_perimeter(geometry)[0]) / 1e6
    assert geodesic_km2 == pytest.approx(area, rel=rtol)
