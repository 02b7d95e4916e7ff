"""TileJSON 3.0.0, checked by the rules of its specification (github.com/mapbox/tilejson-spec, 3.0.0).

Written from the spec's text, key by key: types, required keys (``vector_layers`` too, as the
spec's own JSON schema requires it of every document), zoom ranges, bounds and center. Unknown
keys are allowed (the spec says clients must ignore them).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

_SEMVER = re.compile(r"\d+\.\d+\.\d+\w?[\w\d]*")
_STRINGS = ("attribution", "description", "legend", "name", "template")
_STRING_ARRAYS = ("tiles", "data", "grids")


def tilejson_problems(document: Any) -> list[str]:
    """Every violation of TileJSON 3.0.0 by ``document`` (empty when it is valid)."""
    if not isinstance(document, dict):
        return ["(root): not an object"]
    problems = [f"{key}: required" for key in ("tilejson", "tiles", "vector_layers") if key not in document]
    for key in ("tilejson", "version"):
        if key in document and not (isinstance(document[key], str) and _SEMVER.fullmatch(document[key])):
            problems.append(f"{key}: not a semver string")
    for key in _STRINGS:
        if document.get(key) is not None and not isinstance(document[key], str):
            problems.append(f"{key}: not a string")
    for key in _STRING_ARRAYS:
        if key in document and not (
            isinstance(document[key], list) and all(isinstance(v, str) for v in document[key])
        ):
            problems.append(f"{key}: not an array of strings")
    problems += _endpoints(document) + _zooms(document) + _extent(document)
    if document.get("scheme", "xyz") not in ("xyz", "tms"):
        problems.append("scheme: neither xyz nor tms")
    return problems


def _endpoints(document: dict[str, Any]) -> list[str]:
    problems = []
    tiles = document.get("tiles", [])
    if isinstance(tiles, list):
        if not tiles:
            problems.append("tiles: must hold at least one endpoint")
        problems += [f"tiles: {url!r} is not absolute" for url in tiles if not urlsplit(str(url)).scheme]
    layers = document.get("vector_layers", [])
    if not isinstance(layers, list) or any(
        not isinstance(layer, dict) or "id" not in layer or "fields" not in layer for layer in layers
    ):
        problems.append("vector_layers: not an array of objects with id and fields")
    return problems


def _zooms(document: dict[str, Any]) -> list[str]:
    problems = []
    for key in ("minzoom", "maxzoom", "fillzoom"):
        value = document.get(key)
        if value is not None and not (isinstance(value, int) and 0 <= value <= 30):
            problems.append(f"{key}: not an integer in 0..30")
    minzoom, maxzoom = document.get("minzoom", 0), document.get("maxzoom", 30)
    if isinstance(minzoom, int) and isinstance(maxzoom, int) and minzoom > maxzoom:
        problems.append("minzoom: above maxzoom")
    return problems


def _extent(document: dict[str, Any]) -> list[str]:
    problems = []
    bounds = document.get("bounds", [-180, -85.05112877980659, 180, 85.0511287798066])
    if not (isinstance(bounds, list) and len(bounds) == 4 and all(_is_number(v) for v in bounds)):
        return ["bounds: not four numbers"]
    west, south, east, north = bounds
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        problems.append(f"bounds: {bounds} is not left, bottom, right, top in degrees")
    center = document.get("center")
    if center is not None:
        if not (isinstance(center, list) and len(center) == 3 and all(_is_number(v) for v in center)):
            return [*problems, "center: not longitude, latitude, zoom"]
        lon, lat, zoom = center
        if not (west <= lon <= east and south <= lat <= north):
            problems.append("center: outside the bounds")
        if not (isinstance(zoom, int) and document.get("minzoom", 0) <= zoom <= document.get("maxzoom", 30)):
            problems.append("center: zoom not an integer between minzoom and maxzoom")
    return problems


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
