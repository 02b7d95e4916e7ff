"""The hydrology chain of one DEM: filled, directions, accumulation, upstream mask.

Each product is computed from the DEM itself through :func:`tiles.run`, so a process asking
for accumulation gets fill, directions and accumulation chained with bounded memory (each
global step's solution computed once and shared by every product of the same DEM).
"""

from __future__ import annotations

import math

import dask.array as da
import xarray as xr
from dask.delayed import Delayed

from app.algorithms.hydrology.accumulation import ACCUMULATION
from app.algorithms.hydrology.directions import NODATA, direction_step, pixel_steps
from app.algorithms.hydrology.fill import FILL, elevations
from app.algorithms.hydrology.tiles import Step, run
from app.algorithms.hydrology.watershed import Cell, mask_step
from app.raster.grid import Grid


class Drainage:
    """Lazy hydrology products of a (y, x) DEM (nodata from its attribute or NaN)."""

    def __init__(self, dem: xr.DataArray) -> None:
        self.dem = dem
        self.source = elevations(dem)
        self.grid = Grid.of(dem)
        self.direction = direction_step(*pixel_steps(dem))

    def _raster(self, steps: list[Step], nodata: float) -> xr.DataArray:
        data: da.Array = run(self.source, steps)
        return self.grid.with_nodata(nodata).stamp(self.dem.copy(data=data))

    def filled(self) -> xr.DataArray:
        """The filled DEM, float32, NaN nodata."""
        return self._raster([FILL], math.nan)

    def directions(self) -> xr.DataArray:
        """D8 codes of the filled DEM, uint8, 255 nodata."""
        return self._raster([FILL, self.direction], NODATA)

    def accumulation(self) -> xr.DataArray:
        """Cells draining through each cell, itself included; float32, NaN nodata."""
        return self._raster([FILL, self.direction, ACCUMULATION], math.nan)

    def upstream(self, outlet: Cell | Delayed) -> xr.DataArray:
        """The mask of the cells draining through ``outlet``: 1 inside, 0 outside, 255 nodata."""
        return self._raster([FILL, self.direction, mask_step(outlet)], NODATA)
