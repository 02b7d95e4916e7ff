"""Fail a test when a dask graph computes where it must stay lazy (xarray's raise_if_dask_computes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dask
import dask.threaded


class CountingScheduler:
    """A dask scheduler that counts computes and raises past ``max_computes``."""

    def __init__(self, max_computes: int = 0) -> None:
        self.total_computes = 0
        self.max_computes = max_computes

    def __call__(self, dsk: Mapping[Any, Any], keys: Any, **kwargs: Any) -> Any:
        self.total_computes += 1
        if self.total_computes > self.max_computes:
            raise RuntimeError(f"Too many computes. Total: {self.total_computes} > max: {self.max_computes}.")
        return dask.threaded.get(dsk, keys, **kwargs)


def raise_if_dask_computes(max_computes: int = 0) -> Any:
    """Context manager: any dask compute inside it (beyond ``max_computes``) raises RuntimeError."""
    return dask.config.set(scheduler=CountingScheduler(max_computes))
