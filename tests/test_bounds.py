"""What one visitor, or an attacker, can make the server do is bounded.

- the privacy centre never loads all of a visitor's records: the page shows 100 at a time, counted
  with COUNT queries; the JSON copy is streamed from store batches, off the event loop;
- a GET files no rights request; a rights request needs an id the store holds something for, and
  an open one of the same kind is answered with its own reference;
- beacon events have a per-device quota, whose counters take bounded memory.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import threading
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from cookieconsent import ConsentConfig
from cookieconsent.asgi import ConsentMiddleware
from cookieconsent.core.request import RequestView
from cookieconsent.core.state import ConsentState
from cookieconsent.errors import ConfigurationError
from cookieconsent.records import EventRecord, StoreUnavailableError, UserAgent, VisitRecord
from cookieconsent.records.recorder import DEVICE_COOKIE, Recorder
from cookieconsent.records.sqlite import SqliteStore
from cookieconsent.web.endpoints import EventQuota
from cookieconsent.web.privacy import PAGE_SIZE
from cookieconsent.web.replies import Reply
from cookieconsent.web.serving import off_loop
from cookieconsent.wsgi import ConsentMiddleware as WSGIMiddleware
from tests.harness import SECRET, UA, ASGICall, asgi_scope, recording_config, run_asgi

DEVICE = f"__Host-{DEVICE_COOKIE}"
NOW = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
BIG = 20_000
AGENT = UserAgent(browser="Mobile Safari", browser_version="17.1", os="iOS", os_version="17.1", device_type="mobile")


def history(device: str, count: int, consent: str | None = None) -> list[VisitRecord]:
    return [
        VisitRecord(
            device_id=device,
            consent_id=consent,
            page=f"/p/{i}",
            at=NOW + dt.timedelta(seconds=i),
            ip="203.0.113.0/24",
            user_agent=AGENT,
            log_line=f'203.0.113.0/24 "GET /p/{i}" 200',
        )
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def big_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store file where the device ``dev-big`` has 20,000 visit records (written once per module)."""
    path = tmp_path_factory.mktemp("big") / "records.db"
    with SqliteStore(path) as store:
        store.write_batch(history("dev-big", BIG))
    return path


def app_over(store: SqliteStore, tmp_path: Path, cfg: ConsentConfig | None = None) -> tuple[Any, Recorder]:
    recorder = Recorder(cfg or recording_config(), store, spool=tmp_path / "spool.jsonl", interval=0.05)

    async def page(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = ConsentMiddleware(Starlette(routes=[Route("/{path:path}", page)]), recorder.engine.config, recorder=recorder)
    return app, recorder


def visitor(app: Any, *, cookie: str | None = None, ip: str = "203.0.113.7") -> TestClient:
    headers = {"user-agent": UA}
    if cookie is not None:
        headers["cookie"] = cookie
    return TestClient(app, base_url="https://testserver", headers=headers, client=(ip, 50000), follow_redirects=False)


class WholeLoadsRefused(SqliteStore):
    """A store that fails the test if anything loads all of a visitor's records, decisions or requests."""

    def records_for(self, **ids: Any) -> Any:
        raise AssertionError("records_for loads every record of the visitor")

    def consents_for(self, consent_id: str) -> Any:
        raise AssertionError("consents_for loads every decision of the visitor")

    def list_rights_requests(self, **ids: Any) -> Any:
        if ids.get("device_id") or ids.get("consent_id"):
            raise AssertionError("list_rights_requests loads every request of the visitor")
        return super().list_rights_requests(**ids)


# -- the page, 100 records at a time ----------------------------------------------------------------


def pages_shown(html: str) -> list[int]:
    return [int(n) for n in re.findall(r">/p/(\d+)</td>", html)]


def test_the_page_shows_100_records_at_a_time_and_pages_through_them(tmp_path: Path) -> None:
    store = WholeLoadsRefused(tmp_path / "records.db")
    store.write_batch(history("dev-250", 250))
    store.write_batch([EventRecord(kind="click", page="/c", device_id="dev-250", at=NOW)])
    app, recorder = app_over(store, tmp_path)
    try:
        client = visitor(app, cookie=f"{DEVICE}=dev-250")
        first = client.get("/_consent/my-data")
        assert first.status_code == 200
        html = first.text
        assert pages_shown(html) == list(range(249, 149, -1))  # the newest 100, newest first
        assert "<td>Visits</td><td>250</td>" in html  # counted, not loaded
        assert "<td>Clicks</td><td>1</td>" in html
        assert "Records 1 to 100 of 251, newest first." in html
        assert "Page 1 of 3" in html
        assert 'rel="prev"' not in html
        older = re.search(r'<a href="([^"]+)" rel="next">', html)
        assert older is not None
        assert older[1] == "/_consent/my-data?page=2#ccm-latest"

        second = client.get(older[1].split("#")[0]).text
        assert pages_shown(second) == list(range(149, 49, -1))
        assert "Records 101 to 200 of 251" in second
        assert '<a href="/_consent/my-data?page=1#ccm-latest" rel="prev">' in second
        assert '<a href="/_consent/my-data?page=3#ccm-latest" rel="next">' in second

        third = client.get("/_consent/my-data?page=3").text
        assert pages_shown(third) == list(range(49, -1, -1))  # the last 50 visits and the click
        assert "Records 201 to 251 of 251" in third
        assert "/c</td>" in third
        assert 'rel="next"' not in third
        beyond = client.get("/_consent/my-data?page=99").text  # past the end: the last page
        assert pages_shown(beyond) == pages_shown(third)
        assert "Page 3 of 3" in beyond
        assert PAGE_SIZE == 100
    finally:
        recorder.close()
        store.close()


@pytest.mark.parametrize("page", ["0", "-1", "x", "1.5", "²", "1" * 10])
def test_a_page_that_is_no_number_is_refused(tmp_path: Path, page: str) -> None:
    store = SqliteStore(tmp_path / "records.db")
    app, recorder = app_over(store, tmp_path)
    try:
        r = visitor(app).get("/_consent/my-data", params={"page": page})
        assert r.status_code == 400
        assert r.json()["error"] == "bad_page"
        assert "?page=2" in r.json()["message"]
    finally:
        recorder.close()
        store.close()


# -- the JSON copy, streamed ------------------------------------------------------------------------


def wsgi_get(app: WSGIMiddleware, path: str, cookie: str, method: str = "GET") -> tuple[str, dict[str, str], Any]:
    """Call a WSGI app as a server does; the body iterable is returned unread."""
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started.update(status=status, headers=dict(headers))
        return lambda data: None

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "443",
        "HTTP_HOST": "testserver",
        "HTTP_COOKIE": cookie,
        "REMOTE_ADDR": "203.0.113.7",
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(),
    }
    body = app(environ, start_response)
    return started["status"], started["headers"], body


def test_a_20000_record_copy_streams_without_holding_the_records(big_db: Path, tmp_path: Path) -> None:
    store = WholeLoadsRefused(big_db)
    recorder = Recorder(recording_config(), store, spool=tmp_path / "spool.jsonl")

    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("content-type", "text/plain")])
        return [b"ok"]

    wsgi = WSGIMiddleware(app, recorder.engine.config, recorder=recorder)
    try:
        tracemalloc.start()
        try:
            status, headers, body = wsgi_get(wsgi, "/_consent/my-data.json", f"{DEVICE}=dev-big")
            total = chunks = 0
            tail = b""
            for chunk in body:
                total += len(chunk)
                chunks += 1
                tail = (tail + chunk)[-200:]
            body.close()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert status == "200 OK"
        assert "content-length" not in headers
        assert headers["content-disposition"] == 'attachment; filename="my-data.json"'
        assert chunks > 10
        assert b"/p/19999" in tail  # the last record, then the rest of the document
        assert tail.endswith(b'\n  ],\n  "consent_records": [],\n  "rights_requests": []\n}\n')
        # Every record passed through, yet the most held at once is a small part of the whole copy.
        assert total > 5_000_000
        assert peak < total / 5, (peak, total)
    finally:
        recorder.close()
        store.close()


def test_the_streamed_copy_is_valid_json_of_the_same_shape(big_db: Path, tmp_path: Path) -> None:
    store = WholeLoadsRefused(big_db)
    app, recorder = app_over(store, tmp_path)
    try:
        client = visitor(app, cookie=f"{DEVICE}=dev-big")
        with client.stream("GET", "/_consent/my-data.json") as r:
            parts = list(r.iter_raw())
            assert r.status_code == 200
            assert "content-length" not in r.headers
        data = json.loads(b"".join(parts))
        assert list(data) == [
            "generated_at",
            "device_id",
            "consent_id",
            "reference",
            "records",
            "consent_records",
            "rights_requests",
        ]
        assert data["device_id"] == "dev-big"
        assert data["reference"] is None
        assert len(data["records"]) == BIG
        assert [r["page"] for r in data["records"][:3]] == ["/p/0", "/p/1", "/p/2"]  # oldest first
        assert data["records"][0]["user_agent"]["browser"] == "Mobile Safari"
        assert data["consent_records"] == []  # the visitor carries no consent id
        assert store.list_rights_requests() == []  # a GET files nothing

        head = client.head("/_consent/my-data.json")
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["content-type"] == "application/json; charset=utf-8"
    finally:
        recorder.close()
        store.close()


class GatedStore(SqliteStore):
    """A store whose read of one batch of a visitor's records waits until the test lets it go on."""

    gate_at = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reading = threading.Event()
        self.release = threading.Event()
        self.reader: int | None = None

    def record_batches(self, **kwargs: Any) -> Iterator[list[VisitRecord | EventRecord]]:
        for number, batch in enumerate(super().record_batches(**kwargs)):
            if number == self.gate_at:
                self.reader = threading.get_ident()
                self.reading.set()
                if not self.release.wait(120):
                    raise StoreUnavailableError("the test never let the read go on")
            yield batch


@pytest.mark.parametrize("gate_at", [0, 7], ids=["first-chunk", "later-chunk"])
def test_fastapi_answers_others_while_an_export_waits_on_the_store(big_db: Path, tmp_path: Path, gate_at: int) -> None:
    """The export's store reads run in threads: the event loop goes on answering other requests.

    If a read ran on the event loop, the loop would wait on the gate, the unrelated request could
    not finish and the bounded wait below would run out.
    """
    store = GatedStore(big_db)
    store.gate_at = gate_at
    recorder = Recorder(recording_config(), store, spool=tmp_path / "spool.jsonl")
    api = FastAPI()
    loop_threads: list[int] = []

    @api.get("/hello")
    async def hello() -> dict[str, bool]:
        loop_threads.append(threading.get_ident())
        return {"ok": True}

    api.add_middleware(ConsentMiddleware, config=recorder.engine.config, recorder=recorder)
    results: dict[str, Any] = {}
    try:
        with TestClient(api, base_url="https://testserver") as client:

            def export() -> None:
                r = client.get("/_consent/my-data.json", headers={"cookie": f"{DEVICE}=dev-big"})
                results["export"] = (r.status_code, r.content)

            def unrelated() -> None:
                results["hello"] = client.get("/hello").json()

            exporting = threading.Thread(target=export)
            exporting.start()
            try:
                assert store.reading.wait(60), "the export never reached its store read"
                other = threading.Thread(target=unrelated)
                other.start()
                other.join(60)
                assert not other.is_alive(), "the unrelated request waited for the export's store read"
                assert results["hello"] == {"ok": True}
                assert store.reader not in loop_threads  # the read ran in a thread of its own
            finally:
                store.release.set()
                exporting.join(60)
        status, content = results["export"]
        assert status == 200
        assert len(json.loads(content)["records"]) == BIG
    finally:
        recorder.close()
        store.close()


# -- the adapters' streamed replies -----------------------------------------------------------------


def chunks_route(log: list[str], count: int = 3) -> Any:
    """A handler whose reply is streamed, added with add_route as other modules of the library add theirs."""

    def handler(request: RequestView, state: ConsentState, body: bytes) -> Reply:
        log.append(f"handled in {threading.get_ident()}")

        def stream() -> Iterator[bytes]:
            try:
                for i in range(count):
                    log.append(f"chunk {i} in {threading.get_ident()}")
                    yield b"part%d;" % i
            finally:
                log.append("closed")

        return Reply(200, [("content-type", "text/plain")], stream=stream())

    return handler


@pytest.mark.parametrize("blocking", [True, False])
def test_asgi_sends_a_streamed_reply_chunk_by_chunk_off_the_loop(tmp_path: Path, blocking: bool) -> None:
    cfg = recording_config()
    app = ConsentMiddleware(PlainTextResponse("ok"), cfg)
    log: list[str] = []
    app.endpoints.add_route("chunks", ("GET", "HEAD"), chunks_route(log), blocking=blocking)
    call = run_asgi(app, asgi_scope("GET", "/_consent/chunks"))  # the client stays until the response is complete
    messages, loop_thread = call.messages, call.thread
    assert messages[0]["type"] == "http.response.start"
    assert b"content-length" not in dict(messages[0]["headers"])
    bodies = [(m["body"], m.get("more_body", False)) for m in messages[1:]]
    assert bodies == [(b"part0;", True), (b"part1;", True), (b"part2;", True), (b"", False)]
    assert log[-1] == "closed"
    handled = int(log[0].rsplit(" ", 1)[1])
    assert (handled != loop_thread) is blocking  # a blocking handler runs in a thread, others on the loop
    assert all(int(line.rsplit(" ", 1)[1]) != loop_thread for line in log if line.startswith("chunk"))

    log.clear()
    head = run_asgi(app, asgi_scope("HEAD", "/_consent/chunks")).messages
    assert [m.get("body", b"") for m in head[1:]] == [b""]
    assert b"content-length" not in dict(head[0]["headers"])
    assert not any(line.startswith("chunk") for line in log)  # the body was never produced


def test_asgi_stops_a_stream_when_the_client_goes_away() -> None:
    app = ConsentMiddleware(PlainTextResponse("ok"), recording_config())
    log: list[str] = []
    app.endpoints.add_route("chunks", ("GET",), chunks_route(log, count=50))
    messages = run_asgi(app, asgi_scope("GET", "/_consent/chunks"), ASGICall(leave_after=1)).messages
    produced = [line for line in log if line.startswith("chunk")]
    assert 1 <= len(produced) < 50  # the rest was never read
    assert log[-1] == "closed"
    assert messages[-1] == {"type": "http.response.body", "body": b""}


def test_wsgi_returns_a_streamed_reply_as_the_iterable(tmp_path: Path) -> None:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    wsgi = WSGIMiddleware(app, recording_config())
    log: list[str] = []
    wsgi.endpoints.add_route("chunks", ("GET",), chunks_route(log))
    status, headers, body = wsgi_get(wsgi, "/_consent/chunks", "")
    assert status == "200 OK"
    assert "content-length" not in headers
    assert next(iter(body)) == b"part0;"
    body.close()  # as the server does when the client goes away
    assert log[-1] == "closed"


def test_without_an_asyncio_loop_the_work_runs_inline() -> None:
    def drive() -> tuple[object, int]:
        coroutine = off_loop(threading.get_ident)
        try:
            coroutine.send(None)  # driven by hand, as by an event loop that is not asyncio's
        except StopIteration as done:
            return done.value, threading.get_ident()
        raise AssertionError("the work did not run inline")

    # In a thread of its own, where no asyncio loop runs (the browser tests keep one in this one).
    with ThreadPoolExecutor(max_workers=1) as pool:
        value, ident = pool.submit(drive).result(timeout=10)
    assert value == ident


# -- rights requests --------------------------------------------------------------------------------


def test_a_second_open_request_of_the_same_kind_gets_the_first_reference(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "records.db")
    app, recorder = app_over(store, tmp_path)
    try:
        client = visitor(app)
        client.post("/_consent", json={"action": "accept_all"})
        client.get("/a")
        first = client.post("/_consent/rights", json={"kind": "correct", "details": "my region"})
        assert first.status_code == 201
        assert first.json()["existing"] is False
        again = client.post("/_consent/rights", json={"kind": "correct", "details": "again"})
        assert again.status_code == 200
        assert again.json()["existing"] is True
        assert again.json()["reference"] == first.json()["reference"]
        form = client.post("/_consent/rights", data={"kind": "correct"})
        assert form.status_code == 303
        assert form.headers["location"] == f"/_consent/my-data?ref={first.json()['reference']}"
        other = client.post("/_consent/rights", json={"kind": "view"})
        assert other.status_code == 201
        assert len(store.list_rights_requests()) == 2
        assert store.get_rights_request(first.json()["reference"]).details == "my region"  # type: ignore[union-attr]
    finally:
        recorder.close()
        store.close()


def test_gets_with_made_up_ids_file_nothing(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "records.db")
    app, recorder = app_over(store, tmp_path)
    try:
        for i in range(5):
            made_up = visitor(app, cookie=f"{DEVICE}=made-up-{i}")
            assert made_up.get("/_consent/my-data.json").json()["records"] == []
            assert made_up.get("/_consent/my-data").status_code == 200
        recorder.flush()
        assert store.list_rights_requests() == []
    finally:
        recorder.close()
        store.close()


# -- the events quota -------------------------------------------------------------------------------

EVENT = {"type": "click", "path": "/shop", "target": "#buy"}


def quota_config(per_minute: int) -> ConsentConfig:
    return ConsentConfig(policy=recording_config().policy, secret_keys=[SECRET], events_per_minute=per_minute)


def test_events_beyond_the_quota_get_429_and_record_nothing(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "records.db")
    app, recorder = app_over(store, tmp_path, quota_config(3))
    try:
        alice, bob = visitor(app), visitor(app)
        for client in (alice, bob):
            client.post("/_consent", json={"action": "accept_all"})
            client.get("/")  # gives the device cookie
        for _ in range(3):
            assert alice.post("/_consent/events", json=EVENT).status_code == 204
        refused = alice.post("/_consent/events", json=EVENT)
        assert refused.status_code == 429
        assert refused.json()["error"] == "too_many_events"
        assert "3 events a minute" in refused.json()["message"]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # Another device (same address) has a quota of its own.
        assert bob.post("/_consent/events", json=EVENT).status_code == 204
        recorder.flush()
        assert store.count("click") == 4
        assert len(store.records_for(device_id=alice.cookies[DEVICE])) == 4  # a visit and three clicks
    finally:
        recorder.close()
        store.close()


def test_without_a_device_cookie_the_quota_is_per_consent_id_then_per_address(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "records.db")
    app, recorder = app_over(store, tmp_path, quota_config(2))
    try:
        undecided_a, undecided_b = visitor(app, ip="198.51.100.1"), visitor(app, ip="198.51.100.2")
        for _ in range(2):
            assert undecided_a.post("/_consent/events", json=EVENT).status_code == 204
        assert undecided_a.post("/_consent/events", json=EVENT).status_code == 429
        assert undecided_b.post("/_consent/events", json=EVENT).status_code == 204  # another address
        refusing = visitor(app, ip="198.51.100.1")  # decided (a consent id), at the refused address
        refusing.post("/_consent", json={"action": "reject_all"})
        assert refusing.post("/_consent/events", json=EVENT).status_code == 204
    finally:
        recorder.close()
        store.close()


def test_zero_is_no_quota_and_a_negative_one_is_refused(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "records.db")
    app, recorder = app_over(store, tmp_path, quota_config(0))
    try:
        assert app.endpoints.event_quota is None
        client = visitor(app)
        assert all(client.post("/_consent/events", json=EVENT).status_code == 204 for _ in range(150))
    finally:
        recorder.close()
        store.close()
    with pytest.raises(ConfigurationError, match="events_per_minute"):
        quota_config(-1)
    assert recording_config().events_per_minute == 120


def test_the_quota_window_is_a_minute() -> None:
    now = [1000.0]
    quota = EventQuota(2, clock=lambda: now[0])
    assert quota.take("k") is None
    now[0] += 10
    assert quota.take("k") is None
    assert quota.take("k") == 50  # the window opened at 1000 closes at 1060
    now[0] += 49.5
    assert quota.take("k") == 1
    now[0] += 0.5
    assert quota.take("k") is None  # a new window
    with pytest.raises(ValueError, match="at least 1"):
        EventQuota(0)


def test_a_flood_of_distinct_keys_keeps_the_counters_bounded(tmp_path: Path) -> None:
    quota = EventQuota(5, max_keys=1000)
    for i in range(50_000):
        quota.take(f"d:{i}")
    assert len(quota) == 1000
    # A key still sending is the last to be replaced: a smaller flood does not reset its count.
    for _ in range(5):
        quota.take("busy")
    for i in range(500):
        quota.take(f"flood:{i}")
    assert quota.take("busy") is not None

    # Through the endpoint: each request with a new device cookie is a new key.
    store = SqliteStore(tmp_path / "records.db")
    app, recorder = app_over(store, tmp_path)
    app.endpoints.event_quota = EventQuota(2, max_keys=50)
    try:
        for i in range(120):
            r = visitor(app, cookie=f"{DEVICE}=flood-{i:04d}").post("/_consent/events", json=EVENT)
            assert r.status_code == 204
        assert len(app.endpoints.event_quota) == 50
    finally:
        recorder.close()
        store.close()
