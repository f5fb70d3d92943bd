"""``GET /_consent/policy.json``: the cookie declarations, through real requests to both demo apps."""

from __future__ import annotations

import json
from pathlib import Path

from cookieconsent import ConsentConfig
from cookieconsent.asgi import ConsentMiddleware
from cookieconsent.policy.model import load_policy, parse_policy
from tests.harness import SECRET, AppClient, Visitor, small_policy_data

POLICY = load_policy(Path(__file__).parents[1] / "examples" / "telexpress" / "policy.toml")


def test_lists_every_category_and_cookie_declaration_of_the_policy(visitor: Visitor) -> None:
    r = visitor.get("/_consent/policy.json")
    assert r.status == 200
    assert r.header("content-type") == "application/json"
    assert r.header("cache-control") == "no-store"
    assert r.header("x-content-type-options") == "nosniff"
    data = r.json()
    assert data["revision"] == POLICY.fingerprint
    assert data["consent_cookie"] == "__Host-consent"
    assert data["categories"] == [{"id": c.id, "required": c.required, "gpc": c.gpc} for c in POLICY.categories]
    assert [(c["name"] or c["pattern"], c["category"]) for c in data["cookies"]] == [
        *((r.label, r.category) for r in POLICY.cookies),
        ("__Host-consent", "necessary"),  # the library's own, after the declarations (ccdid is declared)
    ]
    by_label = {c["name"] or c["pattern"]: c for c in data["cookies"]}
    assert by_label["session"] == {
        "name": "session",
        "pattern": None,
        "category": "necessary",
        "third_party": False,
        "path": "/",
        "domain": None,
    }
    assert by_label["_ga"]["category"] == "analytics"
    assert by_label["ccdid"]["category"] == "analytics"  # declared by its base name; set as __Host-ccdid


def test_is_the_same_whatever_the_visitor_decided(visitor: Visitor) -> None:
    before = visitor.get("/_consent/policy.json")
    visitor.decide("accept_all")
    after = visitor.get("/_consent/policy.json", headers={"sec-gpc": "1", "accept-language": "zh-TW"})
    assert after.body == before.body
    assert after.set_cookies == []  # read-only: it neither decides nor stores anything


def test_head_answers_headers_only_and_other_methods_get_405(client: AppClient) -> None:
    head = client.request("HEAD", "/_consent/policy.json")
    get = client.request("GET", "/_consent/policy.json")
    assert head.status == 200
    assert head.body == b""
    assert head.header("content-length") == str(len(get.body))
    post = client.request("POST", "/_consent/policy.json", [("content-type", "application/json")], b"{}")
    assert post.status == 405
    assert post.header("allow") == "GET, HEAD"
    assert post.json()["error"] == "method_not_allowed"


def test_patterns_a_custom_cookie_name_and_prefix_are_reported() -> None:
    data = small_policy_data()
    policy = parse_policy(data)
    config = ConsentConfig(policy=policy, secret_keys=[SECRET], secure=False, cookie_name="cc", prefix="/privacy-api")

    async def app(scope: object, receive: object, send: object) -> None:  # never reached
        raise AssertionError("the middleware answers its own endpoints")

    client = AppClient("fastapi", ConsentMiddleware(app, config=config))
    r = client.request("GET", "/privacy-api/policy.json")
    assert r.status == 200
    body = json.loads(r.body)
    assert body["consent_cookie"] == "cc"
    assert body["revision"] == policy.fingerprint
    assert {"name": None, "pattern": "_ga_*", "category": "analytics"}.items() <= next(
        c for c in body["cookies"] if c["pattern"] == "_ga_*"
    ).items()
    fbp = next(c for c in body["cookies"] if c["name"] == "_fbp")
    assert (fbp["domain"], fbp["path"]) == ("example.com", "/")
