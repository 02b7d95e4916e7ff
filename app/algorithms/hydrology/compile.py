"""Compile and cache the numba kernels: ``python -m app.algorithms.hydrology.compile``.

numba compiles a kernel on its first call (about 12 s for all of them here) and caches it on
disk (next to the sources, or in ``NUMBA_CACHE_DIR``). The container image runs this module at
build time, so that no API process or dask worker pays for it on its first hydrology job.
"""

from __future__ import annotations

import time

import dask.base
import numpy as np
import xarray as xr
from affine import Affine

from app.algorithms.hydrology.drainage import Drainage


def compile_kernels() -> float:
    """Run every product of the chain on a small DEM with pits, flats and nodata; the seconds taken."""
    start = time.perf_counter()
    rows, cols = np.indices((24, 24), dtype=np.float64)
    z = np.round(np.hypot(rows - 23, cols - 12) + 3 * np.sin(rows / 3) * np.cos(cols / 4)).astype(np.float32)
    z[8:11, 8:11] = np.nan
    transform = Affine(10.0, 0.0, 500000.0, 0.0, -10.0, 5600000.0)
    coords = {
        "y": transform.f - 10.0 * (np.arange(24) + 0.5),
        "x": transform.c + 10.0 * (np.arange(24) + 0.5),
    }
    dem = (
        xr.DataArray(z, dims=("y", "x"), coords=coords)
        .rio.write_crs("EPSG:32631")
        .rio.write_transform(transform)
    )
    drainage = Drainage(dem.chunk(12))
    dask.base.compute(
        drainage.filled(), drainage.directions(), drainage.accumulation(), drainage.upstream((23, 12))
    )
    return time.perf_counter() - start


if __name__ == "__main__":
    print(f"hydrology kernels compiled and cached in {compile_kernels():.1f} s")
