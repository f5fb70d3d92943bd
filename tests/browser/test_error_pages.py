"""A refusal a visitor meets in Chromium is the library's page, in their language, styled like the rest."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SessionFactory

HEADINGS = {"en-US": ("en", "This address cannot be opened directly"), "zh-TW": ("zh-TW", "無法直接開啟此網址")}


@pytest.mark.parametrize("locale", sorted(HEADINGS))
def test_a_form_only_address_opened_in_the_browser_is_a_page_in_the_visitors_language(
    new_session: SessionFactory, locale: str
) -> None:
    s = new_session(locale=locale)
    page = s.page
    response = page.goto(s.url("/_consent/rights"))
    assert response is not None
    assert response.status == 405
    lang, heading = HEADINGS[locale]
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("h1")).to_have_text(heading)
    # The library's stylesheet applies: the page's own colours, not the browser's defaults.
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background in ("rgb(255, 255, 255)", "rgb(28, 33, 40)"), background
    margin = page.evaluate("getComputedStyle(document.querySelector('main')).maxWidth")
    assert margin == "768px", margin  # .cc-page main{max-width:48rem}
