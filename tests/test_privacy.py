"""The privacy centre: each visitor sees, downloads and deletes exactly their own device's records."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from starlette.responses import PlainTextResponse
from starlette.testclient import TestClient

from cookieconsent.asgi import ConsentMiddleware
from cookieconsent.flask import CookieConsent
from cookieconsent.records.recorder import DEVICE_COOKIE, Recorder
from cookieconsent.records.sqlite import SqliteStore
from cookieconsent.web.privacy import KINDS
from tests.harness import UA, browser_client, privacy_site, recording_config

NOW = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
CONSENT = "__Host-consent"
DEVICE = f"__Host-{DEVICE_COOKIE}"  # the device cookie under secure=True, the default
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def recorder(store: SqliteStore, tmp_path: Path) -> Iterator[Recorder]:
    r = Recorder(
        recording_config(), store, spool=tmp_path / "spool.jsonl", country_header="cf-ipcountry", interval=0.05
    )
    yield r
    r.close()


@pytest.fixture
def asgi(recorder: Recorder) -> ConsentMiddleware:
    return privacy_site(recorder, NOW)


def browse(client: TestClient, *pages: str) -> None:
    client.post("/_consent", json={"action": "accept_all"})
    for page in pages:
        assert client.get(page).status_code == 200


def one_h1(html: str) -> None:
    assert html.count("<h1>") == 1
    assert "<main>" in html


def test_the_page_shows_this_device_only(asgi: ConsentMiddleware, recorder: Recorder) -> None:
    alice, bob = browser_client(asgi), browser_client(asgi, ip="198.51.100.9")
    browse(alice, "/alice/1", "/alice/2")
    browse(bob, "/bob/secret")
    r = alice.get("/_consent/my-data")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    html = r.text
    one_h1(html)
    assert '<html lang="en">' in html
    assert "/alice/1" in html
    assert "/alice/2" in html
    assert "/bob/secret" not in html
    assert "198.51.100" not in html
    assert "203.0.113.0/24" in html  # minimised, never the full address
    assert "203.0.113.7" not in html
    assert alice.cookies[DEVICE] in html
    assert "Accepted all" in html  # consent history
    for kind in KINDS:
        assert f'name="kind" value="{kind}"' in html
    assert 'name="details"' in html
    assert 'action="/_consent/my-data/delete"' in html
    assert 'href="/_consent/my-data.json"' in html
    assert "<script" in html  # the head snippet, but the forms need none of it


def test_the_page_speaks_the_visitors_language(asgi: ConsentMiddleware) -> None:
    client = browser_client(asgi, lang="zh-TW")
    browse(client, "/a")
    html = client.get("/_consent/my-data").text
    assert '<html lang="zh-TW">' in html
    assert "<h1>您的資料</h1>" in html
    assert "請求製給複製本" in html
    assert "請求補充或更正" in html
    assert "全部接受" in html


def test_the_banner_and_preferences_link_to_the_centre(asgi: ConsentMiddleware) -> None:
    assert 'href="/_consent/my-data"' in browser_client(asgi).get("/_consent/preferences").text


def test_the_json_copy_holds_this_device_only(asgi: ConsentMiddleware, store: SqliteStore) -> None:
    alice, bob = browser_client(asgi), browser_client(asgi)
    browse(alice, "/alice")
    browse(bob, "/bob")
    r = alice.get("/_consent/my-data.json")
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith("attachment")
    assert r.headers["cache-control"] == "no-store"
    data = r.json()
    assert data["device_id"] == alice.cookies[DEVICE]
    assert {rec["page"] for rec in data["records"]} == {"/alice"}
    assert {rec["device_id"] for rec in data["records"]} == {data["device_id"]}
    assert [c["mechanism"] for c in data["consent_records"]] == ["accept_all"]
    # A GET files nothing: the download is not recorded as a rights request.
    assert data["reference"] is None
    assert data["rights_requests"] == []
    assert store.list_rights_requests() == []


def test_a_visitor_without_ids_gets_an_empty_copy(asgi: ConsentMiddleware) -> None:
    browse(browser_client(asgi), "/someone")
    data = browser_client(asgi).get("/_consent/my-data.json").json()
    assert data["records"] == []
    assert data["consent_records"] == []
    assert data["rights_requests"] == []
    assert data["device_id"] is None
    assert data["consent_id"] is None


def test_delete_removes_this_device_only_and_withdraws(
    asgi: ConsentMiddleware, store: SqliteStore, recorder: Recorder
) -> None:
    alice, bob = browser_client(asgi), browser_client(asgi)
    browse(alice, "/alice/1", "/alice/2")
    browse(bob, "/bob")
    device, consent_id = alice.cookies[DEVICE], alice.get("/_consent/state").json()["consent_id"]
    bob_device = bob.cookies[DEVICE]
    r = alice.post("/_consent/my-data/delete", json={})
    assert r.status_code == 200
    body = r.json()
    assert body["deleted"] == {"visits": 2, "events": 0, "total": 2}
    assert body["withdrawn"] is True
    cookies = r.headers.get_list("set-cookie")
    (expiry,) = [c for c in cookies if c.startswith(f"{DEVICE}=;")]
    assert expiry == f"{DEVICE}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure"
    assert any(c.startswith(f"{CONSENT}=") and "Max-Age=0" not in c for c in cookies)  # the withdrawal, stored
    recorder.flush()
    assert store.records_for(device_id=device, consent_id=consent_id) == []
    assert [r.page for r in store.records_for(device_id=bob_device)] == ["/bob"]
    assert store.consents_for(consent_id)[-1].mechanism == "withdraw"
    assert store.consents_for(consent_id)[0].mechanism == "accept_all"  # the proof stays
    (filed,) = store.list_rights_requests(device_id=device)
    assert filed.kind == "delete"
    assert filed.reference == body["reference"]
    assert not filed.is_open
    assert filed.received_at == NOW
    # Nothing is recorded afterwards: the consent is withdrawn and the device id gone.
    alice.get("/alice/3")
    recorder.flush()
    assert store.records_for(consent_id=consent_id) == []


def test_delete_from_the_form_redirects_to_a_confirmation(asgi: ConsentMiddleware, store: SqliteStore) -> None:
    client = browser_client(asgi, lang="zh-TW")
    browse(client, "/a")
    # As the confirmation page's "Delete" sends it (without confirm=1 the answer is that page).
    r = client.post("/_consent/my-data/delete", content=b"confirm=1", headers={"content-type": FORM})
    assert r.status_code == 303
    location = r.headers["location"]
    match = re.fullmatch(r"/_consent/my-data\?ref=(RR-[0-9A-F]+)", location)
    assert match
    html = client.get(location).text
    assert match[1] in html
    assert "您的資料已刪除" in html


def test_rights_requests_get_due_dates_from_a_frozen_clock(asgi: ConsentMiddleware, store: SqliteStore) -> None:
    client = browser_client(asgi)
    browse(client, "/a")
    view = client.post("/_consent/rights", json={"kind": "view"})
    assert view.status_code == 201
    assert view.json()["received_at"] == "2025-03-01T09:30:00Z"
    assert view.json()["due_at"] == "2025-03-16T09:30:00Z"  # Art. 10: 15 days
    correct = client.post("/_consent/rights", json={"kind": "correct", "details": "My region is TW-KHH."})
    assert correct.json()["due_at"] == "2025-03-31T09:30:00Z"  # Art. 11: 30 days
    filed = store.get_rights_request(correct.json()["reference"])
    assert filed is not None
    assert filed.details == "My region is TW-KHH."
    assert filed.is_open
    assert filed.device_id == client.cookies[DEVICE]
    assert filed.consent_id == client.get("/_consent/state").json()["consent_id"]


def test_a_form_request_shows_its_reference_and_due_date(asgi: ConsentMiddleware) -> None:
    client = browser_client(asgi, lang="zh-TW")
    browse(client, "/a")
    r = client.post("/_consent/rights", data={"kind": "copy", "details": ""})
    assert r.status_code == 303
    ref = r.headers["location"].split("ref=", 1)[1]
    html = client.get(r.headers["location"]).text
    assert f"案件編號為 {ref}" in html
    assert "2025-03-16" in html
    assert "請求製給複製本" in html
    one_h1(html)


def test_stop_halts_recording_at_once_and_survives_a_new_consent_cookie(
    asgi: ConsentMiddleware, store: SqliteStore, recorder: Recorder
) -> None:
    alice, bob = browser_client(asgi), browser_client(asgi)
    browse(alice, "/before")
    browse(bob, "/bob/1")
    device = alice.cookies[DEVICE]
    old_id = alice.get("/_consent/state").json()["consent_id"]
    assert alice.post("/_consent/rights", json={"kind": "stop"}).json()["stopped"] is True
    assert store.is_stopped(device_id=device)
    assert store.is_stopped(consent_id=old_id)
    assert not store.is_stopped(consent_id=device)  # each id is stopped as what it is
    assert not store.is_stopped(device_id=old_id)
    alice.get("/after/1")
    # A new consent cookie (a new consent id): the device id still carries the stop.
    del alice.cookies[CONSENT]
    alice.post("/_consent", json={"action": "accept_all"})
    new_id = alice.get("/_consent/state").json()["consent_id"]
    assert new_id != old_id
    alice.get("/after/2")
    bob.get("/bob/2")
    recorder.flush()
    assert [r.page for r in store.records_for(device_id=device, consent_id=new_id)] == ["/before"]
    assert [r.page for r in store.records_for(device_id=bob.cookies[DEVICE])] == ["/bob/1", "/bob/2"]
    assert [c.mechanism for c in store.consents_for(new_id)] == ["accept_all"]  # decisions are still proven


@pytest.mark.parametrize("path", ["/_consent/my-data/delete", "/_consent/rights"])
def test_cross_site_posts_are_refused(
    asgi: ConsentMiddleware, store: SqliteStore, recorder: Recorder, path: str
) -> None:
    client = browser_client(asgi)
    browse(client, "/a")
    r = client.post(path, json={"kind": "delete"}, headers={"origin": "https://evil.example"})
    assert r.status_code == 403
    assert r.json()["error"] == "cross_origin"
    recorder.flush()
    assert store.count() == 1
    assert store.list_rights_requests() == []


def test_unknown_kinds_are_refused(asgi: ConsentMiddleware, store: SqliteStore) -> None:
    client = browser_client(asgi)
    r = client.post("/_consent/rights", json={"kind": "erase"})
    assert r.status_code == 400
    assert r.json()["error"] == "unknown_kind"
    assert "view, copy, correct, stop, delete" in r.json()["message"]
    form = client.post("/_consent/rights", data={"kind": ""})
    assert form.status_code == 400
    assert "text/html" in form.headers["content-type"]
    assert client.post("/_consent/rights", json=["view"]).status_code == 400
    assert client.post("/_consent/rights", json={"kind": 3}).status_code == 400
    assert store.list_rights_requests() == []


def test_a_visitor_with_nothing_held_cannot_file_a_request(asgi: ConsentMiddleware, store: SqliteStore) -> None:
    """A request needs a device or consent id the store holds something for (it used to be filed anyway)."""
    client = browser_client(asgi)
    r = client.post("/_consent/rights", json={"kind": "view", "details": "I visited on 1 March"})
    assert r.status_code == 404
    assert r.json()["error"] == "nothing_held"
    assert "Nothing is held for this browser" in r.json()["message"]
    form = client.post("/_consent/rights", data={"kind": "view"})
    assert form.status_code == 404
    assert "text/html" in form.headers["content-type"]
    assert "Nothing is held for this browser" in form.text
    made_up = browser_client(asgi)
    made_up.cookies.set(DEVICE, "made-up-device-id-000001", domain="testserver")
    assert made_up.post("/_consent/rights", json={"kind": "stop"}).status_code == 404
    assert store.list_rights_requests() == []
    assert not store.is_stopped("made-up-device-id-000001")
    page = client.get("/_consent/my-data").text
    assert "no device ID and no consent ID" in page
    assert 'action="/_consent/rights"' not in page  # no form that could only be refused
    assert "nothing to request here" in page


def test_a_recorder_without_a_store_serves_no_centre(tmp_path: Path) -> None:
    recorder = Recorder(recording_config(), None, spool=tmp_path / "spool.jsonl")
    app = ConsentMiddleware(PlainTextResponse("ok"), recorder.engine.config, recorder=recorder)
    assert browser_client(app).get("/_consent/my-data").status_code == 404
    assert app.endpoints.renderer.my_data_url is None


# -- WSGI (Flask) --------------------------------------------------------------------------------


def test_flask_privacy_centre(recorder: Recorder, store: SqliteStore) -> None:
    app = Flask(__name__)

    @app.route("/<path:path>")
    def page(path: str) -> str:
        return "ok"

    CookieConsent(app, config=recorder.engine.config, recorder=recorder)
    base = {"base_url": "https://localhost", "headers": {"user-agent": UA}}
    alice, bob = app.test_client(), app.test_client()
    for client, path in ((alice, "/alice"), (bob, "/bob")):
        assert client.post("/_consent", json={"action": "accept_all"}, **base).status_code == 200
        assert client.get(path, **base).status_code == 200
    html = alice.get("/_consent/my-data", **base).get_data(as_text=True)
    assert "/alice" in html
    assert "/bob" not in html
    cookie = alice.get_cookie(DEVICE, domain="localhost")
    assert cookie is not None
    device = cookie.value
    form = {"base_url": "https://localhost", "content_type": FORM}
    refused = alice.post("/_consent/my-data/delete", headers={"origin": "https://evil.example"}, **form)
    assert refused.status_code == 403
    r = alice.post("/_consent/my-data/delete", data={"confirm": "1"}, **form)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/_consent/my-data?ref=RR-")
    recorder.flush()
    assert store.records_for(device_id=device) == []
    assert [rec.page for rec in store.iter_records()] == ["/bob"]
    due = alice.post("/_consent/rights", json={"kind": "stop"}, **base)
    assert due.status_code == 201
    assert str((due.json or {})["reference"]).startswith("RR-")
