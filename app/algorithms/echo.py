"""``echo``: returns its inputs unchanged; the process the OGC WPS 2.0 and OGC API test suites call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from app.algorithms.base import (
    BBoxInput,
    ComplexInput,
    LiteralInput,
    Output,
    Process,
    ProcessInputs,
)
from app.algorithms.formats import EPSG_CRSS, GENERIC_FORMATS
from app.model.descriptions import DataKind, LiteralDomain
from app.model.requests import BoundingBoxValue, ComplexValue


class EchoInputs(ProcessInputs):
    """Inputs of ``echo``."""

    literal: Annotated[str, LiteralInput("Literal value", "Any string; returned as is.")]
    complex: Annotated[
        ComplexValue | None, ComplexInput("Complex value", GENERIC_FORMATS, "Returned as is.")
    ] = None
    bbox: Annotated[BoundingBoxValue | None, BBoxInput("Bounding box", EPSG_CRSS, "Returned as is.")] = None


class Echo(Process):
    """Echo the literal, complex and bounding box inputs back as outputs of the same names."""

    identifier = "echo"
    title = "Echo"
    keywords = ("test",)
    Inputs = EchoInputs
    outputs = (
        Output("literal", "Literal value", DataKind.LITERAL, literal=LiteralDomain()),
        Output("complex", "Complex value", DataKind.COMPLEX, formats=GENERIC_FORMATS),
        Output("bbox", "Bounding box", DataKind.BBOX, crss=EPSG_CRSS),
    )

    def run(self, inputs: EchoInputs) -> Mapping[str, object]:
        """Hand the values back; absent optional inputs give absent outputs."""
        results: dict[str, object] = {"literal": inputs.literal}
        if inputs.complex is not None:
            results["complex"] = inputs.complex
        if inputs.bbox is not None:
            results["bbox"] = inputs.bbox
        return results
