"""The rewriter judged by Chromium: no attack page of ``tests/vectors.py`` reaches a tracker unconsented.

Each vector page is served through the consent middleware by a real server, on both adapters (FastAPI
under uvicorn, Flask under gunicorn), and loaded in Debian's Chromium, which resolves every host but
127.0.0.1 to "not found": every attempt to reach a tracker shows in the context's request log
(subframes, ``data:`` documents and pings included) and nothing leaves the machine. The browser is the
oracle: a vector leaks if Chromium requests any host other than 127.0.0.1 for it.

States, each in a fresh browser context per app:

- ``undecided``: no decision yet;
- ``reject-all``: after the banner's "Reject all" button;
- ``gpc``: ``Sec-GPC: 1`` on every request, no decision;
- ``accept-all``: after "Accept all", the positive control: every vector not marked ``inert`` in the
  corpus must reach its tracker (else it proves nothing when it stays silent in the other states), and
  every vector marked ``inert`` must indeed stay silent (else the mark is stale).

The vector pages load side by side in the tabs of one context (see :func:`observe`), and every wait is
bounded.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from scripts.local_server import served
from tests.browser.conftest import ACTION_TIMEOUT_MS, ARTIFACTS
from tests.browser.helpers import OPTIONAL, granted, server_state
from tests.vector_app import CONSENT_COOKIE
from tests.vectors import CLASSES, PAGE_OF, PAGES, VECTORS, Page, vector_of

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Request
    from playwright.sync_api import Page as Tab

SERVERS = {
    "fastapi": [
        sys.executable,
        *("-m", "uvicorn", "tests.vector_app:fastapi_app"),
        *("--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning"),
    ],
    "flask": [
        sys.executable,
        *("-m", "gunicorn", "tests.vector_app:flask_app"),
        *("--bind", "127.0.0.1:{port}", "--workers", "1", "--threads", "16", "--log-level", "warning"),
    ],
}
STATES = ("undecided", "reject-all", "gpc", "accept-all")
#: How many vector pages load side by side (tabs of one context).
TABS = 6
#: How long a tab may take to fire its load event.
LOAD_TIMEOUT_MS = 10_000
#: How long a loaded page must start no request before it counts as done.
QUIET_MS = 300
#: How long a page may keep its tab in all (a page that never goes quiet is abandoned, as an error).
PAGE_TIMEOUT_MS = 30_000
BANNER_BUTTON = "#cookieconsent .cc-banner button[value={action}]"


@dataclass(frozen=True, slots=True)
class Seen:
    """A request Chromium made to a host other than 127.0.0.1."""

    url: str
    resource_type: str
    #: The vector named in the URL, else ``page:<name>`` of the tab it came from (or ``?``).
    vector: str


@dataclass
class Observation:
    """What Chromium did in one state: the requests that left 127.0.0.1, and what went wrong loading."""

    state: str
    seen: list[Seen] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def by_vector(self) -> dict[str, list[Seen]]:
        found: dict[str, list[Seen]] = {}
        for s in self.seen:
            found.setdefault(s.vector, []).append(s)
        return found


@dataclass(eq=False)
class Slot:
    """A browser tab and the vector page it is busy with (``None``: free)."""

    tab: Tab
    page: Page | None = None
    started: float = 0.0
    loaded: bool = False
    clicked: bool = False
    #: When this tab last started a request, loaded, or was clicked.
    last: float = 0.0


def is_local(url: str) -> bool:
    """Whether ``url`` stays on the machine: 127.0.0.1, or no network at all (``data:``, ``blob:``…)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss"):
        return True
    return parts.hostname == "127.0.0.1"


@pytest.fixture(scope="module", params=sorted(SERVERS))
def vector_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(app name, base URL) of ``tests.vector_app`` served by a real server."""
    name = str(request.param)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with served(SERVERS[name], ARTIFACTS / f"server-vectors-{name}.log", env) as url:
        yield name, url


def observe(browser: Browser, base: str, state: str) -> Observation:
    """Load every vector page on ``base`` in ``state`` in a fresh context; what left 127.0.0.1.

    The pages load side by side in :data:`TABS` tabs: a tab takes the next page once its page has
    fired its load event and started no request for :data:`QUIET_MS` (then once more after the
    clicks its page asks for). A page that must be in front (see ``Page.foreground``) or be clicked
    loads alone, so that no other tab takes the front from it.
    """
    started = time.monotonic()
    obs = Observation(state)
    headers = {"Sec-GPC": "1"} if state == "gpc" else {}
    context = browser.new_context(locale="en-US", extra_http_headers=headers)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
    slots: dict[Tab, Slot] = {}

    def on_request(request: Request) -> None:
        try:
            slot = slots.get(request.frame.page)
        except Exception:  # a request of no frame (a service worker's)
            slot = None
        if slot is not None:
            slot.last = time.monotonic()
        url = request.url
        if is_local(url):
            return
        vector = vector_of(url)
        if vector is None:
            vector = f"page:{slot.page.name if slot is not None and slot.page is not None else '?'}"
        obs.seen.append(Seen(url, request.resource_type, vector))

    context.on("request", on_request)
    try:
        enter_state(context, base, state)
        for _ in range(min(TABS, len(PAGES))):
            tab = context.new_page()
            slot = slots[tab] = Slot(tab)
            tab.on("load", on_load(slot))
        load_all(base, list(slots.values()), obs)
    finally:
        context.close()
    obs.seconds = time.monotonic() - started
    return obs


def loaded(slot: Slot) -> None:
    slot.loaded = True
    slot.last = time.monotonic()


def on_load(slot: Slot) -> Callable[[Tab], None]:
    """A listener for the load event of ``slot``'s tab."""
    return lambda _tab: loaded(slot)


def alone(page: Page) -> bool:
    """Whether ``page`` needs the front tab: for speculation rules, or for clicks."""
    return page.foreground or any(v.click for v in page.vectors)


def load_all(base: str, slots: list[Slot], obs: Observation) -> None:
    """Load every vector page in the free tabs of ``slots`` (each page's waits are bounded)."""
    queue = list(PAGES)
    while queue or any(slot.page is not None for slot in slots):
        for slot in slots:
            if slot.page is not None:
                advance(slot, obs)
            elif queue and may_start(queue[0], slots):
                start(base, slot, queue.pop(0), obs)
        slots[0].tab.wait_for_timeout(25)  # lets Playwright deliver the events meanwhile


def may_start(page: Page, slots: list[Slot]) -> bool:
    """Whether ``page`` may load now: a page that loads alone waits for the others, and they for it."""
    busy = [slot.page for slot in slots if slot.page is not None]
    return not busy or not (alone(page) or any(alone(other) for other in busy))


def start(base: str, slot: Slot, page: Page, obs: Observation) -> None:
    """Send ``slot``'s tab to ``page``, waiting only for the response to begin."""
    slot.page, slot.loaded, slot.clicked = page, False, False
    slot.started = slot.last = time.monotonic()
    if alone(page):
        slot.tab.bring_to_front()  # a tab behind others runs no speculation rules, gets no animation frames
    try:
        response = slot.tab.goto(base + page.path, wait_until="commit")
    except Exception as exc:
        obs.errors.append(f"{page.name}: {exc}")
        slot.page = None
        return
    if response is None or response.status != 200:
        obs.errors.append(f"{page.name}: status {None if response is None else response.status}")


def advance(slot: Slot, obs: Observation) -> None:
    """Free ``slot`` once its page is loaded and quiet (clicking its links first, if it has any)."""
    page = slot.page
    assert page is not None
    now = time.monotonic()
    if now - slot.started > PAGE_TIMEOUT_MS / 1000:
        obs.errors.append(f"{page.name}: still busy after {PAGE_TIMEOUT_MS} ms")
        slot.page = None
        return
    if not slot.loaded:
        if now - slot.started > LOAD_TIMEOUT_MS / 1000:
            obs.errors.append(f"{page.name}: no load event in {LOAD_TIMEOUT_MS} ms")
            loaded(slot)
        return
    if (now - slot.last) * 1000 < QUIET_MS:
        return
    targets = [v for v in page.vectors if v.click]
    if targets and not slot.clicked:
        slot.clicked = True
        for vector in targets:
            link = slot.tab.locator(f'[data-ccv-click="{vector.id}"]')
            # A rewriter may drop or replace the element: then there is nothing to click.
            if link.count() == 1:
                try:
                    link.click(timeout=3_000)
                except Exception as exc:
                    obs.errors.append(f"{vector.id}: could not click its link ({exc})")
        slot.last = time.monotonic()
        return
    slot.page = None


#: What the server must report in each state: (decided, granted categories, GPC signal).
EXPECTED = {
    "undecided": (False, set(), False),
    "reject-all": (True, set(), False),
    "gpc": (False, set(), True),
    "accept-all": (True, set(OPTIONAL), False),
}


def enter_state(context: BrowserContext, base: str, state: str) -> None:
    """Open the app's plain page; click "Reject all" or "Accept all" if ``state`` says so; check the server agrees."""
    tab = context.new_page()
    tab.goto(base + "/", wait_until="load")
    if state in ("reject-all", "accept-all"):
        action = state.replace("-", "_")
        tab.locator(BANNER_BUTTON.format(action=action)).click()
        deadline = time.monotonic() + 5
        while not any(c["name"] == CONSENT_COOKIE for c in context.cookies()):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {CONSENT_COOKIE} cookie after clicking {action}")
            tab.wait_for_timeout(50)
    server = server_state(tab)
    assert (server["decided"], granted(server), server["gpc"]) == EXPECTED[state], f"{state}: the server says {server}"
    tab.close()


def report(obs: Observation, app: str) -> dict[str, list[Seen]]:
    """Write the observation to ``test-results/vectors-<app>-<state>.json``; the requests by vector."""
    found = obs.by_vector()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    data = {
        "app": app,
        "state": obs.state,
        "seconds": round(obs.seconds, 2),
        "errors": obs.errors,
        "requests": {k: [{"url": s.url, "type": s.resource_type} for s in v] for k, v in sorted(found.items())},
    }
    (ARTIFACTS / f"vectors-{app}-{obs.state}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False))
    return found


def describe(found: dict[str, list[Seen]], state: str) -> str:
    """The leaking vectors, grouped by class, each with the first request Chromium made for it."""
    lines = []
    for cls in (*CLASSES, "page"):
        ids = sorted(k for k in found if k.split(".", 1)[0] == cls or (cls == "page" and k.startswith("page:")))
        if not ids:
            continue
        lines.append(f"-- {cls}: {len(ids)}")
        for vid in ids:
            where = "" if vid.startswith("page:") else f" (page {PAGE_OF[vid].name})" if vid in PAGE_OF else ""
            first = found[vid][0]
            lines.append(f"{vid} [{state}]{where}: {first.resource_type} {first.url}")
    return "\n".join(lines)


@pytest.mark.parametrize("state", STATES[:3])
def test_no_tracker_request_unconsented(browser: Browser, vector_server: tuple[str, str], state: str) -> None:
    """Before a decision, after "Reject all" and under GPC, no vector makes Chromium leave 127.0.0.1."""
    app, base = vector_server
    obs = observe(browser, base, state)
    found = report(obs, app)
    assert not obs.errors, "vector pages did not load:\n" + "\n".join(obs.errors)
    assert not found, f"{len(found)} vectors reached a tracker on {app} ({state}):\n" + describe(found, state)


def test_vectors_are_live_after_accept_all(browser: Browser, vector_server: tuple[str, str]) -> None:
    """After "Accept all" each live vector reaches its tracker, and each one marked inert stays silent."""
    app, base = vector_server
    obs = observe(browser, base, "accept-all")
    found = report(obs, app)
    assert not obs.errors, "vector pages did not load:\n" + "\n".join(obs.errors)
    dead = [v for v in VECTORS.values() if v.inert is None and v.id not in found]
    stale = [v for v in VECTORS.values() if v.inert is not None and v.id in found]
    problems = [f"{v.id} (page {PAGE_OF[v.id].name}): no request to its tracker" for v in dead]
    problems += [f"{v.id}: marked inert ({v.inert}) but Chromium requested {found[v.id][0].url}" for v in stale]
    assert not problems, f"the positive control fails on {app}:\n" + "\n".join(problems)
