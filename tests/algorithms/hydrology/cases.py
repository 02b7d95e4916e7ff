"""The DEMs the hydrology tests run on, and the (y, x) DataArrays with a grid that carry them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr
from affine import Affine
from scipy import ndimage

from tests.support import hydrology_reference as ref

SQUARE = Affine(10.0, 0.0, 500000.0, 0.0, -10.0, 5600000.0)
NON_SQUARE = Affine(10.0, 0.0, 500000.0, 0.0, -30.0, 5600000.0)
NODATA = -9999.0

#: Dask chunkings (rows, columns) every kernel must be invariant to on CASES; None = numpy-backed.
#: TINY_CASES go down to chunks of one row or one column (TINY_CHUNKINGS), the lake to 64 x 64.
CHUNKINGS: list[tuple[int, int] | None] = [None, (16, 23), (7, 9)]
CHUNK_IDS = ["numpy", "16x23", "7x9"]


def dem_array(
    z: np.ndarray,
    transform: Affine = SQUARE,
    crs: str = "EPSG:32631",
    nodata: float | None = None,
    chunks: tuple[int, int] | None = None,
) -> xr.DataArray:
    """A (y, x) DataArray with a grid, as the service's rasters carry; dask-backed with ``chunks``."""
    rows, cols = z.shape
    coords = {
        "y": transform.f + transform.e * (np.arange(rows) + 0.5),
        "x": transform.c + transform.a * (np.arange(cols) + 0.5),
    }
    data: xr.DataArray = xr.DataArray(z, dims=("y", "x"), coords=coords)
    data = data.rio.write_crs(crs).rio.write_transform(transform)
    if nodata is not None:
        data = data.rio.write_nodata(nodata, encoded=False)
    return data if chunks is None else data.chunk({"y": chunks[0], "x": chunks[1]})


def smooth(shape: tuple[int, int], seed: int, sigma: float = 2.5, relief: float = 100.0) -> np.ndarray:
    """Gaussian-smoothed noise scaled to [0, relief]: many depressions of many sizes."""
    noise: np.ndarray = ndimage.gaussian_filter(np.random.default_rng(seed).normal(size=shape), sigma)
    scaled: np.ndarray = (noise - noise.min()) / (noise.max() - noise.min()) * relief
    return scaled


def single_pit() -> np.ndarray:
    z: np.ndarray = np.add.outer(np.arange(9.0), np.arange(11.0)) + 10.0
    z[4, 5] = 0.0
    return z


def multi_pit() -> np.ndarray:
    """A bowl with nested multi-cell depressions and a one-cell pit at the bottom of one of them."""
    r, c = np.indices((21, 25))
    z = 80.0 - 1.5 * np.hypot(r - 10, c - 12)  # a dome: the depressions below are real
    z[5:9, 4:10] = 30.0
    z[6, 6] = 20.0
    z[12:17, 14:22] = np.linspace(10.0, 25.0, 40).reshape(5, 8)
    z[14, 18] = 5.0
    return z


def plateaus(shape: tuple[int, int] = (30, 34)) -> np.ndarray:
    """Integer terraces: wide flats at many levels, each draining through a few cells."""
    return np.round(smooth(shape, seed=11, sigma=4.0, relief=6.0)).astype(np.int16)


def large_lake() -> np.ndarray:
    """A lake spanning many chunks behind a ring with one low spill point, islands above its level."""
    r, c = np.indices((150, 180))
    radius = np.hypot(r - 75.0, c - 90.0)
    z: np.ndarray = 145.0 - 0.3 * (radius - 60.0)  # outside the ring: below the spill point, down to the edge
    inside = radius < 55
    z[inside] = 100.0 + smooth((150, 180), seed=5, relief=20.0)[inside]
    ring = (radius >= 55) & (radius < 60)
    z[ring] = 180.0
    z[ring & (np.abs(c - 90) <= 1) & (r > 75)] = 150.0  # the spill point, to the south
    z[70:76, 60:66] = 160.0  # an island above the lake's level
    z[100, 100] = 155.0  # a one-cell island
    return z


def serpentine(shape: tuple[int, int] = (41, 45)) -> np.ndarray:
    """A flat corridor at 5 winding through walls at 10, draining through one edge cell: long BFS
    distances across every chunk boundary. ``shape``: odd rows and columns."""
    rows, cols = shape
    z = np.full(shape, 10.0)
    z[1 : rows - 1 : 2, 1 : cols - 1] = 5.0
    for k, row in enumerate(range(2, rows - 2, 2)):
        z[row, cols - 2 if k % 2 == 0 else 1] = 5.0
    z[rows - 2, cols - 1] = 5.0  # the only way out: through the edge
    return z


def nodata_holes(shape: tuple[int, int] = (40, 52), seed: int = 3) -> np.ndarray:
    """Smooth relief with nodata disks, single nodata cells and a valid cell enclosed by nodata."""
    rng = np.random.default_rng(seed)
    rows, cols = shape
    z = smooth(shape, seed=seed)
    r, c = np.indices(shape)
    for _ in range(max(1, rows * cols // 400)):
        cr, cc, radius = rng.integers(2, rows - 2), rng.integers(2, cols - 2), rng.integers(1, 5)
        z[np.hypot(r - cr, c - cc) <= radius] = NODATA
    singles = rows * cols // 200 + 1
    z[rng.integers(1, rows - 1, singles), rng.integers(1, cols - 1, singles)] = NODATA
    z[rows // 2 - 2 : rows // 2 + 1, cols // 2 - 2 : cols // 2 + 1] = NODATA
    z[rows // 2 - 1, cols // 2 - 1] = 50.0  # alone inside nodata
    return z


def nodata_border(shape: tuple[int, int] = (36, 45), seed: int = 4) -> np.ndarray:
    """Nodata bands along the border: full rows and columns, a ragged side and a corner block."""
    rng = np.random.default_rng(seed)
    rows, cols = shape
    z = smooth(shape, seed=seed)
    z[:3] = NODATA
    z[:, :2] = NODATA
    for row, width in enumerate(rng.integers(0, cols // 7, rows)):
        z[row, cols - width :] = NODATA
    z[rows * 4 // 5 :, cols * 4 // 5 :] = NODATA
    return z


def drains_into_hole(shape: tuple[int, int] = (29, 31)) -> np.ndarray:
    """A cone rising to the raster's edge around a nodata hole: the only exit is the hole. One pit on
    its flank and one ridge-enclosed basin that fills to its own rim."""
    rows, cols = shape
    r, c = np.indices(shape)
    z: np.ndarray = 10.0 + 2.0 * np.hypot(r - rows // 2, c - cols // 2)
    z[rows // 2 - 1 : rows // 2 + 2, cols // 2 - 1 : cols // 2 + 2] = NODATA
    z[rows // 5, cols * 3 // 4] = 0.0
    top, left = rows * 2 // 3, 1
    z[top : top + 5, left : left + 5] = 40.0
    z[top + 1 : top + 4, left + 1 : left + 4] = 30.0
    return z


def integers(
    seed: int, dtype: type[np.integer] = np.int16, top: int = 5, shape: tuple[int, int] = (26, 30)
) -> np.ndarray:
    """Uniform small integers: ties and flats everywhere."""
    return np.random.default_rng(seed).integers(0, top, shape).astype(dtype)


# A flat of 3s whose outlets are (1, 3) and (2, 3) (lower neighbour: the 2 on the edge)
HAND_DEM = np.array(
    [
        [5, 5, 5, 5, 5],
        [5, 3, 3, 3, 5],
        [5, 3, 3, 3, 2],
        [5, 5, 5, 5, 5],
    ],
    dtype=np.float64,
)
HAND_DIRECTIONS = np.array(
    [
        [2, 4, 4, 4, 8],
        [1, 1, 1, 2, 4],
        [1, 1, 1, 1, 0],
        [128, 64, 64, 128, 64],
    ],
    dtype=np.uint8,
)
HAND_ACCUMULATION = np.array(
    [
        [1, 1, 1, 1, 1],
        [1, 4, 6, 9, 1],
        [1, 4, 6, 7, 20],
        [1, 1, 1, 1, 1],
    ],
    dtype=np.float32,
)


@dataclass(frozen=True)
class Case:
    build: Callable[[], np.ndarray]
    nodata: float | None = None


CASES: dict[str, Case] = {
    "single-pit": Case(single_pit),
    "multi-pit": Case(multi_pit),
    "plateaus": Case(plateaus),
    "flat": Case(lambda: np.full((23, 29), 5.0)),
    "serpentine": Case(serpentine),
    "nodata-holes": Case(nodata_holes, NODATA),
    "nodata-border": Case(nodata_border, NODATA),
    "drains-into-hole": Case(drains_into_hole, NODATA),
    "integers": Case(lambda: integers(1), None),
    "integers-nodata": Case(lambda: np.where(integers(2) == 4, -1, integers(2)).astype(np.int16), -1),
    "uint8-nodata-0": Case(lambda: integers(3, np.uint8, 4), 0),
    "smooth-0": Case(lambda: smooth((34, 38), seed=0)),
    "smooth-1": Case(lambda: smooth((31, 36), seed=1, sigma=1.5).astype(np.float32)),
    "smooth-nan": Case(lambda: np.where(smooth((30, 35), seed=2) > 85.0, np.nan, smooth((30, 35), seed=2))),
}

#: Small enough for chunks of a few cells (a dask task per chunk costs milliseconds).
TINY_CASES: dict[str, Case] = {
    "tiny-holes": Case(lambda: nodata_holes((12, 15), seed=7), NODATA),
    "tiny-integers": Case(
        lambda: np.where(
            integers(8, top=4, shape=(11, 13)) == 3, -1, integers(8, top=4, shape=(11, 13))
        ).astype(np.int16),
        -1,
    ),
    "tiny-serpentine": Case(lambda: serpentine((11, 13))),
    "tiny-hole-exit": Case(lambda: drains_into_hole((13, 12)), NODATA),
}
TINY_CHUNKINGS: list[tuple[int, int]] = [(3, 3), (1, 4), (4, 1), (1, 15)]


def as_nan(z: np.ndarray, nodata: float | None) -> np.ndarray:
    """float64 values with NaN on nodata."""
    out = z.astype(np.float64)
    if nodata is not None:
        out[z == nodata] = np.nan
    return out


def random_acyclic_directions(shape: tuple[int, int], seed: int) -> np.ndarray:
    """Every cell steps onto a random strictly lower valid neighbour (distinct random heights), or 0
    where none: any tree D8 can draw, not only the steepest. A tenth of the cells is nodata."""
    rng = np.random.default_rng(seed)
    rows, cols = shape
    height = rng.permutation(rows * cols).reshape(shape).astype(np.float64)
    height[rng.random(shape) < 0.1] = np.nan
    directions = np.where(np.isnan(height), 255, 0).astype(np.uint8)
    for r in range(rows):
        for c in range(cols):
            if np.isnan(height[r, c]):
                continue
            lower = [
                code
                for dr, dc, code in ref.D8
                if 0 <= r + dr < rows and 0 <= c + dc < cols and height[r + dr, c + dc] < height[r, c]
            ]
            if lower:
                directions[r, c] = rng.choice(lower)
    return directions


def assert_identical(actual: np.ndarray, expected: np.ndarray) -> None:
    """Same dtype and shape, NaN in the same cells, every other value bit for bit; the message lists
    the first differing cells with both values."""
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    if np.issubdtype(expected.dtype, np.floating):
        bits = np.dtype(f"u{expected.dtype.itemsize}")
        same = (np.isnan(actual) & np.isnan(expected)) | (actual.view(bits) == expected.view(bits))
    else:
        same = actual == expected
    if not same.all():
        cells = [tuple(int(i) for i in cell) for cell in np.argwhere(~same)[:12]]
        detail = ", ".join(f"{cell}: got {actual[cell]!r} expected {expected[cell]!r}" for cell in cells)
        raise AssertionError(f"{int((~same).sum())} of {same.size} cells differ; {detail}")
