"""``change_detection``: per-pixel change between two dates of a raster, a change mask and its share.

Definitions (what the process description promises), on the first band of each input:

- ``difference``: after - before; ``ratio``: after / before; ``normalized_difference``:
  (after - before) / (after + before). Float32, NaN where either input is nodata (or NaN) or the
  division is undefined (zero denominator).
- The change magnitude compared with ``threshold``: |after - before| for ``difference``,
  |ratio - 1| for ``ratio`` (a relative change: 0.1 is +-10 %), |normalized difference| for
  ``normalized_difference``. A pixel has changed when the magnitude is strictly greater than the
  threshold.
- ``mask``: uint8, 1 changed, 0 unchanged, 255 (declared nodata) where the change is NaN.
- ``changed_fraction``: changed pixels / valid (non-NaN) pixels; 0 when no pixel is valid.
  It is a lazy reduction, computed by the job (chunk by chunk, with its progress callbacks).

``after`` is aligned to ``before``'s grid when the grids differ (``Grid.same_as``: CRS, size and
transform up to rounding): converted to float32 (NaN for nodata) and warped bilinearly by the
chunked reprojection of ``warp.py``, nodata left out of the interpolation. The outputs share
one lazy graph and the service computes every requested output of a job in one pass, so asking
for all three reads, and if needed warps, the inputs once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Literal

import dask.array as da
import numpy as np
import xarray as xr
from pydantic import Field
from rasterio.enums import Resampling

from app.algorithms.base import ComplexInput, LiteralInput, Output, Process, ProcessInputs
from app.algorithms.formats import GEOTIFF_FORMATS
from app.algorithms.warp import source_window, warp
from app.model.descriptions import DataKind, LiteralDomain
from app.model.errors import InvalidParameterValue
from app.model.rendering import Rendering
from app.raster.grid import Grid, as_float

Method = Literal["difference", "ratio", "normalized_difference"]
# the change mask: 1 changed (red), 0 unchanged (white), 255 nodata (transparent)
_MASK_RENDERING = Rendering(rescale=(0, 1), colormap_name="reds")
MASK_NODATA = 255


def align(after: xr.DataArray, before: xr.DataArray) -> xr.DataArray:
    """``after`` (one band) as float32 with NaN nodata, on ``before``'s grid (bilinear if moved)."""
    grid = Grid.of(before).with_nodata(math.nan)
    source = Grid.of(after).with_nodata(math.nan)
    values = source.stamp(as_float(after))
    if grid.same_as(source):
        return values.assign_coords(before.coords)  # equal grids up to rounding: one set of coords
    if source_window(source, grid, (0, grid.height), (0, grid.width)) is None:
        raise InvalidParameterValue("input 'after' does not overlap 'before'", locator="after")
    return warp(values, grid, Resampling.bilinear)  # NaN where after does not reach


def change(before: xr.DataArray, after: xr.DataArray, method: Method = "difference") -> xr.DataArray:
    """The per-pixel change (float32, NaN where undefined) on ``before``'s grid (lazy)."""
    grid = Grid.of(before).with_nodata(math.nan)  # float32 results, NaN nodata
    old = grid.stamp(as_float(before))
    new = align(after, before).assign_coords(old.coords)
    if method == "difference":
        result = new - old
    elif method == "ratio":
        result = new / old.where(old != 0)
    else:
        total = new + old
        result = (new - old) / total.where(total != 0)
    return grid.stamp(result.astype(np.float32))


def magnitude(change_: xr.DataArray, method: Method) -> xr.DataArray:
    """What the threshold is compared with: |change|, or |ratio - 1| for ``ratio`` (float64)."""
    values = change_.astype(np.float64)
    return abs(values - 1.0) if method == "ratio" else abs(values)


def change_mask(change_: xr.DataArray, method: Method, threshold: float) -> xr.DataArray:
    """uint8 mask: 1 where the magnitude exceeds ``threshold``, 0 where not, 255 where NaN."""
    size = magnitude(change_, method)
    mask = (size > threshold).astype(np.uint8)
    mask = mask.where(~np.isnan(change_), np.uint8(MASK_NODATA)).astype(np.uint8)
    return Grid.of(change_).with_nodata(MASK_NODATA).stamp(mask)


def changed_fraction(mask: xr.DataArray) -> xr.DataArray:
    """Changed pixels over valid pixels as a lazy 0-d float64 array (0 without valid pixels)."""
    data = mask.data if isinstance(mask.data, da.Array) else da.from_array(mask.data)
    changed = (data == 1).sum(dtype=np.int64)
    valid = (data != MASK_NODATA).sum(dtype=np.int64)
    return xr.DataArray(da.where(valid > 0, changed / da.maximum(valid, 1), 0.0))


class ChangeInputs(ProcessInputs):
    """Inputs of ``change_detection``."""

    before: Annotated[
        xr.DataArray, ComplexInput("Before", GEOTIFF_FORMATS, "GeoTIFF of the first date; band 1.")
    ]
    after: Annotated[
        xr.DataArray,
        ComplexInput(
            "After",
            GEOTIFF_FORMATS,
            "GeoTIFF of the second date; band 1. Warped bilinearly onto before's grid if it differs.",
        ),
    ]
    method: Annotated[
        Method,
        LiteralInput(
            "Method",
            "difference (after - before), ratio (after / before) or normalized_difference "
            "((after - before) / (after + before)).",
        ),
    ] = "difference"
    threshold: Annotated[
        float,
        Field(ge=0, allow_inf_nan=False),
        LiteralInput(
            "Threshold",
            "Changed where |difference|, |ratio - 1| or |normalized difference| exceeds it.",
        ),
    ] = 0.1


class ChangeDetection(Process):
    """Change between two rasters of the same area: difference, change mask and changed share.

    ``difference`` is after - before, after / before or (after - before) / (after + before) by
    method, as float32 on before's grid, NaN where an input is nodata or the ratio is undefined.
    A pixel has changed when |difference| (difference, normalized_difference) or |ratio - 1|
    (ratio) is greater than the threshold. ``mask`` is uint8: 1 changed, 0 unchanged, 255 nodata.
    ``changed_fraction`` is changed pixels / valid pixels (0 if none is valid). ``after`` is
    warped bilinearly onto before's grid when the grids differ; the first band of each is used.
    """

    identifier = "change_detection"
    title = "Change detection"
    keywords = ("change", "difference", "multi-temporal", "raster")
    Inputs = ChangeInputs
    outputs = (
        Output("difference", "Change", DataKind.COMPLEX, formats=GEOTIFF_FORMATS),
        Output("mask", "Change mask", DataKind.COMPLEX, formats=GEOTIFF_FORMATS, rendering=_MASK_RENDERING),
        Output(
            "changed_fraction",
            "Changed fraction",
            DataKind.LITERAL,
            literal=LiteralDomain(data_type="double"),
            abstract="Changed pixels / valid pixels, 0..1.",
        ),
    )

    @classmethod
    def rendering(cls, output: str, literals: Mapping[str, str]) -> Rendering:
        """The mask white to red; the change on a diverging colormap (no change in its middle)."""
        if output == "mask":
            return _MASK_RENDERING
        if literals.get("method") == "normalized_difference":
            return Rendering(rescale=(-1, 1), colormap_name="rdbu")
        return Rendering(colormap_name="rdbu")  # difference and ratio: their range comes from the data

    def run(self, inputs: ChangeInputs) -> Mapping[str, object]:
        """Build the lazy change, its mask and the fraction reduction."""
        before, after = inputs.before.isel(band=0), inputs.after.isel(band=0)
        difference = change(before, after, inputs.method)
        mask = change_mask(difference, inputs.method, inputs.threshold)
        return {"difference": difference, "mask": mask, "changed_fraction": changed_fraction(mask)}
