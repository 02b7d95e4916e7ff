"""Turn what a process returned into delivered outputs: write rasters, build references."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dask
import numpy as np
import xarray as xr

from app.core.checks import find_format
from app.core.models import (
    BoundingBoxResult,
    BoundingBoxValue,
    ComplexResult,
    ComplexValue,
    DataKind,
    DeliveredOutput,
    ExecuteRequest,
    Format,
    LiteralResult,
    OutputRequest,
    OutputResult,
    ParameterDescription,
    ProcessDescription,
)
from app.errors import NoApplicableCode
from app.jobs.context import JobContext
from app.raster.write import write_geotiff
from app.settings import Settings


def output_url(settings: Settings, job_id: str, filename: str) -> str:
    """The public URL of a result file."""
    return f"{settings.public_url}/outputs/{job_id}/{filename}"


def wanted_outputs(request: ExecuteRequest, description: ProcessDescription) -> list[OutputRequest]:
    """The outputs the client asked for; all of them, by value, when it named none."""
    if request.response.outputs:
        return list(request.response.outputs)
    return [OutputRequest(identifier=o.identifier) for o in description.outputs]


def deliver_outputs(
    produced: Mapping[str, object],
    request: ExecuteRequest,
    description: ProcessDescription,
    settings: Settings,
    context: JobContext,
) -> tuple[DeliveredOutput, ...]:
    """Compute and store the requested outputs; absent optional outputs are left out."""
    wanted = [w for w in wanted_outputs(request, description) if w.identifier in produced]
    rasters = [w for w in wanted if isinstance(produced[w.identifier], xr.DataArray)]
    delivered = []
    for output in wanted:
        parameter = description.output(output.identifier)
        assert parameter is not None  # checked before the run
        value = produced[output.identifier]
        stage = rasters.index(output) if output in rasters else 0
        compute = context.compute_kwargs(stage, len(rasters))
        result = _to_result(value, parameter, output, context.workdir, compute)
        reference = None
        if output.as_reference and isinstance(result, ComplexResult):
            result = _stored(result, parameter, context.workdir)
            assert result.path is not None
            reference = output_url(settings, context.job_id, result.path.name)
        delivered.append(DeliveredOutput(description=parameter, result=result, reference=reference))
    return tuple(delivered)


def _to_result(
    value: object,
    parameter: ParameterDescription,
    wanted: OutputRequest,
    workdir: Path,
    compute: dict[str, Any],
) -> OutputResult:
    value = _computed(value, compute)
    if parameter.kind is DataKind.COMPLEX:
        return _complex_result(value, parameter, wanted, workdir, compute)
    if parameter.kind is DataKind.BBOX and isinstance(value, BoundingBoxValue):
        return BoundingBoxResult(lower=value.lower, upper=value.upper, crs=value.crs)
    if isinstance(value, np.generic | np.ndarray) and np.ndim(value) == 0:  # a reduction's scalar
        value = value.item()
    if parameter.kind is DataKind.LITERAL and isinstance(value, str | int | float | bool):
        data_type = parameter.literal.data_type if parameter.literal else "string"
        text = str(value).lower() if isinstance(value, bool) else str(value)
        return LiteralResult(value=text, data_type=data_type, uom=wanted.uom)
    raise NoApplicableCode(f"process returned an unexpected value for {parameter.identifier!r}")


def _computed(value: object, compute: dict[str, Any]) -> object:
    """Compute a lazy non-raster output (a dask collection: a reduction, a ``dask.delayed``).

    Lazy rasters are left to the GeoTIFF writer, which computes them tile by tile; anything else
    lazy is computed here, with the job's progress and cancellation callbacks.
    """
    if isinstance(value, xr.DataArray) and value.ndim >= 2:
        return value
    if isinstance(value, xr.DataArray):  # a 0-d (or 1-d) reduction
        value = value.data
    if dask.is_dask_collection(value):
        (value,) = dask.compute(value, **compute)
    return value


def _complex_result(
    value: object,
    parameter: ParameterDescription,
    wanted: OutputRequest,
    workdir: Path,
    compute: dict[str, Any],
) -> ComplexResult:
    if isinstance(value, ComplexValue):
        echoed = Format(
            mime_type=value.mime_type or parameter.formats[0].mime_type,
            encoding=value.encoding,
            schema_url=value.schema_url,
        )
        return ComplexResult(format=echoed, data=value.data or b"")
    fmt = find_format(parameter, wanted.mime_type, wanted.encoding, wanted.schema_url)
    if isinstance(value, xr.DataArray):
        path = workdir / f"{parameter.identifier}{fmt.extension}"
        write_geotiff(value, path, compute)
        return ComplexResult(format=fmt, path=path)
    if isinstance(value, bytes):
        return ComplexResult(format=fmt, data=value)
    raise NoApplicableCode(f"process returned an unexpected value for {parameter.identifier!r}")


def _stored(result: ComplexResult, parameter: ParameterDescription, workdir: Path) -> ComplexResult:
    if result.path is not None:
        return result
    path = workdir / f"{parameter.identifier}{_extension(result.format, parameter)}"
    path.write_bytes(result.data or b"")
    return result.model_copy(update={"path": path, "data": None})


def _extension(fmt: Format, parameter: ParameterDescription) -> str:
    for declared in parameter.formats:
        if declared.matches(fmt.mime_type, None, None):
            return declared.extension
    return fmt.extension
