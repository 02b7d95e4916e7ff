"""A binary min-heap of packed entries, for the numba kernels, and float32 keys as integers.

An entry is one uint64: an order-preserving image of a float32 key in the high 32 bits
(:func:`sortable`), an item (a cell or node index below 2**32) in the low 32. One integer
comparison orders by key, then by item, so pops are deterministic whatever the order of pushes.
The caller keeps the array and the size (``push`` and ``pop`` return the new size).
"""

from __future__ import annotations

import numpy as np
from numba import njit

ITEM_BITS = 32
ITEM_MASK = np.uint64(0xFFFFFFFF)


def sortable(values: np.ndarray) -> np.ndarray:
    """float32 values as uint64 integers in the same order (-inf lowest; NaN above +inf)."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    negative = bits >= 0x80000000
    return np.where(negative, np.uint64(0xFFFFFFFF) - bits, bits | np.uint64(0x80000000))


def from_sortable(keys: np.ndarray) -> np.ndarray:
    """The float32 values of :func:`sortable` keys."""
    keys = keys.astype(np.uint64)
    positive = keys >= 0x80000000
    bits = np.where(positive, keys & np.uint64(0x7FFFFFFF), np.uint64(0xFFFFFFFF) - keys)
    return bits.astype(np.uint32).view(np.float32)


@njit(cache=True, nogil=True)
def push(heap: np.ndarray, size: int, entry: np.uint64) -> int:
    """Add an entry; the array must have room. Returns the new size."""
    position = size
    while position > 0:
        parent = (position - 1) >> 1
        if heap[parent] <= entry:
            break
        heap[position] = heap[parent]
        position = parent
    heap[position] = entry
    return size + 1


@njit(cache=True, nogil=True)
def pop(heap: np.ndarray, size: int) -> tuple[np.uint64, int]:
    """Remove the smallest entry. Returns (entry, new size); ``size`` must be > 0."""
    top = heap[0]
    size -= 1
    last = heap[size]
    position = 0
    while True:
        child = 2 * position + 1
        if child >= size:
            break
        if child + 1 < size and heap[child + 1] < heap[child]:
            child += 1
        if heap[child] >= last:
            break
        heap[position] = heap[child]
        position = child
    heap[position] = last
    return top, size
