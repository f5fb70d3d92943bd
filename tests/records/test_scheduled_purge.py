"""Retention is enforced: the recorder purges on a schedule, one worker per period, on both backends.

Every test drives the recorder's clock by hand (``now=clock``): days pass in a call, and the purge
thread, looking every 10 ms, sees them at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from cookieconsent.asgi import ConsentMiddleware
from cookieconsent.cli import main
from cookieconsent.policy.model import Retention
from cookieconsent.records import SCHEMA_VERSION, PurgeCounts, Recorder, Store, VisitRecord
from tests.harness import recording_config
from tests.records.conftest import Target

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
#: The policy's retention periods (the defaults): visits 180 days, consent records 1275.
RETENTION = Retention()


class Clock:
    """A clock that moves only when the test moves it."""

    def __init__(self, at: dt.datetime = T0) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, by: dt.timedelta) -> None:
        self.at += by


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the purge thread did not get there in time"
        time.sleep(0.01)


def purged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The messages of the purges logged so far."""
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("cookieconsent: purged ")]


def skipped(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The messages of the recorders that found the period's purge already done by another."""
    return [r.getMessage() for r in caplog.records if "the record store was purged at" in r.getMessage()]


def each_looked(caplog: pytest.LogCaptureFixture, periods: int) -> Callable[[], bool]:
    """Whether, in each of ``periods`` periods, one of two recorders purged and the other found it done."""
    return lambda: len(purged(caplog)) == periods and len(skipped(caplog)) == periods


def pages(store: Store) -> list[str]:
    return sorted(r.page for r in store.iter_records("visit"))


def old_visit(page: str = "/expired") -> VisitRecord:
    """A visit far past the visits' retention at T0 (written straight into the store)."""
    return VisitRecord(page=page, at=T0 - 400 * DAY)


@pytest.fixture
def store(target: Target) -> Iterator[Store]:
    opened = target.open(timeout=5)
    yield opened
    opened.close()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="cookieconsent")
    return caplog


def site(recorder: Recorder) -> TestClient:
    async def page(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = ConsentMiddleware(Starlette(routes=[Route("/{path:path}", page)]), recorder.engine.config, recorder=recorder)
    return TestClient(app, base_url="https://testserver", client=("203.0.113.7", 50000))


def recorder_on(store: Store, spool: Path, clock: Clock, **options: Any) -> Recorder:
    return Recorder(recording_config(), store, spool=spool, interval=0.01, now=clock, **options)


# -- the schedule ----------------------------------------------------------------------------------


def test_the_schedule_purges_what_expired_keeps_what_is_fresh_and_the_chain_verifies(
    target: Target, store: Store, tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    recorder = recorder_on(store, tmp_path / "spool.jsonl", clock)
    client = site(recorder)
    client.post("/_consent", json={"action": "accept_all"})  # consent record #1, at T0
    client.get("/day-0")
    recorder.flush()
    wait_for(lambda: len(purged(logs)) == 1)  # a store never purged is purged as the recorder starts
    assert "purged 0 row(s)" in purged(logs)[0]

    clock.advance(200 * DAY)  # past the visits' 180 days, within the consent records' 1275
    client.get("/day-200")
    recorder.flush()
    wait_for(lambda: len(purged(logs)) == 2)
    assert purged(logs)[1] == (
        "cookieconsent: purged 1 row(s) past the retention periods at 2025-09-17T12:00:00Z: 1 visit(s), "
        "0 event(s), 0 consent record(s), 0 closed rights request(s); the next purge is due at 2025-09-18T12:00:00Z"
    )
    assert pages(store) == ["/day-200"]
    assert [c.seq for c in store.consent_chain()] == [1]

    clock.advance(1100 * DAY)  # day 1300: the first consent record is past its 1275 days too
    client.post("/_consent", json={"action": "reject_all"})  # consent record #2, kept
    client.get("/day-1300")  # rejected: nothing gates a necessary item, so no visit is recorded
    recorder.flush()
    wait_for(lambda: len(purged(logs)) == 3)
    assert "1 visit(s), 0 event(s), 1 consent record(s), 0 closed rights request(s)" in purged(logs)[2]
    recorder.close()

    assert pages(store) == []
    assert [(c.seq, c.mechanism) for c in store.consent_chain()] == [(2, "reject_all")]
    assert store.chain_head().purged_seq == 1
    assert store.verify_chain() == []
    assert main(["verify", "--store", target.location]) == 0  # the proof of consent still verifies


def test_no_second_purge_before_the_interval_elapses(
    store: Store, tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    recorder = recorder_on(store, tmp_path / "spool.jsonl", clock, purge_every=dt.timedelta(hours=6))
    recorder.start()
    wait_for(lambda: len(purged(logs)) == 1)

    store.write_batch([old_visit()])
    clock.advance(dt.timedelta(hours=5, minutes=59))
    time.sleep(0.1)  # ten looks of the purge thread
    assert recorder.purge_due() is None
    assert pages(store) == ["/expired"]
    assert len(purged(logs)) == 1

    clock.advance(dt.timedelta(minutes=1))  # six hours since the last purge
    wait_for(lambda: len(purged(logs)) == 2)
    assert pages(store) == []
    recorder.close()


def test_a_restarted_worker_does_not_purge_again_within_the_period(
    target: Target, store: Store, tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    first = recorder_on(store, tmp_path / "first.jsonl", clock)
    first.start()
    wait_for(lambda: len(purged(logs)) == 1)
    first.close()

    # The period is the store's, not the process's: a worker that starts again an hour later waits.
    store.write_batch([old_visit()])
    clock.advance(dt.timedelta(hours=1))
    with target.open(timeout=5) as again:
        second = recorder_on(again, tmp_path / "second.jsonl", clock)
        second.start()
        wait_for(lambda: len(skipped(logs)) == 1)
        assert pages(again) == ["/expired"]
        clock.advance(23 * dt.timedelta(hours=1))
        wait_for(lambda: len(purged(logs)) == 2)
        assert pages(again) == []
        second.close()


@pytest.mark.parametrize("off", [None, 0, dt.timedelta(0)])
def test_a_schedule_turned_off_never_purges(
    target: Target, store: Store, tmp_path: Path, logs: pytest.LogCaptureFixture, off: object
) -> None:
    store.write_batch([old_visit()])
    clock = Clock()
    recorder = recorder_on(store, tmp_path / "spool.jsonl", clock, purge_every=off)
    assert recorder.purge_every is None
    client = site(recorder)
    client.post("/_consent", json={"action": "accept_all"})
    clock.advance(2000 * DAY)
    client.get("/now")
    recorder.flush()
    time.sleep(0.1)  # what would be ten looks of a purge thread
    assert recorder.purge_due() is None
    recorder.close()

    assert pages(store) == ["/expired", "/now"]
    assert purged(logs) == []
    assert target.sql("SELECT purged_at FROM cc_purge_schedule") in ([], [(None,)])


def test_the_schedule_refuses_a_negative_period_and_a_clock_without_a_zone(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="purge_every must be a positive period"):
        recorder_on(store, tmp_path / "spool.jsonl", Clock(), purge_every=-DAY)
    with pytest.raises(ValueError, match="without a time zone"):
        recorder_on(store, tmp_path / "spool.jsonl", Clock(T0.replace(tzinfo=None)))


# -- one worker per period -------------------------------------------------------------------------


def test_two_recorders_sharing_a_store_purge_once_per_period(
    target: Target, store: Store, tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    with target.open(timeout=5) as other:  # another connection (pool), as another process has
        recorders = [
            recorder_on(store, tmp_path / "a.jsonl", clock),
            recorder_on(other, tmp_path / "b.jsonl", clock),
        ]
        store.write_batch([old_visit("/expired-1")])
        for recorder in recorders:
            recorder.start()
        for period in range(1, 4):
            if period > 1:
                store.write_batch([old_visit(f"/expired-{period}")])
                clock.advance(DAY)
            # One recorder purges; the other finds the period claimed, and neither looks again.
            wait_for(each_looked(logs, period))
            time.sleep(0.05)
            assert (len(purged(logs)), len(skipped(logs))) == (period, period)
            assert pages(store) == []
        for recorder in recorders:
            recorder.close()


def claim_at_once(stores: list[Store], now: dt.datetime) -> list[bool]:
    """Let every store claim the purge at ``now`` in the same instant; whether each one purged."""
    start = threading.Barrier(len(stores))
    runs: list[bool] = []

    def claim(worker: Store) -> None:
        start.wait()
        runs.append(worker.purge_if_due(now, RETENTION, every=DAY, worker=repr(worker)).ran)

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    return runs


def test_workers_that_claim_at_once_purge_once(target: Target, store: Store) -> None:
    stores = [store, *(target.open(timeout=10) for _ in range(3))]
    try:
        for period in range(5):
            store.write_batch([old_visit()])
            assert sorted(claim_at_once(stores, T0 + period * DAY)) == [False, False, False, True]
            assert pages(store) == []
    finally:
        for opened in stores[1:]:
            opened.close()


def test_the_claim_says_who_purged_when(store: Store) -> None:
    first = store.purge_if_due(T0, RETENTION, every=DAY, worker="web-1:41")
    assert (first.ran, first.counts, first.last_at, first.last_by) == (True, PurgeCounts(), T0, "web-1:41")
    later = store.purge_if_due(T0 + DAY - dt.timedelta(seconds=1), RETENTION, every=DAY, worker="web-2:7")
    assert (later.ran, later.counts, later.last_at, later.last_by) == (False, None, T0, "web-1:41")
    assert store.purge_if_due(T0 + DAY, RETENTION, every=DAY, worker="web-2:7").last_by == "web-2:7"
    with pytest.raises(ValueError, match="positive"):
        store.purge_if_due(T0, RETENTION, every=dt.timedelta(0))


def test_a_purge_that_fails_leaves_the_period_to_the_next_worker(
    target: Target, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write_batch([old_visit()])
    with target.open(timeout=5) as failing:

        def broken(*args: object) -> PurgeCounts:
            raise RuntimeError("the disk went away mid-purge")

        monkeypatch.setattr(failing, "_purge", broken)
        with pytest.raises(RuntimeError):
            failing.purge_if_due(T0, RETENTION, every=DAY, worker="unlucky")
    # The claim was rolled back with the purge: the period is still open, and the next worker purges.
    run = store.purge_if_due(T0, RETENTION, every=DAY, worker="next")
    assert run.ran
    assert run.counts == PurgeCounts(visits=1)
    assert pages(store) == []


def test_a_store_from_before_the_schedule_gets_its_table_on_open(target: Target, store: Store) -> None:
    store.write_batch([old_visit()])
    store.close()
    target.sql("DROP TABLE cc_purge_schedule")  # as a store written before the scheduled purge was

    with target.open(timeout=5) as reopened:
        assert reopened.schema_version() == SCHEMA_VERSION  # an addition, not a new schema version
        assert reopened.purge_if_due(T0, RETENTION, every=DAY).counts == PurgeCounts(visits=1)
    assert target.sql("SELECT count(*) FROM cc_purge_schedule") == [(1,)]
