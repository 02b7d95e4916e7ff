"""Map tiles of a result COG: WebMercatorQuad PNGs, read with rio-tiler, and what a TileJSON says.

Reads go through rio-tiler's ``Reader``: a tile is a windowed read of the COG level nearest its
zoom (its overviews make low zooms cheap), warped to Web Mercator. Values are stretched from the
rendering's range onto 0..255 and coloured with a rio-tiler colormap (grey or RGB without one);
pixels that are nodata, NaN, or outside the result are transparent, and a tile wholly outside it
is a transparent PNG, not an error: a map asks for every tile of its view.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
from rio_tiler.colormap import cmap
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader
from rio_tiler.utils import render

from app.model.errors import HttpError, InvalidParameterValue
from app.model.rendering import Rendering, TileSet

TILE_SIZE = 256
TILE_MATRIX_SET = "WebMercatorQuad"
MAX_ZOOM = 24  # the deepest level of WebMercatorQuad (OGC 17-083r4, annex D.1)
COLORMAPS: tuple[str, ...] = tuple(sorted(cmap.list()))
LEGEND_STOPS = 11
_PERCENTILES = (2.0, 98.0)  # the range a rendering takes from the data: outliers do not wash it out
_PREVIEW_SIZE = 512  # pixels on the longer side of the overview those percentiles are taken from


@dataclass(frozen=True)
class Style:
    """A rendering with nothing left open: the range, the colormap (or none) and the bands shown."""

    rescale: tuple[float, float]
    colormap_name: str | None
    bands: tuple[int, ...]


@dataclass(frozen=True)
class _Raster:
    """What tiles need to know of a result file, read once per version of it."""

    bounds: tuple[float, float, float, float]  # west, south, east, north in degrees (WGS 84)
    fitzoom: int  # the zoom at which the whole result fits in a tile or so (rio-tiler's minzoom)
    maxzoom: int  # the zoom of the result's own resolution: deeper tiles are upsampled
    band_count: int
    dtype: str


def check_colormap(name: str) -> str:
    """``name`` if rio-tiler knows it, else InvalidParameterValue naming those it knows."""
    if name not in COLORMAPS:
        raise InvalidParameterValue(
            f"unknown colormap_name {name!r}; allowed: {', '.join(COLORMAPS)}", locator="colormap_name"
        )
    return name


def check_tile(z: int, x: int, y: int) -> None:
    """A tile of WebMercatorQuad, or 404: outside the tile matrix nothing can be drawn."""
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        raise HttpError(f"no tile {z}/{x}/{y} in {TILE_MATRIX_SET}", status=404)


def style_for(path: Path, asked: Rendering, bands: tuple[int, ...] | None) -> Style:
    """Resolve a rendering against the file: defaults for the bands, the range from the data.

    Without a colormap, three bands or more are shown as RGB (bands 1, 2, 3); one band otherwise.
    A colormap colours one band only: asking for it over several is an InvalidParameterValue.
    """
    if asked.colormap_name is not None:
        check_colormap(asked.colormap_name)
    raster = _describe(path, path.stat().st_mtime_ns)
    if bands is None:
        bands = (1, 2, 3) if raster.band_count >= 3 and asked.colormap_name is None else (1,)
    if any(not 1 <= band <= raster.band_count for band in bands) or len(bands) not in (1, 3):
        raise InvalidParameterValue(
            f"bidx must name 1 or 3 bands between 1 and {raster.band_count}", locator="bidx"
        )
    if asked.colormap_name is not None and len(bands) != 1:
        raise InvalidParameterValue("a colormap colours one band: give one bidx", locator="colormap_name")
    rescale = asked.rescale
    if rescale is None:
        rescale = (0.0, 255.0) if raster.dtype == "uint8" else _data_range(path, bands)
    return Style(rescale=rescale, colormap_name=asked.colormap_name, bands=bands)


def tile_set(path: Path, job_id: str, output: str, title: str, style: Style) -> TileSet:
    """The TileJSON's facts about one output's tiles: where they are, at which zooms, in which colours."""
    raster = _describe(path, path.stat().st_mtime_ns)
    return TileSet(
        job_id=job_id,
        output=output,
        title=title,
        bounds=raster.bounds,
        minzoom=0,  # every zoom is served, cheaply from the COG's overviews
        fitzoom=raster.fitzoom,
        maxzoom=raster.maxzoom,
        rendering=Rendering(rescale=style.rescale, colormap_name=style.colormap_name),
        bands=style.bands,
        legend=legend(style) if len(style.bands) == 1 else (),
    )


def render_tile(path: Path, z: int, x: int, y: int, style: Style) -> bytes:
    """The PNG of one tile (256 x 256): nodata, NaN and the outside transparent."""
    check_tile(z, x, y)
    with Reader(str(path)) as source:
        try:
            image = source.tile(x, y, z, tilesize=TILE_SIZE, indexes=style.bands)
        except TileOutsideBounds:
            return transparent_tile()
    values = image.array  # masked: bands x rows x columns
    valid = ~np.ma.getmaskarray(values).any(axis=0)
    raw = np.ma.getdata(values)
    if np.issubdtype(raw.dtype, np.floating):
        valid &= np.isfinite(raw).all(axis=0)
    low, high = style.rescale
    with np.errstate(invalid="ignore"):
        scaled = (np.where(valid, raw, low).astype(np.float64) - low) * (255.0 / (high - low))
    pixels = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    alpha = np.where(valid, 255, 0).astype(np.uint8)
    colormap = cmap.get(style.colormap_name) if style.colormap_name else None
    return render(pixels, alpha, img_format="PNG", colormap=colormap)


@functools.cache
def transparent_tile() -> bytes:
    """A 256 x 256 PNG with nothing in it (every pixel fully transparent)."""
    empty = np.zeros((1, TILE_SIZE, TILE_SIZE), dtype=np.uint8)
    return render(empty, empty[0], img_format="PNG")


def legend(style: Style, stops: int = LEGEND_STOPS) -> tuple[tuple[float, str], ...]:
    """Values from the low to the high end of the range, each with its colour as #rrggbb."""
    low, high = style.rescale
    colours = _colour_table(style.colormap_name) if style.colormap_name else None
    entries = []
    for i in range(stops):
        index = round(i * 255 / (stops - 1))
        red, green, blue = (
            (colours[index][0], colours[index][1], colours[index][2]) if colours else (index,) * 3
        )
        value = float(f"{low + (high - low) * i / (stops - 1):.12g}")  # 0.2, not 0.19999999999999996
        entries.append((value, f"#{red:02x}{green:02x}{blue:02x}"))
    return tuple(entries)


def _colour_table(name: str) -> dict[int, tuple[int, int, int, int]]:
    """A rio-tiler colormap: its 256 RGBA colours by index (the named ones are all such tables)."""
    return cast(dict[int, tuple[int, int, int, int]], cmap.get(name))


@functools.lru_cache(maxsize=256)
def _describe(path: Path, mtime_ns: int) -> _Raster:
    """Bounds, zoom levels, bands and type of a result file (cached per path and modification time)."""
    with Reader(str(path)) as source:
        west, south, east, north = source.get_geographic_bounds("EPSG:4326")
        return _Raster(
            bounds=(west, south, east, north),
            fitzoom=source.minzoom,
            maxzoom=source.maxzoom,
            band_count=source.dataset.count,
            dtype=source.dataset.dtypes[0],
        )


def _data_range(path: Path, bands: tuple[int, ...]) -> tuple[float, float]:
    """The 2nd and 98th percentiles of the valid values of ``bands``, from a small overview."""
    return _percentiles(path, path.stat().st_mtime_ns, bands)


@functools.lru_cache(maxsize=256)
def _percentiles(path: Path, mtime_ns: int, bands: tuple[int, ...]) -> tuple[float, float]:
    with Reader(str(path)) as source:
        preview = source.preview(indexes=bands, max_size=_PREVIEW_SIZE)
    values = np.ma.getdata(preview.array)[~np.ma.getmaskarray(preview.array)]
    values = values[np.isfinite(values)] if np.issubdtype(values.dtype, np.floating) else values
    if values.size == 0:
        return (0.0, 1.0)
    low, high = (float(v) for v in np.percentile(values, _PERCENTILES))
    if not high > low:  # a constant result: a range of one around it, so that it still shows
        high = low + 1.0
    return (low, high) if math.isfinite(low) and math.isfinite(high) else (0.0, 1.0)
