"""A Content-Security-Policy per consent (R10): the browser blocks what the HTML rewriter cannot see.

The rewriter reads markup, so a URL a script assembles at run time
(``'https://www.google-' + 'analytics.com/analytics.js'``) gets past it. With
``ConsentConfig(csp="enforce")`` (or ``"report-only"``) every page the middleware rewrites also
carries a policy of its own that allows, besides the site itself (``'self'``), only the third-party
hosts of the categories in force for that response: ``necessary`` and the granted ones. A category's
hosts are the ``hosts`` it declares in the policy and the hosts of its ``[[trackers]]``; the
built-in tracker catalog is not listed (it would allow hundreds of hosts and forbid none).

The policy is sent as a header of its own, next to the app's: the app's ``Content-Security-Policy``
passes byte for byte, and browsers enforce every policy a response carries, so ours can only take
away. Ours decides *where* a page may load from, not *what* may run: it allows inline scripts and
styles (``'unsafe-inline'``, with no nonce or hash beside it, since browsers would then ignore it)
and ``eval``, so the app's own code runs as before, and the app's own policy keeps whatever stricter
rules it has.

Browsers send what the policy blocks (or, report-only, would block) to ``POST {prefix}/csp-report``;
:class:`CSPReports` counts the reports by directive and blocked host, in a table of bounded size,
and logs each new pair once on the ``cookieconsent.csp`` logger::

    middleware.pages.csp_reports.counts()   # {("script-src-elem", "www.google-analytics.com"): 12, …}
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import NamedTuple
from urllib.parse import urlsplit

from cookieconsent.core.request import RequestView
from cookieconsent.core.state import ConsentState
from cookieconsent.policy.model import NECESSARY, Policy
from cookieconsent.web.replies import NO_STORE, BadRequest, Reply, media_type

__all__ = [
    "DIRECTIVES",
    "REPORT_LIMIT",
    "REPORT_TYPES",
    "CSPReports",
    "ConsentCSP",
    "Violation",
    "category_hosts",
    "parse_reports",
]

logger = logging.getLogger("cookieconsent.csp")

Header = tuple[str, str]
#: The fetch directives of the policy, and what each allows besides ``'self'`` and the hosts in force.
#: ``data:`` and ``blob:`` URLs are made in the page and fetch nothing from another host.
DIRECTIVES: tuple[tuple[str, str], ...] = (
    ("default-src", ""),
    ("script-src", "'unsafe-inline' 'unsafe-eval'"),
    ("style-src", "'unsafe-inline'"),
    ("img-src", "data: blob:"),
    ("font-src", "data:"),
    ("connect-src", ""),
    ("media-src", "data: blob:"),
    ("frame-src", ""),
    ("worker-src", "blob:"),
    ("object-src", ""),
)
_HEADERS = {"enforce": "content-security-policy", "report-only": "content-security-policy-report-only"}
CSP_REPORT = "application/csp-report"
REPORTS_JSON = "application/reports+json"
#: The media types of a report: ``report-uri`` (``application/csp-report``), the Reporting API
#: (``application/reports+json``) and plain ``application/json`` (either shape).
REPORT_TYPES = (CSP_REPORT, REPORTS_JSON, "application/json")
#: The largest report body read, in bytes, and the most reports one body may hold.
REPORT_LIMIT = 16 * 1024
MAX_BATCH = 100
_DIRECTIVE = re.compile(r"[a-z][a-z0-9-]{0,39}\Z")
_HOST = re.compile(r"[a-z0-9._:\-]{1,253}\Z")
_KEYWORD = re.compile(r"[a-z][a-z0-9+.\-]{0,39}\Z")  # inline, eval, data, blob, trusted-types-sink…


def category_hosts(policy: Policy) -> dict[str, tuple[str, ...]]:
    """Each category's third-party hosts, as CSP host sources: its ``hosts``, then its trackers'.

    A ``[[trackers]]`` host matches itself and its subdomains in the rewriter, so it gives both
    ``host`` and ``*.host``; its ``path`` is not used (the whole host is allowed once it is granted).
    """
    hosts: dict[str, list[str]] = {c.id: list(c.hosts) for c in policy.categories}
    for tracker in policy.trackers:
        hosts[tracker.category] += [tracker.host, f"*.{tracker.host}"]
    return {category: tuple(dict.fromkeys(found)) for category, found in hosts.items()}


class ConsentCSP:
    """Builds a response's Content-Security-Policy from the categories in force for it.

    Args:
        policy: The policy whose categories declare the hosts.
        mode: ``"enforce"`` (``Content-Security-Policy``) or ``"report-only"``
            (``Content-Security-Policy-Report-Only``).
        report_uri: Where browsers send reports (``{prefix}/csp-report``).
    """

    def __init__(self, policy: Policy, mode: str, report_uri: str) -> None:
        if mode not in _HEADERS:
            raise ValueError(f"mode {mode!r} sends no policy; use 'enforce' or 'report-only'")
        self.mode = mode
        self.header_name = _HEADERS[mode]
        self.report_uri = report_uri
        self.hosts = category_hosts(policy)
        self._order = policy.category_ids
        self._built: dict[frozenset[str], str] = {}

    def sources(self, granted: Iterable[str]) -> tuple[str, ...]:
        """The third-party hosts allowed while ``granted`` (optional categories) and ``necessary`` are in force."""
        wanted = {NECESSARY, *granted}
        return tuple(dict.fromkeys(h for c in self._order if c in wanted for h in self.hosts.get(c, ())))

    def value(self, granted: frozenset[str]) -> str:
        """The policy for a response under ``granted`` (kept: a site has few distinct decisions)."""
        value = self._built.get(granted)
        if value is None:
            hosts = " ".join(self.sources(granted))
            directives = [" ".join(filter(None, (name, "'self'", extra, hosts))) for name, extra in DIRECTIVES]
            value = "; ".join([*directives, f"report-uri {self.report_uri}"])
            if len(self._built) >= 256:  # 2^n decisions for n categories: bounded, started afresh when full
                self._built.clear()
            self._built[granted] = value
        return value

    def header(self, granted: frozenset[str]) -> Header:
        """The header to add to a response under ``granted``."""
        return (self.header_name, self.value(granted))


class Violation(NamedTuple):
    """One violation a browser reported."""

    #: The directive that blocked it (``script-src-elem``, ``img-src``…).
    directive: str
    #: The blocked URL's host, or the browser's keyword for what is not a URL (``inline``, ``eval``, ``data``…).
    source: str
    #: ``enforce`` (blocked) or ``report`` (report-only: it would have been blocked).
    disposition: str
    #: The path of the page it happened on (no query: it may hold personal data), or "".
    page: str


def parse_reports(body: bytes, media: str) -> list[Violation]:
    """The violations in a report body.

    ``application/csp-report`` holds one ``{"csp-report": {…}}`` object (``report-uri``);
    ``application/reports+json`` a list of reports, of which the ``csp-violation`` ones count (the
    Reporting API); ``application/json`` either. The blocked source is the host of the blocked URL,
    or the browser's keyword for what is not a URL (``inline``, ``eval``, ``data``…).

    Raises:
        BadRequest: 400 naming what is wrong.
    """
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BadRequest(400, "bad_json", "The report is not valid JSON.") from None
    if isinstance(data, dict) and media != REPORTS_JSON:
        report = data.get("csp-report")
        if not isinstance(report, dict):
            raise BadRequest(400, "bad_report", 'Send a report as browsers do: {"csp-report": {…}}.')
        directive = report.get("effective-directive") or report.get("violated-directive")
        return [_violation(directive, report.get("blocked-uri"), report.get("disposition"), report.get("document-uri"))]
    if isinstance(data, list) and media != CSP_REPORT:
        if len(data) > MAX_BATCH:
            raise BadRequest(400, "too_many_reports", f"Send at most {MAX_BATCH} reports at once.")
        found = []
        for item in data:
            if not isinstance(item, dict) or not isinstance(item.get("type"), str):
                raise BadRequest(400, "bad_report", 'Each report must be an object with a "type".')
            if item["type"] != "csp-violation":
                continue  # other kinds of reports (deprecation, intervention…) are not counted
            found_body = item.get("body")
            if not isinstance(found_body, dict):
                raise BadRequest(400, "bad_report", 'A "csp-violation" report must have a "body" object.')
            found.append(
                _violation(
                    found_body.get("effectiveDirective"),
                    found_body.get("blockedURL"),
                    found_body.get("disposition"),
                    found_body.get("documentURL"),
                )
            )
        return found
    shape = '{"csp-report": {…}}' if media == CSP_REPORT else "a list of reports" if media == REPORTS_JSON else None
    expected = shape or '{"csp-report": {…}} or a list of reports'
    raise BadRequest(400, "bad_report", f"Send {expected} as {media}.")


def _violation(directive: object, blocked: object, disposition: object, document: object) -> Violation:
    if not isinstance(directive, str) or not _DIRECTIVE.match(name := (directive.split() or [""])[0].lower()):
        raise BadRequest(400, "bad_report", "The report must name the directive, such as img-src.")
    if blocked is None:
        blocked = ""
    if not isinstance(blocked, str) or len(blocked) > 4096:
        raise BadRequest(400, "bad_report", "The blocked URL must be a string of at most 4096 characters.")
    if disposition is None:
        disposition = "enforce"
    if disposition not in ("enforce", "report"):
        raise BadRequest(400, "bad_report", 'The disposition must be "enforce" or "report".')
    return Violation(name, _source(blocked.strip()), str(disposition), _page(document))


def _source(blocked: str) -> str:
    """The host of a blocked URL, or the keyword a browser reports instead of a URL."""
    if not blocked:
        return "unknown"
    if "://" in blocked or blocked.startswith("//"):
        try:
            host = urlsplit(blocked).hostname
        except ValueError:  # an unclosed IPv6 bracket, a bad port
            host = None
        if host and _HOST.match(host):
            return host
        raise BadRequest(400, "bad_report", "The blocked URL has no host name.")
    keyword = blocked.split(":", 1)[0].lower()  # "data:image/png…" → "data"
    if _KEYWORD.match(keyword):
        return keyword
    raise BadRequest(400, "bad_report", "The blocked URL is neither a URL nor a keyword such as inline or eval.")


class CSPReports:
    """Counts CSP violation reports by (directive, blocked source), and answers ``POST {prefix}/csp-report``.

    The table holds at most ``limit`` pairs: when it is full, the half that was reported least is
    dropped (its reports are added to :attr:`dropped`), so a flood of forged pairs cannot grow it,
    and what browsers report again and again stays. Each new pair is logged once, as a warning on
    the ``cookieconsent.csp`` logger, and at most ``log_limit`` new pairs an hour.

    Args:
        limit: The most pairs kept.
        log_limit: The most new pairs logged per hour.
        clock: Seconds, for the hourly log budget (``time.monotonic``).
    """

    def __init__(self, limit: int = 1024, log_limit: int = 100, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.log_limit = log_limit
        self._clock = clock
        self._counts: dict[tuple[str, str], int] = {}
        #: Reports whose pair was dropped from the full table.
        self.dropped = 0
        self._window = clock()
        self._logged = 0
        self._lock = threading.Lock()

    def counts(self) -> dict[tuple[str, str], int]:
        """The report count of each (directive, blocked source) pair, the most reported first."""
        with self._lock:
            items = list(self._counts.items())
        return dict(sorted(items, key=lambda item: -item[1]))

    def add(self, directive: str, source: str, disposition: str = "enforce", page: str = "") -> None:
        """Count one violation; log the pair if it is new."""
        key = (directive, source)
        with self._lock:
            count = self._counts.get(key)
            if count is not None:
                self._counts[key] = count + 1
                return
            if len(self._counts) >= self.limit:
                self._shrink()
            self._counts[key] = 1
            log = self._budget()
        if log:
            logger.warning(
                "cookieconsent: a page's Content-Security-Policy %s %s from %s%s. If a category of the policy "
                "loads from this host, add it to that category's hosts; if not, find what on the page loads it.",
                "blocked" if disposition == "enforce" else "would block (report-only)",
                directive,
                source,
                f" (first reported on {page})" if page else "",
            )

    def _shrink(self) -> None:
        # Stable sort: among equal counts the oldest pairs go first.
        ranked = sorted(self._counts.items(), key=lambda item: item[1])
        for key, count in ranked[: max(1, len(ranked) // 2)]:
            del self._counts[key]
            self.dropped += count

    def _budget(self) -> bool:
        now = self._clock()
        if now - self._window >= 3600:
            self._window, self._logged = now, 0
        self._logged += 1
        if self._logged == self.log_limit + 1:
            logger.warning(
                "cookieconsent: more than %d new Content-Security-Policy report sources this hour; the rest "
                "are counted but not logged (read them with pages.csp_reports.counts()).",
                self.log_limit,
            )
        return self._logged <= self.log_limit

    def handle(self, request: RequestView, state: ConsentState, body: bytes) -> Reply:
        """``POST {prefix}/csp-report``: count the reports in ``body``; 204, or a 4xx naming the problem."""
        media, charset = media_type(request)
        if media not in REPORT_TYPES:
            raise BadRequest(
                415,
                "unsupported_media_type",
                f"Send reports as {CSP_REPORT} (report-uri), {REPORTS_JSON} (Reporting API) or application/json.",
            )
        if charset not in (None, "utf-8", "utf8"):
            raise BadRequest(415, "unsupported_charset", "Send the report as UTF-8.")
        if len(body) > REPORT_LIMIT:
            raise BadRequest(413, "too_large", f"A report body may be at most {REPORT_LIMIT} bytes.")
        for violation in parse_reports(body, media):
            self.add(*violation)
        return Reply(204, list(NO_STORE))


def _page(document: object) -> str:
    """The path of the page a report comes from, for the log (no query: it may hold personal data)."""
    if not isinstance(document, str) or len(document) > 4096:
        return ""
    try:
        path = urlsplit(document).path
    except ValueError:
        return ""
    return path[:200] if path.startswith("/") and path.isprintable() else ""
