"""Drainage, the chain the processes use: each product against the references, and the structure
that keeps memory bounded (every global step's later stages re-read and recompute their tiles)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pytest

import app.algorithms.hydrology.fill as fill_module
from app.algorithms.hydrology.drainage import Drainage
from tests.algorithms.hydrology.cases import (
    NODATA,
    as_nan,
    assert_identical,
    dem_array,
    large_lake,
    nodata_holes,
)
from tests.support import hydrology_reference as ref


@pytest.mark.parametrize("chunks", [None, (16, 23), (9, 11)], ids=["numpy", "16x23", "9x11"])
def test_products_equal_the_references(chunks: tuple[int, int] | None) -> None:
    z = nodata_holes()
    drainage = Drainage(dem_array(z, nodata=NODATA, chunks=chunks))
    filled = ref.fill_reference(z, NODATA)
    directions = ref.flow_direction_reference(filled, 10.0, 10.0)
    accumulation = ref.flow_accumulation_reference(directions)
    row, col = np.unravel_index(np.nanargmax(accumulation), accumulation.shape)
    got = dask.compute(
        drainage.filled(),
        drainage.directions(),
        drainage.accumulation(),
        drainage.upstream((int(row), int(col))),
    )
    assert_identical(got[0].values, filled)
    assert_identical(got[1].values, directions)
    assert_identical(got[2].values, accumulation)
    assert_identical(got[3].values, ref.upstream_reference(directions, int(row), int(col)))
    assert int((got[3].values == 1).sum()) == accumulation[row, col]
    assert got[2].rio.nodata is not None and np.isnan(got[2].rio.nodata)
    assert got[1].rio.nodata == 255 and got[3].rio.nodata == 255
    assert np.isnan(got[0].values[np.isnan(as_nan(z, NODATA))]).all()


def test_each_global_step_recomputes_its_tiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Accumulation from a DEM: the fill's priority-flood runs 4 times per tile (its stage 1; stage 3
    for the directions' two stages and for the accumulation's), so no filled tile is kept while a
    global step waits for every tile (what would hold the whole raster)."""
    floods: list[Any] = []
    flood = fill_module.flood

    def counted(block: np.ndarray, record: bool) -> Any:
        floods.append(record)
        return flood(block, record)

    monkeypatch.setattr(fill_module, "flood", counted)
    dem = dem_array(large_lake(), chunks=(64, 64))
    tiles = dem.data.npartitions
    expected = ref.flow_accumulation_reference(
        ref.flow_direction_reference(ref.fill_reference(large_lake()), 10.0, 10.0)
    )
    assert_identical(Drainage(dem).accumulation().values, expected)
    assert floods.count(True) == tiles  # stage 1 of the fill
    assert floods.count(False) == 3 * tiles


def test_the_image_compiles_the_kernels_with_the_whole_chain() -> None:
    from app.algorithms.hydrology.compile import compile_kernels

    assert compile_kernels() > 0
    dockerfile = (Path(__file__).resolve().parents[3] / "Dockerfile").read_text()
    assert "RUN python -m app.algorithms.hydrology.compile" in dockerfile
    assert "ENV NUMBA_CACHE_DIR=" in dockerfile


def test_starting_the_service_does_not_import_numba() -> None:
    """The hydrology kernels load with the first hydrology job, not with every API process."""
    code = "import sys, app.main; app.main.create_app(); print('numba' in sys.modules)"
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert found.stdout.strip().splitlines()[-1] == "False", found.stdout
