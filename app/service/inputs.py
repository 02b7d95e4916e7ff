"""Turn checked request values into the typed ``Inputs`` model of a process.

Literal strings are converted and range-checked by the process's pydantic model; complex inputs
declared as rasters are opened lazily (never read here); other complex inputs are fetched.
Literal and bounding box values given by reference are fetched (through the same guard) and read:
a literal as the referenced text (or the text of a LiteralValue element), a bounding box as an
OGC API bbox object in JSON or an OWS bounding box element in XML.

A nested process's output (``NestedProcess``) is handed over as the process produced it: a lazy
raster stays lazy (one graph for the whole tree, nothing written, nothing fetched), a literal, a
bounding box or a document (GeoJSON) arrives computed and is read as the input's own kind.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xarray as xr
from pydantic import ValidationError

from app.algorithms.base import (
    ComplexInput,
    InputMarker,
    LiteralInput,
    Process,
    ProcessInputs,
    field_shape,
    input_marker,
)
from app.model.errors import InvalidParameterValue
from app.model.requests import (
    BoundingBoxValue,
    ComplexValue,
    ExecuteRequest,
    InputValue,
    LiteralValue,
    NestedProcess,
)
from app.raster.fetch import fetch_bytes, materialize
from app.raster.open import open_raster
from app.raster.vectors import Vector, ZipLimits, read_vector
from app.settings import Settings
from app.wps_xml.payload import referenced_bounding_box, referenced_literal

CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"  # an OGC API bbox without crs
GEOJSON = "application/geo+json"

NestedRunner = Callable[[NestedProcess, str], object]
"""Runs a nested process (at an input path) and gives its output: lazy when a raster, else computed."""


def _no_nesting(value: NestedProcess, path: str) -> object:
    raise InvalidParameterValue(f"input {path!r}: nested processes are not accepted here", locator=path)


def build_inputs(
    process: type[Process],
    request: ExecuteRequest,
    settings: Settings,
    workdir: Path,
    nested: NestedRunner = _no_nesting,
    path: str = "",
) -> ProcessInputs:
    """The validated ``Inputs`` of ``process`` for this request (at ``path`` in a tree of processes)."""
    values: dict[str, Any] = {}
    for name, info in process.Inputs.model_fields.items():
        given = request.values(name)
        if not given:
            continue
        shape = field_shape(info)
        marker = input_marker(info)
        here = f"{path}/{name}" if path else name
        converted = [
            _fed(nested(value, here), shape.base, workdir, name)
            if isinstance(value, NestedProcess)
            else _referenced(value, marker, settings, name)
            if isinstance(value, ComplexValue) and value.href and not isinstance(marker, ComplexInput)
            else _convert(value, shape.base, settings, workdir, name)
            for value in given
        ]
        values[name] = converted if shape.is_list else converted[0]
    try:
        return process.Inputs.model_validate(values)
    except ValidationError as exc:
        raise _invalid(exc) from None


def _convert(value: InputValue, base: Any, settings: Settings, workdir: Path, name: str) -> object:
    if isinstance(value, LiteralValue):
        return value.value
    if isinstance(value, ComplexValue):
        if base is xr.DataArray:
            path = materialize(value, settings, workdir, locator=name)
            return open_raster(path, chunk_size=settings.chunk_size, locator=name)
        if base is Vector:
            data = fetch_bytes(value, settings, locator=name)
            return read_vector(data, value.mime_type, name, workdir, ZipLimits.from_settings(settings))
        if value.href:
            data = fetch_bytes(value, settings, locator=name)
            return value.model_copy(update={"data": data, "href": None})
    return value


def _fed(output: object, base: Any, workdir: Path, name: str) -> object:
    """A nested process's output as the value of an input of type ``base``."""
    if base is xr.DataArray:
        if not isinstance(output, xr.DataArray):
            raise InvalidParameterValue(f"input {name!r}: the nested process gave no raster", locator=name)
        return output if "band" in output.dims else output.expand_dims(band=[1])  # as open_raster gives
    if isinstance(output, xr.DataArray):
        raise InvalidParameterValue(f"input {name!r}: a raster output feeds raster inputs only", locator=name)
    if base is Vector:
        data = output.encode() if isinstance(output, str) else output
        if not isinstance(data, bytes):
            raise InvalidParameterValue(f"input {name!r}: the nested process gave no document", locator=name)
        return read_vector(data, GEOJSON, name, workdir)
    if isinstance(output, bytes):
        return ComplexValue(data=output)
    if isinstance(output, BoundingBoxValue):
        return output
    return str(output).lower() if isinstance(output, bool) else str(output)


def _referenced(value: ComplexValue, marker: InputMarker, settings: Settings, name: str) -> object:
    """A literal (its text) or a bounding box given by reference, fetched through the guard."""
    data = fetch_bytes(value, settings, locator=name)
    if isinstance(marker, LiteralInput):
        return referenced_literal(data, name)
    return _referenced_box(data, name)


def _referenced_box(data: bytes, name: str) -> BoundingBoxValue:
    try:
        document = json.loads(data)
    except ValueError:
        return referenced_bounding_box(data, name)  # XML
    box = document.get("bbox") if isinstance(document, dict) else None
    if not isinstance(box, list) or len(box) not in {4, 6} or not all(_is_number(v) for v in box):
        raise InvalidParameterValue(
            f'input {name!r}: the referenced JSON is not a {{"bbox": [4 or 6 numbers]}} object', name
        )
    half = len(box) // 2
    crs = document.get("crs") if isinstance(document.get("crs"), str) else None
    return BoundingBoxValue(lower=tuple(box[:half]), upper=tuple(box[half:]), crs=crs or CRS84_URI)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _invalid(exc: ValidationError) -> InvalidParameterValue:
    error = exc.errors(include_url=False)[0]
    location = error["loc"]
    locator = str(location[0]) if location else None
    given = error.get("input")
    shown = given if isinstance(given, str | int | float | bool) else None
    detail = f" (got {shown!r})" if shown is not None else ""
    return InvalidParameterValue(f"input {locator!r}: {error['msg']}{detail}", locator=locator)
