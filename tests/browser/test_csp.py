"""The Content-Security-Policy per consent (R10) in a real browser, on a FastAPI app (uvicorn) and a Flask
app (Werkzeug): ``tests/csp_app.py``, served with ``COOKIECONSENT_CSP=enforce`` or ``report-only``.

Its page has a first-party inline script that assembles an analytics script's URL and a marketing
pixel's URL at run time: the HTML rewriter cannot see them, only the browser can stop them. Chromium
logs a request it blocks for a Content-Security-Policy too, failed with ``csp``, before anything is
sent; every other host fails to resolve here (see conftest). So "no request left the browser" is: every
attempt on the host failed with ``csp``; and "the host is allowed" is: an attempt failed otherwise.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from scripts.local_server import served
from tests.browser.conftest import ARTIFACTS, Session, open_session
from tests.browser.helpers import TEXTS, banner_button, host, status_region
from tests.csp_app import ANALYTICS_HOST, CDN_HOST, MARKETING_HOST

REPORT_PATH = "/_consent/csp-report"
SERVERS = {
    "fastapi": [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "tests.csp_app:fastapi_app",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--log-level",
        "warning",
    ],
    "flask": [sys.executable, "-m", "tests.csp_app", "--host", "127.0.0.1", "--port", "{port}"],
}
YOUTUBE = "www.youtube.com"
#: Every wait on the browser here gives up after this long.
WAIT_MS = 5_000


def serve(kind: str, mode: str) -> Iterator[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COOKIECONSENT_CSP": mode}
    with served(SERVERS[kind], ARTIFACTS / f"server-csp-{kind}-{mode}.log", env) as url:
        yield url


@pytest.fixture(scope="module", params=sorted(SERVERS))
def enforced(request: pytest.FixtureRequest) -> Iterator[str]:
    """The base URL of the test app with an enforced policy."""
    yield from serve(str(request.param), "enforce")


@pytest.fixture(scope="module", params=sorted(SERVERS))
def report_only(request: pytest.FixtureRequest) -> Iterator[str]:
    """The base URL of the test app with a report-only policy."""
    yield from serve(str(request.param), "report-only")


@dataclass
class Traffic:
    """What one browser context attempted: each request's failure, and the CSP reports it sent."""

    session: Session
    #: (URL, failure) of each request, in order; the failure is None until the request fails.
    attempts: list[list[Any]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    report_statuses: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        page = self.session.page
        page.on("request", self._request)
        page.on("requestfailed", self._failed)
        page.on("response", lambda r: self._response(r.url, r.status))

    def _request(self, request: Request) -> None:
        self.attempts.append([request.url, None, request])
        if request.method == "POST" and request.url == self.session.url(REPORT_PATH):
            self.reports.append(json.loads(request.post_data or "null"))

    def _failed(self, request: Request) -> None:
        for attempt in self.attempts:
            if attempt[2] is request:
                attempt[1] = request.failure

    def _response(self, url: str, status: int) -> None:
        if url == self.session.url(REPORT_PATH):
            self.report_statuses.append(status)

    def mark(self) -> int:
        return len(self.attempts)

    def on(self, name: str, since: int = 0) -> list[tuple[str, str | None]]:
        """The attempts on host ``name`` (from the ``since``-th on), with their failures."""
        return [(url, failure) for url, failure, _ in self.attempts[since:] if host(url) == name]

    def wait_for(self, name: str, since: int = 0, blocked: bool | None = None) -> list[tuple[str, str | None]]:
        """The attempts on ``name`` once one failed (``blocked``: by the policy, or not); waits at most WAIT_MS."""
        deadline = time.monotonic() + WAIT_MS / 1000
        while True:
            found = self.on(name, since)
            done = [f for _, f in found if f is not None and (blocked is None or (f == "csp") is blocked)]
            if done or time.monotonic() >= deadline:
                return found
            self.session.page.wait_for_timeout(50)

    def wait_for_report(self, directive_prefix: str, name: str, since: int = 0) -> dict[str, Any] | None:
        """The first report (from the ``since``-th on) of a ``directive_prefix…`` violation on ``name``."""
        deadline = time.monotonic() + WAIT_MS / 1000
        while True:
            for report in self.reports[since:]:
                body = report.get("csp-report", {}) if isinstance(report, dict) else {}
                directive, blocked = body.get("effective-directive", ""), body.get("blocked-uri", "")
                if directive.startswith(directive_prefix) and host(blocked) == name:
                    return dict(body)
            if time.monotonic() >= deadline:
                return None
            self.session.page.wait_for_timeout(50)


@pytest.fixture
def open_traffic(browser: Browser) -> Iterator[Any]:
    opened: list[Session] = []

    def make(base: str, **options: Any) -> Traffic:
        s = open_session(browser, base, **options)
        opened.append(s)
        return Traffic(s)

    yield make
    for s in opened:
        s.context.close()


def server_counts(s: Session) -> dict[tuple[str, str], int]:
    """What the server counted (``CSPReports.counts()``), read through the test app."""
    rows = s.context.request.get(s.url("/csp-counts")).json()
    return {(d, src): n for d, src, n in rows}


def assert_own_code_ran(page: Page) -> None:
    """The page's inline script, inline style element and style attribute all took effect."""
    expect(page.locator("html")).to_have_attribute("data-ran", "yes")
    expect(page.locator("#styled")).to_have_css("color", "rgb(0, 128, 0)")
    expect(page.locator("#inline-style")).to_have_css("font-style", "italic")


def assert_blocked_by_the_browser(t: Traffic, name: str, since: int = 0) -> None:
    """The page tried ``name`` and the browser stopped every attempt before sending anything."""
    attempts = t.wait_for(name, since, blocked=True)
    assert attempts, f"the page never tried {name}: {t.attempts[since:]}"
    t.session.settle()
    assert [f for _, f in t.on(name, since)] == ["csp"] * len(t.on(name, since)), t.on(name, since)


def assert_allowed(t: Traffic, name: str, since: int = 0) -> None:
    """A request to ``name`` left the browser (it fails only because no host resolves here)."""
    attempts = t.wait_for(name, since, blocked=False)
    assert any(f not in (None, "csp") for _, f in attempts), attempts


# -- enforce ----------------------------------------------------------------------------------------


def test_before_a_decision_a_tracker_built_at_run_time_is_blocked_and_reported(
    enforced: str, open_traffic: Any
) -> None:
    """R10: the rewriter cannot see the URLs; the browser blocks them, reports them, and the server counts them."""
    t = open_traffic(enforced)
    page = t.session.load("/")
    assert_own_code_ran(page)
    assert_blocked_by_the_browser(t, ANALYTICS_HOST)
    assert_blocked_by_the_browser(t, MARKETING_HOST)
    assert_allowed(t, CDN_HOST)  # necessary's host: always allowed
    assert t.on(YOUTUBE) == []  # the embed is inert (the rewriter's work), and the policy would stop it

    report = t.wait_for_report("script-src", ANALYTICS_HOST)
    assert report is not None, t.reports
    assert report["disposition"] == "enforce"
    assert t.wait_for_report("img-src", MARKETING_HOST) is not None, t.reports
    t.session.settle()
    assert t.report_statuses
    assert set(t.report_statuses) == {204}
    counts = server_counts(t.session)
    assert counts.get(("script-src-elem", ANALYTICS_HOST), 0) >= 1, counts
    assert counts.get(("img-src", MARKETING_HOST), 0) >= 1, counts


def test_after_reject_all_it_stays_blocked(enforced: str, open_traffic: Any) -> None:
    t = open_traffic(enforced)
    page = t.session.load("/")
    banner_button(page, "reject_all").click()
    expect(status_region(page)).to_have_text(TEXTS["en-US"]["saved"])
    assert page.evaluate("performance.getEntriesByType('navigation')[0].type") == "navigate"  # no reload
    start, reports = t.mark(), len(t.reports)
    t.session.load("/")
    assert_own_code_ran(page)
    assert_blocked_by_the_browser(t, ANALYTICS_HOST, start)
    assert_blocked_by_the_browser(t, MARKETING_HOST, start)
    assert t.wait_for_report("script-src", ANALYTICS_HOST, since=reports) is not None, t.reports


def test_after_accept_all_and_the_reload_the_granted_hosts_are_allowed(enforced: str, open_traffic: Any) -> None:
    t = open_traffic(enforced)
    page = t.session.load("/")
    assert_blocked_by_the_browser(t, ANALYTICS_HOST)
    start = t.mark()
    with page.expect_navigation(timeout=WAIT_MS):  # the page's policy was made for "no decision": reload
        banner_button(page, "accept_all").click()
    page.wait_for_load_state("load")
    assert page.evaluate("performance.getEntriesByType('navigation')[0].type") == "reload"
    expect(status_region(page)).to_have_text(TEXTS["en-US"]["saved"])  # said again on the reloaded page
    assert_own_code_ran(page)
    assert_allowed(t, ANALYTICS_HOST, start)
    assert_allowed(t, MARKETING_HOST, start)
    assert_allowed(t, YOUTUBE, start)  # the embed, now sent as written, in a frame the policy allows
    t.session.settle()
    assert all(f != "csp" for _, f in t.on(ANALYTICS_HOST, start) + t.on(MARKETING_HOST, start))


def test_under_gpc_marketing_stays_blocked_after_accept_all(enforced: str, open_traffic: Any) -> None:
    t = open_traffic(enforced, extra_headers={"Sec-GPC": "1"})
    page = t.session.load("/")
    assert_blocked_by_the_browser(t, ANALYTICS_HOST)
    assert_blocked_by_the_browser(t, MARKETING_HOST)
    start, reports = t.mark(), len(t.reports)
    with page.expect_navigation(timeout=WAIT_MS):  # analytics is granted: reload
        banner_button(page, "accept_all").click()
    page.wait_for_load_state("load")
    assert_allowed(t, ANALYTICS_HOST, start)
    assert_blocked_by_the_browser(t, MARKETING_HOST, start)  # GPC refuses marketing: its host stays out
    assert t.wait_for_report("img-src", MARKETING_HOST, since=reports) is not None, t.reports


def test_placeholders_offer_only_always_allow_which_reloads(enforced: str, open_traffic: Any) -> None:
    t = open_traffic(enforced)
    page = t.session.load("/")
    placeholder = page.locator(".cc-placeholder")
    expect(placeholder).to_be_visible()
    expect(placeholder.locator("[data-cc-load]")).to_have_count(0)  # the policy would block the frame
    start = t.mark()
    with page.expect_navigation(timeout=WAIT_MS):
        placeholder.locator("[data-cc-allow=marketing]").click()
    page.wait_for_load_state("load")
    assert_allowed(t, YOUTUBE, start)
    assert_allowed(t, MARKETING_HOST, start)
    assert_blocked_by_the_browser(t, ANALYTICS_HOST, start)  # only marketing was granted


def test_the_app_s_own_nonce_policy_and_ours_both_hold(enforced: str, open_traffic: Any) -> None:
    """/strict sends the app's own policy (scripts by nonce): its scripts and the banner still work."""
    t = open_traffic(enforced)
    page = t.session.load("/strict")
    expect(page.locator("html")).to_have_attribute("data-ran", "yes")  # the app's nonce passes both policies
    assert_blocked_by_the_browser(t, ANALYTICS_HOST)  # 'strict-dynamic' in the app's policy; ours still says no
    start = t.mark()
    with page.expect_navigation(timeout=WAIT_MS):
        banner_button(page, "accept_all").click()  # the banner script carries the app's nonce
    page.wait_for_load_state("load")
    assert_allowed(t, ANALYTICS_HOST, start)


# -- report-only ------------------------------------------------------------------------------------


def test_report_only_reports_the_host_and_directive_without_blocking(report_only: str, open_traffic: Any) -> None:
    t = open_traffic(report_only)
    page = t.session.load("/")
    assert_own_code_ran(page)
    assert_allowed(t, ANALYTICS_HOST)  # reported, not blocked
    report = t.wait_for_report("script-src", ANALYTICS_HOST)
    assert report is not None, t.reports
    assert report["disposition"] == "report"
    assert report["blocked-uri"].startswith(f"https://{ANALYTICS_HOST}/")
    pixel = t.wait_for_report("img-src", MARKETING_HOST)
    assert pixel is not None, t.reports
    t.session.settle()
    assert set(t.report_statuses) == {204}
    counts = server_counts(t.session)
    assert counts.get(("script-src-elem", ANALYTICS_HOST), 0) >= 1, counts
    assert counts.get(("img-src", MARKETING_HOST), 0) >= 1, counts
    # Without an enforced policy, a grant wakes the page in place, as before: no reload.
    banner_button(page, "accept_all").click()
    expect(status_region(page)).to_have_text(TEXTS["en-US"]["saved"])
    assert page.evaluate("performance.getEntriesByType('navigation')[0].type") == "navigate"
