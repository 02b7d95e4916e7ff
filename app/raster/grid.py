"""The grid of a raster (shape, north-up transform, CRS, nodata) and the one nodata rule.

:class:`Grid` is a small frozen value object in the spirit of odc-geo's ``GeoBox``, plus the
raster's nodata value. Every process reads the grid of its inputs with :meth:`Grid.of`, checks
alignment with :meth:`Grid.same_as` / :meth:`Grid.require_same`, and gives its result a grid with
:meth:`Grid.stamp` (CRS, transform and nodata in one step).

Nodata, in one place:

- :func:`default_nodata` is the value a raster without one gets wherever a process has to fill
  pixels (clip by geometry, reproject) or to reserve a value (band_math): NaN for floating point
  types (and complex), the type's maximum for unsigned integers (255, 65535, ...), its minimum for
  signed ones (-32768, ...). 0 is never the default: it is valid data in most unsigned imagery.
  ``bool`` counts as an unsigned type whose maximum is ``True``; a boolean raster has no spare
  value, so its default nodata hides every ``True`` pixel (give such a raster an explicit nodata).
- :func:`is_nodata` / :func:`as_float` read it: a pixel is nodata when it equals the declared
  nodata or is NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import rasterio.windows
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from rasterio.crs import CRS
from rasterio.transform import array_bounds

from app.model.errors import InvalidParameterValue

Nodata: TypeAlias = float | int  # NaN, a float or an exact integer (bool counts as an integer)
_EDGE = 1e-9  # pixels: a bound this close to a pixel edge does not reach into the next pixel


def default_nodata(dtype: npt.DTypeLike) -> Nodata:
    """The nodata value of a raster of ``dtype`` that declares none: the one rule of the service.

    NaN for floating point (and complex) types, the maximum for unsigned integers, the minimum
    for signed ones, exact (a Python int). ``bool`` is treated as unsigned: ``True``.
    """
    kind = np.dtype(dtype)
    if kind.kind in "fc":
        return math.nan
    if kind.kind == "b":
        return True
    if kind.kind in "iu":
        info = np.iinfo(kind)
        return int(info.max if kind.kind == "u" else info.min)
    raise TypeError(f"rasters of type {kind} have no nodata rule")


def nodata_or_default(nodata: Nodata | None, dtype: npt.DTypeLike) -> Nodata:
    """``nodata`` if the raster declares one, else :func:`default_nodata` of its type."""
    return default_nodata(dtype) if nodata is None else nodata


def is_nodata(values: npt.NDArray[np.generic], nodata: Nodata | None) -> npt.NDArray[np.bool_]:
    """Where ``values`` are nodata: equal to the declared ``nodata``, or NaN (floats)."""
    if values.dtype.kind in "fc":
        missing: npt.NDArray[np.bool_] = np.isnan(values)
    else:
        missing = np.zeros(values.shape, dtype=bool)
    if nodata is not None and not math.isnan(nodata):
        missing |= values == nodata
    return missing


def as_float(data: xr.DataArray) -> xr.DataArray:
    """The raster as float32 with its nodata pixels set to NaN (lazy)."""
    nodata = data.rio.nodata
    as_f32 = data.astype(np.float32)
    if nodata is None or math.isnan(nodata):
        return as_f32
    return as_f32.where(data != nodata)


def _plain(nodata: object) -> Nodata | None:
    """A nodata value as a Python number (rioxarray hands out numpy scalars)."""
    if nodata is None:
        return None
    value = nodata.item() if isinstance(nodata, np.generic) else nodata
    if not isinstance(value, float | int):
        raise TypeError(f"nodata {nodata!r} is not a number")
    return value


@dataclass(frozen=True, eq=False)
class Grid:
    """A georeferenced pixel grid: CRS, north-up transform, size, and the raster's nodata.

    ``nodata`` is None when the raster declares none. It belongs to the value (``==`` compares
    it, NaN equal to NaN) but not to alignment: :meth:`same_as` and :meth:`require_same` ignore
    it, since rasters on one grid may mark their missing pixels differently and each input's
    nodata is read from its own grid.
    """

    crs: CRS
    transform: Affine
    height: int
    width: int
    nodata: Nodata | None = None

    def __post_init__(self) -> None:
        if self.transform.b != 0 or self.transform.d != 0:
            raise ValueError(f"the transform {tuple(self.transform)[:6]} is rotated (not north-up)")
        if self.height < 0 or self.width < 0:
            raise ValueError(f"a grid cannot be {self.height} x {self.width} pixels")

    @classmethod
    def of(cls, data: xr.DataArray) -> Grid:
        """The grid of a georeferenced raster DataArray (ValueError if it has no CRS)."""
        crs = data.rio.crs
        if crs is None:
            raise ValueError("the raster has no CRS")
        height: int = data.rio.height
        width: int = data.rio.width
        return cls(crs, data.rio.transform(), height, width, _plain(data.rio.nodata))

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width): rows and columns."""
        return self.height, self.width

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) of the outer pixel edges, in the grid's CRS."""
        left, bottom, right, top = array_bounds(self.height, self.width, self.transform)
        return float(left), float(bottom), float(right), float(top)

    def with_nodata(self, nodata: Nodata | None) -> Grid:
        """The same grid with another nodata value (None: none declared)."""
        return replace(self, nodata=nodata)

    def crop(self, rows: tuple[int, int], cols: tuple[int, int]) -> Grid:
        """The grid of the pixels ``rows`` x ``cols`` (start, stop) of this one; nodata kept."""
        return replace(
            self,
            transform=self.transform @ Affine.translation(cols[0], rows[0]),
            height=rows[1] - rows[0],
            width=cols[1] - cols[0],
        )

    def window(self, bounds: tuple[float, float, float, float]) -> rasterio.windows.Window | None:
        """The pixels whose area meets ``bounds`` (left, bottom, right, top); None if none do.

        Clipped to the grid. A bound within a billionth of a pixel of an edge counts as on it.
        """
        left, bottom, right, top = bounds
        window = rasterio.windows.from_bounds(left, bottom, right, top, self.transform)
        col0 = max(math.floor(window.col_off + _EDGE), 0)
        row0 = max(math.floor(window.row_off + _EDGE), 0)
        col1 = min(math.ceil(window.col_off + window.width - _EDGE), self.width)
        row1 = min(math.ceil(window.row_off + window.height - _EDGE), self.height)
        if col1 <= col0 or row1 <= row0:
            return None
        return rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0)

    def coords(self) -> dict[str, npt.NDArray[np.floating[Any]]]:
        """The ``y`` and ``x`` coordinates of the pixel centres."""
        t = self.transform
        return {
            "y": t.f + t.e * (np.arange(self.height) + 0.5),
            "x": t.c + t.a * (np.arange(self.width) + 0.5),
        }

    def differences(self, other: Grid) -> list[str]:
        """How ``other`` is not on this grid (nothing: the same grid); nodata is not compared."""
        problems = []
        if self.crs != other.crs:
            problems.append(f"CRS {other.crs} differs from {self.crs}")
        if self.shape != other.shape:
            problems.append(f"size {other.shape} differs from {self.shape}")
        if not self.transform.almost_equals(other.transform):
            problems.append("the geotransforms differ")
        return problems

    def same_as(self, other: Grid) -> bool:
        """Same CRS and size, transforms equal up to rounding (affine's ``almost_equals``, 1e-5)."""
        return not self.differences(other)

    def require_same(self, other: Grid, locator: str) -> None:
        """Raise InvalidParameterValue (for input ``locator``, on ``other``) unless the same grid."""
        problems = self.differences(other)
        if problems:
            raise InvalidParameterValue(
                f"input {locator!r} is not on the same grid: " + "; ".join(problems), locator=locator
            )

    def stamp(self, data: xr.DataArray) -> xr.DataArray:
        """``data`` as a raster on this grid: CRS, transform and nodata written (lazy).

        ``data`` must have the grid's size. Its other attributes are dropped: a result carries
        its grid, not its inputs' metadata. Without a nodata, any declared one is removed.
        """
        if (data.rio.height, data.rio.width) != self.shape:
            raise ValueError(f"a {data.rio.height} x {data.rio.width} raster is not on a {self.shape} grid")
        placed: xr.DataArray = data.rio.write_crs(self.crs).rio.write_transform(self.transform)
        placed.attrs = {}
        stamped: xr.DataArray = placed.rio.write_nodata(self.nodata, encoded=False)
        return stamped

    def _key(self) -> tuple[object, ...]:
        nodata = "nan" if self.nodata is not None and math.isnan(self.nodata) else self.nodata
        return self.crs, self.transform, self.height, self.width, nodata

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Grid):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())
