"""Scenes for the end-to-end tests of land_surface_temperature and urban_heat_island, with the
numpy answers they must give (masks rasterized here by rasterio, independently of the service)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from rasterio.features import geometry_mask

from tests.algorithms.test_lst import LANDSAT8, numpy_lst
from tests.support.rasters import UTM_10M, Raster, RasterFactory, RasterSpec, write_raster
from tests.support.vectors import feature_collection, lonlat

HEIGHT, WIDTH = 97, 131
LST_NODATA = -9999.0
# in EPSG:32631 over the factory's default grid (origin 500000, 5600000; 10 m pixels)
URBAN = [
    shapely.Polygon(
        [(500213.0, 5599791.0), (500803.0, 5599712.0), (500741.0, 5599301.0), (500262.0, 5599388.0)]
    ),
    shapely.box(500611.0, 5599502.0, 501033.0, 5599836.0),  # overlaps the first
]


@dataclass(frozen=True)
class Bands:
    """Landsat-like thermal (DN, nodata 0), red and nir (reflectance, nodata -1) on one grid."""

    thermal: Raster
    red: Raster
    nir: Raster

    def expected(self) -> np.ndarray:
        """The LST numpy gives for these bands, float32."""
        return numpy_lst(self.thermal.data[0], self.red.data[0], self.nir.data[0], LANDSAT8).astype(
            np.float32
        )


def landsat_bands(rasters: RasterFactory) -> Bands:
    """thermal.tif, red.tif, nir.tif with NDVI in each emissivity class and nodata in each band."""
    rng = np.random.default_rng(9)
    thermal = rng.integers(20000, 40000, (1, HEIGHT, WIDTH), dtype=np.uint16)
    red = rng.uniform(0.02, 0.3, (1, HEIGHT, WIDTH)).astype(np.float32)
    ndvi = rng.uniform(-0.3, 0.9, (1, HEIGHT, WIDTH))
    nir = (red * (1 + ndvi) / (1 - ndvi)).astype(np.float32)
    thermal[0, 0, :7] = 0
    red[0, 1, :7] = -1
    nir[0, 2, :7] = -1
    common = {"width": WIDTH, "height": HEIGHT, "blocksize": 32}
    return Bands(
        write_raster(
            rasters.directory / "thermal.tif", RasterSpec(dtype="uint16", nodata=0, **common), thermal
        ),
        write_raster(rasters.directory / "red.tif", RasterSpec(dtype="float32", nodata=-1, **common), red),
        write_raster(rasters.directory / "nir.tif", RasterSpec(dtype="float32", nodata=-1, **common), nir),
    )


def lst_scene(rasters: RasterFactory) -> Raster:
    """lst.tif: float32 degrees Celsius, a warm centre, nodata stripes (-9999)."""
    rng = np.random.default_rng(4)
    rows, cols = np.indices((HEIGHT, WIDTH))
    values = (
        24 + 9 * np.exp(-((rows - 30) ** 2 + (cols - 45) ** 2) / 300) + rng.normal(0, 1.2, (HEIGHT, WIDTH))
    )
    values = values.astype(np.float32)[np.newaxis]
    values[0, ::9, 20:40] = LST_NODATA
    spec = RasterSpec(dtype="float32", nodata=LST_NODATA, width=WIDTH, height=HEIGHT, blocksize=32)
    return write_raster(rasters.directory / "lst.tif", spec, values)


def urban_geojson() -> str:
    """The urban zones as a lon/lat FeatureCollection (ids 0, 1; property zone z0, z1)."""
    return feature_collection([lonlat(zone) for zone in URBAN])


def uhi_expected(scene: Raster) -> dict[str, Any]:
    """intensity, hotspots and per-zone statistics by numpy, rural = valid pixels outside urban."""
    values = scene.data[0]
    valid = values != LST_NODATA

    def inside(geometry: shapely.Geometry) -> np.ndarray:
        mask: np.ndarray = geometry_mask(
            [geometry], out_shape=(HEIGHT, WIDTH), transform=UTM_10M, invert=True
        )
        return mask

    urban = np.logical_or.reduce([inside(zone) for zone in URBAN]) & valid
    rural = ~np.logical_or.reduce([inside(zone) for zone in URBAN]) & valid
    scene_values = values[valid].astype(np.float64)
    mean, std = scene_values.mean(), scene_values.std()
    classes = np.where(values > mean + 2 * std, 2, np.where(values > mean + std, 1, 0)).astype(np.uint8)
    classes[~valid] = 255
    zones = [values[inside(zone) & valid].astype(np.float64) for zone in URBAN] + [
        values[rural].astype(np.float64)
    ]
    return {
        "intensity": values[urban].astype(np.float64).mean() - values[rural].astype(np.float64).mean(),
        "hotspots": classes,
        "statistics": [
            {"count": z.size, "mean": z.mean(), "min": z.min(), "max": z.max(), "std": z.std()} for z in zones
        ],
    }


def assert_uhi_statistics(document: dict[str, Any], expected: dict[str, Any]) -> None:
    """The GeoJSON statistics equal numpy's: the two urban zones, then ``rural``."""
    features = document["features"]
    assert [f.get("id") for f in features] == [0, 1, "rural"]
    assert [f["properties"]["zone"] for f in features] == ["z0", "z1", "rural"]
    for feature, wanted in zip(features, expected["statistics"], strict=True):
        assert feature["properties"]["count"] == wanted["count"]
        for name in ("mean", "min", "max", "std"):
            assert abs(feature["properties"][name] - wanted[name]) <= 1e-9 * max(1.0, abs(wanted[name])), name
