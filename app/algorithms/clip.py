"""``clip``: cut a raster to a bounding box given in any EPSG CRS."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated

import rasterio.windows
import xarray as xr
from pyproj import CRS
from pyproj.exceptions import CRSError
from rasterio.warp import transform_bounds

from app.algorithms.base import BBoxInput, ComplexInput, Output, Process, ProcessInputs
from app.algorithms.formats import GEOTIFF_FORMATS
from app.core.models import BoundingBoxValue, DataKind
from app.errors import InvalidParameterValue


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
    crs, xy_order = bbox_crs(bbox, data.rio.crs)
    (x0, y0), (x1, y1) = bbox.lower, bbox.upper
    if not xy_order:
        x0, y0, x1, y1 = y0, x0, y1, x1
    if x0 >= x1 or y0 >= y1:
        raise InvalidParameterValue("bbox lower corner must be below its upper", locator="bbox")
    left, bottom, right, top = transform_bounds(crs, data.rio.crs, x0, y0, x1, y1, densify_pts=21)
    window = rasterio.windows.from_bounds(left, bottom, right, top, data.rio.transform())
    col0, row0 = max(math.floor(window.col_off + 1e-9), 0), max(math.floor(window.row_off + 1e-9), 0)
    col1 = min(math.ceil(window.col_off + window.width - 1e-9), data.rio.width)
    row1 = min(math.ceil(window.row_off + window.height - 1e-9), data.rio.height)
    if col1 <= col0 or row1 <= row0:
        raise InvalidParameterValue("bbox does not intersect the raster", locator="bbox")
    return rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0)


def clip_bbox(data: xr.DataArray, bbox: BoundingBoxValue) -> xr.DataArray:
    """The pixels of ``data`` whose area meets ``bbox``; dtype, nodata and CRS kept (lazy)."""
    return data.rio.isel_window(bbox_window(data, bbox))


class ClipInputs(ProcessInputs):
    """Inputs of ``clip``."""

    raster: Annotated[xr.DataArray, ComplexInput("Raster", GEOTIFF_FORMATS, "GeoTIFF to clip.")]
    bbox: Annotated[
        BoundingBoxValue,
        BBoxInput("Bounding box", abstract="Any EPSG CRS; reprojected to the raster's CRS."),
    ]


class Clip(Process):
    """Clip a raster to a bounding box.

    The bounding box may be in any EPSG CRS; it is reprojected to the raster's CRS and the raster
    is cut to the pixels it touches. Data type, nodata, CRS and resolution are kept.
    """

    identifier = "clip"
    title = "Clip"
    keywords = ("clip", "subset", "raster")
    Inputs = ClipInputs
    outputs = (Output("clipped", "Clipped raster", DataKind.COMPLEX, formats=GEOTIFF_FORMATS),)

    def run(self, inputs: ClipInputs) -> Mapping[str, object]:
        """Cut the raster lazily; only the window's chunks are ever read."""
        return {"clipped": clip_bbox(inputs.raster, inputs.bbox)}
