"""``urban_heat_island``: surface urban heat island intensity, hotspot classes, per-zone statistics.

On the first band of ``lst`` (degrees Celsius; nodata and NaN pixels left out), with a pixel in a
zone when its centre is inside it, as in ``zonal_statistics``, whose chunked reductions
(:func:`~app.algorithms.zonal.zonal_partials`) and GeoJSON writer are reused here:

- ``intensity``: the mean of all urban pixels (the union of the urban zones: a pixel in two
  zones counts once) minus the mean of all rural pixels (the union of the ``rural`` zones, or
  by default every pixel of the scene outside the urban union). Pooled, not a mean of zone means.
  Refused (InvalidParameterValue) when either side has no valid pixel.
- ``hotspots``: uint8, 2 where LST > mean + 2 std, 1 where LST > mean + 1 std, else 0, 255 where
  nodata; mean and (population) std of every valid pixel of the scene.
- ``statistics``: GeoJSON, one feature per urban zone (its geometry, id and properties) then one
  feature ``rural`` (id ``rural``, property ``zone`` = ``rural``, its geometry), each with count,
  mean, min, max and std (population).

Everything is lazy: the scene, the unions and the zones are reduced in the same pass over the
chunks, so one compute of all outputs reads ``lst`` once for the reductions. ``intensity`` and
``statistics`` are 0-d dask arrays (wrapping ``dask.delayed`` tasks) rather than Delayed objects,
so that any ``dask.compute`` of them beside the hotspots keeps its order (dask 2026.8 returns
Delayed results before array results; the service's ``JobContext.compute`` copes with that since
9fde196, a plain ``dask.compute``, as in the tests, does not).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated

import dask.array as da
import numpy as np
import shapely
import xarray as xr
from dask.delayed import Delayed, delayed
from shapely.geometry.base import BaseGeometry

from app.algorithms.base import ComplexInput, Output, Process, ProcessInputs
from app.algorithms.formats import GEOJSON_FORMATS, GEOTIFF_FORMATS, VECTOR_FORMATS
from app.algorithms.zonal import Partial, Statistic, feature_collection, zonal_partials
from app.model.descriptions import DataKind, LiteralDomain
from app.model.errors import InvalidParameterValue
from app.model.rendering import Rendering
from app.raster.grid import Grid, as_float
from app.raster.vectors import CRS84, Vector, to_crs

HOTSPOT_NODATA = 255
ZONE_STATISTICS: tuple[Statistic, ...] = ("count", "mean", "min", "max", "std")


def hotspot_block(block: np.ndarray, scene: Partial | None) -> np.ndarray:
    """Hotspot classes of one float chunk (NaN nodata) given the scene's aggregates."""
    classes = np.full(block.shape, HOTSPOT_NODATA, dtype=np.uint8)
    if scene is None:
        return classes
    mean = scene.mean
    std = math.sqrt(max(scene.m2, 0.0) / scene.count)
    valid = ~np.isnan(block)
    classes[valid] = 0
    classes[valid & (block > mean + std)] = 1
    classes[valid & (block > mean + 2 * std)] = 2
    return classes


def hotspots(values: xr.DataArray, scene: Delayed) -> xr.DataArray:
    """The lazy uint8 hotspot raster of a float band (NaN nodata), ``scene`` its lazy Partial."""
    data = values.data if isinstance(values.data, da.Array) else da.from_array(values.data)
    classes = da.map_blocks(hotspot_block, data, scene, dtype=np.uint8)
    return Grid.of(values).with_nodata(HOTSPOT_NODATA).stamp(values.copy(data=classes))


def intensity(urban: Partial | None, rural: Partial | None) -> float:
    """Pooled urban mean minus pooled rural mean (InvalidParameterValue if a side is empty)."""
    if urban is None:
        raise InvalidParameterValue("no valid lst pixel has its centre in the urban zones", locator="urban")
    if rural is None:
        raise InvalidParameterValue("no valid lst pixel is rural", locator="rural")
    return urban.mean - rural.mean


def statistics(zones: Vector, partials: Mapping[int, Partial]) -> bytes:
    """The GeoJSON of the urban zones and the rural feature (the last of ``zones``)."""
    return feature_collection(zones, partials, ZONE_STATISTICS)


def _union(vector: Vector) -> BaseGeometry:
    return shapely.union_all([g for g in vector.geometries if not g.is_empty])


class UhiInputs(ProcessInputs):
    """Inputs of ``urban_heat_island``."""

    lst: Annotated[
        xr.DataArray,
        ComplexInput("Land surface temperature", GEOTIFF_FORMATS, "Degrees Celsius; first band."),
    ]
    urban: Annotated[
        Vector,
        ComplexInput(
            "Urban zones",
            VECTOR_FORMATS,
            "GeoJSON (lon/lat unless a legacy crs member says otherwise) or a zipped shapefile "
            "(.prj honoured; without one the raster's CRS is assumed). One zone per feature.",
        ),
    ]
    rural: Annotated[
        Vector | None,
        ComplexInput(
            "Rural zones",
            VECTOR_FORMATS,
            "As urban; their union is the rural reference. Default: every valid pixel outside urban.",
        ),
    ] = None


class UrbanHeatIsland(Process):
    """Surface urban heat island: intensity, hotspot classes and statistics per zone.

    intensity = mean LST of all urban pixels (pooled over the union of the urban zones) minus mean
    LST of all rural pixels (the union of the rural zones, or every valid pixel outside the urban
    zones). hotspots: 0 at or below mean + 1 std of the scene, 1 above, 2 above mean + 2 std, 255
    nodata (scene: every valid pixel, population std). statistics: GeoJSON, one feature per urban
    zone plus one feature with id and zone "rural", each with count, mean, min, max and std
    (population). A pixel is in a zone when its centre is inside it; nodata pixels are left out.
    """

    identifier = "urban_heat_island"
    title = "Urban heat island"
    keywords = ("urban heat", "temperature", "zonal", "raster", "vector")
    Inputs = UhiInputs
    outputs = (
        Output(
            "intensity",
            "Urban heat island intensity (degrees Celsius)",
            DataKind.LITERAL,
            literal=LiteralDomain(data_type="double"),
            abstract="Mean of all urban pixels minus mean of all rural pixels.",
        ),
        Output(
            "hotspots",
            "Hotspot classes",
            DataKind.COMPLEX,
            formats=GEOTIFF_FORMATS,
            abstract="uint8: 0 normal, 1 above mean + 1 std, 2 above mean + 2 std, 255 nodata.",
            rendering=Rendering(rescale=(0, 2), colormap_name="ylorrd"),
        ),
        Output(
            "statistics",
            "Statistics per zone",
            DataKind.COMPLEX,
            formats=GEOJSON_FORMATS,
            abstract=(
                "GeoJSON FeatureCollection in lon/lat: the urban zones in input order, then the feature "
                "'rural'; count, mean, min, max, std (population); count 0 and the others null for a "
                "zone without a valid pixel."
            ),
        ),
    )

    def run(self, inputs: UhiInputs) -> Mapping[str, object]:
        """Reduce scene, unions and zones in one chunked pass; classify against the scene."""
        values = as_float(inputs.lst.isel(band=0))
        grid = Grid.of(inputs.lst)
        values = grid.with_nodata(math.nan).stamp(values)
        urban = to_crs(inputs.urban, grid.crs, locator="urban", assume_crs=True)
        urban_union = _union(urban)
        scene_box = shapely.box(*grid.bounds)
        if inputs.rural is None:
            rural_zone = scene_box.difference(urban_union)
        else:
            rural_zone = _union(to_crs(inputs.rural, grid.crs, locator="rural", assume_crs=True))
        zones = [*urban.geometries, rural_zone, urban_union, scene_box]
        n = len(urban)
        partials = zonal_partials(values, zones, with_median=False)
        scene = delayed(_get)(partials, n + 2)
        described = Vector(
            geometries=(*urban.geometries, rural_zone),
            properties=(*urban.properties, {"zone": "rural"}),
            crs=urban.crs,
            ids=(*(urban.feature_id(i) for i in range(n)), "rural"),
        )
        lonlat = to_crs(described, CRS84, locator="urban")
        difference = delayed(intensity)(delayed(_get)(partials, n + 1), delayed(_get)(partials, n))
        return {  # 0-d arrays, not Delayed: see the module docstring
            "intensity": da.from_delayed(difference, shape=(), dtype=np.float64),
            "hotspots": hotspots(values, scene),
            "statistics": da.from_delayed(delayed(statistics)(lonlat, partials), shape=(), dtype=object),
        }


def _get(partials: Mapping[int, Partial], index: int) -> Partial | None:
    return partials.get(index)
