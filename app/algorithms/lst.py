"""``land_surface_temperature``: LST in degrees Celsius from Landsat 8/9 band 10 and an NDVI.

The chain, per pixel, in float64 (the result is float32):

- TOA radiance ``L = radiance_mult * DN + radiance_add``;
- brightness temperature (kelvin) ``BT = k2 / ln(k1 / L + 1)``;
- ``NDVI = (nir - red) / (nir + red)``; emissivity ``e`` 0.97 where NDVI < 0.2 (soil), 0.99 where
  NDVI > 0.5 (vegetation), else ``0.004 * Pv + 0.986`` with ``Pv = ((NDVI - 0.2) / 0.3)^2``;
- ``LST = BT / (1 + (10.895e-6 * BT / 1.4388e-2) * ln(e)) - 273.15``.

NaN where any input is nodata (or NaN), where ``L <= 0`` or where the NDVI is undefined
(nir + red = 0). One task per chunk computes the whole chain (:func:`lst_block`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated

import numpy as np
import xarray as xr
from pydantic import Field

from app.algorithms.base import ComplexInput, LiteralInput, Output, Process, ProcessInputs
from app.algorithms.formats import GEOTIFF_FORMATS
from app.model.descriptions import DataKind
from app.model.rendering import Rendering
from app.raster.grid import Grid, Nodata, is_nodata

WAVELENGTH = 10.895e-6  # metres: the centre of Landsat 8/9 band 10
RHO = 1.4388e-2  # metre kelvin: h * c / sigma
SOIL_NDVI, VEGETATION_NDVI = 0.2, 0.5
SOIL_EMISSIVITY, VEGETATION_EMISSIVITY = 0.97, 0.99
KELVIN = 273.15


def emissivity(ndvi: np.ndarray) -> np.ndarray:
    """Surface emissivity from the NDVI by thresholds (NaN stays NaN)."""
    pv = np.square((ndvi - SOIL_NDVI) / (VEGETATION_NDVI - SOIL_NDVI))
    mixed = 0.004 * pv + 0.986
    with np.errstate(invalid="ignore"):
        result = np.where(ndvi < SOIL_NDVI, SOIL_EMISSIVITY, mixed)
        return np.where(ndvi > VEGETATION_NDVI, VEGETATION_EMISSIVITY, result)


def lst_block(
    thermal: np.ndarray,
    red: np.ndarray,
    nir: np.ndarray,
    constants: tuple[float, float, float, float],
    nodata: tuple[Nodata | None, Nodata | None, Nodata | None],
) -> np.ndarray:
    """The LST (degrees Celsius, float32) of one chunk of DN, red and nir; NaN where undefined."""
    radiance_mult, radiance_add, k1, k2 = constants
    radiance = radiance_mult * thermal.astype(np.float64) + radiance_add
    red_f, nir_f = red.astype(np.float64), nir.astype(np.float64)
    total = nir_f + red_f
    invalid = (radiance <= 0) | (total == 0)
    for values, missing in zip((thermal, red, nir), nodata, strict=True):
        invalid |= is_nodata(values, missing)
    radiance[invalid] = np.nan
    total[invalid] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        brightness = k2 / np.log(k1 / radiance + 1)
        ndvi = (nir_f - red_f) / total
        lst = brightness / (1 + (WAVELENGTH * brightness / RHO) * np.log(emissivity(ndvi))) - KELVIN
    result: np.ndarray = lst.astype(np.float32)
    return result


def land_surface_temperature(
    thermal: xr.DataArray,
    red: xr.DataArray,
    nir: xr.DataArray,
    constants: tuple[float, float, float, float] = (3.342e-4, 0.1, 774.8853, 1321.0789),
) -> xr.DataArray:
    """The lazy LST of 2-D bands on one grid (``constants``: radiance_mult, radiance_add, k1, k2)."""
    thermal, red, nir = xr.align(thermal, red, nir, join="override")
    lst = xr.apply_ufunc(
        lst_block,
        thermal,
        red,
        nir,
        kwargs={"constants": constants, "nodata": tuple(Grid.of(b).nodata for b in (thermal, red, nir))},
        dask="parallelized",
        output_dtypes=[np.float32],
    )
    return Grid.of(thermal).with_nodata(math.nan).stamp(lst)


def _band(title: str, abstract: str) -> ComplexInput:
    return ComplexInput(title, GEOTIFF_FORMATS, abstract)


def _constant(title: str, abstract: str) -> LiteralInput:
    return LiteralInput(title, abstract)


class LstInputs(ProcessInputs):
    """Inputs of ``land_surface_temperature``."""

    thermal: Annotated[
        xr.DataArray, _band("Thermal band", "Landsat 8/9 band 10 digital numbers (DN); first band.")
    ]
    red: Annotated[xr.DataArray, _band("Red band", "Band 4, reflectance or DN, on the thermal band's grid.")]
    nir: Annotated[
        xr.DataArray, _band("Near-infrared band", "Band 5, reflectance or DN, on the thermal band's grid.")
    ]
    radiance_mult: Annotated[
        float,
        Field(gt=0, allow_inf_nan=False),
        _constant("Radiance multiplier", "RADIANCE_MULT_BAND_10 of the scene's MTL file."),
    ] = 3.342e-4
    radiance_add: Annotated[
        float,
        Field(allow_inf_nan=False),
        _constant("Radiance offset", "RADIANCE_ADD_BAND_10 of the scene's MTL file."),
    ] = 0.1
    k1: Annotated[
        float, Field(gt=0, allow_inf_nan=False), _constant("K1", "K1_CONSTANT_BAND_10 of the MTL file.")
    ] = 774.8853
    k2: Annotated[
        float, Field(gt=0, allow_inf_nan=False), _constant("K2", "K2_CONSTANT_BAND_10 of the MTL file.")
    ] = 1321.0789


class LandSurfaceTemperature(Process):
    """Land surface temperature (degrees Celsius) from Landsat 8/9 band 10 and an NDVI emissivity.

    L = radiance_mult * DN + radiance_add (TOA radiance); BT = k2 / ln(k1 / L + 1) (brightness
    temperature, kelvin); NDVI = (nir - red) / (nir + red); emissivity e = 0.97 where NDVI < 0.2,
    0.99 where NDVI > 0.5, else 0.004 * Pv + 0.986 with Pv = ((NDVI - 0.2) / 0.3)^2;
    LST = BT / (1 + (10.895e-6 * BT / 1.4388e-2) * ln(e)) - 273.15. Defaults are the Landsat 8
    band 10 constants. The result is float32 on the thermal band's grid, NaN where an input is
    nodata, L <= 0 or nir + red = 0. The three inputs must share CRS, transform and size; red and
    nir are used as given (reflectance or DN: the NDVI is the same for a common scale).
    """

    identifier = "land_surface_temperature"
    title = "Land surface temperature"
    keywords = ("temperature", "thermal", "landsat", "urban heat", "raster")
    Inputs = LstInputs
    outputs = (
        Output(
            "lst",
            "Land surface temperature (degrees Celsius)",
            DataKind.COMPLEX,
            formats=GEOTIFF_FORMATS,
            rendering=Rendering(colormap_name="inferno"),
        ),
    )

    def run(self, inputs: LstInputs) -> Mapping[str, object]:
        """Check the grids match, then build the lazy temperature."""
        grid = Grid.of(inputs.thermal)
        grid.require_same(Grid.of(inputs.red), locator="red")
        grid.require_same(Grid.of(inputs.nir), locator="nir")
        constants = (inputs.radiance_mult, inputs.radiance_add, inputs.k1, inputs.k2)
        bands = (inputs.thermal.isel(band=0), inputs.red.isel(band=0), inputs.nir.isel(band=0))
        return {"lst": land_surface_temperature(*bands, constants=constants)}
