"""The HTTP contract, through real requests to both demo apps (FastAPI over ASGI, Flask over WSGI).

Each test runs twice, once per app (the ``client`` fixture). Requirement numbers refer to
REQUIREMENTS.md.
"""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import pytest

from cookieconsent.policy.model import load_policy
from tests.harness import AppClient, Visitor

POLICY = load_policy(Path(__file__).parents[1] / "examples" / "telexpress" / "policy.toml")
CONSENT = "__Host-consent"
DEVICE = "__Host-ccdid"  # the recorder's device cookie (declared as ccdid) under secure=True
TRACKING = {"lang", "_ga", "_fbp", "x_unknown"}


def payload(cookie_value: str) -> object:
    """Decode the (signed, not encrypted) payload of a consent cookie value."""
    data = cookie_value.split(".")[0] if not cookie_value.startswith(".") else cookie_value.split(".")[1]
    raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    if cookie_value.startswith("."):
        raw = zlib.decompress(raw)
    return json.loads(raw)


def state(visitor: Visitor, **headers: str) -> dict[str, object]:
    r = visitor.get("/_consent/state", headers=headers)
    assert r.status == 200
    assert r.header("cache-control") == "no-store"
    result: dict[str, object] = r.json()
    return result


# -- R1, R2: only necessary cookies before a decision ----------------------------------------------


def test_undecided_response_sets_only_necessary_cookies(visitor: Visitor) -> None:
    r = visitor.get("/")
    assert r.status == 200
    assert r.set_cookie_names == ["session"]  # R1: lang, _ga, _fbp and x_unknown are removed one by one
    assert r.set_cookie("session") is not None
    assert "HttpOnly" in (r.set_cookie("session") or "")  # the app's own attributes pass untouched


def test_accept_all_lets_declared_cookies_through_but_never_undeclared(visitor: Visitor) -> None:
    decided = visitor.decide("accept_all")
    assert decided.status == 200
    assert decided.set_cookie(DEVICE) is not None  # the recorder's device id (the device_id item is analytics)
    r = visitor.get("/")
    assert set(r.set_cookie_names) == {"session", "lang", "_ga", "_fbp"}  # R2: x_unknown stays blocked


def test_custom_choice_passes_exactly_the_granted_categories(visitor: Visitor) -> None:
    visitor.decide("custom", ["analytics"])
    r = visitor.get("/")
    assert set(r.set_cookie_names) - {CONSENT} == {"session", "_ga"}


def test_non_html_response_untouched_for_decided_visitor(visitor: Visitor) -> None:
    visitor.decide("accept_all")
    r = visitor.get("/api/news")
    assert r.status == 200
    assert r.set_cookies == []
    assert r.header("vary") is None  # nothing about this response depended on consent


# -- R21-R24: the consent cookie -------------------------------------------------------------------


def test_decision_sets_signed_host_cookie_with_strict_attributes(visitor: Visitor) -> None:
    r = visitor.decide("reject_all")
    cookie = r.set_cookie(CONSENT)
    assert cookie is not None
    name_value, *attrs = [p.strip() for p in cookie.split(";")]
    assert sorted(attrs) == sorted(["Path=/", "Max-Age=15552000", "Secure", "HttpOnly", "SameSite=Lax"])  # R22
    assert len(name_value.encode()) <= 512  # R23 target
    assert r.json()["decided"] is True
    assert r.json()["categories"] == {c: c == "necessary" for c in POLICY.category_ids}


def test_cookie_holds_only_id_decisions_revision_and_gpc_flag(visitor: Visitor) -> None:
    r = visitor.decide("custom", ["analytics"], headers={"user-agent": "Mozilla/5.0 Secret-UA"})
    value = visitor.jar[CONSENT]
    data = payload(value)
    assert isinstance(data, list)
    schema, consent_id, revision, mask, gpc = data  # R24: nothing else is in it
    assert (schema, revision, gpc) == (1, POLICY.fingerprint, 0)
    assert consent_id == r.json()["consent_id"]
    assert isinstance(mask, int)
    assert "Secret-UA" not in value
    assert "testserver" not in json.dumps(data)


@pytest.mark.parametrize(
    "mangle",
    [
        # (not the last character: its low bits are base64 padding and may decode to the same bytes)
        pytest.param(lambda v: v[:-5] + ("A" if v[-5] != "A" else "B") + v[-4:], id="signature-changed"),
        pytest.param(lambda v: "x" + v[1:], id="payload-changed"),
        pytest.param(lambda v: v.split(".")[0], id="signature-missing"),
        pytest.param(lambda v: "%%%garbage%%%", id="garbage"),
        pytest.param(lambda v: "", id="empty"),
        pytest.param(lambda v: v * 20, id="oversized"),
    ],
)
def test_tampered_cookie_reads_as_not_decided(visitor: Visitor, mangle: object) -> None:
    visitor.decide("accept_all")
    assert callable(mangle)
    visitor.jar[CONSENT] = mangle(visitor.jar[CONSENT])
    r = visitor.get("/")
    assert r.status == 200  # R21: never a 500
    assert r.stored_cookie_names == ["session"]  # and never a grant
    assert r.set_cookie(DEVICE) is not None  # the device id of the lost decision is expired
    assert state(visitor)["decided"] is False


def test_cookie_is_reissued_only_when_the_decision_changes(visitor: Visitor) -> None:
    first = visitor.decide("custom", ["analytics"])
    assert first.set_cookie(CONSENT) is not None
    again = visitor.decide("custom", ["analytics"])
    assert again.set_cookie(CONSENT) is None
    assert again.json()["consent_id"] == first.json()["consent_id"]
    assert visitor.get("/").set_cookie(CONSENT) is None
    changed = visitor.decide("accept_all")
    assert changed.set_cookie(CONSENT) is not None
    assert changed.json()["consent_id"] == first.json()["consent_id"]


# -- R25: only same-origin posts change consent ----------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"origin": "https://evil.example"}, id="foreign-origin"),
        pytest.param({"origin": "null"}, id="null-origin"),
        pytest.param({"sec-fetch-site": "cross-site"}, id="sec-fetch-cross-site"),
        pytest.param({"sec-fetch-site": "same-site", "origin": "https://sub.testserver"}, id="sibling-subdomain"),
        pytest.param({"referer": "https://evil.example/page"}, id="foreign-referer"),
        pytest.param({"origin": "http://testserver"}, id="downgraded-scheme"),
    ],
)
def test_cross_site_post_is_refused_and_changes_nothing(visitor: Visitor, headers: dict[str, str]) -> None:
    for path, body in (("/_consent", {"action": "accept_all"}), ("/_consent/withdraw", None)):
        r = visitor.post(path, json_body=body, headers=headers)
        assert r.status == 403
        assert r.json()["error"] == "cross_origin"
        assert r.set_cookies == []
    assert state(visitor)["decided"] is False


def test_cross_site_form_post_gets_an_html_refusal(visitor: Visitor) -> None:
    r = visitor.post("/_consent", form=[("action", "accept_all")], headers={"origin": "https://evil.example"})
    assert r.status == 403
    assert (r.header("content-type") or "").startswith("text/html")
    assert "own pages" in r.text
    assert state(visitor)["decided"] is False


def test_same_origin_post_is_accepted(visitor: Visitor) -> None:
    r = visitor.decide("accept_all", headers={"origin": "https://testserver", "sec-fetch-site": "same-origin"})
    assert r.status == 200
    assert state(visitor)["decided"] is True


# -- R20: the no-JavaScript form flow --------------------------------------------------------------


def test_form_post_redirects_back_and_stores_the_choice(visitor: Visitor) -> None:
    r = visitor.post("/_consent", form=[("action", "custom"), ("category", "functional"), ("next", "/articles/x?a=1")])
    assert r.status == 303
    assert r.header("location") == "/articles/x?a=1"
    s = state(visitor)
    assert s["categories"] == {"necessary": True, "functional": True, "analytics": False, "marketing": False}


def test_saving_untouched_toggles_grants_nothing(visitor: Visitor) -> None:
    r = visitor.post("/_consent", form=[("action", "custom")])
    assert r.status == 303
    s = state(visitor)
    assert s["decided"] is True
    assert s["categories"] == {c: c == "necessary" for c in POLICY.category_ids}  # R16


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil",
        "/a\r\nX-Y: z",
        "/%0d%0aSet-Cookie:x=1",
        "",
    ],
)
def test_off_site_next_is_ignored(visitor: Visitor, target: str) -> None:
    r = visitor.post("/_consent", form=[("action", "reject_all"), ("next", target)])
    assert r.status == 303
    location = r.header("location") or ""
    assert location.startswith("/")
    assert not location.startswith("//")
    assert "\r" not in location
    assert "\n" not in location
    assert "evil.example" not in location.split("?")[0][:2]
    if not target.startswith("/%0d"):
        assert location == "/"


# -- R26: cookies disabled -------------------------------------------------------------------------


def test_site_works_with_cookies_disabled(client: AppClient) -> None:
    visitor = client.visitor(cookies_enabled=False)
    for _ in range(3):
        r = visitor.get("/")
        assert r.status == 200
        assert set(r.set_cookie_names) == {"session"}
    r = visitor.post("/_consent", form=[("action", "accept_all"), ("next", "/")])
    assert r.status == 303
    assert r.header("location") == "/"
    r = visitor.get("/")
    assert r.status == 200
    assert set(r.set_cookie_names) == {"session"}  # nothing tracked without the consent cookie
    assert state(visitor)["decided"] is False


# -- R27: caching ----------------------------------------------------------------------------------


def test_consent_dependent_responses_vary_by_cookie_and_gpc(visitor: Visitor) -> None:
    r = visitor.get("/")
    vary = {v.strip().lower() for v in (r.header("vary") or "").split(",")}
    assert {"cookie", "sec-gpc"} <= vary
    decided = visitor.decide("accept_all")
    assert decided.header("cache-control") == "no-store"
    assert "cookie" in (decided.header("vary") or "").lower()


# -- R32: withdrawal -------------------------------------------------------------------------------


def test_withdrawal_expires_the_cookies_of_withdrawn_categories(visitor: Visitor) -> None:
    visitor.decide("accept_all")
    visitor.get("/")
    assert {"lang", "_ga", "_fbp"} <= set(visitor.jar)
    r = visitor.post("/_consent/withdraw")
    assert r.status == 200
    assert r.json()["categories"] == {c: c == "necessary" for c in POLICY.category_ids}
    assert r.set_cookie(CONSENT) is not None  # the updated decision
    for name in ("lang", "_ga", "_fbp"):
        expiry = r.set_cookie(name)
        assert expiry is not None, name
        rule = POLICY.cookie_rule(name)
        assert rule is not None
        attrs = [a.strip() for a in expiry.split(";")]
        assert attrs[0] == f"{name}="
        assert "Max-Age=0" in attrs
        assert "Expires=Thu, 01 Jan 1970 00:00:00 GMT" in attrs
        assert f"Path={rule.path}" in attrs
        assert (f"Domain={rule.domain}" in attrs) == (rule.domain is not None)
    assert "session" in visitor.jar  # necessary cookies stay
    assert not {"lang", "_ga", "_fbp"} & set(visitor.jar)
    assert visitor.get("/").set_cookie_names == []  # session is already there; nothing else passes


def test_withdrawal_by_form_redirects(visitor: Visitor) -> None:
    visitor.decide("accept_all")
    r = visitor.post("/_consent/withdraw", form=[("next", "/privacy")])
    assert r.status == 303
    assert r.header("location") == "/privacy"
    assert state(visitor)["categories"] == {c: c == "necessary" for c in POLICY.category_ids}


def test_refused_cookies_arriving_later_are_expired(visitor: Visitor) -> None:
    visitor.decide("custom", ["functional"])
    r = visitor.get("/api/news", headers={"cookie": f"{CONSENT}={visitor.jar[CONSENT]}; _ga=GA1.1; lang=en"})
    assert r.set_cookie("_ga") is not None
    assert "Max-Age=0" in (r.set_cookie("_ga") or "")
    assert r.set_cookie("lang") is None  # functional is granted


# -- R35-R38: Global Privacy Control ---------------------------------------------------------------


def test_gpc_without_decision_refuses_marketing(visitor: Visitor) -> None:
    s = state(visitor, **{"sec-gpc": "1"})
    assert s["gpc"] is True
    assert s["decided"] is False
    assert s["categories"] == {c: c == "necessary" for c in POLICY.category_ids}
    r = visitor.decide("accept_all", headers={"sec-gpc": "1"})
    assert r.json()["categories"]["marketing"] is False  # GPC can never grant
    assert r.json()["categories"]["analytics"] is True
    stored = payload(visitor.jar[CONSENT])
    assert isinstance(stored, list)
    assert stored[4] == 1  # opted out by GPC


def test_gpc_overrides_a_stored_marketing_grant_and_sticks(visitor: Visitor) -> None:
    visitor.decide("accept_all")
    r = visitor.get("/", headers={"sec-gpc": "1"})
    assert "_fbp" not in r.set_cookie_names  # R37
    assert "_ga" in r.set_cookie_names
    assert r.set_cookie(CONSENT) is not None  # the opt-out is stored
    r2 = visitor.get("/")  # R38: same cookie, no GPC header
    assert "_fbp" not in r2.set_cookie_names
    categories = state(visitor)["categories"]
    assert isinstance(categories, dict)
    assert categories["marketing"] is False


def test_marketing_granted_while_gpc_present_after_the_conflict_notice(visitor: Visitor) -> None:
    r = visitor.post("/_consent", json_body={"action": "accept_all", "gpc_override": True}, headers={"sec-gpc": "1"})
    assert r.json()["categories"]["marketing"] is True
    assert "_fbp" in visitor.get("/", headers={"sec-gpc": "1"}).set_cookie_names


@pytest.mark.parametrize("value", ["0", "true", "yes", "1 1", "01", " ", "on"])
def test_gpc_values_other_than_one_are_ignored(visitor: Visitor, value: str) -> None:
    assert state(visitor, **{"sec-gpc": value})["gpc"] is False


def test_gpc_support_resource(client: AppClient) -> None:
    r = client.request("GET", "/.well-known/gpc.json")
    assert r.status == 200
    assert r.header("content-type") == "application/json"
    assert r.json() == {"gpc": True, "lastUpdate": POLICY.gpc.last_update.isoformat()}  # R39


# -- the state endpoint ----------------------------------------------------------------------------


def test_state_shape(visitor: Visitor) -> None:
    s = state(visitor, **{"accept-language": "en-GB,en;q=0.8"})
    assert s == {
        "decided": False,
        "consent_id": None,
        "revision": POLICY.fingerprint,
        "categories": {c: c == "necessary" for c in POLICY.category_ids},
        "gpc": False,
        "locale": "en",
    }
    assert state(visitor, **{"accept-language": "zh-Hant-TW"})["locale"] == "zh-TW"


# -- bad input: a precise 4xx, never a 500, never a grant ------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "content_type", "body", "status", "error"),
    [
        ("POST", "/_consent", "application/json", b"{", 400, "bad_json"),
        ("POST", "/_consent", "application/json", b"[]", 400, "bad_json"),
        ("POST", "/_consent", "application/json", b'{"action": "grant_everything"}', 400, "unknown_action"),
        ("POST", "/_consent", "application/json", b'{"action": 1}', 400, "unknown_action"),
        (
            "POST",
            "/_consent",
            "application/json",
            b'{"action": "custom", "categories": ["ads"]}',
            400,
            "unknown_category",
        ),
        (
            "POST",
            "/_consent",
            "application/json",
            b'{"action": "custom", "categories": "analytics"}',
            400,
            "bad_categories",
        ),
        ("POST", "/_consent", "application/json", b"[" * 5000 + b"]" * 5000, 400, "bad_json"),
        ("POST", "/_consent", "text/plain", b"action=accept_all", 415, "unsupported_media_type"),
        ("POST", "/_consent", None, b"action=accept_all", 415, "unsupported_media_type"),
        (
            "POST",
            "/_consent",
            "application/json; charset=latin-1",
            b'{"action": "accept_all"}',
            415,
            "unsupported_charset",
        ),
        (
            "POST",
            "/_consent",
            "application/x-www-form-urlencoded",
            b"action=accept_all&action=reject_all",
            400,
            "duplicate_field",
        ),
        ("POST", "/_consent", "application/x-www-form-urlencoded", b"action=\xff\xfe", 400, "bad_encoding"),
        (
            "POST",
            "/_consent",
            "application/json",
            b'{"action": "accept_all", "pad": "' + b"x" * 17000 + b'"}',
            413,
            "too_large",
        ),
        ("GET", "/_consent", None, None, 405, "method_not_allowed"),
        ("PUT", "/_consent/withdraw", None, None, 405, "method_not_allowed"),
        ("POST", "/_consent/state", None, None, 405, "method_not_allowed"),
        ("GET", "/_consent/nothing-here", None, None, 404, "not_found"),
        ("GET", "/_consent/state/", None, None, 404, "not_found"),
        ("POST", "/_consent/withdraw", "text/xml", b"<x/>", 415, "unsupported_media_type"),
    ],
)
def test_bad_requests_get_a_precise_error(
    client: AppClient,
    method: str,
    path: str,
    content_type: str | None,
    body: bytes | None,
    status: int,
    error: str,
) -> None:
    headers = [("content-type", content_type)] if content_type else []
    r = client.request(method, path, headers, body)
    assert r.status == status
    if (content_type or "").startswith("application/x-www-form-urlencoded"):
        assert (r.header("content-type") or "").startswith("text/html")
    else:
        assert r.json()["error"] == error
        assert r.json()["message"].endswith(".")
    assert r.set_cookies == []
    if status == 405:
        assert r.header("allow")
    visitor = client.visitor()
    assert state(visitor)["decided"] is False


def test_unknown_category_error_names_the_valid_ones(visitor: Visitor) -> None:
    r = visitor.decide("custom", ["ads"])
    assert r.status == 400
    for category in POLICY.category_ids:
        assert category in r.json()["message"]


@pytest.mark.parametrize(
    "cookie",
    [
        f"{CONSENT}=\x01\x02",
        f"{CONSENT}=" + "A" * 5000,
        f"{CONSENT}",
        f"{CONSENT}==.=.",
        ";;;;===;",
        f'{CONSENT}="unterminated',
        f"{CONSENT}=ok; {CONSENT}=other",
        "a" * 8000,
    ],
)
def test_malformed_cookie_headers_read_as_not_decided(client: AppClient, cookie: str) -> None:
    r = client.request("GET", "/", [("cookie", cookie)])
    assert r.status == 200
    assert r.set_cookie_names == ["session"] or r.set_cookie_names == []
    r = client.request("GET", "/_consent/state", [("cookie", cookie)])
    assert r.status == 200
    assert r.json()["decided"] is False


def test_head_requests_give_the_length_without_a_body(client: AppClient) -> None:
    get = client.request("GET", "/.well-known/gpc.json")
    head = client.request("HEAD", "/.well-known/gpc.json")
    assert head.status == 200
    assert head.body == b""
    assert head.header("content-length") == str(len(get.body))


def test_withdraw_checks_its_json_body(visitor: Visitor) -> None:
    r = visitor.post("/_consent/withdraw", body=b"{not json", content_type="application/json")
    assert r.status == 400
    assert r.json()["error"] == "bad_json"
    assert visitor.post("/_consent/withdraw", json_body={}).status == 200


def test_third_party_cookies_are_not_expired(visitor: Visitor) -> None:
    visitor.decide("reject_all")
    r = visitor.get("/api/news", headers={"cookie": f"{CONSENT}={visitor.jar[CONSENT]}; YSC=x; _fbp=y"})
    assert r.set_cookie("YSC") is None  # a .youtube.com cookie cannot be expired from here
    assert r.set_cookie("_fbp") is not None
