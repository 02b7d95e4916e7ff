"""``reproject``: warp a raster to another CRS, chunk by chunk (the warping is in ``warp.py``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal, get_args

import xarray as xr
from pydantic import Field, field_validator
from pyproj import CRS as ProjCRS
from pyproj.exceptions import CRSError
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import CRSError as RasterioCRSError
from rasterio.errors import RasterioError

from app.algorithms.base import ComplexInput, LiteralInput, Output, Process, ProcessInputs
from app.algorithms.formats import GEOTIFF_FORMATS
from app.algorithms.warp import target_grid, warp
from app.model.descriptions import DataKind
from app.model.errors import InvalidParameterValue
from app.raster.grid import Grid

Method = Literal[
    "nearest", "bilinear", "cubic", "cubic_spline", "lanczos", "average", "mode", "min", "max", "med"
]
METHODS: tuple[str, ...] = get_args(Method)
MAX_OUTPUT_PIXELS = 2**32  # per band; a finer resolution is refused rather than filling the disk

# Authority codes (EPSG:4326, OGC:CRS84), OGC URNs and OGC http(s) URIs; nothing GDAL or PROJ
# could read as a file name or a PROJ pipeline.
_CRS_FORMS = re.compile(
    r"[A-Za-z][A-Za-z0-9_]*:[A-Za-z0-9_.]+"
    r"|urn:ogc:def:crs:[A-Za-z0-9_]+:[0-9.]*:[A-Za-z0-9_.]+"
    r"|https?://www\.opengis\.net/def/crs/[A-Za-z0-9_]+/[0-9.]+/[A-Za-z0-9_.]+",
    re.IGNORECASE,
)


def parse_crs(text: str) -> CRS:
    """The horizontal CRS named by an authority code, OGC URN or OGC URI; ValueError otherwise."""
    if not _CRS_FORMS.fullmatch(text.strip()):
        raise ValueError(f"{text!r} is not an authority code (EPSG:4326), OGC URN or OGC URI")
    try:
        crs = ProjCRS.from_user_input(text.strip())
    except CRSError as exc:
        raise ValueError(f"unknown CRS {text!r}") from exc
    if not (crs.is_geographic or crs.is_projected):
        raise ValueError(f"{text!r} is a {crs.type_name}, not a geographic or projected CRS")
    return CRS.from_wkt(crs.to_wkt())


def output_grid(source: Grid, crs: CRS, resolution: float | None = None) -> Grid:
    """The grid gdalwarp would choose, or InvalidParameterValue (locator crs / resolution)."""
    try:
        grid = target_grid(source, crs, resolution)
    except (RasterioCRSError, RasterioError, ValueError) as exc:
        raise InvalidParameterValue(
            f"the raster cannot be reprojected to {crs.to_string()}", locator="crs"
        ) from exc
    locator = "resolution" if resolution is not None else "crs"
    if grid.width < 1 or grid.height < 1:
        raise InvalidParameterValue("the resolution is coarser than the raster's extent", locator)
    if grid.width * grid.height > MAX_OUTPUT_PIXELS:
        raise InvalidParameterValue(
            f"the output would be {grid.width} x {grid.height} pixels, more than {MAX_OUTPUT_PIXELS}",
            locator,
        )
    return grid


def reproject(
    data: xr.DataArray,
    crs: CRS,
    resampling: Method = "nearest",
    resolution: float | None = None,
    chunks: tuple[int, int] | None = None,
) -> xr.DataArray:
    """``data`` warped to ``crs`` on the grid gdalwarp would pick (lazy; dtype kept).

    Nodata: the source's, or for a raster without one the service's rule (``default_nodata``: NaN
    for floats, the dtype's maximum for unsigned integers, its minimum for signed ones), which then
    marks what the source does not cover.
    """
    target = output_grid(Grid.of(data), crs, resolution)
    return warp(data, target, Resampling[resampling], chunks=chunks)


class ReprojectInputs(ProcessInputs):
    """Inputs of ``reproject``."""

    raster: Annotated[
        xr.DataArray, ComplexInput("Raster", GEOTIFF_FORMATS, "GeoTIFF to reproject; all bands.")
    ]
    crs: Annotated[
        str,
        LiteralInput(
            "Target CRS",
            "EPSG code (EPSG:4326), OGC URN (urn:ogc:def:crs:EPSG::4326) or OGC URI "
            "(http://www.opengis.net/def/crs/EPSG/0/4326) of a geographic or projected CRS.",
        ),
    ]
    resampling: Annotated[
        Method, LiteralInput("Resampling", "GDAL resampling method (nearest for categorical data).")
    ] = "nearest"
    resolution: Annotated[
        float | None,
        Field(gt=0, allow_inf_nan=False),
        LiteralInput(
            "Resolution",
            "Output pixel size in target CRS units (square pixels). Default: GDAL's suggestion.",
        ),
    ] = None

    @field_validator("crs")
    @classmethod
    def _known_crs(cls, value: str) -> str:
        parse_crs(value)
        return value.strip()


class Reproject(Process):
    """Reproject a raster to another coordinate reference system.

    The output grid is the one gdalwarp picks (GDAL's suggested warp output; with a resolution,
    that extent's top-left corner and the extent over the resolution, rounded, as gdalwarp -tr).
    Every band is warped; data type and nodata are kept. A raster without nodata gets one for the
    area outside its footprint: NaN for floats, the largest value for unsigned integers, the
    smallest for signed integers. Computed chunk by chunk with GDAL, each output row warped as
    in a single whole-image warp (the same result as rasterio.warp.reproject of the whole array).
    """

    identifier = "reproject"
    title = "Reproject"
    keywords = ("reproject", "warp", "crs", "raster")
    Inputs = ReprojectInputs
    outputs = (Output("reprojected", "Reprojected raster", DataKind.COMPLEX, formats=GEOTIFF_FORMATS),)

    def run(self, inputs: ReprojectInputs) -> Mapping[str, object]:
        """Plan the output grid and build the lazy warp."""
        crs = parse_crs(inputs.crs)
        return {"reprojected": reproject(inputs.raster, crs, inputs.resampling, inputs.resolution)}
