"""Turn what a process returned into delivered outputs: write rasters, build references."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path

import dask
import numpy as np
import xarray as xr

from app.jobs.context import JobContext
from app.model.descriptions import DataKind, Format, ParameterDescription, ProcessDescription, preferring
from app.model.errors import NoApplicableCode
from app.model.requests import BoundingBoxValue, ComplexValue, ExecuteRequest, OutputRequest
from app.model.results import BoundingBoxResult, ComplexResult, DeliveredOutput, LiteralResult, OutputResult
from app.raster.write import geotiff_store
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
    """Compute and store the requested outputs; absent optional outputs are left out.

    Every lazy output (raster stores and reductions alike) is computed in one ``dask.compute``, so
    inputs shared by several outputs are read once, with the job's progress and cancellation.
    """
    wanted = [w for w in wanted_outputs(request, description) if w.identifier in produced]
    files: dict[str, ComplexResult] = {}
    with ExitStack() as stack:
        lazy: dict[str, object] = {}
        for output in wanted:
            parameter = _parameter(description, output.identifier)
            value = produced[output.identifier]
            if _is_raster(value) and parameter.kind is DataKind.COMPLEX:
                assert isinstance(value, xr.DataArray)
                fmt = output_format(parameter, output, request.default_media_types)
                path = context.workdir / f"{parameter.identifier}{fmt.extension}"
                lazy[output.identifier] = stack.enter_context(
                    geotiff_store(value, path, settings.output_compression)
                )
                files[output.identifier] = ComplexResult(format=fmt, path=path)
            elif _is_lazy(value):
                lazy[output.identifier] = value.data if isinstance(value, xr.DataArray) else value
        results = context.compute(*lazy.values())
        computed = dict(zip(lazy, results, strict=True))
    delivered = []
    for output in wanted:
        parameter = _parameter(description, output.identifier)
        value = computed.get(output.identifier, produced[output.identifier])
        result = files.get(output.identifier) or _to_result(value, parameter, output, request)
        delivered.append(_delivered(output, parameter, result, settings, context))
    return tuple(delivered)


def _delivered(
    output: OutputRequest,
    parameter: ParameterDescription,
    result: OutputResult,
    settings: Settings,
    context: JobContext,
) -> DeliveredOutput:
    """By value, or stored in the job folder and referenced by its public URL."""
    reference = None
    if output.as_reference and isinstance(result, ComplexResult):
        result = _stored(result, parameter, context.workdir)
        assert result.path is not None
        reference = output_url(settings, context.job_id, result.path.name)
    return DeliveredOutput(description=parameter, result=result, reference=reference)


def _parameter(description: ProcessDescription, identifier: str) -> ParameterDescription:
    parameter = description.output(identifier)
    assert parameter is not None  # checked before the run
    return parameter


def _is_raster(value: object) -> bool:
    return isinstance(value, xr.DataArray) and value.ndim >= 2


def _is_lazy(value: object) -> bool:
    """A dask collection (a reduction, a ``dask.delayed``) or an xarray object holding one."""
    data = value.data if isinstance(value, xr.DataArray) else value
    return bool(dask.base.is_dask_collection(data))


def _to_result(
    value: object, parameter: ParameterDescription, wanted: OutputRequest, request: ExecuteRequest
) -> OutputResult:
    if parameter.kind is DataKind.COMPLEX:
        return _complex_result(value, parameter, wanted, request.default_media_types)
    if parameter.kind is DataKind.BBOX and isinstance(value, BoundingBoxValue):
        return BoundingBoxResult(lower=value.lower, upper=value.upper, crs=value.crs)
    if isinstance(value, xr.DataArray):
        value = value.values
    if isinstance(value, np.generic | np.ndarray) and np.ndim(value) == 0:  # a reduction's scalar
        value = value.item()
    if parameter.kind is DataKind.LITERAL and isinstance(value, str | int | float | bool):
        data_type = parameter.literal.data_type if parameter.literal else "string"
        text = str(value).lower() if isinstance(value, bool) else str(value)
        return LiteralResult(value=text, data_type=data_type, uom=wanted.uom)
    raise NoApplicableCode(f"process returned an unexpected value for {parameter.identifier!r}")


def _complex_result(
    value: object, parameter: ParameterDescription, wanted: OutputRequest, preferred: tuple[str, ...]
) -> ComplexResult:
    if isinstance(value, ComplexValue):
        echoed = Format(
            mime_type=value.mime_type or parameter.formats[0].mime_type,
            encoding=value.encoding,
            schema_url=value.schema_url,
        )
        return ComplexResult(format=echoed, data=value.data or b"")
    fmt = output_format(parameter, wanted, preferred)
    if isinstance(value, bytes):
        return ComplexResult(format=fmt, data=value)
    raise NoApplicableCode(f"process returned an unexpected value for {parameter.identifier!r}")


def output_format(
    parameter: ParameterDescription, wanted: OutputRequest, preferred: tuple[str, ...]
) -> Format:
    """The format an output is delivered in: the one asked for, else the face's preferred default.

    A client that names no format gets the first declared format, after the media types its face
    prefers (``ExecuteRequest.default_media_types``) have moved ahead of their variants.
    """
    if wanted.mime_type or wanted.encoding or wanted.schema_url or not parameter.formats:
        return parameter.find_format(wanted.mime_type, wanted.encoding, wanted.schema_url)
    formats: tuple[Format, ...] = parameter.formats
    for media_type in reversed(preferred):
        formats = preferring(formats, media_type)
    return formats[0]


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
