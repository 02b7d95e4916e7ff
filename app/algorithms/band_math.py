"""``band_math``: a safe arithmetic expression over the bands of 1..N rasters on one grid.

Conventions (what the process description promises):

- Bands are named across the ``raster`` inputs in request order: the k bands of the first raster
  are ``b1..bk``, the next raster's bands follow (single-band inputs: ``b1..bN``, one per input).
- Evaluation is in float64, block by block (one task per chunk, never the whole scene).
- Nodata: a pixel is nodata in the result when it is nodata (or NaN) in any band the expression
  uses, or when the result is not a finite number there (``x / 0``, ``log(0)``, ``sqrt(-1)``,
  overflow, an explicit ``nan``).
- Casting: float32/float64 keep the value (NaN nodata). Integer types round half away from zero
  (as GDAL does) and never wrap or saturate: values outside the type's range are nodata (use
  ``clip(x, lo, hi)`` to saturate). The nodata value is the service's rule (``default_nodata``):
  the type's maximum for unsigned types (255, 65535, 4294967295) and its minimum for signed ones
  (-32768, -2147483648); that value is reserved, so a result equal to it reads as nodata.
  Booleans become 1 and 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Literal

import numpy as np
import xarray as xr
from pydantic import Field

from app.algorithms.base import ComplexInput, LiteralInput, Output, Process, ProcessInputs
from app.algorithms.expression import Expression, parse_expression
from app.algorithms.formats import GEOTIFF_FORMATS
from app.model.descriptions import DataKind
from app.raster.grid import Grid, default_nodata, is_nodata

OutputType = Literal["float32", "uint8", "uint16", "int16", "uint32", "int32", "float64"]
MAX_RASTERS = 32


def _bands(rasters: Sequence[xr.DataArray]) -> dict[str, xr.DataArray]:
    """Every band as a (y, x) DataArray as stored (its nodata in ``rio.nodata``), keyed b1..bN."""
    planes: list[xr.DataArray] = []
    for raster in rasters:
        if "band" in raster.dims:
            planes.extend(
                raster.isel(band=i).drop_vars("band", errors="ignore") for i in range(raster.sizes["band"])
            )
        else:
            planes.append(raster)
    return {f"b{i}": plane for i, plane in enumerate(planes, 1)}


def round_half_away(values: np.ndarray) -> np.ndarray:
    """Round to the nearest integer, halves away from zero (2.5 -> 3, -2.5 -> -3)."""
    truncated = np.trunc(values)
    halves = np.abs(values - truncated) == 0.5
    rounded: np.ndarray = np.where(halves, truncated + np.sign(values), np.rint(values))
    return rounded


def cast_result(values: np.ndarray, invalid: np.ndarray, dtype: str) -> np.ndarray:
    """Cast float64 results to ``dtype``; invalid, non-finite or out-of-range pixels get nodata."""
    target = np.dtype(dtype)
    nodata = default_nodata(dtype)
    with np.errstate(all="ignore"):
        if target.kind == "f":
            out = values.astype(target)
            out[invalid | ~np.isfinite(out)] = np.nan
            return out
        rounded = round_half_away(values)
        info = np.iinfo(target)
        valid = ~invalid & np.isfinite(rounded) & (rounded >= info.min) & (rounded <= info.max)
        return np.where(valid, rounded, nodata).astype(target)


def _evaluate_block(
    *blocks: np.ndarray, expression: Expression, nodata: tuple[float | None, ...], dtype: str
) -> np.ndarray:
    """The expression on one block of the used bands (or of b1 alone, for the shape).

    Bands are evaluated as float64 (exact for every 32-bit integer) as stored; where any used band
    is nodata the result is nodata whatever the expression gave there.
    """
    shape = blocks[0].shape
    values = {name: block.astype(np.float64) for name, block in zip(expression.names, blocks, strict=False)}
    raw = np.broadcast_to(np.asarray(expression.evaluate(values), dtype=np.float64), shape)
    invalid = np.zeros(shape, dtype=bool)
    for block, value in zip(blocks[: len(expression.names)], nodata, strict=True):
        invalid |= is_nodata(block, value)
    return cast_result(raw, invalid, dtype)


def band_math(
    rasters: Sequence[xr.DataArray], expression: str, dtype: OutputType = "float32"
) -> xr.DataArray:
    """Evaluate ``expression`` over the bands of ``rasters`` (same grid) as a lazy (y, x) raster.

    The expression is checked first (InvalidParameterValue, locator ``expression``).
    """
    bands = _bands(rasters)
    checked = parse_expression(expression, list(bands))
    used = [bands[name] for name in checked.names] or [bands["b1"]]
    nodata = tuple(bands[name].rio.nodata for name in checked.names)
    result = xr.apply_ufunc(
        _evaluate_block,
        *xr.align(*used, join="override"),
        kwargs={"expression": checked, "nodata": nodata, "dtype": dtype},
        dask="parallelized",
        output_dtypes=[np.dtype(dtype)],
    )
    return Grid.of(rasters[0]).with_nodata(default_nodata(dtype)).stamp(result)


class BandMathInputs(ProcessInputs):
    """Inputs of ``band_math``."""

    raster: Annotated[
        list[xr.DataArray],
        Field(min_length=1, max_length=MAX_RASTERS),
        ComplexInput(
            "Rasters",
            GEOTIFF_FORMATS,
            "GeoTIFFs on one grid; their bands are b1..bN in request order.",
        ),
    ]
    expression: Annotated[
        str,
        LiteralInput("Expression", "For example (b2 - b1) / (b2 + b1) or where(b1 > 0, b1, nan)."),
    ]
    dtype: Annotated[OutputType, LiteralInput("Output data type")] = "float32"


class BandMath(Process):
    """Evaluate an arithmetic expression over the bands of one or more rasters on the same grid.

    Bands are named b1..bN across the ``raster`` inputs in request order (a multi-band raster
    contributes all its bands, in order). The language: numbers, nan, b1..bN, + - * / // % **,
    comparisons (< <= > >= == !=), & | ~ on comparisons, and/or/not, parentheses and the
    functions where(cond, a, b), abs, sqrt, log, log10, exp, floor, ceil, min(a, b, ...),
    max(a, b, ...), clip(x, lo, hi); nothing else (at most 1000 characters). Computation is in
    float64. A pixel is nodata where a band the expression uses is nodata or where the result
    is not finite (division by zero, log of 0, overflow). Integer outputs round half away from
    zero; values outside the type's range become nodata; the nodata value is the type's maximum
    (unsigned) or minimum (signed); float outputs use NaN. The result is on the inputs' grid.
    """

    identifier = "band_math"
    title = "Band math"
    keywords = ("band math", "calculator", "expression", "raster")
    Inputs = BandMathInputs
    outputs = (Output("result", "Result of the expression", DataKind.COMPLEX, formats=GEOTIFF_FORMATS),)

    def run(self, inputs: BandMathInputs) -> Mapping[str, object]:
        """Check the grids and the expression, then build the lazy result."""
        first = Grid.of(inputs.raster[0])
        for other in inputs.raster[1:]:
            first.require_same(Grid.of(other), locator="raster")
        return {"result": band_math(inputs.raster, inputs.expression, inputs.dtype)}
