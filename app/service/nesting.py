"""Nested processes: the tree an Execute request may hold, checked whole before anything runs.

An input value may be a :class:`NestedProcess`: the output of another process of this service
(OGC API - Processes - Part 3; WPS chaining by a Reference to the service's own Execute). Every
node of the tree is checked as a top-level request is, and every edge for what it carries: the
one output a nested process gives (the one named, else its only or first output) must be of the
kind of the input it feeds, in a format that input accepts. Errors are located by the path of
input names from the top (``red/raster``); a tree deeper than ``WPS_MAX_NESTING`` is refused.
"""

from __future__ import annotations

from collections.abc import Callable

from app.model.descriptions import ParameterDescription, ProcessDescription
from app.model.errors import (
    InvalidParameterValue,
    NoSuchProcess,
    WpsError,
    nested_too_deep,
    unknown_nested_process,
)
from app.model.requests import ExecuteRequest, NestedProcess
from app.service.checks import check_execute

Describe = Callable[[str], ProcessDescription]


def check_tree(
    request: ExecuteRequest, description: ProcessDescription, describe: Describe, depth: int
) -> None:
    """Check a request and every process nested in it (at most ``depth`` levels deep)."""
    check_execute(request, description)
    _check_nested(request, description, describe, depth, ())


def used_output(request: ExecuteRequest, description: ProcessDescription) -> ParameterDescription:
    """The output a nested process gives: the one its request names, else its only (or first) one."""
    named = request.response.outputs
    if len(named) > 1:
        raise InvalidParameterValue(
            f"a nested process gives one output; {len(named)} are named: "
            f"{', '.join(output.identifier for output in named)}"
        )
    if named:
        output = description.output(named[0].identifier)
        assert output is not None  # check_execute refused unknown outputs
        return output
    return description.outputs[0]


def _check_nested(
    request: ExecuteRequest,
    description: ProcessDescription,
    describe: Describe,
    depth: int,
    path: tuple[str, ...],
) -> None:
    for name, value in request.inputs:
        if not isinstance(value, NestedProcess):
            continue
        here = "/".join((*path, name))
        if len(path) + 1 > depth:
            raise nested_too_deep(here, depth)
        nested = value.request
        try:
            nested_description = describe(nested.identifier)
        except NoSuchProcess:
            raise unknown_nested_process(here, nested.identifier) from None
        try:
            check_execute(nested, nested_description)
        except WpsError as error:
            raise error.within(here, nested.identifier) from None
        try:  # what the nested process gives, against what the input it feeds takes
            parameter = description.input(name)
            assert parameter is not None  # check_execute refused unknown inputs
            _check_feed(parameter, used_output(nested, nested_description), nested)
        except WpsError as error:
            raise error.located_at(here, f"input {here!r}, fed by process {nested.identifier!r}") from None
        _check_nested(nested, nested_description, describe, depth, (*path, name))


def _check_feed(
    parameter: ParameterDescription, output: ParameterDescription, nested: ExecuteRequest
) -> None:
    """The output can feed the input: the same kind of data, in a format the input accepts."""
    if output.kind is not parameter.kind:
        raise InvalidParameterValue(
            f"output {output.identifier!r} is {output.kind.value} data; input {parameter.identifier!r} "
            f"expects {parameter.kind.value} data"
        )
    if output.formats:
        asked = nested.response.outputs[0] if nested.response.outputs else None
        produced = output.find_format(
            asked.mime_type if asked else None,
            asked.encoding if asked else None,
            asked.schema_url if asked else None,
        )
        parameter.find_format(produced.mime_type, produced.encoding, produced.schema_url)
