"""TileJSON 3.0.0 of a raster output's map tiles, and the URLs of those tiles.

The document follows https://github.com/mapbox/tilejson-spec/tree/master/3.0.0. Its ``legend`` is
the spec's: literal text (never HTML: nothing a client could render as markup). It adds, as the
spec allows (unknown keys), what a map client needs to draw a legend of its own: ``rescale`` (the
values of the first and last colour), ``colormap_name``, and ``legend_stops`` (values from low to
high with their ``#rrggbb``; empty when three bands show as RGB). ``vector_layers`` is empty: the
spec does not require it of raster tiles, but its JSON schema does, and clients validate with it.
The ``tiles`` URL carries the resolved rendering, so every tile is drawn alike whatever the
client appends, and no tile has to work out the data's range again.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from app.model.rendering import TileSet
from app.settings import Settings

TILE_MATRIX_SET = "WebMercatorQuad"
TILES_REL = "tiles"
TILEJSON_VERSION = "3.0.0"


def tiles_url(settings: Settings, job_id: str, output: str) -> str:
    """The URL under which an output's WebMercatorQuad tiles and TileJSON are."""
    return f"{settings.public_url}/jobs/{job_id}/results/{quote(output)}/tiles/{TILE_MATRIX_SET}"


def tilejson_url(settings: Settings, job_id: str, output: str) -> str:
    """The TileJSON of an output's tiles (what status documents link with rel ``tiles``)."""
    return f"{tiles_url(settings, job_id, output)}/tilejson.json"


def tilejson(tile_set: TileSet, settings: Settings, bands_asked: bool) -> dict[str, Any]:
    """The TileJSON document of one raster output (``bands_asked``: the URL names the bands)."""
    rendering = tile_set.rendering
    query: dict[str, Any] = {}
    if rendering.rescale is not None:
        query["rescale"] = ",".join(_number(v) for v in rendering.rescale)
    if rendering.colormap_name is not None:
        query["colormap_name"] = rendering.colormap_name
    if bands_asked:
        query["bidx"] = list(tile_set.bands)
    template = f"{tiles_url(settings, tile_set.job_id, tile_set.output)}/{{z}}/{{x}}/{{y}}.png"
    west, south, east, north = tile_set.bounds
    return {
        "tilejson": TILEJSON_VERSION,
        "name": tile_set.output,
        "description": f"{tile_set.title}: output {tile_set.output!r} of job {tile_set.job_id}",
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [f"{template}?{urlencode(query, doseq=True, safe=',')}" if query else template],
        "minzoom": tile_set.minzoom,
        "maxzoom": tile_set.maxzoom,
        "bounds": [west, south, east, north],
        "center": [(west + east) / 2, (south + north) / 2, tile_set.fitzoom],
        "vector_layers": [],
        "legend": _legend_text(tile_set),
        "rescale": list(rendering.rescale) if rendering.rescale is not None else None,
        "colormap_name": rendering.colormap_name,
        "legend_stops": [{"value": value, "color": colour} for value, colour in tile_set.legend],
    }


def _legend_text(tile_set: TileSet) -> str:
    """The legend as text: which values the colours span, e.g. ``ndvi: -1 (#a50026) to 1 (#006837)``."""
    if not tile_set.legend:
        bands = ", ".join(str(band) for band in tile_set.bands)
        return f"{tile_set.output}: bands {bands} as red, green, blue"
    (low, first), (high, last) = tile_set.legend[0], tile_set.legend[-1]
    return f"{tile_set.output}: {_number(low)} ({first}) to {_number(high)} ({last})"


def _number(value: float) -> str:
    """A range end as short as it reads: ``-1``, not ``-1.0``; full precision otherwise."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
