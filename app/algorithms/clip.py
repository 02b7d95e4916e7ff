"""``clip``: cut a raster to a bounding box (any EPSG CRS) and/or a geometry (pixels outside masked)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import dask.array as da
import numpy as np
import rasterio.windows
import xarray as xr
from affine import Affine
from pyproj import CRS
from pyproj.exceptions import CRSError
from rasterio.errors import WindowError
from rasterio.features import geometry_mask
from rasterio.warp import transform_bounds
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from app.algorithms.base import BBoxInput, ComplexInput, Output, Process, ProcessInputs
from app.algorithms.formats import GEOTIFF_FORMATS, VECTOR_FORMATS
from app.model.descriptions import DataKind
from app.model.errors import InvalidParameterValue, MissingParameterValue
from app.model.requests import BoundingBoxValue
from app.raster.grid import Grid, Nodata, nodata_or_default
from app.raster.vectors import Vector, to_crs


def bbox_crs(bbox: BoundingBoxValue, default: CRS) -> tuple[CRS, bool]:
    """The CRS of a bounding box and whether its corners are in (x, y) order.

    ``EPSG:4326``-style short codes and CRS84 are read in x/y (longitude, latitude) order, as GIS
    software and OWSLib write them; URN and URI forms (``urn:ogc:def:crs:EPSG::4326``,
    ``http://www.opengis.net/def/crs/EPSG/0/4326``) follow the CRS's own axis order.
    """
    if not bbox.crs:
        return default, True
    try:
        crs = CRS.from_user_input(bbox.crs)
    except CRSError as exc:
        raise InvalidParameterValue(f"unknown CRS {bbox.crs!r}", locator="bbox") from exc
    authority_order = bbox.crs.lower().startswith(("urn:", "http://", "https://"))
    if not authority_order:
        return crs, True
    first_axis = crs.axis_info[0].direction.lower() if crs.axis_info else "east"
    return crs, first_axis in {"east", "west"}


def bbox_window(data: xr.DataArray, bbox: BoundingBoxValue) -> rasterio.windows.Window:
    """The pixel window of ``data`` that covers ``bbox`` (reprojected to the raster CRS)."""
    if bbox.dimensions != 2:
        raise InvalidParameterValue("bbox must have two dimensions", locator="bbox")
    grid = Grid.of(data)
    crs, xy_order = bbox_crs(bbox, grid.crs)
    (x0, y0), (x1, y1) = bbox.lower, bbox.upper
    if not xy_order:
        x0, y0, x1, y1 = y0, x0, y1, x1
    if x0 >= x1 or y0 >= y1:
        raise InvalidParameterValue("bbox lower corner must be below its upper", locator="bbox")
    window = grid.window(transform_bounds(crs, grid.crs, x0, y0, x1, y1, densify_pts=21))
    if window is None:
        raise InvalidParameterValue("bbox does not intersect the raster", locator="bbox")
    return window


def clip_bbox(data: xr.DataArray, bbox: BoundingBoxValue) -> xr.DataArray:
    """The pixels of ``data`` whose area meets ``bbox``; dtype, nodata and CRS kept (lazy)."""
    clipped: xr.DataArray = data.rio.isel_window(bbox_window(data, bbox))
    return clipped


def clip_geometry(
    data: xr.DataArray, geometry: Vector, within: rasterio.windows.Window | None = None
) -> xr.DataArray:
    """Crop ``data`` to the geometry's bounds (inside ``within``) and set pixels outside it to nodata.

    A pixel is inside when its centre is (GDAL's rasterization rule, ``all_touched=False``). The
    raster's nodata is kept; a raster without one gets the service's rule,
    :func:`app.raster.grid.default_nodata` (NaN, the type's maximum for unsigned integers, its
    minimum for signed ones). Lazy, chunk by chunk.
    """
    grid = Grid.of(data)
    shapes = [g for g in to_crs(geometry, grid.crs, locator="geometry").geometries if not g.is_empty]
    window = _geometry_window(grid, shapes, within)
    nodata = nodata_or_default(grid.nodata, data.dtype)
    cropped = data.rio.isel_window(window)
    return Grid.of(cropped).with_nodata(nodata).stamp(mask_outside(cropped, shapes, nodata))


def _geometry_window(
    grid: Grid, shapes: list[BaseGeometry], within: rasterio.windows.Window | None
) -> rasterio.windows.Window:
    limit = within or rasterio.windows.Window(0, 0, grid.width, grid.height)
    footprint = box(*rasterio.windows.bounds(limit, grid.transform))
    touching = [s for s in shapes if s.intersects(footprint)]
    window = None
    if touching:
        minx, miny, maxx, maxy = zip(*(s.bounds for s in touching), strict=True)
        window = grid.window((min(minx), min(miny), max(maxx), max(maxy)))
    if window is not None:
        try:
            window = window.intersection(limit)
        except WindowError:
            window = None
    if window is None or window.width <= 0 or window.height <= 0:
        where = "the bbox" if within is not None else "the raster"
        raise InvalidParameterValue(f"geometry does not intersect {where}", locator="geometry")
    return window


def mask_outside(data: xr.DataArray, shapes: list[BaseGeometry], nodata: Nodata) -> xr.DataArray:
    """``data`` (spatial dims last) with pixels whose centre is outside every shape set to ``nodata``."""
    array = data.data if isinstance(data.data, da.Array) else da.from_array(data.data, chunks=data.shape)
    masked = da.map_blocks(
        _mask_block,
        array,
        shapes=shapes,
        transform=Grid.of(data).transform,
        nodata=nodata,
        dtype=array.dtype,
        meta=np.empty((0,) * array.ndim, dtype=array.dtype),
    )
    return data.copy(data=masked)


def _mask_block(
    block: np.ndarray,
    shapes: list[BaseGeometry],
    transform: Affine,
    nodata: Nodata,
    block_info: dict[Any, Any] | None = None,
) -> np.ndarray:
    assert block_info is not None
    (row0, _), (col0, _) = block_info[0]["array-location"][-2:]
    rows, cols = block.shape[-2:]
    if rows == 0 or cols == 0:
        return block
    outside = geometry_mask(
        shapes, out_shape=(rows, cols), transform=transform @ Affine.translation(col0, row0)
    )
    return np.where(outside, block.dtype.type(nodata), block)


class ClipInputs(ProcessInputs):
    """Inputs of ``clip``."""

    raster: Annotated[xr.DataArray, ComplexInput("Raster", GEOTIFF_FORMATS, "GeoTIFF to clip.")]
    bbox: Annotated[
        BoundingBoxValue | None,
        BBoxInput("Bounding box", abstract="Any EPSG CRS; reprojected to the raster's CRS."),
    ] = None
    geometry: Annotated[
        Vector | None,
        ComplexInput(
            "Geometry",
            VECTOR_FORMATS,
            "GeoJSON (RFC 7946 lon/lat unless a legacy crs member says otherwise) or a zipped "
            "shapefile with its .prj; reprojected to the raster's CRS. Pixels outside are nodata.",
        ),
    ] = None


class Clip(Process):
    """Clip a raster to a bounding box and/or a geometry.

    Give a bbox, a geometry or both (then their intersection). The bounding box may be in any
    EPSG CRS; it is reprojected to the raster's CRS and the raster is cut to the pixels it touches.
    A geometry (GeoJSON or zipped shapefile, several features allowed) is reprojected to the
    raster's CRS; the raster is cut to the pixels its bounds touch and every pixel whose centre
    lies outside all features is set to nodata. Data type, CRS and resolution are kept, and so is
    nodata; a raster without nodata clipped by a geometry gets NaN (floats), the type's maximum
    (unsigned integers: 255, 65535, ...) or its minimum (signed integers: -32768, ...) as its
    nodata, as reproject and band_math do.
    """

    identifier = "clip"
    title = "Clip"
    keywords = ("clip", "subset", "mask", "raster")
    Inputs = ClipInputs
    outputs = (Output("clipped", "Clipped raster", DataKind.COMPLEX, formats=GEOTIFF_FORMATS),)

    def run(self, inputs: ClipInputs) -> Mapping[str, object]:
        """Cut (and mask) the raster lazily; only the window's chunks are ever read."""
        if inputs.bbox is None and inputs.geometry is None:
            raise MissingParameterValue("clip needs a bbox, a geometry or both", locator="bbox")
        window = bbox_window(inputs.raster, inputs.bbox) if inputs.bbox is not None else None
        if inputs.geometry is None:
            return {"clipped": inputs.raster.rio.isel_window(window)}
        return {"clipped": clip_geometry(inputs.raster, inputs.geometry, window)}
