"""Check a request against what the service offers before anything runs: language, process, inputs."""

from __future__ import annotations

from app.model.descriptions import DataKind, ParameterDescription, ProcessDescription
from app.model.errors import (
    InvalidParameterValue,
    MissingParameterValue,
    NoSuchInput,
    NoSuchOutput,
    StorageNotSupported,
    TooManyInputs,
)
from app.model.requests import ComplexValue, ExecuteRequest, InputValue, NestedProcess, OutputRequest

LANGUAGES = ("en-US",)  # the languages the service answers in; the first is the default


def check_language(language: str | None) -> str:
    """The response language: the default, or the one asked for if we speak it."""
    if language is None or not language.strip():
        return LANGUAGES[0]
    spoken = _spoken(language)
    if spoken is None:
        raise InvalidParameterValue(f"language {language!r} is not supported", locator="language")
    return spoken


def choose_language(accepted: tuple[str, ...]) -> str:
    """The first of the client's languages the service speaks (``*``: any), else the default."""
    for language in accepted:
        spoken = LANGUAGES[0] if language.strip() == "*" else _spoken(language)
        if spoken is not None:
            return spoken
    return LANGUAGES[0]


def _spoken(language: str) -> str | None:
    for supported in LANGUAGES:
        if language.strip().lower() in {supported.lower(), supported.split("-")[0].lower()}:
            return supported
    return None


def check_execute(request: ExecuteRequest, description: ProcessDescription) -> None:
    """Raise the OWS exception a client should see for the first problem found."""
    if request.response.store and not description.store_supported:
        raise StorageNotSupported(f"process {description.identifier!r} cannot store its response")
    for name, _ in request.inputs:
        if description.input(name) is None:
            raise NoSuchInput(f"process {description.identifier!r} has no input {name!r}", locator=name)
    for parameter in description.inputs:
        _check_occurrences(parameter, request.values(parameter.identifier))
        for value in request.values(parameter.identifier):
            _check_value(parameter, value)
    _check_outputs(request, description)


def _check_occurrences(parameter: ParameterDescription, values: list[InputValue]) -> None:
    name = parameter.identifier
    if len(values) < parameter.min_occurs:
        raise MissingParameterValue(f"input {name!r} is required", locator=name)
    if parameter.max_occurs is not None and len(values) > parameter.max_occurs:
        raise TooManyInputs(
            f"input {name!r} occurs {len(values)} times, at most {parameter.max_occurs} allowed",
            locator=name,
        )


def _check_value(parameter: ParameterDescription, value: InputValue) -> None:
    name = parameter.identifier
    if isinstance(value, NestedProcess):
        return  # an output of another process: checked with the whole tree (service/nesting.py)
    if isinstance(value, ComplexValue) and value.href and parameter.kind is not DataKind.COMPLEX:
        return  # a literal or bounding box by reference: read (and checked) when the job runs
    if value.kind is not parameter.kind:
        raise InvalidParameterValue(
            f"input {name!r} expects {parameter.kind.value} data, got {value.kind.value}", locator=name
        )
    if value.kind is DataKind.COMPLEX:
        parameter.find_format(value.mime_type, value.encoding, value.schema_url)
    if value.kind is DataKind.BBOX and len(value.lower) != len(value.upper):
        raise InvalidParameterValue(f"input {name!r}: corners of different dimensions", locator=name)


def _check_outputs(request: ExecuteRequest, description: ProcessDescription) -> None:
    for output in request.response.outputs:
        parameter = description.output(output.identifier)
        if parameter is None:
            raise NoSuchOutput(
                f"process {description.identifier!r} has no output {output.identifier!r}",
                locator=output.identifier,
            )
        _check_output_format(parameter, output)


def _check_output_format(parameter: ParameterDescription, output: OutputRequest) -> None:
    if parameter.kind is DataKind.COMPLEX:
        parameter.find_format(output.mime_type, output.encoding, output.schema_url)
    elif parameter.kind is DataKind.LITERAL and output.uom:
        uoms = parameter.literal.uoms if parameter.literal else ()
        if output.uom not in uoms:
            raise InvalidParameterValue(
                f"output {parameter.identifier!r} has no unit {output.uom!r}", locator=parameter.identifier
            )
