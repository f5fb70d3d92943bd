"""Faults around the middleware: pages keep being served, and no decision or record is lost or doubled.

Each test runs against both adapters (``site`` is ASGI or WSGI) over a real SQLite store, and checks
the store's contents afterwards. Faults already covered elsewhere, not repeated here:

- the store switched off mid-burst: ``tests/test_recorder.py::test_store_outage_loses_and_duplicates_nothing``;
- PostgreSQL stopped mid-burst: ``tests/records/test_recorder_outage.py`` and ``tests/records/test_faults.py``;
- two processes writing one SQLite file: ``tests/records/test_faults.py::test_two_processes_share_one_sqlite_file``;
- a visit hook that raises and a consent hook that hangs:
  ``tests/test_recorder.py::test_hooks_that_raise_or_hang_never_break_pages_or_storage``;
- key rotation and a clock an hour behind, in the codec alone: ``tests/test_cookie.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cookieconsent import ConsentConfig
from cookieconsent.core import engine as engine_module
from cookieconsent.core.cookie import ConsentCodec
from cookieconsent.core.request import RequestView
from cookieconsent.core.state import ConsentState
from cookieconsent.policy.model import parse_policy
from cookieconsent.records import (
    ConsentRecord,
    EventRecord,
    VisitRecord,
    hash_notice,
    open_store,
)
from cookieconsent.records import recorder as recorder_module
from cookieconsent.records.sqlite import SqliteStore
from cookieconsent.records.store import Store
from cookieconsent.web.endpoints import Event
from tests.harness import (
    JSON_CHUNKS,
    TRACKER,
    UA,
    ASGICall,
    FaultyStore,
    asgi_scope,
    make_site,
    recorder_for,
    recording_config,
    run_asgi,
    serializer,
    small_policy_data,
    wsgi_environ,
)
from tests.pg import PgCluster

CONSENT = "__Host-consent"
OLD_KEY = "an-old-secret-key-0123456789"
NEW_KEY = "the-new-secret-key-0123456789"


# The site, its store and its visitors are in tests/harness.py; ``kind`` and ``store`` in tests/conftest.py.


def pages(store: Store) -> list[str]:
    return sorted(r.page for r in store.iter_records("visit"))


def assert_once(store: Store) -> None:
    """No record is stored twice, and the proof of consent is intact."""
    ids = [r.id for r in store.iter_records()]
    assert len(ids) == len(set(ids))
    chain = list(store.consent_chain())
    assert len({c.id for c in chain}) == len(chain)
    assert store.verify_chain() == []


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# -- the store down, slow or full ---------------------------------------------------------------------


def test_privacy_centre_answers_503_while_the_store_is_down_and_loses_nothing(
    kind: str, store: FaultyStore, tmp_path: Path
) -> None:
    recorder = recorder_for(store, tmp_path / "spool.jsonl")
    site = make_site(kind, recorder)
    alice = site.visitor()
    alice.decide("accept_all", expect=200)
    assert alice.get("/a").status == 200
    recorder.flush()
    store.down = True

    for path in ("/_consent/my-data", "/_consent/my-data.json"):
        r = alice.get(path)
        assert r.status == 503
        assert r.json()["error"] == "store_unavailable"
        assert "try again" in r.json()["message"]
    filed = alice.post("/_consent/rights", {"kind": "view"})
    assert filed.status == 503
    form = alice.request(
        "POST", "/_consent/rights", [("content-type", "application/x-www-form-urlencoded")], b"kind=stop"
    )
    assert form.status == 503
    assert "try again" in form.text  # an HTML page for a form post
    deleted = alice.post("/_consent/my-data/delete", {})
    assert deleted.status == 503
    assert deleted.set_cookies == []  # nothing deleted, so nothing withdrawn and no cookie expired
    assert alice.state()["categories"]["analytics"] is True
    for path in ("/b", "/c"):
        assert alice.get(path).status == 200  # pages are served all along
    alice.decide("reject_all", expect=200)
    recorder.flush()
    assert (tmp_path / "spool.jsonl").exists()

    store.down = False
    time.sleep(0.1)
    page = alice.get("/_consent/my-data")
    assert page.status == 200
    for path in ("/a", "/b", "/c"):
        assert f">{path}</td>" in page.text
    assert pages(store) == ["/a", "/b", "/c"]
    assert [c.mechanism for c in store.consent_chain()] == ["accept_all", "reject_all"]
    assert store.list_rights_requests() == []  # the refused requests were not half-filed
    assert alice.post("/_consent/rights", {"kind": "view"}).status == 201
    assert len(store.list_rights_requests()) == 1
    recorder.close()
    assert_once(store)


def test_privacy_centre_over_a_stopped_postgres(own_pg_cluster: PgCluster, tmp_path: Path) -> None:
    store = open_store(own_pg_cluster.url(), connect_timeout=2, timeout=2)
    recorder = recorder_for(store, tmp_path / "spool.jsonl")
    site = make_site("asgi", recorder)
    alice = site.visitor()
    alice.decide("accept_all", expect=200)
    alice.get("/before")
    recorder.flush()
    own_pg_cluster.stop("fast")
    started = time.monotonic()
    r = alice.get("/_consent/my-data")
    assert r.status == 503
    assert r.json()["error"] == "store_unavailable"
    assert time.monotonic() - started < 15
    assert alice.get("/during").status == 200
    own_pg_cluster.start()
    deadline = time.monotonic() + 20
    while alice.get("/_consent/my-data").status != 200:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    recorder.close()
    assert pages(store) == ["/before", "/during"]
    assert [c.mechanism for c in store.consent_chain()] == ["accept_all"]
    assert_once(store)
    store.close()


def test_a_slow_store_never_slows_a_page(kind: str, store: FaultyStore, tmp_path: Path) -> None:
    recorder = recorder_for(store, tmp_path / "spool.jsonl", batch_size=5)
    site = make_site(kind, recorder)
    alice = site.visitor()
    alice.decide("accept_all", expect=200)
    store.delay = 0.3  # every write transaction takes 0.3 s
    slowest = 0.0
    for i in range(30):
        started = time.monotonic()
        assert alice.get(f"/p/{i}").status == 200
        slowest = max(slowest, time.monotonic() - started)
    assert slowest < 0.25  # a write alone takes longer than any page did
    recorder.close(timeout=30)
    assert pages(store) == sorted(f"/p/{i}" for i in range(30))
    assert [c.mechanism for c in store.consent_chain()] == ["accept_all"]
    assert_once(store)


def test_a_locked_sqlite_file_spools_and_catches_up(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "records.db"
    store = SqliteStore(path, timeout=0.2)
    recorder = recorder_for(store, tmp_path / "spool.jsonl")
    site = make_site(kind, recorder)
    alice = site.visitor()
    alice.decide("accept_all", expect=200)
    recorder.flush()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock, longer than the store waits
    try:
        for i in range(10):
            assert alice.get(f"/locked/{i}").status == 200
        alice.decide("reject_all", expect=200)
        recorder.flush()
        assert (tmp_path / "spool.jsonl").exists()
    finally:
        other.execute("ROLLBACK")
        other.close()
    time.sleep(0.1)
    recorder.close()
    assert pages(store) == sorted(f"/locked/{i}" for i in range(10))
    assert [c.mechanism for c in store.consent_chain()] == ["accept_all", "reject_all"]
    assert not (tmp_path / "spool.jsonl").exists()
    assert_once(store)
    store.close()


def test_a_full_database_spools_and_catches_up_when_room_returns(kind: str, store: FaultyStore, tmp_path: Path) -> None:
    recorder = recorder_for(store, tmp_path / "spool.jsonl")
    site = make_site(kind, recorder)
    alice = site.visitor()
    alice.decide("accept_all", expect=200)
    recorder.flush()
    store.fill_up()
    for i in range(20):
        assert alice.get(f"/full/{i}" + "x" * 200).status == 200
    alice.decide("custom", ["analytics"], expect=200)
    assert not recorder.flush()  # the store refused the records
    assert (tmp_path / "spool.jsonl").exists()  # so they wait on disk
    store.make_room()
    time.sleep(0.1)
    recorder.close()
    assert pages(store) == sorted(f"/full/{i}" + "x" * 200 for i in range(20))
    assert [c.mechanism for c in store.consent_chain()] == ["accept_all", "custom"]
    assert_once(store)


def test_a_full_disk_under_the_spool_keeps_records_in_memory_until_the_store_returns(
    kind: str, store: FaultyStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The spool is /dev/full, which refuses every write with ENOSPC: the store is down and its disk full.
    spool = tmp_path / "spool.jsonl"
    spool.symlink_to("/dev/full")
    recorder = recorder_for(store, spool)
    site = make_site(kind, recorder)
    alice = site.visitor()
    alice.decide("accept_all", expect=200)
    recorder.flush()
    store.down = True
    for i in range(15):
        assert alice.get(f"/nowhere/{i}").status == 200
    alice.decide("reject_all", expect=200)
    time.sleep(0.3)  # the writer tries, fails to store and fails to spool, several times
    assert recorder._thread is not None
    assert recorder._thread.is_alive()  # the writer survived
    assert any("spool" in message for message in errors_logged(caplog))
    store.down = False
    deadline = time.monotonic() + 10
    while store.count() < 15 and time.monotonic() < deadline:
        time.sleep(0.05)
    recorder.close()
    assert pages(store) == sorted(f"/nowhere/{i}" for i in range(15))
    assert [c.mechanism for c in store.consent_chain()] == ["accept_all", "reject_all"]
    assert_once(store)


def test_a_spool_cut_short_by_a_full_disk_is_replayed_without_its_broken_line(
    store: FaultyStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = tmp_path / "spool.jsonl"
    kept = [VisitRecord(page="/one"), VisitRecord(page="/two")]
    lines = [json.dumps({"kind": "visit", "record": r.model_dump(mode="json")}) for r in kept]
    spool.write_text("\n".join(lines) + "\n" + lines[0][: len(lines[0]) // 2], encoding="utf-8")
    recorder = recorder_for(store, spool)
    assert recorder.flush()
    assert pages(store) == ["/one", "/two"]
    assert not spool.exists()
    assert any("spool" in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    recorder.close()


# -- hooks that raise or block ------------------------------------------------------------------------


def test_a_decision_hook_that_raises_loses_neither_the_decision_nor_its_proof(
    kind: str, store: FaultyStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = recorder_for(store, tmp_path / "spool.jsonl")
    site = make_site(kind, recorder)

    def broken(state: ConsentState, mechanism: str) -> None:
        raise RuntimeError("the application's decision hook failed")

    site.app.engine.decision_hooks.append(broken)
    alice = site.visitor()
    r = alice.decide("accept_all", expect=200)
    assert r.set_cookie(CONSENT) is not None
    assert alice.state()["decided"] is True
    assert alice.get("/after").status == 200
    recorder.close()
    assert [c.mechanism for c in store.consent_chain()] == ["accept_all"]  # the recorder's hook ran first
    assert pages(store) == ["/after"]
    assert any("decision hook" in message for message in errors_logged(caplog))


def test_event_hooks_that_raise_or_block_never_hold_up_the_beacon(
    kind: str, store: FaultyStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = recorder_for(store, tmp_path / "spool.jsonl")
    site = make_site(kind, recorder)
    release = threading.Event()

    def broken(request: RequestView, state: ConsentState, event: Event) -> None:
        raise RuntimeError("the application's event hook failed")

    @recorder.on_event
    def blocking(record: EventRecord) -> None:
        release.wait(10)

    site.app.endpoints.event_hooks.append(broken)
    alice = site.visitor()
    alice.decide("accept_all", expect=200)
    started = time.monotonic()
    for i in range(5):
        assert alice.post("/_consent/events", {"type": "click", "path": f"/e/{i}"}).status == 204
        assert alice.get(f"/p/{i}").status == 200
    assert time.monotonic() - started < 3
    recorder.flush()
    assert sorted(r.page for r in store.iter_records("click")) == [f"/e/{i}" for i in range(5)]
    release.set()
    recorder.close()
    assert store.count("click") == 5
    assert any("event hook" in message for message in errors_logged(caplog))


# -- the client goes away -----------------------------------------------------------------------------


def test_asgi_client_gone_while_posting_a_decision(store: FaultyStore, tmp_path: Path) -> None:
    recorder = recorder_for(store, tmp_path / "spool.jsonl")
    site = make_site("asgi", recorder)
    body = b'{"action": "accept_all"}'
    scope = asgi_scope("POST", "/_consent", [("content-type", "application/json")], body)
    call = run_asgi(site.app, scope, ASGICall(disconnect="at_once"), reraise=False)
    assert call.error is None
    assert call.messages == []  # nobody to answer
    recorder.close()
    assert list(store.consent_chain()) == []  # and nothing decided


def test_asgi_send_fails_mid_page(store: FaultyStore, tmp_path: Path) -> None:
    recorder = recorder_for(store, tmp_path / "spool.jsonl")
    site = make_site("asgi", recorder)
    alice = site.visitor()
    alice.decide("accept_all", expect=200)
    scope = asgi_scope("GET", "/stream/html", [("cookie", alice.cookie)], b"")
    call = run_asgi(site.app, scope, ASGICall(reset_at_body=0), reraise=False)
    raised = call.error
    assert raised is not None  # the server learns of the broken connection
    assert "connection reset" in repr(raised) or isinstance(raised, BaseExceptionGroup)
    assert call.messages[0]["type"] == "http.response.start"
    assert alice.get("/next").status == 200  # the next request is served as usual
    recorder.close()
    assert pages(store) == ["/next", "/stream/html"]  # the broken page recorded once
    assert_once(store)


def test_wsgi_server_closes_the_body_early(store: FaultyStore, tmp_path: Path) -> None:
    recorder = recorder_for(store, tmp_path / "spool.jsonl")
    site = make_site("wsgi", recorder)
    alice = site.visitor()
    alice.decide("accept_all", expect=200)
    started: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started.append(status)
        return lambda data: None

    environ = wsgi_environ("GET", "/stream/html", [("cookie", alice.cookie), ("user-agent", UA)], b"")
    body = site.app(environ, start_response)
    first = next(iter(body))
    assert b"cookieconsent" in first  # rewritten: the head snippet went in
    close = getattr(body, "close", None)
    assert close is not None
    close()  # the client went away: the server closes the iterable after one chunk
    assert site.closed == ["/stream/html"]  # close() reached the app
    assert alice.get("/next").status == 200
    recorder.close()
    assert pages(store) == ["/next", "/stream/html"]
    assert_once(store)


def test_wsgi_body_cut_short_decides_nothing(store: FaultyStore, tmp_path: Path) -> None:
    recorder = recorder_for(store, tmp_path / "spool.jsonl")
    site = make_site("wsgi", recorder)
    environ = wsgi_environ("POST", "/_consent", [("content-type", "application/json")], b'{"action": "acc')
    environ["CONTENT_LENGTH"] = "100"  # the client promised 100 bytes and hung up after 15
    out: list[str] = []
    chunks = site.app(environ, lambda status, headers, exc_info=None: out.append(status))
    body = b"".join(chunks)
    assert out == ["400 Bad Request"]
    assert json.loads(body)["error"] == "bad_json"
    recorder.close()
    assert list(store.consent_chain()) == []


# -- a response that fails halfway --------------------------------------------------------------------


@pytest.mark.parametrize("media", ["html", "json"])
def test_a_stream_that_fails_halfway(kind: str, media: str, store: FaultyStore, tmp_path: Path) -> None:
    recorder = recorder_for(store, tmp_path / "spool.jsonl")
    site = make_site(kind, recorder)
    alice = site.visitor()
    alice.decide("custom", ["analytics"], expect=200)  # marketing refused: the Meta pixel must be neutralised
    target = f"/stream/{media}?fail=1"
    sent: list[bytes] = []
    if kind == "asgi":
        scope = asgi_scope("GET", target, [("cookie", alice.cookie), ("user-agent", UA)], b"")
        call = run_asgi(site.app, scope, reraise=False)
        raised = call.error
        assert raised is not None
        assert "failed halfway" in repr(raised) or isinstance(raised, BaseExceptionGroup)
        sent = [m.get("body", b"") for m in call.messages if m["type"] == "http.response.body"]
    else:
        environ = wsgi_environ("GET", target, [("cookie", alice.cookie), ("user-agent", UA)], b"")
        body = site.app(environ, lambda status, headers, exc_info=None: None)
        chunks = iter(body)
        sent += [next(chunks), next(chunks)]
        with pytest.raises(RuntimeError, match="failed halfway"):
            next(chunks)
        close = getattr(body, "close", None)
        if close is not None:
            close()
        assert site.closed == [f"/stream/{media}"]
    received = b"".join(sent)
    if media == "html":
        assert b"cookieconsent-state" in received  # the part that was sent was rewritten
        assert b"<p>second</p>" in received
        assert TRACKER not in received  # and its tracker neutralised
    else:
        assert received == b"".join(JSON_CHUNKS[:2])  # untouched
    assert alice.get("/next").status == 200
    recorder.close()
    assert pages(store) == ["/next", f"/stream/{media}"]
    assert [c.mechanism for c in store.consent_chain()] == ["custom"]
    assert_once(store)


# -- a secret key rotated while visitors hold old cookies ---------------------------------------------


def keyed(*keys: str) -> ConsentConfig:
    data = small_policy_data()
    return ConsentConfig(policy=parse_policy(data), secret_keys=list(keys))


def test_key_rotation_keeps_old_cookies_until_their_key_is_dropped(
    kind: str, store: FaultyStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = tmp_path / "spool.jsonl"
    before = make_site(kind, recorder_for(store, spool, keyed(OLD_KEY)))
    alice = before.visitor()
    alice.decide("custom", ["analytics"], expect=200)
    old_cookie = alice.jar[CONSENT]
    consent_id = alice.state()["consent_id"]
    before.recorder.close()

    # Rotation: the new key signs, the old one still verifies.
    rotated = make_site(kind, recorder_for(store, spool, keyed(OLD_KEY, NEW_KEY)))
    alice.client = rotated
    assert alice.state()["categories"]["analytics"] is True
    page = alice.get("/page")
    assert page.status == 200
    assert page.set_cookie(CONSENT) is None  # not re-signed: a cookie is issued only when the decision changes
    alice.decide("accept_all", expect=200)
    new_cookie = alice.jar[CONSENT]
    assert new_cookie != old_cookie
    fingerprint = rotated.app.engine.policy.fingerprint
    optional = rotated.app.engine.policy.optional_categories
    decision = ConsentCodec([NEW_KEY], optional, fingerprint, 3600).loads(new_cookie)
    assert decision is not None
    assert decision.consent_id == consent_id  # the same consent, now signed with the new key
    assert ConsentCodec([OLD_KEY], optional, fingerprint, 3600).loads(new_cookie) is None
    rotated.recorder.close()

    # The old key dropped: its cookies read as "not decided", quietly; the new ones still hold.
    after = make_site(kind, recorder_for(store, spool, keyed(NEW_KEY)))
    stale = after.visitor()
    stale.jar[CONSENT] = old_cookie
    r = stale.get("/page")
    assert r.status == 200
    assert b'<div class="cc-banner"' in r.body  # asked again
    assert stale.state()["decided"] is False
    alice.client = after
    assert alice.state()["categories"] == {"necessary": True, "functional": True, "analytics": True, "marketing": True}
    after.recorder.close()
    assert errors_logged(caplog) == []
    chain = list(store.consent_chain())
    assert [(c.consent_id, c.mechanism) for c in chain] == [(consent_id, "custom"), (consent_id, "accept_all")]
    assert pages(store) == ["/page"]  # the rotated site's page; the stale visitor left no record
    assert_once(store)


# -- the clock moving backwards ----------------------------------------------------------------------


@dataclass
class Clock:
    """The server's clock, moved by ``offset`` seconds (``time.time`` and the aliases that keep it)."""

    offset: float = 0.0

    def time(self) -> float:
        return REAL_TIME() + self.offset


REAL_TIME = time.time


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(time, "time", moved.time)
    # The engine and the recorder keep time.time under a name of their own (a global lookup less per call).
    for module in (engine_module, recorder_module):
        if getattr(module, "_time", None) is REAL_TIME:
            monkeypatch.setattr(module, "_time", moved.time)
    return moved


def test_a_decision_made_while_the_clock_ran_ahead_still_holds(
    kind: str, store: FaultyStore, tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    site = make_site(kind, recorder_for(store, tmp_path / "spool.jsonl"))
    alice = site.visitor()
    clock.offset = 2 * 86400  # the server's clock runs two days ahead…
    alice.decide("custom", ["analytics"], expect=200)
    clock.offset = 0  # …and is put right: the decision now carries a time in the future
    assert alice.state()["categories"]["analytics"] is True
    r = alice.get("/page")
    assert r.status == 200
    assert r.set_cookie(CONSENT) is None
    site.recorder.close()
    assert errors_logged(caplog) == []
    assert pages(store) == ["/page"]
    assert [c.mechanism for c in store.consent_chain()] == ["custom"]


def test_a_cookie_signed_ten_years_ahead_reads_as_decided(kind: str, store: FaultyStore, tmp_path: Path) -> None:
    cfg = recording_config()
    site = make_site(kind, recorder_for(store, tmp_path / "spool.jsonl", cfg))
    policy = cfg.policy
    mask = 1 << sorted(policy.optional_categories).index("analytics")
    value = serializer(cfg.signing_keys, at=time.time() + 10 * 365 * 86400).dumps(
        [1, "FutureVisitor123", policy.fingerprint, mask, 0]
    )
    alice = site.visitor()
    alice.jar[CONSENT] = value
    assert alice.state()["categories"]["analytics"] is True  # a genuine signature: the server's own clock was wrong
    site.recorder.close()


def test_the_clock_going_back_between_decisions_loses_nothing(
    kind: str, store: FaultyStore, tmp_path: Path, clock: Clock
) -> None:
    site = make_site(kind, recorder_for(store, tmp_path / "spool.jsonl"))
    alice = site.visitor()
    alice.decide("accept_all", expect=200)
    alice.get("/first")
    consent_id = alice.state()["consent_id"]
    clock.offset = -3 * 86400  # the clock jumps three days back
    r = alice.decide("custom", ["analytics"], expect=200)
    assert r.set_cookie(CONSENT) is not None
    assert alice.state()["categories"] == {
        "necessary": True,
        "functional": False,
        "analytics": True,
        "marketing": False,
    }
    alice.get("/second")
    clock.offset = -4 * 86400
    alice.decide("reject_all", expect=200)
    assert alice.state()["consent_id"] == consent_id
    site.recorder.close()
    chain = list(store.consent_chain())
    assert [c.mechanism for c in chain] == ["accept_all", "custom", "reject_all"]
    assert [c.seq for c in chain] == [1, 2, 3]
    assert store.verify_chain() == []
    visits = sorted(store.iter_records("visit"), key=lambda v: v.at)
    assert [v.page for v in visits] == ["/second", "/first"]  # recorded at the times the clock gave
    assert_once(store)


def test_proof_records_with_times_going_back_keep_their_order_and_verify(store: FaultyStore) -> None:
    now = dt.datetime.now(dt.UTC)
    times = [now, now - dt.timedelta(days=2), now - dt.timedelta(days=1), now - dt.timedelta(days=5)]
    appended = [
        store.append_consent(
            ConsentRecord(
                consent_id="ClockVisitor1234",
                at=at,
                policy_version="1",
                policy_fingerprint="0123456789abcdef",
                notice_hash=hash_notice("notice"),
                locale="en",
                mechanism=mechanism,
            )
        )
        for at, mechanism in zip(times, ["accept_all", "reject_all", "custom", "withdraw"], strict=True)
    ]
    assert [c.id for c in store.consents_for("ClockVisitor1234")] == [c.id for c in appended]  # by seq, not time
    assert [c.seq for c in store.consent_chain()] == [1, 2, 3, 4]
    assert store.verify_chain() == []
