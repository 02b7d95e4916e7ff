"""The terrain kernel against an independent per-pixel Horn (ESRI's formulas), analytic planes,
gdaldem itself (when installed), chunk invariance, laziness and geographic CRSs."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
from affine import Affine
from pyproj import Geod

from app.algorithms.base import describe
from app.algorithms.terrain import Terrain, TerrainInputs, terrain
from app.raster.open import open_raster
from tests.support.dask_guard import raise_if_dask_computes
from tests.support.rasters import RasterFactory, RasterSpec, write_raster
from tests.support.references import esri_reference, hilly

PRODUCTS = ("slope", "aspect", "hillshade")
SQUARE = Affine(10.0, 0.0, 500000.0, 0.0, -10.0, 5600000.0)
NON_SQUARE = Affine(10.0, 0.0, 500000.0, 0.0, -30.0, 5600000.0)


def dem_array(
    z: np.ndarray, transform: Affine = SQUARE, crs: str = "EPSG:32631", nodata: float | None = None
) -> xr.DataArray:
    """A numpy-backed (y, x) DataArray with a grid, as the service's rasters carry."""
    rows, cols = z.shape
    coords = {
        "y": transform.f + transform.e * (np.arange(rows) + 0.5),
        "x": transform.c + transform.a * (np.arange(cols) + 0.5),
    }
    data = xr.DataArray(z, dims=("y", "x"), coords=coords).rio.write_crs(crs).rio.write_transform(transform)
    return data if nodata is None else data.rio.write_nodata(nodata, encoded=False)


def assert_close(actual: np.ndarray, expected: np.ndarray, atol: float) -> None:
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    valid = ~np.isnan(expected)
    assert np.max(np.abs(actual[valid] - expected[valid]), initial=0.0) <= atol


def angle_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs((a - b + 180.0) % 360.0 - 180.0)


@pytest.mark.parametrize("transform", [SQUARE, NON_SQUARE], ids=["square", "non-square"])
@pytest.mark.parametrize(
    ("product", "options"),
    [
        ("slope", {}),
        ("slope", {"z_factor": 3.0}),
        ("aspect", {}),
        ("hillshade", {}),
        ("hillshade", {"z_factor": 2.5, "azimuth": 100.0, "altitude": 30.0}),
        ("hillshade", {"azimuth": 0.0, "altitude": 90.0}),
    ],
)
def test_matches_per_pixel_esri_formulas(transform: Affine, product: str, options: dict[str, float]) -> None:
    z = hilly(41, 53)
    z[20, 30] = -9999.0
    result = terrain(dem_array(z, transform, nodata=-9999.0), product, **options)  # type: ignore[arg-type]
    assert result.dtype == np.float32
    rows = z.shape[0]
    source = np.where(z == -9999.0, np.nan, z)
    expected = esri_reference(
        source, np.full(rows, abs(transform.a)), np.full(rows, abs(transform.e)), product, **options
    )
    if product == "aspect":
        np.testing.assert_array_equal(np.isnan(result.values), np.isnan(expected))
        valid = ~np.isnan(expected)
        assert angle_difference(result.values[valid], expected[valid]).max() < 1e-3
    else:
        assert_close(result.values, expected, atol=1e-3)


def plane(a: float, b: float, transform: Affine, shape: tuple[int, int] = (9, 12)) -> np.ndarray:
    """z = a * easting + b * northing at the pixel centres (relative to the origin)."""
    rows, cols = shape
    east = transform.a * (np.arange(cols) + 0.5)
    north = transform.e * (np.arange(rows) + 0.5)
    return (a * east[None, :] + b * north[:, None]).astype(np.float64)


@pytest.mark.parametrize("transform", [SQUARE, NON_SQUARE], ids=["square", "non-square"])
@pytest.mark.parametrize(
    ("a", "b", "aspect"),
    [
        (0.5, 0.0, 270.0),
        (-0.5, 0.0, 90.0),
        (0.0, 0.5, 180.0),
        (0.0, -2.0, 0.0),
        (-1.0, -1.0, 45.0),
        (0.3, -0.4, 323.13010235415595),
    ],
)
def test_planes_have_known_slope_aspect_hillshade(
    transform: Affine, a: float, b: float, aspect: float
) -> None:
    dem = dem_array(plane(a, b, transform), transform)
    interior = (slice(1, -1), slice(1, -1))
    slope = terrain(dem, "slope").values
    assert np.isnan(slope[0]).all() and np.isnan(slope[:, -1]).all()
    np.testing.assert_allclose(slope[interior], math.degrees(math.atan(math.hypot(a, b))), atol=1e-4)
    np.testing.assert_allclose(
        terrain(dem, "slope", z_factor=2).values[interior],
        math.degrees(math.atan(2 * math.hypot(a, b))),
        atol=1e-4,
    )
    assert angle_difference(terrain(dem, "aspect").values[interior], np.float64(aspect)).max() < 1e-4
    # hillshade: the cosine between the unit normal (-a, -b, 1)/n and the light vector
    az, alt = math.radians(315.0), math.radians(45.0)
    light = np.array([math.sin(az) * math.cos(alt), math.cos(az) * math.cos(alt), math.sin(alt)])
    normal = np.array([-a, -b, 1.0]) / math.sqrt(1 + a * a + b * b)
    expected = 1 + 254 * max(float(normal @ light), 0.0)
    np.testing.assert_allclose(terrain(dem, "hillshade").values[interior], expected, atol=1e-3)


def test_flat_ground() -> None:
    dem = dem_array(np.full((6, 7), 123.0, dtype=np.float32))
    inner = (slice(1, -1), slice(1, -1))
    assert (terrain(dem, "slope").values[inner] == 0).all()
    assert np.isnan(terrain(dem, "aspect").values).all()  # flat: no aspect (gdaldem's default)
    np.testing.assert_allclose(terrain(dem, "hillshade", altitude=30).values[inner], 1 + 254 * 0.5, atol=1e-4)


def test_nodata_holes_and_edges() -> None:
    z = hilly(20, 25)
    z[10, 12] = -32768
    result = terrain(dem_array(z.astype(np.float32), nodata=-32768), "slope").values
    assert np.isnan(result[9:12, 11:14]).all()
    nan_rows, nan_cols = np.nonzero(np.isnan(result))
    on_edge = (nan_rows == 0) | (nan_rows == 19) | (nan_cols == 0) | (nan_cols == 24)
    assert set(zip(nan_rows[~on_edge], nan_cols[~on_edge], strict=True)) == {
        (r, c) for r in range(9, 12) for c in range(11, 14)
    }
    assert np.isnan(terrain(dem_array(np.ones((2, 2))), "slope").values).all()


def test_south_up_raster_gives_the_same_answer_flipped() -> None:
    z = hilly(15, 18)
    north_up = terrain(dem_array(z, SQUARE), "aspect").values
    south_up_transform = Affine(10.0, 0.0, 500000.0, 0.0, 10.0, 5600000.0 - 150.0)
    south_up = terrain(dem_array(z[::-1], south_up_transform), "aspect").values
    np.testing.assert_allclose(south_up[::-1], north_up, atol=1e-4)


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize(
    ("shape", "chunkings"),
    [
        ((9, 11), [1, {"y": 1, "x": 2}]),  # chunks no larger than the overlap depth
        ((23, 29), [2, 3, {"y": 5, "x": 7}, {"y": 23, "x": 2}, 16, -1]),
    ],
    ids=["tiny-chunks", "odd-chunks"],
)
def test_chunk_invariance(product: str, shape: tuple[int, int], chunkings: list[object]) -> None:
    z = hilly(*shape)
    z[5, 6] = z[-3, 3] = np.nan
    dem = dem_array(z, NON_SQUARE)
    reference = terrain(dem, product, z_factor=1.7).values  # type: ignore[arg-type]
    for chunks in chunkings:
        result = terrain(dem.chunk(chunks), product, z_factor=1.7)  # type: ignore[arg-type]
        assert result.chunks is not None
        np.testing.assert_array_equal(result.values, reference)


@pytest.mark.parametrize("product", PRODUCTS)
def test_strips_within_a_block_change_nothing(product: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel walks a block in strips of rows; strip borders must not show."""
    import app.algorithms.terrain as module

    z = hilly(23, 29)
    z[7, 8] = np.nan
    dem = dem_array(z, NON_SQUARE)
    reference = terrain(dem, product).values  # type: ignore[arg-type]
    for strip in (1, 2, 5):
        monkeypatch.setattr(module, "_STRIP", strip)
        np.testing.assert_array_equal(terrain(dem, product).values, reference)  # type: ignore[arg-type]
        np.testing.assert_array_equal(terrain(dem.chunk({"y": 11}), product).values, reference)  # type: ignore[arg-type]


@pytest.fixture
def dem_file(tmp_path: Path) -> Path:
    """A 97 x 131 float32 DEM with nodata pixels, 32-pixel tiles."""
    z = hilly(97, 131, seed=3)
    z[40:43, 60:62] = -9999.0
    spec = RasterSpec(width=131, height=97, dtype="float32", nodata=-9999.0, blocksize=32, transform=SQUARE)
    path = tmp_path / "dem.tif"
    write_raster(path, spec, z[None])
    return path


def test_lazy_process_keeps_the_grid(dem_file: Path) -> None:
    dem = open_raster(str(dem_file), chunk_size=32, locator="dem")
    with raise_if_dask_computes():
        result = Terrain().run(TerrainInputs(dem=dem, product="hillshade"))["result"]
    assert isinstance(result, xr.DataArray)
    assert result.dims == ("y", "x") and result.dtype == np.float32
    assert result.rio.transform() == SQUARE
    assert result.rio.crs == dem.rio.crs
    assert np.isnan(result.rio.nodata)
    assert result.chunks == ((32, 32, 32, 1), (32, 32, 32, 32, 3))


def test_multiband_dem_uses_band_one(tmp_path: Path) -> None:
    raster = RasterFactory(tmp_path)(count=2, width=20, height=15, dtype="float32", pattern="xy")
    dem = open_raster(str(raster.path), chunk_size=16, locator="dem")
    result = Terrain().run(TerrainInputs(dem=dem, product="slope"))["result"]
    assert isinstance(result, xr.DataArray)
    expected = terrain(dem_array(raster.data[0]), "slope").values
    np.testing.assert_array_equal(result.values, expected)


def test_description_is_derived() -> None:
    inputs = {p.identifier: p for p in describe(Terrain).inputs}
    assert inputs["product"].literal is not None
    assert inputs["product"].literal.allowed_values == PRODUCTS
    assert inputs["product"].literal.default == "slope"
    z_range = inputs["z_factor"].literal.ranges[0]  # type: ignore[union-attr]
    assert (z_range.minimum, z_range.maximum, z_range.closure) == (0.0, None, "open-closed")
    azimuth = inputs["azimuth"].literal.ranges[0]  # type: ignore[union-attr]
    assert (azimuth.minimum, azimuth.maximum, azimuth.closure) == (0.0, 360.0, "closed")
    assert inputs["altitude"].literal.default == "45.0"  # type: ignore[union-attr]
    assert inputs["dem"].min_occurs == inputs["dem"].max_occurs == 1


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_z_factor_must_be_positive_and_finite(value: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        TerrainInputs(dem=dem_array(np.ones((3, 3))), z_factor=value)  # type: ignore[arg-type]


# --- geographic CRS -----------------------------------------------------------------------------


def geodesic_row_sizes(transform: Affine, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Metres between neighbouring pixel centres along each row and along the meridian (WGS84)."""
    geod = Geod(ellps="WGS84")
    lat = transform.f + transform.e * (np.arange(rows) + 0.5)
    lon0 = transform.c
    _, _, east = geod.inv(np.full(rows, lon0), lat, np.full(rows, lon0 + transform.a), lat)
    half = abs(transform.e) / 2
    _, _, north = geod.inv(np.full(rows, lon0), lat - half, np.full(rows, lon0), lat + half)
    return np.asarray(east), np.asarray(north)


@pytest.mark.parametrize("latitude", [0.0, 45.0, 70.0])
@pytest.mark.parametrize("product", PRODUCTS)
def test_geographic_crs_in_metres(latitude: float, product: str) -> None:
    transform = Affine(0.001, 0.0, 10.0, 0.0, -0.0008, latitude + 0.02)
    z = hilly(25, 30, seed=5) * 0.5
    result = terrain(dem_array(z, transform, crs="EPSG:4326"), product).values  # type: ignore[arg-type]
    expected = esri_reference(z, *geodesic_row_sizes(transform, z.shape[0]), product)
    if product == "aspect":
        assert angle_difference(result[1:-1, 1:-1], expected[1:-1, 1:-1]).max() < 0.01
    else:
        assert_close(result, expected, atol=0.01)


@pytest.mark.parametrize("product", PRODUCTS)
def test_geographic_chunk_invariance(product: str) -> None:
    """Each row's metre scale must follow its row into every chunk (and its halo)."""
    transform = Affine(0.01, 0.0, 10.0, 0.0, -0.02, 75.0)  # 0.4 degrees of latitude: scales differ
    dem = dem_array(hilly(21, 17, seed=2), transform, crs="EPSG:4326")
    reference = terrain(dem, product).values  # type: ignore[arg-type]
    for chunks in (1, 2, {"y": 4, "x": 17}, {"y": 7, "x": 5}):
        np.testing.assert_array_equal(terrain(dem.chunk(chunks), product).values, reference)  # type: ignore[arg-type]


def test_geographic_plane_rising_north() -> None:
    """A 5 % ramp to the north, built in metres along the meridian, at 60 degrees north."""
    transform = Affine(0.0005, 0.0, 5.0, 0.0, -0.0004, 60.01)
    rows, cols = 30, 20
    _, north = geodesic_row_sizes(transform, rows)
    distance = np.concatenate([[0.0], np.cumsum((north[:-1] + north[1:]) / 2)])  # from the top row
    z = np.repeat((-0.05 * distance)[:, None], cols, axis=1)
    dem = dem_array(z, transform, crs="EPSG:4326")
    np.testing.assert_allclose(
        terrain(dem, "slope").values[1:-1, 1:-1], math.degrees(math.atan(0.05)), atol=1e-3
    )
    np.testing.assert_allclose(terrain(dem, "aspect").values[1:-1, 1:-1], 180.0, atol=1e-3)


# --- gdaldem ------------------------------------------------------------------------------------

GDALDEM = shutil.which("gdaldem")


def gdaldem(dem: Path, product: str, out: Path, *args: str) -> np.ndarray:
    subprocess.run([GDALDEM or "gdaldem", product, str(dem), str(out), "-q", *args], check=True)
    with rasterio.open(out) as src:
        values = src.read(1).astype(np.float64)
        nodata = src.nodata
    values[values == nodata] = np.nan
    return values


@pytest.mark.skipif(GDALDEM is None, reason="gdaldem (GDAL command line tools) not installed")
@pytest.mark.parametrize(
    ("product", "options", "args", "atol"),
    [
        ("slope", {}, [], 1e-3),
        ("slope", {"z_factor": 2.0}, ["-s", "0.5"], 1e-3),
        ("aspect", {}, [], 0.005),
        ("hillshade", {}, [], 0.5 + 1e-3),  # gdaldem rounds hillshade to a byte
        (
            "hillshade",
            {"z_factor": 2.5, "azimuth": 100.0, "altitude": 30.0},
            ["-z", "2.5", "-az", "100", "-alt", "30"],
            0.5 + 1e-3,
        ),
    ],
)
def test_matches_gdaldem(
    dem_file: Path, tmp_path: Path, product: str, options: dict[str, float], args: list[str], atol: float
) -> None:
    expected = gdaldem(dem_file, product, tmp_path / f"gdal_{product}.tif", *args)
    dem = open_raster(str(dem_file), chunk_size=32, locator="dem").isel(band=0)
    actual = terrain(dem, product, **options).values  # type: ignore[arg-type]
    if product == "aspect":  # gdaldem sums the window in float32: gentle slopes differ a little
        np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
        steep = ~np.isnan(expected) & (terrain(dem, "slope").values > 5.0)
        assert angle_difference(actual[steep], expected[steep]).max() < atol
        valid = ~np.isnan(expected)
        assert angle_difference(actual[valid], expected[valid]).max() < 10 * atol
    else:
        assert_close(actual, expected, atol)


@pytest.mark.skipif(GDALDEM is None, reason="gdaldem (GDAL command line tools) not installed")
@pytest.mark.parametrize("product", ["slope", "hillshade"])
def test_non_square_pixels_match_gdaldem(tmp_path: Path, product: str) -> None:
    z = hilly(40, 50, seed=7)
    spec = RasterSpec(width=50, height=40, dtype="float32", transform=NON_SQUARE, blocksize=16)
    write_raster(tmp_path / "dem.tif", spec, z[None])
    expected = gdaldem(tmp_path / "dem.tif", product, tmp_path / "out.tif")
    actual = terrain(
        open_raster(str(tmp_path / "dem.tif"), chunk_size=16, locator="dem").isel(band=0), product
    ).values  # type: ignore[arg-type]
    assert_close(actual, expected, atol=1e-3 if product == "slope" else 0.5 + 1e-3)
