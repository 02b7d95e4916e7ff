"""``watershed``: the cells upstream of an outlet, their outline and their area.

The DEM's first band is filled and its D8 directions taken as ``flow_direction`` does (the tiled
hydrology of :mod:`app.algorithms.hydrology`). The outlet:

- ``outlet`` is a GeoJSON Point, or a Feature or FeatureCollection holding exactly one Point, in
  lon/lat (RFC 7946) unless a legacy ``crs`` member names another CRS; it is reprojected to the
  DEM's CRS and taken to the cell that contains it (InvalidParameterValue at ``outlet`` when no
  cell of the grid does);
- with ``snap_distance`` > 0 (metres) it moves to the cell of highest flow accumulation within a
  square window of ceil(snap_distance / pixel size) cells each way, per axis (ties: the nearest
  cell, then the first in row-major order; the window is clipped to the grid); the pixel size is
  in metres: a projected CRS's unit converted to metres, a geographic CRS's degrees converted at
  the outlet's latitude on its ellipsoid (:func:`app.algorithms.terrain.metres_per_degree`).
  The default, 0, takes the outlet as given: snapping by default would move, by an amount that
  depends on the DEM's resolution, outlets placed on purpose (a gauge, a dam) and would cost a
  whole flow accumulation pass; a point picked on a map wants a few pixels' worth;
- an outlet cell that is nodata (after snapping) is refused (InvalidParameterValue at
  ``outlet``), when the job computes its outputs.

Outputs, all from one lazy graph (the mask is computed once when several are asked for):

- ``watershed``: uint8 on the whole grid: 1 for the cells whose flow passes through the outlet
  cell (itself included), 0 elsewhere, 255 nodata;
- ``outline``: the mask's cells polygonized chunk by chunk and merged
  (:mod:`app.algorithms.hydrology.outline`), as a GeoJSON FeatureCollection in lon/lat with one
  feature (id ``watershed``; properties ``area_km2``, ``cells`` and the outlet cell's centre in
  lon/lat after snapping, ``outlet``); its geometry a Polygon, or a MultiPolygon where parts of
  the watershed touch only at a corner, with holes where nodata cells lie inside;
- ``area_km2``: the inside cells times the pixel area in the CRS's plane (projected CRS, linear
  unit converted to metres), or summed row by row over the ellipsoidal area of one cell of the
  row (geographic CRS).

``outline`` and ``area_km2`` are 0-d dask arrays wrapping ``dask.delayed`` tasks, as in
:mod:`app.algorithms.uhi` (a plain ``dask.compute`` keeps their order beside the raster).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

import dask.array as da
import numpy as np
import numpy.typing as npt
import shapely
import xarray as xr
from dask.delayed import Delayed, delayed
from pydantic import Field
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from app.algorithms.base import ComplexInput, LiteralInput, Output, Process, ProcessInputs
from app.algorithms.fill_sinks import DEM_ABSTRACT
from app.algorithms.formats import GEOJSON_FORMATS, GEOTIFF_FORMATS
from app.algorithms.hydrology.outline import (
    CRS84,
    area_km2,
    metres_per_unit,
    outline_document,
    pixel_outline,
    row_counts,
)
from app.algorithms.terrain import metres_per_degree
from app.model.descriptions import DataKind, LiteralDomain
from app.model.errors import InvalidParameterValue
from app.model.rendering import Rendering
from app.raster.grid import Grid
from app.raster.vectors import Vector, to_crs

INSIDE = 1
LOCATOR = "outlet"

Cell = tuple[int, int]


def outlet_point(outlet: Vector, grid: Grid) -> shapely.Point:
    """The one point of ``outlet`` in the grid's CRS (InvalidParameterValue unless exactly one)."""
    geometry = outlet.geometries[0] if len(outlet) == 1 else None
    if not isinstance(geometry, shapely.Point) or geometry.is_empty:
        raise InvalidParameterValue(
            "input 'outlet' must be a GeoJSON Point, or a Feature or FeatureCollection holding exactly "
            "one Point",
            LOCATOR,
        )
    point = to_crs(outlet, grid.crs, locator=LOCATOR, assume_crs=True).geometries[0]
    assert isinstance(point, shapely.Point)
    return point


def outlet_cell(point: shapely.Point, grid: Grid) -> Cell:
    """The (row, col) of the cell containing ``point`` (grid CRS); InvalidParameterValue if none."""
    col, row = ~grid.transform * (point.x, point.y)
    if not (0 <= row < grid.height and 0 <= col < grid.width):
        raise InvalidParameterValue(
            f"input 'outlet' ({point.x:.6g}, {point.y:.6g} in the DEM's CRS) is outside the DEM", LOCATOR
        )
    return math.floor(row), math.floor(col)


def pixel_size_metres(grid: Grid, latitude: float) -> tuple[float, float]:
    """The (height, width) of a pixel in metres; at ``latitude`` (degrees) for a geographic CRS."""
    crs = CRS.from_user_input(grid.crs.to_wkt())
    t = grid.transform
    if crs.is_geographic:
        per_lon, per_lat = metres_per_degree(crs, np.array([latitude], dtype=np.float64))
        return abs(t.e) * float(per_lat[0]), abs(t.a) * float(per_lon[0])
    unit = metres_per_unit(crs)
    return abs(t.e) * unit, abs(t.a) * unit


def snap_radius(distance: float, grid: Grid, latitude: float) -> tuple[int, int]:
    """ceil(distance / pixel size) in rows and in columns (at most the grid's size)."""
    if distance <= 0:
        return 0, 0
    height, width = pixel_size_metres(grid, latitude)
    rows = min(math.ceil(distance / height), grid.height) if height > 0 else grid.height
    cols = min(math.ceil(distance / width), grid.width) if width > 0 else grid.width
    return rows, cols


def _cell_of(target: Any) -> Cell:
    row, col = target
    return int(row), int(col)


def _guard(block: npt.NDArray[np.uint8], target: Any, block_info: Any = None) -> npt.NDArray[np.uint8]:
    """The mask chunk unchanged; refuses the outlet when the chunk holds it and it is not inside."""
    row, col = _cell_of(target)
    (row0, row1), (col0, col1) = block_info[0]["array-location"]
    if row0 <= row < row1 and col0 <= col < col1 and block[row - row0, col - col0] != INSIDE:
        raise InvalidParameterValue("input 'outlet' falls on a nodata cell of the DEM", LOCATOR)
    return block


def guarded(mask: xr.DataArray, target: Any) -> xr.DataArray:
    """The mask, whose computation refuses an outlet cell that is not inside (a nodata cell)."""
    data = mask.data if isinstance(mask.data, da.Array) else da.from_array(np.asarray(mask.data))
    checked = da.map_blocks(_guard, data, target, dtype=np.uint8)
    return mask.copy(data=checked)


def checked_area(counts: npt.NDArray[np.int64], grid: Grid) -> float:
    """The area in km² of the mask's inside cells; refuses an empty watershed (outlet on nodata)."""
    if not np.any(counts):
        raise InvalidParameterValue("input 'outlet' falls on a nodata cell of the DEM", LOCATOR)
    return area_km2(counts, grid)


def outline(
    pixels: BaseGeometry, area: float, counts: npt.NDArray[np.int64], target: Any, grid: Grid
) -> bytes:
    """The GeoJSON outline with its properties: area, cells and the outlet cell's centre (lon/lat)."""
    row, col = _cell_of(target)
    x, y = grid.transform * (col + 0.5, row + 0.5)
    to_lonlat = Transformer.from_crs(CRS.from_user_input(grid.crs.to_wkt()), CRS84, always_xy=True)
    lon, lat = to_lonlat.transform(x, y)
    properties = {"cells": int(np.sum(counts)), "outlet": [float(lon), float(lat)], "row": row, "col": col}
    return outline_document(pixels, area, grid, properties)


class WatershedInputs(ProcessInputs):
    """Inputs of ``watershed``."""

    dem: Annotated[xr.DataArray, ComplexInput("Elevation model", GEOTIFF_FORMATS, DEM_ABSTRACT)]
    outlet: Annotated[
        Vector,
        ComplexInput(
            "Outlet",
            GEOJSON_FORMATS,
            "GeoJSON Point, or a Feature or FeatureCollection with exactly one Point; lon/lat unless a "
            "legacy crs member names another CRS.",
        ),
    ]
    snap_distance: Annotated[
        float,
        Field(ge=0, allow_inf_nan=False),
        LiteralInput(
            "Snap distance",
            "Metres: the outlet moves to the highest flow accumulation within this distance (a square "
            "window, per axis). 0: the outlet is taken as given.",
            uoms=("m",),
        ),
    ] = 0.0


class Watershed(Process):
    """Watershed of an outlet: the cells of a DEM whose flow passes through it, outline and area.

    The DEM (band 1) is filled and its D8 directions taken as flow_direction does (water leaves
    through the raster's edge or into nodata; steepest descent; flats drained towards lower
    terrain). The outlet is a GeoJSON Point, or a Feature or FeatureCollection holding exactly
    one Point, in lon/lat unless a legacy crs member names another CRS; it is taken to the DEM
    cell containing it (refused when outside the DEM or on nodata). With snap_distance > 0
    (metres) it first moves to the cell of highest flow accumulation within a square window of
    ceil(snap_distance / pixel size) cells each way (ties: the nearest, then the first in row
    order); pixel sizes of a geographic CRS are converted to metres at the outlet's latitude.
    The default, 0, takes the outlet as given (snapping moves points placed on purpose by a
    resolution-dependent amount; for a point picked on a map give a few pixel sizes).
    watershed: uint8 on the whole grid, 1 inside (the cells draining through the outlet cell,
    itself included), 0 outside, 255 nodata. outline: a GeoJSON FeatureCollection in lon/lat with
    one feature, id watershed, a Polygon (a MultiPolygon where parts touch only at a corner;
    holes where nodata lies inside) following the cell edges, properties area_km2, cells, outlet
    (the outlet cell's centre, lon/lat), row, col. area_km2: inside cells x pixel area (in the
    plane of a projected CRS), or for a geographic CRS summed row by row over the ellipsoidal
    area of one cell of each row.
    """

    identifier = "watershed"
    title = "Watershed"
    keywords = ("hydrology", "dem", "watershed", "catchment", "basin", "outlet", "raster")
    Inputs = WatershedInputs
    outputs = (
        Output(
            "watershed",
            "Watershed mask",
            DataKind.COMPLEX,
            formats=GEOTIFF_FORMATS,
            abstract="uint8 on the DEM's grid: 1 inside, 0 outside, 255 nodata.",
            rendering=Rendering(rescale=(0, 1), colormap_name="blues"),
        ),
        Output(
            "outline",
            "Watershed outline",
            DataKind.COMPLEX,
            formats=GEOJSON_FORMATS,
            abstract=(
                "GeoJSON FeatureCollection in lon/lat, one feature (id watershed): a Polygon or "
                "MultiPolygon along the cell edges; properties area_km2, cells, outlet (lon/lat), row, col."
            ),
        ),
        Output(
            "area_km2",
            "Watershed area (km²)",
            DataKind.LITERAL,
            literal=LiteralDomain(data_type="double"),
            abstract="Inside cells x pixel area; ellipsoidal, row by row, for a geographic CRS.",
        ),
    )

    def run(self, inputs: WatershedInputs) -> Mapping[str, object]:
        """Locate (and snap) the outlet; build the lazy mask, outline and area."""
        # imported here, not at start-up: numba costs every API process ~56 MB (see hydrology/__init__)
        from app.algorithms.hydrology.drainage import Drainage
        from app.algorithms.hydrology.watershed import snap_outlet

        dem = inputs.dem.isel(band=0)
        grid = Grid.of(dem)
        point = outlet_point(inputs.outlet, grid)
        row, col = outlet_cell(point, grid)
        drainage = Drainage(dem)
        radius_rows, radius_cols = snap_radius(inputs.snap_distance, grid, point.y)
        target: Delayed | Cell = (row, col)
        if radius_rows or radius_cols:
            target = snap_outlet(drainage.accumulation(), row, col, radius_rows, radius_cols)
        mask = guarded(drainage.upstream(target), target)
        counts = row_counts(mask)
        area = delayed(checked_area, pure=True)(counts, grid)
        document = delayed(outline, pure=True)(pixel_outline(mask), area, counts, target, grid)
        return {  # 0-d arrays, not Delayed: see the module docstring
            "watershed": mask,
            "outline": da.from_delayed(document, shape=(), dtype=object),
            "area_km2": da.from_delayed(area, shape=(), dtype=np.float64),
        }
