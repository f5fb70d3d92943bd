"""Refusals a visitor can meet are pages of the library's own, in their language; programs get JSON.

A form posted from another site, a form the library cannot read (tampered with, or a right that does
not exist), an address only a form may use opened directly, or no such page: each answers with its
status and a page styled like the preference page, in English or Traditional Chinese as the banner is.
JSON clients keep their JSON errors.
"""

from __future__ import annotations

import pytest

from tests.harness import Visitor

SAME_ORIGIN = {"origin": "https://testserver"}
BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
TEXTS = {
    "en": {
        "refused": "This request was refused",
        "method": "This address cannot be opened directly",
        "form": "The form could not be read",
        "not_found": "Page not found",
        "back": "Back to the site",
    },
    "zh-TW": {
        "refused": "此請求已遭拒絕",
        "method": "無法直接開啟此網址",
        "form": "無法讀取表單",
        "not_found": "找不到網頁",
        "back": "返回網站",
    },
}


@pytest.fixture(params=["en", "zh-TW"])
def lang(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def assert_page(text: str, lang: str, title: str, code: str) -> None:
    """The library's page, in ``lang``, headed ``title``, naming ``code``."""
    assert f'<html lang="{lang}">' in text
    assert '<body class="cc-page">' in text
    assert "/_consent/static/cookieconsent.css" in text  # styled like the rest
    assert f"<h1>{TEXTS[lang][title]}</h1>" in text
    assert f"<code>{code}</code>" in text
    assert TEXTS[lang]["back"] in text


def test_a_form_from_another_site_is_refused_in_the_visitors_language(visitor: Visitor, lang: str) -> None:
    r = visitor.post(
        "/_consent",
        form=[("action", "accept_all")],
        headers={"origin": "https://evil.example", "accept-language": lang, **BROWSER},
    )
    assert r.status == 403
    assert_page(r.text, lang, "refused", "cross_origin")
    assert r.set_cookie_names == []  # and nothing was granted


def test_a_right_that_does_not_exist_is_refused_in_the_visitors_language(visitor: Visitor, lang: str) -> None:
    r = visitor.post(
        "/_consent/rights", form=[("kind", "bogus")], headers={**SAME_ORIGIN, "accept-language": lang, **BROWSER}
    )
    assert r.status == 400
    assert_page(r.text, lang, "form", "unknown_kind")
    assert "Unknown right" in r.text  # the developer's message, behind "Technical details"
    assert "<details>" in r.text


def test_a_form_only_address_opened_directly_says_so(visitor: Visitor, lang: str) -> None:
    r = visitor.get("/_consent/rights", {"accept-language": lang, **BROWSER})
    assert r.status == 405
    assert r.header("allow") == "POST"
    assert_page(r.text, lang, "method", "method_not_allowed")


def test_no_such_page_in_the_visitors_language(visitor: Visitor, lang: str) -> None:
    r = visitor.get("/_consent/nothing-here", {"accept-language": lang, **BROWSER})
    assert r.status == 404
    assert_page(r.text, lang, "not_found", "not_found")


def test_json_clients_keep_json_errors(visitor: Visitor) -> None:
    posted = visitor.post("/_consent", {"action": "maybe"}, headers=SAME_ORIGIN)
    assert posted.status == 400
    assert posted.header("content-type") == "application/json"
    assert posted.json()["error"]
    fetched = visitor.get("/_consent/rights", {"accept": "application/json"})
    assert fetched.status == 405
    assert fetched.json() == {"error": "method_not_allowed", "message": "Use POST for this endpoint."}
