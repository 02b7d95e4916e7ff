"""A job's compute gives each collection its own value, whatever kinds of collection it mixes.

dask 2026.8's ``compute`` groups results by collection kind (arrays, then Delayed, in the order each
kind first appears); ``JobContext.compute`` must not, or a process whose outputs mix a document
and arrays gets each output another's value.
"""

from __future__ import annotations

from pathlib import Path

import dask
import numpy as np

from app.jobs.context import JobContext
from tests.support.jobs import mixed_collections as mixed


def test_results_come_in_the_order_given(tmp_path: Path) -> None:
    results = JobContext("job", tmp_path).compute(*mixed())
    assert results == (16.0, b"first", 7.0, "second")
    assert isinstance(results[0], np.floating) and isinstance(results[1], bytes)


def test_a_lone_delayed_gives_its_own_value(tmp_path: Path) -> None:
    assert JobContext("job", tmp_path).compute(dask.delayed(dict)(a=1)) == ({"a": 1},)
