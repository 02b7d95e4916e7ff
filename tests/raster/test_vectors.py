"""Vector inputs: GeoJSON variants and CRSs, zipped shapefiles, hostile archives, reprojection."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pyogrio.raw
import pytest
import shapely
from pyproj import CRS, Transformer

from app.model.errors import InvalidParameterValue
from app.raster.vectors import CRS84, Vector, ZipLimits, read_vector, to_crs
from app.settings import Settings

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[2.0, 48.0], [2.1, 48.0], [2.1, 48.1], [2.0, 48.1], [2.0, 48.0]]],
}


def geojson(document: object) -> bytes:
    return json.dumps(document).encode()


def shapefile_files(directory: Path, *, prj: bool = True, name: str = "zones") -> dict[str, bytes]:
    """The files of a two-polygon shapefile in EPSG:32631 (with or without .prj), by name."""
    directory.mkdir(parents=True, exist_ok=True)
    geometries = np.array(
        [shapely.box(500000, 5590000, 501000, 5591000).wkb, shapely.Point(502000, 5592000).buffer(300).wkb],
        dtype=object,
    )
    fields = [
        np.array([7, 8], dtype=np.int32),
        np.array(["north", "south"], dtype=object),
        np.array([1.5, np.nan]),
    ]
    pyogrio.raw.write(
        directory / f"{name}.shp",
        geometries,
        fields,
        ["zone_id", "label", "weight"],
        geometry_type="Polygon",
        crs="EPSG:32631",
        driver="ESRI Shapefile",
    )
    files = {path.name: path.read_bytes() for path in directory.iterdir() if path.stem == name}
    if not prj:
        files.pop(f"{name}.prj")
    return files


def zipped(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()


def refused(
    data: bytes, mime: str | None, workdir: Path, match: str, limits: ZipLimits | None = None
) -> None:
    with pytest.raises(InvalidParameterValue, match=match) as caught:
        read_vector(data, mime, "zones", workdir, limits)
    assert caught.value.locator == "zones"


# ----------------------------------------------------------------------------- GeoJSON


def test_feature_collection(tmp_path: Path) -> None:
    document = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": "a", "geometry": SQUARE, "properties": {"name": "one", "n": 1}},
            {"type": "Feature", "id": 2, "geometry": None, "properties": None},
        ],
    }
    vector = read_vector(geojson(document), "application/geo+json", "zones", tmp_path)
    assert len(vector) == 2
    assert vector.geometries[0].equals(shapely.geometry.shape(SQUARE))
    assert vector.geometries[1].is_empty
    assert vector.properties == ({"name": "one", "n": 1}, {})
    assert (vector.feature_id(0), vector.feature_id(1)) == ("a", 2)
    assert vector.crs == CRS84


@pytest.mark.parametrize("mime", ["application/json", "application/vnd.geo+json", None])
def test_feature_and_bare_geometry(tmp_path: Path, mime: str | None) -> None:
    feature = {"type": "Feature", "geometry": SQUARE, "properties": {"k": "v"}}
    vector = read_vector(geojson(feature), mime, "zones", tmp_path)
    assert vector.properties == ({"k": "v"},)
    bare = read_vector(geojson(SQUARE), mime, "zones", tmp_path)
    assert bare.geometries[0].equals(vector.geometries[0]) and bare.properties == ({},)
    multi = {"type": "MultiPolygon", "coordinates": [SQUARE["coordinates"], SQUARE["coordinates"]]}
    assert read_vector(geojson(multi), mime, "zones", tmp_path).geometries[0].geom_type == "MultiPolygon"


@pytest.mark.parametrize(
    ("name", "epsg"),
    [("urn:ogc:def:crs:EPSG::32631", 32631), ("EPSG:3857", 3857), ("urn:ogc:def:crs:OGC:1.3:CRS84", None)],
)
def test_legacy_crs_member(tmp_path: Path, name: str, epsg: int | None) -> None:
    document = {"type": "Feature", "geometry": SQUARE, "properties": {}}
    document["crs"] = {"type": "name", "properties": {"name": name}}
    vector = read_vector(geojson(document), "application/geo+json", "zones", tmp_path)
    assert vector.crs is not None
    if epsg is None:
        assert vector.crs.equals(CRS84)
    else:
        assert vector.crs.to_epsg() == epsg


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "must be an object"),
        (b'{"type": "Topology"}', "not a GeoJSON object"),
        (b'{"type": "FeatureCollection", "features": {}}', "must be a list"),
        (b'{"type": "FeatureCollection", "features": [{"type": "Point"}]}', "must be a Feature"),
        (b'{"type": "Point", "coordinates": "x"}', "invalid geometry"),
        (b'{"type": "Point", "coordinates": [NaN, 1]}', "not valid JSON"),
        (b'{"type": "Polygon", "coordinates": [[[0, 0], [1, 0]]]}', "invalid geometry"),
        (b'{"type": "Feature", "geometry": null, "properties": [1]}', "properties"),
        (b'{"type": "Feature", "id": [1], "geometry": null, "properties": {}}', "id"),
        (b'{"type": "Point", "coordinates": [0, 0], "crs": {"type": "link"}}', "crs"),
        (
            b'{"type": "Point", "coordinates": [0, 0], "crs": {"type": "name", "properties": {"name": "EPSG:0"}}}',
            "unknown CRS",
        ),
    ],
)
def test_bad_geojson(tmp_path: Path, payload: bytes, match: str) -> None:
    refused(payload, "application/geo+json", tmp_path, match)


# ----------------------------------------------------------------------------- reprojection


def test_to_crs_reprojects_every_vertex(tmp_path: Path) -> None:
    vector = read_vector(geojson(SQUARE), None, "zones", tmp_path)
    moved = to_crs(vector, "EPSG:32631", locator="zones")
    assert moved.crs is not None and moved.crs.to_epsg() == 32631
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32631", always_xy=True)
    lons, lats = np.array(SQUARE["coordinates"][0]).T
    expected = np.column_stack(to_utm.transform(lons, lats))
    np.testing.assert_allclose(shapely.get_coordinates(moved.geometries[0]), expected, rtol=0, atol=1e-6)
    assert to_crs(moved, CRS.from_epsg(32631), locator="zones") is moved
    back = to_crs(moved, CRS84, locator="zones")
    np.testing.assert_allclose(
        shapely.get_coordinates(back.geometries[0]), np.column_stack([lons, lats]), atol=1e-9
    )


def test_missing_crs_refused_or_assumed() -> None:
    vector = Vector((shapely.box(0, 0, 1, 1),), ({},), None)
    with pytest.raises(InvalidParameterValue, match="no coordinate reference system") as caught:
        to_crs(vector, "EPSG:32631", locator="geometry")
    assert caught.value.locator == "geometry"
    assumed = to_crs(vector, "EPSG:32631", locator="zones", assume_crs=True)
    assert assumed.crs is not None and assumed.crs.to_epsg() == 32631
    assert assumed.geometries == vector.geometries


def test_unprojectable_geometry_refused() -> None:
    far_side = Vector((shapely.Point(180, 0),), ({},), CRS84)  # behind the globe of an orthographic view
    with pytest.raises(InvalidParameterValue, match="cannot be reprojected") as caught:
        to_crs(far_side, "+proj=ortho +lat_0=0 +lon_0=0", locator="zones")
    assert caught.value.locator == "zones"


# ----------------------------------------------------------------------------- zipped shapefiles


@pytest.mark.parametrize("mime", ["application/zip", "application/x-zipped-shp", None])
def test_zipped_shapefile_in_a_subfolder(tmp_path: Path, mime: str | None) -> None:
    files = shapefile_files(tmp_path / "src")
    data = zipped({f"export/layers/{name}": content for name, content in files.items()})
    workdir = tmp_path / "work"
    vector = read_vector(data, mime, "zones", workdir)
    assert vector.crs is not None and vector.crs.to_epsg() == 32631
    assert vector.geometries[0].equals(shapely.box(500000, 5590000, 501000, 5591000))
    assert vector.geometries[1].area == pytest.approx(np.pi * 300**2, rel=0.01)
    assert vector.properties == (
        {"zone_id": 7, "label": "north", "weight": 1.5},
        {"zone_id": 8, "label": "south", "weight": None},
    )
    json.dumps(vector.properties)  # plain values only
    assert list(workdir.iterdir()) == []  # the temporary archive is gone


def test_zipped_shapefile_without_prj_has_no_crs(tmp_path: Path) -> None:
    data = zipped(shapefile_files(tmp_path / "src", prj=False))
    vector = read_vector(data, "application/zip", "zones", tmp_path / "work")
    assert vector.crs is None
    assert len(vector) == 2


def test_macos_resource_forks_are_ignored(tmp_path: Path) -> None:
    files = shapefile_files(tmp_path / "src")
    entries = dict(files) | {"__MACOSX/._zones.shp": b"\0" * 10, "._zones.shp": b"junk"}
    assert len(read_vector(zipped(entries), "application/zip", "zones", tmp_path / "w")) == 2


@pytest.mark.parametrize(
    "bad_name", ["../evil.shp", "/abs/evil.shp", "sub/../../evil.shp", "C:/evil.shp", "..\\evil.shp"]
)
def test_path_traversal_refused(tmp_path: Path, bad_name: str) -> None:
    files = shapefile_files(tmp_path / "src")
    entries = {bad_name: files["zones.shp"], "zones.shx": files["zones.shx"], "zones.dbf": files["zones.dbf"]}
    workdir = tmp_path / "work"
    refused(zipped(entries), "application/zip", workdir, "unsafe path")
    assert not (tmp_path / "evil.shp").exists() and not workdir.exists()


def test_zip_bomb_by_ratio_refused(tmp_path: Path) -> None:
    files = shapefile_files(tmp_path / "src")
    bomb = zipped(files | {"zones.dbf": b"\0" * (16 * 1024 * 1024)})
    assert len(bomb) < 100_000
    refused(bomb, "application/zip", tmp_path / "w", "expands too much", ZipLimits.from_settings(Settings()))


def test_zip_bomb_by_size_and_entry_count_refused(tmp_path: Path) -> None:
    files = shapefile_files(tmp_path / "src")
    incompressible = np.random.default_rng(0).bytes(300_000)
    data = zipped(files | {"extra.bin": incompressible})
    refused(data, "application/zip", tmp_path / "w", "expands too much", ZipLimits(max_uncompressed=200_000))
    many = zipped(files | {f"f{i}.txt": b"x" for i in range(20)})
    refused(many, "application/zip", tmp_path / "w", "more than 10 entries", ZipLimits(max_entries=10))


def test_settings_scale_the_limits() -> None:
    limits = ZipLimits.from_settings(Settings(max_request_bytes=1000, max_input_bytes=10**9))
    assert limits.max_uncompressed == 4000


@pytest.mark.parametrize(
    ("entries", "match"),
    [
        ({"readme.txt": b"hello", "zones.dbf": b"x"}, "no .shp"),
        ({"a.shp": b"x", "b/b.shp": b"y"}, "several .shp"),
    ],
)
def test_archives_without_one_shapefile_refused(
    tmp_path: Path, entries: dict[str, bytes], match: str
) -> None:
    refused(zipped(entries), "application/zip", tmp_path, match)


def test_corrupt_archives_refused(tmp_path: Path) -> None:
    refused(b"PK\x03\x04 this is not really a zip", "application/zip", tmp_path, "not a valid zip")
    refused(b"plain garbage", "application/x-zipped-shp", tmp_path, "not a valid zip")
    good = bytearray(zipped(shapefile_files(tmp_path / "src"), compression=zipfile.ZIP_STORED))
    offset = good.index(b"north")  # inside the stored .dbf: the CRC no longer matches
    good[offset] = ord("N")
    refused(bytes(good), "application/zip", tmp_path, "not a valid zip")


def test_broken_shapefile_in_a_valid_zip_refused(tmp_path: Path) -> None:
    files = shapefile_files(tmp_path / "src")
    refused(zipped({"zones.shp": b"\0" * 200}), "application/zip", tmp_path / "w", "could not be read")
    refused(zipped({"zones.shp": files["zones.shp"]}), "application/zip", tmp_path / "w", "could not be read")
