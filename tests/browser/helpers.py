"""Helpers shared by the browser tests: the banner's controls, consent state, tracker hosts, colours."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypedDict
from urllib.parse import urlsplit

from playwright.sync_api import Locator, Page

# -- what the demo site embeds ----------------------------------------------------------------------

#: Hosts the home page's analytics tags reach (GA4 gtag).
ANALYTICS_HOSTS = frozenset({"www.googletagmanager.com", "www.google-analytics.com", "region1.google-analytics.com"})
#: Hosts of its marketing embeds (Meta Pixel, the YouTube video).
MARKETING_HOSTS = frozenset(
    {"connect.facebook.net", "www.facebook.com", "www.youtube.com", "www.youtube-nocookie.com", "i.ytimg.com"}
)
#: The cookies the home page tries to set besides ``session``; none may pass before consent.
TRACKING_COOKIES = frozenset({"lang", "_ga", "_fbp", "x_unknown"})
CONSENT_COOKIE = "__Host-consent"
OPTIONAL = ("functional", "analytics", "marketing")

#: Texts the requirements fix word for word (R11, R17, R64), per browser locale.
TEXTS = {
    "en-US": {"accept_all": "Accept all", "reject_all": "Reject all", "saved": "Preferences saved"},
    "zh-TW": {"accept_all": "全部接受", "reject_all": "全部拒絕", "saved": "已儲存您的偏好設定"},
}
#: The ``lang`` the banner must carry for each browser locale (R18).
BANNER_LANG = {"en-US": "en", "zh-TW": "zh-TW"}

# -- the banner's parts (structural selectors, so that wording changes do not break the tests) --

BANNER = "#cookieconsent .cc-banner"
DIALOG = "#cookieconsent [role=dialog]"
FOCUSABLE = (
    "a[href], button:not(:disabled), input:not(:disabled), select, textarea, summary, [tabindex]:not([tabindex='-1'])"
)


@contextmanager
def granting(page: Page) -> Iterator[None]:
    """Wait for the reload a choice causes when it grants a category under an enforced CSP.

    The demo apps send an enforced Content-Security-Policy per consent: a page allows only the hosts
    of the categories in force when it was served, so the banner script reloads it after a grant.
    Without waiting, the test's next navigation would race with that reload.
    """
    with page.expect_navigation(wait_until="load"):
        yield


def banner(page: Page) -> Locator:
    return page.locator(BANNER)


def banner_button(page: Page, action: str) -> Locator:
    """The first layer's ``accept_all`` / ``reject_all`` button."""
    return page.locator(f"{BANNER} button[value={action}]")


def settings_control(page: Page) -> Locator:
    """The first layer's "Settings" control (opens the settings layer)."""
    return page.locator(f"{BANNER} [data-cc-open]")


def dialog(page: Page) -> Locator:
    return page.locator(DIALOG)


def dialog_button(page: Page, action: str) -> Locator:
    """The settings layer's ``custom`` (Save), ``accept_all`` or ``reject_all`` button."""
    return page.locator(f"{DIALOG} button[value={action}]")


def toggle(page: Page, category: str) -> Locator:
    return page.locator(f"{DIALOG} input[type=checkbox][value={category}]")


def settings_button(page: Page) -> Locator:
    """The persistent "Cookie settings" control shown once the banner is gone (R17)."""
    return page.locator("#cookieconsent .cc-fab")


def status_region(page: Page) -> Locator:
    return page.locator("#cookieconsent .cc-status")


# -- consent state ------------------------------------------------------------------------------


class State(TypedDict):
    decided: bool
    categories: dict[str, bool]
    gpc: bool
    locale: str


def server_state(page: Page) -> State:
    """``GET /_consent/state`` from the page, with its cookies: what the server has recorded."""
    state: State = page.evaluate(
        "async () => (await fetch('/_consent/state', {credentials: 'same-origin', cache: 'no-store'})).json()"
    )
    return state


def granted(state: State) -> set[str]:
    return {c for c in OPTIONAL if state["categories"].get(c)}


def assert_undecided(page: Page) -> None:
    """The server has no decision and grants nothing; the page script agrees."""
    state = server_state(page)
    assert state["decided"] is False, state
    assert granted(state) == set(), state
    client: dict[str, Any] = page.evaluate("window.cookieconsent.get()")
    assert client["decided"] is False, client
    assert not any(client["categories"].get(c) for c in OPTIONAL), client


def host(url: str) -> str:
    return urlsplit(url).hostname or ""


def hosts(urls: list[str]) -> set[str]:
    return {host(u) for u in urls}


def mark_page(page: Page) -> str:
    """Put a marker on ``window`` that a reload or navigation would wipe; returns its value."""
    token = "kept-" + str(page.evaluate("Math.random()"))
    page.evaluate("t => { window.__ccTestMarker = t; }", token)
    return token


def animations_done(page: Page) -> None:
    """Wait for the banner's entrance animation to end (screenshots, geometry, axe colour checks)."""
    page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')")


# -- colours and contrast (WCAG 2.2 relative luminance) -------------------------------------------

RGBA = tuple[float, float, float, float]
_RGB = re.compile(r"rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)")


def parse_color(css: str) -> RGBA:
    """A computed CSS colour (``rgb(…)`` / ``rgba(…)``) as channels from 0 to 255 and an alpha from 0 to 1."""
    m = _RGB.fullmatch(css.strip())
    assert m, f"unexpected computed colour {css!r}"
    r, g, b, a = m.groups()
    alpha = 1.0 if a is None else float(a[:-1]) / 100 if a.endswith("%") else float(a)
    return float(r), float(g), float(b), alpha


def over(top: RGBA, below: RGBA) -> RGBA:
    """``top`` composited over the opaque colour ``below``."""
    a = top[3]
    return (
        top[0] * a + below[0] * (1 - a),
        top[1] * a + below[1] * (1 - a),
        top[2] * a + below[2] * (1 - a),
        1.0,
    )


def luminance(c: RGBA) -> float:
    def channel(v: float) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2])


def contrast(a: RGBA, b: RGBA) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


#: The backgrounds of an element and its ancestors, nearest first, up to the first opaque one.
BACKGROUND_CHAIN_JS = """e => {
  const out = [];
  for (let n = e; n; n = n.parentElement) {
    const c = getComputedStyle(n).backgroundColor;
    out.push(c);
    if (c.startsWith('rgb(')) break;  // opaque: nothing below shows through
  }
  return out;
}"""


def effective_background(element: Locator, canvas: RGBA) -> RGBA:
    """The colour actually painted behind ``element``'s content (its own and its ancestors' backgrounds)."""
    chain: list[str] = element.evaluate(BACKGROUND_CHAIN_JS)
    color = canvas
    for css in reversed(chain):
        color = over(parse_color(css), color)
    return color
