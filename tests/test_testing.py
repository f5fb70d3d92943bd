"""``cookieconsent.testing``: its consent cookies pass a real app's middleware; its fake request is a request view."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flask import Flask, g

from cookieconsent import ConsentConfig
from cookieconsent.asgi import ConsentMiddleware
from cookieconsent.core.engine import Engine
from cookieconsent.core.request import RequestView
from cookieconsent.fastapi import Consent
from cookieconsent.flask import CookieConsent
from cookieconsent.policy.model import parse_policy
from cookieconsent.testing import FakeRequest, accept_all, consent_cookie, reject_all
from tests.harness import SECRET, small_policy_data

OPTIONAL = ("analytics", "functional", "marketing")


def fastapi_client(config: ConsentConfig) -> TestClient:
    app = FastAPI()
    app.add_middleware(ConsentMiddleware, config=config)

    @app.get("/article")
    def article(consent: Consent) -> dict[str, bool]:
        return {category: consent.allows(category) for category in OPTIONAL}

    return TestClient(app, base_url="https://testserver")


def flask_app(config: ConsentConfig) -> Flask:
    app = Flask(__name__)
    CookieConsent(app, config=config)

    @app.get("/article")
    def article() -> dict[str, bool]:
        return {category: g.consent.allows(category) for category in OPTIONAL}

    return app


def tampered(value: str) -> str:
    """The value with one character of its signature changed."""
    return value[:-3] + ("A" if value[-3] != "A" else "B") + value[-2:]


def granted_of(state: dict[str, Any]) -> set[str]:
    return {category for category, on in state["categories"].items() if on and category != "necessary"}


# -- through a real FastAPI app ----------------------------------------------------------------------


@pytest.mark.parametrize("granted", [[], ["analytics"], ["functional", "marketing"], list(OPTIONAL)])
def test_fastapi_reads_the_cookie_as_the_visitors_decision(config: ConsentConfig, granted: list[str]) -> None:
    client = fastapi_client(config)
    client.cookies.set(config.cookie_name, consent_cookie(config, granted=granted))
    state = client.get("/_consent/state").json()
    assert state["decided"] is True
    assert granted_of(state) == set(granted)
    assert client.get("/article").json() == {category: category in granted for category in OPTIONAL}
    page = client.get("/")
    assert page.headers.get_list("set-cookie") == []  # a genuine decision: nothing to renew or expire


def test_fastapi_takes_the_cookie_as_a_header_too(config: ConsentConfig) -> None:
    client = fastapi_client(config)
    cookie = f"{config.cookie_name}={consent_cookie(config, ['analytics'])}"
    r = client.get("/article", headers={"cookie": cookie})
    assert r.json() == {"analytics": True, "functional": False, "marketing": False}


def test_fastapi_reads_a_tampered_cookie_as_no_decision(config: ConsentConfig) -> None:
    client = fastapi_client(config)
    client.cookies.set(config.cookie_name, tampered(accept_all(config)))
    state = client.get("/_consent/state").json()
    assert state["decided"] is False
    assert granted_of(state) == set()
    assert client.get("/article").json() == dict.fromkeys(OPTIONAL, False)


# -- through a real Flask app ------------------------------------------------------------------------


@pytest.mark.parametrize("granted", [[], ["analytics"], ["functional", "marketing"], list(OPTIONAL)])
def test_flask_reads_the_cookie_as_the_visitors_decision(config: ConsentConfig, granted: list[str]) -> None:
    client = flask_app(config).test_client()
    client.set_cookie(config.cookie_name, consent_cookie(config, granted=granted))
    state = client.get("/_consent/state", base_url="https://localhost").get_json()
    assert state["decided"] is True
    assert granted_of(state) == set(granted)
    article = client.get("/article", base_url="https://localhost").get_json()
    assert article == {category: category in granted for category in OPTIONAL}


def test_flask_takes_the_cookie_as_a_header_too(config: ConsentConfig) -> None:
    client = flask_app(config).test_client(use_cookies=False)  # a client with a cookie jar sends only the jar's
    cookie = f"{config.cookie_name}={consent_cookie(config, ['marketing'])}"
    r = client.get("/article", headers={"cookie": cookie}, base_url="https://localhost")
    assert r.get_json() == {"analytics": False, "functional": False, "marketing": True}


def test_flask_reads_a_tampered_cookie_as_no_decision(config: ConsentConfig) -> None:
    client = flask_app(config).test_client()
    client.set_cookie(config.cookie_name, tampered(accept_all(config)))
    state = client.get("/_consent/state", base_url="https://localhost").get_json()
    assert state["decided"] is False
    assert granted_of(state) == set()


# -- the cookie --------------------------------------------------------------------------------------


def test_the_cookie_holds_the_categories_and_the_consent_id(config: ConsentConfig) -> None:
    codec = Engine(config).codec
    decision = codec.loads(consent_cookie(config, ["analytics", "necessary"], consent_id="TestVisitor123"))
    assert decision is not None
    assert decision.granted == frozenset({"analytics"})  # necessary is always granted: not in the cookie
    assert decision.consent_id == "TestVisitor123"
    assert decision.revision == config.policy.fingerprint
    assert consent_cookie(config) != consent_cookie(config)  # a fresh consent id each time
    everything, nothing = codec.loads(accept_all(config)), codec.loads(reject_all(config))
    assert everything is not None
    assert everything.granted == config.policy.optional_categories
    assert nothing is not None
    assert nothing.granted == frozenset()
    assert codec.loads(consent_cookie(config, "marketing")) is not None  # one id alone, as a string


def test_a_cookie_signed_for_another_key_or_policy_is_not_a_decision(config: ConsentConfig) -> None:
    codec = Engine(config).codec
    other_key = ConsentConfig(policy=config.policy, secret_keys=["another-key-0123456789abcdef"])
    assert codec.loads(accept_all(other_key)) is None
    fewer_cookies = small_policy_data()
    fewer_cookies["cookies"] = fewer_cookies["cookies"][:-1]  # a material change: a new fingerprint
    other_policy = ConsentConfig(policy=parse_policy(fewer_cookies), secret_keys=[SECRET])
    assert other_policy.policy.fingerprint != config.policy.fingerprint
    assert codec.loads(accept_all(other_policy)) is None


def test_an_unknown_category_is_refused_with_the_valid_ones(config: ConsentConfig) -> None:
    valid = "necessary, functional, analytics, marketing"
    with pytest.raises(ValueError, match=rf"unknown consent category 'ads'; the policy's categories are {valid}$"):
        consent_cookie(config, granted=["analytics", "ads"])
    with pytest.raises(ValueError, match=r"unknown consent categories 'Analytics', 'ads'; "):
        consent_cookie(config, granted=["ads", "Analytics"])


@pytest.mark.parametrize("consent_id", ["short", "x" * 65, "Zürich-Besucher-1"])
def test_a_consent_id_the_middleware_would_ignore_is_refused(config: ConsentConfig, consent_id: str) -> None:
    with pytest.raises(ValueError, match="8 to 64 ASCII characters"):
        consent_cookie(config, consent_id=consent_id)


def test_the_module_imports_no_framework() -> None:
    code = (
        "import sys\nimport cookieconsent.testing\n"
        "print(','.join(m for m in ('starlette', 'fastapi', 'flask', 'werkzeug') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# -- the fake request --------------------------------------------------------------------------------


def test_the_fake_request_is_a_request_view() -> None:
    request: RequestView = FakeRequest(
        "/search?q=consent",
        method="POST",
        headers=[("Cookie", "a=1"), ("Accept-Language", "zh-TW"), ("cookie", "b=2"), ("X-Many", "1"), ("x-many", "2")],
        client="203.0.113.7",
    )
    assert (request.method, request.path, request.query_string) == ("POST", "/search", "q=consent")
    assert (request.scheme, request.host, request.client) == ("https", "localhost", "203.0.113.7")
    assert request.header("cookie") == "a=1; b=2"  # as ASGI servers pass repeated cookie headers
    assert request.header("COOKIE") == "a=1; b=2"
    assert request.header("x-many") == "1, 2"
    assert request.header_values("X-Many") == ["1", "2"]
    assert request.header("accept-language") == "zh-TW"
    assert request.header("sec-gpc") is None
    assert request.header_values("sec-gpc") == []


def test_the_fake_request_takes_a_mapping_and_is_frozen() -> None:
    request = FakeRequest(headers={"Host": "example.com:8443", "Sec-GPC": "1"}, scheme="http", client=None)
    assert (request.path, request.query_string, request.method) == ("/", "", "GET")
    assert (request.scheme, request.host, request.client) == ("http", "example.com:8443", None)
    assert request.header_values("sec-gpc") == ["1"]
    assert FakeRequest(host="a.example", headers={"host": "b.example"}).host == "a.example"
    assert FakeRequest("/p", query_string="x=1").query_string == "x=1"
    assert request == FakeRequest(headers={"host": "example.com:8443", "sec-gpc": "1"}, scheme="http", client=None)
    with pytest.raises(AttributeError):
        request.path = "/other"  # type: ignore[misc]
    with pytest.raises(ValueError, match="either in path"):
        FakeRequest("/p?x=1", query_string="y=2")


def test_the_engine_decides_on_a_fake_request(config: ConsentConfig) -> None:
    engine = Engine(config)
    cookie = f"lang=en; {config.cookie_name}={consent_cookie(config, ['functional'])}"
    state = engine.decide(FakeRequest(headers={"cookie": cookie, "accept-language": "zh-TW"}))
    assert state.decided
    assert state.allows("functional")
    assert not state.allows("analytics")
    assert state.locale == "zh-TW"
    gpc = engine.decide(FakeRequest(headers={"sec-gpc": "1"}))
    assert gpc.gpc is True
