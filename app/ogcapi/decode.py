"""Execute requests of the JSON face into the neutral ``ExecuteRequest``, guided by the process description.

How a JSON value reads depends on the input it is given to:

- literal: a string, number or boolean (or ``{"value": ..., "uom": ...}``) becomes its text;
- complex: ``{"href", "type"}`` is a reference; ``{"value", "mediaType", "encoding"}`` or a plain value is
  inline data: JSON objects and arrays are serialised, strings are text for textual media types and
  base64 for binary ones (or when ``encoding`` says ``base64``);
- bounding box: ``{"bbox": [4 or 6 numbers], "crs": uri}`` (CRS84 when ``crs`` is absent).

An array is several occurrences of the input. Outputs left unnamed are all delivered, by value.

A value ``{"process": ..., "inputs": {...}, "outputs": {...}}`` is a nested process (OGC API -
Processes - Part 3): the output it names (or its only, else first, one) of a process of this
service, named by its id or its URL (``.../processes/{id}``). A URL of another server is refused
("remote processes are not supported", Part 3's next conformance class); nothing is sent there.
Nesting deeper than ``WPS_MAX_NESTING`` is refused while decoding, before any recursion goes on.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from app.model.codec import ProcessLookup
from app.model.descriptions import (
    OGC_GEOTIFF_MEDIA_TYPE,
    DataKind,
    ParameterDescription,
    ProcessDescription,
)
from app.model.errors import (
    InvalidParameterValue,
    NoSuchInput,
    NoSuchProcess,
    WpsError,
    nested_too_deep,
    unknown_nested_process,
)
from app.model.requests import (
    BoundingBoxValue,
    ComplexValue,
    ExecuteRequest,
    InputValue,
    LiteralValue,
    NestedProcess,
    OutputRequest,
    ResponseForm,
)
from app.model.service_urls import own_path
from app.ogcapi.describe import CRS84, is_json, is_text
from app.ogcapi.models import BoundingBox, Execute, InlineOrRef, Link, QualifiedValue

VERSION = "2.0.0"  # the WPS version whose semantics (and exception codes) the JSON face shares
PROCESSES_PATH = "/processes/"


@dataclass(frozen=True)
class Nesting:
    """What decoding a nested process needs: the processes offered, the service's URL, the depth allowed."""

    processes: ProcessLookup
    public_url: str
    max_depth: int


def execute_request(
    body: Execute,
    description: ProcessDescription,
    asynchronous: bool,
    nesting: Nesting | None = None,
    path: tuple[str, ...] = (),
) -> ExecuteRequest:
    """The neutral request for ``description``'s process (at ``path`` when it is a nested one)."""
    inputs: list[tuple[str, InputValue]] = []
    for name, entry in body.inputs.items():
        parameter = description.input(name)
        if parameter is None:
            raise NoSuchInput(f"process {description.identifier!r} has no input {name!r}", locator=name)
        occurrences = entry if isinstance(entry, list) else [entry]
        inputs.extend(
            (
                name,
                _nested(value, nesting, (*path, name))
                if _is_nested(value)
                else input_value(parameter, value),
            )
            for value in occurrences
        )
    outputs = output_requests(body, description) if not path or body.outputs else ()
    form = ResponseForm(
        raw=body.response == "raw",
        outputs=outputs,
        store=asynchronous,
        status=asynchronous,
        mode="async" if asynchronous else "sync",
    )
    return ExecuteRequest(
        version=VERSION,
        identifier=description.identifier,
        inputs=tuple(inputs),
        response=form,
        default_media_types=(OGC_GEOTIFF_MEDIA_TYPE,),
    )


def _is_nested(value: InlineOrRef) -> bool:
    return isinstance(value, dict) and "process" in value


def _nested(value: InlineOrRef, nesting: Nesting | None, path: tuple[str, ...]) -> NestedProcess:
    """A nested process: its Execute decoded against its own description, errors located by ``path``."""
    here = "/".join(path)
    assert isinstance(value, dict)
    if nesting is None or len(path) > nesting.max_depth:
        depth = 0 if nesting is None else nesting.max_depth
        raise nested_too_deep(here, depth)
    identifier = _process_id(value["process"], nesting.public_url, here)
    try:
        description = nesting.processes(identifier)
    except NoSuchProcess:
        raise unknown_nested_process(here, identifier) from None
    try:
        body = Execute.model_validate({key: value[key] for key in ("inputs", "outputs") if key in value})
    except ValidationError:
        raise InvalidParameterValue(
            f"input {here!r}: a nested process has an object of inputs and an object of outputs"
        ).located_at(here) from None
    try:
        request = execute_request(body, description, False, nesting, path)
    except WpsError as error:
        raise error.within(here, identifier) from None
    return NestedProcess(request=request)


def _process_id(process: Any, public_url: str, here: str) -> str:
    """The identifier a nested process's ``process`` names: a bare id, or a URL of this service's."""
    if not isinstance(process, str) or not process.strip():
        raise InvalidParameterValue(f"input {here!r}: 'process' must be a process id or URL").located_at(here)
    named = process.strip()
    if "/" not in named and ":" not in named:
        return named
    path = own_path(named, public_url)
    if path is None:
        raise InvalidParameterValue(
            f"input {here!r}: {named!r} is a process of another server; remote processes are not supported"
        ).located_at(here)
    identifier = path.removeprefix(PROCESSES_PATH)
    if not path.startswith(PROCESSES_PATH) or not identifier or "/" in identifier:
        raise InvalidParameterValue(
            f"input {here!r}: {named!r} is not a process URL of this service ({PROCESSES_PATH}{{id}})"
        ).located_at(here)
    return identifier


def output_requests(body: Execute, description: ProcessDescription) -> tuple[OutputRequest, ...]:
    """The outputs asked for; every output by value when none is named."""
    if not body.outputs:
        return tuple(OutputRequest(identifier=o.identifier) for o in description.outputs)
    wanted = []
    for name, spec in body.outputs.items():
        fmt = spec.format
        schema = fmt.format_schema if fmt is not None and isinstance(fmt.format_schema, str) else None
        wanted.append(
            OutputRequest(
                identifier=name,
                as_reference=spec.transmissionMode == "reference",
                mime_type=fmt.mediaType if fmt else None,
                encoding=fmt.encoding if fmt else None,
                schema_url=schema,
            )
        )
    return tuple(wanted)


def input_value(parameter: ParameterDescription, value: InlineOrRef) -> InputValue:
    """One occurrence of an input: a link is a reference whatever the input's kind."""
    if isinstance(value, Link):
        return ComplexValue(href=value.href, mime_type=value.type)
    if parameter.kind is DataKind.LITERAL:
        return _literal(parameter, value)
    if parameter.kind is DataKind.BBOX:
        return _bbox(parameter.identifier, value)
    return _complex(parameter, value)


_JSON_TYPES = {"string": "a string", "integer": "an integer", "double": "a number", "boolean": "a boolean"}


def _literal(parameter: ParameterDescription, given: InlineOrRef) -> LiteralValue:
    """A literal of the JSON type its data type says: no coercion of a number to a string or back."""
    name = parameter.identifier
    value: Any = given.value if isinstance(given, QualifiedValue) else given
    uom = given.uom if isinstance(given, QualifiedValue) else None
    data_type = parameter.literal.data_type if parameter.literal else "string"
    if not _has_json_type(value, data_type):
        raise InvalidParameterValue(
            f"input {name!r} expects {_JSON_TYPES[data_type]}, not {_json_kind(value)}", name
        )
    if isinstance(value, bool):
        return LiteralValue(value=str(value).lower(), uom=uom)
    if isinstance(value, float) and value.is_integer():
        return LiteralValue(value=str(int(value)), uom=uom)
    return LiteralValue(value=str(value), uom=uom)


def _has_json_type(value: Any, data_type: str) -> bool:
    """Whether a JSON value has the type of a literal's data type (5.0 is an integer, as in JSON Schema)."""
    if data_type == "boolean" or isinstance(value, bool):
        return data_type == "boolean" and isinstance(value, bool)
    if data_type == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if data_type == "double":
        return isinstance(value, int | float)
    return isinstance(value, str)


def _json_kind(value: Any) -> str:
    kinds = ((bool, "a boolean"), (int | float, "a number"), (str, "a string"), (list, "an array"))
    return next((kind for python, kind in kinds if isinstance(value, python)), "an object")


def _bbox(name: str, value: InlineOrRef) -> BoundingBoxValue:
    if isinstance(value, QualifiedValue):
        value = value.value
    if not isinstance(value, BoundingBox):
        try:
            value = BoundingBox.model_validate(value)
        except ValidationError:
            raise InvalidParameterValue(
                f'input {name!r} expects a bounding box {{"bbox": [4 or 6 numbers], "crs": ...}}', name
            ) from None
    corners = value.bbox
    if len(corners) not in {4, 6}:
        raise InvalidParameterValue(f"input {name!r}: a bbox has 4 or 6 numbers, not {len(corners)}", name)
    half = len(corners) // 2
    return BoundingBoxValue(lower=tuple(corners[:half]), upper=tuple(corners[half:]), crs=value.crs or CRS84)


def _complex(parameter: ParameterDescription, value: InlineOrRef) -> ComplexValue:
    name = parameter.identifier
    if isinstance(value, BoundingBox):
        raise InvalidParameterValue(f"input {name!r} expects complex data, not a bounding box", name)
    if isinstance(value, QualifiedValue):
        schema = value.format_schema if isinstance(value.format_schema, str) else None
        return _inline(parameter, value.value, value.mediaType, value.encoding, schema)
    return _inline(parameter, value, None, None, None)


def _inline(
    parameter: ParameterDescription, value: Any, media: str | None, encoding: str | None, schema: str | None
) -> ComplexValue:
    name = parameter.identifier
    if isinstance(value, dict | list):
        if media is None:
            json_formats = [f for f in parameter.formats if is_json(f.mime_type)]
            if not json_formats:
                raise InvalidParameterValue(f"input {name!r} does not accept a JSON value", name)
            media = json_formats[0].mime_type
        data = json.dumps(value).encode()
    elif isinstance(value, str):
        fmt = parameter.find_format(media, encoding, schema)
        binary = (encoding or "").lower() == "base64" or not is_text(fmt.mime_type)
        data = _base64(value, name) if binary else value.encode()
    else:
        data = json.dumps(value).encode()
    return ComplexValue(mime_type=media, encoding=encoding, schema_url=schema, data=data)


def _base64(text: str, name: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParameterValue(
            f"input {name!r}: binary data must be base64 encoded in JSON", locator=name
        ) from None
