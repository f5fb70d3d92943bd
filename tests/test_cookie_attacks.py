"""Planted cookies (RFC 6265 §5.4 reading): a comma inside a value, or a protected name sent twice.

Anyone who can set a cookie for the site (a sibling subdomain, a network attacker on plain HTTP, an app
that echoes input into a cookie) can add a cookie to a visitor's header. The consent cookie and the
device cookie are ``__Host-`` cookies precisely so that nobody else can: a header that carries one of
them twice, or hides one after a comma, reads as "not decided", and nothing of it is recorded.
"""

from __future__ import annotations

import importlib
import logging

import pytest

from cookieconsent import ConsentConfig
from cookieconsent.core.engine import Engine
from cookieconsent.core.request import WSGIRequest
from cookieconsent.policy.model import parse_policy
from cookieconsent.records.recorder import Recorder
from cookieconsent.records.store import Store
from tests.harness import APPS, SECRET, AppClient, Visitor, small_policy_data

CONSENT = "__Host-consent"
DEVICE = "__Host-ccdid"


def store_of(app_kind: str) -> Store:
    module = importlib.import_module(APPS[app_kind])
    recorder: Recorder = module.recorder if app_kind == "fastapi" else module.consent.recorder
    recorder.flush()
    assert recorder.store is not None
    return recorder.store


def decided_visitor(client: AppClient) -> Visitor:
    """A visitor who accepted everything and was given a device id."""
    visitor = client.visitor()
    visitor.decide("accept_all")
    visitor.get("/")
    assert CONSENT in visitor.jar
    assert DEVICE in visitor.jar
    return visitor


def headers_for(attacker: Visitor, victim: Visitor) -> dict[str, str]:
    """Cookie headers in which the attacker's cookies ride along with the victim's."""
    a_consent, a_device = attacker.jar[CONSENT], attacker.jar[DEVICE]
    v_consent, v_device = victim.jar[CONSENT], victim.jar[DEVICE]
    return {
        "comma, consent": f"x=1,{CONSENT}={a_consent}; {CONSENT}={v_consent}; {DEVICE}={v_device}",
        "comma, consent alone": f"x=1,{CONSENT}={a_consent}",
        "comma with spaces": f"x=1, {CONSENT}={a_consent}; {CONSENT}={v_consent}; {DEVICE}={v_device}",
        "comma, device": f"x=1,{DEVICE}={a_device}; {CONSENT}={v_consent}; {DEVICE}={v_device}",
        "twice, consent first": f"{CONSENT}={a_consent}; {CONSENT}={v_consent}; {DEVICE}={v_device}",
        "twice, consent last": f"{CONSENT}={v_consent}; {DEVICE}={v_device}; {CONSENT}={a_consent}",
        "twice, device": f"{CONSENT}={v_consent}; {DEVICE}={a_device}; {DEVICE}={v_device}",
        "twice, same value": f"{CONSENT}={v_consent}; {CONSENT}={v_consent}; {DEVICE}={v_device}",
    }


@pytest.mark.parametrize(
    "case",
    [
        "comma, consent",
        "comma, consent alone",
        "comma with spaces",
        "comma, device",
        "twice, consent first",
        "twice, consent last",
        "twice, device",
        "twice, same value",
    ],
)
def test_a_planted_cookie_reads_as_not_decided_and_records_nothing(client: AppClient, app_kind: str, case: str) -> None:
    attacker, victim = decided_visitor(client), decided_visitor(client)
    store = store_of(app_kind)
    before = store.count()
    header = headers_for(attacker, victim)[case]
    state = client.request("GET", "/_consent/state", [("cookie", header)]).json()
    page = client.request("GET", "/articles/telligent-platform", [("cookie", header)])
    beacon = client.request(
        "POST",
        "/_consent/events",
        [("cookie", header), ("content-type", "application/json")],
        b'{"type": "page_view", "path": "/"}',
    )
    assert state["decided"] is False
    assert state["consent_id"] is None
    assert not any(state["categories"][c] for c in ("functional", "analytics", "marketing"))
    assert page.status == 200
    assert beacon.status == 204
    assert page.set_cookie(DEVICE) is None  # no device id is handed out either
    assert store_of(app_kind).count() == before, "a request with a planted cookie was recorded"


def test_the_attackers_device_id_never_reads_the_victims_records(client: AppClient, app_kind: str) -> None:
    """The comma trick on the device cookie: visits are not filed under, nor shown to, the attacker."""
    attacker, victim = decided_visitor(client), decided_visitor(client)
    victim_consent = victim.get("/_consent/state").json()["consent_id"]
    header = headers_for(attacker, victim)["comma, device"]
    client.request("GET", "/articles/telligent-platform", [("cookie", header)])
    filed = store_of(app_kind).records_for(device_id=attacker.jar[DEVICE])
    assert filed, "the attacker's own visits are there"
    assert all(r.consent_id != victim_consent for r in filed), "a victim's visit was filed under the attacker's id"
    export = client.request("GET", "/_consent/my-data.json", [("cookie", header)]).json()
    assert export["device_id"] is None
    assert export["consent_id"] is None
    assert export["records"] == []


def test_a_planted_cookie_is_logged_in_one_line_at_most_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    engine = Engine(ConsentConfig(policy=parse_policy(small_policy_data()), secret_keys=[SECRET]))
    with caplog.at_level(logging.WARNING, logger="cookieconsent"):
        for i in range(50):
            state = engine.decide_from(WSGIRequest({}), f"{CONSENT}=a{i}; {CONSENT}=b", None)
            assert state.conflict
            assert not state.decided
    lines = [r.getMessage() for r in caplog.records if "more than once" in r.getMessage()]
    assert len(lines) == 1
    assert "\n" not in lines[0]
    assert repr(CONSENT) in lines[0]


def test_the_genuine_cookies_alone_still_read_as_the_decision(client: AppClient) -> None:
    """The control: the same visitor without anything planted is decided and keeps its device id."""
    victim = decided_visitor(client)
    state = victim.get("/_consent/state").json()
    assert state["decided"] is True
    assert all(state["categories"].values())
