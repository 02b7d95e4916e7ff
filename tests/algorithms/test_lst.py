"""The land_surface_temperature kernel: the formula recomputed in numpy, a worked pixel, chunk
invariance, laziness and grid checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr
from affine import Affine

from app.algorithms.lst import LandSurfaceTemperature, LstInputs, land_surface_temperature
from app.model.errors import InvalidParameterValue
from tests.support.dask_guard import raise_if_dask_computes

HEIGHT, WIDTH = 41, 53
TRANSFORM = Affine(30.0, 0.0, 600000.0, 0.0, -30.0, 4200000.0)
LANDSAT8 = (3.342e-4, 0.1, 774.8853, 1321.0789)


def band(values: np.ndarray, nodata: float | None, chunks: dict[str, int] | None = None) -> xr.DataArray:
    """A georeferenced (band, y, x) raster of ``values`` on TRANSFORM, optionally dask-backed."""
    height, width = values.shape
    data = xr.DataArray(
        values[np.newaxis],
        dims=("band", "y", "x"),
        coords={
            "band": [1],
            "y": TRANSFORM.f + TRANSFORM.e * (np.arange(height) + 0.5),
            "x": TRANSFORM.c + TRANSFORM.a * (np.arange(width) + 0.5),
        },
    )
    data = data.rio.write_crs("EPSG:32633").rio.write_transform(TRANSFORM)
    if nodata is not None:
        data = data.rio.write_nodata(nodata)
    return data.chunk(chunks) if chunks else data


def scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DN (uint16, nodata 0), red and nir (float32, nodata -1) with NDVI in every emissivity class."""
    rng = np.random.default_rng(15)
    thermal = rng.integers(20000, 40000, (HEIGHT, WIDTH), dtype=np.uint16)
    red = rng.uniform(0.02, 0.3, (HEIGHT, WIDTH)).astype(np.float32)
    ndvi = rng.uniform(-0.3, 0.9, (HEIGHT, WIDTH))  # soil, mixed and vegetation
    nir = (red * (1 + ndvi) / (1 - ndvi)).astype(np.float32)
    thermal[0, :5] = 0  # thermal nodata
    red[1, :5] = -1  # red nodata
    nir[2, :5] = -1  # nir nodata
    red[3, :5] = nir[3, :5] = 0  # NDVI undefined
    nir[4, :5] = np.nan
    return thermal, red, nir


def numpy_lst(
    thermal: np.ndarray, red: np.ndarray, nir: np.ndarray, constants: tuple[float, ...]
) -> np.ndarray:
    """The chain of the process abstract, written out again in float64."""
    mult, add, k1, k2 = constants
    radiance = mult * thermal.astype(np.float64) + add
    r, n = red.astype(np.float64), nir.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        bt = k2 / np.log(k1 / radiance + 1)
        ndvi = (n - r) / (n + r)
        pv = ((ndvi - 0.2) / 0.3) ** 2
        e = np.select([ndvi < 0.2, ndvi > 0.5], [0.97, 0.99], 0.004 * pv + 0.986)
        lst = bt / (1 + (10.895e-6 * bt / 1.4388e-2) * np.log(e)) - 273.15
    invalid = (thermal == 0) | (red == -1) | (nir == -1) | np.isnan(r) | np.isnan(n) | (r + n == 0)
    invalid |= radiance <= 0
    lst[invalid] = np.nan
    return lst


def lst_of(
    thermal: np.ndarray,
    red: np.ndarray,
    nir: np.ndarray,
    chunks: dict[str, int] | None = None,
    constants: tuple[float, float, float, float] = LANDSAT8,
) -> xr.DataArray:
    bands = (band(thermal, 0, chunks), band(red, -1, chunks), band(nir, -1, chunks))
    return land_surface_temperature(*(b.isel(band=0) for b in bands), constants=constants)


def test_matches_the_formula_in_numpy() -> None:
    thermal, red, nir = scene()
    valid = (nir[5:].astype(np.float64) - red[5:]) / (nir[5:].astype(np.float64) + red[5:])
    assert (valid < 0.2).any() and (valid > 0.5).any() and ((valid > 0.2) & (valid < 0.5)).any()
    result = lst_of(thermal, red, nir, {"y": 16, "x": 16})
    assert result.dtype == np.float32
    expected = numpy_lst(thermal, red, nir, LANDSAT8)
    np.testing.assert_allclose(result.values, expected, rtol=1e-6, atol=1e-4, equal_nan=True)
    assert np.isnan(result.values[:5, :5]).all()
    assert not np.isnan(result.values[5:]).any()
    assert math.isnan(result.rio.nodata)


def test_a_worked_pixel() -> None:
    # DN 25000, red 0.13, nir 0.27, Landsat 8 band 10 constants:
    #   L    = 3.342e-4 * 25000 + 0.1                    = 8.455 W/(m2 sr um)
    #   BT   = 1321.0789 / ln(774.8853 / 8.455 + 1)      = 1321.0789 / ln(92.648173) = 1321.0789 / 4.528809
    #        = 291.705575 K
    #   NDVI = (0.27 - 0.13) / (0.27 + 0.13)             = 0.35 (mixed: between 0.2 and 0.5)
    #   Pv   = ((0.35 - 0.2) / 0.3)^2                    = 0.25
    #   e    = 0.004 * 0.25 + 0.986                      = 0.987, ln(e) = -0.0130852
    #   LST  = 291.705575 / (1 + (10.895e-6 * 291.705575 / 1.4388e-2) * -0.0130852) - 273.15
    #        = 291.705575 / (1 - 0.2208877 * 0.0130852) - 273.15 = 291.705575 / 0.9971096 - 273.15
    #        = 19.4012 degrees Celsius
    result = lst_of(
        np.array([[25000]], np.uint16), np.array([[0.13]], np.float32), np.array([[0.27]], np.float32)
    )
    assert float(result.values[0, 0]) == pytest.approx(19.4012, abs=1e-3)
    # the same DN over soil (NDVI 0.0, e 0.97) and vegetation (NDVI 0.6, e 0.99)
    soil = lst_of(
        np.array([[25000]], np.uint16), np.array([[0.2]], np.float32), np.array([[0.2]], np.float32)
    )
    # 291.705575 / (1 + 0.2208877 * ln 0.97) - 273.15 = 291.705575 / 0.9932719 - 273.15 = 20.5315
    assert float(soil.values[0, 0]) == pytest.approx(20.5315, abs=1e-3)
    vegetation = lst_of(
        np.array([[25000]], np.uint16), np.array([[0.1]], np.float32), np.array([[0.4]], np.float32)
    )
    # 291.705575 / (1 + 0.2208877 * ln 0.99) - 273.15 = 291.705575 / 0.9977800 - 273.15 = 19.2046
    assert float(vegetation.values[0, 0]) == pytest.approx(19.2046, abs=1e-3)


def test_non_positive_radiance_is_nan() -> None:
    thermal = np.array([[100, 25000]], np.uint16)
    red = np.full((1, 2), 0.1, np.float32)
    result = lst_of(thermal, red, red * 3, constants=(3.342e-4, -1.0, 774.8853, 1321.0789))
    assert math.isnan(result.values[0, 0])  # L = 0.0334 - 1 < 0
    assert not math.isnan(result.values[0, 1])


def test_chunk_invariance() -> None:
    thermal, red, nir = scene()
    whole = lst_of(thermal, red, nir, {"y": HEIGHT, "x": WIDTH}).values
    for chunks in ({"y": 2, "x": 3}, {"y": 1, "x": WIDTH}, {"y": 16, "x": 7}):
        np.testing.assert_array_equal(lst_of(thermal, red, nir, chunks).values, whole)
    np.testing.assert_array_equal(lst_of(thermal, red, nir).values, whole)  # numpy-backed


def test_process_is_lazy_and_checks_grids() -> None:
    thermal, red, nir = scene()
    chunks = {"y": 16, "x": 16}
    inputs = LstInputs(thermal=band(thermal, 0, chunks), red=band(red, -1, chunks), nir=band(nir, -1, chunks))
    with raise_if_dask_computes():
        result = LandSurfaceTemperature().run(inputs)["lst"]
    assert isinstance(result, xr.DataArray) and result.chunks is not None
    assert result.rio.crs == "EPSG:32633" and result.rio.transform() == TRANSFORM
    moved = band(nir, -1, chunks).rio.write_crs("EPSG:32634")
    with pytest.raises(InvalidParameterValue) as raised:
        LandSurfaceTemperature().run(LstInputs(thermal=inputs.thermal, red=inputs.red, nir=moved))
    assert raised.value.locator == "nir"
