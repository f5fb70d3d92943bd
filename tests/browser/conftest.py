"""Real-browser fixtures: each demo app served by a real server, and Debian's Chromium driven by Playwright.

The demo apps send an enforced Content-Security-Policy per consent (their default): a decision that
grants a category reloads the page. Tests of what happens in the page without a reload use the same
apps with the policy off (``live_server_without_csp``, ``new_session_without_csp``).

The browser resolves every host but 127.0.0.1 to "not found" (see ``scripts/local_server.py``), so a
page that tries to reach a tracker shows the attempt in the request log without anything leaving the
machine.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from scripts.local_server import CHROMIUM_ARGS, served
from tests.harness import require_tool

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Request

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-results"
#: Every wait in these tests is bounded: Playwright actions and ``expect`` give up after these.
ACTION_TIMEOUT_MS = 10_000
EXPECT_TIMEOUT_MS = 5_000
SERVERS = {
    "fastapi": [
        sys.executable,
        "-m",
        "uvicorn",
        "examples.fastapi_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--log-level",
        "warning",
    ],
    "flask": [
        sys.executable,
        "-m",
        "examples.serve",
        "--framework",
        "flask",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
    ],
}


def serve_demo(kind: str, csp: str, tmp_path_factory: pytest.TempPathFactory) -> contextlib.AbstractContextManager[str]:
    """Serve the ``kind`` demo app with ``COOKIECONSENT_CSP=csp``; its output goes to ``test-results/``."""
    name = kind if csp == "enforce" else f"{kind}-csp-{csp}"
    # A store of its own: the in-process tests count what the demo apps write to theirs.
    store = tmp_path_factory.mktemp(f"live-{name}") / "records.db"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COOKIECONSENT_STORE": str(store), "COOKIECONSENT_CSP": csp}
    return served(SERVERS[kind], ARTIFACTS / f"server-{name}.log", env)


@pytest.fixture(scope="session", params=sorted(SERVERS))
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of one demo app served by a real server (uvicorn, or Werkzeug's threaded server).

    The app sends its enforced Content-Security-Policy per consent. The server's output goes to
    ``test-results/server-<app>.log``: not to a pipe, which nobody reads while the tests run
    (Werkzeug logs every request, and a full pipe would block the server).
    """
    with serve_demo(str(request.param), "enforce", tmp_path_factory) as url:
        yield url


@pytest.fixture(scope="session", params=sorted(SERVERS))
def live_server_without_csp(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One demo app as ``live_server`` serves it, without the Content-Security-Policy (``COOKIECONSENT_CSP=off``).

    For what the banner script does in the page itself: without the policy, a grant wakes the
    category's trackers in place, and "Load this content" loads one embed, with no reload.
    """
    with serve_demo(str(request.param), "off", tmp_path_factory) as url:
        yield url


@pytest.fixture
def server_name(request: pytest.FixtureRequest, live_server: str) -> str:
    """Which demo app ``live_server`` serves ("fastapi" or "flask"), for artifact names."""
    return str(request.node.callspec.params["live_server"])


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, started once for the session."""
    chromium = require_tool("chromium", os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@dataclass
class Session:
    """A browser context on one demo app, with every request it made."""

    base: str
    context: BrowserContext
    page: Page
    requests: list[str] = field(default_factory=list)
    #: (method, URL) of every request, in the order the browser issued them.
    log: list[tuple[str, str]] = field(default_factory=list)
    inflight: int = 0
    last_activity: float = field(default_factory=time.monotonic)

    def url(self, path: str) -> str:
        return self.base + path

    def _started(self, request: Request) -> None:
        self.requests.append(request.url)
        self.log.append((request.method, request.url))
        self.inflight += 1
        self.last_activity = time.monotonic()

    def _ended(self, request: Request) -> None:
        self.inflight = max(0, self.inflight - 1)
        self.last_activity = time.monotonic()

    def settle(self, quiet_ms: int = 300, timeout_ms: int = 5_000) -> None:
        """Wait until no request has been in flight for ``quiet_ms`` (at most ``timeout_ms``).

        ``wait_for_load_state("networkidle")`` is fired once per document, so it cannot tell whether a
        click made the page send something: this is the bounded "nothing more happened" wait.
        """
        deadline = time.monotonic() + timeout_ms / 1000
        while time.monotonic() < deadline:
            quiet_for = time.monotonic() - self.last_activity
            if self.inflight == 0 and quiet_for * 1000 >= quiet_ms:
                return
            self.page.wait_for_timeout(50)

    def load(self, path: str = "/") -> Page:
        """Go to ``path`` on the app and wait for the load event, then for the network to go quiet."""
        self.page.goto(self.url(path), wait_until="load")
        self.settle()
        return self.page

    def wait_for_request(self, predicate: Callable[[str], bool], timeout_ms: int = 5_000) -> str | None:
        """The first logged request URL that satisfies ``predicate``, waiting up to ``timeout_ms``."""
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            found = next((u for u in self.requests if predicate(u)), None)
            if found is not None or time.monotonic() >= deadline:
                return found
            self.page.wait_for_timeout(50)

    def posts(self, path: str) -> list[str]:
        """The POST requests this session sent to ``path`` on the app."""
        return [u for m, u in self.log if m == "POST" and u.split("?")[0] == self.base + path]

    def third_party(self, since: int = 0) -> list[str]:
        """Requests to any host other than the app's (from the ``since``-th request on)."""
        return [u for u in self.requests[since:] if not u.startswith(self.base) and not u.startswith("data:")]

    def mark(self) -> int:
        """A bookmark in the request log, for ``third_party(since=…)``."""
        return len(self.requests)

    def cookie_names(self) -> set[str]:
        return {c["name"] for c in self.context.cookies()}


def open_session(
    browser: Browser,
    base: str,
    *,
    locale: str = "en-US",
    javascript: bool = True,
    extra_headers: dict[str, str] | None = None,
    **options: Any,
) -> Session:
    context = browser.new_context(
        locale=locale, java_script_enabled=javascript, extra_http_headers=extra_headers or {}, **options
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    session = Session(base, context, page)
    page.on("request", session._started)
    page.on("requestfinished", session._ended)
    page.on("requestfailed", session._ended)
    return session


@pytest.fixture
def session(browser: Browser, live_server: str) -> Iterator[Session]:
    s = open_session(browser, live_server)
    yield s
    s.context.close()


SessionFactory = Callable[..., Session]


def session_factory(browser: Browser, base: str) -> Iterator[SessionFactory]:
    """Opens sessions on ``base`` with ``open_session``'s options; closes them at the end."""
    opened: list[Session] = []

    def make(**options: Any) -> Session:
        s = open_session(browser, base, **options)
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.context.close()


@pytest.fixture
def new_session(browser: Browser, live_server: str) -> Iterator[SessionFactory]:
    """Opens sessions on ``live_server`` with ``open_session``'s options; closes them after the test."""
    yield from session_factory(browser, live_server)


@pytest.fixture
def new_session_without_csp(browser: Browser, live_server_without_csp: str) -> Iterator[SessionFactory]:
    """Opens sessions on ``live_server_without_csp``, as ``new_session`` does on ``live_server``."""
    yield from session_factory(browser, live_server_without_csp)
