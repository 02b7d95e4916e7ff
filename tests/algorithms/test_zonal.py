"""Zonal statistics against a straightforward numpy + rasterio.features computation per zone."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pytest
import rioxarray
import shapely
import xarray as xr
from affine import Affine
from dask.callbacks import Callback
from pyproj import CRS, Transformer
from rasterio.features import geometry_mask
from shapely.geometry.base import BaseGeometry

from app.algorithms.zonal import STATISTICS, Sketch, ZonalInputs, ZonalStatistics, zonal_partials
from app.raster.open import open_raster
from app.raster.vectors import CRS84, Vector
from tests.support.dask_guard import raise_if_dask_computes
from tests.support.rasters import Raster, RasterFactory, RasterSpec, write_raster

# rasterio's MemoryDataset (used by geometry_mask) silences NotGeoreferencedWarning with
# warnings.catch_warnings, which is not thread-safe: under dask's threads the warning can leak.
pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")

X0, Y0, XRES, YRES = 500000.0, 5600000.0, 10.0, 7.5  # non-square pixels
WIDTH, HEIGHT = 301, 211
TRANSFORM = Affine(XRES, 0.0, X0, 0.0, -YRES, Y0)
UTM = CRS.from_epsg(32631)

ZONES: dict[str, BaseGeometry] = {
    "ring": shapely.Polygon(
        [(500123.4, 5599876.5), (502456.7, 5599512.3), (502987.1, 5598654.2), (501234.5, 5598567.8)],
        holes=[[(501500.2, 5599300.1), (501900.9, 5599250.6), (501700.3, 5599000.4)]],
    ),
    "overlap": shapely.Polygon([(502000.5, 5599200.3), (503050.5, 5598700.7), (501800.2, 5598500.9)]),
    "large": shapely.box(500003.3, 5598420.1, 502990.7, 5599990.2),  # larger than every test chunk
    "outside": shapely.box(400000.0, 5000000.0, 401000.0, 5001000.0),
    "edge": shapely.box(499500.1, 5599000.2, 500333.3, 5599500.4),  # straddles the left border
    "tiny": shapely.box(501000.2, 5599000.1, 501027.9, 5599020.3),  # a few pixels
    "between": shapely.box(501001.0, 5599001.0, 501002.0, 5599002.0),  # no pixel centre inside
    "multi": shapely.MultiPolygon(
        [
            shapely.box(500200.5, 5598500.5, 500400.5, 5598700.5),
            shapely.box(502600.5, 5599700.5, 502800.5, 5599900.5),
        ]
    ),
    "null": shapely.GeometryCollection(),
}
CHUNKINGS = [None, (17, 23), (64, 64), (100, 301), (211, 301)]


def reference(data: np.ndarray, nodata: float | None, geometry: BaseGeometry) -> dict[str, Any]:
    """Statistics the plain way: one mask over the whole array, numpy reductions."""
    if geometry.is_empty:
        return {"count": 0}
    inside = geometry_mask([geometry], out_shape=data.shape, transform=TRANSFORM, invert=True)
    valid = inside & (data != nodata if nodata is not None else True)
    if data.dtype.kind == "f":
        valid &= ~np.isnan(data)
    values = data[valid]
    if values.size == 0:
        return {"count": 0}
    return {
        "count": values.size,
        "min": values.min().item(),
        "max": values.max().item(),
        "mean": values.mean(dtype=np.float64),
        "std": values.std(dtype=np.float64),
        "sum": values.sum().item(),
        "median": float(np.median(values)),
    }


def compare(actual: dict[str, Any], expected: dict[str, Any], integer: bool, wanted=STATISTICS) -> None:
    if expected["count"] == 0:
        assert actual == {name: (0 if name == "count" else None) for name in wanted}
        return
    for name in wanted:
        if integer and name in {"count", "min", "max", "sum", "median"}:
            assert actual[name] == expected[name], name
        else:
            assert actual[name] == pytest.approx(expected[name], rel=1e-6, abs=1e-9), name


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> RasterFactory:
    return RasterFactory(tmp_path_factory.mktemp("zonal"))


def opened(raster: Raster, chunks: tuple[int, int] | None) -> xr.DataArray:
    if chunks is None:
        return rioxarray.open_rasterio(raster.path).load()
    data = open_raster(str(raster.path), chunk_size=256, locator="raster")
    return data.chunk({"band": 1, "y": chunks[0], "x": chunks[1]})


def run_zonal(data: xr.DataArray, zones: Vector, statistics: list[str] | None = None) -> list[dict[str, Any]]:
    inputs = ZonalInputs(raster=data, zones=zones, statistics=statistics)
    with raise_if_dask_computes():
        lazy = ZonalStatistics().run(inputs)["statistics"]
    assert dask.is_dask_collection(lazy)
    (document,) = dask.compute(lazy)
    parsed = json.loads(document)
    assert parsed["type"] == "FeatureCollection"
    return parsed["features"]


def utm_zones() -> Vector:
    names = list(ZONES)
    return Vector(
        tuple(ZONES.values()), tuple({"name": n, "mean": "replaced"} for n in names), UTM, tuple(names)
    )


RASTERS = {
    "uint16": {"dtype": "uint16", "nodata": 0, "nodata_fraction": 0.1},
    "int16": {"dtype": "int16", "nodata": -9999, "nodata_fraction": 0.05, "seed": 4},
    "uint8": {"dtype": "uint8", "seed": 5},
    "float32": {"dtype": "float32", "nodata": math.nan, "nodata_fraction": 0.1, "seed": 6},
}


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("kind", list(RASTERS))
def test_matches_numpy(factory: RasterFactory, kind: str, chunks: tuple[int, int] | None) -> None:
    fields = RASTERS[kind]
    raster = factory(f"{kind}.tif", width=WIDTH, height=HEIGHT, transform=TRANSFORM, blocksize=64, **fields)
    features = run_zonal(opened(raster, chunks), utm_zones())
    assert [f["id"] for f in features] == list(ZONES)
    nodata = raster.spec.nodata
    for feature, geometry in zip(features, ZONES.values(), strict=True):
        expected = reference(
            raster.data[0], None if nodata is None or math.isnan(nodata) else nodata, geometry
        )
        actual = {k: v for k, v in feature["properties"].items() if k != "name"}
        compare(actual, expected, integer=kind != "float32")
        assert feature["properties"]["name"] == feature["id"]
    counts = {f["id"]: f["properties"]["count"] for f in features}
    assert counts["outside"] == counts["between"] == counts["null"] == 0
    assert counts["large"] > 30_000 and 0 < counts["tiny"] < 20 and counts["edge"] > 0


def test_band_one_of_several(factory: RasterFactory) -> None:
    raster = factory(
        "bands.tif", width=WIDTH, height=HEIGHT, transform=TRANSFORM, count=3, dtype="int32", pattern="xy"
    )
    features = run_zonal(opened(raster, (64, 64)), utm_zones(), ["sum", "median"])
    for feature, geometry in zip(features, ZONES.values(), strict=True):
        expected = reference(raster.data[0], None, geometry)
        compare({k: feature["properties"][k] for k in ("sum", "median")}, expected, True, ("sum", "median"))


def test_std_is_stable_for_large_offsets(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    values = (1e9 + rng.normal(0.0, 0.5, (1, HEIGHT, WIDTH))).astype(np.float64)
    spec = RasterSpec(width=WIDTH, height=HEIGHT, dtype="float64", transform=TRANSFORM, blocksize=64)
    raster = write_raster(tmp_path / "offset.tif", spec, values)
    features = run_zonal(opened(raster, (17, 23)), utm_zones(), ["std", "mean"])
    for feature, geometry in zip(features, ZONES.values(), strict=True):
        expected = reference(raster.data[0], None, geometry)
        if expected["count"] > 1:
            assert feature["properties"]["std"] == pytest.approx(expected["std"], rel=1e-6)
            assert feature["properties"]["mean"] == pytest.approx(expected["mean"], rel=1e-15)


def test_statistics_subset_order_and_duplicates(factory: RasterFactory) -> None:
    raster = factory(
        "subset.tif", width=WIDTH, height=HEIGHT, transform=TRANSFORM, nodata=0, nodata_fraction=0.1
    )
    features = run_zonal(opened(raster, (64, 64)), utm_zones(), ["median", "count", "median"])
    assert list(features[0]["properties"]) == ["name", "mean", "median", "count"]
    assert features[0]["properties"]["mean"] == "replaced"  # not asked for: the zone's own property stays


def test_zones_without_crs_take_the_rasters(factory: RasterFactory) -> None:
    raster = factory(
        "nocrs.tif", width=WIDTH, height=HEIGHT, transform=TRANSFORM, nodata=0, nodata_fraction=0.1
    )
    zones = Vector(tuple(ZONES.values()), tuple({} for _ in ZONES), None)
    features = run_zonal(opened(raster, (64, 64)), zones, ["count"])
    assert [f["properties"]["count"] for f in features] == [
        reference(raster.data[0], 0, g)["count"] for g in ZONES.values()
    ]
    to_lonlat = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True)
    corner = to_lonlat.transform(500003.3, 5598420.1)
    large = shapely.geometry.shape(features[2]["geometry"])
    assert min(shapely.get_coordinates(large)[:, 0]) == pytest.approx(corner[0], abs=1e-9)
    assert features[8]["geometry"] is None


def test_zones_in_lonlat_come_back_as_given(factory: RasterFactory) -> None:
    raster = factory(
        "lonlat.tif", width=WIDTH, height=HEIGHT, transform=TRANSFORM, nodata=0, nodata_fraction=0.1
    )
    to_lonlat = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True)
    ring = [to_lonlat.transform(x, y) for x, y in ZONES["ring"].exterior.coords]
    zone = shapely.Polygon(ring)
    features = run_zonal(opened(raster, (50, 70)), Vector((zone,), ({"k": 1},), CRS84), ["count", "median"])
    assert features[0]["geometry"] == json.loads(json.dumps(shapely.geometry.mapping(zone)))
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32631", always_xy=True)
    in_utm = shapely.Polygon([to_utm.transform(lon, lat) for lon, lat in ring])
    expected = reference(raster.data[0], 0, in_utm)
    assert features[0]["properties"] == {"k": 1, "count": expected["count"], "median": expected["median"]}


class TaskNames(Callback):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        self.names.append(key[0] if isinstance(key, tuple) else str(key))


def test_reads_only_the_chunks_zones_meet(factory: RasterFactory) -> None:
    raster = factory("corner.tif", width=WIDTH, height=HEIGHT, transform=TRANSFORM, blocksize=64)
    data = open_raster(str(raster.path), chunk_size=256, locator="raster").chunk({"y": 64, "x": 64})
    zone = shapely.box(500005.0, 5599530.0, 500600.0, 5599995.0)  # rows 0..62, cols 0..59: one chunk
    names = TaskNames()
    with names:
        (partials,) = dask.compute(zonal_partials(data.isel(band=0), [zone], with_median=True))
    assert sum(name.startswith("open_raster") for name in names.names) == 1
    assert partials[0].count == reference(raster.data[0], None, zone)["count"]


def test_sketch_is_exact_then_approximate() -> None:
    rng = np.random.default_rng(11)
    values = rng.normal(0.0, 1.0, 200_001).astype(np.float32)
    pieces = np.array_split(values, 9)
    exact = Sketch.of(pieces[0], 1 << 20)
    for piece in pieces[1:]:
        exact = exact.merge(Sketch.of(piece, 1 << 20), 1 << 20)
    assert exact.exact and exact.median() == float(np.median(values))
    approx = Sketch.of(pieces[0], 1024)
    for piece in pieces[1:]:
        approx = approx.merge(Sketch.of(piece, 1024), 1024)
    assert not approx.exact and len(approx.values) <= 1024
    assert int(approx.counts.sum()) == values.size
    low, high = np.quantile(values, [0.495, 0.505])
    assert low <= approx.median() <= high


def test_small_integer_sketch_is_a_histogram() -> None:
    values = np.array([-5, 7, 7, -5, 3, 32767, -32768], dtype=np.int16)
    sketch = Sketch.of(values, 2)  # the limit does not apply to 16-bit data
    assert sketch.values.tolist() == [-32768, -5, 3, 7, 32767]
    assert sketch.counts.tolist() == [1, 2, 1, 2, 1]
    assert sketch.median() == 3.0


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["count,mean,max"], ["count", "mean", "max"]),
        (["count, mean", "max"], ["count", "mean", "max"]),
        (["median"], ["median"]),
        (["count,", ",sum"], ["count", "sum"]),
    ],
)
def test_statistics_as_one_comma_list(given: list[str], expected: list[str]) -> None:
    zones = Vector((shapely.box(0, 0, 1, 1),), ({},), CRS84)
    raster = xr.DataArray(np.zeros((1, 2, 2)), dims=("band", "y", "x"))
    inputs = ZonalInputs(raster=raster, zones=zones, statistics=given)
    assert inputs.statistics == expected


@pytest.mark.parametrize("given", [["count,nope"], ["count,mean,max,min,std,sum,median,count"], [","]])
def test_statistics_comma_lists_are_still_checked(given: list[str]) -> None:
    zones = Vector((shapely.box(0, 0, 1, 1),), ({},), CRS84)
    raster = xr.DataArray(np.zeros((1, 2, 2)), dims=("band", "y", "x"))
    with pytest.raises(ValueError, match="statistics"):
        ZonalInputs(raster=raster, zones=zones, statistics=given)
