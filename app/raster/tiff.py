"""The bytes of a little-endian (Big)TIFF header: image file directories (IFDs) and their tags.

Just enough TIFF to lay out a Cloud Optimized GeoTIFF whose tiles were encoded elsewhere: an IFD
is a list of :class:`Tag` (code, TIFF type, count and the little-endian bytes of the values);
:func:`encode_ifd` renders one at a given file offset with its out-of-line values right after it.
The georeferencing tags (GeoKeys, pixel scale, tie point or transformation, ``GDAL_NODATA``) are
not written by hand: :func:`georeferencing_tags` lets GDAL write them into a one-pixel GeoTIFF in
memory and copies them from there, so the CRS is encoded exactly as GDAL encodes it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
from rasterio.io import MemoryFile

SHORT, LONG, ASCII, DOUBLE, LONG8 = 3, 4, 2, 12, 16
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8, 17: 8, 18: 8}
_FORMATS = {SHORT: "H", LONG: "I", LONG8: "Q", DOUBLE: "d"}
# GeoTIFF: ModelPixelScale, ModelTiepoint, ModelTransformation, GeoKeyDirectory, GeoDoubleParams,
# GeoAsciiParams; GDAL: GDAL_METADATA (band descriptions, scales, offsets), GDAL_NODATA.
GEO_TAG_CODES = frozenset({33550, 33922, 34264, 34735, 34736, 34737, 42112, 42113})


@dataclass(frozen=True)
class Tag:
    """One IFD entry: tag code, TIFF type, value count and the values' little-endian bytes."""

    code: int
    type: int
    count: int
    payload: bytes

    @classmethod
    def numbers(cls, code: int, type_: int, values: Any) -> Tag:
        """A tag of SHORT, LONG, LONG8 or DOUBLE values (one number or a sequence)."""
        array = np.atleast_1d(np.asarray(values)).ravel()
        payload = struct.pack(f"<{array.size}{_FORMATS[type_]}", *array.tolist())
        return cls(code, type_, int(array.size), payload)

    @classmethod
    def text(cls, code: int, value: str) -> Tag:
        """An ASCII tag (NUL-terminated)."""
        payload = value.encode("ascii") + b"\0"
        return cls(code, ASCII, len(payload), payload)


def file_header(bigtiff: bool, first_ifd: int) -> bytes:
    """The 8-byte TIFF or 16-byte BigTIFF header pointing at the first IFD."""
    if bigtiff:
        return b"II" + struct.pack("<HHHQ", 43, 8, 0, first_ifd)
    return b"II" + struct.pack("<HI", 42, first_ifd)


def ifd_size(tags: list[Tag], bigtiff: bool) -> int:
    """Bytes taken by :func:`encode_ifd` for these tags (entries plus out-of-line values)."""
    entry, inline, head = (20, 8, 16) if bigtiff else (12, 4, 6)
    extra = sum(_padded(len(tag.payload)) for tag in tags if len(tag.payload) > inline)
    return head + entry * len(tags) + extra


def encode_ifd(tags: list[Tag], offset: int, next_ifd: int, bigtiff: bool) -> bytes:
    """One IFD placed at ``offset`` (even), tags sorted by code, values beyond the entry after it."""
    ordered = sorted(tags, key=lambda tag: tag.code)
    entry_format, inline = ("<HHQ", 8) if bigtiff else ("<HHI", 4)
    count_format, pointer_format = ("<Q", "<Q") if bigtiff else ("<H", "<I")
    values_at = (
        offset
        + ifd_size(ordered, bigtiff)
        - sum(_padded(len(tag.payload)) for tag in ordered if len(tag.payload) > inline)
    )
    head, values = [struct.pack(count_format, len(ordered))], []
    for tag in ordered:
        head.append(struct.pack(entry_format, tag.code, tag.type, tag.count))
        if len(tag.payload) <= inline:
            head.append(tag.payload.ljust(inline, b"\0"))
        else:
            head.append(struct.pack(pointer_format, values_at))
            values.append(tag.payload.ljust(_padded(len(tag.payload)), b"\0"))
            values_at += _padded(len(tag.payload))
    head.append(struct.pack(pointer_format, next_ifd))
    return b"".join(head + values)


def _padded(size: int) -> int:
    """Out-of-line values start on even offsets (a TIFF word boundary)."""
    return size + (size & 1)


def georeferencing_tags(
    crs: Any, transform: Any, nodata: float | None, dtype: str, count: int
) -> tuple[Tag, ...]:
    """The georeferencing and nodata tags GDAL writes for this CRS, transform and nodata."""
    profile = {
        "driver": "GTiff",
        "width": 1,
        "height": 1,
        "count": count,
        "dtype": dtype,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
    }
    with MemoryFile() as memory:
        with memory.open(**profile):
            pass
        data = memory.read()
    return tuple(tag for tag in read_first_ifd(data) if tag.code in GEO_TAG_CODES)


def read_first_ifd(data: bytes) -> list[Tag]:
    """The tags of the first IFD of a little-endian TIFF or BigTIFF held in memory."""
    if data[:2] != b"II":
        raise ValueError("not a little-endian TIFF")
    (version,) = struct.unpack_from("<H", data, 2)
    bigtiff = version == 43
    if bigtiff:
        (offset,) = struct.unpack_from("<Q", data, 8)
        (count,) = struct.unpack_from("<Q", data, offset)
        first, entry_size, entry_format, inline = offset + 8, 20, "<HHQ", 8
    else:
        (offset,) = struct.unpack_from("<I", data, 4)
        (count,) = struct.unpack_from("<H", data, offset)
        first, entry_size, entry_format, inline = offset + 2, 12, "<HHI", 4
    tags = []
    for index in range(count):
        at = first + index * entry_size
        code, type_, number = struct.unpack_from(entry_format, data, at)
        size = number * _TYPE_SIZES.get(type_, 1)
        start = at + entry_size - inline
        if size > inline:
            (start,) = struct.unpack_from("<Q" if bigtiff else "<I", data, start)
        tags.append(Tag(code, type_, number, bytes(data[start : start + size])))
    return tags


def sample_format(dtype: np.dtype) -> int:
    """TIFF SampleFormat: 1 unsigned integer, 2 signed integer, 3 IEEE float."""
    try:
        return {"u": 1, "i": 2, "f": 3}[dtype.kind]
    except KeyError:
        raise ValueError(f"cannot write {dtype} pixels to a GeoTIFF") from None
