"""The registry offers exactly the public catalogue of DESIGN.md, with its input and output names."""

from __future__ import annotations

import pytest

from app.algorithms.echo import Echo
from app.algorithms.registry import Registry, default_registry

CATALOGUE = {
    "echo": ({"literal", "complex", "bbox"}, {"literal", "complex", "bbox"}),
    "ndvi": ({"red", "nir"}, {"ndvi"}),
    "clip": ({"raster", "bbox", "geometry"}, {"clipped"}),
    "reproject": ({"raster", "crs", "resampling", "resolution"}, {"reprojected"}),
    "change_detection": (
        {"before", "after", "method", "threshold"},
        {"difference", "mask", "changed_fraction"},
    ),
    "zonal_statistics": ({"raster", "zones", "statistics"}, {"statistics"}),
    "terrain": ({"dem", "product", "z_factor", "azimuth", "altitude"}, {"result"}),
    "band_math": ({"raster", "expression", "dtype"}, {"result"}),
    "fill_sinks": ({"dem"}, {"filled"}),
    "flow_direction": ({"dem"}, {"direction"}),
    "flow_accumulation": ({"dem"}, {"accumulation"}),
    "watershed": ({"dem", "outlet", "snap_distance"}, {"watershed", "outline", "area_km2"}),
    "stream_network": ({"dem", "threshold"}, {"streams"}),
    "land_surface_temperature": (
        {"thermal", "red", "nir", "radiance_mult", "radiance_add", "k1", "k2"},
        {"lst"},
    ),
    "urban_heat_island": ({"lst", "urban", "rural"}, {"intensity", "hotspots", "statistics"}),
}


def test_catalogue_is_the_public_contract() -> None:
    descriptions = {d.identifier: d for d in default_registry().descriptions()}
    assert list(descriptions) == list(CATALOGUE)
    for identifier, (inputs, outputs) in CATALOGUE.items():
        description = descriptions[identifier]
        assert {i.identifier for i in description.inputs} == inputs, identifier
        assert {o.identifier for o in description.outputs} == outputs, identifier


def test_band_math_raster_occurs_several_times() -> None:
    raster = default_registry().describe("band_math").input("raster")
    assert raster is not None and raster.min_occurs == 1 and (raster.max_occurs or 2) > 1


def test_registry_refuses_duplicates() -> None:
    with pytest.raises(ValueError, match="already registered"):
        Registry().register(Echo).register(Echo)
