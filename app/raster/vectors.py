"""Vector inputs: GeoJSON and zipped shapefiles read into shapely geometries with their CRS.

GeoJSON (a FeatureCollection, a Feature or a bare geometry) is parsed here with ``json`` and
shapely; RFC 7946 coordinates are longitude/latitude (``OGC:CRS84``) unless a legacy ``crs``
member names another CRS. Coordinates are always read in x/y (easting/northing) order.

A zipped shapefile is checked entry by entry before anything reads it (no absolute or ``..``
paths, bounded entry count, uncompressed size and compression ratio, CRCs intact, exactly one
``.shp``), then read in place by GDAL through ``/vsizip/`` with pyogrio: nothing is extracted.
Its ``.prj`` gives the CRS; without one the CRS is ``None`` and the process decides (see
:func:`to_crs`).
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pyogrio.errors
import pyogrio.raw
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.errors import GEOSException
from shapely.geometry.base import BaseGeometry

from app.model.errors import InvalidParameterValue
from app.settings import Settings

CRS84 = CRS.from_user_input("OGC:CRS84")
GEOJSON_MIME_TYPES = frozenset({"application/geo+json", "application/json", "application/vnd.geo+json"})
ZIP_MIME_TYPES = frozenset({"application/zip", "application/x-zipped-shp"})
_GEOMETRY_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"}
)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class Vector:
    """Features: geometries (empty where a feature has none), properties, ids, and a CRS or None."""

    geometries: tuple[BaseGeometry, ...]
    properties: tuple[dict[str, Any], ...]
    crs: CRS | None
    ids: tuple[str | int | float | None, ...] = ()

    def __len__(self) -> int:
        return len(self.geometries)

    def feature_id(self, index: int) -> str | int | float | None:
        """The id of feature ``index`` (None when the input gave none)."""
        return self.ids[index] if index < len(self.ids) else None


@dataclass(frozen=True)
class ZipLimits:
    """What a zipped shapefile may hold before it is refused as a zip bomb."""

    max_entries: int = 1000
    max_uncompressed: int = 512 * 1024 * 1024
    max_ratio: float = 200.0  # uncompressed / compressed, checked beyond ``ratio_floor`` bytes
    ratio_floor: int = 8 * 1024 * 1024

    @classmethod
    def from_settings(cls, settings: Settings) -> ZipLimits:
        """Limits scaled to the service's caps: at most 4x the request cap, uncompressed."""
        return cls(max_uncompressed=min(settings.max_input_bytes, 4 * settings.max_request_bytes))


def read_vector(
    data: bytes, mime_type: str | None, locator: str, workdir: Path, limits: ZipLimits | None = None
) -> Vector:
    """Read GeoJSON or a zipped shapefile; InvalidParameterValue naming ``locator`` when unreadable."""
    mime = (mime_type or "").split(";")[0].strip().lower()
    is_zip = mime in ZIP_MIME_TYPES if mime else data.startswith(_ZIP_MAGIC)
    if is_zip:
        return read_zipped_shapefile(data, locator, workdir, limits or ZipLimits())
    if mime and mime not in GEOJSON_MIME_TYPES:
        raise InvalidParameterValue(f"input {locator!r}: unsupported vector format {mime!r}", locator)
    return read_geojson(data, locator)


def to_crs(vector: Vector, crs: Any, *, locator: str, assume_crs: bool = False) -> Vector:
    """The features reprojected to ``crs`` (vertex by vertex).

    A vector without a CRS (a shapefile without .prj) is taken to be in ``crs`` when
    ``assume_crs`` is set, else refused with InvalidParameterValue.
    """
    target = CRS.from_user_input(crs)
    if vector.crs is None:
        if not assume_crs:
            raise InvalidParameterValue(
                f"input {locator!r} has no coordinate reference system (a shapefile without .prj)", locator
            )
        return replace(vector, crs=target)
    if vector.crs == target:
        return vector
    transformer = Transformer.from_crs(vector.crs, target, always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        xs, ys = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([xs, ys])

    moved = shapely.transform(np.asarray(vector.geometries, dtype=object), project)
    if not np.all(np.isfinite(shapely.get_coordinates(moved))):
        raise InvalidParameterValue(f"input {locator!r} cannot be reprojected to {target.name}", locator)
    return replace(vector, geometries=tuple(moved), crs=target)


# ----------------------------------------------------------------------------- GeoJSON


def read_geojson(data: bytes, locator: str) -> Vector:
    """A GeoJSON FeatureCollection, Feature or geometry as a Vector."""
    document = _parse_json(data, locator)
    kind = document.get("type")
    if kind == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list):
            raise InvalidParameterValue(f"input {locator!r}: 'features' must be a list", locator)
    elif kind == "Feature":
        features = [document]
    elif kind in _GEOMETRY_TYPES:
        features = [{"type": "Feature", "geometry": document, "properties": None}]
    else:
        raise InvalidParameterValue(f"input {locator!r}: not a GeoJSON object (type {kind!r})", locator)
    parsed = [_feature(feature, locator) for feature in features]
    return Vector(
        geometries=tuple(p[0] for p in parsed),
        properties=tuple(p[1] for p in parsed),
        ids=tuple(p[2] for p in parsed),
        crs=_legacy_crs(document.get("crs"), locator),
    )


def _parse_json(data: bytes, locator: str) -> dict[str, Any]:
    def refuse_constant(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    try:
        document = json.loads(data, parse_constant=refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidParameterValue(f"input {locator!r} is not valid JSON", locator) from exc
    if not isinstance(document, dict):
        raise InvalidParameterValue(f"input {locator!r}: GeoJSON must be an object", locator)
    return document


def _feature(feature: object, locator: str) -> tuple[BaseGeometry, dict[str, Any], str | int | float | None]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise InvalidParameterValue(f"input {locator!r}: each of 'features' must be a Feature", locator)
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        raise InvalidParameterValue(f"input {locator!r}: feature properties must be an object", locator)
    identifier = feature.get("id")
    if not isinstance(identifier, str | int | float | type(None)) or isinstance(identifier, bool):
        raise InvalidParameterValue(f"input {locator!r}: a feature id must be a string or number", locator)
    return _geometry(feature.get("geometry"), locator), properties, identifier


def _geometry(geometry: object, locator: str) -> BaseGeometry:
    if geometry is None:
        return shapely.GeometryCollection()
    if not isinstance(geometry, dict) or geometry.get("type") not in _GEOMETRY_TYPES:
        raise InvalidParameterValue(f"input {locator!r}: a feature has an invalid geometry", locator)
    try:
        shape = shapely.from_geojson(json.dumps(geometry))
    except (GEOSException, ValueError, TypeError) as exc:
        raise InvalidParameterValue(f"input {locator!r}: a feature has an invalid geometry", locator) from exc
    if not np.all(np.isfinite(shapely.get_coordinates(shape))):
        raise InvalidParameterValue(f"input {locator!r}: a geometry has non-finite coordinates", locator)
    return shape


def _legacy_crs(member: object, locator: str) -> CRS:
    """RFC 7946 CRS84, or the CRS a pre-RFC ``{"type": "name", "properties": {"name": ...}}`` names."""
    if member is None:
        return CRS84
    name = member.get("properties", {}).get("name") if isinstance(member, dict) else None
    if not isinstance(member, dict) or member.get("type") != "name" or not isinstance(name, str):
        raise InvalidParameterValue(f"input {locator!r}: unsupported GeoJSON 'crs' member", locator)
    try:
        return CRS.from_user_input(name)
    except CRSError as exc:
        raise InvalidParameterValue(f"input {locator!r}: unknown CRS {name!r}", locator) from exc


# ----------------------------------------------------------------------------- zipped shapefiles


def read_zipped_shapefile(data: bytes, locator: str, workdir: Path, limits: ZipLimits) -> Vector:
    """The one shapefile of a checked zip archive, read through GDAL's /vsizip/ (not extracted)."""
    entry = checked_shapefile_entry(data, locator, limits)
    workdir.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=workdir, prefix="vector-", suffix=".zip")
    try:
        with os.fdopen(handle, "wb") as sink:
            sink.write(data)
        meta, _, wkb, fields = pyogrio.raw.read(f"/vsizip/{name}/{entry}")
        shapes = shapely.from_wkb(wkb)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, GEOSException) as exc:
        raise InvalidParameterValue(f"input {locator!r} could not be read as a shapefile", locator) from exc
    finally:
        Path(name).unlink(missing_ok=True)
    geometries = tuple(g if g is not None else shapely.GeometryCollection() for g in shapes)
    names = [str(n) for n in meta["fields"]]
    properties = tuple(
        {field: _plain(column[i]) for field, column in zip(names, fields, strict=True)}
        for i in range(len(geometries))
    )
    return Vector(geometries=geometries, properties=properties, crs=_shapefile_crs(meta.get("crs"), locator))


def checked_shapefile_entry(data: bytes, locator: str, limits: ZipLimits) -> str:
    """The path of the single .shp in a zip archive, after checking every entry is safe to read."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            _check_entries(infos, locator, limits)
            if archive.testzip() is not None:  # decompresses, bounded by the declared sizes
                raise zipfile.BadZipFile("CRC mismatch")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError) as exc:
        raise InvalidParameterValue(f"input {locator!r} is not a valid zip archive", locator) from exc
    shapefiles = [i.filename for i in infos if i.filename.lower().endswith(".shp") and _wanted(i.filename)]
    if not shapefiles:
        raise InvalidParameterValue(f"input {locator!r}: the zip archive holds no .shp file", locator)
    if len(shapefiles) > 1:
        raise InvalidParameterValue(f"input {locator!r}: the zip archive holds several .shp files", locator)
    return shapefiles[0]


def _check_entries(infos: list[zipfile.ZipInfo], locator: str, limits: ZipLimits) -> None:
    if len(infos) > limits.max_entries:
        raise InvalidParameterValue(
            f"input {locator!r}: the zip archive has more than {limits.max_entries} entries", locator
        )
    for info in infos:
        if not _safe_name(info.filename):
            raise InvalidParameterValue(f"input {locator!r}: unsafe path in the zip archive", locator)
        if info.flag_bits & 0x1:
            raise InvalidParameterValue(f"input {locator!r}: encrypted zip entries are refused", locator)
    total = sum(info.file_size for info in infos)
    packed = max(sum(info.compress_size for info in infos), 1)
    if total > limits.max_uncompressed or (total > limits.ratio_floor and total > limits.max_ratio * packed):
        raise InvalidParameterValue(
            f"input {locator!r}: the zip archive expands too much ({total} bytes uncompressed)", locator
        )


def _safe_name(name: str) -> bool:
    """No absolute paths, drive letters, ``..`` components or control characters."""
    normal = name.replace("\\", "/")
    if normal.startswith("/") or _DRIVE.match(normal) or any(ord(c) < 32 for c in normal):
        return False
    return ".." not in PurePosixPath(normal).parts


def _wanted(name: str) -> bool:
    """Skips macOS resource forks (``__MACOSX/``, ``._name``) that archivers add."""
    path = PurePosixPath(name)
    return "__MACOSX" not in path.parts and not path.name.startswith("._")


def _shapefile_crs(text: str | None, locator: str) -> CRS | None:
    if not text:
        return None
    try:
        return CRS.from_user_input(text)
    except CRSError as exc:
        raise InvalidParameterValue(f"input {locator!r}: the .prj is not a known CRS", locator) from exc


def _plain(value: object) -> object:
    """A field value as plain JSON-compatible Python (NaN and NaT as None)."""
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else str(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value
