"""The library's own cookies in every cookie table and in ``GET /_consent/policy.json``.

The consent cookie is listed always, as strictly necessary, for the configured ``max_age``; the
recorder's device identifier cookie only when a recorder is attached and the policy has a
``device_id`` data item, in that item's category, for the ``Max-Age`` it is set with. A name the
policy declares itself is listed once, as the policy words it. Everything is read through the real
middleware: ASGI around a Starlette app, WSGI around a Flask app.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest

from cookieconsent import ConsentConfig
from cookieconsent.asgi import ConsentMiddleware as ASGIMiddleware
from cookieconsent.cli.audit import Declarations
from cookieconsent.policy.model import parse_policy
from cookieconsent.records.recorder import Recorder
from cookieconsent.wsgi import ConsentMiddleware as WSGIMiddleware
from tests.harness import SECRET, AppClient, data_item, recording_config, small_policy_data

PAGE = "<!doctype html><html><head><title>t</title></head><body><p>Hello</p></body></html>"
CONSENT, DEVICE = "__Host-consent", "__Host-ccdid"
#: What the rows say, by language: the consent cookie's purpose and justification, the device
#: cookie's purpose (its category is "functional" below), and the lifetimes of 180 and 365 days.
TEXTS = {
    "en": {
        "provider": "Provider: Example Ltd.",
        "consent": "Stores your cookie choice: the categories you allowed or refused, when you chose, and a random "
        "consent ID. It is signed, so that it cannot be altered.",
        "why": "Why it is necessary: Without it, this site could not remember your choice and would ask again on "
        "every page.",
        "device": "A random identifier for this browser (not a hardware identifier) that links together the "
        "records this site keeps about its visits. Set only once you allow “Functional”.",
        "180": "180 days",
        "365": "365 days",
        "2h": "2 hours",
    },
    "zh-TW": {
        "provider": "提供者：範例股份有限公司",
        "consent": "儲存您的 Cookie 選擇：您允許或拒絕的類別、作出選擇的時間，以及一組隨機產生的同意識別碼。"
        "內容經過簽章，無法竄改。",
        "why": "必要理由：若無此 Cookie，本網站無法記住您的選擇，每個頁面都會再次詢問。",
        "device": "此瀏覽器的隨機識別碼（並非裝置的硬體識別碼），用以串連本網站就其造訪所保存的紀錄。"
        "僅於您允許「功能」後設定。",
        "180": "180 天",
        "365": "365 天",
        "2h": "2 小時",
    },
}
_ROW = re.compile(
    r'<tr><td><code>(?P<name>[^<]*)</code>(?P<who>.*?)</td><td data-l="[^"]*">(?P<purpose>.*?)</td>'
    r'<td data-l="[^"]*">(?P<lifetime>.*?)</td></tr>'
)
_TAG = re.compile(r"<[^>]+>")


def own_config(device_category: str | None = "functional", **options: Any) -> ConsentConfig:
    """The small policy, with a ``device_id`` data item in ``device_category`` (none: no item); ccdid undeclared."""
    data = small_policy_data()
    if device_category is not None:
        data["data_items"].append(data_item("device_id", device_category))
    return ConsentConfig(policy=parse_policy(data), secret_keys=[SECRET], **options)


def site(framework: str, config: ConsentConfig, recorder: Recorder | None) -> AppClient:
    """A one-page app behind the real middleware: Starlette under ASGI, or Flask under WSGI."""
    if framework == "fastapi":
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import HTMLResponse
        from starlette.routing import Route

        async def page(request: Request) -> HTMLResponse:
            return HTMLResponse(PAGE)

        starlette_app = Starlette(routes=[Route("/", page)])
        return AppClient("fastapi", ASGIMiddleware(starlette_app, config, recorder=recorder))
    from flask import Flask

    flask_app = Flask(__name__)
    flask_app.add_url_rule("/", "page", lambda: PAGE)
    flask_app.wsgi_app = WSGIMiddleware(flask_app.wsgi_app, config, recorder=recorder)  # type: ignore[method-assign]
    return AppClient("flask", flask_app)


@pytest.fixture(params=["fastapi", "flask"])
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["en", "zh-TW"])
def locale(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """A recorder that keeps nothing (no store) but sets the device cookie, as any recorder does."""
    rec = Recorder(own_config(), None)
    yield rec
    rec.close()


def table(markup: str, prefix: str, category: str) -> dict[str, dict[str, str]]:
    """The cookie table of one category in a list of toggles (``cc``: the dialog, ``ccp``: the page).

    Returns:
        Each row by cookie name: its provider and party line (``who``), purpose and lifetime, as text.
    """
    sections = [s for s in markup.split('<div class="cc-cat">')[1:] if f'for="{prefix}-{category}"' in s]
    assert len(sections) == 1, f"no single {prefix}-{category} section"
    section = sections[0].split("</table>", 1)[0]

    def text(fragment: str) -> str:
        return html.unescape(_TAG.sub(" ", fragment)).strip()

    return {
        m["name"]: {"who": text(m["who"]), "purpose": text(m["purpose"]), "lifetime": text(m["lifetime"])}
        for m in _ROW.finditer(section)
    }


def assert_own_rows(markup: str, prefix: str, locale: str, *, device: bool) -> None:
    """The consent cookie's row among the necessary ones, the device cookie's among the functional ones."""
    texts = TEXTS[locale]
    necessary = table(markup, prefix, "necessary")
    assert list(necessary) == ["session", CONSENT]  # the policy's declarations first, then the library's
    row = necessary[CONSENT]
    assert texts["provider"] in row["who"]
    assert row["purpose"] == f"{texts['consent']} {texts['why']}"
    assert row["lifetime"] == texts["180"]
    functional = table(markup, prefix, "functional")
    if device:
        assert list(functional) == ["lang", DEVICE]
        assert functional[DEVICE]["purpose"] == texts["device"]
        assert functional[DEVICE]["lifetime"] == texts["365"]
        assert texts["provider"] in functional[DEVICE]["who"]
    else:
        assert list(functional) == ["lang"]
        assert DEVICE not in markup
        assert "ccdid" not in markup


# -- the cookie tables -------------------------------------------------------------------------------


def test_the_banners_settings_dialog_lists_the_librarys_cookies(
    framework: str, locale: str, recorder: Recorder
) -> None:
    client = site(framework, recorder.engine.config, recorder)
    r = client.request("GET", "/", [("accept-language", locale)])
    assert r.status == 200
    assert 'class="cc-dialog"' in r.text  # undecided: the page carries the settings layer
    assert_own_rows(r.text, "cc", locale, device=True)


def test_the_dialog_endpoint_lists_the_librarys_cookies_to_a_visitor_who_decided(
    framework: str, locale: str, recorder: Recorder
) -> None:
    visitor = site(framework, recorder.engine.config, recorder).visitor()
    visitor.decide("reject_all", expect=200)
    r = visitor.get("/_consent/dialog", {"accept-language": locale})
    assert r.status == 200
    assert_own_rows(r.text, "cc", locale, device=True)


def test_the_preference_page_lists_the_librarys_cookies(framework: str, locale: str, recorder: Recorder) -> None:
    r = site(framework, recorder.engine.config, recorder).request(
        "GET", "/_consent/preferences", [("accept-language", locale)]
    )
    assert r.status == 200
    assert_own_rows(r.text, "ccp", locale, device=True)


def test_without_a_recorder_the_device_cookie_is_listed_nowhere(framework: str, locale: str) -> None:
    client = site(framework, own_config(), None)
    for path, prefix in (("/", "cc"), ("/_consent/preferences", "ccp")):
        r = client.request("GET", path, [("accept-language", locale)])
        assert r.status == 200
        assert_own_rows(r.text, prefix, locale, device=False)


def test_without_a_device_id_data_item_the_recorder_sets_no_device_cookie_and_none_is_listed(framework: str) -> None:
    rec = Recorder(own_config(device_category=None), None)
    try:
        visitor = site(framework, rec.engine.config, rec).visitor()
        decided = visitor.decide("accept_all", expect=200)
        assert visitor.get("/").status == 200
        assert DEVICE not in visitor.jar
        assert decided.set_cookie(DEVICE) is None
        assert_own_rows(visitor.get("/_consent/preferences").text, "ccp", "en", device=False)
        names = [c["name"] for c in visitor.get("/_consent/policy.json").json()["cookies"]]
        assert CONSENT in names
        assert DEVICE not in names
    finally:
        rec.close()


def test_the_listed_lifetimes_are_the_max_age_the_cookies_are_set_with(framework: str, locale: str) -> None:
    config = own_config(max_age=2 * 3600)  # not the default: the table follows the configuration
    rec = Recorder(config, None)
    try:
        visitor = site(framework, config, rec).visitor()
        decided = visitor.decide("accept_all", expect=200)
        consent, device = decided.set_cookie(CONSENT), decided.set_cookie(DEVICE)
        assert consent is not None
        assert "Max-Age=7200" in consent
        assert device is not None
        assert f"Max-Age={365 * 24 * 3600}" in device
        page = visitor.get("/_consent/preferences", {"accept-language": locale}).text
        assert table(page, "ccp", "necessary")[CONSENT]["lifetime"] == TEXTS[locale]["2h"]
        assert table(page, "ccp", "functional")[DEVICE]["lifetime"] == TEXTS[locale]["365"]
    finally:
        rec.close()


def test_a_device_cookie_in_a_necessary_data_item_is_listed_as_necessary_without_a_consent_condition() -> None:
    rec = Recorder(own_config(device_category="necessary"), None)
    try:
        page = site("fastapi", rec.engine.config, rec).request("GET", "/_consent/preferences").text
        necessary = table(page, "ccp", "necessary")
        assert list(necessary) == ["session", CONSENT, DEVICE]
        unconditional = TEXTS["en"]["device"].removesuffix(" Set only once you allow “Functional”.")
        assert necessary[DEVICE]["purpose"] == unconditional
        assert DEVICE not in table(page, "ccp", "functional")
    finally:
        rec.close()


def test_a_cookie_the_policy_declares_itself_is_listed_once_as_the_policy_words_it(framework: str) -> None:
    config = recording_config()  # declares ccdid (which covers __Host-ccdid) in "functional"
    rec = Recorder(config, None)
    try:
        client = site(framework, config, rec)
        functional = table(client.request("GET", "/_consent/preferences").text, "ccp", "functional")
        assert list(functional) == ["lang", "ccdid"]
        assert functional["ccdid"]["purpose"] == "Device id"
        cookies = client.request("GET", "/_consent/policy.json").json()["cookies"]
        assert [c["name"] for c in cookies].count(CONSENT) == 1
        assert not any(c["name"] == DEVICE for c in cookies)
        assert [c["category"] for c in cookies if c["name"] == "ccdid"] == ["functional"]
    finally:
        rec.close()


# -- GET /_consent/policy.json ----------------------------------------------------------------------


def own_entry(name: str, category: str) -> dict[str, Any]:
    return {"name": name, "pattern": None, "category": category, "third_party": False, "path": "/", "domain": None}


def test_policy_json_lists_both_own_cookies_with_their_categories_when_a_recorder_is_attached(
    framework: str, recorder: Recorder
) -> None:
    client = site(framework, recorder.engine.config, recorder)
    body = client.request("GET", "/_consent/policy.json").json()
    policy = recorder.policy
    assert [c["name"] or c["pattern"] for c in body["cookies"]] == [
        *(rule.label for rule in policy.cookies),
        CONSENT,
        DEVICE,
    ]
    assert body["cookies"][-2:] == [own_entry(CONSENT, "necessary"), own_entry(DEVICE, "functional")]
    # The audit reads them: the consent cookie stays "the consent cookie", the device cookie has its category.
    declared = Declarations.from_json(body, "https://testserver/_consent/policy.json")
    assert declared.describe(CONSENT) == "consent cookie"
    assert declared.category_of(DEVICE) == "functional"
    assert declared.cookie_problem(DEVICE) == "declared functional, which needs consent"


def test_policy_json_lists_only_the_consent_cookie_without_a_recorder(framework: str) -> None:
    body = site(framework, own_config(), None).request("GET", "/_consent/policy.json").json()
    assert body["cookies"][-1] == own_entry(CONSENT, "necessary")
    assert not any(c["name"] == DEVICE for c in body["cookies"])


def test_policy_json_gives_the_consent_cookie_its_configured_name_and_domain() -> None:
    config = own_config(secure=False, domain="example.com")
    rec = Recorder(config, None)
    try:
        body = site("fastapi", config, rec).request("GET", "/_consent/policy.json").json()
        assert body["cookies"][-2:] == [
            {**own_entry("consent", "necessary"), "domain": "example.com"},
            own_entry("ccdid", "functional"),  # plain HTTP: no __Host- prefix, and never a Domain
        ]
    finally:
        rec.close()


def test_withdrawing_expires_the_device_cookie_the_policy_does_not_declare(framework: str, recorder: Recorder) -> None:
    visitor = site(framework, own_config(), recorder).visitor()
    origin = {"origin": "https://testserver"}
    visitor.post("/_consent", {"action": "accept_all"}, headers=origin)
    visitor.get("/")
    assert DEVICE in visitor.jar  # set once "functional" (its data item's category) was granted
    refused = visitor.post("/_consent", {"action": "reject_all"}, headers=origin)
    expiry = refused.set_cookie(DEVICE)
    assert expiry is not None, refused.headers
    assert "Max-Age=0" in expiry
    assert DEVICE not in visitor.jar
