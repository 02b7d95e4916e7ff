"""``zonal_statistics``: per-zone statistics of a raster's first band, chunk by chunk.

Each raster chunk is one task that, for every zone whose pixel window meets the chunk, rasterizes
that zone alone on the chunk's own window (pixel centre inside, ``all_touched=False``) and reduces
the valid pixels to a mergeable :class:`Partial`: count, sum, mean and sum of squared deviations
(merged with Chan's parallel formula: a stable ``std``), min, max and a value :class:`Sketch` for
the median. Zones are rasterized one by one, so overlapping zones each count a shared pixel.
Partials are merged in a tree of ``dask.delayed`` tasks, so memory stays bounded by a few chunks
plus the partials; the GeoJSON is built by the last task, computed by the core with the job's
progress and cancellation callbacks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal, get_args

import dask.array as da
import numpy as np
import xarray as xr
from affine import Affine
from dask.delayed import Delayed, delayed
from pydantic import Field, field_validator
from rasterio.features import geometry_mask
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from app.algorithms.base import ComplexInput, LiteralInput, Output, Process, ProcessInputs
from app.algorithms.formats import GEOJSON_FORMATS, GEOTIFF_FORMATS, VECTOR_FORMATS
from app.model.descriptions import DataKind
from app.raster.grid import Grid, Nodata, is_nodata
from app.raster.vectors import CRS84, Vector, to_crs

Statistic = Literal["count", "min", "max", "mean", "std", "sum", "median"]
STATISTICS: tuple[Statistic, ...] = get_args(Statistic)
MAX_SKETCH = 1 << 16  # distinct values a zone's median sketch keeps exactly
SKETCH_BUDGET = 1 << 24  # sketch entries (16 bytes each) across all zones
MERGE_FANIN = 8


@dataclass(frozen=True)
class Sketch:
    """Sorted distinct values with their counts: exact until compressed to ``limit`` buckets."""

    values: np.ndarray
    counts: np.ndarray  # int64
    exact: bool = True

    @classmethod
    def of(cls, values: np.ndarray, limit: int) -> Sketch:
        """The sketch of some values (a histogram for 8/16-bit integers, a sort otherwise)."""
        if _small_integers(values.dtype):
            offset = int(np.iinfo(values.dtype).min) if values.dtype.kind == "i" else 0
            histogram = np.bincount(values if offset == 0 else values.astype(np.int32) - offset)
            present = np.flatnonzero(histogram)
            return cls(present + offset, histogram[present].astype(np.int64))
        distinct, counts = np.unique(values, return_counts=True)
        return cls(distinct, counts.astype(np.int64)).limited(limit)

    def merge(self, other: Sketch, limit: int) -> Sketch:
        """Both sketches in one (compressed when it holds more than ``limit`` values)."""
        distinct, inverse = np.unique(np.concatenate([self.values, other.values]), return_inverse=True)
        counts = np.bincount(inverse, weights=np.concatenate([self.counts, other.counts]))
        return Sketch(distinct, counts.astype(np.int64), self.exact and other.exact).limited(limit)

    def limited(self, limit: int) -> Sketch:
        """At most ``limit`` entries: runs of values of about equal total count become their mean."""
        if len(self.values) <= limit:
            return self
        ends = np.cumsum(self.counts)
        bucket = (ends - self.counts) * limit // ends[-1]
        starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
        counts = np.add.reduceat(self.counts, starts)
        weighted = np.add.reduceat(self.values.astype(np.float64) * self.counts, starts)
        return Sketch(weighted / counts, counts, exact=False)

    def median(self) -> float:
        """The middle value (the mean of the two middle ones for an even count), as numpy's."""
        ends = np.cumsum(self.counts)
        total = int(ends[-1])
        low = self.values[np.searchsorted(ends, (total - 1) // 2, side="right")]
        high = self.values[np.searchsorted(ends, total // 2, side="right")]
        return (float(low) + float(high)) / 2


def _small_integers(dtype: np.dtype) -> bool:
    return dtype.kind in "iu" and dtype.itemsize <= 2


def sketch_limit(dtype: np.dtype, zones: int) -> int:
    """Entries a median sketch may keep: all of them for 8/16-bit integers, else a memory share."""
    if _small_integers(dtype):
        return MAX_SKETCH
    return max(1024, min(MAX_SKETCH, SKETCH_BUDGET // max(zones, 1)))


@dataclass(frozen=True)
class Partial:
    """Mergeable aggregates of one zone's valid pixels."""

    count: int
    total: float
    mean: float
    m2: float  # sum of squared deviations from the mean
    minimum: float
    maximum: float
    sketch: Sketch | None

    @classmethod
    def of(cls, values: np.ndarray, limit: int | None) -> Partial:
        """The aggregates of a non-empty 1-D array (a sketch only when ``limit`` is given)."""
        if _small_integers(values.dtype):
            return cls.of_histogram(Sketch.of(values, MAX_SKETCH), keep=limit is not None)
        as_float = values.astype(np.float64)
        mean = float(as_float.mean())
        exact_sum = values.dtype.kind in "iu" and values.dtype.itemsize <= 4
        return cls(
            count=int(values.size),
            total=int(values.sum(dtype=np.int64)) if exact_sum else float(as_float.sum()),
            mean=mean,
            m2=float(np.square(as_float - mean).sum()),
            minimum=values.min().item(),
            maximum=values.max().item(),
            sketch=None if limit is None else Sketch.of(values, limit),
        )

    @classmethod
    def of_histogram(cls, histogram: Sketch, keep: bool) -> Partial:
        """The aggregates of exact integer values given as a histogram: one pass over its bins."""
        values, counts = histogram.values, histogram.counts
        count = int(counts.sum())
        total = int((values * counts).sum())
        mean = total / count
        return cls(
            count=count,
            total=total,
            mean=mean,
            m2=float((counts * np.square(values - mean)).sum()),
            minimum=int(values[0]),
            maximum=int(values[-1]),
            sketch=histogram if keep else None,
        )

    def merge(self, other: Partial, limit: int) -> Partial:
        """The aggregates of both sets of pixels (Chan et al.'s pairwise update)."""
        count = self.count + other.count
        delta = other.mean - self.mean
        sketch = None
        if self.sketch is not None and other.sketch is not None:
            sketch = self.sketch.merge(other.sketch, limit)
        return Partial(
            count=count,
            total=self.total + other.total,
            mean=self.mean + delta * other.count / count,
            m2=self.m2 + other.m2 + delta * delta * self.count * other.count / count,
            minimum=min(self.minimum, other.minimum),
            maximum=max(self.maximum, other.maximum),
            sketch=sketch,
        )

    def statistic(self, name: Statistic) -> float | None:
        """One statistic of these pixels."""
        values: dict[str, Any] = {
            "count": self.count,
            "min": self.minimum,
            "max": self.maximum,
            "mean": self.mean,
            "std": math.sqrt(max(self.m2, 0.0) / self.count),
            "sum": self.total,
            "median": self.sketch.median() if self.sketch is not None else None,
        }
        value = values[name]
        return None if isinstance(value, float) and not math.isfinite(value) else value


# ----------------------------------------------------------------------------- the chunked graph

ZoneJob = tuple[int, BaseGeometry, tuple[int, int, int, int]]  # zone index, geometry, window rows/cols


def zonal_partials(band: xr.DataArray, zones: Sequence[BaseGeometry], with_median: bool) -> Delayed:
    """Lazy ``{zone index: Partial}`` over the valid pixels of a 2-D band (zones in its CRS).

    Zones without a valid pixel are absent. Only chunks that some zone's window meets are read.
    """
    array = band.data if isinstance(band.data, da.Array) else da.from_array(band.data, chunks=band.shape)
    grid = Grid.of(band)
    limit = sketch_limit(np.dtype(array.dtype), len(zones))
    edges = [np.cumsum((0, *chunks)) for chunks in array.chunks]
    jobs: dict[tuple[int, int], list[ZoneJob]] = {}
    for index, geometry in enumerate(zones):
        window = None if geometry.is_empty else grid.window(geometry.bounds)
        if window is None:
            continue
        (row0, row1), (col0, col1) = window.toranges()
        for block in _blocks_between(edges, (row0, row1), (col0, col1)):
            jobs.setdefault(block, []).append((index, geometry, (row0, row1, col0, col1)))
    blocks = array.to_delayed()
    settings = (tuple(grid.transform)[:6], grid.nodata, limit if with_median else None)
    parts = [
        delayed(_block_partials)(blocks[i, j], (int(edges[0][i]), int(edges[1][j])), found, settings)
        for (i, j), found in jobs.items()
    ]
    while len(parts) > 1:
        groups = [parts[k : k + MERGE_FANIN] for k in range(0, len(parts), MERGE_FANIN)]
        parts = [delayed(_merge_maps)(group, limit) for group in groups]
    merged: Delayed = parts[0] if parts else delayed(dict)()
    return merged


def _blocks_between(
    edges: list[np.ndarray], rows: tuple[int, int], cols: tuple[int, int]
) -> list[tuple[int, int]]:
    """Indices of the chunks that a pixel window (row and column ranges) meets."""
    spans = [
        range(int(np.searchsorted(e, lo, "right")) - 1, int(np.searchsorted(e, hi - 1, "right")))
        for e, (lo, hi) in zip(edges, (rows, cols), strict=True)
    ]
    return [(i, j) for i in spans[0] for j in spans[1]]


def _block_partials(
    block: np.ndarray,
    origin: tuple[int, int],
    zones: list[ZoneJob],
    settings: tuple[tuple[float, ...], Nodata | None, int | None],
) -> dict[int, Partial]:
    """The partials of the zones that meet one chunk (``origin``: its first row and column)."""
    transform, nodata, limit = Affine(*settings[0]), settings[1], settings[2]
    found = {}
    for index, geometry, (row0, row1, col0, col1) in zones:
        rows = slice(max(row0 - origin[0], 0), min(row1 - origin[0], block.shape[0]))
        cols = slice(max(col0 - origin[1], 0), min(col1 - origin[1], block.shape[1]))
        window = block[rows, cols]
        if window.size == 0:
            continue
        at = transform @ Affine.translation(origin[1] + cols.start, origin[0] + rows.start)
        wanted = geometry_mask([geometry], out_shape=window.shape, transform=at, invert=True)
        wanted &= ~is_nodata(window, nodata)
        values = window[wanted]
        if values.size:
            found[index] = Partial.of(values, limit)
    return found


def _merge_maps(maps: list[dict[int, Partial]], limit: int) -> dict[int, Partial]:
    merged: dict[int, Partial] = {}
    for partials in maps:
        for index, partial in partials.items():
            known = merged.get(index)
            merged[index] = partial if known is None else known.merge(partial, limit)
    return merged


# ----------------------------------------------------------------------------- the GeoJSON output


def feature_collection(zones: Vector, partials: Mapping[int, Partial], wanted: Sequence[Statistic]) -> bytes:
    """One GeoJSON feature per zone: its geometry and properties plus the statistics.

    ``count`` is 0 and every other statistic null for a zone without a valid pixel; a zone
    property named like a statistic is replaced by it.
    """
    features = []
    for index, geometry in enumerate(zones.geometries):
        partial = partials.get(index)
        stats = {
            name: partial.statistic(name) if partial else (0 if name == "count" else None) for name in wanted
        }
        feature: dict[str, Any] = {
            "type": "Feature",
            "geometry": None if geometry.is_empty else mapping(geometry),
            "properties": {**zones.properties[index], **stats},
        }
        if (identifier := zones.feature_id(index)) is not None:
            feature["id"] = identifier
        features.append(feature)
    document = {"type": "FeatureCollection", "features": features}
    return json.dumps(document, allow_nan=False, separators=(",", ":")).encode()


class ZonalInputs(ProcessInputs):
    """Inputs of ``zonal_statistics``."""

    raster: Annotated[
        xr.DataArray, ComplexInput("Raster", GEOTIFF_FORMATS, "GeoTIFF; statistics of its first band.")
    ]
    zones: Annotated[
        Vector,
        ComplexInput(
            "Zones",
            VECTOR_FORMATS,
            "GeoJSON (RFC 7946 lon/lat unless a legacy crs member says otherwise) or a zipped "
            "shapefile (.prj honoured; without one the raster's CRS is assumed). One zone per feature.",
        ),
    ]
    statistics: Annotated[
        list[Statistic] | None,
        Field(min_length=1, max_length=len(STATISTICS)),
        LiteralInput(
            "Statistics",
            "Statistics to compute: repeat the input for several, or give one comma list "
            "(count,mean,max). Default: all of them.",
        ),
    ] = None

    @field_validator("statistics", mode="before")
    @classmethod
    def _comma_lists(cls, value: object) -> object:
        """Each occurrence may be one statistic or a comma list of them, as KVP and JSON users write."""
        if not isinstance(value, list):
            return value
        split: list[object] = []
        for item in value:
            parts = item.split(",") if isinstance(item, str) else [item]
            split.extend(part.strip() if isinstance(part, str) else part for part in parts)
        return [part for part in split if part != ""]


class ZonalStatistics(Process):
    """Statistics of a raster's first band within each zone of a vector layer.

    A pixel belongs to a zone when its centre lies inside the zone's geometry; nodata and NaN
    pixels are left out; overlapping zones each count the pixels they share. Computed chunk by
    chunk, so rasters larger than memory work.
    """

    identifier = "zonal_statistics"
    title = "Zonal statistics"
    keywords = ("zonal", "statistics", "raster", "vector")
    Inputs = ZonalInputs
    outputs = (
        Output(
            "statistics",
            "Statistics per zone",
            DataKind.COMPLEX,
            formats=GEOJSON_FORMATS,
            abstract=(
                "GeoJSON FeatureCollection, one feature per zone in input order: the zone's geometry "
                "in lon/lat (RFC 7946), its properties and id, plus the statistics asked for. count "
                "is 0 and the others null for a zone without a valid pixel. std is the population "
                "standard deviation. median is exact for 8- and 16-bit integer rasters (a value "
                "histogram per zone) and, for other types, while a zone holds at most 65536 distinct "
                "values (fewer with more than 256 zones); beyond that it is approximate, from "
                "equal-count buckets of about 1/65536 of the zone's pixels each."
            ),
        ),
    )

    def run(self, inputs: ZonalInputs) -> Mapping[str, object]:
        """Build the lazy per-chunk reductions and the task that writes the GeoJSON."""
        band = inputs.raster.isel(band=0)
        located = to_crs(inputs.zones, Grid.of(band).crs, locator="zones", assume_crs=True)
        wanted: tuple[Statistic, ...] = tuple(dict.fromkeys(inputs.statistics or STATISTICS))
        partials = zonal_partials(band, located.geometries, with_median="median" in wanted)
        original = inputs.zones if inputs.zones.crs is not None else replace(inputs.zones, crs=located.crs)
        lonlat = to_crs(original, CRS84, locator="zones")
        return {"statistics": delayed(feature_collection)(lonlat, partials, wanted)}
