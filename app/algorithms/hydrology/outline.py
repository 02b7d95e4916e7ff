"""The outline (GeoJSON in lon/lat) and the area of a watershed mask, chunk by chunk.

Memory stays bounded by a few chunks plus the outline itself, whatever the size of the DEM:

- outline: each chunk of the uint8 mask is polygonized on its own (``rasterio.features.shapes``,
  the cells equal to 1, 4-connected) in *pixel* coordinates of the whole grid (the chunk's
  offset as an integer translation), and the pieces are merged by ``shapely.union_all`` in a
  tree of ``dask.delayed`` tasks. Pixel corners are integers, so the edges two chunks share have
  identical coordinates and the seams dissolve exactly. The union is then densified to one vertex
  per pixel corner (``shapely.segmentize``: a straight edge of the grid is curved in lon/lat),
  placed on the grid (its transform), reprojected vertex by vertex to lon/lat (OGC:CRS84) and
  oriented counter-clockwise (RFC 7946's right-hand rule). Parts of the watershed that touch only
  at a corner make a MultiPolygon; nodata inside the watershed makes holes.
- area: the number of cells of the mask equal to 1 in each row, a lazy dask reduction; for a
  projected CRS, that count times the pixel area in square metres of the CRS's plane (its linear
  unit converted to metres); for a geographic CRS, the sum over rows of the count times the
  area on the CRS's ellipsoid (``pyproj.Geod``) of one cell of that row. In km².
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import dask.array as da
import numpy as np
import numpy.typing as npt
import shapely
import xarray as xr
from affine import Affine
from dask.delayed import Delayed, delayed
from pyproj import CRS, Transformer
from rasterio.features import shapes
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from app.raster.grid import Grid

MERGE_FANIN = 8
INSIDE = 1  # the mask's value inside the watershed
CRS84 = CRS.from_user_input("OGC:CRS84")


def block_outline(block: npt.NDArray[np.uint8], row_offset: int, col_offset: int) -> BaseGeometry:
    """The cells of one mask chunk equal to 1 as (Multi)Polygons in pixel coordinates of the grid.

    Pixel coordinates: x is the column, y the row of a cell's corner (integers, exact).
    """
    inside = block == INSIDE
    if not inside.any():
        return shapely.Polygon()
    pieces = shapes(
        inside.astype(np.uint8),
        mask=inside,
        connectivity=4,
        transform=Affine.translation(col_offset, row_offset),
    )
    return shapely.union_all([shape(geometry) for geometry, _ in pieces])


def merge(parts: Sequence[BaseGeometry]) -> BaseGeometry:
    """The union of some outlines (pixel coordinates: shared edges dissolve exactly)."""
    return shapely.union_all([part for part in parts if not part.is_empty])


def pixel_outline(mask: xr.DataArray) -> Delayed:
    """The lazy union of the mask's cells equal to 1, in pixel coordinates, merged in a tree."""
    data = mask.data if isinstance(mask.data, da.Array) else da.from_array(np.asarray(mask.data))
    row_starts = np.cumsum((0, *data.chunks[0][:-1]))
    col_starts = np.cumsum((0, *data.chunks[1][:-1]))
    blocks = data.to_delayed(optimize_graph=False)  # the keys the raster output computes too
    level: list[Delayed] = [
        delayed(block_outline, pure=True)(blocks[i, j], int(row_starts[i]), int(col_starts[j]))
        for i in range(len(row_starts))
        for j in range(len(col_starts))
    ]
    while len(level) > 1:
        level = [
            delayed(merge, pure=True)(level[start : start + MERGE_FANIN])
            for start in range(0, len(level), MERGE_FANIN)
        ]
    return level[0]


def row_counts(mask: xr.DataArray) -> Delayed:
    """The number of cells equal to 1 in each row of the mask: a Delayed int64 numpy array.

    Its tasks are the mask's own (``optimize_graph=False``): computed beside the mask, the mask is
    computed once.
    """
    data = mask.data if isinstance(mask.data, da.Array) else da.from_array(np.asarray(mask.data))
    counts = (data == INSIDE).sum(axis=1, dtype=np.int64)
    concatenated: Delayed = delayed(np.concatenate, pure=True)(list(counts.to_delayed(optimize_graph=False)))
    return concatenated


def _pyproj_crs(grid: Grid) -> CRS:
    return CRS.from_user_input(grid.crs.to_wkt())


def metres_per_unit(crs: CRS) -> float:
    """Metres in one linear unit of a projected CRS (1 for metres, 0.3048 for international feet)."""
    factor = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return float(factor)


def area_km2(counts: npt.NDArray[np.int64], grid: Grid) -> float:
    """The area in km² of ``counts[i]`` cells in each row ``i`` of the grid (see the module docstring)."""
    counts = np.asarray(counts, dtype=np.int64)
    crs = _pyproj_crs(grid)
    transform = grid.transform
    if not crs.is_geographic:
        side = metres_per_unit(crs)
        cell = abs(transform.a * transform.e) * side * side
        return float(counts.sum()) * cell / 1e6
    geod = crs.get_geod()
    assert geod is not None  # a geographic CRS has an ellipsoid
    left, right = transform.c, transform.c + transform.a
    total = 0.0
    for row in np.flatnonzero(counts):
        top = transform.f + transform.e * float(row)
        bottom = top + transform.e
        cell, _ = geod.polygon_area_perimeter([left, right, right, left], [top, top, bottom, bottom])
        total += float(counts[row]) * abs(cell)
    return total / 1e6


def lonlat_outline(pixels: BaseGeometry, grid: Grid) -> BaseGeometry:
    """An outline in pixel coordinates placed on the grid and reprojected to lon/lat, CCW shells."""
    dense = shapely.segmentize(pixels, 1.0)  # a vertex at every pixel corner along the edges
    t = grid.transform
    transformer = Transformer.from_crs(_pyproj_crs(grid), CRS84, always_xy=True)

    def place(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        x = t.c + t.a * coords[:, 0]
        y = t.f + t.e * coords[:, 1]
        lon, lat = transformer.transform(x, y)
        return np.column_stack([lon, lat])

    placed = shapely.transform(dense, place)
    oriented: BaseGeometry = shapely.orient_polygons(placed, exterior_cw=False)
    return oriented


def outline_document(
    pixels: BaseGeometry, area: float, grid: Grid, properties: Mapping[str, Any] | None = None
) -> bytes:
    """The GeoJSON FeatureCollection of the watershed: one feature, id ``watershed``, in lon/lat.

    Its properties: ``area_km2`` and ``properties``.
    """
    geometry = lonlat_outline(pixels, grid)
    feature = {
        "type": "Feature",
        "id": "watershed",
        "properties": {"area_km2": area, **(properties or {})},
        "geometry": mapping(geometry),
    }
    return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
