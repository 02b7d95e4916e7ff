"""The service metadata's updateSequence: stable while nothing changes, greater after a change."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from app.algorithms.registry import default_registry
from app.model.errors import CurrentUpdateSequence, InvalidUpdateSequence
from app.service.metadata import FILENAME, FORMAT, check_update_sequence, current_update_sequence
from app.settings import Settings


def test_same_metadata_same_sequence(settings: Settings) -> None:
    processes = default_registry().descriptions()
    first = current_update_sequence(settings, processes)
    assert current_update_sequence(settings, processes) == first
    datetime.strptime(first, FORMAT)  # an ISO 8601 UTC timestamp


@pytest.mark.parametrize("change", ["title", "processes", "public_url"])
def test_a_change_gives_a_greater_sequence(settings: Settings, change: str) -> None:
    processes = default_registry().descriptions()
    first = current_update_sequence(settings, processes)
    if change == "processes":
        processes = processes[:-1]
    elif change == "title":
        settings = settings.model_copy(update={"service_title": "Another title"})
    else:
        settings = settings.model_copy(update={"public_url": "https://wps.example.org"})
    second = current_update_sequence(settings, processes)
    assert second > first
    assert datetime.strptime(second, FORMAT) > datetime.strptime(first, FORMAT)


def test_a_clock_set_back_never_lowers_the_sequence(settings: Settings) -> None:
    future = (datetime.now(UTC) + timedelta(days=365)).strftime(FORMAT)
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / FILENAME).write_text(json.dumps({"digest": "old", "updateSequence": future}))
    assert current_update_sequence(settings, default_registry().descriptions()) > future


def test_a_damaged_record_is_replaced(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / FILENAME).write_text("{not json")
    value = current_update_sequence(settings, default_registry().descriptions())
    assert json.loads((settings.data_dir / FILENAME).read_text())["updateSequence"] == value


def test_comparisons() -> None:
    current = "2026-11-30T10:00:00.000000Z"
    for lower_or_foreign in (None, "", "2026-11-29T10:00:00.000000Z", "1", "yesterday"):
        check_update_sequence(lower_or_foreign, current)
    with pytest.raises(CurrentUpdateSequence) as equal:
        check_update_sequence(current, current)
    assert equal.value.locator_for("1.0.0") is None
    with pytest.raises(InvalidUpdateSequence):
        check_update_sequence("2026-12-01T10:00:00.000000Z", current)
