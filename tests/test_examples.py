"""The copyable examples do what their docstrings say, through the frameworks' own test clients.

- ``examples/minimal_fastapi.py`` and ``examples/minimal_flask.py`` (with ``examples/minimal_policy.toml``
  and ``examples/templates/index.html``): before a decision the analytics cookie is stripped and
  ``consent.allows("analytics")`` is false; after the banner's form posts "Accept all", the cookie
  passes and ``allows`` is true. A cross-site post changes nothing.
- ``examples/starlette_csp.py``: every script and stylesheet the middleware injects carries the
  nonce of the response's ``Content-Security-Policy``, and that header passes unchanged.
"""

from __future__ import annotations

import importlib
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from cookieconsent import load_policy
from tests.harness import AppClient, Response, Visitor

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MINIMAL = {"fastapi": "examples.minimal_fastapi", "flask": "examples.minimal_flask"}
CONSENT_COOKIE = "__Host-consent"
SAME_ORIGIN = {"origin": "https://testserver"}


def app_of(module: str) -> Any:
    return importlib.import_module(module).app


@pytest.fixture(params=sorted(MINIMAL))
def minimal(request: pytest.FixtureRequest) -> Visitor:
    kind = str(request.param)
    return AppClient(kind, app_of(MINIMAL[kind])).visitor()


def analytics_allowed(response: Response) -> bool:
    found: list[str] = re.findall(r"Analytics allowed: (True|False)", response.text)
    assert len(found) == 1, response.text
    return found[0] == "True"


# -- the minimal apps --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["minimal_fastapi.py", "minimal_flask.py"])
def test_minimal_example_is_under_30_lines(name: str) -> None:
    lines = (EXAMPLES / name).read_text(encoding="utf-8").splitlines()
    assert len(lines) < 30


def test_minimal_policy_is_one_necessary_and_one_analytics_cookie() -> None:
    policy = load_policy(EXAMPLES / "minimal_policy.toml")
    assert policy.allows_cookie_in("session") == "necessary"
    assert policy.allows_cookie_in("_ga") == "analytics"
    assert len(policy.cookies) == 2


def test_undecided_visitor_gets_no_analytics_cookie(minimal: Visitor) -> None:
    page = minimal.get("/")
    assert page.status == 200
    assert page.stored_cookie_names == ["session"]
    assert not analytics_allowed(page)
    assert 'id="cookieconsent"' in page.text  # the banner asks
    assert 'class="cc-banner"' in page.text


def test_accept_all_from_the_banner_form_lets_the_cookie_through(minimal: Visitor) -> None:
    minimal.get("/")
    # What the banner's "Accept all" button posts, without JavaScript.
    decided = minimal.post("/_consent", form=[("action", "accept_all"), ("next", "/")], headers=SAME_ORIGIN)
    assert decided.status == 303
    assert decided.header("location") == "/"
    assert CONSENT_COOKIE in decided.stored_cookie_names

    page = minimal.get("/")
    assert sorted(page.stored_cookie_names) == ["_ga", "session"]
    assert analytics_allowed(page)
    assert 'class="cc-banner"' not in page.text  # the first layer is gone once decided


def test_granting_analytics_alone_by_json(minimal: Visitor) -> None:
    decided = minimal.decide("custom", ["analytics"], headers=SAME_ORIGIN)
    assert decided.status == 200
    assert decided.json()["categories"] == {
        "necessary": True,
        "functional": False,
        "analytics": True,
        "marketing": False,
    }
    page = minimal.get("/")
    assert "_ga" in page.stored_cookie_names
    assert analytics_allowed(page)


def test_reject_all_keeps_the_cookie_out(minimal: Visitor) -> None:
    assert minimal.decide("reject_all", headers=SAME_ORIGIN).status == 200
    page = minimal.get("/")
    assert page.stored_cookie_names == ["session"]
    assert not analytics_allowed(page)


def test_cross_site_post_changes_nothing(minimal: Visitor) -> None:
    refused = minimal.post("/_consent", form=[("action", "accept_all")], headers={"origin": "https://evil.example"})
    assert refused.status == 403
    assert refused.set_cookies == []
    page = minimal.get("/")
    assert "_ga" not in page.stored_cookie_names
    assert not analytics_allowed(page)


def test_withdrawal_expires_the_analytics_cookie(minimal: Visitor) -> None:
    minimal.decide("accept_all", headers=SAME_ORIGIN)
    minimal.get("/")
    assert "_ga" in minimal.jar
    withdrawn = minimal.post("/_consent/withdraw", headers=SAME_ORIGIN)
    assert withdrawn.status == 200
    expiry = withdrawn.set_cookie("_ga")
    assert expiry is not None
    assert "max-age=0" in expiry.lower()
    assert "_ga" not in minimal.jar
    assert not analytics_allowed(minimal.get("/"))


def test_flask_template_reads_consent_from_the_jinja_global() -> None:
    visitor = AppClient("flask", app_of(MINIMAL["flask"])).visitor()
    secret = "Only visitors who granted analytics see this paragraph."
    assert secret not in visitor.get("/").text
    visitor.decide("accept_all", headers=SAME_ORIGIN)
    assert secret in visitor.get("/").text


# -- the CSP example ---------------------------------------------------------------------------


class Tags(HTMLParser):
    """Collects the attributes of every ``<script>``, ``<style>`` and ``<link>`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "link"):
            self.found.append((tag, dict(attrs)))


def tags_of(response: Response) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(response.text)
    parser.close()
    return parser.found


def nonce_of(response: Response) -> str:
    csp = response.header("content-security-policy")
    assert csp is not None
    match = re.search(r"script-src [^;]*'nonce-([^']+)'", csp)
    assert match is not None, csp
    return match.group(1)


@pytest.fixture
def csp_visitor() -> Visitor:
    return AppClient("fastapi", app_of("examples.starlette_csp")).visitor()


def assert_injected_with_nonce(response: Response) -> None:
    nonce = nonce_of(response)
    tags = tags_of(response)
    for tag, attrs in tags:
        assert attrs.get("nonce") == nonce, (tag, attrs)
    sources = [attrs.get("src") or attrs.get("href") or "" for _, attrs in tags]
    # The middleware's own tags are there (so the check above is not vacuous).
    assert any(s.startswith("/_consent/static/cookieconsent.js") for s in sources)
    assert any(s.startswith("/_consent/static/cookieconsent.css") for s in sources)
    assert any(attrs.get("id") == "cookieconsent-state" for _, attrs in tags)
    assert "gtag('consent','default'" in response.text  # the inline Consent Mode bootstrap


def test_csp_header_passes_unchanged(csp_visitor: Visitor, monkeypatch: pytest.MonkeyPatch) -> None:
    module = importlib.import_module("examples.starlette_csp")
    monkeypatch.setattr(module.secrets, "token_urlsafe", lambda n=None: "fixed-nonce-123")
    page = csp_visitor.get("/")
    assert page.header_list("content-security-policy") == [module.csp("fixed-nonce-123")]
    assert_injected_with_nonce(page)


def test_every_injected_tag_carries_the_nonce_before_a_decision(csp_visitor: Visitor) -> None:
    page = csp_visitor.get("/")
    assert_injected_with_nonce(page)
    assert not analytics_allowed(page)
    analytics = [a for t, a in tags_of(page) if t == "script" and a.get("data-category") == "analytics"]
    assert len(analytics) == 1
    assert analytics[0].get("type") == "text/plain"  # inert, and keeps its nonce for when it is granted


def test_every_injected_tag_carries_the_nonce_after_a_decision(csp_visitor: Visitor) -> None:
    assert csp_visitor.decide("accept_all", headers=SAME_ORIGIN).status == 200
    page = csp_visitor.get("/")
    assert_injected_with_nonce(page)
    assert analytics_allowed(page)
    analytics = [a for t, a in tags_of(page) if t == "script" and a.get("data-category") == "analytics"]
    assert len(analytics) == 1
    assert analytics[0].get("type") is None  # runs as the page wrote it


def test_each_response_has_its_own_nonce(csp_visitor: Visitor) -> None:
    first, second = csp_visitor.get("/"), csp_visitor.get("/")
    assert nonce_of(first) != nonce_of(second)
    assert_injected_with_nonce(first)
    assert_injected_with_nonce(second)


def test_injected_assets_are_same_origin(csp_visitor: Visitor) -> None:
    """The CSP's ``'self'`` covers the banner's files: they are served by the middleware itself."""
    page = csp_visitor.get("/")
    for _, attrs in tags_of(page):
        url = attrs.get("src") or attrs.get("href")
        if url is not None:
            assert url.startswith("/"), url
            assert csp_visitor.get(url).status == 200


# -- the README's quickstarts ------------------------------------------------------------------

README = EXAMPLES.parent / "README.md"
_PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def readme_snippets() -> list[str]:
    return _PYTHON_BLOCK.findall(README.read_text(encoding="utf-8"))


def test_readme_has_a_quickstart_per_framework() -> None:
    snippets = readme_snippets()
    assert len(snippets) == 2
    assert "from fastapi import" in snippets[0]
    assert "from flask import" in snippets[1]


@pytest.mark.parametrize(("index", "kind"), [(0, "fastapi"), (1, "flask")])
def test_readme_quickstart_enforces_consent(
    index: int, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each quickstart, saved as a module next to the minimal policy and template, blocks then passes ``_ga``."""
    (tmp_path / "policy.toml").write_text((EXAMPLES / "minimal_policy.toml").read_text(encoding="utf-8"))
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "index.html").write_text((EXAMPLES / "templates" / "index.html").read_text())
    name = f"readme_quickstart_{kind}"
    (tmp_path / f"{name}.py").write_text(readme_snippets()[index], encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        visitor = AppClient(kind, importlib.import_module(name).app).visitor()
        page = visitor.get("/")
        assert page.status == 200
        assert "_ga" not in page.stored_cookie_names
        assert not analytics_allowed(page)
        assert 'class="cc-banner"' in page.text
        assert visitor.post("/_consent", form=[("action", "accept_all")], headers=SAME_ORIGIN).status == 303
        page = visitor.get("/")
        assert "_ga" in page.stored_cookie_names
        assert analytics_allowed(page)
    finally:
        sys.modules.pop(name, None)
