"""How a process is declared: once, as a class with a typed pydantic ``Inputs`` model.

The public description (WPS 1.0.0, 2.0.0, JSON) is derived from the declaration by
:func:`describe`; nothing about a process is written twice.

- literal inputs: ``Annotated[float, Field(ge=0), LiteralInput("Title")]``; ``Literal[...]`` gives
  AllowedValues, bounds give a range, the field default gives DefaultValue;
- complex inputs: ``Annotated[xr.DataArray, ComplexInput("Title", GEOTIFF_FORMATS)]`` (opened lazily
  as a raster before ``run``) or ``Annotated[ComplexValue, ComplexInput(...)]`` (raw data);
- bounding boxes: ``Annotated[BoundingBoxValue, BBoxInput("Title")]``;
- ``list[...]`` with ``min_length``/``max_length`` gives minOccurs/maxOccurs; ``X | None = None``
  gives minOccurs 0.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel, ConfigDict
from pydantic.fields import FieldInfo

from app.algorithms.formats import EPSG_CRSS
from app.model.descriptions import (
    DataKind,
    Format,
    LiteralDomain,
    ParameterDescription,
    ProcessDescription,
    ValueRange,
)
from app.model.rendering import FROM_THE_DATA, Rendering


@dataclass(frozen=True)
class LiteralInput:
    """Marks a literal input; the data type and domain come from the annotation."""

    title: str
    abstract: str = ""
    uoms: tuple[str, ...] = ()


@dataclass(frozen=True)
class ComplexInput:
    """Marks a complex input and the formats it accepts (the first is the default)."""

    title: str
    formats: tuple[Format, ...]
    abstract: str = ""


@dataclass(frozen=True)
class BBoxInput:
    """Marks a bounding box input and the CRSs it advertises (any EPSG code is accepted)."""

    title: str
    crss: tuple[str, ...] = EPSG_CRSS
    abstract: str = ""


InputMarker = LiteralInput | ComplexInput | BBoxInput


@dataclass(frozen=True)
class Output:
    """One output of a process."""

    identifier: str
    title: str
    kind: DataKind
    formats: tuple[Format, ...] = ()
    literal: LiteralDomain | None = None
    crss: tuple[str, ...] = ()
    abstract: str = ""
    rendering: Rendering = FROM_THE_DATA  # raster outputs: how map tiles show them by default

    def describe(self) -> ParameterDescription:
        """The neutral description of this output."""
        return ParameterDescription(
            identifier=self.identifier,
            title=self.title,
            abstract=self.abstract,
            kind=self.kind,
            formats=self.formats,
            literal=self.literal,
            crss=self.crss,
        )


class ProcessInputs(BaseModel):
    """Base of every process's ``Inputs`` model: validated values handed to ``run``."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class Process:
    """A process: metadata as class attributes, an ``Inputs`` model, outputs and ``run``.

    ``run`` receives validated inputs (rasters already opened lazily) and returns a mapping from
    output identifier to a lazy ``xarray.DataArray`` (written as GeoTIFF), ``bytes``, a literal
    (str, int, float, bool) or a ``BoundingBoxValue``. It must not compute rasters itself.
    """

    identifier: ClassVar[str]
    title: ClassVar[str]
    version: ClassVar[str] = "1.0.0"
    keywords: ClassVar[tuple[str, ...]] = ()
    Inputs: ClassVar[type[ProcessInputs]]
    outputs: ClassVar[tuple[Output, ...]]

    def run(self, inputs: Any) -> Mapping[str, object]:
        """Build the (lazy) outputs from validated inputs."""
        raise NotImplementedError

    @classmethod
    def rendering(cls, output: str, literals: Mapping[str, str]) -> Rendering:
        """How map tiles show a raster output by default, given the job's literal inputs.

        The output's declared rendering; a process whose outputs mean different things by input
        (terrain: slope, aspect or hillshade) overrides this.
        """
        return next((o.rendering for o in cls.outputs if o.identifier == output), FROM_THE_DATA)


@dataclass(frozen=True)
class FieldShape:
    """What an ``Inputs`` field annotation says about occurrences and the value type."""

    base: Any
    min_occurs: int
    max_occurs: int | None
    is_list: bool


def field_shape(info: FieldInfo) -> FieldShape:
    """Occurrences and base type of one ``Inputs`` field."""
    annotation = info.annotation
    optional = not info.is_required()
    if isinstance(annotation, types.UnionType) or get_origin(annotation) is typing.Union:
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        annotation = members[0]
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        min_len = next((m.min_length for m in info.metadata if isinstance(m, at.MinLen)), 0)
        max_len = next((m.max_length for m in info.metadata if isinstance(m, at.MaxLen)), None)
        return FieldShape(_strip_annotated(item), 0 if optional else max(min_len, 1), max_len, True)
    return FieldShape(_strip_annotated(annotation), 0 if optional else 1, 1, False)


def _strip_annotated(annotation: Any) -> Any:
    return get_args(annotation)[0] if get_origin(annotation) is typing.Annotated else annotation


def input_marker(info: FieldInfo) -> InputMarker:
    """The LiteralInput / ComplexInput / BBoxInput marker attached to a field."""
    for meta in info.metadata:
        if isinstance(meta, LiteralInput | ComplexInput | BBoxInput):
            return meta
    raise TypeError(f"input field without a LiteralInput/ComplexInput/BBoxInput marker: {info}")


_DATA_TYPES: dict[type, Literal["string", "integer", "double", "boolean"]] = {
    str: "string",
    int: "integer",
    float: "double",
    bool: "boolean",
}


def _literal_domain(info: FieldInfo, base: Any, marker: LiteralInput) -> LiteralDomain:
    allowed: tuple[str, ...] = ()
    if get_origin(base) is Literal:
        values = get_args(base)
        allowed = tuple(_literal_text(v) for v in values)
        data_type = _DATA_TYPES[type(values[0])]
    else:
        data_type = _DATA_TYPES[base]
    default = None if info.is_required() or info.default is None else _literal_text(info.default)
    return LiteralDomain(
        data_type=data_type,
        allowed_values=allowed,
        ranges=_ranges(info),
        default=default,
        uoms=marker.uoms,
    )


def _literal_text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _ranges(info: FieldInfo) -> tuple[ValueRange, ...]:
    low = high = None
    low_open = high_open = False
    for meta in info.metadata:
        if isinstance(meta, at.Ge | at.Gt):
            low, low_open = float(getattr(meta, "ge", getattr(meta, "gt", 0))), isinstance(meta, at.Gt)
        if isinstance(meta, at.Le | at.Lt):
            high, high_open = float(getattr(meta, "le", getattr(meta, "lt", 0))), isinstance(meta, at.Lt)
    if low is None and high is None:
        return ()
    closure = {
        (False, False): "closed",
        (True, True): "open",
        (False, True): "closed-open",
        (True, False): "open-closed",
    }[(low_open, high_open)]
    return (ValueRange(minimum=low, maximum=high, closure=closure),)


def describe_input(name: str, info: FieldInfo) -> ParameterDescription:
    """The neutral description of one ``Inputs`` field."""
    shape = field_shape(info)
    marker = input_marker(info)
    common: dict[str, Any] = {
        "identifier": name,
        "title": marker.title,
        "abstract": marker.abstract or (info.description or ""),
        "min_occurs": shape.min_occurs,
        "max_occurs": shape.max_occurs,
    }
    if isinstance(marker, LiteralInput):
        domain = _literal_domain(info, shape.base, marker)
        return ParameterDescription(kind=DataKind.LITERAL, literal=domain, **common)
    if isinstance(marker, ComplexInput):
        return ParameterDescription(kind=DataKind.COMPLEX, formats=marker.formats, **common)
    return ParameterDescription(kind=DataKind.BBOX, crss=marker.crss, **common)


_DESCRIPTIONS: dict[type[Process], ProcessDescription] = {}


def describe(process: type[Process]) -> ProcessDescription:
    """Derive the public description of a process from its declaration (computed once)."""
    if process not in _DESCRIPTIONS:
        _DESCRIPTIONS[process] = _derive(process)
    return _DESCRIPTIONS[process]


def _derive(process: type[Process]) -> ProcessDescription:
    fields = process.Inputs.model_fields
    return ProcessDescription(
        identifier=process.identifier,
        title=process.title,
        abstract=inspect.cleandoc(process.__doc__ or ""),
        version=process.version,
        keywords=process.keywords,
        inputs=tuple(describe_input(name, info) for name, info in fields.items()),
        outputs=tuple(output.describe() for output in process.outputs),
        store_supported=True,  # every process runs as a job: stored, with status updates
        status_supported=True,
    )
