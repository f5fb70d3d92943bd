"""The contrast of every button and link the library renders, computed from the colours Chromium applies.

axe-core reports a control whose text and background are the same colour only as "needs review"
(it cannot tell the text from the background), so a button could lose its label and pass the
accessibility test. This computes WCAG 2.x contrast itself: the text colour over the background
made of every ancestor's background colour, blended, in light and dark colour schemes, in English
and Traditional Chinese, at a phone's and a desktop's width. The centre also must not scroll sideways
on a 320 px screen.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SessionFactory
from tests.browser.helpers import animations_done, banner, banner_button, dialog, granting, settings_control

#: Where the library's markup lives on a page (its pages are wholly its own: ``.cc-page``).
SCOPES = ["#cookieconsent", ".cc-placeholder", ".cc-page"]
CONTRAST = """(scopes) => {
  const parse = (text) => {
    const m = text.match(/rgba?\\(([^)]*)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const over = (top, bottom) => {  // "top" painted over an opaque "bottom"
    const a = top.a;
    const mix = (k) => top[k] * a + bottom[k] * (1 - a);
    return {r: mix("r"), g: mix("g"), b: mix("b"), a: 1};
  };
  const backdrop = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let bg = {r: 255, g: 255, b: 255, a: 1};  // the canvas, when nothing is opaque
    for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
    return bg;
  };
  const luminance = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const controls = ["a", "button", "summary", "input[type=submit]"];
  const selector = scopes.flatMap((s) => controls.map((c) => `${s} ${c}`)).join(",");
  const out = [];
  for (const el of document.querySelectorAll(selector)) {
    const style = getComputedStyle(el);
    const text = (el.innerText || el.value || "").trim();
    if (!text || !el.getClientRects().length || style.visibility === "hidden" || el.disabled) continue;
    const bg = backdrop(el);
    const fg = over(parse(style.color), bg);
    const [x, y] = [luminance(fg), luminance(bg)];
    const ratio = (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (parseInt(style.fontWeight, 10) >= 700 && size >= 18.66);
    const background = `rgb(${bg.r}, ${bg.g}, ${bg.b})`;
    out.push({text: text.slice(0, 40), ratio, need: large ? 3 : 4.5, color: style.color, background});
  }
  return out;
}"""


def low_contrast(page: Page, where: str) -> tuple[int, list[str]]:
    """How many controls were measured on the page as it is now, in both colour schemes, and which fail."""
    failures: list[str] = []
    measured = 0
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        found: list[dict[str, Any]] = page.evaluate(CONTRAST, SCOPES)
        measured += len(found)
        failures += [
            f"{where} ({scheme}): {c['text']!r} {c['ratio']:.2f}:1 < {c['need']}:1 ({c['color']} on {c['background']})"
            for c in found
            if c["ratio"] < c["need"]
        ]
    page.emulate_media(color_scheme="light")
    return measured, failures


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("locale", ["en-US", "zh-TW"])
def test_every_library_button_and_link_meets_wcag_aa_contrast(
    new_session: SessionFactory, locale: str, width: int
) -> None:
    s = new_session(locale=locale, viewport={"width": width, "height": 800})
    page = s.page
    results: list[tuple[int, list[str]]] = []
    page.goto(s.url("/"))
    expect(banner(page)).to_be_visible()
    expect(page.locator(".cc-placeholder").first).to_be_visible()
    animations_done(page)
    results.append(low_contrast(page, "home page: banner and embed placeholder"))

    settings_control(page).click()
    expect(dialog(page)).to_be_visible()
    animations_done(page)
    results.append(low_contrast(page, "home page: settings layer"))

    page.goto(s.url("/_consent/preferences?next=/"))
    results.append(low_contrast(page, "preference page"))

    page.goto(s.url("/"))
    with granting(page):
        banner_button(page, "accept_all").click()
    expect(banner(page)).to_be_hidden()
    page.goto(s.url("/_consent/my-data"))
    expect(page.locator("a[download]")).to_be_visible()
    results.append(low_contrast(page, "privacy centre"))

    measured = sum(n for n, _ in results)
    failures = [f for _, found in results for f in found]
    assert measured >= 20, f"only {measured} controls were measured: the selectors miss the library's markup"
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("locale", ["en-US", "zh-TW"])
def test_the_privacy_centre_never_scrolls_sideways_at_320_px(new_session: SessionFactory, locale: str) -> None:
    s = new_session(locale=locale, viewport={"width": 320, "height": 640})
    page = s.page
    page.goto(s.url("/"))
    with granting(page):
        banner_button(page, "accept_all").click()
    expect(banner(page)).to_be_hidden()
    page.goto(s.url("/_consent/my-data"))
    widest = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .map(e => ({tag: e.tagName + (e.id ? '#' + e.id : ''), right: e.getBoundingClientRect().right}))
            .sort((a, b) => b.right - a.right)[0]"""
    )
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the centre is {overflow}px wider than the screen; the widest element: {widest}"
