"""The job store's contract, the same on SQLite and on PostgreSQL (each test runs on both)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.jobs.store import JobStore
from app.model.descriptions import ProcessDescription
from app.model.jobs import JobError, JobStatus
from app.model.requests import ExecuteRequest
from app.model.results import ExecuteResult
from tests.jobs.conftest import OpenStore

REQUEST = ExecuteRequest(identifier="echo")
DESCRIPTION = ProcessDescription(identifier="echo", title="Echo", inputs=(), outputs=())
ERROR = JobError(code="InvalidParameterValue", wps2_code="InvalidParameterValue", message="bad", locator="x")
LATER = datetime.now(UTC) + timedelta(hours=1)


def job_id(n: int) -> str:
    return f"{n:032x}"


def result(n: int) -> ExecuteResult:
    return ExecuteResult(job_id=job_id(n), request=REQUEST, process=DESCRIPTION, outputs=())


@pytest.fixture
def store(open_store: OpenStore) -> JobStore:
    return open_store("here:8000")


def test_create_records_an_accepted_job(store: JobStore) -> None:
    before = datetime.now(UTC)
    info = store.create(job_id(1), ExecuteRequest(identifier="ndvi"), LATER, owner="alice")
    assert info == store.get(job_id(1))
    assert (info.job_id, info.process_id, info.status, info.owner) == (
        job_id(1),
        "ndvi",
        JobStatus.ACCEPTED,
        "alice",
    )
    assert before <= info.created == info.updated <= datetime.now(UTC)
    assert info.created.tzinfo is not None and info.created.utcoffset() == timedelta(0)
    assert info.expires == LATER and not info.expired
    assert info.started is info.finished is info.percent is info.error is None
    assert store.request(job_id(1)) == ExecuteRequest(identifier="ndvi")
    assert store.result(job_id(1)) is None
    assert store.instance_of(job_id(1)) == "here:8000"


def test_unknown_jobs_are_none(store: JobStore) -> None:
    assert store.get(job_id(9)) is None
    assert store.request(job_id(9)) is None
    assert store.result(job_id(9)) is None
    assert store.instance_of(job_id(9)) is None
    assert not store.is_expired(job_id(9))
    assert not store.update(job_id(9), percent=5)


def test_a_job_id_is_recorded_once(store: JobStore) -> None:
    store.create(job_id(1), REQUEST, LATER)
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        store.create(job_id(1), REQUEST, LATER)


def test_lifecycle_to_success(store: JobStore) -> None:
    store.create(job_id(1), REQUEST, LATER)
    started = datetime.now(UTC)
    assert store.update(job_id(1), only_if=(JobStatus.ACCEPTED,), status=JobStatus.RUNNING, started=started)
    assert store.update(job_id(1), only_if=(JobStatus.RUNNING,), percent=42, message="halfway")
    info = store.get(job_id(1))
    assert (info.status, info.percent, info.message, info.started) == (
        JobStatus.RUNNING,
        42,
        "halfway",
        started,
    )
    assert store.finish(job_id(1), result(1))
    info = store.get(job_id(1))
    assert (info.status, info.percent) == (JobStatus.SUCCEEDED, 100)
    assert info.started <= info.finished and info.updated >= info.created
    assert store.result(job_id(1)) == result(1)


def test_failure_keeps_its_error(store: JobStore) -> None:
    store.create(job_id(1), REQUEST, LATER)
    assert store.fail(job_id(1), ERROR)
    info = store.get(job_id(1))
    assert info.status is JobStatus.FAILED and info.error == ERROR and info.finished is not None


def test_guards_refuse_transitions_from_other_states(store: JobStore) -> None:
    store.create(job_id(1), REQUEST, LATER)
    assert not store.finish(job_id(1), result(1))  # accepted, not running
    assert store.update(job_id(1), status=JobStatus.DISMISSED)
    assert not store.update(job_id(1), only_if=(JobStatus.ACCEPTED,), status=JobStatus.RUNNING)
    assert not store.finish(job_id(1), result(1))
    assert not store.fail(job_id(1), ERROR)
    assert not store.update(job_id(1), only_if=(JobStatus.RUNNING,), percent=50)
    info = store.get(job_id(1))
    assert info.status is JobStatus.DISMISSED and info.percent is None and info.error is None
    assert store.result(job_id(1)) is None


def test_update_takes_only_known_columns(store: JobStore) -> None:
    store.create(job_id(1), REQUEST, LATER)
    with pytest.raises(ValueError, match="owner"):
        store.update(job_id(1), owner="mallory")
    with pytest.raises(ValueError):
        store.update(job_id(1), **{"status = 'failed' --": "x"})


def test_list_jobs_newest_first_with_filters(store: JobStore) -> None:
    for n, (process, owner) in enumerate([("ndvi", "a"), ("clip", "b"), ("ndvi", "b"), ("clip", "")]):
        store.create(job_id(n), ExecuteRequest(identifier=process), LATER, owner=owner)
    store.update(job_id(1), status=JobStatus.RUNNING)
    store.fail(job_id(2), ERROR)
    ids = [info.job_id for info in store.list_jobs()]
    assert ids == [job_id(3), job_id(2), job_id(1), job_id(0)]
    assert [i.job_id for i in store.list_jobs(limit=2, offset=1)] == [job_id(2), job_id(1)]
    assert [i.job_id for i in store.list_jobs(statuses=(JobStatus.ACCEPTED,))] == [job_id(3), job_id(0)]
    assert [i.job_id for i in store.list_jobs(process_ids=("ndvi",))] == [job_id(2), job_id(0)]
    assert [i.job_id for i in store.list_jobs(owner="b")] == [job_id(2), job_id(1)]
    assert [i.job_id for i in store.list_jobs(owner="")] == [job_id(3)]
    both = store.list_jobs(statuses=(JobStatus.RUNNING, JobStatus.FAILED), process_ids=("clip",), owner="b")
    assert [i.job_id for i in both] == [job_id(1)]
    assert store.list_jobs(limit=10, offset=10) == []


def test_counts_and_unfinished(store: JobStore) -> None:
    assert store.count_by_status() == {} and store.unfinished() == []
    for n in range(5):
        store.create(job_id(n), REQUEST, LATER)
    store.update(job_id(1), status=JobStatus.RUNNING)
    store.fail(job_id(2), ERROR)
    store.update(job_id(3), status=JobStatus.DISMISSED)
    assert store.count_by_status() == {
        JobStatus.ACCEPTED: 2,
        JobStatus.RUNNING: 1,
        JobStatus.FAILED: 1,
        JobStatus.DISMISSED: 1,
    }
    assert sorted(store.unfinished()) == [job_id(0), job_id(1), job_id(4)]


def test_expiry(store: JobStore) -> None:
    now = datetime.now(UTC)
    store.create(job_id(1), REQUEST, now - timedelta(seconds=1))  # finished below, due
    store.create(job_id(2), REQUEST, now - timedelta(seconds=1))  # still accepted: never due
    store.create(job_id(3), REQUEST, now + timedelta(hours=1))  # finished, not yet due
    for n in (1, 3):
        store.fail(job_id(n), ERROR)
    assert store.due_for_expiry(now) == [job_id(1)]
    assert store.update(job_id(1), expired=True)
    assert store.is_expired(job_id(1)) and store.get(job_id(1)).expired
    assert not store.is_expired(job_id(3))
    assert store.due_for_expiry(now) == []
    assert store.due_for_expiry(now + timedelta(hours=2)) == [job_id(3)]


def test_instances_beat_on_the_database_clock(open_store: OpenStore) -> None:
    first = open_store("a:1")
    seen = first.instances()["a:1"]
    second = open_store("b:2")
    second.heartbeat()
    beats = second.instances()
    assert set(beats) == {"a:1", "b:2"} and beats["a:1"] == seen and beats["b:2"] >= seen
    assert abs(beats["b:2"] - datetime.now(UTC)) < timedelta(seconds=5)


def test_fail_own_unfinished_touches_only_this_instance(open_store: OpenStore) -> None:
    mine, other = open_store("mine:1"), open_store("other:1")
    for n, store in enumerate([mine, mine, mine, other]):
        store.create(job_id(n), REQUEST, LATER)
    mine.update(job_id(1), status=JobStatus.RUNNING)
    mine.fail(job_id(2), ERROR)
    lost = JobError(code="NoApplicableCode", wps2_code="NoApplicableCode", message="gone")
    assert mine.fail_own_unfinished(lost) == [job_id(0), job_id(1)]
    assert [mine.get(job_id(n)).error for n in range(4)] == [lost, lost, ERROR, None]
    assert other.get(job_id(3)).status is JobStatus.ACCEPTED


def test_two_store_objects_see_the_same_jobs(open_store: OpenStore) -> None:
    one, two = open_store("one:1"), open_store("two:2")
    one.create(job_id(1), REQUEST, LATER, owner="alice")
    assert two.get(job_id(1)) == one.get(job_id(1))
    assert two.update(job_id(1), only_if=(JobStatus.ACCEPTED,), status=JobStatus.RUNNING)
    assert not one.update(job_id(1), only_if=(JobStatus.ACCEPTED,), status=JobStatus.RUNNING)
    assert one.finish(job_id(1), result(1))
    assert two.result(job_id(1)) == result(1)
    assert two.instance_of(job_id(1)) == "one:1"  # the instance that accepted it runs it
