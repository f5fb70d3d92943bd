"""The consent banner in a real browser, on both demo apps (the ``live_server`` parameter).

Tracker hosts do not resolve in this browser (see conftest), but every attempt to reach them is in the
session's request log, so "no request to a third party" is checked on what the page tried, not on what
succeeded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, ViewportSize, expect

from tests.browser.conftest import Session, SessionFactory
from tests.browser.helpers import (
    ANALYTICS_HOSTS,
    BANNER,
    CONSENT_COOKIE,
    DIALOG,
    FOCUSABLE,
    MARKETING_HOSTS,
    OPTIONAL,
    RGBA,
    TEXTS,
    animations_done,
    assert_undecided,
    banner,
    banner_button,
    contrast,
    dialog,
    dialog_button,
    effective_background,
    granted,
    granting,
    host,
    hosts,
    luminance,
    mark_page,
    over,
    parse_color,
    server_state,
    settings_button,
    settings_control,
    status_region,
    toggle,
)

ARTICLE = "/articles/telligent-platform"
YOUTUBE_EMBED = re.compile(r"^https://www\.youtube\.com/embed/")
DEVICE = "__Host-ccdid"  # the recorder's device cookie under secure=True (declared as ccdid)
#: Counts every click the page receives (capture phase, before any handler can stop it): R12's counter.
COUNT_CLICKS = "window.__ccClicks = 0; addEventListener('click', () => { window.__ccClicks++; }, true);"


#: The home page's trackers and the category of each.
EMBED_CATEGORIES = {"gtag": "analytics", "pixel": "marketing", "youtube": "marketing", "prefs": "functional"}
#: Whether each of them is "active", "inert" (rewritten by the middleware, or not yet woken), or neither.
EMBED_STATES_JS = """() => {
  const one = (active, inert) => {
    const a = document.querySelectorAll(active).length, i = document.querySelectorAll(inert).length;
    return a === 1 && i === 0 ? 'active' : i === 1 && a === 0 ? 'inert' : `${a} active, ${i} inert`;
  };
  const pixel = [...document.scripts].filter(s => s.text.includes('fbevents.js'));
  return {
    gtag: one("script[src^='https://www.googletagmanager.com/gtag/js']:not([type])",
              "script[type='text/plain'][data-src^='https://www.googletagmanager.com/gtag/js']:not([src])"),
    pixel: pixel.length !== 1 ? `${pixel.length} scripts` : pixel[0].type === 'text/plain' ? 'inert' : 'active',
    youtube: one("iframe[src^='https://www.youtube.com/embed/']",
                 "iframe[data-src^='https://www.youtube.com/embed/']:not([src])"),
    prefs: one("script[src='/static/prefs.js']:not([type])",
               "script[type='text/plain'][data-src='/static/prefs.js']:not([src])"),
  };
}"""


def embed_states(page: Page) -> dict[str, str]:
    states: dict[str, str] = page.evaluate(EMBED_STATES_JS)
    return states


def expected_embeds(categories: set[str]) -> dict[str, str]:
    return {name: "active" if c in categories else "inert" for name, c in EMBED_CATEGORIES.items()}


def video(page: Page) -> Locator:
    return page.locator(".video iframe")


def load_home(s: Session) -> Page:
    return s.load("/")


def on_host(name: str) -> Callable[[str], bool]:
    return lambda url: host(url) == name


def focused_index(page: Page) -> int:
    """The ``data-cc-test`` index of the focused element, or -1 (see ``index_focusables``)."""
    return int(page.evaluate("() => Number(document.activeElement?.dataset?.ccTest ?? -1)"))


def index_focusables(container: Locator) -> int:
    """Number the visible focusable elements of ``container`` in DOM order (``data-cc-test``); count them."""
    count: int = container.evaluate(
        """(root, sel) => {
            const list = [...root.querySelectorAll(sel)]
              .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden');
            list.forEach((e, i) => { e.dataset.ccTest = i; });
            return list.length;
        }""",
        FOCUSABLE,
    )
    return count


#: Pairs of consecutive indexed elements that are out of reading order (left to right, top to bottom).
#: Two elements are compared through the children of their lowest common ancestor that hold them, so an
#: element scrolled out of sight inside a scroll box still counts as being inside that box.
READING_ORDER_JS = """root => {
  const items = [...root.querySelectorAll('[data-cc-test]')]
    .sort((a, b) => a.dataset.ccTest - b.dataset.ccTest);
  const path = e => { const p = []; for (let n = e; n; n = n.parentElement) p.unshift(n); return p; };
  const bad = [];
  for (let i = 1; i < items.length; i++) {
    const pa = path(items[i - 1]), pb = path(items[i]);
    let k = 0;
    while (pa[k] === pb[k]) k++;
    const a = (pa[k] || items[i - 1]).getBoundingClientRect(), b = (pb[k] || items[i]).getBoundingClientRect();
    if (!(b.top >= a.bottom - 1 || b.left >= a.right - 1))
      bad.push(`${items[i].outerHTML.slice(0, 70)} is before ${items[i - 1].outerHTML.slice(0, 70)} on screen`);
  }
  return bad;
}"""


def assert_reading_order(container: Locator) -> None:
    """The indexed elements of ``container`` are laid out in the order Tab visits them."""
    out_of_order: list[str] = container.evaluate(READING_ORDER_JS)
    assert out_of_order == []


def tab_to(page: Page, target: Locator, limit: int = 12) -> int:
    """Press Tab until ``target`` has focus; returns the number of presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if target.evaluate("e => e === document.activeElement"):
            return presses
    raise AssertionError(f"{limit} presses of Tab never reached {target}")


# -- A. nothing before a choice; reject; withdrawal; GPC ---------------------------------------


def test_nothing_loads_or_is_stored_before_a_choice(session: Session) -> None:
    """R1, R2, R5, R9: with no decision only `session` is stored and no third party is contacted."""
    page = load_home(session)
    expect(banner(page)).to_be_visible()
    assert session.third_party() == []
    assert session.cookie_names() == {"session"}
    assert embed_states(page) == expected_embeds(set())  # the trackers are in the page, inert
    assert page.evaluate("document.documentElement.dataset.prefs") is None
    assert_undecided(page)


def test_reject_all_is_one_click_and_keeps_everything_out(new_session: SessionFactory) -> None:
    """R1, R5, R12, R15, R19: one click rejects; no tracker or cookie on this page, a reload or an article."""
    s = new_session()
    s.page.add_init_script(COUNT_CLICKS)
    page = load_home(s)
    banner_button(page, "reject_all").click()
    expect(banner(page)).to_be_hidden()
    expect(status_region(page)).to_have_text(TEXTS["en-US"]["saved"])
    s.settle()
    assert page.evaluate("window.__ccClicks") == 1
    assert len(s.posts("/_consent")) == 1
    state = server_state(page)
    assert state["decided"] is True
    assert granted(state) == set()
    assert s.cookie_names() == {"session", CONSENT_COOKIE}

    page.reload()
    s.settle()
    expect(banner(page)).to_have_count(0)  # R19: decided, so no banner
    assert embed_states(page) == expected_embeds(set())
    page.locator(f"main a[href='{ARTICLE}']").click()
    page.wait_for_url(s.url(ARTICLE))
    s.settle()
    expect(page.locator("main h1")).to_be_visible()  # R15: the article is served, no wall
    assert s.third_party() == []
    assert s.cookie_names() == {"session", CONSENT_COOKIE}


@pytest.mark.parametrize("via", ["preference-page", "settings-layer"])
def test_withdrawal_stops_trackers_and_expires_cookies(new_session: SessionFactory, via: str) -> None:
    """R32, R54: after Accept all, withdrawing stops every tracker and expires _ga, _fbp and lang."""
    s = new_session()
    page = load_home(s)
    with granting(page):
        banner_button(page, "accept_all").click()
    expect(status_region(page)).to_have_text(TEXTS["en-US"]["saved"])
    s.load("/")
    assert {"_ga", "_fbp", "lang"} <= s.cookie_names()  # what there is to withdraw

    start = s.mark()
    if via == "preference-page":
        s.load("/_consent/preferences?next=/")
        with page.expect_navigation(url=re.compile(r"/_consent/preferences")):
            page.locator("form[action$='/withdraw'] button[type=submit]").click()
    else:
        settings_button(page).click()
        expect(dialog(page)).to_be_visible()
        expect(toggle(page, "marketing")).to_be_checked()
        # A withdrawn category makes the script reload the page, so the server can expire its cookies.
        with page.expect_navigation(url=s.url("/")):
            dialog_button(page, "reject_all").click()
    s.load("/")

    assert s.third_party(since=start) == []
    assert s.cookie_names() & {"_ga", "_fbp", "lang"} == set()
    assert CONSENT_COOKIE in s.cookie_names()
    state = server_state(page)
    assert state["decided"] is True
    assert granted(state) == set()
    assert embed_states(page) == expected_embeds(set())


def test_gpc_accept_all_grants_analytics_but_never_marketing(new_session: SessionFactory) -> None:
    """R35, R37, R40, R45: with Sec-GPC: 1, Accept all (not a GPC override) loads analytics, never marketing."""
    s = new_session(extra_headers={"Sec-GPC": "1"})
    page = load_home(s)
    expect(page.locator(f"{BANNER} .cc-gpc")).to_be_visible()  # the honoured signal is shown (R40)
    assert s.third_party() == []
    with granting(page):
        banner_button(page, "accept_all").click()
    expect(status_region(page)).to_have_text(TEXTS["en-US"]["saved"])
    assert s.wait_for_request(on_host("www.googletagmanager.com")), "analytics was granted but gtag not loaded"
    expect(page.locator("html")).to_have_attribute("data-prefs", "loaded")
    s.settle()
    state = server_state(page)
    assert granted(state) == {"functional", "analytics"}, state
    s.load("/")

    contacted = hosts(s.third_party())
    assert contacted & MARKETING_HOSTS == set()
    assert contacted <= ANALYTICS_HOSTS, contacted - ANALYTICS_HOSTS
    assert embed_states(page) == expected_embeds({"functional", "analytics"})
    assert "_fbp" not in s.cookie_names()
    assert {"_ga", "lang"} <= s.cookie_names()
    # R45: every consent command on the page keeps the advertising types denied; analytics is granted.
    commands: list[list[Any]] = page.evaluate(
        "() => dataLayer.map(a => Array.from(a)).filter(a => a[0] === 'consent').map(a => [a[1], a[2]])"
    )
    assert [c[0] for c in commands] == ["default", "update"], commands
    for _, types in commands:
        assert {types[t] for t in ("ad_storage", "ad_user_data", "ad_personalization")} == {"denied"}, commands
    assert commands[1][1]["analytics_storage"] == "granted", commands


# -- accept all ------------------------------------------------------------------------------------


def test_accept_all_wakes_trackers_without_a_reload(new_session_without_csp: SessionFactory) -> None:
    """R5, R12: one click on Accept all starts gtag, the Pixel, YouTube and the functional script in place.

    Without the enforced Content-Security-Policy: under it, a grant reloads the page (see test_csp.py).
    """
    s = new_session_without_csp()
    s.page.add_init_script(COUNT_CLICKS)
    page = load_home(s)
    assert s.third_party() == []
    token = mark_page(page)
    banner_button(page, "accept_all").click()

    expect(page.locator("html")).to_have_attribute("data-prefs", "loaded")  # first-party functional script
    assert s.wait_for_request(on_host("www.googletagmanager.com")), s.third_party()
    assert s.wait_for_request(on_host("connect.facebook.net")), s.third_party()
    assert s.wait_for_request(lambda u: bool(YOUTUBE_EMBED.match(u))), s.third_party()
    expect(video(page)).to_have_attribute("src", YOUTUBE_EMBED)
    assert embed_states(page) == expected_embeds(set(OPTIONAL))
    # The same document all along: the marker survived and there was one navigation, one GET /.
    assert page.evaluate("window.__ccTestMarker") == token
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert [u for m, u in s.log if m == "GET" and u == s.url("/")] == [s.url("/")]
    assert page.evaluate("window.__ccClicks") == 1
    assert granted(server_state(page)) == set(OPTIONAL)

    s.load("/")  # the next navigation: the server lets them through
    names = s.cookie_names()
    assert {"_ga", "_fbp", "lang", CONSENT_COOKIE} <= names
    assert "x_unknown" not in names  # R2: undeclared cookies stay out even with every category granted
    assert embed_states(page) == expected_embeds(set(OPTIONAL))  # now active in the server's HTML


# -- R6: dismissing, scrolling, navigating grant nothing ---------------------------------------------


def _open_settings(page: Page) -> None:
    settings_control(page).click()
    expect(dialog(page)).to_be_visible()


def assert_nothing_granted(s: Session, after: str) -> None:
    """No decision on the server or in the page, no consent or tracking cookie, no third party."""
    s.settle()
    try:
        assert_undecided(s.page)
        assert s.posts("/_consent") == []
        assert s.cookie_names() == {"session"}
        assert s.third_party() == []
    except AssertionError as error:
        raise AssertionError(f"after {after}: {error}") from error


def test_escape_clicks_outside_scrolling_and_navigating_grant_nothing(new_session: SessionFactory) -> None:
    """R6: Escape (even on Accept all), clicks outside the banner, scrolling and navigating record nothing."""
    s = new_session(viewport={"width": 1280, "height": 600})
    page = load_home(s)
    banner_button(page, "accept_all").focus()
    page.keyboard.press("Escape")
    assert_nothing_granted(s, "Escape")
    page.locator("main h1").click()
    page.locator("main .lead").click()
    assert_nothing_granted(s, "clicks outside the banner")
    page.mouse.move(640, 200)
    page.mouse.wheel(0, 1200)
    page.wait_for_function("() => window.scrollY > 0")
    page.keyboard.press("End")
    assert_nothing_granted(s, "scrolling")
    expect(banner(page)).to_be_visible()
    page.locator(f"main a[href='{ARTICLE}']").click()
    page.wait_for_url(s.url(ARTICLE))
    s.settle()
    expect(banner(page)).to_be_visible()  # still asking on the next page
    assert_nothing_granted(s, "navigating to an article")


def test_dismissing_the_settings_layer_grants_nothing(new_session: SessionFactory) -> None:
    """R6: closing the settings layer with ×, Escape or a click on the backdrop saves nothing, even toggled."""
    s = new_session()
    page = load_home(s)
    dismissals: dict[str, Callable[[], None]] = {
        "×": lambda: page.locator(f"{DIALOG} [data-cc-close]").click(),
        "Escape": lambda: page.keyboard.press("Escape"),
        "a click on the backdrop": lambda: page.mouse.click(5, 5),  # around the centred dialog
    }
    for name, dismiss in dismissals.items():
        _open_settings(page)
        toggle(page, "analytics").check()
        toggle(page, "marketing").check()
        dismiss()
        expect(dialog(page)).to_be_hidden()
        expect(banner(page)).to_be_visible()
        assert_nothing_granted(s, name)


# -- R61 keyboard ---------------------------------------------------------------------------------


def test_tab_reaches_banner_controls_in_visual_order(new_session: SessionFactory) -> None:
    """R61: Tab visits every banner control in reading order on screen, wide and narrow."""
    s = new_session()
    page = s.page
    for width in (1280, 320):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(s.url("/"))
        animations_done(page)
        n = index_focusables(banner(page))
        assert n >= 3  # Accept all, Reject all, Settings (and the privacy link)
        seen: list[int] = []
        for _ in range(n + 4):
            page.keyboard.press("Tab")
            index = focused_index(page)
            if index >= 0:
                seen.append(index)
            elif seen:
                break  # focus has left the banner
        assert seen == list(range(n)), f"at {width} px Tab visited banner controls {seen} of {n}"
        assert_reading_order(banner(page))


@pytest.mark.parametrize("key", ["Enter", "Space"])
def test_keyboard_settings_dialog_focus_wrap_escape(new_session: SessionFactory, key: str) -> None:
    """R61: Settings opens by keyboard with focus on the heading; Tab wraps; Escape closes, grants nothing."""
    s = new_session()
    page = load_home(s)
    opener = settings_control(page)
    tab_to(page, opener)
    page.keyboard.press(key)
    expect(dialog(page)).to_be_visible()
    expect(page.locator(f"{DIALOG} h2")).to_be_focused()
    expect(dialog_button(page, "accept_all")).not_to_be_focused()
    animations_done(page)

    n = index_focusables(dialog(page))
    assert n >= 6  # ×, three optional toggles, Save, Accept all, Reject all at least
    for i in range(n):
        page.keyboard.press("Tab")
        assert focused_index(page) == i, f"Tab {i + 1} from the heading focused {focused_index(page)}, not {i}"
    page.keyboard.press("Tab")
    assert focused_index(page) == 0, "Tab from the last control does not wrap to the first"
    page.keyboard.press("Shift+Tab")
    assert focused_index(page) == n - 1, "Shift+Tab from the first control does not wrap to the last"
    page.keyboard.press("Shift+Tab")
    assert focused_index(page) == n - 2
    assert_reading_order(dialog(page))

    toggle(page, "marketing").focus()
    page.keyboard.press("Space")  # switched on, then abandoned
    expect(toggle(page, "marketing")).to_be_checked()
    page.keyboard.press("Escape")
    expect(dialog(page)).to_be_hidden()
    expect(opener).to_be_focused()  # focus is back on the control that opened the dialog
    assert_nothing_granted(s, "Escape in the settings layer")


@pytest.mark.parametrize(("key", "action"), [("Enter", "accept_all"), ("Space", "reject_all")])
def test_keyboard_activates_accept_and_reject(new_session: SessionFactory, key: str, action: str) -> None:
    """R61: Accept all and Reject all are reached by Tab and activated by Enter or Space."""
    s = new_session()
    page = load_home(s)
    tab_to(page, banner_button(page, action))
    if action == "accept_all":
        with granting(page):
            page.keyboard.press(key)
    else:
        page.keyboard.press(key)
    expect(banner(page)).to_be_hidden()
    expect(status_region(page)).to_have_text(TEXTS["en-US"]["saved"])
    state = server_state(page)
    assert state["decided"] is True
    assert granted(state) == (set(OPTIONAL) if action == "accept_all" else set())


@pytest.mark.parametrize("layer", ["banner", "settings-layer"])
def test_focus_moves_to_cookie_settings_when_the_banner_goes(new_session: SessionFactory, layer: str) -> None:
    """R61 (WCAG 2.4.3): a keyboard choice hides the control that had focus; focus must not fall to <body>.

    cookieconsent.js means to move it to the persistent "Cookie settings" button in both cases.
    """
    s = new_session()
    page = load_home(s)
    if layer == "banner":
        tab_to(page, banner_button(page, "reject_all"))
    else:
        tab_to(page, settings_control(page))
        page.keyboard.press("Enter")
        dialog_button(page, "reject_all").focus()
    page.keyboard.press("Enter")
    expect(banner(page)).to_be_hidden()
    expect(status_region(page)).to_have_text(TEXTS["en-US"]["saved"])
    expect(settings_button(page)).to_be_visible()
    # The script moves focus synchronously once the answer is in: 2 s is ample.
    expect(settings_button(page)).to_be_focused(timeout=2_000)


# -- R7, R16, R17, R64: the settings layer -------------------------------------------------------


def expect_toggles(page: Page, on: set[str]) -> None:
    for category in OPTIONAL:
        if category in on:
            expect(toggle(page, category)).to_be_checked()
        else:
            expect(toggle(page, category)).not_to_be_checked()


def test_settings_reopen_shows_the_stored_state(new_session: SessionFactory) -> None:
    """R7, R16, R17: toggles start off; Save stores exactly analytics; "Cookie settings" reopens on it."""
    s = new_session()
    page = load_home(s)
    _open_settings(page)
    expect_toggles(page, set())  # R7: nothing pre-ticked
    necessary = page.locator(f"{DIALOG} input[type=checkbox]:not([name])")
    expect(necessary).to_be_checked()
    expect(necessary).to_be_disabled()
    toggle(page, "analytics").check()
    with granting(page):
        dialog_button(page, "custom").click()
    expect(status_region(page)).to_have_text(TEXTS["en-US"]["saved"])
    expect(dialog(page)).to_be_hidden()
    expect(banner(page)).to_be_hidden()
    assert granted(server_state(page)) == {"analytics"}

    reopen = page.get_by_role("button", name="Cookie settings")
    expect(reopen).to_be_visible()
    reopen.click()
    expect(dialog(page)).to_be_visible()
    expect_toggles(page, {"analytics"})
    page.keyboard.press("Escape")

    page.reload()  # the stored state, as the server renders it
    s.settle()
    expect(banner(page)).to_have_count(0)
    reopen.click()
    expect(dialog(page)).to_be_visible()
    expect_toggles(page, {"analytics"})
    contacted = hosts(s.third_party())
    assert "www.googletagmanager.com" in contacted
    assert contacted <= ANALYTICS_HOSTS, contacted - ANALYTICS_HOSTS


def dialog_fetches(s: Session) -> list[str]:
    return [u for m, u in s.log if m == "GET" and u.split("?")[0] == s.url("/_consent/dialog")]


def test_a_decided_visitors_pages_fetch_the_settings_when_first_needed(new_session: SessionFactory) -> None:
    """R17, R61: without the dialog in the page, "Cookie settings" fetches it once and opens it as before."""
    s = new_session()
    page = load_home(s)
    with granting(page):
        banner_button(page, "accept_all").click()
    expect(status_region(page)).to_have_text(TEXTS["en-US"]["saved"])
    page.reload()
    s.settle()
    expect(banner(page)).to_have_count(0)
    expect(dialog(page)).to_have_count(0)  # not in the page
    assert dialog_fetches(s) == []  # nor fetched while nobody asks for it
    fab = settings_button(page)
    expect(fab).to_have_attribute("role", "button")
    fab.focus()  # focus alone fetches it, ahead of the key press
    assert s.wait_for_request(lambda u: u.startswith(s.url("/_consent/dialog"))) is not None
    page.keyboard.press("Enter")
    expect(dialog(page)).to_be_visible()
    expect(page.locator("#cc-dtitle")).to_be_focused()  # R61: the heading, not "Accept all"
    expect_toggles(page, set(OPTIONAL))  # the stored state
    page.keyboard.press("Escape")
    expect(dialog(page)).to_be_hidden()
    expect(fab).to_be_focused()  # R61: back to the control that opened it
    fab.click()
    expect(dialog(page)).to_be_visible()
    s.settle()
    assert len(dialog_fetches(s)) == 1


def test_settings_fall_back_to_the_preference_page_when_the_dialog_cannot_be_fetched(
    new_session: SessionFactory,
) -> None:
    s = new_session()
    page = load_home(s)
    banner_button(page, "reject_all").click()
    expect(status_region(page)).to_have_text(TEXTS["en-US"]["saved"])
    page.route("**/_consent/dialog*", lambda route: route.fulfill(status=503, body="unavailable"))
    page.reload()
    s.settle()
    settings_button(page).click()
    page.wait_for_url(re.compile(r"/_consent/preferences\?next=%2F$"))
    expect(page.locator("h1")).to_have_text("Privacy and cookie settings")


@pytest.mark.parametrize("locale", ["en-US", "zh-TW"])
def test_toggles_never_submit_and_save_is_announced(new_session: SessionFactory, locale: str) -> None:
    """R64, R16: switching toggles (mouse or Space) sends nothing; Save announces in a role=status region."""
    s = new_session(locale=locale)
    page = load_home(s)
    _open_settings(page)
    live = status_region(page)
    expect(live).to_have_attribute("role", "status")
    expect(live).to_be_empty()  # the live region exists before the message, so it is announced
    toggle(page, "functional").check()
    toggle(page, "marketing").check()
    toggle(page, "marketing").uncheck()
    toggle(page, "analytics").focus()
    page.keyboard.press("Space")
    expect(toggle(page, "analytics")).to_be_checked()
    s.settle()
    assert s.posts("/_consent") == []
    expect(dialog(page)).to_be_visible()
    assert_undecided(page)

    with granting(page):
        dialog_button(page, "custom").click()
    expect(live).to_have_text(TEXTS[locale]["saved"])
    assert len(s.posts("/_consent")) == 1
    assert granted(server_state(page)) == {"functional", "analytics"}


def test_saving_untouched_toggles_grants_nothing(new_session: SessionFactory) -> None:
    """R16: Save with every toggle left off records a decision that denies every optional category."""
    s = new_session()
    page = load_home(s)
    _open_settings(page)
    dialog_button(page, "custom").click()
    expect(status_region(page)).to_have_text(TEXTS["en-US"]["saved"])
    s.settle()
    state = server_state(page)
    assert state["decided"] is True
    assert granted(state) == set()
    assert s.third_party() == []


# -- R11, R13, R65: symmetry and contrast ---------------------------------------------------------


def style_of(element: Locator) -> dict[str, Any]:
    info: dict[str, Any] = element.evaluate(
        """e => { const s = getComputedStyle(e), r = e.getBoundingClientRect();
            return {tag: e.tagName, cls: e.className, fontSize: s.fontSize, fontWeight: s.fontWeight,
                    color: s.color, background: s.backgroundColor, border: s.borderTopColor,
                    borderWidth: parseFloat(s.borderTopWidth), width: r.width, height: r.height}; }"""
    )
    return info


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("locale", ["en-US", "zh-TW"])
def test_accept_and_reject_are_symmetric_with_enough_contrast(
    new_session: SessionFactory, locale: str, scheme: str
) -> None:
    """R11, R13, R65: same tag, class, font and size (±2 px); text ≥ 4.5:1 and boundary ≥ 3:1, light and dark."""
    s = new_session(locale=locale, color_scheme=scheme)
    page = load_home(s)
    animations_done(page)
    accept, reject = banner_button(page, "accept_all"), banner_button(page, "reject_all")
    expect(accept).to_have_text(TEXTS[locale]["accept_all"])
    expect(reject).to_have_text(TEXTS[locale]["reject_all"])
    expect(settings_control(page)).to_be_visible()
    a, r = style_of(accept), style_of(reject)
    assert a["tag"] == r["tag"] == "BUTTON"
    assert a["cls"] == r["cls"]
    assert (a["fontSize"], a["fontWeight"]) == (r["fontSize"], r["fontWeight"])
    assert abs(a["width"] - r["width"]) <= 2, (a["width"], r["width"])
    assert abs(a["height"] - r["height"]) <= 2, (a["height"], r["height"])

    canvas: RGBA = (255.0, 255.0, 255.0, 1.0) if scheme == "light" else (18.0, 18.0, 18.0, 1.0)
    ground = effective_background(banner(page), canvas)
    # The colour scheme really is the one asked for (the dark variant is not the light one).
    assert (luminance(ground) < 0.2) if scheme == "dark" else (luminance(ground) > 0.8), ground
    failures = []
    for name, control in [("accept", accept), ("reject", reject), ("settings", settings_control(page))]:
        st = style_of(control)
        fill = over(parse_color(st["background"]), ground)
        text = over(parse_color(st["color"]), fill)
        border = parse_color(st["border"])
        edge = over(border, ground) if st["borderWidth"] > 0 and border[3] > 0 else fill
        if contrast(text, fill) < 4.5:
            failures.append(f"{name}: text {contrast(text, fill):.2f}:1 < 4.5:1")
        if max(contrast(edge, ground), contrast(fill, ground)) < 3:
            failures.append(f"{name}: boundary {contrast(edge, ground):.2f}:1 < 3:1 against the banner")
    for part in ("#cc-title", "#cc-desc p", "#cc-desc a"):
        el = page.locator(f"{BANNER} {part}").first
        text = over(parse_color(style_of(el)["color"]), ground)
        if contrast(text, ground) < 4.5:
            failures.append(f"{part}: text {contrast(text, ground):.2f}:1 < 4.5:1")
    assert failures == []


# -- R63: target size, reflow, zoom -------------------------------------------------------------

#: Visible targets under ``root`` smaller than 24×24 CSS px, except links inside a sentence
#: (WCAG 2.5.8's inline exception: their height is the line's).
SMALL_TARGETS_JS = """(root, sel) => [...root.querySelectorAll(sel)]
  .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .filter(e => !(e.tagName === 'A' && e.parentElement.textContent.trim() !== e.textContent.trim()))
  .map(e => { const r = e.getBoundingClientRect();
              return {target: e.outerHTML.slice(0, 90), width: r.width, height: r.height}; })
  .filter(t => t.width < 24 - 0.01 || t.height < 24 - 0.01)"""


def test_every_banner_target_is_at_least_24px(new_session: SessionFactory) -> None:
    """R63 (WCAG 2.5.8): first layer, settings layer and the persistent button: every target ≥ 24×24."""
    s = new_session()
    page = load_home(s)
    animations_done(page)
    small: list[dict[str, Any]] = banner(page).evaluate(SMALL_TARGETS_JS, FOCUSABLE)
    _open_settings(page)
    animations_done(page)
    small += dialog(page).evaluate(SMALL_TARGETS_JS, FOCUSABLE)
    dialog_button(page, "reject_all").click()
    fab = settings_button(page)
    expect(fab).to_be_visible()
    box = fab.bounding_box()
    assert box is not None
    if box["width"] < 24 or box["height"] < 24:
        small.append({"target": "the persistent Cookie settings button", **box})
    assert small == [], "targets smaller than 24×24 CSS px:\n" + "\n".join(map(str, small))


#: (viewport, root font size): how each case is emulated.
#: - "320px": WCAG 1.4.10 reflow width.
#: - "zoom-200": a 1280×800 window at 200 % browser zoom has a 640×400 CSS px viewport, and media
#:   queries see 640 px; a 640×400 viewport reproduces that exactly. (``device_scale_factor`` only
#:   changes device pixels per CSS px, and CSS ``zoom`` on the root leaves the viewport and media
#:   queries at 1280 px, so neither is zoom.)
#: - "text-200": WCAG 1.4.4 resize text: the browser's text size at 200 % doubles the root font size,
#:   which every rem/em of the banner follows, at the same 1280 px layout width.
#: - "zoom-200+text-200": both at once, the harshest of the four.
ZOOM_CASES: dict[str, tuple[ViewportSize, str | None]] = {
    "320px": ({"width": 320, "height": 640}, None),
    "zoom-200": ({"width": 640, "height": 400}, None),
    "text-200": ({"width": 1280, "height": 800}, "200%"),
    "zoom-200+text-200": ({"width": 640, "height": 800}, "200%"),
}


def test_accept_and_reject_reachable_without_horizontal_scrolling(new_session: SessionFactory) -> None:
    """R63 (WCAG 1.4.10, 1.4.4): at 320 px and at 200 % zoom both choices can be reached, with no sideways scroll."""
    s = new_session()
    page = s.page
    for case, (viewport, font_size) in ZOOM_CASES.items():
        page.set_viewport_size(viewport)
        page.goto(s.url("/"))
        if font_size:
            before = float(style_of(banner_button(page, "accept_all"))["fontSize"].removesuffix("px"))
            page.evaluate("size => { document.documentElement.style.fontSize = size; }", font_size)
            after = float(style_of(banner_button(page, "accept_all"))["fontSize"].removesuffix("px"))
            assert after == pytest.approx(2 * before), case  # the emulation really doubled the text
        animations_done(page)
        overflow = page.evaluate(
            """() => { const d = document.documentElement, b = document.querySelector('#cookieconsent .cc-banner');
                return {page: [d.scrollWidth, d.clientWidth], banner: [b.scrollWidth, b.clientWidth]}; }"""
        )
        assert overflow["page"][0] <= overflow["page"][1], f"{case}: the page scrolls sideways: {overflow}"
        assert overflow["banner"][0] <= overflow["banner"][1], f"{case}: the banner scrolls sideways: {overflow}"
        for action in ("accept_all", "reject_all"):
            button = banner_button(page, action)
            button.scroll_into_view_if_needed()
            where = button.evaluate(
                """e => { const r = e.getBoundingClientRect(), x = (r.left + r.right) / 2, y = (r.top + r.bottom) / 2;
                    const hit = document.elementFromPoint(x, y);
                    return {inside: r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight,
                            onTop: !!hit && (hit === e || e.contains(hit)), scrollX: scrollX}; }"""
            )
            assert where == {"inside": True, "onTop": True, "scrollX": 0}, (case, action, where)


# -- R20: without JavaScript ---------------------------------------------------------------------


@pytest.mark.parametrize("action", ["accept_all", "reject_all", "save"])
def test_choices_work_without_javascript(new_session: SessionFactory, action: str) -> None:
    """R20: with JS off, Accept all, Reject all and Save (preference page) post a form and 303 back to /."""
    s = new_session(javascript=False)
    page = load_home(s)
    expect(banner(page)).to_be_visible()
    posted = re.compile(re.escape(s.url("/_consent")) + "$")
    if action == "save":
        settings_control(page).click()  # without the script, a link to the preference page
        page.wait_for_url(re.compile(r"/_consent/preferences\?next=/$"))
        boxes = page.locator("#ccp-form input[type=checkbox][name=category]")
        expect(boxes).to_have_count(len(OPTIONAL))
        for i in range(len(OPTIONAL)):
            expect(boxes.nth(i)).not_to_be_checked()  # R7
        page.locator("#ccp-form input[value=analytics]").check()
        submit = page.locator("#ccp-form button[value=custom]")
        expected = {"analytics"}
    else:
        submit = banner_button(page, action)
        expected = set(OPTIONAL) if action == "accept_all" else set()
    with (
        page.expect_response(lambda r: bool(posted.match(r.url)) and r.request.method == "POST") as answer,
        page.expect_navigation(url=s.url("/"), wait_until="load"),
    ):
        submit.click()
    assert answer.value.status == 303
    assert answer.value.headers["location"] == "/"

    expect(banner(page)).to_have_count(0)
    cookies = {"session", CONSENT_COOKIE}
    cookies |= {"lang"} if "functional" in expected else set()
    cookies |= {"_ga", DEVICE} if "analytics" in expected else set()  # the analytics device ID
    cookies |= {"_fbp"} if "marketing" in expected else set()
    assert s.cookie_names() == cookies
    assert embed_states(page) == expected_embeds(expected)


# -- contextual consent ---------------------------------------------------------------------------


def test_placeholder_loads_only_that_embed_for_this_page(new_session_without_csp: SessionFactory) -> None:
    """Contextual consent: "Load this content" starts that iframe only, records nothing, lasts one page.

    Without the enforced Content-Security-Policy, under which the button is not offered (see test_csp.py).
    """
    s = new_session_without_csp()
    page = load_home(s)
    placeholder = page.locator(".video .cc-placeholder")
    expect(placeholder).to_be_visible()
    start = s.mark()
    placeholder.locator("button[data-cc-load]").click()
    expect(video(page)).to_have_attribute("src", YOUTUBE_EMBED)
    assert s.wait_for_request(lambda u: bool(YOUTUBE_EMBED.match(u)))
    expect(placeholder).to_have_count(0)
    s.settle()
    assert hosts(s.third_party(since=start)) == {"www.youtube.com"}  # not gtag, not the Pixel
    assert_undecided(page)
    assert s.posts("/_consent") == []
    assert s.cookie_names() == {"session"}

    start = s.mark()
    page.reload()
    s.settle()
    expect(video(page)).not_to_have_attribute("src", YOUTUBE_EMBED)
    expect(page.locator(".video .cc-placeholder")).to_be_visible()
    assert s.third_party(since=start) == []
