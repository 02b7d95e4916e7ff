"""Turn checked request values into the typed ``Inputs`` model of a process.

Literal strings are converted and range-checked by the process's pydantic model; complex inputs
declared as rasters are opened lazily (never read here); other complex inputs are fetched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xarray as xr
from pydantic import ValidationError

from app.algorithms.base import Process, ProcessInputs, field_shape
from app.model.errors import InvalidParameterValue
from app.model.requests import ComplexValue, ExecuteRequest, InputValue, LiteralValue
from app.raster.fetch import fetch_bytes, materialize
from app.raster.open import open_raster
from app.raster.vectors import Vector, ZipLimits, read_vector
from app.settings import Settings


def build_inputs(
    process: type[Process], request: ExecuteRequest, settings: Settings, workdir: Path
) -> ProcessInputs:
    """The validated ``Inputs`` of ``process`` for this request."""
    values: dict[str, Any] = {}
    for name, info in process.Inputs.model_fields.items():
        given = request.values(name)
        if not given:
            continue
        shape = field_shape(info)
        converted = [_convert(value, shape.base, settings, workdir, name) for value in given]
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


def _invalid(exc: ValidationError) -> InvalidParameterValue:
    error = exc.errors(include_url=False)[0]
    location = error["loc"]
    locator = str(location[0]) if location else None
    given = error.get("input")
    shown = given if isinstance(given, str | int | float | bool) else None
    detail = f" (got {shown!r})" if shown is not None else ""
    return InvalidParameterValue(f"input {locator!r}: {error['msg']}{detail}", locator=locator)
