"""The hydrology processes (fill_sinks, flow_direction, flow_accumulation, watershed,
stream_network): their public descriptions as the catalogue says, their lazy graphs, and their
results against libraries other than the service's (scikit-image, pysheds, plain numpy, pyproj)
on DEMs where the conventions agree (see tests/support/hydrology_scenes.py)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr
from affine import Affine
from dask.base import compute, is_dask_collection
from pyproj import Transformer
from rasterio.crs import CRS as RioCRS
from shapely.geometry import shape

from app.algorithms.base import Process, ProcessInputs, describe
from app.algorithms.fill_sinks import FillSinks, FillSinksInputs
from app.algorithms.flow_accumulation import FlowAccumulation, FlowAccumulationInputs
from app.algorithms.flow_direction import FlowDirection, FlowDirectionInputs
from app.algorithms.formats import GEOJSON_FORMATS, GEOTIFF_FORMATS
from app.algorithms.hydrology.outline import area_km2, block_outline, merge
from app.algorithms.registry import default_registry
from app.algorithms.stream_network import StreamNetwork, StreamNetworkInputs
from app.algorithms.watershed import Watershed, WatershedInputs, snap_radius
from app.model.descriptions import DataKind
from app.model.errors import InvalidParameterValue
from app.raster.grid import Grid
from app.raster.vectors import Vector, read_geojson
from tests.support.dask_guard import raise_if_dask_computes
from tests.support.hydrology_scenes import (
    HEIGHT,
    NODATA,
    WIDTH,
    as_nan,
    assert_outline,
    cone,
    pysheds_flow,
    reconstruction_fill,
    sinky,
    snapped,
    steepest_margin,
    upstream,
)
from tests.support.rasters import UTM_10M

# rasterio's warning suppression is not thread-safe (see tests/algorithms/test_zonal.py)
pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")

UTM = "EPSG:32631"
HEIGHT_SINKY, WIDTH_SINKY = 40, 56
HYDROLOGY = ("fill_sinks", "flow_direction", "flow_accumulation", "watershed", "stream_network")


def dem(
    values: np.ndarray,
    transform: Affine = UTM_10M,
    crs: str = UTM,
    chunks: int | None = 16,
) -> xr.DataArray:
    """A (band, y, x) raster as the service opens one (nodata ``NODATA``), dask-backed by ``chunks``."""
    rows, cols = values.shape
    data = xr.DataArray(
        values[np.newaxis],
        dims=("band", "y", "x"),
        coords={
            "band": [1],
            "y": transform.f + transform.e * (np.arange(rows) + 0.5),
            "x": transform.c + transform.a * (np.arange(cols) + 0.5),
        },
    )
    data = data.rio.write_crs(crs).rio.write_transform(transform).rio.write_nodata(NODATA)
    chunked: xr.DataArray = data.chunk({"band": 1, "y": chunks, "x": chunks}) if chunks else data
    return chunked


def outlet(x: float, y: float, crs: str | None = None) -> Vector:
    """A GeoJSON Feature holding one point, read as the service reads it (lon/lat unless ``crs``)."""
    document: dict[str, Any] = {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Point", "coordinates": [x, y]},
    }
    if crs:
        document["crs"] = {"type": "name", "properties": {"name": crs}}
    return read_geojson(json.dumps(document).encode(), "outlet")


def centre(row: int, col: int, transform: Affine = UTM_10M, crs: str = UTM) -> tuple[float, float]:
    """The lon/lat of a cell's centre."""
    x, y = transform * (col + 0.5, row + 0.5)
    lon, lat = Transformer.from_crs(crs, "OGC:CRS84", always_xy=True).transform(x, y)
    return float(lon), float(lat)


def raster(process: Process, inputs: ProcessInputs, name: str) -> xr.DataArray:
    """One raster output of a process (lazy)."""
    produced = process.run(inputs)[name]
    assert isinstance(produced, xr.DataArray)
    return produced


def run_watershed(inputs: WatershedInputs) -> tuple[np.ndarray, dict[str, Any], float]:
    produced = Watershed().run(inputs)
    raster_mask = produced["watershed"]
    assert isinstance(raster_mask, xr.DataArray)
    mask, document, area = compute(raster_mask.data, produced["outline"], produced["area_km2"])
    return mask, json.loads(document), float(area)


# ----------------------------------------------------------------------------- descriptions


def test_registered_in_catalogue_order() -> None:
    identifiers = [process.identifier for process in default_registry()]
    start = identifiers.index("band_math") + 1
    assert tuple(identifiers[start : start + 5]) == HYDROLOGY
    assert identifiers[start + 5] == "land_surface_temperature"


@pytest.mark.parametrize(
    ("process", "output"),
    [
        (FillSinks, "filled"),
        (FlowDirection, "direction"),
        (FlowAccumulation, "accumulation"),
        (StreamNetwork, "streams"),
    ],
)
def test_raster_processes_describe_a_dem_in_and_a_geotiff_out(process: Any, output: str) -> None:
    description = describe(process)
    assert "dem" in [i.identifier for i in description.inputs]
    dem_input = description.input("dem")
    assert dem_input is not None and dem_input.kind is DataKind.COMPLEX and dem_input.min_occurs == 1
    assert dem_input.formats == GEOTIFF_FORMATS
    (produced,) = description.outputs
    assert produced.identifier == output and produced.formats == GEOTIFF_FORMATS
    assert description.store_supported and description.status_supported


def abstract(process: type[Process]) -> str:
    return " ".join(describe(process).abstract.split())


def test_abstracts_state_the_conventions() -> None:
    assert "edge or into nodata" in abstract(FillSinks)
    direction = abstract(FlowDirection)
    for phrase in ("1 = E, 2 = SE, 4 = S, 8 = SW, 16 = W, 32 = NW, 64 = N, 128 = NE", "gets 0", "255"):
        assert phrase in direction
    assert "itself included" in abstract(FlowAccumulation)
    watershed = abstract(Watershed)
    for phrase in (
        "lon/lat",
        "legacy crs member",
        "FeatureCollection",
        "ellipsoidal",
        "0 outside, 255 nodata",
    ):
        assert phrase in watershed


def test_watershed_description() -> None:
    description = describe(Watershed)
    assert [i.identifier for i in description.inputs] == ["dem", "outlet", "snap_distance"]
    outlet_input = description.input("outlet")
    assert (
        outlet_input is not None and outlet_input.formats == GEOJSON_FORMATS and outlet_input.min_occurs == 1
    )
    snap = description.input("snap_distance")
    assert snap is not None and snap.min_occurs == 0 and snap.literal is not None
    assert (
        snap.literal.data_type == "double" and snap.literal.default == "0.0" and snap.literal.uoms == ("m",)
    )
    assert snap.literal.ranges[0].minimum == 0 and snap.literal.ranges[0].maximum is None
    mask, outline, area = description.outputs
    assert (mask.identifier, mask.formats) == ("watershed", GEOTIFF_FORMATS)
    assert (outline.identifier, outline.formats[0].mime_type) == ("outline", "application/geo+json")
    assert area.identifier == "area_km2" and area.kind is DataKind.LITERAL
    assert area.literal is not None and area.literal.data_type == "double"


def test_stream_network_threshold() -> None:
    threshold = describe(StreamNetwork).input("threshold")
    assert threshold is not None and threshold.literal is not None and threshold.min_occurs == 0
    assert threshold.literal.data_type == "integer" and threshold.literal.default == "1000"
    assert threshold.literal.ranges[0].minimum == 1
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        StreamNetworkInputs(dem=dem(cone()), threshold=0)


def test_renderings() -> None:
    assert StreamNetwork.rendering("streams", {}).model_dump() == {
        "rescale": (0, 1),
        "colormap_name": "blues",
    }
    assert Watershed.rendering("watershed", {}).model_dump() == {"rescale": (0, 1), "colormap_name": "blues"}
    assert FlowAccumulation.rendering("accumulation", {}).rescale is None  # the range from the data
    assert FlowDirection.rendering("direction", {}).rescale == (0, 128)
    assert FillSinks.rendering("filled", {}).colormap_name == "terrain"


# ----------------------------------------------------------------------------- laziness


def test_run_builds_lazy_graphs() -> None:
    values = cone()
    lon, lat = centre(HEIGHT // 2, WIDTH // 2)
    with raise_if_dask_computes():
        produced = [
            FillSinks().run(FillSinksInputs(dem=dem(values)))["filled"],
            FlowDirection().run(FlowDirectionInputs(dem=dem(values)))["direction"],
            FlowAccumulation().run(FlowAccumulationInputs(dem=dem(values)))["accumulation"],
            StreamNetwork().run(StreamNetworkInputs(dem=dem(values)))["streams"],
            *Watershed()
            .run(WatershedInputs(dem=dem(values), outlet=outlet(lon, lat), snap_distance=25))
            .values(),
        ]
    assert all(is_dask_collection(getattr(p, "data", p)) for p in produced)


# ----------------------------------------------------------------------------- results


@pytest.mark.parametrize("chunks", [None, 16], ids=["numpy", "16"])
def test_fill_sinks_equals_morphological_reconstruction(chunks: int | None) -> None:
    values = sinky()
    assert values.shape == (HEIGHT_SINKY, WIDTH_SINKY)
    expected = reconstruction_fill(values)
    assert np.count_nonzero(expected > as_nan(values)) > 100  # depressions were filled
    filled = raster(FillSinks(), FillSinksInputs(dem=dem(values, chunks=chunks)), "filled")
    assert filled.dtype == np.float32 and math.isnan(filled.rio.nodata)
    assert Grid.of(filled) == Grid(RioCRS.from_epsg(32631), UTM_10M, HEIGHT_SINKY, WIDTH_SINKY, math.nan)
    np.testing.assert_array_equal(filled.values, expected)


def test_direction_accumulation_streams_equal_pysheds() -> None:
    values = cone()
    assert steepest_margin(values) > 1e-5  # one steepest neighbour everywhere: pysheds agrees
    assert np.nanmax(np.abs(reconstruction_fill(values) - as_nan(values))) == 0  # nothing to fill
    expected_directions, expected_accumulation = pysheds_flow(values)
    direction = raster(FlowDirection(), FlowDirectionInputs(dem=dem(values)), "direction")
    accumulation = raster(FlowAccumulation(), FlowAccumulationInputs(dem=dem(values)), "accumulation")
    streams = raster(StreamNetwork(), StreamNetworkInputs(dem=dem(values), threshold=40), "streams")
    assert (direction.dtype, direction.rio.nodata) == (np.dtype(np.uint8), 255)
    assert accumulation.dtype == np.float32 and math.isnan(accumulation.rio.nodata)
    assert (streams.dtype, streams.rio.nodata) == (np.dtype(np.uint8), 255)
    got_direction, got_accumulation, got_streams = compute(direction.data, accumulation.data, streams.data)
    np.testing.assert_array_equal(got_direction, expected_directions)
    np.testing.assert_array_equal(got_accumulation, expected_accumulation)
    expected_streams = np.where(expected_accumulation >= 40, 1, 0).astype(np.uint8)
    expected_streams[values == NODATA] = 255
    assert 30 < np.count_nonzero(expected_streams == 1) < 600
    np.testing.assert_array_equal(got_streams, expected_streams)


def test_stream_network_default_threshold() -> None:
    values = cone()
    _, expected_accumulation = pysheds_flow(values)
    streams = raster(StreamNetwork(), StreamNetworkInputs(dem=dem(values)), "streams").values
    assert np.count_nonzero(streams == 1) == np.count_nonzero(expected_accumulation >= 1000) > 0


@pytest.mark.parametrize("chunks", [None, 16], ids=["numpy", "16"])
def test_watershed_mask_outline_area(chunks: int | None) -> None:
    values = cone()
    directions, accumulation = pysheds_flow(values)
    row = HEIGHT // 2
    col = int(np.nanargmax(accumulation[row]))  # a stream cell half way down
    expected = upstream(directions, row, col)
    assert 50 < np.count_nonzero(expected == 1) < 1000
    mask, document, area = run_watershed(
        WatershedInputs(dem=dem(values, chunks=chunks), outlet=outlet(*centre(row, col)))
    )
    np.testing.assert_array_equal(mask, expected)
    inside = np.count_nonzero(expected == 1)
    assert area == pytest.approx(inside * 100.0 / 1e6, rel=1e-12)
    assert_outline(document, expected, UTM_10M, UTM, area)
    properties = document["features"][0]["properties"]
    assert (properties["row"], properties["col"], properties["cells"]) == (row, col, inside)
    assert properties["outlet"] == pytest.approx(list(centre(row, col)), abs=1e-9)


def test_watershed_around_a_nodata_lake_has_a_hole() -> None:
    rows, cols = np.indices((9, 10))
    values = (50.0 + 2.0 * rows + 0.1 * np.abs(cols - 4)).astype(np.float32)  # drains to the top edge
    values[3:5, 3:5] = NODATA  # a lake inside the watershed: a hole in the outline
    directions, _ = pysheds_flow(values)
    expected = upstream(directions, 0, 4)
    mask, document, area = run_watershed(
        WatershedInputs(dem=dem(values, chunks=4), outlet=outlet(*centre(0, 4)))
    )
    np.testing.assert_array_equal(mask, expected)
    assert np.count_nonzero(mask == 255) == 4 and np.count_nonzero(mask == 0) == 0
    assert_outline(document, expected, UTM_10M, UTM, area)
    assert len(shape(document["features"][0]["geometry"]).interiors) == 1


def test_block_outlines_merge_exactly_across_seams() -> None:
    mask = np.zeros((6, 7), dtype=np.uint8)
    mask[1:5, 1:6] = 1
    mask[2, 3] = 255
    mask[5, 6] = 1  # touches the rest at one corner only
    pieces = [block_outline(mask[r : r + 3, c : c + 4], r, c) for r in (0, 3) for c in (0, 4)]
    merged = merge(pieces)
    assert merged.equals(merge([block_outline(mask, 0, 0)]))
    assert merged.geom_type == "MultiPolygon" and len(merged.geoms) == 2
    assert merged.area == np.count_nonzero(mask == 1)
    big = max(merged.geoms, key=lambda p: p.area)
    assert len(big.interiors) == 1 and len(big.simplify(0).exterior.coords) == 5  # seams dissolved


def test_outlet_in_another_crs_by_the_legacy_member() -> None:
    values = cone()
    directions, accumulation = pysheds_flow(values)
    row, col = 30, int(np.nanargmax(accumulation[30]))
    x, y = UTM_10M * (col + 0.2, row + 0.7)  # anywhere in the cell
    mask, _, _ = run_watershed(WatershedInputs(dem=dem(values), outlet=outlet(x, y, crs="EPSG:32631")))
    np.testing.assert_array_equal(mask, upstream(directions, row, col))
    web = Transformer.from_crs(UTM, "EPSG:3857", always_xy=True).transform(x, y)
    mask, _, _ = run_watershed(WatershedInputs(dem=dem(values), outlet=outlet(*web, crs="EPSG:3857")))
    np.testing.assert_array_equal(mask, upstream(directions, row, col))


def test_snapping_moves_the_outlet_to_the_highest_accumulation() -> None:
    values = cone()
    directions, accumulation = pysheds_flow(values)
    row = 20
    col = int(np.nanargmax(accumulation[row])) + 3  # three cells off the stream
    target = snapped(accumulation, row, col, 3, 3)  # ceil(25 m / 10 m) = 3 cells each way
    assert target != (row, col) and accumulation[target] > accumulation[row, col] + 20
    mask, document, area = run_watershed(
        WatershedInputs(dem=dem(values), outlet=outlet(*centre(row, col)), snap_distance=25.0)
    )
    np.testing.assert_array_equal(mask, upstream(directions, *target))
    properties = document["features"][0]["properties"]
    assert (properties["row"], properties["col"]) == target
    assert area == pytest.approx(accumulation[target] * 100.0 / 1e6)  # every upstream cell, no nodata
    unsnapped, _, _ = run_watershed(WatershedInputs(dem=dem(values), outlet=outlet(*centre(row, col))))
    np.testing.assert_array_equal(unsnapped, upstream(directions, row, col))


def test_snap_radius_in_metres() -> None:
    grid = Grid.of(dem(cone()))
    assert snap_radius(0.0, grid, 50.0) == (0, 0)
    assert snap_radius(10.0, grid, 50.0) == (1, 1)
    assert snap_radius(10.5, grid, 50.0) == (2, 2)
    assert snap_radius(1e9, grid, 50.0) == (HEIGHT, WIDTH)  # clipped to the grid
    feet = Grid(RioCRS.from_epsg(2263), Affine(10.0, 0, 900000, 0, -20.0, 200000), 10, 10)
    assert snap_radius(30.48, feet, 40.0) == (5, 10)  # 20 and 10 US survey feet
    degrees = Grid(RioCRS.from_epsg(4326), Affine(0.001, 0, 5, 0, -0.001, 60), 10, 10)
    # at 60 degrees north a 0.001 degree pixel is ~111.4 m high and ~55.8 m wide
    assert snap_radius(200.0, degrees, 60.0) == (2, 4)


def test_area_in_a_foot_crs() -> None:
    feet = Grid(RioCRS.from_epsg(2263), Affine(10.0, 0, 900000, 0, -20.0, 200000), 3, 3)
    counts = np.array([1, 0, 2], dtype=np.int64)
    us_foot = 1200 / 3937
    assert area_km2(counts, feet) == pytest.approx(3 * 200 * us_foot**2 / 1e6, rel=1e-12)


def ellipsoidal_quadrangle_km2(west: float, east: float, south: float, north: float) -> float:
    """The exact area of a WGS 84 cell bounded by two meridians and two parallels (authalic formula)."""
    a, f = 6378137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    e = math.sqrt(e2)
    b2 = a * a * (1 - e2)

    def q(phi: float) -> float:
        s = math.sin(math.radians(phi))
        return s / (1 - e2 * s * s) + math.log((1 + e * s) / (1 - e * s)) / (2 * e)

    return b2 / 2 * math.radians(east - west) * (q(north) - q(south)) / 1e6


def test_watershed_on_a_geographic_dem() -> None:
    """Pixels in degrees: the area sums, row by row, the exact ellipsoidal area of the cells."""
    values = cone(hole=False)
    transform = Affine(1 / 3600, 0.0, 10.0, 0.0, -1 / 3600, 61.0)  # 1 arc-second, far north
    grid_dem = dem(values, transform, "EPSG:4326")
    accumulation = raster(FlowAccumulation(), FlowAccumulationInputs(dem=grid_dem), "accumulation").values
    row = HEIGHT // 3
    col = int(np.nanargmax(accumulation[row]))
    lon, lat = centre(row, col, transform, "EPSG:4326")
    mask, document, area = run_watershed(WatershedInputs(dem=grid_dem, outlet=outlet(lon, lat)))
    inside = mask == 1
    assert np.count_nonzero(inside) == accumulation[row, col] > 100
    assert len({np.count_nonzero(r) for r in inside}) > 5  # rows of many sizes
    exact = sum(
        np.count_nonzero(inside[r])
        * ellipsoidal_quadrangle_km2(10.0, 10.0 + 1 / 3600, 61.0 - (r + 1) / 3600, 61.0 - r / 3600)
        for r in range(HEIGHT)
    )
    assert area == pytest.approx(exact, rel=1e-6)
    assert_outline(document, mask, transform, "EPSG:4326", area, rtol=1e-6)


def test_outlet_outside_the_grid_is_refused_before_anything_runs() -> None:
    lon, lat = centre(-3, WIDTH // 2)  # three rows above the raster
    with raise_if_dask_computes(), pytest.raises(InvalidParameterValue, match="outside") as raised:
        Watershed().run(WatershedInputs(dem=dem(cone()), outlet=outlet(lon, lat)))
    assert raised.value.locator == "outlet"


@pytest.mark.parametrize(
    "document",
    [
        {"type": "LineString", "coordinates": [[3.0, 50.0], [3.1, 50.1]]},
        {"type": "MultiPoint", "coordinates": [[3.0, 50.0], [3.1, 50.1]]},
        {"type": "FeatureCollection", "features": []},
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {},
                    "geometry": {"type": "Point", "coordinates": [3.0, 50.0]},
                },
                {
                    "type": "Feature",
                    "properties": {},
                    "geometry": {"type": "Point", "coordinates": [3.1, 50.1]},
                },
            ],
        },
    ],
    ids=["line", "multipoint", "empty", "two-points"],
)
def test_outlet_must_be_one_point(document: dict[str, Any]) -> None:
    vector = read_geojson(json.dumps(document).encode(), "outlet")
    with pytest.raises(InvalidParameterValue, match="exactly one Point") as raised:
        Watershed().run(WatershedInputs(dem=dem(cone()), outlet=vector))
    assert raised.value.locator == "outlet"


def test_outlet_on_nodata_is_refused_when_computed() -> None:
    values = cone()
    row, col = np.argwhere(values == NODATA)[0]
    produced = Watershed().run(WatershedInputs(dem=dem(values), outlet=outlet(*centre(int(row), int(col)))))
    for name in ("watershed", "outline", "area_km2"):
        output = produced[name]
        with pytest.raises(InvalidParameterValue, match="nodata") as raised:
            compute(getattr(output, "data", output))
        assert raised.value.locator == "outlet", name
