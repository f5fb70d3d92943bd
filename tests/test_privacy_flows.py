"""The privacy centre's flows: "Delete my data" asks first and then says what it deleted; "stop" shows everywhere."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from cookieconsent.asgi import ConsentMiddleware
from cookieconsent.records.recorder import DEVICE_COOKIE, Recorder
from cookieconsent.records.sqlite import SqliteStore
from tests.harness import browser_client, privacy_site, recording_config

NOW = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
DEVICE = f"__Host-{DEVICE_COOKIE}"
FORM = "application/x-www-form-urlencoded"
DELETE = "/_consent/my-data/delete"


@pytest.fixture
def recorder(store: SqliteStore, tmp_path: Path) -> Iterator[Recorder]:
    r = Recorder(recording_config(), store, spool=tmp_path / "spool.jsonl", interval=0.05)
    yield r
    r.close()


@pytest.fixture
def app(recorder: Recorder) -> ConsentMiddleware:
    return privacy_site(recorder, NOW)


def browse(client: TestClient, *pages: str, clicks: int = 0) -> None:
    """Accept all, visit ``pages`` and click ``clicks`` times (as the banner script reports clicks)."""
    assert client.post("/_consent", json={"action": "accept_all"}).status_code == 200
    for page in pages:
        assert client.get(page).status_code == 200
    for _ in range(clicks):
        event = {"type": "click", "path": pages[-1], "target": "a#buy"}
        assert client.post("/_consent/events", json=event).status_code == 204


def form_post(client: TestClient, path: str, body: str = "", **headers: str) -> Any:
    """A post as a browser's form sends it (a form without fields still has the form's type)."""
    return client.post(path, content=body.encode(), headers={"content-type": FORM, **headers})


def rows(html: str) -> dict[str, str]:
    """The first table's rows, as {first cell: second cell}."""
    table = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return dict(re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", table))


# -- "Delete my data" asks first ------------------------------------------------------------------


def test_the_first_post_shows_what_will_be_deleted_and_deletes_nothing(
    app: ConsentMiddleware, store: SqliteStore, recorder: Recorder
) -> None:
    client = browser_client(app)
    browse(client, "/a", "/b", clicks=1)
    device = client.cookies[DEVICE]
    centre = client.get("/_consent/my-data").text
    assert f'<form method="post" action="{DELETE}">' in centre  # the centre's button posts here, as before

    r = form_post(client, DELETE)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    html = r.text
    assert '<html lang="en">' in html
    assert "<h1>Delete your data?</h1>" in html
    assert rows(html) == {"Visits": "2", "Clicks": "1"}
    assert "Your consent will be withdrawn" in html
    assert f'<form method="post" action="{DELETE}">' in html
    assert '<input type="hidden" name="confirm" value="1">' in html
    assert '<button class="cc-btn" type="submit">Delete</button>' in html
    assert '<a class="cc-btn" href="/_consent/my-data#ccm-delete">Cancel</a>' in html
    assert 'rel="stylesheet" href="/_consent/static/cookieconsent.css?v=' in html
    assert "<script" not in html  # no page view of its own, which the counts shown would miss
    # Nothing changed: no cookie expired, no record deleted, no request filed.
    assert not any("Max-Age=0" in c for c in r.headers.get_list("set-cookie"))
    recorder.flush()
    assert len(store.records_for(device_id=device)) == 3
    assert store.list_rights_requests() == []
    assert client.get("/_consent/state").json()["categories"]["analytics"] is True


def test_the_confirmation_deletes_and_the_centre_says_what_with_counts(
    app: ConsentMiddleware, store: SqliteStore, recorder: Recorder
) -> None:
    client = browser_client(app)
    browse(client, "/a", "/b", clicks=1)
    device = client.cookies[DEVICE]
    r = form_post(client, DELETE, "confirm=1")
    assert r.status_code == 303
    location = r.headers["location"]
    ref = re.fullmatch(r"/_consent/my-data\?ref=(RR-[0-9A-F]+)", location)
    assert ref
    recorder.flush()
    assert store.records_for(device_id=device) == []
    (filed,) = store.list_rights_requests()
    assert filed.kind == "delete"
    assert not filed.is_open
    html = client.get(location).text
    assert "Your data was deleted" in html
    assert "Visits deleted: 2" in html
    assert "Page views and clicks deleted: 1" in html
    assert "Your consent was withdrawn" in html
    assert f"Reference {ref[1]}." in html
    assert "Request received" not in html  # the deletion is done, not waiting for anyone
    assert client.get("/_consent/state").json()["categories"]["analytics"] is False


def test_the_result_speaks_chinese_too(app: ConsentMiddleware) -> None:
    client = browser_client(app, lang="zh-TW")
    browse(client, "/a", "/b", clicks=2)
    ask = form_post(client, DELETE).text
    assert "<h1>確定要刪除您的資料嗎？</h1>" in ask
    assert rows(ask) == {"造訪": "2", "點選": "2"}
    assert ">刪除</button>" in ask
    assert ">取消</a>" in ask
    html = client.get(form_post(client, DELETE, "confirm=1").headers["location"]).text
    assert "您的資料已刪除" in html
    assert "已刪除的造訪紀錄：2 筆" in html
    assert "已刪除的頁面瀏覽與點選紀錄：2 筆" in html
    assert "您的同意已撤回" in html
    assert "已收到您的請求" not in html


def test_a_visitor_with_nothing_recorded_is_told_so(app: ConsentMiddleware, store: SqliteStore) -> None:
    client = browser_client(app)
    assert client.post("/_consent", json={"action": "reject_all"}).status_code == 200  # a decision, no records
    client.get("/a")
    ask = form_post(client, DELETE).text
    assert "Nothing is recorded for this device, so there are no records to delete." in ask
    assert "<tbody>" not in ask
    html = client.get(form_post(client, DELETE, "confirm=1").headers["location"]).text
    assert "Nothing to delete" in html
    assert "Nothing was recorded for this device, so no records were deleted." in html
    assert "Your data was deleted" not in html
    assert "deleted:" not in html  # no counts of nothing
    assert "Your consent was withdrawn" in html  # the decision was withdrawn all the same


def test_a_visitor_with_nothing_recorded_in_chinese(app: ConsentMiddleware) -> None:
    client = browser_client(app, lang="zh-TW")
    html = client.get(form_post(client, DELETE, "confirm=1").headers["location"]).text
    assert "此裝置沒有任何紀錄，因此沒有刪除任何紀錄。" in html
    assert "您的資料已刪除" not in html
    assert "您的同意已撤回" not in html  # there was no decision to withdraw


def test_only_a_same_site_confirmation_deletes(app: ConsentMiddleware, store: SqliteStore, recorder: Recorder) -> None:
    client = browser_client(app)
    browse(client, "/a")
    for body in ("", "confirm=1"):  # another site can neither ask nor confirm
        r = form_post(client, DELETE, body, origin="https://evil.example")
        assert r.status_code == 403
    asked = form_post(client, DELETE, origin="https://testserver")  # the site's own page: asked, not done
    assert asked.status_code == 200
    assert "Delete your data?" in asked.text
    recorder.flush()
    assert store.count() == 1
    assert store.list_rights_requests() == []
    assert form_post(client, DELETE, "confirm=1", origin="https://testserver").status_code == 303
    assert store.count() == 0


def test_a_doubled_confirm_field_is_refused(app: ConsentMiddleware, store: SqliteStore, recorder: Recorder) -> None:
    client = browser_client(app)
    browse(client, "/a")
    assert form_post(client, DELETE, "confirm=1&confirm=0").status_code == 400
    recorder.flush()
    assert store.count() == 1


def test_json_clients_delete_at_once_unless_they_say_not_to(
    app: ConsentMiddleware, store: SqliteStore, recorder: Recorder
) -> None:
    client = browser_client(app)
    browse(client, "/a", "/b", clicks=1)
    refused = client.post(DELETE, json={"confirm": False})
    assert refused.status_code == 400
    assert refused.json()["error"] == "not_confirmed"
    assert '{"confirm": true}' in refused.json()["message"]
    bad = client.post(DELETE, json={"confirm": "yes"})
    assert bad.status_code == 400
    assert bad.json()["error"] == "bad_field"
    recorder.flush()
    assert store.count() == 3
    assert store.list_rights_requests() == []
    r = client.post(DELETE, json={"confirm": True})
    assert r.status_code == 200
    assert r.json()["deleted"] == {"visits": 2, "events": 1, "total": 3}
    assert r.json()["withdrawn"] is True
    again = browser_client(app)
    browse(again, "/c")
    plain = again.post(DELETE, json={})  # as before: no confirm field needed
    assert plain.status_code == 200
    assert plain.json()["deleted"]["total"] == 1


# -- "stop" shows everywhere ----------------------------------------------------------------------


def test_stop_is_done_at_once_and_shows_in_the_settings(
    app: ConsentMiddleware, store: SqliteStore, recorder: Recorder
) -> None:
    client = browser_client(app)
    browse(client, "/a")
    note = "Recording for this device has stopped, at your request"
    assert note not in client.get("/_consent/preferences").text
    assert note not in client.get("/_consent/dialog").text
    r = form_post(client, "/_consent/rights", "kind=stop")
    assert r.status_code == 303
    ref = r.headers["location"].split("ref=", 1)[1]
    (filed,) = store.list_rights_requests()
    assert filed.reference == ref
    assert not filed.is_open  # done at once
    centre = client.get(r.headers["location"]).text
    assert "Request completed" in centre
    assert "Request received" not in centre
    assert "Recording for this device has stopped, from now on." in centre
    assert "Answered on 2025-03-01" in centre
    assert ">Open<" not in centre
    preferences = client.get("/_consent/preferences").text
    assert note in preferences
    assert note in client.get("/_consent/dialog").text
    # The note is what the recorder does: nothing more is recorded, whatever the toggles say.
    assert 'value="analytics" checked' in preferences
    client.get("/after")
    recorder.flush()
    assert [rec.page for rec in store.iter_records()] == ["/a"]
    # Another visitor's settings say nothing of it.
    other = browser_client(app)
    browse(other, "/b")
    assert note not in other.get("/_consent/preferences").text


def test_stop_in_json_and_in_chinese(app: ConsentMiddleware, store: SqliteStore) -> None:
    client = browser_client(app, lang="zh-TW")
    browse(client, "/a")
    r = client.post("/_consent/rights", json={"kind": "stop"})
    assert r.status_code == 201
    assert r.json()["stopped"] is True
    assert r.json()["status"] == "closed"
    assert client.post("/_consent/rights", json={"kind": "view"}).json()["status"] == "open"
    centre = client.get("/_consent/my-data").text
    assert "已於 2025-03-01 回覆" in centre
    assert "應您的請求，已停止記錄此裝置的資料" in client.get("/_consent/preferences").text
    assert "應您的請求，已停止記錄此裝置的資料" in client.get("/_consent/dialog").text


def test_the_settings_read_the_store_in_a_thread_and_work_without_it(app: ConsentMiddleware, store: Any) -> None:
    client = browser_client(app)
    browse(client, "/a")
    assert client.post("/_consent/rights", json={"kind": "stop"}).status_code == 201
    # Under ASGI the settings, which now ask the store, run off the event loop.
    assert app.endpoints.blocks("/_consent/preferences")
    assert app.endpoints.blocks("/_consent/dialog")
    store.down = True
    try:
        for path in ("/_consent/preferences", "/_consent/dialog"):
            r = client.get(path)
            assert r.status_code == 200  # the settings work: they only lack the note
            assert "Recording for this device has stopped" not in r.text
            assert 'value="analytics" checked' in r.text
    finally:
        store.down = False
