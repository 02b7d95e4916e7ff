"""What an execution produced, ready for any face to encode."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from app.model.base import Model
from app.model.descriptions import DataKind, Format, ParameterDescription, ProcessDescription
from app.model.requests import ExecuteRequest


class LiteralResult(Model):
    """A literal output value."""

    kind: Literal[DataKind.LITERAL] = DataKind.LITERAL
    value: str
    data_type: str = "string"
    uom: str | None = None


class ComplexResult(Model):
    """A complex output: bytes in memory, or a file under the job's output folder."""

    kind: Literal[DataKind.COMPLEX] = DataKind.COMPLEX
    format: Format
    data: bytes | None = None
    path: Path | None = None

    @property
    def raster_file(self) -> Path | None:
        """The GeoTIFF file of a raster output (what its map tiles are read from); None otherwise."""
        return self.path if self.path is not None and self.path.suffix == ".tif" else None


class BoundingBoxResult(Model):
    """A bounding box output."""

    kind: Literal[DataKind.BBOX] = DataKind.BBOX
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    crs: str | None = None


OutputResult = LiteralResult | ComplexResult | BoundingBoxResult


class DeliveredOutput(Model):
    """One output as the response delivers it: by value, or by reference to a URL."""

    description: ParameterDescription
    result: OutputResult
    reference: str | None = None  # public URL when delivered by reference


class ExecuteResult(Model):
    """What an Execute produced, ready to encode."""

    job_id: str
    request: ExecuteRequest
    process: ProcessDescription
    outputs: tuple[DeliveredOutput, ...]
