"""Pages as the visitor receives them, from both demo apps: inert trackers, Consent Mode, the banner,
the preference page, the static assets and the beacon endpoint (R5, R7, R11, R14, R17, R43-R47, R50).
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Iterator
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from cookieconsent import ConsentConfig, ConsentState
from cookieconsent.asgi import ConsentMiddleware
from cookieconsent.blocking.rewriter import Encoded, HTMLRewriter
from cookieconsent.blocking.trackers import Catalog
from cookieconsent.core.engine import Engine
from cookieconsent.policy import pdpa
from cookieconsent.policy.model import load_policy
from cookieconsent.testing import FakeRequest
from cookieconsent.ui.render import Renderer
from cookieconsent.web.endpoints import Event
from tests.harness import AppClient, Visitor, run_asgi

POLICY = load_policy(Path(__file__).parents[1] / "examples" / "telexpress" / "policy.toml")
CATALOG = Catalog()
ALL = ("functional", "analytics", "marketing")


class Page(HTMLParser):
    """The elements of a page that matter here."""

    CDATA_CONTENT_ELEMENTS = ("script", "style", "textarea", "title")  # type: ignore[misc]  # as browsers do

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._script: dict[str, str | None] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag == "script":
            self._script = dict(attrs)

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self.scripts.append((self._script, data))
            self._script = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, ""))
            self._script = None

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a for t, a in self.elements if t == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def active_trackers(self) -> set[str]:
        """The categories of tracker elements a browser would fetch or run."""
        found = set()
        for tag, attrs in self.elements:
            if tag == "script" and (attrs.get("type") or "text/javascript") not in ("text/javascript", "module"):
                continue
            for key in ("src", "href", "data"):
                category = CATALOG.category_of_url(attrs.get(key) or "")
                if category:
                    found.add(category)
        for attrs, source in self.scripts:
            if (attrs.get("type") or "text/javascript") == "text/javascript" and not attrs.get("src"):
                category = CATALOG.category_of_script(source)
                if category:
                    found.add(category)
        return found


def toggles(page: Page) -> dict[str, dict[str, str | None]]:
    """The banner's category toggles, by category (the first set: the settings layer's)."""
    found: dict[str, dict[str, str | None]] = {}
    for tag, attrs in page.elements:
        if tag == "input" and attrs.get("type") == "checkbox":
            category = (attrs.get("id") or "").rsplit("-", 1)[-1]
            if category in POLICY.category_ids:
                found.setdefault(category, attrs)
    return found


def home(visitor: Visitor, **headers: str) -> tuple[Any, Page]:
    r = visitor.get("/", headers={"accept-language": "en", **headers})
    assert r.status == 200
    return r, Page(r.text)


# -- R5: trackers are inert until their category is granted ----------------------------------------


def test_nothing_tracks_before_a_decision(visitor: Visitor) -> None:
    _, page = home(visitor)
    assert page.active_trackers() == set()
    blocked = page.find("iframe", data_cc="blocked")
    assert len(blocked) == 1
    assert blocked[0]["data-src"], "the YouTube embed keeps its address for later"
    assert page.find("div", **{"class": "cc-placeholder"}), "the embed has a contextual-consent placeholder"
    prefs = page.find("script", data_category="functional")
    assert prefs
    assert prefs[0]["type"] == "text/plain"


@pytest.mark.parametrize(
    "granted",
    [pytest.param(set(ALL), id="all"), pytest.param({"analytics"}, id="analytics"), pytest.param(set(), id="none")],
)
def test_exactly_the_granted_trackers_are_active(visitor: Visitor, granted: set[str]) -> None:
    visitor.decide("custom", sorted(granted))
    _, page = home(visitor)
    assert page.active_trackers() == granted - {"functional"}  # the demo's functional script is first-party
    assert bool(page.find("script", src="/static/prefs.js")) == ("functional" in granted)


def test_gpc_keeps_marketing_inert_after_accept_all(visitor: Visitor) -> None:
    visitor.decide("accept_all", headers={"sec-gpc": "1"})
    _, page = home(visitor, **{"sec-gpc": "1"})
    assert page.active_trackers() == {"analytics"}


# -- R43-R47: Google Consent Mode v2 ---------------------------------------------------------------


def consent_commands(page: Page) -> list[tuple[str, dict[str, Any]]]:
    first = next(s for a, s in page.scripts if not a.get("type") and not a.get("src") and "gtag" in s)
    return [(m.group(1), json.loads(m.group(2))) for m in re.finditer(r"gtag\('consent','(\w+)',(\{[^}]*\})\)", first)]


def test_consent_mode_bootstrap_is_the_first_script_and_denies_by_default(visitor: Visitor) -> None:
    r, page = home(visitor)
    head = r.text[: r.text.index("</head>")]
    assert head.index("<script") == head.index("<script>window.dataLayer")  # first script in <head> (R43)
    commands = consent_commands(page)
    assert commands == [
        (
            "default",
            {
                "ad_storage": "denied",
                "ad_user_data": "denied",
                "ad_personalization": "denied",
                "analytics_storage": "denied",
                "functionality_storage": "denied",
                "personalization_storage": "denied",
                "security_storage": "granted",
                "wait_for_update": 500,
            },
        )
    ]
    assert "gtag('set','ads_data_redaction',true)" in r.text  # R47
    assert "url_passthrough" not in r.text


def test_consent_mode_update_follows_the_decision(visitor: Visitor) -> None:
    visitor.decide("custom", ["analytics", "functional"])
    _, page = home(visitor)
    kind, update = consent_commands(page)[1]
    assert kind == "update"  # right after the default (R44)
    assert update == {
        "ad_storage": "denied",
        "ad_user_data": "denied",
        "ad_personalization": "denied",
        "analytics_storage": "granted",
        "functionality_storage": "granted",
        "personalization_storage": "granted",
        "security_storage": "granted",
    }


def test_consent_mode_denies_ads_under_gpc(visitor: Visitor) -> None:
    visitor.decide("accept_all")
    _, page = home(visitor, **{"sec-gpc": "1"})
    default, update = consent_commands(page)
    assert default[1]["ad_storage"] == "denied"
    assert {update[1][k] for k in ("ad_storage", "ad_user_data", "ad_personalization")} == {"denied"}  # R45
    assert update[1]["analytics_storage"] == "granted"


# -- the banner ------------------------------------------------------------------------------------


def test_banner_first_layer_for_an_undecided_visitor(visitor: Visitor) -> None:
    r, page = home(visitor)
    body = r.text[r.text.index("<body") :]
    assert body[body.index(">") + 1 :].lstrip().startswith('<div id="cookieconsent"')  # right after <body>
    root = page.find("div", id="cookieconsent")[0]
    assert root["lang"] == "en"
    accept = page.find("button", name="action", value="accept_all")
    reject = page.find("button", name="action", value="reject_all")
    assert len(accept) == len(reject) >= 1
    assert accept[0]["class"] == reject[0]["class"]  # the same control, the same look (R11)
    forms = [a for t, a in page.elements if t == "form" and a.get("action") == "/_consent"]
    assert forms
    assert all((f.get("method") or "").lower() == "post" for f in forms)  # works without JavaScript (R20)
    assert POLICY.controller.name.get("en") in r.text  # R14
    assert POLICY.privacy_policy_url in [a.get("href") for t, a in page.elements if t == "a"]
    boxes = toggles(page)
    assert set(boxes) == set(POLICY.category_ids)
    for category, box in boxes.items():  # R7: all off but necessary, which is on and disabled
        assert ("checked" in box) == (category == "necessary")
        assert ("disabled" in box) == (category == "necessary")


def test_cookie_table_comes_from_the_policy(visitor: Visitor) -> None:
    r, _ = home(visitor)
    for rule in POLICY.cookies:
        assert rule.label in r.text  # R14, R33
        assert str(escape(rule.purpose.get("en"))) in r.text


def test_decided_visitor_gets_no_first_layer_but_the_settings_button(visitor: Visitor) -> None:
    visitor.decide("custom", ["functional"])
    _, page = home(visitor)
    assert not page.find("div", role="region")  # no first layer (R19)
    settings = [a for t, a in page.elements if t == "a" and "data-cc-open" in a]
    assert [a.get("href") for a in settings] == ["/_consent/preferences?next=/"]  # R17, without JavaScript too
    # The settings dialog is not in the page: the script fetches it when the button is used.
    assert not page.find("div", role="dialog")
    assert toggles(page) == {}
    fragment = visitor.get("/_consent/dialog?next=/", headers={"accept-language": "en"})
    assert fragment.status == 200
    assert fragment.header("content-type") == "text/html; charset=utf-8"
    dialog = Page(fragment.text)
    assert len(dialog.find("div", role="dialog")) == 1
    boxes = {category: "checked" in box for category, box in toggles(dialog).items()}
    assert boxes == {"necessary": True, "functional": True, "analytics": False, "marketing": False}  # stored state


def test_first_layer_comes_with_its_settings_dialog(visitor: Visitor) -> None:
    _, page = home(visitor)
    assert len(page.find("div", role="region")) == 1
    assert len(page.find("div", role="dialog")) == 1  # "Settings" opens at once, without a fetch
    boxes = {category: "checked" in box for category, box in toggles(page).items()}
    assert boxes == {"necessary": True, "functional": False, "analytics": False, "marketing": False}  # R16


def test_dialog_fragment_is_private_and_returns_to_a_local_path(visitor: Visitor) -> None:
    visitor.decide("accept_all", [])
    r = visitor.get("/_consent/dialog?next=https://evil.example/x", headers={"accept-language": "zh-TW"})
    assert r.status == 200
    assert r.header("cache-control") == "no-store"
    assert "cookie" in (r.header("vary") or "").lower()
    dialog = Page(r.text)
    assert {a["value"] for t, a in dialog.elements if t == "input" and a.get("name") == "next"} == {"/"}
    assert "Cookie 設定" in r.text  # the visitor's language
    assert visitor.post("/_consent/dialog", form=[]).status == 405


def test_banner_language_follows_accept_language(visitor: Visitor) -> None:
    r = visitor.get("/", headers={"accept-language": "zh-TW,zh;q=0.9"})
    page = Page(r.text)
    assert page.find("div", id="cookieconsent")[0]["lang"] == "zh-TW"
    assert "全部接受" in r.text and "全部拒絕" in r.text  # noqa: PT018 - one wording requirement (R11)


def test_gpc_status_is_shown(visitor: Visitor) -> None:
    r = visitor.get("/", headers={"accept-language": "en", "sec-gpc": "1"})
    assert "Opt-out preference signal honored" in r.text  # R40
    r = visitor.get("/", headers={"accept-language": "zh-TW", "sec-gpc": "1"})
    assert "已依您的全球隱私控制（GPC）訊號停止出售／分享個人資料" in r.text


def test_rewritten_page_headers(visitor: Visitor) -> None:
    r, _ = home(visitor)
    assert r.header("content-length") == str(len(r.body))  # the page is sent whole: its new length is known
    vary = {v.strip().lower() for v in (r.header("vary") or "").split(",")}
    assert {"cookie", "sec-gpc", "accept-language"} <= vary
    assert "private" in (r.header("cache-control") or "")
    state = next(s for a, s in Page(r.text).scripts if a.get("id") == "cookieconsent-state")
    assert "consent_id" not in json.loads(state)  # a page never carries the visitor's id


# -- the preference page (R50) ---------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["zh-TW", "en"])
def test_preference_page_shows_the_full_notice(client: AppClient, locale: str) -> None:
    r = client.request("GET", "/_consent/preferences?next=/articles/x", [("accept-language", locale)])
    assert r.status == 200
    assert r.header("cache-control") == "no-store"
    text = r.text
    assert f'lang="{locale}"' in text
    notice = POLICY.notice
    assert notice is not None
    for code in notice.purposes:
        assert code in text
        assert pdpa.purpose_name(code, locale) in text
    for code in notice.data_categories:
        assert code in text
        assert pdpa.data_category_name(code, locale) in text
    for field in (notice.period, notice.region, notice.methods, notice.how_to_exercise, notice.consequences):
        assert field.get(locale).split("\n")[0].strip()[:30] in text
    assert POLICY.controller.name.get(locale) in text
    assert 'name="next" value="/articles/x"' in text
    page = Page(text)
    assert len(page.find("h1")) == 1
    assert not page.find("form", action="/_consent/withdraw")  # nothing to withdraw yet


def test_preference_page_offers_withdrawal_once_decided(visitor: Visitor) -> None:
    visitor.decide("accept_all")
    page = Page(visitor.get("/_consent/preferences").text)
    assert page.find("form", action="/_consent/withdraw")
    boxes = {category: "checked" in box for category, box in toggles(page).items()}
    assert boxes == dict.fromkeys(POLICY.category_ids, True)  # the stored state, not defaults (R17)


# -- static assets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "kind"), [("cookieconsent.js", "text/javascript"), ("cookieconsent.css", "text/css")])
def test_static_assets_are_cacheable_and_versioned(client: AppClient, name: str, kind: str) -> None:
    r = client.request("GET", f"/_consent/static/{name}")
    assert r.status == 200
    assert (r.header("content-type") or "").startswith(kind)
    assert "immutable" in (r.header("cache-control") or "")
    etag = r.header("etag")
    assert etag
    again = client.request("GET", f"/_consent/static/{name}", [("if-none-match", etag)])
    assert again.status == 304
    assert again.body == b""


@pytest.mark.parametrize("path", ["/_consent/static/../config.py", "/_consent/static/missing.js", "/_consent/static/"])
def test_static_refuses_other_files(client: AppClient, path: str) -> None:
    assert client.request("GET", path).status == 404


def test_assets_are_small() -> None:
    static = Path(__file__).parents[1] / "src" / "cookieconsent" / "ui" / "static"
    size = len(
        gzip.compress(
            (static / "cookieconsent.js").read_bytes() + (static / "cookieconsent.css").read_bytes(), compresslevel=9
        )
    )
    assert size <= 6 * 1024, f"{size} bytes gzipped; the budget is 6 KiB"


# -- the beacon endpoint ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", b'{"type": "page_view", "path": "/a", "ts": 1}', 204),
        ("text/plain;charset=UTF-8", b'{"type": "click", "path": "/a", "target": "a#x"}', 204),
        ("application/json", b'{"type": "purchase", "path": "/a"}', 400),
        ("application/json", b'{"type": "click", "path": "http://x/"}', 400),
        ("application/json", b'{"type": "click", "path": "/", "target": "' + b"x" * 300 + b'"}', 400),
        ("application/json", b"[]", 400),
        ("application/xml", b"<x/>", 415),
        ("application/json", b'{"type": "click", "path": "/' + b"x" * 5000 + b'"}', 413),
    ],
)
def test_events_are_validated(client: AppClient, content_type: str, body: bytes, status: int) -> None:
    r = client.request("POST", "/_consent/events", [("content-type", content_type)], body)
    assert r.status == status
    assert r.set_cookies == []


def test_events_reach_hooks_only_when_their_category_is_granted(config: ConsentConfig) -> None:
    middleware = ConsentMiddleware(Starlette(), config)
    seen: list[tuple[bool, Event]] = []
    middleware.endpoints.event_hooks.append(lambda request, state, event: seen.append((state.decided, event)))
    client = TestClient(middleware, base_url="https://testserver")
    event = {"type": "page_view", "path": "/x"}
    assert client.post("/_consent/events", json=event).status_code == 204
    client.post("/_consent", json={"action": "custom", "categories": ["functional"]})
    assert client.post("/_consent/events", json=event).status_code == 204
    assert seen == []
    client.post("/_consent", json={"action": "custom", "categories": ["analytics"]})
    assert client.post("/_consent/events", json=event).status_code == 204
    assert [e.path for _, e in seen] == ["/x"]
    assert client.post("/_consent/events", json=event, headers={"origin": "https://evil.example"}).status_code == 403


# -- CSP nonces and compressed responses -----------------------------------------------------------


def page_app(config: ConsentConfig, *, csp: str | None = None) -> ConsentMiddleware:
    async def index(request: Request) -> HTMLResponse:
        headers = {"content-security-policy": csp} if csp else {}
        html = "<!doctype html><html><head><title>t</title></head><body><p>" + "x" * 600 + "</p></body></html>"
        return HTMLResponse(html, headers=headers)

    return ConsentMiddleware(Starlette(routes=[Route("/", index)]), config)


@pytest.mark.parametrize(
    ("csp", "script_nonce", "style_nonce"),
    [
        ("default-src 'self'; script-src 'self' 'nonce-r4nd0m'", "r4nd0m", None),
        ("default-src 'nonce-b0th'", "b0th", "b0th"),
        ("script-src 'nonce-scr1pt'; style-src 'self' 'nonce-sty1e'", "scr1pt", "sty1e"),
    ],
    ids=["script-only", "default-src", "each-its-own"],
)
def test_injected_tags_carry_the_pages_nonce(
    config: ConsentConfig, csp: str, script_nonce: str, style_nonce: str | None
) -> None:
    """Each injected script carries the page's script nonce, the stylesheet its style nonce."""
    client = TestClient(page_app(config, csp=csp), base_url="https://testserver")
    text = client.get("/").text
    injected = text[text.index("<head>") + 6 : text.index("<title>")]
    scripts = re.findall(r"<script\b[^>]*>", injected)
    (link,) = re.findall(r"<link\b[^>]*>", injected)
    assert len(scripts) == 3
    assert all(f' nonce="{script_nonce}"' in tag for tag in scripts)
    if style_nonce:
        assert f' nonce="{style_nonce}"' in link
    else:
        assert "nonce" not in link  # styles are not governed by a nonce there
    assert " on" not in text.split("<body>", 1)[1].split("</div>", 1)[0].replace(" on ", "")  # no inline handlers


def test_compressed_html_passes_through_with_one_warning(
    config: ConsentConfig, caplog: pytest.LogCaptureFixture
) -> None:
    # GZip applied before the consent middleware sees the response: the wrong order, detected.
    client = TestClient(
        ConsentMiddleware(GZipMiddleware(page_app(config), minimum_size=10), config), base_url="https://testserver"
    )
    with caplog.at_level(logging.WARNING, logger="cookieconsent"):
        for _ in range(2):
            r = client.get("/", headers={"accept-encoding": "gzip"})
            assert r.status_code == 200
    assert "cookieconsent" in r.text  # the inner middleware rewrote it; the outer one left the gzip alone
    assert sum("compressed" in rec.getMessage() for rec in caplog.records) == 1


def test_state_object_is_what_the_page_reflects(config: ConsentConfig) -> None:
    seen: list[ConsentState] = []

    async def index(request: Request) -> HTMLResponse:
        seen.append(request.state.consent)
        return HTMLResponse("<html><head></head><body></body></html>")

    client = TestClient(ConsentMiddleware(Starlette(routes=[Route("/", index)]), config), base_url="https://testserver")
    text = client.get("/").text
    assert seen[0].decided is False
    assert '"decided":false' in text


@pytest.mark.parametrize("charset", ["utf-8", "big5", "ascii"])
def test_banner_kept_encoded_is_the_banner_encoded(config: ConsentConfig, charset: str) -> None:
    # The middleware takes the banner already encoded in the page's charset, from pieces encoded once and
    # a return path filled in once per path: it must be the very markup the text banner gives, encoded.
    renderer = Renderer(Engine(config))
    state = Engine(config).decide(FakeRequest(headers={"accept-language": "zh-TW"}))
    paths = ["/", '/新聞?q=<a&b="1">', "/x" * 300]  # text, markup characters beyond ASCII, a path too long to keep
    for _ in range(2):  # the second round reads what the first one kept
        for path in paths:
            encoded = renderer.banner(state, path, charset)
            assert isinstance(encoded, Encoded)
            assert encoded == renderer.banner(state, path).encode(charset, "xmlcharrefreplace").decode("latin-1")
    assert all(len(path) <= 256 for path, _ in renderer._fills)


def test_page_with_its_charset_only_in_a_meta_reads_right(config: ConsentConfig) -> None:
    """A Big5 page whose header names no charset: the injections read right whatever the meta says.

    The head markup goes after the page's <meta charset>, which stays in the first 1024 bytes where
    browsers look for it, and all the injected markup is ASCII, with character references for the
    rest (and \\u escapes in scripts, where references are not decoded).
    """
    page = "<!doctype html><html><head><meta charset=big5><title>網訊電信</title></head><body><p>你好</p></body></html>"

    async def index(request: Request) -> Response:
        return Response(page.encode("big5"), headers={"content-type": "text/html"})  # no charset in the header

    app = ConsentMiddleware(Starlette(routes=[Route("/", index)]), config)
    response = TestClient(app, base_url="https://testserver").get("/", headers={"accept-language": "zh-TW"})
    assert response.headers["content-type"] == "text/html"
    body = response.content
    assert body.index(b"<meta charset=big5>") == body.index(b"<head>") + len(b"<head>")
    assert body.index(b"<meta charset=big5>") < 1024
    assert "網訊電信".encode("big5") in body  # the page's own text, untouched
    assert "你好".encode("big5") in body
    injected = body.replace("<title>網訊電信</title>".encode("big5"), b"").replace("<p>你好</p>".encode("big5"), b"")
    assert injected.isascii()
    text = Page(body.decode("big5"))
    banner_text = unescape(body.decode("ascii", "replace"))
    assert "接受" in banner_text  # the zh-TW banner, from its character references
    state = json.loads(next(content for attrs, content in text.scripts if attrs.get("id") == "cookieconsent-state"))
    assert state["locale"] == "zh-TW"


# -- whole pages rewritten once (Pages.rewrite_whole) ---------------------------------------------

TRACKED = (
    "<!doctype html><html><head><title>t</title></head><body>"
    '<iframe src="https://www.youtube.com/embed/x"></iframe><p>{text}</p></body></html>'
)


@pytest.fixture
def rewrites(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many pages were rewritten to their end (``[count]``), by any rewriter, during the test."""
    runs = [0]
    closing = HTMLRewriter.close

    def counted(self: HTMLRewriter) -> bytes:
        runs[0] += 1
        return closing(self)

    monkeypatch.setattr(HTMLRewriter, "close", counted)
    return runs


@pytest.fixture
def memo(config: ConsentConfig, rewrites: list[int]) -> tuple[ConsentMiddleware, list[int]]:
    """An app serving TRACKED (whole, or streamed in two parts), and how many pages were rewritten."""
    from starlette.responses import StreamingResponse

    async def whole(request: Request) -> HTMLResponse:
        return HTMLResponse(TRACKED.format(text=request.query_params.get("text", "same")))

    async def parts(request: Request) -> StreamingResponse:
        page = TRACKED.format(text="same")

        async def body() -> Any:
            yield page[:40]
            yield page[40:]

        return StreamingResponse(body(), media_type="text/html")

    async def fragment(request: Request) -> HTMLResponse:
        return HTMLResponse('<div><iframe src="https://www.youtube.com/embed/x"></iframe></div>')

    async def marked(request: Request) -> HTMLResponse:  # one address, pages of one length: only a byte differs
        return HTMLResponse(TRACKED.format(text=f"{'a' * 100}{request.headers['x-mark'][:1]}{'b' * 300}"))

    routes = [Route("/", whole), Route("/parts", parts), Route("/fragment", fragment), Route("/marked", marked)]
    return ConsentMiddleware(Starlette(routes=routes), config), rewrites


def test_a_page_served_alike_is_rewritten_once_per_plan(memo: tuple[ConsentMiddleware, list[int]]) -> None:
    app, runs = memo
    client = TestClient(app, base_url="https://testserver")
    first = client.get("/", headers={"accept-language": "en"}).content
    again = client.get("/", headers={"accept-language": "en"}).content
    assert runs == [1]
    assert again == first  # the very same page, element ids included
    assert b'data-src="https://www.youtube.com/embed/x"' in first  # inert, as rewritten the first time
    chinese = client.get("/", headers={"accept-language": "zh-TW"}).content
    assert runs == [2]  # another language: another plan
    assert chinese != first
    other = client.get("/?text=changed", headers={"accept-language": "en"}).content
    assert runs == [3]  # another page
    assert b"<p>changed</p>" in other
    client.post("/_consent", json={"action": "accept_all"})
    granted = client.get("/", headers={"accept-language": "en"}).content
    assert runs == [4]  # another decision: another plan, and the iframe is active
    assert b'<iframe src="https://www.youtube.com/embed/x">' in granted


def test_streamed_pages_and_fragments_are_rewritten_each_time(memo: tuple[ConsentMiddleware, list[int]]) -> None:
    app, runs = memo
    client = TestClient(app, base_url="https://testserver")
    streamed = [client.get("/parts").content for _ in range(2)]
    assert runs == [2]
    whole = client.get("/").content

    def ids(page: bytes) -> bytes:  # and the banner's return path
        return re.sub(rb'data-cc-(id|for)="[^"]*"', b"", page).replace(b"/parts", b"/")

    assert ids(streamed[0]) == ids(whole)  # the same output but for the ids
    fragments = [client.get("/fragment").content for _ in range(2)]
    assert runs == [5]
    assert fragments[0] != fragments[1]  # new ids each time: a fragment lands among others


def test_pages_alike_but_for_a_few_bytes_each_get_their_own(memo: tuple[ConsentMiddleware, list[int]]) -> None:
    """Pages are looked up by a sample of their bytes: a page the sample cannot tell apart is still not reused."""
    app, runs = memo
    client = TestClient(app, base_url="https://testserver")
    one = client.get("/marked", headers={"x-mark": "1"}).content
    two = client.get("/marked", headers={"x-mark": "2"}).content
    assert b"<p>" + b"a" * 100 + b"1" in one
    assert b"<p>" + b"a" * 100 + b"2" in two
    assert runs == [2]
    assert client.get("/marked", headers={"x-mark": "2"}).content == two
    assert runs == [2]  # the one kept last is reused


def test_kept_pages_stay_within_their_bound(
    memo: tuple[ConsentMiddleware, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cookieconsent.core import pages

    app, runs = memo
    client = TestClient(app, base_url="https://testserver")
    client.get("/?text=0", headers={"accept-language": "en"})
    bound = int(3.5 * app.pages._rewritten_size)  # room for three pages and their outputs
    monkeypatch.setattr(pages, "MEMO_TOTAL", bound)
    for i in range(1, 10):
        client.get(f"/?text={i}", headers={"accept-language": "en"})
    kept = app.pages._rewritten
    assert len(kept) == 3
    assert app.pages._rewritten_size == sum(len(page) + len(out) for page, out in kept.values()) <= bound
    client.get("/?text=9", headers={"accept-language": "en"})
    assert runs == [10]  # the newest is still there
    client.get("/?text=0", headers={"accept-language": "en"})
    assert runs == [11]  # the oldest went


def test_wsgi_pages_given_whole_are_rewritten_once(config: ConsentConfig, rewrites: list[int]) -> None:
    from werkzeug.test import Client

    from cookieconsent.wsgi import ConsentMiddleware as WSGIMiddleware

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [TRACKED.format(text="same").encode()]

    client = Client(WSGIMiddleware(app, config))
    pages = [client.get("/", base_url="https://localhost").get_data() for _ in range(2)]
    assert rewrites == [1]
    assert pages[0] == pages[1]
    assert b'data-src="https://www.youtube.com/embed/x"' in pages[0]


@pytest.mark.parametrize("declared", ["exact", "short"], ids=["as-declared", "longer-than-declared"])
def test_flask_pages_of_known_length_are_rewritten_once(
    config: ConsentConfig, rewrites: list[int], declared: str
) -> None:
    """A WSGI page whose Content-Length is given is read whole (Flask's are), unless it runs longer."""
    from werkzeug.test import Client

    from cookieconsent.wsgi import ConsentMiddleware as WSGIMiddleware

    page = TRACKED.format(text="same").encode()
    length = len(page) if declared == "exact" else 50  # the second chunk comes past the length given

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(length))])
        return iter([page[:50], page[50:]])  # two chunks, and no length to ask the iterable for

    client = Client(WSGIMiddleware(app, config))
    pages = [client.get("/", base_url="https://localhost").get_data() for _ in range(2)]
    assert rewrites == ([1] if declared == "exact" else [2])
    for out in pages:
        assert b'data-src="https://www.youtube.com/embed/x"' in out
        assert out.endswith(b"<p>same</p></body></html>")


def test_a_page_sent_as_a_bytearray_is_rewritten(config: ConsentConfig) -> None:
    """ASGI asks for bytes, but an app may send a bytearray: rewritten (and kept) all the same."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        page = bytearray(TRACKED.format(text="same").encode())
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": page})

    client = TestClient(ConsentMiddleware(app, config), base_url="https://testserver")
    for _ in range(2):
        response = client.get("/")
        assert response.status_code == 200
        assert b'data-src="https://www.youtube.com/embed/x"' in response.content


def test_a_page_partly_written_is_never_kept(config: ConsentConfig, rewrites: list[int]) -> None:
    """A page begun with write() and ended by the returned [tail]: the tail alone is not a page to keep.

    (Kept, it would be handed as a whole page to a later response of the same plan.)
    """
    from werkzeug.test import Client

    from cookieconsent.wsgi import ConsentMiddleware as WSGIMiddleware

    page = TRACKED.format(text="same").encode()
    tail = b"</p></body></html>"

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        write(page[: -len(tail)])
        return [tail]

    middleware = WSGIMiddleware(app, config)
    client = Client(middleware)
    for _ in range(2):
        out = client.get("/", base_url="https://localhost").get_data()
        assert b'data-src="https://www.youtube.com/embed/x"' in out
        assert out.endswith(tail)
    assert rewrites == [2]
    assert middleware.pages._rewritten == {}


# -- the length of a rewritten page ------------------------------------------------------------------


def asgi_page(config: ConsentConfig, parts: list[bytes], start: dict[str, Any] | None = None) -> TestClient:
    """A raw ASGI app sending TRACKED in ``parts`` (with a Content-Length for the page as written)."""
    page = b"".join(parts)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", b"%d" % len(page))]
        await send({"type": "http.response.start", "status": 200, "headers": headers, **(start or {})})
        for i, part in enumerate(parts):
            await send({"type": "http.response.body", "body": part, "more_body": i < len(parts) - 1})

    return TestClient(ConsentMiddleware(app, config), base_url="https://testserver")


def test_asgi_page_sent_whole_keeps_a_content_length(config: ConsentConfig) -> None:
    page = TRACKED.format(text="same").encode()
    response = asgi_page(config, [page]).get("/")
    assert b'data-src="https://www.youtube.com/embed/x"' in response.content  # rewritten: longer than the app's
    assert response.headers["content-length"] == str(len(response.content))
    assert response.headers.get("transfer-encoding") is None


def test_asgi_page_streamed_has_no_content_length(config: ConsentConfig) -> None:
    page = TRACKED.format(text="same").encode()
    response = asgi_page(config, [page[:60], page[60:]]).get("/")
    assert b'data-src="https://www.youtube.com/embed/x"' in response.content
    assert "content-length" not in response.headers  # the server sends it chunked


def test_asgi_page_with_trailers_gets_no_content_length(config: ConsentConfig) -> None:
    """A response that announces trailers is sent chunked: a length would contradict it."""
    page = TRACKED.format(text="same").encode()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        start = {"type": "http.response.start", "status": 200, "trailers": True}
        await send({**start, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": page})
        await send({"type": "http.response.trailers", "headers": [(b"x-done", b"1")], "more_trailers": False})

    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": [], "state": {}}
    sent = run_asgi(ConsentMiddleware(app, config), scope).messages
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body", "http.response.trailers"]
    assert all(name != b"content-length" for name, _ in sent[0]["headers"])
    assert b'data-src="https://www.youtube.com/embed/x"' in sent[1]["body"]


def test_asgi_page_failing_before_its_body_is_a_500(config: ConsentConfig) -> None:
    """The start of a page is held until its body: an app that fails in between never sent half a response."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        raise RuntimeError("the template failed")

    client = TestClient(ConsentMiddleware(app, config), base_url="https://testserver", raise_server_exceptions=False)
    assert client.get("/").status_code == 500


def wsgi_client(config: ConsentConfig, app: Any) -> Any:
    from werkzeug.test import Client

    from cookieconsent.wsgi import ConsentMiddleware as WSGIMiddleware

    return Client(WSGIMiddleware(app, config))


@pytest.mark.parametrize("declared", [True, False], ids=["with-content-length", "without"])
def test_wsgi_page_read_whole_keeps_a_content_length(config: ConsentConfig, declared: bool) -> None:
    page = TRACKED.format(text="same").encode()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        headers = [("Content-Type", "text/html; charset=utf-8")]
        if declared:  # read whole by its length (as Flask's come); else a [page] list
            start_response("200 OK", [*headers, ("Content-Length", str(len(page)))])
            return iter([page[:50], page[50:]])
        start_response("200 OK", headers)
        return [page]

    response = wsgi_client(config, app).get("/", base_url="https://localhost")
    body = response.get_data()
    assert b'data-src="https://www.youtube.com/embed/x"' in body
    assert response.headers["Content-Length"] == str(len(body))


def test_wsgi_page_streamed_or_written_has_no_content_length(config: ConsentConfig) -> None:
    page = TRACKED.format(text="same").encode()

    def streamed(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])  # called on the first step
        yield page[:50]
        yield page[50:]

    def written(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        write(page[:50])
        return [page[50:]]

    for app in (streamed, written):
        response = wsgi_client(config, app).get("/", base_url="https://localhost")
        assert b'data-src="https://www.youtube.com/embed/x"' in response.get_data()
        assert response.get_data().endswith(b"<p>same</p></body></html>")
        assert "Content-Length" not in response.headers


def test_wsgi_page_started_again_with_an_error_is_the_error_page(config: ConsentConfig) -> None:
    """start_response called again with exc_info (an error page) replaces the page that was starting."""
    import sys

    from werkzeug.test import EnvironBuilder

    from cookieconsent.wsgi import ConsentMiddleware as WSGIMiddleware

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        try:
            raise ValueError("rendering failed")
        except ValueError:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"<body>error</body>"]

    started: list[tuple[str, list[tuple[str, str]]]] = []
    body: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info is not None and body:  # headers already sent: as PEP 3333 asks of a server
            raise exc_info[1].with_traceback(exc_info[2])
        started.append((status, headers))
        return body.append

    environ = EnvironBuilder(path="/", base_url="https://localhost").get_environ()
    body.extend(WSGIMiddleware(app, config)(environ, start_response))
    assert [status for status, _ in started] == ["500 Internal Server Error"]  # the page's own start never went
    assert ("Content-Type", "text/plain") in started[0][1]
    assert body == [b"<body>error</body>"]  # plain text: not rewritten, no banner


def test_asgi_html_file_is_rewritten_where_the_server_could_send_files_itself(
    config: ConsentConfig, tmp_path: Path
) -> None:
    """A server offering ``http.response.pathsend`` would send a file unread: the app is not offered it."""
    from starlette.responses import FileResponse

    page = tmp_path / "page.html"
    page.write_text(TRACKED.format(text="from a file"))
    offered: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        offered.append(dict(scope.get("extensions", {})))
        await FileResponse(page)(scope, receive, send)

    extensions: dict[str, dict[str, Any]] = {"http.response.pathsend": {}, "http.response.trailers": {}}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "method": "GET",
        "path": "/",
        "query_string": b"",
        "headers": [],
        "extensions": extensions,
        "state": {},
    }
    sent = run_asgi(ConsentMiddleware(app, config), scope).messages
    assert offered == [{"http.response.trailers": {}}]
    assert extensions == {"http.response.pathsend": {}, "http.response.trailers": {}}  # the server's, untouched
    assert "http.response.pathsend" not in [m["type"] for m in sent]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert b"<p>from a file</p>" in body
    assert b'data-src="https://www.youtube.com/embed/x"' in body  # the embed is inert
