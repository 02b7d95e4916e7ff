"""Open a GeoTIFF lazily as a dask-backed ``xarray.DataArray`` (dims band, y, x).

Only metadata is read at open time. Each dask chunk is one task that opens the file, reads its
window and closes it again, so reads are thread-safe and run in parallel without a lock (GDAL
datasets must not be shared between threads; per-chunk handles are never shared), nothing stays
open after a job, and the graph pickles to a dask.distributed cluster as plain paths. Reopening is
cheap: GDAL caches the header of a ``/vsicurl/`` file per URL. Read failures become client-safe
``WrongInputData`` / ``DataNotAccessible`` errors carrying the input identifier, also when they
happen later, inside the computation.

A path is a local file, a plain ``/vsicurl/`` URL (trusted: code hands those over, requests never
do), or a guarded remote path from :func:`app.raster.fetch.resolve_reference`: each open (at the
start and in every chunk task, in whichever process runs it) reads it through that process's
egress proxy (:func:`app.raster.egress.gdal_path`), so every connection GDAL makes for the input,
redirects included, goes to an address checked when it was opened.

Chunks are multiples of the file's internal blocks, close to ``chunk_size`` pixels on a side;
striped files get full-width chunks of whole strips of about ``chunk_size**2`` pixels.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import dask.array as da
import numpy as np
import rasterio
import rasterio.windows
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from rasterio._err import CPLE_BaseError
from rasterio.enums import Interleaving
from rasterio.errors import NotGeoreferencedWarning, RasterioError

from app.model.errors import DataNotAccessible, WpsError, WrongInputData
from app.raster.egress import diagnose, gdal_path, remote_url
from app.raster.grid import Grid

log = logging.getLogger(__name__)

_NOT_FOUND = re.compile(r"HTTP response code: (\d{3})|does not exist in the file system", re.IGNORECASE)
_NETWORK = re.compile(r"curl|HTTP|timed? ?out|resolve host|connect|read error at|got 0 bytes", re.IGNORECASE)
_MAX_BANDS_PER_CHUNK = 16


@dataclass(frozen=True)
class RasterInfo:
    """What open_raster learns from the file header: the grid and the layout of the pixels."""

    grid: Grid
    count: int
    dtype: str
    block: tuple[int, int]  # (rows, cols) of the internal blocks
    pixel_interleaved: bool

    @property
    def striped(self) -> bool:
        """Whether blocks are strips of whole rows (one strip may be the whole image)."""
        return self.block[1] >= self.grid.width


def open_raster(path: str, *, chunk_size: int, locator: str) -> xr.DataArray:
    """Open a GeoTIFF lazily; dims (band, y, x), chunks aligned to its blocks, CRS and nodata set."""
    # A raster without georeferencing makes rasterio warn (NotGeoreferencedWarning) before it is
    # refused below; warnings.catch_warnings is not thread-safe, so the warning is left alone
    # (and turned into WrongInputData where warnings are errors).
    with _translated_errors(path, locator), rasterio.open(gdal_path(path), driver="GTiff") as src:
        info = _read_info(src, locator)
    reader = _WindowReader(path, info, locator)
    name = f"open_raster-{uuid.uuid4().hex}"
    array = da.from_array(
        reader,
        chunks=block_aligned_chunks(info, chunk_size),
        name=name,
        lock=False,
        meta=np.empty((0, 0, 0), dtype=info.dtype),
    )
    return _to_dataarray(array, info)


def block_aligned_chunks(info: RasterInfo, chunk_size: int) -> tuple[int, int, int]:
    """(bands, rows, cols) chunk shape: whole blocks, about ``chunk_size`` pixels on a side."""
    block_rows, block_cols = info.block
    height, width = info.grid.shape
    if info.striped:
        cols = width
        strips = round(chunk_size * chunk_size / (width * block_rows))
        rows = block_rows * max(1, strips)
        if block_rows * width > 4 * chunk_size * chunk_size:
            rows = chunk_size  # a few huge strips: whole strips would not fit a chunk
    else:
        rows = block_rows * max(1, round(chunk_size / block_rows))
        cols = block_cols * max(1, round(chunk_size / block_cols))
    bands = info.count if info.pixel_interleaved and info.count <= _MAX_BANDS_PER_CHUNK else 1
    return bands, min(rows, height), min(cols, width)


class _WindowReader:
    """Array-like over a raster file: indexing with slices reads that window (and only it)."""

    ndim = 3

    def __init__(self, path: str, info: RasterInfo, locator: str) -> None:
        self.path = path
        self.locator = locator
        self.shape = (info.count, *info.grid.shape)
        self.dtype = np.dtype(info.dtype)

    def __getitem__(self, key: object) -> np.ndarray:
        """Read the window covering ``key`` (ints and slices, as dask's getter fuses them)."""
        parts = key if isinstance(key, tuple) else (key,)
        parts = parts + (slice(None),) * (self.ndim - len(parts))
        axes = [_axis(part, size) for part, size in zip(parts, self.shape, strict=True)]
        if any(stop <= start for start, stop, _ in axes):
            shape = [stop - start for (start, stop, local) in axes if not isinstance(local, int)]
            return np.empty(shape, self.dtype)
        (b0, b1, _), (r0, r1, _), (c0, c1, _) = axes
        window = rasterio.windows.Window.from_slices((r0, r1), (c0, c1))
        source = gdal_path(self.path)  # in this process, through this process's egress proxy
        try:
            with _translated_errors(self.path, self.locator), rasterio.open(source, driver="GTiff") as src:
                block: np.ndarray = src.read(indexes=list(range(b0 + 1, b1 + 1)), window=window)
        except WpsError as error:  # a task of a worker, maybe: the error must reach the API whole
            log.debug("input %r: %s", self.locator, error.message, exc_info=error)
            error.detached()
            raise
        for position in reversed(range(self.ndim)):  # last axis first: dropped axes shift nothing
            local = axes[position][2]
            if not (isinstance(local, slice) and local == slice(None)):
                block = block[(slice(None),) * position + (local,)]
        return block

    def __dask_tokenize__(self) -> object:
        return (type(self).__name__, self.path, self.shape, self.dtype.str)


def _axis(part: object, size: int) -> tuple[int, int, int | slice | np.ndarray]:
    """(start, stop) of the pixels one axis index touches, and the index within that range."""
    if isinstance(part, int | np.integer):
        index = int(part) + size if int(part) < 0 else int(part)
        return index, index + 1, 0
    if isinstance(part, slice):
        picked = range(*part.indices(size))
        if not picked:
            return 0, 0, slice(None)
        low, high = min(picked), max(picked) + 1
        return low, high, slice(None) if picked.step == 1 else np.asarray(picked) - low
    raise TypeError(f"unsupported raster index {part!r}")


def _read_info(src: rasterio.DatasetReader, locator: str) -> RasterInfo:
    if src.crs is None:
        raise WrongInputData(f"input {locator!r} has no coordinate reference system", locator)
    transform = src.transform
    if transform.is_identity:
        raise WrongInputData(f"input {locator!r} has no geotransform", locator)
    if transform.b != 0 or transform.d != 0:
        raise WrongInputData(f"input {locator!r} has a rotated geotransform (not supported)", locator)
    if len(set(src.dtypes)) != 1:
        raise WrongInputData(f"input {locator!r} mixes data types across bands", locator)
    block_rows, block_cols = src.block_shapes[0]
    return RasterInfo(
        grid=Grid(src.crs, transform, src.height, src.width, src.nodata),
        count=src.count,
        dtype=src.dtypes[0],
        block=(int(block_rows), int(block_cols)),
        pixel_interleaved=src.interleaving != Interleaving.band,
    )


def _to_dataarray(array: da.Array, info: RasterInfo) -> xr.DataArray:
    centres = info.grid.coords()
    coords = {"band": np.arange(1, info.count + 1), "y": centres["y"], "x": centres["x"]}
    return info.grid.stamp(xr.DataArray(array, dims=("band", "y", "x"), coords=coords))


@contextmanager
def _translated_errors(path: str, locator: str) -> Iterator[None]:
    """Turn GDAL/rasterio failures into client-safe errors that name no server path."""
    try:
        yield
    except WpsError:
        raise
    except (RasterioError, CPLE_BaseError) as exc:
        raise _client_error(path, _messages(exc), locator) from exc
    except NotGeoreferencedWarning as exc:  # where warnings are errors (``-W error``)
        raise WrongInputData(f"input {locator!r} has no georeferencing", locator) from exc


def _messages(exc: BaseException) -> str:
    """The messages of an exception and of those it was raised from (GDAL chains its errors)."""
    texts: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(texts) < 10:
        texts.append(str(current))
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


def _client_error(path: str, text: str, locator: str) -> WpsError:
    url = remote_url(path)
    if url is not None:
        text = re.sub(r"/vsicurl\?\S*", "", text)  # the path GDAL was given (proxy credentials)
        missing = _NOT_FOUND.search(text)
        if missing or _NETWORK.search(text.replace(path, "").replace(url, "")):
            status = f" (HTTP {missing.group(1)})" if missing and missing.group(1) else ""
            return DataNotAccessible(f"input {locator!r}: the reference could not be read{status}", locator)
        why = diagnose(path)  # GDAL blames the file for failed reads: ask the guard
        if why is not None:
            return DataNotAccessible(f"input {locator!r}: the reference could not be read: {why}", locator)
    return WrongInputData(f"input {locator!r} is not a readable GeoTIFF", locator)
