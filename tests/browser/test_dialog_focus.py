"""The settings dialog's first focus and its close button, as a screen reader and a sighted keyboard user meet them."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import ROOT, SessionFactory
from tests.browser.helpers import animations_done, dialog, settings_control
from tests.harness import require_tool

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def test_the_title_takes_focus_without_a_box_and_the_close_button_is_named_by_what_it_shows(
    new_session: SessionFactory,
) -> None:
    s = new_session(locale="en-US")
    page = s.load("/")
    page.keyboard.press("Tab")  # a keyboard user: the browser shows focus rings from here on
    settings_control(page).focus()
    page.keyboard.press("Enter")
    expect(dialog(page)).to_be_visible()
    animations_done(page)
    title = page.locator("#cc-dtitle")
    expect(title).to_be_focused()
    assert title.evaluate("e => getComputedStyle(e).outlineStyle") == "none"  # a heading is no control
    close = page.locator("#cookieconsent [data-cc-close]")
    expect(close).to_have_accessible_name("Close without saving")
    assert close.get_attribute("aria-label") is None  # the name is its own (hidden) text, not a label over "×"
    axe = Path(require_tool("axe-core", str(AXE)))
    page.add_script_tag(path=str(axe))
    found = page.evaluate(
        """async () => (await axe.run('#cookieconsent', {runOnly: {type: 'rule',
            values: ['label-content-name-mismatch', 'button-name']}})).violations.map(v => v.id)"""
    )
    assert found == []
