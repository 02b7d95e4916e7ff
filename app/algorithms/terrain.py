"""``terrain``: slope, aspect and hillshade of a DEM by Horn's method, as GDAL's ``gdaldem``.

Structure as in xarray-spatial: a private numpy kernel on a block padded by one pixel, a dask
wrapper (``map_overlap``, depth 1, NaN boundary) so that results are identical whatever the
chunking, and a public function that keeps the grid.

Conventions (what the process description promises):

- Horn's 3x3 gradient; x is the column direction, y the row direction, each divided by its own
  pixel size, so non-square pixels are handled (gdaldem's aspect ignores the pixel size; ours does
  not: for square pixels both agree).
- Edges: a pixel without a full 3x3 neighbourhood inside the raster is NaN (gdaldem without
  ``-compute_edges``); so is a pixel with a nodata (or NaN) pixel among its 9.
- Slope in degrees, 0..90. Aspect in degrees clockwise from north, the direction the slope faces
  (downhill), 0 <= aspect < 360; flat pixels (zero gradient) have no aspect: NaN, as gdaldem's
  default (without ``-zero_for_flat``). Hillshade is gdaldem's standard formula as a float,
  1 + 254 * max(0, cos(angle between the surface normal and the light)), so 1..255 (gdaldem
  rounds it to a byte and keeps 0 for nodata; here nodata is NaN).
- ``z_factor`` multiplies the elevations (use it when they are not in the horizontal unit).
- Geographic CRS (degrees): each row's pixel size is converted to metres at the latitude of the
  row's centre on the CRS's ellipsoid (meridional and prime-vertical radii of curvature), so the
  elevations are taken to be metres. The approximation: the three rows of a 3x3 window share the
  centre row's scale (the error is of the order of one pixel's change in latitude, negligible for
  DEM resolutions) and heights are measured along the ellipsoid normal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Literal

import dask.array as da
import numpy as np
import xarray as xr
from pydantic import Field
from pyproj import CRS

from app.algorithms.base import ComplexInput, LiteralInput, Output, Process, ProcessInputs
from app.algorithms.formats import GEOTIFF_FORMATS
from app.model.descriptions import DataKind
from app.model.rendering import Rendering
from app.raster.grid import Grid, as_float

Product = Literal["slope", "aspect", "hillshade"]
# slope in degrees, flat pale to steep dark red; aspect on a cyclic colormap (359 degrees looks like
# 0); hillshade grey, as gdaldem's shading is meant to be seen
_RENDERINGS: dict[str, Rendering] = {
    "slope": Rendering(rescale=(0, 90), colormap_name="ylorrd"),
    "aspect": Rendering(rescale=(0, 360), colormap_name="twilight"),
    "hillshade": Rendering(rescale=(0, 255), colormap_name=None),
}
_DEPTH = {0: 1, 1: 1}
_ROW_DEPTH = {0: 1, 1: 0}
_STRIP = 256  # rows per kernel pass: float64 temporaries of a few MiB


def row_spacing(data: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Signed pixel size (x step, y step) of every row, in metres for a geographic CRS.

    Both are (rows, 1) float64 arrays; for a projected CRS they are constant (CRS units).
    """
    grid = Grid.of(data)
    transform, rows = grid.transform, grid.height
    x_step = np.full((rows, 1), transform.a, dtype=np.float64)
    y_step = np.full((rows, 1), transform.e, dtype=np.float64)
    if not grid.crs.is_geographic:
        return x_step, y_step
    latitude = transform.f + transform.e * (np.arange(rows, dtype=np.float64) + 0.5)
    per_lon, per_lat = metres_per_degree(CRS.from_user_input(grid.crs.to_wkt()), latitude)
    return x_step * per_lon[:, None], y_step * per_lat[:, None]


def metres_per_degree(crs: CRS, latitude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Metres per degree of longitude and of latitude at ``latitude`` on the CRS's ellipsoid."""
    ellipsoid = crs.ellipsoid
    a = ellipsoid.semi_major_metre if ellipsoid is not None else 6378137.0
    b = ellipsoid.semi_minor_metre if ellipsoid is not None else 6356752.314245
    e2 = 1.0 - (b / a) ** 2
    phi = np.radians(np.clip(latitude, -90.0, 90.0))
    w = np.sqrt(1.0 - e2 * np.sin(phi) ** 2)
    prime_vertical = a / w
    meridional = a * (1.0 - e2) / w**3
    per_radian = math.pi / 180.0
    return per_radian * prime_vertical * np.cos(phi), per_radian * meridional


def _horn(padded: np.ndarray, x_scale: np.ndarray, y_scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Horn's x and y gradients of the interior of a padded block, times ``x_scale``/``y_scale``.

    Separable form: the 1-2-1 smoothing across the derivative, then the central difference.
    """
    z = padded.astype(np.float64)
    columns = z[1:-1] * 2.0  # 1-2-1 down each column: the left and right thirds of the window
    columns += z[:-2]
    columns += z[2:]
    dz_dx = columns[:, 2:] - columns[:, :-2]
    dz_dx *= x_scale
    rows = z[:, 1:-1] * 2.0  # 1-2-1 along each row: the upper and lower thirds of the window
    rows += z[:, :-2]
    rows += z[:, 2:]
    dz_dy = rows[2:] - rows[:-2]
    dz_dy *= y_scale
    return dz_dx, dz_dy


def _slope(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Degrees from the horizontal (computed in place of ``p``)."""
    value = np.multiply(p, p, out=p)
    value += q * q
    degrees: np.ndarray = np.degrees(np.arctan(np.sqrt(value, out=value), out=value), out=value)
    return degrees


def _aspect(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Downhill direction, degrees clockwise from north in [0, 360); NaN where flat."""
    flat = (p == 0) & (q == 0)
    value: np.ndarray = np.degrees(np.arctan2(np.negative(p, out=p), np.negative(q, out=q)), out=p)
    np.mod(value, 360.0, out=value)
    value[value >= 360.0] = 0.0  # -tiny mod 360 rounds up to 360
    value[flat] = np.nan
    return value


def _shade(p: np.ndarray, q: np.ndarray, azimuth: float, altitude: float) -> np.ndarray:
    """gdaldem's standard hillshade, 1 + 254 * max(0, cos(normal, light)) (in place of ``p``)."""
    az, alt = math.radians(azimuth), math.radians(altitude)
    norm = p * p
    norm += q * q
    norm += 1.0
    np.sqrt(norm, out=norm)
    lit: np.ndarray = np.multiply(p, -math.sin(az) * math.cos(alt), out=p)
    lit -= q * (math.cos(az) * math.cos(alt))
    lit += math.sin(alt)
    lit /= norm
    np.maximum(lit, 0.0, out=lit)
    lit *= 254.0
    lit += 1.0
    return lit


def _terrain_block(
    padded: np.ndarray,
    x_step: np.ndarray,
    y_step: np.ndarray,
    *,
    product: Product,
    z_factor: float,
    azimuth: float,
    altitude: float,
) -> np.ndarray:
    """The product on a block padded by one pixel (rows and columns); the padding comes back NaN.

    ``x_step`` and ``y_step`` are the (rows + 2, 1) signed pixel sizes of the padded rows. Works
    through the block in strips of ``_STRIP`` rows so that float64 temporaries stay small.
    """
    out = np.full(padded.shape, np.nan, dtype=np.float32)
    if padded.shape[0] < 3 or padded.shape[1] < 3:
        return out
    x_scale, y_scale = z_factor / (8.0 * x_step), z_factor / (8.0 * y_step)
    for start in range(0, padded.shape[0] - 2, _STRIP):
        window = slice(start, min(start + _STRIP, padded.shape[0] - 2) + 2)  # the strip and its halo
        block = padded[window]
        with np.errstate(all="ignore"):
            # p, q: dz/dx and dz/dy with z_factor applied (x east, y north for a north-up raster)
            p, q = _horn(block, x_scale[window][1:-1], y_scale[window][1:-1])
            if product == "slope":
                value = _slope(p, q)
            elif product == "aspect":
                value = _aspect(p, q)
            else:
                value = _shade(p, q, azimuth, altitude)
        value[np.isnan(block[1:-1, 1:-1])] = np.nan  # Horn's weights skip the centre: keep its nodata
        out[window.start + 1 : window.stop - 1, 1:-1] = value
    return out


def terrain(
    dem: xr.DataArray,
    product: Product = "slope",
    *,
    z_factor: float = 1.0,
    azimuth: float = 315.0,
    altitude: float = 45.0,
) -> xr.DataArray:
    """Slope, aspect or hillshade of a (y, x) DEM as float32 with NaN nodata (lazy for dask input)."""
    elevation = as_float(dem)
    x_step, y_step = row_spacing(dem)
    options = {"product": product, "z_factor": z_factor, "azimuth": azimuth, "altitude": altitude}
    data = elevation.data
    if isinstance(data, da.Array):
        rows = data.chunks[0]
        result = da.map_overlap(
            _terrain_block,
            data,
            da.from_array(x_step, chunks=(rows, 1)),
            da.from_array(y_step, chunks=(rows, 1)),
            depth=[_DEPTH, _ROW_DEPTH, _ROW_DEPTH],
            boundary=[np.nan, "nearest", "nearest"],
            trim=True,
            dtype=np.float32,
            meta=np.empty((0, 0), dtype=np.float32),
            **options,
        )
    else:
        padded = np.pad(np.asarray(data), 1, constant_values=np.nan)
        steps = [np.pad(step, ((1, 1), (0, 0)), mode="edge") for step in (x_step, y_step)]
        result = _terrain_block(padded, *steps, **options)[1:-1, 1:-1]  # type: ignore[arg-type]
    return Grid.of(dem).with_nodata(math.nan).stamp(elevation.copy(data=result))


class TerrainInputs(ProcessInputs):
    """Inputs of ``terrain``."""

    dem: Annotated[
        xr.DataArray,
        ComplexInput("Elevation model", GEOTIFF_FORMATS, "GeoTIFF of elevations; band 1 is used."),
    ]
    product: Annotated[
        Product, LiteralInput("Product", "slope (degrees), aspect (degrees from north) or hillshade.")
    ] = "slope"
    z_factor: Annotated[
        float,
        Field(gt=0, allow_inf_nan=False),
        LiteralInput("Z factor", "Multiplies the elevations (vertical to horizontal units)."),
    ] = 1.0
    azimuth: Annotated[
        float,
        Field(ge=0, le=360),
        LiteralInput("Sun azimuth", "Hillshade: degrees clockwise from north."),
    ] = 315.0
    altitude: Annotated[
        float,
        Field(ge=0, le=90),
        LiteralInput("Sun altitude", "Hillshade: degrees above the horizon."),
    ] = 45.0


class Terrain(Process):
    """Slope, aspect or hillshade of a digital elevation model (Horn's method, as gdaldem).

    Slope is in degrees (0-90). Aspect is the downhill direction in degrees clockwise from north
    (0 <= aspect < 360), NaN where the surface is flat. Hillshade is gdaldem's standard shading
    as float, 1-255, lit from ``azimuth``/``altitude``. ``z_factor`` multiplies the elevations.
    Each pixel uses its 3x3 neighbourhood: pixels on the raster's edge or next to nodata are
    NaN. Non-square pixels are handled. For a geographic CRS (degrees) the pixel size is
    converted to metres at each row's latitude on the CRS's ellipsoid, and elevations are taken
    to be metres. The result is a float32 GeoTIFF, NaN nodata, on the DEM's grid (band 1).
    """

    identifier = "terrain"
    title = "Terrain analysis"
    keywords = ("terrain", "slope", "aspect", "hillshade", "dem", "raster")
    Inputs = TerrainInputs
    outputs = (Output("result", "Slope, aspect or hillshade", DataKind.COMPLEX, formats=GEOTIFF_FORMATS),)

    def run(self, inputs: TerrainInputs) -> Mapping[str, object]:
        """Build the lazy product of the DEM's first band."""
        result = terrain(
            inputs.dem.isel(band=0),
            inputs.product,
            z_factor=inputs.z_factor,
            azimuth=inputs.azimuth,
            altitude=inputs.altitude,
        )
        return {"result": result}

    @classmethod
    def rendering(cls, output: str, literals: Mapping[str, str]) -> Rendering:
        """Slope 0..90 degrees, aspect 0..360 on a cyclic colormap, hillshade grey."""
        return _RENDERINGS[literals.get("product", "slope")]
