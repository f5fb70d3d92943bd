"""The consent audit (R67): a running site checked in a real browser against its own policy.

``cookieconsent audit URL`` drives headless Chromium (through Playwright, the ``audit`` extra) over the
start page and the same-origin pages linked from it, under four profiles:

- ``no-choice``: a first visit, no decision made;
- ``reject-all``: after clicking "Reject all" in the banner (or posting the decision when the page
  shows no banner);
- ``gpc``: no decision made, every request carrying ``Sec-GPC: 1``;
- ``accept-all``: after "Accept all"; reported (what the site stores and contacts when allowed), never
  a failure.

In the first three, every cookie (set by a response or by a script), every ``localStorage`` and
``sessionStorage`` key and every request to another host is checked against the declarations the
site serves at ``GET /_consent/policy.json``:

- a cookie passes if the policy declares it (by name or pattern) in a required category
  (``necessary``), or it is the library's consent cookie;
- a storage key passes if the policy declares a cookie of that name or pattern as necessary (the
  cookie table covers every kind of storage on the device: ePrivacy Art. 5(3) treats them alike), or
  it matches an ``--allow-storage`` pattern; the library's own banner script stores nothing;
- a request passes if it goes to the site's own host, or to an ``--allow-host`` host (or a
  subdomain of one).

Everything else is a violation, named with its profile and page. The browser is the one on the
machine (:func:`find_browser`); nothing is ever downloaded. Every page load has a timeout and the
whole run a time limit.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from cookieconsent.blocking.trackers import Catalog
from cookieconsent.errors import CookieConsentError

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Request

__all__ = [
    "BROWSER_ENV",
    "PROFILES",
    "AuditError",
    "AuditOptions",
    "AuditReport",
    "CookieDeclaration",
    "Declarations",
    "Finding",
    "Profile",
    "ProfileResult",
    "find_browser",
    "format_report",
    "report_data",
    "run_audit",
    "run_command",
    "same_origin_links",
    "third_party_host",
]

#: The environment variable naming the browser when ``--browser`` is not given.
BROWSER_ENV = "COOKIECONSENT_BROWSER"
#: Where the browser is looked for, in order, after ``--browser`` and :data:`BROWSER_ENV`.
BROWSER_PATHS = ("/usr/bin/chromium",)
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Switches that keep the browser from contacting anything on its own account.
CHROMIUM_ARGS = (
    "--headless",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
#: Links to files are not pages: they are left out of the crawl.
FILE_SUFFIXES = (
    *(".json", ".xml", ".txt", ".csv", ".pdf", ".zip", ".gz", ".css", ".js"),
    *(".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".ico", ".mp3", ".mp4", ".webm"),
)
#: How long the network must stay quiet after a page's load event before it is inspected, and the
#: longest wait for that (seconds).
QUIET = 0.5
SETTLE_LIMIT = 5.0
_INSTALL_HINT = "install Debian's `chromium` package or pass --browser PATH (or set $" + BROWSER_ENV + ")"
#: Cookie name prefixes browsers enforce; a declared name also covers the name with one of them.
_PREFIXES = ("__Host-", "__Secure-")
_STORAGE_KEYS = """() => {
  const out = [];
  for (const kind of ["localStorage", "sessionStorage"]) {
    try {
      const store = window[kind];
      for (let i = 0; i < store.length; i++) out.push([kind, store.key(i)]);
    } catch (e) { /* storage denied in this frame */ }
  }
  return [location.origin, out];
}"""
#: Whether the banner script reloads the page after a grant: under an enforced Content-Security-Policy
#: per consent, a page's policy allows only what it was served under (see cookieconsent.csp).
_RELOADS_AFTER_GRANT = """() => {
  const state = document.getElementById('cookieconsent-state');
  try { return JSON.parse(state.textContent).csp === 'enforce'; } catch (e) { return false; }
}"""
_GPC_SCRIPT = (
    "if (!('globalPrivacyControl' in navigator)) "
    "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true, configurable: true});"
)


class AuditError(CookieConsentError):
    """The audit cannot run (no browser, no Playwright, site unreachable…); the message says how to fix it."""


# -- what the site declares -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CookieDeclaration:
    """One declared cookie: an exact name, or a pattern with ``*`` wildcards, and its category."""

    label: str
    category: str
    pattern: bool = False

    def matches(self, name: str) -> bool:
        """Whether this declaration covers the cookie (or storage key) ``name``."""
        if not self.pattern:
            return name == self.label
        return _wildcard(self.label).match(name) is not None


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$")


@dataclass(frozen=True, slots=True)
class Declarations:
    """What the site's policy declares, as served at ``GET /_consent/policy.json``.

    Attributes:
        cookies: The cookie declarations, in the policy's order.
        required: The categories that need no consent (``necessary``).
        consent_cookie: The name of the library's own consent cookie, if known.
        revision: The policy's fingerprint, if known.
        source: Where the declarations came from (a URL), or why there are none.
    """

    cookies: tuple[CookieDeclaration, ...] = ()
    required: frozenset[str] = frozenset({"necessary"})
    consent_cookie: str | None = None
    revision: str | None = None
    source: str = "nothing declared"

    @classmethod
    def from_json(cls, data: object, source: str) -> Declarations:
        """Read the body of ``GET /_consent/policy.json``.

        Args:
            data: The parsed JSON body.
            source: The URL it came from (for messages).

        Raises:
            AuditError: The body does not have the documented shape.
        """
        try:
            if not isinstance(data, dict):
                raise TypeError("not an object")
            required = frozenset(str(c["id"]) for c in data["categories"] if c["required"] is True)
            cookies = []
            for entry in data["cookies"]:
                name, pattern = entry.get("name"), entry.get("pattern")
                label = name if isinstance(name, str) else pattern
                if not isinstance(label, str):
                    raise TypeError("a cookie declaration has neither a name nor a pattern")
                cookies.append(CookieDeclaration(label, str(entry["category"]), not isinstance(name, str)))
            consent = data.get("consent_cookie")
            revision = data.get("revision")
        except (KeyError, TypeError, AttributeError) as exc:
            raise AuditError(
                f"{source} is not the cookie declarations this audit reads ({exc}); is the site served through "
                "the cookieconsent middleware? Pass --prefix if its endpoints are not under /_consent"
            ) from None
        return cls(
            tuple(cookies),
            required,
            consent if isinstance(consent, str) else None,
            revision if isinstance(revision, str) else None,
            source,
        )

    def category_of(self, name: str) -> str | None:
        """The declared category of a cookie (exact names before patterns), or None if undeclared.

        As in the policy, a declared name also covers it with a ``__Host-`` or ``__Secure-`` prefix
        (``ccdid`` covers ``__Host-ccdid``); a declaration of the prefixed name comes first.
        """
        bare = name.split("-", 1)[1] if name.startswith(_PREFIXES) else None
        for candidate in (name, bare):
            for rule in self.cookies:
                if candidate is not None and not rule.pattern and rule.label == candidate:
                    return rule.category
        for rule in self.cookies:
            if rule.pattern and rule.matches(name):
                return rule.category
        return None

    def describe(self, name: str) -> str:
        """How the policy classifies ``name``: its category, ``consent cookie`` or ``undeclared``."""
        if name == self.consent_cookie:
            return "consent cookie"
        return self.category_of(name) or "undeclared"

    def cookie_problem(self, name: str) -> str | None:
        """Why the cookie ``name`` may not be stored without consent, or None if it may."""
        if name == self.consent_cookie:
            return None
        category = self.category_of(name)
        if category is None:
            return "not declared in the site's policy"
        if category in self.required:
            return None
        return f"declared {category}, which needs consent"

    def storage_problem(self, key: str, allowed: Sequence[str] = ()) -> str | None:
        """Why the storage key ``key`` may not be written without consent, or None if it may.

        Args:
            key: A ``localStorage`` or ``sessionStorage`` key.
            allowed: Extra keys or ``*`` patterns that may be written (``--allow-storage``).
        """
        if any(_wildcard(pattern).match(key) for pattern in allowed):
            return None
        category = self.category_of(key)
        if category is None:
            return "not declared in the site's policy"
        if category in self.required:
            return None
        return f"declared {category}, which needs consent"


# -- pages and hosts --------------------------------------------------------------------------------


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port if port is not None else default


def _page_url(url: str) -> str:
    """``url`` without its fragment, with ``/`` for an empty path."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def same_origin_links(
    base: str, hrefs: Iterable[str], exclude: Iterable[str] = (), one_page_under: str | None = None
) -> list[str]:
    """The pages among ``hrefs`` that belong to ``base``'s origin, in order and without repeats.

    Args:
        base: The URL of the page the links are on (relative links are resolved against it).
        hrefs: The links' ``href`` values.
        exclude: Pages already known (compared without fragments).
        one_page_under: A path prefix (the cookieconsent endpoints) under which the query does not
            make another page: ``/_consent/preferences?next=/a`` and ``?next=/b`` are one page.

    Returns:
        Absolute URLs without fragments: same scheme, host and port as ``base``, not links to files
        (``.json``, ``.pdf``, images, …).
    """
    origin = _origin(base)

    def key(url: str) -> str:
        page = _page_url(url)
        if one_page_under is not None and (urlsplit(page).path + "/").startswith(one_page_under.rstrip("/") + "/"):
            return page.split("?", 1)[0]
        return page

    seen = {key(u) for u in exclude}
    out: list[str] = []
    for href in hrefs:
        href = href.strip()
        if not href or href.startswith("#"):
            continue
        url = urljoin(base, href)
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or _origin(url) != origin:
            continue
        if parts.path.lower().endswith(FILE_SUFFIXES):
            continue
        if key(url) not in seen:
            seen.add(key(url))
            out.append(_page_url(url))
    return out


def third_party_host(url: str, site_host: str, allowed: Iterable[str] = ()) -> str | None:
    """The host of ``url`` if the request goes to a third party, else None.

    Args:
        url: The request's URL.
        site_host: The audited site's host name.
        allowed: Hosts that count as the site's own (``--allow-host``), with their subdomains.

    Returns:
        The host name, or None for the site's own host, an allowed host or a URL that reaches no host
        (``data:``, ``blob:``…).
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https", "ws", "wss"):
        return None
    host = (parts.hostname or "").lower().rstrip(".")
    if not host or host == site_host.lower():
        return None
    for entry in allowed:
        entry = entry.lower().strip(".")
        if host == entry or host.endswith("." + entry):
            return None
    return host


# -- profiles and results ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Profile:
    """A way of visiting the site.

    Attributes:
        name: A short name (``reject-all``).
        title: What the visitor did, for the report.
        forbidden: Whether non-necessary tracking is a violation in it.
        action: The decision taken on the start page first (``reject_all``, ``accept_all``), if any.
        headers: Extra request headers.
    """

    name: str
    title: str
    forbidden: bool
    action: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


PROFILES = (
    Profile("no-choice", "no decision made", True),
    Profile("reject-all", 'after "Reject all"', True, "reject_all"),
    Profile("gpc", "Sec-GPC: 1, no decision made", True, headers=(("Sec-GPC", "1"),)),
    Profile("accept-all", 'after "Accept all"', False, "accept_all"),
)
_LABELS = {"reject_all": "Reject all", "accept_all": "Accept all"}


@dataclass(frozen=True, slots=True)
class Finding:
    """Something a profile should not have (a violation in a forbidden profile).

    Attributes:
        profile: The profile's name.
        page: The page on which it was first seen.
        kind: ``cookie``, ``storage``, ``request`` or ``decision``.
        subject: The cookie name, storage key, request URL or decision.
        detail: Why it is a violation, and where it was stored or sent.
    """

    profile: str
    page: str
    kind: str
    subject: str
    detail: str


@dataclass(slots=True)
class ProfileResult:
    """What one profile saw.

    Attributes:
        profile: The profile.
        decision: How its decision was taken (``the banner's "Reject all" button``), if it takes one.
        pages: The pages audited in it.
        findings: Its violations (forbidden profiles) or the problems noted (``accept-all``).
        cookies: Every cookie seen: name → (domain, the policy's classification).
        storage: Every storage key seen: "localStorage key (origin)" → the policy's classification.
        hosts: Every third-party host contacted → number of requests.
        errors: Pages that could not be audited (or not to the end), and why.
        notes: Remarks that do not make the audit incomplete.
    """

    profile: Profile
    decision: str | None = None
    pages: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    cookies: dict[str, tuple[str, str]] = field(default_factory=dict)
    storage: dict[str, str] = field(default_factory=dict)
    hosts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class AuditReport:
    """The result of an audit.

    Attributes:
        url: The start URL.
        pages: The pages audited (found in the first profile).
        declarations: What the site declares.
        profiles: One result per profile, in order.
        notes: Warnings about the run (no declarations served…).
        stopped: Why the run stopped early, if it did.
        seconds: How long it took.
    """

    url: str
    pages: list[str]
    declarations: Declarations
    profiles: list[ProfileResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stopped: str | None = None
    seconds: float = 0.0

    @property
    def violations(self) -> list[Finding]:
        """The findings of the forbidden profiles."""
        return [f for r in self.profiles if r.profile.forbidden for f in r.findings]

    @property
    def complete(self) -> bool:
        """Whether every profile ran over every page."""
        return self.stopped is None and not any(r.errors for r in self.profiles)

    @property
    def exit_code(self) -> int:
        """1 if there is a violation, else 2 if the audit is incomplete, else 0."""
        if self.violations:
            return 1
        return 0 if self.complete else 2


# -- finding the tools ------------------------------------------------------------------------------


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_browser(
    explicit: str | None = None,
    environ: Mapping[str, str] | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> str:
    """The path of the Chromium (or Chrome) to drive; never downloads one.

    Args:
        explicit: ``--browser PATH``: used if given, and must exist.
        environ: The environment, for :data:`BROWSER_ENV` (default: ``os.environ``).
        which: Looks a command up on ``PATH``.

    Raises:
        AuditError: The browser given does not exist, or none is found.
    """
    env = os.environ if environ is None else environ
    for given, where in ((explicit, "--browser"), (env.get(BROWSER_ENV) or None, f"${BROWSER_ENV}")):
        if given is None:
            continue
        found = given if os.sep in given else which(given)
        if found is None or not _executable(found):
            raise AuditError(
                f"Chromium not found at {given!r} (given by {where}): give the path of a Chromium or Chrome "
                f"executable, or install Debian's `chromium` package and leave {where} out"
            )
        return found
    for path in BROWSER_PATHS:
        if _executable(path):
            return path
    for name in BROWSER_NAMES:
        found = which(name)
        if found:
            return found
    raise AuditError(f"Chromium not found: {_INSTALL_HINT}")


def _sync_playwright() -> Callable[[], Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise AuditError(
            'the audit drives the browser with Playwright, which is not installed: pip install "cookieconsent[audit]" '
            "(it uses the Chromium on this machine; `playwright install` is not needed)"
        ) from None
    return sync_playwright


# -- before the browser: the site and its declarations ----------------------------------------------


def check_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host; raise :class:`AuditError` otherwise."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise AuditError(f"{url!r} is not a web address: give the site's URL, such as http://127.0.0.1:8000/")
    return _page_url(url)


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"accept": "text/html,application/json", "user-agent": "audit"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), bytes(response.read(1 << 20))
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def check_site(url: str, timeout: float) -> None:
    """Make sure the start page answers; raise :class:`AuditError` saying what is wrong."""
    try:
        status, _ = _get(url, timeout)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AuditError(f"cannot reach {url} ({reason}): is the site running, and is the address right?") from None
    if status >= 400:
        raise AuditError(f"{url} answered HTTP {status}: give the URL of a page of the site")


def fetch_declarations(url: str, prefix: str, timeout: float) -> tuple[Declarations, str | None]:
    """Read the site's cookie declarations from ``{prefix}/policy.json``.

    Returns:
        The declarations and a warning: without them nothing counts as declared, so every cookie and
        storage key is reported.
    """
    scheme, netloc = urlsplit(url)[:2]
    source = f"{scheme}://{netloc}{prefix}/policy.json"
    try:
        status, body = _get(source, timeout)
    except (urllib.error.URLError, OSError) as exc:
        raise AuditError(f"cannot read {source} ({getattr(exc, 'reason', exc)})") from None
    if status != 200:
        warning = (
            f"{source} answered HTTP {status}, so nothing counts as declared: every cookie and storage key is "
            "reported. Serve the site through the cookieconsent middleware (pass --prefix if its endpoints are "
            "not under /_consent)"
        )
        return Declarations(source=f"not served ({source}: HTTP {status})"), warning
    try:
        data = json.loads(body)
    except ValueError:
        raise AuditError(f"{source} is not JSON; pass --prefix if the cookieconsent endpoints live elsewhere") from None
    return Declarations.from_json(data, source), None


# -- in the browser ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditOptions:
    """How to audit.

    Attributes:
        url: The start page.
        browser: The Chromium executable (see :func:`find_browser`).
        pages: At most this many pages: the start page and same-origin pages linked from the pages visited.
        timeout: Seconds for one page load (and each other browser step).
        max_time: Seconds for the whole run; it stops there and says so.
        prefix: Where the cookieconsent endpoints live on the site.
        allow_hosts: Third-party hosts that count as the site's own (a CDN of its own), with subdomains.
        allow_storage: Storage keys (``*`` wildcards) allowed without consent, besides necessary declarations.
        browser_args: Extra Chromium command-line switches.
    """

    url: str
    browser: str
    pages: int = 5
    timeout: float = 15.0
    max_time: float = 300.0
    prefix: str = "/_consent"
    allow_hosts: tuple[str, ...] = ()
    allow_storage: tuple[str, ...] = ()
    browser_args: tuple[str, ...] = ()


@dataclass  # no slots: Playwright keeps attributes on the object of a bound-method handler
class _Traffic:
    """The requests of one browser context, each with the page being audited when it was sent."""

    page: str = ""
    requests: list[tuple[str, str]] = field(default_factory=list)
    inflight: int = 0
    last: float = field(default_factory=time.monotonic)

    def started(self, request: Request) -> None:
        self.requests.append((request.url, self.page))
        self.inflight += 1
        self.last = time.monotonic()

    def ended(self, request: Request) -> None:
        self.inflight = max(0, self.inflight - 1)
        self.last = time.monotonic()

    def take(self) -> list[tuple[str, str]]:
        taken, self.requests = self.requests, []
        return taken


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class _Run:
    """One audit in progress: the browser, the deadline, the pages."""

    def __init__(
        self, options: AuditOptions, declarations: Declarations, report: AuditReport, progress: Callable[[str], None]
    ) -> None:
        self.options = options
        self.declarations = declarations
        self.report = report
        self.progress = progress
        self.deadline = time.monotonic() + options.max_time
        scheme, netloc = urlsplit(options.url)[:2]
        self.origin = f"{scheme}://{netloc}"
        self.host = (urlsplit(options.url).hostname or "").lower()
        self.catalog = Catalog()

    def remaining_ms(self) -> float:
        """The time left for the next step, in milliseconds: the per-step timeout, or less near the end."""
        return max(1.0, min(self.options.timeout, self.deadline - time.monotonic())) * 1000

    def profile(self, browser: Browser, profile: Profile, discover: bool) -> ProfileResult:
        result = ProfileResult(profile)
        self.report.profiles.append(result)
        context = browser.new_context(extra_http_headers=dict(profile.headers))
        context.set_default_timeout(self.remaining_ms())
        context.set_default_navigation_timeout(self.remaining_ms())
        if profile.headers:
            context.add_init_script(_GPC_SCRIPT)
        traffic = _Traffic()
        context.on("request", traffic.started)
        context.on("requestfinished", traffic.ended)
        context.on("requestfailed", traffic.ended)
        try:
            page = context.new_page()
            pages = self.report.pages
            if profile.action is not None:
                traffic.page = pages[0]
                if self._load(page, pages[0], result, traffic, inspect=False):
                    self._decide(page, context, profile.action, result)
                traffic.take()  # what the undecided visit sent is the no-choice profile's business
            index = 0
            while index < len(pages):
                if time.monotonic() >= self.deadline:
                    self.report.stopped = (
                        f"the run reached its time limit (--max-time {self.options.max_time:g} s) in the "
                        f"{profile.name} profile, at page {index + 1} of {len(pages)}"
                    )
                    break
                url = pages[index]
                self.progress(f"{profile.name}: page {index + 1}/{len(pages)} {url}")
                traffic.page = url
                if self._load(page, url, result, traffic):
                    result.pages.append(url)
                    self._inspect(page, context, url, result, traffic)
                    if discover and len(pages) < self.options.pages:
                        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
                        found = same_origin_links(page.url, [str(h) for h in hrefs], pages, self.options.prefix)
                        pages.extend(found[: self.options.pages - len(pages)])
                elif index == 0 and discover:
                    raise AuditError(f"the browser could not load {url}: {result.errors[-1]}")
                index += 1
        finally:
            context.close()
        return result

    def _load(self, page: Page, url: str, result: ProfileResult, traffic: _Traffic, inspect: bool = True) -> bool:
        """Go to ``url``; wait for its load event, then (when it is to be inspected) for the network to go quiet.

        A page whose load event does not come in time is inspected as it is, and noted as not audited to
        the end. Returns whether the page could be loaded at all.
        """
        from playwright.sync_api import Error, TimeoutError

        timeout = self.remaining_ms()
        try:
            page.goto(url, wait_until="load", timeout=timeout)
        except TimeoutError:
            if inspect:
                result.errors.append(f"{url}: no load event within {timeout / 1000:g} s; inspected as it was")
        except Error as exc:
            result.errors.append(f"{url}: {_first_line(exc)}")
            return False
        if inspect:
            self._settle(page, traffic)
        return True

    def _settle(self, page: Page, traffic: _Traffic) -> None:
        """Wait until no request has been in flight for :data:`QUIET` seconds (bounded)."""
        end = time.monotonic() + min(SETTLE_LIMIT, self.remaining_ms() / 1000)
        while time.monotonic() < end:
            if traffic.inflight == 0 and time.monotonic() - traffic.last >= QUIET:
                return
            page.wait_for_timeout(50)

    def _decide(self, page: Page, context: BrowserContext, action: str, result: ProfileResult) -> None:
        from playwright.sync_api import Error

        label = _LABELS[action]
        prefix = self.options.prefix
        button = page.locator(f'button[name="action"][value="{action}"]:visible').first
        how = None
        try:
            if button.count() > 0:
                reloads = action == "accept_all" and page.evaluate(_RELOADS_AFTER_GRANT) is True
                with ExitStack() as waits:
                    if reloads:  # wait for the reloaded page, so that the next page's load does not cut it off
                        waits.enter_context(page.expect_navigation(wait_until="load", timeout=self.remaining_ms()))
                    waits.enter_context(
                        page.expect_response(
                            lambda r: r.request.method == "POST" and urlsplit(r.url).path == prefix,
                            timeout=self.remaining_ms(),
                        )
                    )
                    button.click(timeout=self.remaining_ms())
                how = f'the banner\'s "{label}" button'
        except Error as exc:
            result.notes.append(f'clicking "{label}" failed ({_first_line(exc)}); the decision was posted instead')
        problem = None
        try:
            if how is None:
                reply = context.request.post(
                    self.origin + prefix,
                    data=json.dumps({"action": action}),
                    headers={"content-type": "application/json", "origin": self.origin},
                    timeout=self.remaining_ms(),
                )
                how = f"POST {prefix} (no {label} button on the start page)"
                if not reply.ok:
                    problem = f"{how} answered HTTP {reply.status}"
            if problem is None:
                state = context.request.get(f"{self.origin}{prefix}/state", timeout=self.remaining_ms())
                problem = _decision_problem(state.status, state.text() if state.ok else "", action)
        except Error as exc:
            problem = f"{how or label}: {_first_line(exc)}"
        result.decision = how
        if problem is not None:
            result.findings.append(Finding(result.profile.name, page.url, "decision", label, problem))

    def _inspect(self, page: Page, context: BrowserContext, url: str, result: ProfileResult, traffic: _Traffic) -> None:
        from playwright.sync_api import Error

        profile = result.profile
        declarations = self.declarations
        for cookie in context.cookies():
            name, domain = cookie.get("name", ""), cookie.get("domain", "")
            if name in result.cookies:
                continue
            result.cookies[name] = (domain, declarations.describe(name))
            problem = declarations.cookie_problem(name)
            if problem is not None and profile.forbidden:
                result.findings.append(Finding(profile.name, url, "cookie", name, f"{problem}; stored for {domain}"))
        for frame in page.frames:
            try:
                origin, keys = frame.evaluate(_STORAGE_KEYS)
            except Error:
                continue  # a frame that went away
            for kind, key in keys:
                where = f"{kind} {key} ({origin})"
                if where in result.storage:
                    continue
                result.storage[where] = declarations.describe(str(key))
                problem = declarations.storage_problem(str(key), self.options.allow_storage)
                if problem is not None and profile.forbidden:
                    result.findings.append(
                        Finding(profile.name, url, "storage", f"{kind} {key}", f"{problem}; written for {origin}")
                    )
        reported = {f.subject for f in result.findings if f.kind == "request"}
        for request_url, page_url in traffic.take():
            host = third_party_host(request_url, self.host, self.options.allow_hosts)
            if host is None:
                continue
            result.hosts[host] = result.hosts.get(host, 0) + 1
            if profile.forbidden and request_url not in reported:
                reported.add(request_url)
                category = self.catalog.category_of_url(request_url)
                known = f"a known {category} tracker" if category else "a host the tracker catalog does not know"
                result.findings.append(
                    Finding(profile.name, page_url or url, "request", request_url, f"third party {host}: {known}")
                )


def _decision_problem(status: int, body: str, action: str) -> str | None:
    """Why the state read after taking ``action`` shows it was not recorded, or None if it was."""
    if status != 200:
        return f"the decision could not be confirmed: GET …/state answered HTTP {status}"
    try:
        state = json.loads(body)
        decided = state["decided"] is True
        optional = {k: v for k, v in state["categories"].items() if k != "necessary"}
    except (ValueError, KeyError, TypeError, AttributeError):
        return "the decision could not be confirmed: …/state is not the consent state"
    if not decided:
        return "no decision was recorded"
    wanted = action == "accept_all"
    wrong = sorted(k for k, on in optional.items() if on is not wanted)
    if wrong:
        return f"after {_LABELS[action]} these categories are {'off' if wanted else 'on'}: {', '.join(wrong)}"
    return None


def run_audit(options: AuditOptions, progress: Callable[[str], None] = lambda line: None) -> AuditReport:
    """Audit a running site (see the module's documentation).

    Args:
        options: What to audit and how.
        progress: Called with one line per page visited.

    Returns:
        The report; :attr:`AuditReport.exit_code` sums it up.

    Raises:
        AuditError: Playwright is missing, the site cannot be reached or the browser cannot start.
    """
    started = time.monotonic()
    url = check_url(options.url)
    sync_playwright = _sync_playwright()
    check_site(url, options.timeout)
    declarations, warning = fetch_declarations(url, options.prefix, options.timeout)
    report = AuditReport(url, [url], declarations)
    if warning:
        report.notes.append(warning)
        progress(f"warning: {warning}")
    run = _Run(options, declarations, report, progress)
    from playwright.sync_api import Error

    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=options.browser,
                headless=True,
                args=[*CHROMIUM_ARGS, *options.browser_args],
                timeout=run.remaining_ms(),
            )
        except Error as exc:
            raise AuditError(
                f"the browser at {options.browser} did not start ({_first_line(exc)}): "
                "give a Chromium or Chrome executable with --browser"
            ) from None
        try:
            for index, profile in enumerate(PROFILES):
                run.profile(browser, profile, discover=index == 0)
                if report.stopped:
                    break
        except Error as exc:
            raise AuditError(f"the browser failed during the audit: {_first_line(exc)}") from None
        finally:
            browser.close()
    report.seconds = time.monotonic() - started
    return report


# -- the report -------------------------------------------------------------------------------------


def _short(url: str, base: str) -> str:
    if url == base or url.startswith(base + "/"):
        return url[len(base) :] or "/"
    return url


def format_report(report: AuditReport) -> str:
    """The report as text: the pages, each profile's violations (or what accept-all showed), a verdict."""
    scheme, netloc = urlsplit(report.url)[:2]
    base = f"{scheme}://{netloc}"
    d = report.declarations
    lines = [f"cookieconsent audit of {report.url}"]
    if d.revision is not None:
        # policy.json lists the consent cookie among the necessary ones too; the line names it once, last.
        necessary = sorted(c.label for c in d.cookies if c.category in d.required and c.label != d.consent_cookie)
        lines.append(
            f"policy {d.revision}: {len(d.cookies)} cookie declaration(s), necessary: "
            f"{', '.join(necessary) or 'none'}; consent cookie {d.consent_cookie}"
        )
    else:
        lines.append(f"policy: {d.source}")
    lines += [f"note: {n}" for n in report.notes]
    lines.append(f"pages ({len(report.pages)}):")
    lines += [f"  {i}. {_short(p, base)}" for i, p in enumerate(report.pages, 1)]
    for result in report.profiles:
        profile = result.profile
        lines.append("")
        head = f"{profile.name} ({profile.title}"
        head += f", via {result.decision})" if result.decision else ")"
        if not profile.forbidden:
            head += ", reported, never a failure"
        if profile.forbidden:
            n = len(result.findings)
            verdict = "no violation, but not audited to the end" if result.errors else "OK"
            verdict = f"{n} violation(s)" if n else verdict
            lines.append(f"{head}: {verdict}")
            for f in result.findings:
                lines.append(f"  {f.kind} {f.subject} on {_short(f.page, base)}: {f.detail}")
        else:
            lines.append(f"{head}:")
            cookies = [f"{name} ({why})" for name, (_, why) in sorted(result.cookies.items())]
            lines.append(f"  cookies: {', '.join(cookies) or 'none'}")
            lines.append(
                f"  storage: {', '.join(f'{k} ({why})' for k, why in sorted(result.storage.items())) or 'none'}"
            )
            hosts = [f"{h} ({n})" for h, n in sorted(result.hosts.items())]
            lines.append(f"  third-party hosts (requests): {', '.join(hosts) or 'none'}")
            seen = set(result.cookies) | {n.split("-", 1)[1] for n in result.cookies if n.startswith(_PREFIXES)}
            missing = [c.label for c in d.cookies if not c.pattern and c.label not in seen]
            if missing:
                lines.append(f"  declared cookies not seen on these pages: {', '.join(missing)}")
            for f in result.findings:
                lines.append(f"  problem: {f.subject}: {f.detail}")
        lines += [f"  note: {n}" for n in result.notes]
        lines += [f"  not audited: {e}" for e in result.errors]
    lines.append("")
    if report.stopped:
        lines.append(f"stopped: {report.stopped}")
    violations = report.violations
    if violations:
        profiles = sorted({f.profile for f in violations}, key=[p.name for p in PROFILES].index)
        lines.append(
            f"FAIL: {len(violations)} violation(s) in {', '.join(profiles)} — something non-necessary is stored or "
            "contacted without consent"
        )
    elif not report.complete:
        lines.append("INCOMPLETE: no violation in what was audited, but not everything could be audited")
    else:
        lines.append(
            "OK: no cookie, storage key or third-party request beyond the necessary without consent "
            f"({len(report.pages)} page(s), {report.seconds:.1f} s)"
        )
    return "\n".join(lines) + "\n"


def report_data(report: AuditReport) -> dict[str, Any]:
    """The report as JSON-ready data (``--json``)."""
    d = report.declarations
    return {
        "url": report.url,
        "ok": report.exit_code == 0,
        "exit_code": report.exit_code,
        "seconds": round(report.seconds, 2),
        "policy": {
            "source": d.source,
            "revision": d.revision,
            "consent_cookie": d.consent_cookie,
            "cookies": [{"name": c.label, "pattern": c.pattern, "category": c.category} for c in d.cookies],
        },
        "notes": report.notes,
        "pages": report.pages,
        "stopped": report.stopped,
        "profiles": [
            {
                "name": r.profile.name,
                "title": r.profile.title,
                "checked": r.profile.forbidden,
                "decision": r.decision,
                "pages": r.pages,
                "findings": [
                    {"page": f.page, "kind": f.kind, "subject": f.subject, "detail": f.detail} for f in r.findings
                ],
                "cookies": {name: {"domain": dom, "policy": why} for name, (dom, why) in r.cookies.items()},
                "storage": r.storage,
                "third_party_hosts": r.hosts,
                "errors": r.errors,
                "notes": r.notes,
            }
            for r in report.profiles
        ],
        "violations": len(report.violations),
    }


# -- the command ------------------------------------------------------------------------------------


def run_command(
    url: str,
    *,
    browser: str | None = None,
    pages: int = 5,
    timeout: float = 15.0,
    max_time: float = 300.0,
    prefix: str = "/_consent",
    allow_hosts: Sequence[str] = (),
    allow_storage: Sequence[str] = (),
    browser_args: Sequence[str] = (),
    as_json: bool = False,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """``cookieconsent audit``: run the audit, print progress to ``err`` and the report to ``out``.

    A watchdog ends the process (exit code 2) if the run outlives ``max_time`` by a minute despite
    every step's own timeout.

    Returns:
        0 if no violation, 1 on any violation, 2 if the audit could not run or not finish.
    """
    out = out or sys.stdout
    err = err or sys.stderr

    def progress(line: str) -> None:
        print(f"audit: {line}", file=err, flush=True)

    def give_up() -> None:
        progress(f"gave up: the run outlived --max-time {max_time:g} s by a minute")
        os._exit(2)

    watchdog = threading.Timer(max_time + 60, give_up)
    watchdog.daemon = True
    watchdog.start()
    try:
        options = AuditOptions(
            url=check_url(url),
            browser=find_browser(browser),
            pages=pages,
            timeout=timeout,
            max_time=max_time,
            prefix="/" + prefix.strip("/"),
            allow_hosts=tuple(allow_hosts),
            allow_storage=tuple(allow_storage),
            browser_args=tuple(browser_args),
        )
        report = run_audit(options, progress)
    except AuditError as exc:
        print(f"cookieconsent audit: {exc}", file=err)
        return 2
    finally:
        watchdog.cancel()
    if as_json:
        out.write(json.dumps(report_data(report), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(format_report(report))
    return report.exit_code
