"""The store suite: every test runs against SQLite and against a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from cookieconsent.policy.model import Retention
from cookieconsent.records import (
    GENESIS_HASH,
    SCHEMA_VERSION,
    ConsentRecord,
    DeleteCounts,
    EventRecord,
    Location,
    PurgeCounts,
    RightsRequest,
    RightsRequestError,
    Stopped,
    Store,
    StoreError,
    UserAgent,
    VisitRecord,
    close_request,
    compute_record_hash,
    extend,
    hash_notice,
    ip_minimise,
    seal,
)
from tests.pg import PgCluster
from tests.records.conftest import Target

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
NOTICE = hash_notice("<p>We use analytics cookies…</p>")


def visit(device: str = "dev-a", consent: str | None = None, at: dt.datetime = NOW, **fields: object) -> VisitRecord:
    return VisitRecord.model_validate(
        {"device_id": device, "consent_id": consent, "at": at, "page": "/", **fields},
    )


def event(device: str = "dev-a", consent: str | None = None, at: dt.datetime = NOW, kind: str = "click") -> EventRecord:
    return EventRecord.model_validate(
        {"device_id": device, "consent_id": consent, "at": at, "kind": kind, "page": "/shop", "target": "#buy"}
    )


def consent(consent_id: str = "consent-a", at: dt.datetime = NOW, mechanism: str = "custom") -> ConsentRecord:
    return ConsentRecord.model_validate(
        {
            "consent_id": consent_id,
            "at": at,
            "policy_version": "2024-09",
            "policy_fingerprint": "0123456789abcdef",
            "notice_hash": NOTICE,
            "locale": "zh-TW",
            "granted": ["analytics"],
            "refused": ["marketing", "functional"],
            "mechanism": mechanism,
            "mode": "tw",
            "gpc": False,
        }
    )


# -- visit and event records ---------------------------------------------------------------------


def test_records_round_trip_with_every_field(backend_store: Store) -> None:
    full = visit(
        consent="consent-a",
        method="POST",
        status=201,
        duration_ms=12.5,
        ip=ip_minimise("2001:db8:abcd:12::7"),
        user_agent=UserAgent(
            browser="Firefox",
            browser_version="128.0",
            os="Android",
            os_version="14",
            device_family="Pixel 8",
            device_brand="Google",
            device_model="Pixel 8",
            device_type="mobile",
        ),
        cookies=("session", "_ga"),
        location=Location(country="TW", region="TW-TPE"),
        log_line='"POST / HTTP/1.1" 201 512',
    )
    click = event(consent="consent-a", at=NOW + dt.timedelta(seconds=1))
    view = event(consent="consent-a", at=NOW + dt.timedelta(seconds=2), kind="page_view")

    assert backend_store.write_batch([view, full, click]) == 3

    assert backend_store.records_for(device_id="dev-a") == [full, click, view]
    assert backend_store.count() == 3
    assert backend_store.count("click") == 1
    assert sorted(r.id for r in backend_store.iter_records()) == sorted([full.id, click.id, view.id])
    assert [r.id for r in backend_store.iter_records("visit")] == [full.id]


def test_write_batch_is_idempotent_by_record_id(backend_store: Store) -> None:
    batch = [visit(page=f"/p{i}") for i in range(10)]

    assert backend_store.write_batch(batch) == 10
    assert backend_store.write_batch(batch) == 0  # a replay after an unknown outcome
    assert backend_store.write_batch([*batch[:3], *batch[:3], visit()]) == 1  # duplicates within a batch too
    assert backend_store.write_batch([]) == 0

    assert backend_store.count() == 11
    assert len({r.id for r in backend_store.iter_records()}) == 11


def test_a_batch_larger_than_one_insert_is_written_whole(backend_store: Store) -> None:
    """A batch goes in statements of many rows (see _ROWS_PER_INSERT): every row of every statement lands."""
    from cookieconsent.records._sql import _ROWS_PER_INSERT

    batch = [visit(page=f"/p{i}") if i % 2 else event() for i in range(2 * _ROWS_PER_INSERT + 7)]
    assert backend_store.write_batch(batch) == len(batch)
    assert backend_store.write_batch([*batch[-5:], visit()]) == 1  # the last statement's rows are kept as the first's
    assert {r.id for r in batch} < {r.id for r in backend_store.iter_records()}  # each one, and the new visit
    assert backend_store.count() == len(batch) + 1


def test_batches_of_every_size_use_a_few_statement_shapes(backend_store: Store) -> None:
    """A long-running writer's batches come in any size; its many-value statements in a few shapes.

    Each shape is prepared and kept by the database driver: one per batch size left a writer with
    a hundred big statements, megabytes that grew over the first hundred thousand requests.
    """
    from cookieconsent.records import _sql

    pool = [visit(f"dev-{i}") for i in range(2 * _sql._ROWS_PER_INSERT + 44)]
    backend_store.set_stop("dev-7", NOW)
    _sql._insert_records.cache_clear()
    _sql._select_stopped.cache_clear()
    for size in [*range(1, 60), _sql._ROWS_PER_INSERT - 1, _sql._ROWS_PER_INSERT + 1, len(pool)]:
        backend_store.write_batch(pool[:size])
    assert backend_store.count() == len(pool) - 1  # every record once, but the stopped device's
    assert _sql._insert_records.cache_info().misses <= _sql._ROWS_PER_INSERT.bit_length()
    assert _sql._select_stopped.cache_info().misses <= _sql._IN_CHUNK.bit_length()


def test_write_batch_refuses_consent_records(backend_store: Store) -> None:
    with pytest.raises(TypeError, match="append_consent"):
        backend_store.write_batch([consent()])  # type: ignore[list-item]


def test_records_for_and_delete_for_keep_devices_apart(backend_store: Store) -> None:
    mine: list[VisitRecord | EventRecord] = [visit("dev-a", "consent-a"), event("dev-a", "consent-a")]
    mine.append(event("dev-a", kind="page_view"))
    theirs: list[VisitRecord | EventRecord] = [visit("dev-b", "consent-b"), event("dev-b", "consent-b")]
    backend_store.write_batch([*mine, *theirs])
    backend_store.append_consent(consent("consent-a"))
    backend_store.append_consent(consent("consent-b"))

    assert {r.id for r in backend_store.records_for(device_id="dev-a")} == {r.id for r in mine}
    assert {r.id for r in backend_store.records_for(consent_id="consent-b")} == {r.id for r in theirs}
    assert backend_store.records_for(device_id="dev-c") == []

    assert backend_store.delete_for(device_id="dev-a") == DeleteCounts(visits=1, events=2)

    assert backend_store.records_for(device_id="dev-a") == []
    assert {r.id for r in backend_store.records_for(device_id="dev-b")} == {r.id for r in theirs}
    assert backend_store.delete_for(device_id="dev-a") == DeleteCounts()
    # Consent records are proof: deleting a device's data never touches them.
    assert [c.consent_id for c in backend_store.consent_chain()] == ["consent-a", "consent-b"]
    assert backend_store.verify_chain() == []


def test_records_for_matches_device_or_consent_id(backend_store: Store) -> None:
    by_device, by_consent, other = visit("dev-a"), visit("dev-x", "consent-a"), visit("dev-b", "consent-b")
    backend_store.write_batch([by_device, by_consent, other])

    found = backend_store.records_for(device_id="dev-a", consent_id="consent-a")

    assert {r.id for r in found} == {by_device.id, by_consent.id}
    assert backend_store.delete_for(consent_id="consent-a").total == 1
    assert {r.id for r in backend_store.records_for(device_id="dev-a", consent_id="consent-a")} == {by_device.id}


def test_reading_or_deleting_everyone_at_once_is_refused(backend_store: Store) -> None:
    backend_store.write_batch([visit()])
    with pytest.raises(ValueError, match="device_id or consent_id"):
        backend_store.records_for()
    with pytest.raises(ValueError, match="device_id or consent_id"):
        backend_store.delete_for()
    assert backend_store.count() == 1


# -- proof of consent ----------------------------------------------------------------------------


def test_append_consent_builds_a_hash_chain(backend_store: Store) -> None:
    first = backend_store.append_consent(consent("consent-a", mechanism="reject_all"))
    second = backend_store.append_consent(consent("consent-b", NOW + dt.timedelta(minutes=1)))
    third = backend_store.append_consent(consent("consent-a", NOW + dt.timedelta(minutes=2), mechanism="withdraw"))

    assert [r.seq for r in (first, second, third)] == [1, 2, 3]
    assert first.prev_hash == GENESIS_HASH
    assert first.prev_id is None
    assert second.prev_hash == first.record_hash
    assert second.prev_id == first.id
    assert third.prev_hash == second.record_hash
    assert all(r.record_hash == compute_record_hash(r) for r in (first, second, third))
    assert list(backend_store.consent_chain()) == [first, second, third]
    assert backend_store.consents_for("consent-a") == [first, third]
    head = backend_store.chain_head()
    assert (head.seq, head.hash, head.record_id) == (3, third.record_hash, third.id)
    assert backend_store.verify_chain() == []


def test_append_consent_is_idempotent_by_id(backend_store: Store) -> None:
    record = consent()
    stored = backend_store.append_consent(record)

    assert backend_store.append_consent(record) == stored
    assert backend_store.append_consent(stored) == stored
    assert [r.seq for r in backend_store.consent_chain()] == [1]


def test_concurrent_appends_keep_one_chain(target: Target, backend_store: Store) -> None:
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            for i in range(15):
                backend_store.append_consent(consent(f"consent-{worker}-{i}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert [r.seq for r in backend_store.consent_chain()] == list(range(1, 61))
    assert backend_store.verify_chain() == []


def _three_consents(store: Store) -> list[ConsentRecord]:
    return [store.append_consent(consent(f"consent-{i}", NOW + dt.timedelta(minutes=i))) for i in range(3)]


def test_verify_detects_an_edited_record(target: Target, backend_store: Store) -> None:
    _three_consents(backend_store)

    target.sql("UPDATE cc_consent_records SET body = replace(body, '\"custom\"', '\"accept_all\"') WHERE seq = 2")

    problems = backend_store.verify_chain()
    assert [(p.kind, p.seq) for p in problems] == [("edited", 2)]
    assert "consent record #2 was edited" in str(problems[0])


def test_verify_detects_an_edited_index_column(target: Target, backend_store: Store) -> None:
    _three_consents(backend_store)

    target.sql("UPDATE cc_consent_records SET consent_id = 'someone-else' WHERE seq = 3")

    assert [(p.kind, p.seq) for p in backend_store.verify_chain()] == [("edited", 3)]


def test_verify_detects_a_forged_record_appended_with_raw_sql(target: Target, backend_store: Store) -> None:
    records = _three_consents(backend_store)
    last = records[-1]
    # The best forgery: correctly linked and hashed, but added behind the store's back.
    forged = seal(consent("consent-forged", mechanism="accept_all"), seq=4, prev_id=last.id, prev_hash=last.record_hash)

    _insert_raw(target, forged)

    problems = backend_store.verify_chain()
    assert [(p.kind, p.seq) for p in problems] == [("inserted", 4)]
    assert "past the chain head" in problems[0].message


def test_verify_detects_a_record_replaced_by_a_forgery(target: Target, backend_store: Store) -> None:
    first, second, _ = _three_consents(backend_store)
    forged = seal(
        consent(second.consent_id, second.at, mechanism="accept_all"),
        seq=2,
        prev_id=first.id,
        prev_hash=first.record_hash,
    )

    target.sql("DELETE FROM cc_consent_records WHERE seq = 2")
    _insert_raw(target, forged)

    assert [(p.kind, p.seq) for p in backend_store.verify_chain()] == [("inserted", 3)]


@pytest.mark.parametrize(("seq", "expected"), [(2, [("deleted", 2)]), (3, [("deleted", 3)]), (1, [("deleted", 1)])])
def test_verify_detects_a_deleted_record(
    target: Target, backend_store: Store, seq: int, expected: list[object]
) -> None:
    _three_consents(backend_store)

    target.sql("DELETE FROM cc_consent_records WHERE seq = ?", (seq,))

    assert [(p.kind, p.seq) for p in backend_store.verify_chain()] == expected


def _insert_raw(target: Target, record: ConsentRecord) -> None:
    target.sql(
        "INSERT INTO cc_consent_records (seq, id, consent_id, at, prev_hash, record_hash, body) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            record.seq,
            str(record.id),
            record.consent_id,
            record.at.isoformat(),
            record.prev_hash,
            record.record_hash,
            record.canonical_json().decode(),
        ),
    )


# -- retention -----------------------------------------------------------------------------------


def test_purge_deletes_exactly_what_expired(backend_store: Store) -> None:
    retention = Retention(
        visit_records_days=30, event_records_days=7, consent_records_days=365, rights_requests_days=90
    )
    days = dt.timedelta(days=1)
    old_visit, new_visit = visit(at=NOW - 31 * days), visit(at=NOW - 30 * days)
    old_event, new_event = event(at=NOW - 8 * days), event(at=NOW - 6 * days)
    backend_store.write_batch([old_visit, new_visit, old_event, new_event])
    # Consent records in chain order; the 4th is expired but follows a kept one, so it stays.
    chain = [
        backend_store.append_consent(consent(f"c{i}", NOW - age * days))
        for i, age in enumerate([500, 400, 100, 366, 10])
    ]
    closed_old = close_request(
        RightsRequest.new("view", device_id="dev-a", received_at=NOW - 100 * days), "done", NOW - 91 * days
    )
    closed_new = close_request(
        RightsRequest.new("copy", device_id="dev-a", received_at=NOW - 100 * days), "done", NOW - 89 * days
    )
    open_old = RightsRequest.new("delete", device_id="dev-a", received_at=NOW - 400 * days)
    for request in (closed_old, closed_new, open_old):
        backend_store.add_rights_request(request)
    backend_store.set_stop("dev-z", NOW - 1000 * days)

    counts = backend_store.purge(NOW, retention)

    assert counts == PurgeCounts(visits=1, events=1, consents=2, rights_requests=1)
    assert {r.id for r in backend_store.records_for(device_id="dev-a")} == {new_visit.id, new_event.id}
    assert list(backend_store.consent_chain()) == chain[2:]
    assert {r.id for r in backend_store.list_rights_requests()} == {closed_new.id, open_old.id}
    assert backend_store.is_stopped("dev-z")
    # The chain still verifies after the purge, and keeps growing from where it was.
    assert backend_store.verify_chain() == []
    head = backend_store.chain_head()
    assert (head.purged_seq, head.purged_hash) == (2, chain[1].record_hash)
    assert backend_store.append_consent(consent("c5")).seq == 6
    assert backend_store.verify_chain() == []
    # A second purge at the same time finds nothing more.
    assert backend_store.purge(NOW, retention) == PurgeCounts()


def test_purge_of_the_whole_chain_still_verifies(backend_store: Store) -> None:
    for i in range(3):
        backend_store.append_consent(consent(f"c{i}", NOW - dt.timedelta(days=2000)))

    assert backend_store.purge(NOW, Retention()).consents == 3

    assert list(backend_store.consent_chain()) == []
    assert backend_store.verify_chain() == []
    assert backend_store.append_consent(consent("fresh", NOW)).seq == 4
    assert backend_store.verify_chain() == []


def test_purge_needs_an_aware_time(backend_store: Store) -> None:
    with pytest.raises(ValueError, match="time zone"):
        backend_store.purge(dt.datetime(2025, 1, 1), Retention())


# -- rights requests -----------------------------------------------------------------------------


def test_rights_requests_with_due_dates_and_one_extension(backend_store: Store) -> None:
    received = dt.datetime(2025, 1, 10, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # Taipei time
    view = RightsRequest.new("view", device_id="dev-a", received_at=received)
    delete = RightsRequest.new("delete", consent_id="consent-a", received_at=received + dt.timedelta(minutes=1))
    assert view.due_at == dt.datetime(2025, 1, 25, 1, 30, tzinfo=dt.UTC)
    assert delete.due_at == dt.datetime(2025, 2, 9, 1, 31, tzinfo=dt.UTC)
    backend_store.add_rights_request(view)
    backend_store.add_rights_request(delete)
    backend_store.add_rights_request(view)  # replay: stored once

    extended = extend(view, "The records are archived offline; retrieving them takes a week.", received)
    backend_store.update_rights_request(extended)

    assert extended.extended_due_at == view.due_at + dt.timedelta(days=15)
    assert extended.deadline == extended.extended_due_at
    with pytest.raises(RightsRequestError, match="already extended"):
        extend(extended, "still busy", received)
    with pytest.raises(RightsRequestError, match="written reason"):
        extend(delete, "   ", received)
    with pytest.raises(RightsRequestError, match="before the due date"):
        extend(delete, "late", delete.due_at + dt.timedelta(seconds=1))
    assert backend_store.get_rights_request(view.id) == extended
    assert backend_store.get_rights_request(view.reference) == extended
    assert backend_store.get_rights_request(str(delete.id)) == delete
    assert backend_store.get_rights_request("RR-NOPE") is None
    assert backend_store.list_rights_requests() == [extended, delete]
    assert backend_store.list_rights_requests(device_id="dev-a") == [extended]

    done = close_request(delete, "deleted", received + dt.timedelta(days=3))
    backend_store.update_rights_request(done)
    assert backend_store.list_rights_requests(open_only=True) == [extended]
    assert backend_store.list_rights_requests(consent_id="consent-a") == [done]
    with pytest.raises(RightsRequestError, match="closed"):
        extend(done, "reason", received)


def test_updating_an_unknown_rights_request_fails(backend_store: Store) -> None:
    with pytest.raises(StoreError, match="add_rights_request"):
        backend_store.update_rights_request(RightsRequest.new("stop", device_id="dev-a"))


# -- stop flags ----------------------------------------------------------------------------------


def test_stop_flag_halts_recording_and_survives_a_new_consent(target: Target, backend_store: Store) -> None:
    backend_store.write_batch([visit("dev-a", "consent-1")])
    backend_store.set_stop(device_id="dev-a")
    backend_store.set_stop(device_id="dev-a")  # twice is harmless

    # The visitor clears cookies and consents again: a new consent id, the same device.
    backend_store.append_consent(consent("consent-2"))
    assert backend_store.is_stopped(device_id="dev-a", consent_id="consent-2")
    assert not backend_store.is_stopped(consent_id="consent-2")
    assert backend_store.write_batch([visit("dev-a", "consent-2"), event("dev-a", "consent-2"), visit("dev-b")]) == 1

    # Stopping a consent id stops its records whatever device they come from.
    backend_store.set_stop(consent_id="consent-3")
    assert backend_store.write_batch([visit("dev-c", "consent-3")]) == 0
    assert not backend_store.is_stopped(device_id="dev-b", consent_id=None)
    assert not backend_store.is_stopped()
    # The recorder's question, once per batch: which of these are stopped (the bundled stores ask once).
    devices = ["dev-a", "dev-b", "consent-3", ""] + [f"dev-{i}" for i in range(1200)]
    consents = ["consent-2", "consent-3", "dev-a"]
    assert backend_store.stopped_among(device_ids=devices, consent_ids=consents) == Stopped(
        frozenset({"dev-a"}), frozenset({"consent-3"})
    )
    assert backend_store.stopped_among() == Stopped()
    default = Store.stopped_among(backend_store, device_ids=["dev-a", "consent-3"], consent_ids=["dev-a", "consent-3"])
    assert default == Stopped(frozenset({"dev-a"}), frozenset({"consent-3"}))  # the default, by is_stopped

    backend_store.close()
    reopened = target.open()
    try:
        assert reopened.is_stopped(device_id="dev-a")
        assert reopened.is_stopped(consent_id="consent-3")
        assert reopened.records_for(device_id="dev-a") == store_records_before(reopened)
        assert reopened.clear_stop(device_id="dev-a") is True
        assert reopened.clear_stop(device_id="dev-a") is False
        assert reopened.write_batch([visit("dev-a")]) == 1
    finally:
        reopened.close()


def store_records_before(store: Store) -> list[VisitRecord | EventRecord]:
    """The one record dev-a had before the stop (nothing was added after it)."""
    records = store.records_for(device_id="dev-a")
    assert len(records) == 1
    assert records[0].consent_id == "consent-1"
    return records


# -- schema and lifecycle ------------------------------------------------------------------------


def test_schema_is_created_once_with_a_version(target: Target, backend_store: Store) -> None:
    backend_store.write_batch([visit()])
    backend_store.close()

    with target.open() as again:
        assert again.count() == 1
        assert again.schema_version() == SCHEMA_VERSION
    # Each version's step applied once, in order (a new database goes through every step).
    assert target.sql("SELECT version FROM cc_schema_version ORDER BY version") == [
        (version,) for version in range(1, SCHEMA_VERSION + 1)
    ]


def test_a_newer_schema_is_refused(target: Target, backend_store: Store) -> None:
    backend_store.close()
    target.sql("INSERT INTO cc_schema_version (version, applied_at) VALUES (99, ?)", (NOW.isoformat(),))

    with pytest.raises(StoreError, match="newer cookieconsent"):
        target.open()


def test_a_closed_store_says_so(backend_store: Store) -> None:
    backend_store.close()
    backend_store.close()
    with pytest.raises(StoreError, match="closed"):
        backend_store.count()


def test_postgres_repr_hides_the_password(pg_cluster: PgCluster) -> None:
    schema = pg_cluster.create_schema()
    try:
        # Trust authentication ignores the password, so this connects.
        with Target("postgres", pg_cluster.url(schema, password="s3cret-pw")).open() as store:
            assert "s3cret-pw" not in repr(store)
            assert "postgres:***@" in repr(store)
    finally:
        pg_cluster.drop_schema(schema)
