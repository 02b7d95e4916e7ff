"""Cloud Optimized GeoTIFFs written by dask tasks: no lock, no open dataset, no whole raster held.

The idea of odc-geo's ``save_cog_with_dask``, on GDAL's COG layout:

1. Each chunk of the result and of each overview level (:mod:`app.raster.overviews`, computed
   from the level above, chunk by chunk) is one task that cuts its tiles, applies the predictor,
   compresses them (:mod:`app.raster.compression`) and appends them to a part file of its own in a
   folder next to the result. It returns only the compressed sizes of its tiles. Tasks share
   nothing, so they run on any thread or worker at once; a worker of a dask.distributed cluster
   writes into the same folder (``WPS_DATA_DIR`` is shared by all hosts).
2. One last task, once every size is known, writes the header (the TIFF header, GDAL's
   structural metadata, the IFDs of all levels with their tile offsets) and then copies the parts
   in COG order, smallest overview first and each level's tiles in row-major order, with
   ``copy_file_range`` (in the kernel: the tiles do not pass through Python), then renames the
   file into place.

So at no time does any process hold more than a few chunks and one level's tile sizes, and the
graph pickles: plain functions, numbers, paths and small frozen dataclasses. Every tile carries
GDAL's 4-byte leader (its size) and trailer (its last 4 bytes), as the GDAL COG driver writes
them, which the structural metadata announces: GDAL reports such files as ``LAYOUT=COG``.
Classic TIFF when the file cannot reach 4 GiB even uncompressible, BigTIFF otherwise (GDAL's
``BIGTIFF=IF_SAFER``).
"""

from __future__ import annotations

import errno
import math
import os
import struct
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import dask.array as da
import numpy as np
from dask.base import tokenize

from app.raster.compression import Compression, encode_tile
from app.raster.overviews import pyramid
from app.raster.tiff import LONG, LONG8, SHORT, Tag, encode_ifd, file_header, ifd_size, sample_format

_GHOST_BODY = (
    "LAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nBLOCK_LEADER=SIZE_AS_UINT4\n"
    "BLOCK_TRAILER=LAST_4_BYTES_REPEATED\nKNOWN_INCOMPATIBLE_EDITION=NO\n "
)
GHOST_HEADER = f"GDAL_STRUCTURAL_METADATA_SIZE={len(_GHOST_BODY):06d} bytes\n{_GHOST_BODY}".encode()
_FRAME = 8  # leader + trailer around each tile's data
_NO_COPY_RANGE = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF}


@dataclass(frozen=True)
class TileCoder:
    """How the tasks of step 1 cut, encode and store tiles."""

    parts: str
    tile: tuple[int, int]  # rows, cols
    compression: Compression
    predictor: int
    fill: float

    def part(self, level: int, row: int, col: int) -> Path:
        """The part file of one chunk of one level."""
        return Path(self.parts) / f"{level}-{row}-{col}.tiles"


@dataclass(frozen=True)
class CogLayout:
    """What the last task needs besides the tile sizes: where, what pixels, which chunks."""

    path: str
    coder: TileCoder
    dtype: str
    count: int
    main_tags: tuple[Tag, ...]
    chunks: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]  # per level: chunk rows, chunk cols
    bigtiff: bool

    def tile_grid(self, level: int) -> tuple[list[int], list[int]]:
        """Tiles per chunk row and per chunk column of a level."""
        rows, cols = self.chunks[level]
        tile_rows, tile_cols = self.coder.tile
        return [math.ceil(r / tile_rows) for r in rows], [math.ceil(c / tile_cols) for c in cols]


def cog_collection(
    array: da.Array,
    path: Path,
    coder: TileCoder,
    *,
    main_tags: tuple[Tag, ...],
    resampling: str,
    nodata: float | None,
) -> da.Array:
    """A 0-d dask array whose computation writes ``array`` (band, y, x) as a COG at ``path``.

    ``array``'s chunks hold every band and fall on tile boundaries. Its value is the file size.
    """
    levels = pyramid(array, coder.tile, resampling, nodata)
    sizes = [_encode_level(level, coder, index) for index, level in enumerate(levels)]
    layout = CogLayout(
        path=str(path),
        coder=coder,
        dtype=array.dtype.name,
        count=array.shape[0],
        main_tags=main_tags,
        chunks=tuple((level.chunks[1], level.chunks[2]) for level in levels),
        bigtiff=_needs_bigtiff(levels, coder),
    )
    # One task takes every level's tile sizes whole (blockwise over indices it contracts).
    # Not dask.delayed: a delayed call optimizes each array argument on its own, renaming keys,
    # which would compute (read) the shared chunks once per level.
    indexed = [arg for index, level in enumerate(sizes) for arg in (level, (f"y{index}", f"x{index}"))]
    written: da.Array = da.blockwise(
        assemble,
        (),
        *indexed,
        layout=layout,
        concatenate=True,
        align_arrays=False,
        dtype=np.int64,
        meta=np.empty((), np.int64),
        name=f"cog-{tokenize(layout, *[level.name for level in sizes])}",
    )
    return written


def _encode_level(level: da.Array, coder: TileCoder, index: int) -> da.Array:
    """Tile sizes of one level (tiles y, tiles x): step 1 for each of its chunks."""
    chunks = tuple(
        tuple(math.ceil(size / edge) for size in sizes)
        for sizes, edge in zip(level.chunks[1:], coder.tile, strict=True)
    )
    sizes: da.Array = da.map_blocks(
        encode_block,
        level,
        coder=coder,
        level=index,
        chunks=chunks,
        drop_axis=0,
        dtype=np.int64,
        token=f"cog-tiles-{index}",
    )
    return sizes


def _needs_bigtiff(levels: list[da.Array], coder: TileCoder) -> bool:
    """Whether the file could pass 4 GiB even if no tile compressed (headers generously counted)."""
    rows, cols = coder.tile
    worst = 64 * 1024
    for level in levels:
        tiles = math.ceil(level.shape[1] / rows) * math.ceil(level.shape[2] / cols)
        tile_bytes = rows * cols * level.shape[0] * level.dtype.itemsize
        worst += tiles * (coder.compression.worst_case(tile_bytes) + _FRAME + 16)
    return worst >= 2**32


def encode_block(block: np.ndarray, coder: TileCoder, level: int, block_id: tuple[int, ...]) -> np.ndarray:
    """Step 1: encode the tiles of one (band, y, x) chunk into its part file; their sizes."""
    rows, cols = coder.tile
    pixels = np.moveaxis(block, 0, -1)  # (y, x, band): pixel-interleaved tiles
    shape = (math.ceil(block.shape[1] / rows), math.ceil(block.shape[2] / cols))
    sizes = np.empty(shape, np.int64)
    with open(coder.part(level, *block_id[-2:]), "wb") as part:
        for ty in range(shape[0]):
            for tx in range(shape[1]):
                window = pixels[ty * rows : (ty + 1) * rows, tx * cols : (tx + 1) * cols]
                data = encode_tile(_whole_tile(window, coder), coder.compression, coder.predictor)
                part.write(struct.pack("<I", len(data)) + data + data[-4:])
                sizes[ty, tx] = len(data)
    return sizes


def _whole_tile(window: np.ndarray, coder: TileCoder) -> np.ndarray:
    """A contiguous tile; a partial one (last row or column) padded with the fill value."""
    if window.shape[:2] == coder.tile:
        return np.ascontiguousarray(window)
    tile = np.full((*coder.tile, window.shape[2]), coder.fill, window.dtype)
    tile[: window.shape[0], : window.shape[1]] = window
    return tile


def assemble(*sizes: np.ndarray, layout: CogLayout) -> int:
    """Step 2: header, then the parts in COG order, into a file renamed to ``layout.path``."""
    header, _ = render_header(layout, sizes)
    target = Path(layout.coder.parts) / "assembled.tif"
    with open(target, "wb", buffering=0) as out:
        _write_all(out.fileno(), header)
        for level in reversed(range(len(sizes))):
            _copy_level(out.fileno(), layout, level, sizes[level])
        size = out.tell()
    if not layout.bigtiff and size >= 2**32:  # cannot happen: _needs_bigtiff is a bound
        raise OSError(errno.EFBIG, "classic TIFF over 4 GiB")
    os.replace(target, layout.path)
    return size


def render_header(layout: CogLayout, sizes: tuple[np.ndarray, ...]) -> tuple[bytes, list[np.ndarray]]:
    """The header bytes and the data offsets of each level's tiles (row-major)."""
    start = (16 if layout.bigtiff else 8) + len(GHOST_HEADER) + len(GHOST_HEADER) % 2
    blank = [_level_tags(layout, level, np.zeros(s.size), np.zeros(s.size)) for level, s in enumerate(sizes)]
    ifd_offsets = np.cumsum([start] + [ifd_size(tags, layout.bigtiff) for tags in blank]).tolist()
    cursor = ifd_offsets[-1]
    offsets: list[np.ndarray] = [np.empty(0)] * len(sizes)
    for level in reversed(range(len(sizes))):
        spans = sizes[level].ravel() + _FRAME
        offsets[level] = cursor + np.cumsum(spans) - spans + 4  # data after the 4-byte leader
        cursor += int(spans.sum())
    parts = [file_header(layout.bigtiff, start), GHOST_HEADER + b"\0" * (len(GHOST_HEADER) % 2)]
    for level, size in enumerate(sizes):
        tags = _level_tags(layout, level, offsets[level], size.ravel())
        following = ifd_offsets[level + 1] if level + 1 < len(sizes) else 0
        parts.append(encode_ifd(tags, ifd_offsets[level], following, layout.bigtiff))
    return b"".join(parts), offsets


def _level_tags(layout: CogLayout, level: int, offsets: np.ndarray, counts: np.ndarray) -> list[Tag]:
    """The tags of one level's IFD (the full resolution's carries the georeferencing)."""
    rows, cols = (sum(sizes) for sizes in layout.chunks[level])
    dtype = np.dtype(layout.dtype)
    pointer = LONG8 if layout.bigtiff else LONG
    tags = [
        _dimension(256, cols),
        _dimension(257, rows),
        Tag.numbers(258, SHORT, [8 * dtype.itemsize] * layout.count),
        Tag.numbers(259, SHORT, layout.coder.compression.tiff_code),
        Tag.numbers(262, SHORT, 1),  # min-is-black
        Tag.numbers(277, SHORT, layout.count),
        Tag.numbers(284, SHORT, 1),  # pixel-interleaved
        Tag.numbers(317, SHORT, layout.coder.predictor),
        _dimension(322, layout.coder.tile[1]),
        _dimension(323, layout.coder.tile[0]),
        Tag.numbers(324, pointer, offsets.astype(np.uint64)),
        Tag.numbers(325, pointer, counts.astype(np.uint64)),
        Tag.numbers(339, SHORT, [sample_format(dtype)] * layout.count),
    ]
    if layout.count > 1:
        tags.append(Tag.numbers(338, SHORT, [0] * (layout.count - 1)))  # unspecified extra samples
    if level > 0:
        tags.append(Tag.numbers(254, LONG, 1))  # reduced-resolution image
    else:
        tags.extend(layout.main_tags)
    return tags


def _dimension(code: int, value: int) -> Tag:
    return Tag.numbers(code, SHORT if value < 2**16 else LONG, value)


def _copy_level(out: int, layout: CogLayout, level: int, sizes: np.ndarray) -> None:
    """Append one level's tiles in row-major order: tile row by tile row, chunk by chunk."""
    tile_rows, tile_cols = layout.tile_grid(level)
    col_edges = np.cumsum([0, *tile_cols]).tolist()
    first_row = 0
    for chunk_row, count in enumerate(tile_rows):
        with ExitStack() as stack:
            parts = [
                stack.enter_context(open(layout.coder.part(level, chunk_row, chunk_col), "rb", buffering=0))
                for chunk_col in range(len(tile_cols))
            ]
            read = [0] * len(parts)
            for row in range(first_row, first_row + count):
                for chunk_col, part in enumerate(parts):
                    run = sizes[row, col_edges[chunk_col] : col_edges[chunk_col + 1]]
                    length = int(run.sum()) + _FRAME * run.size
                    copy_range(part.fileno(), out, read[chunk_col], length)
                    read[chunk_col] += length
        first_row += count


def copy_range(source: int, target: int, offset: int, length: int) -> None:
    """Append ``length`` bytes of ``source`` from ``offset`` to ``target`` (in the kernel if it can)."""
    while length > 0:
        try:
            copied = os.copy_file_range(source, target, length, offset)
        except (OSError, AttributeError) as exc:  # AttributeError: not Linux
            if isinstance(exc, OSError) and exc.errno not in _NO_COPY_RANGE:
                raise
            copied = _copy_by_reading(source, target, offset, length)
        if copied == 0:
            raise OSError(errno.EIO, "a part file is shorter than its tiles")
        offset += copied
        length -= copied


def _copy_by_reading(source: int, target: int, offset: int, length: int) -> int:
    data = os.pread(source, min(length, 1 << 20), offset)
    _write_all(target, data)
    return len(data)


def _write_all(target: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(target, view) :]
