"""The recorder: nothing before consent, each data item only under its category, faults lose nothing."""

from __future__ import annotations

import fcntl
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from cookieconsent import ConsentConfig
from cookieconsent.asgi import ConsentMiddleware
from cookieconsent.policy.model import parse_policy
from cookieconsent.records import StoreUnavailableError, VisitRecord, open_store
from cookieconsent.records.recorder import Recorder
from tests.harness import SECRET, UA, FaultyStore, data_item, recording_config, small_policy_data


def app_with(recorder: Recorder) -> TestClient:
    async def page(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = ConsentMiddleware(Starlette(routes=[Route("/{path:path}", page)]), recorder.engine.config, recorder=recorder)
    return TestClient(
        app,
        base_url="https://testserver",
        headers={"user-agent": UA, "cf-ipcountry": "TW"},
        client=("203.0.113.7", 50000),
    )


def make_recorder(store: FaultyStore, tmp_path: Path, **options: Any) -> Recorder:
    return Recorder(
        recording_config(),
        store,
        **{
            "spool": tmp_path / "spool.jsonl",
            "country_header": "cf-ipcountry",
            "interval": 0.05,
            "retry_after": 0.05,
            **options,
        },
    )


def test_nothing_is_recorded_before_a_decision(store: FaultyStore, tmp_path: Path) -> None:
    recorder = make_recorder(store, tmp_path)
    seen: list[Any] = []
    recorder.on_visit(seen.append)
    client = app_with(recorder)
    for i in range(20):
        assert client.get(f"/page/{i}").status_code == 200
    client.post("/_consent", json={"action": "reject_all"})
    for i in range(5):
        client.get(f"/after/{i}")
    recorder.close()
    assert store.count() == 0  # R3
    assert seen == []
    assert [c.mechanism for c in store.consent_chain()] == ["reject_all"]  # only the proof of the refusal


@pytest.mark.parametrize(
    ("granted", "present", "absent"),
    [
        (
            ["analytics"],
            {"ip", "duration_ms", "log_line", "status"},
            {"user_agent", "cookies", "device_id", "location"},
        ),
        (["functional"], {"user_agent", "cookies", "device_id"}, {"ip", "duration_ms", "log_line", "location"}),
        (["marketing"], {"location"}, {"ip", "user_agent", "cookies", "device_id", "duration_ms"}),
    ],
)
def test_each_item_only_under_its_category(
    store: FaultyStore, tmp_path: Path, granted: list[str], present: set[str], absent: set[str]
) -> None:
    recorder = make_recorder(store, tmp_path)
    client = app_with(recorder)
    client.post("/_consent", json={"action": "custom", "categories": granted})
    client.get("/a")
    recorder.close()
    records = list(store.iter_records("visit"))
    assert len(records) == 1
    record = records[0]
    assert isinstance(record, VisitRecord)
    for name in present:
        assert getattr(record, name) not in (None, ()), name
    for name in absent:
        assert getattr(record, name) in (None, ()), name
    if "ip" in present:
        assert record.ip == "203.0.113.0/24"  # R29: never the full address
    if "user_agent" in present:
        assert record.user_agent is not None
        assert record.user_agent.os == "iOS"
        assert record.user_agent.raw is None  # kept only if configured
    if "location" in present:
        assert record.location is not None
        assert record.location.country == "TW"


def test_one_header_is_parsed_once_yet_each_record_keeps_only_its_items(store: FaultyStore, tmp_path: Path) -> None:
    """The parsed User-Agent is kept per header; which of its fields a record holds still follows its grants."""
    policy = small_policy_data(
        data_items=[data_item("software_hardware", "functional"), data_item("device_type_version", "marketing")]
    )
    recorder = Recorder(
        ConsentConfig(policy=parse_policy(policy), secret_keys=[SECRET]),
        store,
        spool=tmp_path / "spool.jsonl",
        keep_raw_user_agent=True,
        interval=0.05,
    )
    for granted in (["functional"], ["marketing"], ["functional"], ["functional", "marketing"]):
        client = app_with(recorder)  # a new visitor each time, with the same browser
        client.post("/_consent", json={"action": "custom", "categories": granted})
        client.get("/a")
    recorder.close()
    records = sorted(store.iter_records("visit"), key=lambda r: r.at)
    software, device, software_again, both = (r.user_agent for r in records if isinstance(r, VisitRecord))
    assert software is not None
    assert device is not None
    assert both is not None
    assert (software.os, software.device_type, software.raw) == ("iOS", None, UA)
    assert (device.os, device.device_type, device.raw) == (None, "mobile", None)  # the raw header is software
    assert software_again == software
    assert (both.os, both.device_type, both.raw) == ("iOS", "mobile", UA)


def test_device_id_cookie_only_when_granted(store: FaultyStore, tmp_path: Path) -> None:
    recorder = make_recorder(store, tmp_path)
    client = app_with(recorder)
    r = client.post("/_consent", json={"action": "custom", "categories": ["analytics"]})
    assert not any(c.startswith(recorder.device_cookie + "=") for c in r.headers.get_list("set-cookie"))
    r = client.post("/_consent", json={"action": "custom", "categories": ["functional"]})
    assert any(c.startswith(recorder.device_cookie + "=") for c in r.headers.get_list("set-cookie"))
    recorder.close()


def test_gpc_suppresses_the_marketing_items(store: FaultyStore, tmp_path: Path) -> None:
    recorder = make_recorder(store, tmp_path)
    client = app_with(recorder)
    client.post("/_consent", json={"action": "accept_all"})
    client.get("/with-gpc", headers={"sec-gpc": "1"})
    recorder.close()
    record = next(r for r in store.iter_records("visit") if r.page == "/with-gpc")
    assert isinstance(record, VisitRecord)
    assert record.location is None  # marketing refused by GPC (R35)
    assert record.ip is not None
    assert [c.mechanism for c in store.consent_chain()] == ["accept_all", "gpc_opt_out"]


def test_stop_request_halts_recording_and_survives_a_new_cookie(store: FaultyStore, tmp_path: Path) -> None:
    recorder = make_recorder(store, tmp_path)
    client = app_with(recorder)
    decided = client.post("/_consent", json={"action": "accept_all"}).json()
    client.get("/before")
    recorder.flush()
    store.set_stop(decided["consent_id"])
    device = client.cookies.get(recorder.device_cookie)
    assert device
    store.set_stop(device)
    for i in range(5):
        client.get(f"/after/{i}")
    client.cookies.delete("__Host-consent")
    client.post("/_consent", json={"action": "accept_all"})  # a new consent id; the same device
    client.get("/new-cookie")
    recorder.close()
    pages = [r.page for r in store.iter_records("visit")]
    assert pages == ["/before"]  # R53


def test_store_outage_loses_and_duplicates_nothing(store: FaultyStore, tmp_path: Path) -> None:
    recorder = make_recorder(store, tmp_path)
    client = app_with(recorder)
    client.post("/_consent", json={"action": "accept_all"})
    client.get("/up/0")
    recorder.flush()
    store.down = True
    for i in range(30):
        client.get(f"/down/{i}")
    client.post("/_consent", json={"action": "custom", "categories": ["analytics", "functional"]})
    recorder.flush()
    assert (tmp_path / "spool.jsonl").exists()  # kept on disk while the store is away
    store.down = False
    time.sleep(0.1)
    for i in range(3):
        client.get(f"/back/{i}")
    recorder.close()
    pages = sorted(r.page for r in store.iter_records("visit"))
    assert len(pages) == len(set(r.id for r in store.iter_records("visit")))
    assert pages == sorted(["/up/0", *(f"/down/{i}" for i in range(30)), *(f"/back/{i}" for i in range(3))])
    assert [c.mechanism for c in store.consent_chain()] == ["accept_all", "custom"]
    assert store.verify_chain() == []
    assert not (tmp_path / "spool.jsonl").exists()


def test_hooks_that_raise_or_hang_never_break_pages_or_storage(
    store: FaultyStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = make_recorder(store, tmp_path)
    release = threading.Event()

    @recorder.on_visit
    def broken(record: VisitRecord) -> None:
        raise RuntimeError("hook failure")

    @recorder.on_consent
    def hanging(record: Any) -> None:
        release.wait(5)

    client = app_with(recorder)
    client.post("/_consent", json={"action": "accept_all"})
    started = time.monotonic()
    for i in range(10):
        assert client.get(f"/p/{i}").status_code == 200
    assert time.monotonic() - started < 5  # pages do not wait for hooks
    recorder.flush()
    assert store.count("visit") == 10  # the store does not wait for hooks either
    release.set()
    recorder.close()
    assert any("hook failure" in (r.exc_text or "") or "raised" in r.getMessage() for r in caplog.records)


def test_proof_of_consent_for_every_decision(store: FaultyStore, tmp_path: Path) -> None:
    recorder = make_recorder(store, tmp_path)
    client = app_with(recorder)
    for action in ("accept_all", "reject_all"):
        client.post("/_consent", json={"action": action}, headers={"accept-language": "zh-TW"})
    client.post("/_consent/withdraw")  # no change after reject_all: nothing new to prove
    client.post("/_consent", json={"action": "custom", "categories": ["analytics"]})
    client.post("/_consent/withdraw")
    recorder.close()
    chain = list(store.consent_chain())
    assert [c.mechanism for c in chain] == ["accept_all", "reject_all", "custom", "withdraw"]
    first = chain[0]
    assert first.locale == "zh-TW"
    assert first.notice_hash == recorder.notice_hash("zh-TW") != recorder.notice_hash("en")
    assert first.policy_fingerprint == recorder.policy.fingerprint
    assert first.refused == ()
    assert chain[-1].granted == ()
    assert store.verify_chain() == []


def test_open_store_default_is_sqlite(tmp_path: Path) -> None:
    recorder = Recorder(recording_config(), str(tmp_path / "instance" / "records.db"))
    assert recorder.store is not None
    assert recorder.spool == tmp_path / "instance" / "records.spool.jsonl"
    recorder.close()
    with open_store(str(tmp_path / "instance" / "records.db")) as store:
        assert store.count() == 0


def test_consent_hooks_get_the_sealed_record(store: FaultyStore, tmp_path: Path) -> None:
    recorder = make_recorder(store, tmp_path)
    seen: list[Any] = []
    recorder.on_consent(seen.append)
    client = app_with(recorder)
    client.post("/_consent", json={"action": "accept_all"})
    client.post("/_consent", json={"action": "reject_all"})
    recorder.close()
    stored = list(store.consent_chain())
    assert [r.seq for r in seen] == [r.seq for r in stored] == [1, 2]
    assert [r.record_hash for r in seen] == [r.record_hash for r in stored]
    assert seen[1].prev_hash == seen[0].record_hash != ""


def test_hooks_see_what_is_written_at_shutdown(store: FaultyStore, tmp_path: Path) -> None:
    recorder = make_recorder(store, tmp_path, interval=3600)  # only close() writes
    seen: list[Any] = []
    recorder.on_visit(seen.append)
    client = app_with(recorder)
    client.post("/_consent", json={"action": "accept_all"})
    for i in range(5):
        client.get(f"/last/{i}")
    recorder.close()
    assert store.count("visit") == 5
    assert sorted(r.page for r in seen) == [f"/last/{i}" for i in range(5)]


def test_spool_is_locked_against_other_processes(store: FaultyStore, tmp_path: Path) -> None:
    recorder = make_recorder(store, tmp_path)
    client = app_with(recorder)
    client.post("/_consent", json={"action": "accept_all"})
    recorder.flush()
    store.down = True
    client.get("/spooled")
    # Another process holds the spool (it is replaying it): this one must wait, not write beside it.
    lock = (tmp_path / "spool.jsonl.lock").open("w")
    fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
    writer = threading.Thread(target=recorder.flush)
    writer.start()
    writer.join(0.5)
    assert writer.is_alive()
    assert not (tmp_path / "spool.jsonl").exists()
    lock.close()  # released
    writer.join(5)
    assert not writer.is_alive()
    # Read as another process would, under the lock: the recorder's own thread (every 50 ms here)
    # may be rewriting the spool meanwhile.
    with (tmp_path / "spool.jsonl.lock").open("w") as reader:
        fcntl.flock(reader.fileno(), fcntl.LOCK_EX)
        assert "/spooled" in (tmp_path / "spool.jsonl").read_text()
    store.down = False
    recorder._store_down_until = 0.0
    recorder.close()
    assert [r.page for r in store.iter_records("visit")] == ["/spooled"]
    assert not (tmp_path / "spool.jsonl").exists()


@pytest.mark.parametrize("target", ["host=db.invalid dbname=app", "dbname=app user=web password=secret"])
def test_open_store_reads_a_key_value_connection_string_as_postgresql(target: str) -> None:
    with pytest.raises(StoreUnavailableError):
        open_store(target, timeout=1)  # PostgreSQL, unreachable here; not an SQLite file named "host=…"
    assert not Path(target).exists()


def test_visit_record_ids_are_time_ordered_random_and_distinct(store: FaultyStore, tmp_path: Path) -> None:
    """Ids come from entropy read for many at once: version 7, sorted by time, never the same twice."""
    recorder = make_recorder(store, tmp_path)
    at = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    ids = [recorder._record_id(at + i / 100) for i in range(1000)]  # past several refills, 10 ms apart
    assert len(set(ids)) == 1000
    assert {i.version for i in ids} == {7}
    assert {i.variant for i in ids} == {uuid.RFC_4122}
    assert ids == sorted(ids, key=lambda i: i.bytes)  # as an index keeps them: each at the end
    assert ids[0].int >> 80 == 1_767_225_600_000  # the time, in milliseconds, leads
    same_ms = [recorder._record_id(at) for _ in range(50)]
    assert len({i.int & (1 << 74) - 1 for i in same_ms}) == 50  # within one millisecond: random
    recorder.close()
