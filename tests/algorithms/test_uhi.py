"""The urban_heat_island process: intensity, hotspots and statistics against numpy over masks that
rasterio rasterizes here, independently of the process; chunk invariance and laziness."""

from __future__ import annotations

import json
import math
from typing import Any

import dask
import numpy as np
import pytest
import rioxarray  # noqa: F401  (the .rio accessor)
import shapely
import xarray as xr
from affine import Affine
from rasterio.features import geometry_mask
from shapely.geometry.base import BaseGeometry

from app.algorithms.uhi import UhiInputs, UrbanHeatIsland
from app.model.errors import InvalidParameterValue
from app.raster.vectors import Vector
from tests.support.dask_guard import raise_if_dask_computes

# rasterio's warning suppression is not thread-safe (see tests/algorithms/test_zonal.py)
pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")

HEIGHT, WIDTH = 61, 83
TRANSFORM = Affine(30.0, 0.0, 600000.0, 0.0, -30.0, 4200000.0)
CRS = "EPSG:32633"
URBAN = [
    shapely.Polygon(
        [(600317.0, 4199411.0), (601203.0, 4199302.0), (601110.0, 4198571.0), (600402.0, 4198690.0)]
    ),
    shapely.box(600911.0, 4198813.0, 601613.0, 4199222.0),  # overlaps the first
    shapely.box(500000.0, 4000000.0, 500100.0, 4000100.0),  # outside the scene
]
RURAL = [
    shapely.box(601900.0, 4198300.0, 602400.0, 4199700.0),
    shapely.box(600050.0, 4198300.0, 600250.0, 4198700.0),
]


def scene(nodata: float | None = -9999.0) -> np.ndarray:
    """LST (float32 degrees C): a warm centre over a cooler field, nodata (or NaN) stripes."""
    rng = np.random.default_rng(15)
    rows, cols = np.indices((HEIGHT, WIDTH))
    values = (
        25 + 10 * np.exp(-((rows - 25) ** 2 + (cols - 30) ** 2) / 200) + rng.normal(0, 1.5, (HEIGHT, WIDTH))
    )
    values = values.astype(np.float32)
    values[::7, 10:20] = np.nan if nodata is None else nodata
    return values


def raster(values: np.ndarray, nodata: float | None, chunks: dict[str, int] | None) -> xr.DataArray:
    data = xr.DataArray(
        values[np.newaxis],
        dims=("band", "y", "x"),
        coords={
            "band": [1],
            "y": TRANSFORM.f + TRANSFORM.e * (np.arange(HEIGHT) + 0.5),
            "x": TRANSFORM.c + TRANSFORM.a * (np.arange(WIDTH) + 0.5),
        },
    )
    data = data.rio.write_crs(CRS).rio.write_transform(TRANSFORM)
    if nodata is not None:
        data = data.rio.write_nodata(nodata)
    return data.chunk(chunks) if chunks else data


def vector(geometries: list[BaseGeometry]) -> Vector:
    properties = tuple({"name": f"u{i}"} for i in range(len(geometries)))
    return Vector(tuple(geometries), properties, shapely_crs(), ids=tuple(range(len(geometries))))


def shapely_crs() -> Any:
    from rasterio.crs import CRS as RioCRS

    return RioCRS.from_user_input(CRS)


def inside(geometries: list[BaseGeometry]) -> np.ndarray:
    """Pixels whose centre is inside any of the geometries, rasterized by rasterio here."""
    masks = [
        geometry_mask([g], out_shape=(HEIGHT, WIDTH), transform=TRANSFORM, invert=True) for g in geometries
    ]
    return np.logical_or.reduce(masks)


def run(
    values: np.ndarray,
    nodata: float | None,
    chunks: dict[str, int] | None,
    rural: list[BaseGeometry] | None = None,
) -> dict[str, Any]:
    inputs = UhiInputs(
        lst=raster(values, nodata, chunks),
        urban=vector(URBAN),
        rural=None if rural is None else vector(rural),
    )
    produced = UrbanHeatIsland().run(inputs)
    intensity, hotspots, statistics = dask.compute(
        produced["intensity"], produced["hotspots"].data, produced["statistics"]
    )
    return {"intensity": intensity, "hotspots": hotspots, "statistics": json.loads(statistics)}


def stats(values: np.ndarray) -> dict[str, Any]:
    if values.size == 0:
        return {"count": 0, "mean": None, "min": None, "max": None, "std": None}
    as64 = values.astype(np.float64)
    return {
        "count": int(values.size),
        "mean": as64.mean(),
        "min": float(values.min()),
        "max": float(values.max()),
        "std": as64.std(),
    }


def expected(values: np.ndarray, nodata: float | None, rural: list[BaseGeometry] | None) -> dict[str, Any]:
    valid = ~np.isnan(values) if nodata is None else values != nodata
    urban = inside(URBAN) & valid
    rural_mask = (~inside(URBAN) if rural is None else inside(rural)) & valid
    scene_values = values[valid].astype(np.float64)
    mean, std = scene_values.mean(), scene_values.std()
    classes = np.where(values > mean + 2 * std, 2, np.where(values > mean + std, 1, 0)).astype(np.uint8)
    classes[~valid] = 255
    zones = [stats(values[inside([z]) & valid]) for z in URBAN] + [stats(values[rural_mask])]
    return {
        "intensity": values[urban].astype(np.float64).mean() - values[rural_mask].astype(np.float64).mean(),
        "hotspots": classes,
        "zones": zones,
    }


def assert_matches(result: dict[str, Any], wanted: dict[str, Any]) -> None:
    assert result["intensity"] == pytest.approx(wanted["intensity"], rel=1e-9)
    np.testing.assert_array_equal(result["hotspots"], wanted["hotspots"])
    features = result["statistics"]["features"]
    assert [f.get("id") for f in features] == [0, 1, 2, "rural"]
    assert [f["properties"].get("name") for f in features] == ["u0", "u1", "u2", None]
    assert features[-1]["properties"]["zone"] == "rural"
    for feature, zone in zip(features, wanted["zones"], strict=True):
        for name, value in zone.items():
            if value is None or name == "count":
                assert feature["properties"][name] == value, name
            else:
                assert feature["properties"][name] == pytest.approx(value, rel=1e-9), name


@pytest.mark.parametrize("nodata", [-9999.0, None])
@pytest.mark.parametrize("rural", [None, RURAL])
def test_matches_numpy(nodata: float | None, rural: list[BaseGeometry] | None) -> None:
    values = scene(nodata)
    result = run(values, nodata, {"y": 16, "x": 16}, rural)
    wanted = expected(values, nodata, rural)
    assert_matches(result, wanted)
    assert wanted["intensity"] > 3  # the warm centre is urban
    assert {0, 1, 2, 255} <= set(np.unique(result["hotspots"]).tolist())
    assert (
        wanted["zones"][0]["count"] > 0
        and wanted["zones"][1]["count"] > 0
        and wanted["zones"][2]["count"] == 0
    )


def test_pooled_not_mean_of_zone_means() -> None:
    values = scene()
    result = run(values, -9999.0, None)
    urban = inside(URBAN) & (values != -9999.0)
    zone_means = [f["properties"]["mean"] for f in result["statistics"]["features"][:2]]
    rural = result["statistics"]["features"][-1]["properties"]["mean"]
    assert result["intensity"] == pytest.approx(values[urban].astype(np.float64).mean() - rural, rel=1e-9)
    assert result["intensity"] != pytest.approx(float(np.mean(zone_means)) - rural, rel=1e-6)


def test_chunk_invariance() -> None:
    values = scene()
    whole = run(values, -9999.0, None)
    for chunks in ({"y": 4, "x": 5}, {"y": 9, "x": 83}, {"y": HEIGHT, "x": WIDTH}):
        result = run(values, -9999.0, chunks)
        assert result["intensity"] == pytest.approx(whole["intensity"], rel=1e-12)
        np.testing.assert_array_equal(result["hotspots"], whole["hotspots"])
        for a, b in zip(result["statistics"]["features"], whole["statistics"]["features"], strict=True):
            assert a["properties"] == pytest.approx(b["properties"], rel=1e-12)


def test_lazy_one_graph_and_metadata() -> None:
    inputs = UhiInputs(lst=raster(scene(), -9999.0, {"y": 16, "x": 16}), urban=vector(URBAN))
    with raise_if_dask_computes():
        produced = UrbanHeatIsland().run(inputs)
    hotspots = produced["hotspots"]
    assert isinstance(hotspots, xr.DataArray) and hotspots.dtype == np.uint8
    assert hotspots.rio.nodata == 255 and hotspots.rio.crs == CRS and hotspots.rio.transform() == TRANSFORM
    with raise_if_dask_computes(max_computes=1):
        dask.compute(produced["intensity"], hotspots.data, produced["statistics"])


def test_no_urban_pixel_is_refused() -> None:
    values = scene()
    inputs = UhiInputs(lst=raster(values, -9999.0, None), urban=vector([URBAN[2]]))
    with pytest.raises(InvalidParameterValue) as raised:
        dask.compute(UrbanHeatIsland().run(inputs)["intensity"])
    assert raised.value.locator == "urban"
    assert math.isfinite(float(values[values != -9999.0].mean()))
