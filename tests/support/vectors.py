"""Zones over a UTM scene for the vector-input tests, as GeoJSON feature collections or zipped shapefiles.

``ZONES`` are polygons in EPSG:32631 over the scene ``zones_scene`` writes (``WIDTH`` x ``HEIGHT``
pixels on ``TRANSFORM``): one irregular, one box overlapping it, one outside the scene.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw
import shapely
from affine import Affine
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from tests.support.rasters import Raster, RasterFactory

TRANSFORM = Affine(10.0, 0.0, 500000.0, 0.0, -7.5, 5600000.0)
WIDTH, HEIGHT = 257, 199
ZONES = [
    shapely.Polygon(
        [(500123.4, 5599876.5), (502156.7, 5599512.3), (502387.1, 5598654.2), (501234.5, 5598767.8)]
    ),
    shapely.box(500800.3, 5599100.1, 501900.7, 5599700.2),  # overlaps the first
    shapely.box(400000.0, 5000000.0, 401000.0, 5001000.0),  # outside the raster
]


def zones_scene(rasters: RasterFactory) -> Raster:
    """``scene.tif``: the raster the zones lie on, uint16 with 10 % nodata (0)."""
    return rasters(
        "scene.tif", width=WIDTH, height=HEIGHT, transform=TRANSFORM, nodata=0, nodata_fraction=0.1
    )


def lonlat(geometry: BaseGeometry) -> dict[str, Any]:
    """The geometry (EPSG:32631) as a GeoJSON mapping in lon/lat."""
    to_lonlat = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True)
    return shapely.geometry.mapping(
        shapely.transform(geometry, lambda c: np.column_stack(to_lonlat.transform(*c.T)))
    )


def feature_collection(geometries: list[dict[str, Any]], crs: str | None = None) -> str:
    """A GeoJSON FeatureCollection of these geometries (property ``zone``: z0, z1, ...), with a legacy
    ``crs`` member when given."""
    features = [
        {"type": "Feature", "id": i, "properties": {"zone": f"z{i}"}, "geometry": g}
        for i, g in enumerate(geometries)
    ]
    document: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if crs:
        document["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(document)


def zipped_shapefile(
    directory: Path, geometries: list[BaseGeometry], prj: bool, entries: dict[str, bytes] | None = None
) -> bytes:
    """A zip of a polygon shapefile (EPSG:32631, written in ``directory``), its .prj only when ``prj``,
    plus any extra ``entries`` (name -> content)."""
    directory.mkdir(parents=True, exist_ok=True)
    wkb = np.array([g.wkb for g in geometries], dtype=object)
    names = np.array([f"z{i}" for i in range(len(geometries))], dtype=object)
    pyogrio.raw.write(
        directory / "zones.shp",
        wkb,
        [names],
        ["zone"],
        geometry_type="Polygon",
        crs="EPSG:32631",
        driver="ESRI Shapefile",
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in directory.iterdir():
            if path.suffix != ".prj" or prj:
                archive.writestr(f"data/{path.name}", path.read_bytes())
        for name, content in (entries or {}).items():
            archive.writestr(zipfile.ZipInfo(name), content)
    return buffer.getvalue()
