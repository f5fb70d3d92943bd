"""Device ids and consent ids never meet: stop flags, rights requests and reads keep the two kinds apart.

Every test runs against SQLite and against a real PostgreSQL (the ``store`` and ``target`` fixtures).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from cookieconsent.asgi import ConsentMiddleware
from cookieconsent.records import (
    SCHEMA_VERSION,
    ConsentRecord,
    EventRecord,
    RightsRequest,
    Stopped,
    Store,
    VisitRecord,
    close_request,
    hash_notice,
)
from cookieconsent.records import postgres as pg_backend
from cookieconsent.records import sqlite as sqlite_backend
from cookieconsent.records.recorder import DEVICE_COOKIE, Recorder
from tests.harness import UA, recording_config
from tests.records.conftest import Target

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
DEVICE = f"__Host-{DEVICE_COOKIE}"
CONSENT = "__Host-consent"


def visit(device: str | None, consent: str | None, page: str = "/", at: dt.datetime = NOW) -> VisitRecord:
    return VisitRecord(device_id=device, consent_id=consent, page=page, at=at)


def decision(consent_id: str, at: dt.datetime = NOW) -> ConsentRecord:
    return ConsentRecord.model_validate(
        {
            "consent_id": consent_id,
            "at": at,
            "policy_version": "1",
            "policy_fingerprint": "0123456789abcdef",
            "notice_hash": hash_notice("<p>notice</p>"),
            "locale": "en",
            "granted": ["analytics"],
            "refused": [],
            "mechanism": "accept_all",
        }
    )


# -- stop flags ------------------------------------------------------------------------------------


def test_a_flag_stops_only_its_own_kind_of_id(backend_store: Store) -> None:
    backend_store.set_stop(device_id="X")
    assert backend_store.is_stopped(device_id="X")
    assert not backend_store.is_stopped(consent_id="X")
    # A record whose consent id is "X" (another visitor's) is still recorded; one whose device is "X" is not.
    assert backend_store.write_batch([visit("d-other", "X", "/theirs"), visit("X", "c-other", "/stopped")]) == 1
    assert [r.page for r in backend_store.records_for(consent_id="X")] == ["/theirs"]
    assert backend_store.stopped_among(device_ids=["X"], consent_ids=["X"]) == Stopped(frozenset({"X"}), frozenset())

    backend_store.set_stop(consent_id="Y", now=NOW)
    assert backend_store.is_stopped(consent_id="Y")
    assert not backend_store.is_stopped(device_id="Y")
    assert backend_store.write_batch([visit("Y", "c-2", "/device-y"), visit("d-3", "Y", "/consent-y")]) == 1
    assert [r.page for r in backend_store.records_for(device_id="Y")] == ["/device-y"]
    assert backend_store.stopped_among(device_ids=["Y"], consent_ids=["Y"]) == Stopped(frozenset(), frozenset({"Y"}))


def test_set_and_clear_need_an_id(backend_store: Store) -> None:
    for call in (backend_store.set_stop, backend_store.clear_stop):
        with pytest.raises(ValueError, match=r"device_id=.*consent_id="):
            call()
        with pytest.raises(ValueError, match="empty id"):
            call(device_id="")


def test_a_bare_subject_stops_either_kind_and_clearing_one_kind_keeps_the_other(backend_store: Store) -> None:
    backend_store.set_stop("Z", NOW)  # the form flags had before schema version 2
    assert backend_store.is_stopped(device_id="Z")
    assert backend_store.is_stopped(consent_id="Z")
    assert backend_store.is_stopped("Z")
    assert backend_store.write_batch([visit("Z", None), visit(None, "Z")]) == 0

    assert backend_store.clear_stop(device_id="Z") is True
    assert not backend_store.is_stopped(device_id="Z")
    assert backend_store.is_stopped(consent_id="Z")  # the consent part of the flag stays
    assert backend_store.write_batch([visit("Z", None, "/device-z"), visit(None, "Z", "/consent-z")]) == 1
    assert [r.page for r in backend_store.records_for(device_id="Z")] == ["/device-z"]

    assert backend_store.clear_stop("Z") is True  # every flag on the id
    assert not backend_store.is_stopped("Z")
    assert backend_store.clear_stop("Z") is False


def _v1_database(target: Target) -> None:
    """A database as version 1 of the schema left it: one record, one un-namespaced stop flag."""
    backend = sqlite_backend.SqliteStore if target.kind == "sqlite" else pg_backend.PostgresStore
    schema = sqlite_backend._SCHEMA_V1 if target.kind == "sqlite" else pg_backend._SCHEMA_V1
    if target.kind == "sqlite":
        Path(target.location).parent.mkdir(parents=True, exist_ok=True)
    target.sql(backend._version_table)
    for statement in schema:
        target.sql(statement)
    target.sql("INSERT INTO cc_schema_version (version, applied_at) VALUES (1, ?)", (NOW.isoformat(),))
    target.sql(
        "INSERT INTO cc_consent_head (id, seq, hash, record_id, purged_seq, purged_hash) VALUES (1, 0, ?, NULL, 0, ?)",
        ("0" * 64, "0" * 64),
    )
    target.sql("INSERT INTO cc_stopped (subject, since) VALUES (?, ?)", ("legacy", NOW.isoformat()))


def test_version_1_flags_keep_stopping_both_kinds_after_the_migration(target: Target) -> None:
    _v1_database(target)
    with target.open() as store:
        assert store.schema_version() == SCHEMA_VERSION == 2
        assert store.is_stopped(device_id="legacy")
        assert store.is_stopped(consent_id="legacy")
        assert store.write_batch([visit("legacy", None), visit(None, "legacy"), visit("d", "c")]) == 1
        # The operator lifts the device part; the consent part, which the visitor may also have meant, stays.
        assert store.clear_stop(device_id="legacy") is True
        assert store.is_stopped(consent_id="legacy")
        assert not store.is_stopped(device_id="legacy")
    assert sorted(target.sql("SELECT subject, kind FROM cc_stopped")) == [("legacy", "consent")]
    assert target.sql("SELECT version FROM cc_schema_version ORDER BY version") == [(1,), (2,)]
    with target.open() as again:  # opening again migrates nothing more
        assert again.is_stopped(consent_id="legacy")
    assert target.sql("SELECT count(*) FROM cc_schema_version") == [(2,)]


# -- rights requests and reads ---------------------------------------------------------------------


def test_knows_reads_each_id_as_its_own_kind(backend_store: Store) -> None:
    backend_store.write_batch([visit("dev-1", "con-1")])
    backend_store.append_consent(decision("con-2"))
    backend_store.add_rights_request(RightsRequest.new("view", device_id="dev-3", received_at=NOW))
    assert backend_store.knows(device_id="dev-1")
    assert backend_store.knows(consent_id="con-1")
    assert backend_store.knows(consent_id="con-2")  # a decision alone
    assert backend_store.knows(device_id="dev-3")  # an earlier request alone
    assert backend_store.knows(device_id="nobody", consent_id="con-2")
    assert not backend_store.knows(consent_id="dev-1")  # a device id is no consent id
    assert not backend_store.knows(device_id="con-1")
    assert not backend_store.knows(device_id="con-2")
    assert not backend_store.knows(consent_id="dev-3")
    assert not backend_store.knows()


def test_records_and_requests_are_found_and_deleted_by_each_id_as_its_own_kind(backend_store: Store) -> None:
    backend_store.write_batch([visit("A", "B", "/mine"), visit("B", "A", "/swapped")])
    backend_store.add_rights_request(RightsRequest.new("view", device_id="A", consent_id="B", received_at=NOW))
    assert [r.page for r in backend_store.records_for(device_id="A")] == ["/mine"]
    assert [r.page for r in backend_store.records_for(consent_id="A")] == ["/swapped"]
    assert [r.device_id for r in backend_store.list_rights_requests(device_id="A")] == ["A"]
    assert backend_store.list_rights_requests(consent_id="A") == []
    assert backend_store.latest_rights_requests(device_id="B") == []
    assert backend_store.delete_for(device_id="A").total == 1
    assert [r.page for r in backend_store.records_for(device_id="B", consent_id="A")] == ["/swapped"]


def test_an_open_request_of_the_same_kind_is_returned_instead_of_filed_again(backend_store: Store) -> None:
    first, created = backend_store.file_rights_request(RightsRequest.new("stop", device_id="d", received_at=NOW))
    assert created
    again, created = backend_store.file_rights_request(
        RightsRequest.new("stop", device_id="d", consent_id="c", received_at=NOW + dt.timedelta(minutes=1))
    )
    assert not created
    assert again == first
    by_consent, created = backend_store.file_rights_request(RightsRequest.new("view", consent_id="c", received_at=NOW))
    assert created  # another kind
    # The same id as the other kind is another subject: "d" as a consent id has nothing open.
    other, created = backend_store.file_rights_request(RightsRequest.new("stop", consent_id="d", received_at=NOW))
    assert created
    # Once the request is closed, a new one is filed.
    backend_store.update_rights_request(close_request(first, "done", NOW + dt.timedelta(days=1)))
    new, created = backend_store.file_rights_request(RightsRequest.new("stop", device_id="d", received_at=NOW))
    assert created
    assert {r.reference for r in backend_store.list_rights_requests()} == {
        first.reference,
        by_consent.reference,
        other.reference,
        new.reference,
    }


def test_a_visitors_records_read_a_bounded_number_at_a_time(backend_store: Store) -> None:
    mine = [visit("dev-a", "con-a", f"/{i}", NOW + dt.timedelta(seconds=i)) for i in range(1234)]
    same_time = [visit("dev-a", None, f"/tie-{i}", NOW + dt.timedelta(seconds=5000)) for i in range(7)]
    clicks = [
        EventRecord(kind="click", page="/c", device_id=None, consent_id="con-a", at=NOW + dt.timedelta(seconds=9000))
    ]
    theirs = [visit("con-a", "dev-a", "/theirs")]  # the ids swapped: someone else's
    backend_store.write_batch([*mine, *same_time, *clicks, *theirs])

    assert backend_store.count_for(device_id="dev-a", consent_id="con-a") == {"visit": 1241, "click": 1}
    assert backend_store.count_for(consent_id="dev-a") == {"visit": 1}

    batches = list(backend_store.record_batches(device_id="dev-a", consent_id="con-a", size=100))
    assert [len(b) for b in batches] == [100] * 12 + [42]
    read = [r.id for b in batches for r in b]
    everything = backend_store.records_for(device_id="dev-a", consent_id="con-a")
    assert read == [r.id for r in everything]  # each once, oldest first, ties included
    assert "/theirs" not in {r.page for b in batches for r in b}

    newest = backend_store.records_page(device_id="dev-a", consent_id="con-a", limit=100)
    assert [r.id for r in newest] == [r.id for r in reversed(everything)][:100]
    third = backend_store.records_page(device_id="dev-a", consent_id="con-a", limit=100, offset=200)
    assert [r.id for r in third] == [r.id for r in reversed(everything)][200:300]
    assert backend_store.records_page(device_id="dev-a", limit=5, offset=5000) == []
    with pytest.raises(ValueError, match="offset"):
        backend_store.records_page(device_id="dev-a", limit=-1)
    with pytest.raises(ValueError, match="device_id or consent_id"):
        list(backend_store.record_batches())


def test_consent_records_read_a_bounded_number_at_a_time(backend_store: Store) -> None:
    for i in range(7):
        backend_store.append_consent(decision("con-a", NOW + dt.timedelta(seconds=i)))
        backend_store.append_consent(decision("con-b", NOW + dt.timedelta(seconds=i)))
    batches = list(backend_store.consent_batches("con-a", size=3))
    assert [len(b) for b in batches] == [3, 3, 1]
    assert [c.seq for b in batches for c in b] == [c.seq for c in backend_store.consents_for("con-a")]
    latest = backend_store.latest_consents("con-a", 2)
    assert [c.seq for c in latest] == [c.seq for c in backend_store.consents_for("con-a")][::-1][:2]
    assert list(backend_store.consent_batches("nobody")) == []


def test_latest_rights_requests_newest_first(backend_store: Store) -> None:
    filed = [RightsRequest.new("view", device_id="d", received_at=NOW + dt.timedelta(minutes=i)) for i in range(5)]
    for request in filed:
        backend_store.add_rights_request(request)
    backend_store.add_rights_request(RightsRequest.new("view", consent_id="d", received_at=NOW))  # "d" as another kind
    assert backend_store.latest_rights_requests(device_id="d", limit=3) == filed[::-1][:3]


def test_rights_requests_read_a_bounded_number_at_a_time(backend_store: Store) -> None:
    filed = [RightsRequest.new("view", device_id="d", received_at=NOW + dt.timedelta(minutes=i % 4)) for i in range(9)]
    for request in filed:
        backend_store.add_rights_request(request)
    backend_store.add_rights_request(RightsRequest.new("view", consent_id="d", received_at=NOW))  # "d" as another kind
    batches = list(backend_store.rights_request_batches(device_id="d", size=4))
    assert [len(b) for b in batches] == [4, 4, 1]
    assert [r.id for b in batches for r in b] == [r.id for r in backend_store.list_rights_requests(device_id="d")]


# -- the attack, through the privacy centre --------------------------------------------------------


@pytest.fixture
def site(backend_store: Store, tmp_path: Path) -> Iterator[tuple[ConsentMiddleware, Recorder]]:
    recorder = Recorder(recording_config(), backend_store, spool=tmp_path / "spool.jsonl", interval=0.05)

    async def page(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = ConsentMiddleware(Starlette(routes=[Route("/{path:path}", page)]), recorder.engine.config, recorder=recorder)
    yield app, recorder
    recorder.close()


def client(app: ConsentMiddleware, **headers: str) -> TestClient:
    return TestClient(app, base_url="https://testserver", headers={"user-agent": UA, **headers})


def test_a_consent_id_sent_as_a_device_id_stops_no_one_else(
    site: tuple[ConsentMiddleware, Recorder], backend_store: Store
) -> None:
    app, recorder = site
    alice = client(app)
    alice.post("/_consent", json={"action": "accept_all"})
    alice.get("/alice/1")
    alice_consent = alice.get("/_consent/state").json()["consent_id"]
    alice_device = alice.cookies[DEVICE]

    # Mallory has records of her own (so her requests are accepted) and puts Alice's consent id in
    # her device cookie.
    mallory = client(app)
    mallory.post("/_consent", json={"action": "accept_all"})
    mallory.get("/mallory")
    mallory_consent = mallory.get("/_consent/state").json()["consent_id"]
    forged = client(app, cookie=f"{CONSENT}={mallory.cookies[CONSENT]}; {DEVICE}={alice_consent}")
    r = forged.post("/_consent/rights", json={"kind": "stop"})
    assert r.status_code == 201
    assert r.json()["stopped"] is True

    assert backend_store.is_stopped(consent_id=mallory_consent)  # her own consent id is stopped
    assert backend_store.is_stopped(device_id=alice_consent)  # the "device id" she sent, as a device id only
    assert not backend_store.is_stopped(consent_id=alice_consent)
    assert not backend_store.is_stopped(device_id=alice_device)

    # Alice's own request, by its reference, is not shown to the forged cookie either.
    reference = alice.post("/_consent/rights", json={"kind": "correct", "details": "Alice's"}).json()["reference"]
    assert reference in alice.get(f"/_consent/my-data?ref={reference}").text
    assert reference not in forged.get(f"/_consent/my-data?ref={reference}").text

    alice.get("/alice/2")
    mallory.get("/mallory/after")
    recorder.flush()
    assert [r.page for r in backend_store.records_for(consent_id=alice_consent)] == ["/alice/1", "/alice/2"]
    assert [r.page for r in backend_store.records_for(consent_id=mallory_consent)] == ["/mallory"]

    # Alone, the forged device cookie is nothing the store holds: nothing is filed or stopped.
    bare = client(app, cookie=f"{DEVICE}={alice_device}x")
    refused = bare.post("/_consent/rights", json={"kind": "stop"})
    assert refused.status_code == 404
    assert refused.json()["error"] == "nothing_held"
    assert not backend_store.is_stopped(device_id=f"{alice_device}x")


@pytest.mark.parametrize(
    ("body", "stored"),
    [
        (b'{"kind": "view", "details": "a\\ud800b"}', "a\ufffdb"),  # a lone surrogate, which JSON allows
        (b'{"kind": "correct", "details": "a\\u0000b"}', "a\ufffdb"),  # a NUL, which PostgreSQL text refuses
    ],
    ids=["lone-surrogate", "nul"],
)
def test_details_no_database_could_hold_are_stored_with_a_replacement_character(
    site: tuple[ConsentMiddleware, Recorder], backend_store: Store, body: bytes, stored: str
) -> None:
    app, _ = site
    visitor = client(app)
    visitor.post("/_consent", json={"action": "accept_all"})
    r = visitor.post("/_consent/rights", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 201, r.text
    filed = backend_store.get_rights_request(r.json()["reference"])
    assert filed is not None
    assert filed.details == stored
