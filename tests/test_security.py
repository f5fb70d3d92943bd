"""The threats of docs/security.md that no other test file covers; each test names the threat it stops.

Most run against both adapters (``kind`` is ASGI or WSGI) over the small sites of ``tests/harness.py``.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import itsdangerous.signer
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from cookieconsent import ConsentConfig
from cookieconsent.asgi import ConsentMiddleware as ASGIMiddleware
from cookieconsent.core.cookie import ConsentCodec, Decision, expire_cookie
from cookieconsent.core.engine import Engine
from cookieconsent.errors import ConfigurationError, PolicyError
from cookieconsent.policy.model import load_policy, parse_policy
from cookieconsent.records.recorder import DEVICE_COOKIE, Recorder
from cookieconsent.ui import render as render_module
from cookieconsent.ui.i18n import messages
from cookieconsent.web.replies import safe_next
from cookieconsent.wsgi import ENVIRON_KEY
from cookieconsent.wsgi import ConsentMiddleware as WSGIMiddleware
from tests.harness import (
    SECRET,
    FaultyStore,
    Response,
    Site,
    Visitor,
    make_site,
    recorder_for,
    recording_config,
    send_asgi,
    send_wsgi,
    serializer,
    small_policy_data,
)

CONSENT = "__Host-consent"
EVIL = "https://evil.example"
TELEXPRESS = Path(__file__).parents[1] / "examples" / "telexpress" / "policy.toml"


@pytest.fixture
def site(kind: str, store: FaultyStore, tmp_path: Path) -> Iterator[Site]:
    made = make_site(kind, recorder_for(store, tmp_path / "spool.jsonl"))
    yield made
    made.recorder.close()


# -- forged, replayed and planted consent cookies -----------------------------------------------------


def test_consent_cookie_is_host_only_secure_and_unreadable_by_scripts(site: Site) -> None:
    """A sibling subdomain cannot plant or overwrite it: browsers take a __Host- cookie only like this."""
    cookie = site.visitor().decide("reject_all", expect=200).set_cookie(CONSENT)
    assert cookie is not None
    attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
    assert {"secure", "httponly", "path", "samesite"} <= attributes
    assert "domain" not in attributes  # host-only
    assert "Path=/" in cookie


def test_the_host_prefix_cannot_be_configured_away_by_mistake() -> None:
    policy = parse_policy(small_policy_data())
    with pytest.raises(ConfigurationError, match="cannot have a domain"):
        ConsentConfig(policy=policy, secret_keys=[SECRET], domain="example.com")
    with pytest.raises(ConfigurationError, match="needs secure=True"):
        ConsentConfig(policy=policy, secret_keys=[SECRET], cookie_name="__Host-consent", secure=False)


def test_a_cookie_planted_under_another_name_is_ignored(site: Site) -> None:
    """What a sibling subdomain can set (no __Host- prefix) is not the consent cookie."""
    cfg = site.recorder.engine.config
    policy = cfg.policy
    everything = (1 << len(policy.optional_categories)) - 1
    genuine = serializer(cfg.signing_keys).dumps([1, "PlantedBySibling", policy.fingerprint, everything, 0])
    for name in ("consent", "__Secure-consent", "__host-consent", " __Host-consent2"):
        planted = site.visitor(jar={name.strip(): genuine})
        assert planted.state()["decided"] is False, name


def test_a_replayed_old_cookie_reads_as_its_decision_but_a_stop_request_still_holds(
    site: Site, store: FaultyStore
) -> None:
    """Replay is the limit of a stateless cookie; what the server keeps (stop flags) still applies."""
    alice = site.visitor()
    alice.decide("accept_all", expect=200)
    accepted = dict(alice.jar)
    alice.request("POST", "/_consent/rights", [("content-type", "application/json")], b'{"kind": "stop"}')
    alice.post("/_consent/withdraw", {})
    assert alice.state()["categories"]["analytics"] is False
    replayed = site.visitor(jar=accepted)  # the visitor's own earlier cookie, sent again
    assert replayed.state()["categories"]["analytics"] is True
    assert replayed.get("/after-stop").status == 200
    site.recorder.flush()
    assert [r.page for r in store.iter_records("visit")] == []  # the stop flag is on the server


def test_a_cookie_for_another_policy_revision_or_key_grants_nothing(site: Site) -> None:
    cfg = site.recorder.engine.config
    policy = cfg.policy
    everything = (1 << len(policy.optional_categories)) - 1
    stale = serializer(cfg.signing_keys).dumps([1, "OlderPolicyUser1", "0" * 16, everything, 0])
    foreign = serializer(["the-key-of-another-site-using-this-library"]).dumps(
        [1, "OtherSiteUser123", policy.fingerprint, everything, 0]
    )
    for value in (stale, foreign):
        visitor = site.visitor(jar={CONSENT: value})
        assert visitor.state()["decided"] is False
        assert b'<div class="cc-banner"' in visitor.get("/").body  # asked again


# -- CSRF on every state-changing endpoint ------------------------------------------------------------


def test_every_post_endpoint_refuses_other_sites(site: Site, store: FaultyStore) -> None:
    """Taken from the live route table, so an endpoint added later is covered too."""
    app = site.app
    assert isinstance(app, ASGIMiddleware | WSGIMiddleware)
    posts = [path for path, (methods, _) in app.endpoints._routes.items() if "POST" in methods]
    assert {
        "/_consent",
        "/_consent/withdraw",
        "/_consent/events",
        "/_consent/my-data/delete",
        "/_consent/rights",
    } <= set(posts)
    alice = site.visitor()
    alice.decide("accept_all", expect=200)
    alice.get("/kept")
    site.recorder.flush()
    before = (store.chain_head().seq, store.count(), store.list_rights_requests())
    for path in posts:
        for headers in ([("origin", EVIL)], [("sec-fetch-site", "cross-site")], [("referer", EVIL + "/x")]):
            body = b'{"action": "reject_all", "kind": "delete", "type": "click", "path": "/"}'
            r = alice.request("POST", path, [("content-type", "application/json"), *headers], body)
            assert r.status == 403, (path, headers)
            assert r.json()["error"] == "cross_origin"
            assert r.set_cookies == []
    site.recorder.flush()
    assert (store.chain_head().seq, store.count(), store.list_rights_requests()) == before
    assert alice.state()["categories"]["marketing"] is True


def test_get_requests_change_no_decision(site: Site, store: FaultyStore) -> None:
    """Only POSTs decide; a cross-site link (SameSite=Lax sends the cookie on it) can change nothing."""
    alice = site.visitor()
    alice.decide("custom", ["analytics"], expect=200)
    site.recorder.flush()
    head = store.chain_head().seq
    for target in (
        "/_consent?action=accept_all",
        "/_consent/withdraw",
        "/_consent/my-data/delete",
        "/_consent/rights?kind=stop",
        "/_consent/preferences?action=accept_all&category=marketing",
    ):
        r = alice.get(target, [("sec-fetch-site", "cross-site")])
        assert r.status in (200, 405), target
        assert r.set_cookie(CONSENT) is None
    site.recorder.flush()
    assert store.chain_head().seq == head
    assert store.list_rights_requests() == []
    assert alice.state()["categories"] == {
        "necessary": True,
        "functional": False,
        "analytics": True,
        "marketing": False,
    }


# -- open redirects -------------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(max_size=60),
        st.builds(
            lambda head, tail: head + tail,
            st.sampled_from(["/", "//", "/\\", "\\", "https:", "javascript:", "/%2F", "/.", " /", "\t/", "%0d%0a/"]),
            st.text(max_size=40),
        ),
    )
)
def test_safe_next_never_leaves_the_site(target: str) -> None:
    location = safe_next(target)
    assert location.startswith("/")
    assert not any(ord(c) < 0x21 or ord(c) == 0x7F or c == "\\" for c in location)
    resolved = urlsplit(urljoin("https://shop.example/from/here", location))
    assert (resolved.scheme, resolved.netloc) == ("https", "shop.example")


# -- XSS through policy texts, translations, the next parameter and recorded data ------------------------

XSS = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'


def hostile_policy_data() -> dict[str, Any]:
    """A valid policy with markup in every text the pages show."""
    data = small_policy_data()
    data["controller"] = {
        "name": XSS,
        "email": "privacy@example.com",
        "address": XSS,
        "phone": XSS,
        "url": 'https://example.com/?q="><script>alert(2)</script>',
    }
    categories = []
    from cookieconsent.policy.defaults import DEFAULT_CATEGORIES

    for category in copy.deepcopy(DEFAULT_CATEGORIES):
        category.update(title=XSS + category["id"], description=XSS)
        categories.append(category)
    data["categories"] = categories
    for rule in data["cookies"]:
        rule.update(purpose=XSS, provider=XSS, lifetime=XSS)
        if "justification" in rule:
            rule["justification"] = XSS
    for item in data["data_items"]:
        item["description"] = XSS
    data["notice"].update(
        period=XSS,
        region=XSS,
        methods=XSS,
        how_to_exercise=XSS,
        consequences=XSS,
        sources=XSS,
        sharing=XSS,
        security=XSS,
        revisions=XSS,
        recipients=[{"id": "company", "name": XSS, "description": XSS}],
    )
    return data


def assert_escaped(body: bytes, payloads: tuple[str, ...] = ("<script>alert", "<img src=x", 'q="><script>')) -> None:
    text = body.decode()
    for raw in payloads:
        assert raw not in text, raw


def test_policy_texts_are_escaped_on_every_page(kind: str, store: FaultyStore, tmp_path: Path) -> None:
    cfg = ConsentConfig(policy=parse_policy(hostile_policy_data()), secret_keys=[SECRET])
    site = make_site(kind, recorder_for(store, tmp_path / "spool.jsonl", cfg))
    alice = site.visitor()
    for accept_language in ("en", "zh-TW"):
        for target in ("/", "/_consent/preferences", "/_consent/my-data"):
            r = alice.get(target, [("accept-language", accept_language)])
            assert r.status == 200
            assert_escaped(r.body)
            assert "&lt;script&gt;alert(" in r.text  # the text was shown, as text
    alice.decide("accept_all", expect=200)
    for target in ("/", "/_consent/preferences", "/_consent/my-data"):
        assert_escaped(alice.get(target).body)
    site.recorder.close()


def test_translations_are_escaped(
    kind: str, store: FaultyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = '<script>alert("t")</script>'

    def hostile(locale: str) -> dict[str, Any]:
        return {k: v + marker if isinstance(v, str) else v for k, v in messages(locale).items()}

    monkeypatch.setattr(render_module, "messages", hostile)
    site = make_site(kind, recorder_for(store, tmp_path / "spool.jsonl"))
    alice = site.visitor()
    alice.decide("accept_all", expect=200)
    for target in ("/", "/_consent/preferences", "/_consent/my-data"):
        r = alice.get(target)
        assert r.status == 200
        assert marker not in r.text
        assert "&lt;script&gt;alert(" in r.text
    site.recorder.close()


def test_recorded_pages_and_request_details_are_escaped_in_the_privacy_centre(site: Site) -> None:
    alice = site.visitor()
    alice.decide("accept_all", expect=200)
    assert alice.get("/" + quote('"><script>alert(3)</script>')).status == 200
    r = alice.get("/_consent/my-data")
    assert r.status == 200
    assert "&lt;script&gt;alert(3)" in r.text
    assert "<script>alert(3)" not in r.text


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", " javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "//evil.example"]
)
def test_policy_links_cannot_run_script(link: str) -> None:
    with pytest.raises(PolicyError, match="privacy_policy_url"):
        parse_policy(small_policy_data(privacy_policy_url=link))
    data = small_policy_data()
    data["controller"]["url"] = link
    with pytest.raises(PolicyError, match="url"):
        parse_policy(data)


# -- header injection through names from the policy or the config --------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "_ga\n"),
        ("name", "_ga\r\nSet-Cookie: x=1"),
        ("name", "_ga;Domain=evil.example"),
        ("name", "_ga x"),
        ("pattern", "_ga_*\n"),
        ("path", "/\n"),
        ("path", "/\r\nX-Injected: 1"),
        ("path", "/;Domain=evil.example"),
        ("domain", "example.com\n"),
        ("domain", "example.com; Secure"),
        ("domain", "example.com\r\nX-Injected: 1"),
    ],
)
def test_policy_cookie_names_paths_and_domains_cannot_split_a_header(field: str, value: str) -> None:
    data = small_policy_data()
    rule = data["cookies"][2]
    if field == "pattern":
        rule.pop("name")
    rule[field] = value
    with pytest.raises(PolicyError):
        parse_policy(data)


@pytest.mark.parametrize(
    "option",
    [
        {"cookie_name": "consent\n", "secure": False},
        {"cookie_name": "consent;Domain=x", "secure": False},
        {"domain": "example.com\r\nSet-Cookie: x=1", "secure": False, "cookie_name": "consent"},
        {"domain": "example.com; Secure=no", "secure": False, "cookie_name": "consent"},
        {"domain": "example.com\n", "secure": False, "cookie_name": "consent"},
        {"prefix": "/_consent\n"},
        {"trusted_origins": ["https://www.example.com\n"]},
    ],
)
def test_config_names_cannot_split_a_header(option: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        ConsentConfig(policy=parse_policy(small_policy_data()), secret_keys=[SECRET], **option)


def test_every_header_the_library_writes_from_a_policy_is_one_clean_line() -> None:
    policy = load_policy(TELEXPRESS)
    engine = Engine(ConsentConfig(policy=policy, secret_keys=[SECRET]))
    values = [expire_cookie(r.name or "x", path=r.path, domain=r.domain) for r in policy.cookies]
    values.append(engine.consent_cookie(Decision("abcdefghijkl", policy.optional_categories, policy.fingerprint, 0)))
    for value in values:
        assert re.fullmatch(r"[\x20-\x7e]+", value), value
        name = value.split("=", 1)[0]
        assert re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", name)


# -- cache poisoning ------------------------------------------------------------------------------------

PUBLIC = "public, max-age=600, s-maxage=600"


def cache_site(kind: str) -> Callable[[str, list[tuple[str, str]]], Response]:
    cfg = ConsentConfig(policy=parse_policy(small_policy_data()), secret_keys=[SECRET])
    page = b"<!doctype html><html><head><title>t</title></head><body><p>news</p></body></html>"
    if kind == "asgi":

        async def html(request: Request) -> HTMLResponse:
            return HTMLResponse(page, headers={"cache-control": PUBLIC})

        async def api(request: Request) -> JSONResponse:
            analytics = request.state.consent.allows("analytics")
            return JSONResponse({"analytics": analytics}, headers={"cache-control": PUBLIC})

        async def plain(request: Request) -> JSONResponse:
            return JSONResponse({"news": 1}, headers={"cache-control": PUBLIC})

        routes = [Route("/", html), Route("/api", api), Route("/plain", plain)]
        asgi = ASGIMiddleware(Starlette(routes=routes), cfg)
        return lambda target, headers: send_asgi(asgi, "GET", target, headers, b"")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = environ["PATH_INFO"]
        if path == "/":
            start_response("200 OK", [("content-type", "text/html; charset=utf-8"), ("cache-control", PUBLIC)])
            return [page]
        data = {"news": 1} if path == "/plain" else {"analytics": environ[ENVIRON_KEY].allows("analytics")}
        start_response("200 OK", [("content-type", "application/json"), ("cache-control", PUBLIC)])
        return [json.dumps(data).encode()]

    wsgi = WSGIMiddleware(app, cfg)
    return lambda target, headers: send_wsgi(wsgi, "GET", target, headers, b"")


def vary(r: Response) -> set[str]:
    return {v.strip().lower() for v in (r.header("vary") or "").split(",") if v.strip()}


def test_no_shared_cache_serves_one_visitors_variant_to_another(kind: str) -> None:
    get = cache_site(kind)
    cfg = ConsentConfig(policy=parse_policy(small_policy_data()), secret_keys=[SECRET])
    policy = cfg.policy
    decided = serializer(cfg.signing_keys).dumps([1, "CachedVisitor123", policy.fingerprint, 0b111, 0])
    for cookie in ([], [("cookie", f"{CONSENT}={decided}")]):
        page = get("/", cookie)
        assert "private" in (page.header("cache-control") or "")  # the page carries the banner or the decision
        assert "public" not in (page.header("cache-control") or "")
        assert "s-maxage" not in (page.header("cache-control") or "")
        assert {"cookie", "sec-gpc", "accept-language"} <= vary(page)
        api = get("/api", cookie)  # the app asked about consent: the answer varies by it
        assert {"cookie", "sec-gpc"} <= vary(api)
    refused = get("/plain", [("cookie", "_ga=GA1.2.3")])  # an expiry goes with it: never shared
    assert refused.set_cookie("_ga") is not None
    assert "private" in (refused.header("cache-control") or "")
    same_for_all = get("/plain", [])
    assert same_for_all.header("cache-control") == PUBLIC  # nothing about it depends on consent
    assert vary(same_for_all) == set()


def test_the_librarys_own_answers_are_never_stored_by_caches(site: Site) -> None:
    alice = site.visitor()
    assert alice.get("/_consent/state").header("cache-control") == "no-store"
    assert alice.decide("accept_all", expect=200).header("cache-control") == "no-store"
    for target in ("/_consent/preferences", "/_consent/my-data", "/_consent/my-data.json"):
        assert alice.get(target).header("cache-control") == "no-store", target


# -- beacon abuse -----------------------------------------------------------------------------------------


def test_a_beacon_flood_without_consent_records_nothing(site: Site, store: FaultyStore) -> None:
    undecided, refusing = site.visitor(), site.visitor()
    refusing.decide("custom", ["functional"], expect=200)  # clicks are an analytics data item
    quota = site.recorder.engine.config.events_per_minute
    for visitor in (undecided, refusing):
        for i in range(quota):
            event = {"type": "click", "path": f"/flood/{i}", "category": "necessary", "granted": True}
            assert visitor.post("/_consent/events", event).status == 204
        assert visitor.post("/_consent/events", {"type": "click", "path": "/flood/more"}).status == 429
    site.recorder.flush()
    assert store.count() == 0


def test_a_beacon_cannot_choose_whose_record_it_is(site: Site, store: FaultyStore) -> None:
    alice = site.visitor()
    alice.decide("accept_all", expect=200)
    event = {"type": "click", "path": "/x", "consent_id": "victim-consent", "device_id": "victim-device"}
    assert alice.post("/_consent/events", event).status == 204
    site.recorder.flush()
    (record,) = store.iter_records("click")
    assert record.consent_id == alice.state()["consent_id"]
    assert record.device_id == alice.jar[site.recorder.device_cookie]


# -- one visitor and another's records ----------------------------------------------------------------


def browsed(site: Site, *pages: str) -> Visitor:
    visitor = site.visitor()
    visitor.decide("accept_all", expect=200)
    for page in pages:
        visitor.get(page)
    return visitor


def test_ids_in_the_query_or_the_body_are_ignored(site: Site, store: FaultyStore) -> None:
    alice, bob = browsed(site, "/alice"), browsed(site, "/bob")
    device_cookie = site.recorder.device_cookie
    bob_device, bob_consent = bob.jar[device_cookie], bob.state()["consent_id"]
    query = f"device_id={bob_device}&consent_id={bob_consent}&{device_cookie}={bob_device}&{DEVICE_COOKIE}={bob_device}"
    copy_ = alice.get("/_consent/my-data.json?" + query).json()
    assert {r["page"] for r in copy_["records"]} == {"/alice"}
    assert bob_device not in alice.get("/_consent/my-data?" + query).text
    r = alice.post("/_consent/my-data/delete", {"device_id": bob_device, "consent_id": bob_consent})
    assert r.status == 200
    site.recorder.flush()
    assert [v.page for v in store.records_for(device_id=bob_device)] == ["/bob"]


# -- the device cookie: host-only, so no sibling subdomain can plant one --------------------------------

HOST_DEVICE = f"__Host-{DEVICE_COOKIE}"


def attributes_of(set_cookie: str) -> dict[str, str]:
    """The attributes of a ``Set-Cookie`` value, by lower-case name."""
    pairs = (a.strip().partition("=") for a in set_cookie.split(";")[1:])
    return {name.lower(): value for name, _, value in pairs}


def test_the_device_cookie_is_host_only_and_secure(site: Site) -> None:
    """Cookie tossing: browsers take a __Host- cookie only from the host itself (Secure, Path=/, no Domain)."""
    assert site.recorder.device_cookie == HOST_DEVICE
    decided = site.visitor().decide("accept_all", expect=200)
    cookie = decided.set_cookie(HOST_DEVICE)
    assert cookie is not None
    assert re.match(rf"^{HOST_DEVICE}=[A-Za-z0-9_-]{{22}}; ", cookie), cookie
    attributes = attributes_of(cookie)
    assert attributes["path"] == "/"
    assert "secure" in attributes
    assert "domain" not in attributes
    assert {"httponly", "samesite", "max-age"} <= attributes.keys()
    assert decided.set_cookie(DEVICE_COOKIE) is None  # no unprefixed device cookie is ever set


def test_a_planted_unprefixed_device_cookie_is_no_device_id(site: Site, store: FaultyStore) -> None:
    """A sibling subdomain can set ``ccdid`` (not ``__Host-ccdid``): it neither names a visit nor opens records."""
    planted = "PlantedBySibling-00001"
    victim = site.visitor(jar={DEVICE_COOKIE: planted})  # tossed into the victim's browser before the first visit
    victim.decide("accept_all", expect=200)
    victim.get("/victim/private")
    own = victim.jar[HOST_DEVICE]
    assert own != planted
    alice = browsed(site, "/alice/private")
    alice_device = alice.jar[HOST_DEVICE]
    site.recorder.flush()
    assert store.records_for(device_id=planted) == []  # the visit is not recorded under the planted id
    assert [r.page for r in store.records_for(device_id=own)] == ["/victim/private"]
    # The planter comes back with the id it planted, or with someone's real id, under the plain name.
    for known in (planted, own, alice_device):
        planter = site.visitor(jar={DEVICE_COOKIE: known})
        copy_ = planter.get("/_consent/my-data.json").json()
        assert copy_["device_id"] is None
        assert copy_["records"] == []
        page = planter.get("/_consent/my-data").text
        assert known not in page
        assert "/victim/private" not in page
        assert "/alice/private" not in page
        # Deciding first (so the planter has a device id of its own) changes nothing.
        planter.decide("accept_all", expect=200)
        copy_ = planter.get("/_consent/my-data.json").json()
        assert copy_["device_id"] == planter.jar[HOST_DEVICE] != known
        assert not {r["page"] for r in copy_["records"]} & {"/victim/private", "/alice/private"}
        assert planter.post("/_consent/my-data/delete", {}).status == 200
    site.recorder.flush()
    assert [r.page for r in store.records_for(device_id=own)] == ["/victim/private"]
    assert [r.page for r in store.records_for(device_id=alice_device)] == ["/alice/private"]


def test_the_ccdid_declaration_covers_the_host_prefixed_cookie(kind: str, store: FaultyStore, tmp_path: Path) -> None:
    """Policies declare ``ccdid``; refusing its category expires ``__Host-ccdid`` with a deletion browsers accept.

    The declaration here even names a Domain and a Path: a __Host- cookie has neither, so the
    deletion must use ``Path=/`` and no ``Domain`` or the browser would keep the cookie.
    """
    data = small_policy_data(data_items=[{"id": "device_id", "category": "functional", "description": "device"}])
    data["cookies"].append(
        {
            "name": DEVICE_COOKIE,
            "category": "functional",
            "purpose": "Device id",
            "provider": "Example",
            "lifetime": "1 year",
            "path": "/app",
            "domain": "example.com",
        }
    )
    cfg = ConsentConfig(policy=parse_policy(data), secret_keys=[SECRET])
    assert cfg.policy.allows_cookie_in(HOST_DEVICE) == "functional"
    assert cfg.policy.allows_cookie_in(f"__Secure-{DEVICE_COOKIE}") == "functional"
    assert cfg.policy.allows_cookie_in(f"__host-{DEVICE_COOKIE}") is None  # not a prefix browsers enforce
    site = make_site(kind, recorder_for(store, tmp_path / "spool.jsonl", cfg), cfg)
    try:
        visitor = site.visitor()
        assert visitor.decide("accept_all", expect=200).set_cookie(HOST_DEVICE) is not None
        refused = visitor.decide("custom", ["analytics"], expect=200)
        expiry = refused.set_cookie(HOST_DEVICE)
        assert expiry == f"{HOST_DEVICE}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure"
        assert HOST_DEVICE not in visitor.jar
    finally:
        site.recorder.close()


def test_an_explicit_declaration_of_the_prefixed_name_wins() -> None:
    data = small_policy_data()
    for name, category in ((DEVICE_COOKIE, "analytics"), (HOST_DEVICE, "functional")):
        data["cookies"].append(
            {"name": name, "category": category, "purpose": "p", "provider": "Example", "lifetime": "1 year"}
        )
    policy = parse_policy(data)
    assert policy.allows_cookie_in(HOST_DEVICE) == "functional"
    assert policy.allows_cookie_in(f"__Secure-{DEVICE_COOKIE}") == "analytics"
    assert policy.allows_cookie_in(DEVICE_COOKIE) == "analytics"


def test_a_declaration_covering_the_consent_cookie_by_its_prefix_is_refused() -> None:
    """Declaring ``consent`` would cover ``__Host-consent``: refusing its category would expire the consent cookie."""
    data = small_policy_data()
    data["cookies"].append(
        {"name": "consent", "category": "analytics", "purpose": "p", "provider": "Example", "lifetime": "1 year"}
    )
    policy = parse_policy(data)
    with pytest.raises(ConfigurationError, match=r"'consent' also covers '__Host-consent'.*rename one of them"):
        ConsentConfig(policy=policy, secret_keys=[SECRET])


def test_without_secure_the_device_cookie_stays_ccdid(kind: str, store: FaultyStore, tmp_path: Path) -> None:
    """Plain-HTTP development (``secure=False``) cannot hold a __Host- cookie: the name stays ``ccdid``."""
    cfg = ConsentConfig(policy=recording_config().policy, secret_keys=[SECRET], secure=False)
    site = make_site(kind, recorder_for(store, tmp_path / "spool.jsonl", cfg), cfg)
    try:
        assert site.recorder.device_cookie == DEVICE_COOKIE
        visitor = site.visitor()
        decided = visitor.decide("accept_all", expect=200)
        cookie = decided.set_cookie(DEVICE_COOKIE)
        assert cookie is not None
        assert "secure" not in attributes_of(cookie)
        assert decided.set_cookie(HOST_DEVICE) is None
        visitor.get("/page")
        site.recorder.flush()
        device = visitor.jar[DEVICE_COOKIE]
        assert "/page" in {r.page for r in store.records_for(device_id=device)}
        assert visitor.get("/_consent/my-data.json").json()["device_id"] == device
    finally:
        site.recorder.close()


def test_a_reference_alone_shows_nothing_of_another_visitors_request(site: Site) -> None:
    alice, bob = browsed(site, "/alice"), browsed(site, "/bob")
    filed = bob.post("/_consent/rights", {"kind": "correct", "details": "Bob's private correction"})
    reference = filed.json()["reference"]
    assert reference in bob.get(f"/_consent/my-data?ref={reference}").text  # his own confirmation
    seen = alice.get(f"/_consent/my-data?ref={reference}").text
    assert reference not in seen
    assert "private correction" not in seen
    anonymous = site.visitor()  # no cookies at all: the reference is all that links a request to anyone
    assert anonymous.post("/_consent/rights", {"kind": "view"}).status == 404  # nothing held: nothing filed
    own = anonymous.post("/_consent/my-data/delete", {}).json()["reference"]  # a deletion is filed all the same
    assert own in anonymous.get(f"/_consent/my-data?ref={own}").text
    assert reference not in anonymous.get(f"/_consent/my-data?ref={reference}").text


def test_a_forged_cookie_with_anothers_consent_id_reads_nothing(site: Site) -> None:
    bob = browsed(site, "/bob")
    policy = site.recorder.engine.policy
    forged = serializer(["not-the-sites-key-0123456789"]).dumps(
        [1, bob.state()["consent_id"], policy.fingerprint, 0b111, 0]
    )
    mallory = site.visitor(jar={CONSENT: forged})
    data = mallory.get("/_consent/my-data.json").json()
    assert (data["consent_id"], data["records"], data["consent_records"]) == (None, [], [])


# -- signature checks in constant time ----------------------------------------------------------------


def test_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    assert vars(itsdangerous.signer)["hmac"] is hmac  # itsdangerous checks signatures with hmac.compare_digest
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((bytes(a), bytes(b)))
        return bool(real(a, b))

    monkeypatch.setattr(hmac, "compare_digest", spy)
    codec = ConsentCodec(["old-key-0123456789abcdef", SECRET], ("analytics",), "rev", 3600)
    value = codec.dumps(Decision("abcdefghijkl", frozenset({"analytics"}), "rev", 0))
    tampered = value[:-6] + ("A" if value[-6] != "A" else "B") + value[-5:]
    assert codec.loads(tampered) is None
    assert len(calls) == 2  # one constant-time comparison per key, the newest first
    given, expected = calls[0]
    assert len(given) == len(expected) == hashlib.sha256().digest_size
    assert given != expected
    calls.clear()
    assert codec.loads(value) is not None
    assert len(calls) == 1
    assert calls[0][0] == calls[0][1]


# -- secrets never shown -------------------------------------------------------------------------------

KEY = "the-secret-signing-key-" + "q7Zp" * 4


def test_secrets_stay_out_of_reprs_and_errors(tmp_path: Path) -> None:
    cfg = ConsentConfig(policy=parse_policy(small_policy_data()), secret_keys=["an-old-key-0123456789", KEY])
    recorder = Recorder(cfg, None, spool=tmp_path / "spool.jsonl", ip_mode="hash", ip_key=KEY.encode())
    asgi = ASGIMiddleware(Starlette(), cfg, recorder=recorder)
    wsgi = WSGIMiddleware(lambda environ, start_response: [], cfg)
    shown = [
        repr(cfg),
        str(cfg),
        cfg.model_dump_json(),
        repr(cfg.model_dump()),
        repr(asgi),
        repr(wsgi),
        repr(asgi.engine),
        repr(asgi.engine.codec),
        repr(asgi.endpoints),
        repr(asgi.pages),
        repr(recorder),
        repr(vars(asgi.engine.config)),
    ]
    for text in shown:
        assert KEY not in text
        assert "an-old-key-0123456789" not in text
    with pytest.raises(ConfigurationError) as short:
        ConsentConfig(policy=cfg.policy, secret_keys=["tooShortKey42"])
    assert "tooShortKey42" not in str(short.value)
    with pytest.raises(ConfigurationError) as typed:
        ConsentConfig(policy=cfg.policy, secret_keys=[KEY, 12345678901234567890])
    assert KEY not in str(typed.value)


def test_secrets_stay_out_of_logs_and_responses(
    kind: str, store: FaultyStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = ConsentConfig(policy=recording_config().policy, secret_keys=[KEY])
    site = make_site(kind, recorder_for(store, tmp_path / "spool.jsonl", cfg))
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG):
        alice = site.visitor()
        for r in (
            alice.decide("accept_all", expect=200),
            alice.get("/page"),
            alice.get("/_consent/my-data"),
            alice.get("/_consent/my-data.json"),
            alice.post("/_consent/rights", {"kind": "view"}),
            alice.post("/_consent", {"action": "nope"}),
            alice.post("/_consent", {"action": "accept_all"}, headers=[("origin", EVIL)]),
            site.visitor(jar={CONSENT: "forged.value.x", "x_unknown": "1"}).get("/"),
        ):
            seen.append(r.body.decode("utf-8", "replace"))
            seen.extend(f"{k}: {v}" for k, v in r.headers)
        store.down = True  # the warnings of an outage, with the store's own error text
        alice.get("/while-down")
        site.recorder.flush()
        store.down = False
        time.sleep(0.1)  # past the recorder's retry_after: close() then writes the spooled record
        site.recorder.close()
    assert not (tmp_path / "spool.jsonl").exists()
    seen.extend(record.getMessage() for record in caplog.records)
    seen.extend(repr(record.args) for record in caplog.records)
    seen.extend(record.exc_text or "" for record in caplog.records)
    assert any(record.name == "cookieconsent" for record in caplog.records)  # there were logs to check
    for text in seen:
        assert KEY not in text
