"""The privacy centre in Chromium: "Delete my data" asks first and says what it deleted; "stop" shows in the settings.

Both demo apps, in English and Traditional Chinese (the browser locale sets Accept-Language).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SessionFactory
from tests.browser.helpers import banner_button, dialog, granting, settings_button

ARTICLE = "/articles/telligent-platform"
TEXTS = {
    "en-US": {
        "ask": "Delete your data?",
        "visits": "Visits",
        "page_views": "Page views",
        "clicks": "Clicks",
        "delete": "Delete",
        "cancel": "Cancel",
        "deleted": "Your data was deleted",
        "visits_deleted": "Visits deleted: {count}",
        "events_deleted": "Page views and clicks deleted: {count}",
        "withdrawn": "Your consent was withdrawn",
        "done": "Request completed",
        "stopped": "Recording for this device has stopped, at your request",
    },
    "zh-TW": {
        "ask": "確定要刪除您的資料嗎？",
        "visits": "造訪",
        "page_views": "頁面瀏覽",
        "clicks": "點選",
        "delete": "刪除",
        "cancel": "取消",
        "deleted": "您的資料已刪除",
        "visits_deleted": "已刪除的造訪紀錄：{count} 筆",
        "events_deleted": "已刪除的頁面瀏覽與點選紀錄：{count} 筆",
        "withdrawn": "您的同意已撤回",
        "done": "請求已處理完成",
        "stopped": "應您的請求，已停止記錄此裝置的資料",
    },
}


def counts(page: Page) -> dict[str, int]:
    """The confirmation page's table: {kind as shown: number}."""
    cells = page.locator("main table tbody tr").evaluate_all(
        "rows => rows.map(r => [r.cells[0].innerText.trim(), r.cells[1].innerText.trim()])"
    )
    return {kind: int(number) for kind, number in cells}


@pytest.mark.parametrize("locale", ["en-US", "zh-TW"])
def test_delete_asks_then_counts_and_stop_shows_in_the_settings(new_session: SessionFactory, locale: str) -> None:
    text = TEXTS[locale]
    s = new_session(locale=locale)
    page = s.load("/")
    with granting(page):
        banner_button(page, "accept_all").click()
    s.settle()
    s.load(ARTICLE)
    s.load("/")

    s.load("/_consent/my-data")
    page.locator("#ccm-delete ~ form button[type=submit]").click()
    expect(page.locator("h1")).to_have_text(text["ask"])
    shown = counts(page)
    assert shown[text["visits"]] >= 3, shown  # "/" after the grant's reload, the article, "/" again
    events = shown.get(text["page_views"], 0) + shown.get(text["clicks"], 0)
    expect(page.get_by_role("link", name=text["cancel"])).to_have_attribute("href", "/_consent/my-data#ccm-delete")

    page.get_by_role("button", name=text["delete"], exact=True).click()
    page.wait_for_url(re.compile(r"/_consent/my-data\?ref=RR-"))
    result = page.locator(".cc-confirm")
    expect(result.locator("h2")).to_have_text(text["deleted"])
    # What was deleted: at least what the confirmation showed (a visit still on its way to the store,
    # such as the page before, is written first and deleted with the rest).
    said = result.inner_text()
    deleted = {
        key: int(found.group(1))
        for key in ("visits_deleted", "events_deleted")
        if (found := re.search(re.escape(text[key]).replace(re.escape("{count}"), r"(\d+)"), said))
    }
    assert set(deleted) == {"visits_deleted", "events_deleted"}, said
    assert deleted["visits_deleted"] >= shown[text["visits"]] > 0, (deleted, shown)
    assert deleted["events_deleted"] >= events, (deleted, shown)
    expect(result).to_contain_text(text["withdrawn"])

    page.locator("#ccm-kind-stop").check()
    page.locator("form[action='/_consent/rights'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/_consent/my-data\?ref=RR-"))
    expect(page.locator(".cc-confirm h2")).to_have_text(text["done"])

    s.load("/")
    settings_button(page).click()
    expect(dialog(page)).to_be_visible()
    expect(dialog(page).locator("#cc-dintro")).to_contain_text(text["stopped"])
    s.load("/_consent/preferences")
    expect(page.locator("main")).to_contain_text(text["stopped"])
