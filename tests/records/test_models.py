"""The record models: minimisation, validation, the consent hash, rights due dates."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from cookieconsent.errors import ConfigurationError, CookieConsentError
from cookieconsent.records import (
    GENESIS_HASH,
    ChainHead,
    ConsentRecord,
    EventRecord,
    Location,
    MissingDependencyError,
    RightsRequest,
    StoreError,
    VisitRecord,
    check_chain,
    compute_record_hash,
    due_date,
    hash_notice,
    ip_minimise,
    open_store,
    parse_record,
    redact_url,
    seal,
)

KEY = b"k" * 32
NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("203.0.113.77:51234", "203.0.113.0/24"),
        (" 10.1.2.3 ", "10.1.2.0/24"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::/48"),
        ("[2001:db8:abcd:12::1]:443", "2001:db8:abcd::/48"),
        ("fe80::1%eth0", "fe80::/48"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),
    ],
)
def test_ip_truncation(ip: str, expected: str) -> None:
    assert ip_minimise(ip) == expected


@given(st.ip_addresses(v=4).map(str) | st.from_regex(r"\A[0-9]{1,4}(\.[0-9]{1,4}){3}\Z"))
def test_ipv4_truncation_reads_as_the_ipaddress_module_does(text: str) -> None:
    # The dotted-quad fast path must give what the full parse gives, and refuse what it refuses.
    try:
        expected: str | None = str(ipaddress.ip_network(f"{ipaddress.IPv4Address(text)}/24", strict=False))
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(ValueError, match="is not an IP address"):
            ip_minimise(text)
    else:
        assert ip_minimise(text) == expected


def test_ip_hash_is_keyed_stable_and_short() -> None:
    hashed = ip_minimise("203.0.113.77", "hash", KEY)

    assert len(hashed) == 32
    assert int(hashed, 16) >= 0
    assert hashed == ip_minimise("::ffff:203.0.113.77", "hash", KEY)
    assert hashed != ip_minimise("203.0.113.78", "hash", KEY)
    assert hashed != ip_minimise("203.0.113.77", "hash", b"another-key-of-32-bytes-........")


@pytest.mark.parametrize("key", [None, b"", b"short"])
def test_ip_hash_needs_a_real_key(key: bytes | None) -> None:
    with pytest.raises(ConfigurationError, match="16 bytes"):
        ip_minimise("203.0.113.77", "hash", key)


def test_ip_minimise_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        ip_minimise("example.com")
    with pytest.raises(ValueError, match="'truncate' or 'hash'"):
        ip_minimise("203.0.113.7", "mask")  # type: ignore[arg-type]


@pytest.mark.parametrize("ip", ["203.0.113.77", "203.0.113.0/25", "2001:db8::1", "2001:db8::/64", "abc", "1.2.3.4/24"])
def test_models_never_hold_a_full_ip(ip: str) -> None:
    with pytest.raises(ValidationError, match="ip_minimise"):
        VisitRecord(page="/", ip=ip)


def test_models_take_minimised_ips() -> None:
    assert VisitRecord(page="/", ip="203.0.113.0/24").ip == "203.0.113.0/24"
    assert VisitRecord(page="/", ip="2001:db8:1::/48").ip == "2001:db8:1::/48"
    assert VisitRecord(page="/", ip=ip_minimise("1.2.3.4", "hash", KEY)).ip is not None


def test_location_is_coarse_only() -> None:
    assert Location(country="TW", region="TW-TPE").region == "TW-TPE"
    with pytest.raises(ValidationError, match="country code"):
        Location(country="Taiwan")
    with pytest.raises(ValidationError, match="ISO 3166-2"):
        Location(country="TW", region="JP-13")
    with pytest.raises(ValidationError, match="Extra inputs"):
        Location.model_validate({"country": "TW", "latitude": 25.03, "longitude": 121.56})


def test_cookie_data_is_names_only() -> None:
    assert VisitRecord(page="/", cookies=("_ga", "session")).cookies == ("_ga", "session")
    with pytest.raises(ValidationError, match="names of cookies"):
        VisitRecord(page="/", cookies=("_ga=GA1.2.3",))


def test_records_are_frozen_utc_and_round_trip_as_json() -> None:
    taipei = dt.timezone(dt.timedelta(hours=8))
    record = VisitRecord(page="/", at=dt.datetime(2025, 1, 1, 8, 0, tzinfo=taipei), device_id="d")

    assert record.at == dt.datetime(2025, 1, 1, 0, 0, tzinfo=dt.UTC)
    assert record.at.tzinfo is dt.UTC
    assert '"at":"2025-01-01T00:00:00.000000Z"' in record.model_dump_json()
    assert parse_record(record.model_dump_json()) == record
    assert parse_record(json.loads(record.model_dump_json())) == record
    with pytest.raises(ValidationError):
        record.page = "/other"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="time zone"):
        VisitRecord(page="/", at=dt.datetime(2025, 1, 1))
    event = EventRecord(kind="page_view", page="/a")
    assert isinstance(parse_record(event.model_dump_json()), EventRecord)


def _consent(**changes: object) -> ConsentRecord:
    data: dict[str, object] = {
        "consent_id": "consent-a",
        "at": NOW,
        "policy_version": "1",
        "policy_fingerprint": "0123456789abcdef",
        "notice_hash": hash_notice("notice"),
        "locale": "zh-TW",
        "granted": ["marketing", "analytics", "analytics"],
        "refused": ["functional"],
        "mechanism": "custom",
    }
    data.update(changes)
    return ConsentRecord.model_validate(data)


def test_consent_record_hash_covers_every_field() -> None:
    record = seal(_consent(), seq=1, prev_id=None, prev_hash=GENESIS_HASH)

    assert record.granted == ("analytics", "marketing")
    assert record.sealed
    assert record.record_hash == hashlib.sha256(record.canonical_json()).hexdigest()
    assert b"record_hash" not in record.canonical_json()
    for field, value in [
        ("gpc", True),
        ("locale", "en"),
        ("seq", 2),
        ("prev_hash", "1" * 64),
        ("mechanism", "accept_all"),
        ("notice_hash", hash_notice("other")),
        ("at", NOW + dt.timedelta(microseconds=1)),
    ]:
        changed = record.model_copy(update={field: value})
        assert compute_record_hash(changed) != record.record_hash, field


def test_consent_record_refuses_bad_input() -> None:
    with pytest.raises(ValidationError, match="both granted and refused"):
        _consent(granted=["analytics"], refused=["analytics"])
    with pytest.raises(ValidationError, match="hash_notice"):
        _consent(notice_hash="abc")
    with pytest.raises(ValidationError, match="ip_minimise"):
        _consent(ip="203.0.113.7")
    with pytest.raises(ValidationError):
        _consent(mechanism="dismiss")
    with pytest.raises(ValueError, match="seq must be"):
        seal(_consent(), seq=0, prev_id=None, prev_hash=GENESIS_HASH)


def test_check_chain_on_plain_rows() -> None:
    first = seal(_consent(), seq=1, prev_id=None, prev_hash=GENESIS_HASH)
    second = seal(_consent(consent_id="b"), seq=2, prev_id=first.id, prev_hash=first.record_hash)
    rows = [
        (r.seq, str(r.id), r.consent_id, r.prev_hash, r.record_hash, r.canonical_json().decode())
        for r in (first, second)
    ]
    head = ChainHead(seq=2, hash=second.record_hash, record_id=second.id)

    assert check_chain(rows, head) == []
    assert [p.kind for p in check_chain(rows[:1], head)] == ["deleted"]
    assert [p.kind for p in check_chain([rows[0], (*rows[1][:5], "{}")], head)] == ["edited"]


@pytest.mark.parametrize(("kind", "days"), [("view", 15), ("copy", 15), ("correct", 30), ("stop", 30), ("delete", 30)])
def test_due_dates(kind: str, days: int) -> None:
    assert due_date(kind, NOW) == NOW + dt.timedelta(days=days)  # type: ignore[arg-type]
    request = RightsRequest.new(kind, device_id="d", received_at=NOW)  # type: ignore[arg-type]
    assert request.due_at == NOW + dt.timedelta(days=days)
    assert request.reference.startswith("RR-")
    assert request.is_open


def test_rights_request_validation() -> None:
    anonymous = RightsRequest.new("view")  # a visitor with neither id: the reference identifies it
    assert (anonymous.device_id, anonymous.consent_id) == (None, None)
    assert anonymous.reference.startswith("RR-")
    with pytest.raises(ValueError, match="unknown right"):
        due_date("erase", NOW)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="legal period"):
        RightsRequest(kind="view", device_id="d", received_at=NOW, due_at=NOW + dt.timedelta(days=16))


def test_open_store_picks_the_backend(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/a/records.db") as store:
        assert type(store).__name__ == "SqliteStore"
    with pytest.raises(StoreError, match="unsupported store URL 'mysql://u:\\*\\*\\*@h/db'"):
        open_store("mysql://u:pw@h/db")
    with pytest.raises(StoreError, match="sqlite:////absolute"):
        open_store("sqlite://relative.db")


def test_postgres_store_without_psycopg_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "cookieconsent\[postgres\]"') as info:
        open_store("postgresql://localhost/db")
    assert isinstance(info.value, ImportError)
    assert isinstance(info.value, CookieConsentError)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://app:s3cret@db:5432/app", "postgresql://app:***@db:5432/app"),
        (
            "postgresql://app@db/app?password=s3cret&sslmode=require",
            "postgresql://app@db/app?password=***&sslmode=require",
        ),
        ("host=db user=app password=s3cret dbname=app", "host=db user=app password=*** dbname=app"),
        ("postgresql://db/app", "postgresql://db/app"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_uuid_ids_by_default() -> None:
    assert isinstance(VisitRecord(page="/").id, uuid.UUID)
    assert VisitRecord(page="/").id != VisitRecord(page="/").id


def test_importing_records_does_not_import_psycopg() -> None:
    code = (
        "import sys, cookieconsent.records as r\n"
        "r.open_store(':memory:').close()\n"
        "print('psycopg' in sys.modules, 'psycopg_pool' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_time_ordered_ids_carry_the_time_then_random_bits() -> None:
    from cookieconsent.records.models import new_record_id, time_ordered_id

    made = time_ordered_id(bytes(range(10)), 1_767_225_600_123)
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert made.int >> 80 == 1_767_225_600_123
    assert str(made).startswith("019b76da-a87b-7")  # the time in hex, then the version
    assert time_ordered_id(b"\xff" * 10, 1) > time_ordered_id(b"\x00" * 10, 0)  # the time decides first
    with pytest.raises(ValueError, match="10 random bytes"):
        time_ordered_id(b"short", 0)
    fresh = [new_record_id() for _ in range(200)]
    assert len(set(fresh)) == 200
    assert {i.version for i in fresh} == {7}
    assert EventRecord(kind="page_view", page="/").id.version == 7  # the default of event records too
