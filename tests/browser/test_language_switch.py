"""The demo's language switch in Chromium: it works without the functional category, for this view."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import SessionFactory
from tests.browser.helpers import banner, banner_button, granting

NOTE = "remembering your language needs Functional cookies"


def test_without_a_choice_the_switch_shows_this_page_in_english_and_says_why(new_session: SessionFactory) -> None:
    s = new_session(locale="zh-TW")
    page = s.load("/privacy")
    expect(page.locator("html")).to_have_attribute("lang", "zh-TW")
    page.locator(".lang-switch").click()
    page.wait_for_url("**/privacy?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("main")).to_contain_text(NOTE)
    expect(page.locator("#cookieconsent")).to_have_attribute("lang", "en")  # the banner follows the page
    expect(banner(page)).to_be_visible()  # no choice was made for the visitor


def test_with_functional_the_switch_is_remembered_on_the_same_page(new_session: SessionFactory) -> None:
    s = new_session(locale="zh-TW")
    page = s.load("/privacy")
    with granting(page):
        banner_button(page, "accept_all").click()
    s.settle()
    page.locator(".lang-switch").click()
    page.wait_for_url("**/privacy")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("main")).not_to_contain_text(NOTE)
    assert "lang" in s.cookie_names()
