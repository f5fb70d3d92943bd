"""The pure parts of ``cookieconsent audit``: declarations, hosts, links, the browser search, the report.

The audit in a real browser is in ``tests/browser/test_audit.py``.
"""

from __future__ import annotations

import http.server
import json
import socket
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from cookieconsent.cli import audit, main
from cookieconsent.cli.audit import (
    PROFILES,
    AuditError,
    AuditReport,
    Declarations,
    Finding,
    ProfileResult,
    find_browser,
    format_report,
    report_data,
    same_origin_links,
    third_party_host,
)
from tests.harness import AppClient

SITE = "http://127.0.0.1:8000"
NO_CHOICE, REJECT, GPC, ACCEPT = PROFILES


@pytest.fixture(scope="module")
def declarations() -> Declarations:
    """What the FastAPI demo app serves at /_consent/policy.json."""
    from examples.fastapi_app import app

    body = AppClient("fastapi", app).request("GET", "/_consent/policy.json").json()
    return Declarations.from_json(body, "https://testserver/_consent/policy.json")


# -- declarations -----------------------------------------------------------------------------------


def test_declarations_are_read_from_policy_json(declarations: Declarations) -> None:
    assert declarations.consent_cookie == "__Host-consent"
    assert declarations.required == {"necessary"}
    assert declarations.revision is not None
    assert declarations.category_of("session") == "necessary"
    assert declarations.category_of("_ga") == "analytics"
    assert declarations.category_of("_ga_ABC123") == "analytics"  # the _ga_* pattern
    assert declarations.category_of("x_unknown") is None
    assert declarations.category_of("_g") is None
    assert declarations.category_of("__Host-ccdid") == "analytics"  # the recorder's device cookie, declared as ccdid
    assert declarations.category_of("__Host-_g") is None


def test_exact_names_win_over_patterns() -> None:
    data = {
        "categories": [{"id": "necessary", "required": True}, {"id": "analytics", "required": False}],
        "cookies": [
            {"name": None, "pattern": "app_*", "category": "analytics"},
            {"name": "app_session", "pattern": None, "category": "necessary"},
        ],
    }
    declared = Declarations.from_json(data, "test")
    assert declared.category_of("app_session") == "necessary"
    assert declared.category_of("app_other") == "analytics"
    assert declared.consent_cookie is None


def test_only_necessary_cookies_and_the_consent_cookie_pass(declarations: Declarations) -> None:
    assert declarations.cookie_problem("session") is None
    assert declarations.cookie_problem("csrftoken") is None
    assert declarations.cookie_problem("__Host-consent") is None
    assert declarations.cookie_problem("_ga") == "declared analytics, which needs consent"
    assert declarations.cookie_problem("_fbp") == "declared marketing, which needs consent"
    assert declarations.cookie_problem("lang") == "declared functional, which needs consent"
    assert declarations.cookie_problem("leak_id") == "not declared in the site's policy"
    assert declarations.describe("__Host-consent") == "consent cookie"
    assert declarations.describe("leak_id") == "undeclared"
    assert declarations.describe("_ga_X") == "analytics"


def test_storage_keys_pass_only_when_declared_necessary_or_allowed(declarations: Declarations) -> None:
    assert declarations.storage_problem("leak_ls") == "not declared in the site's policy"
    assert declarations.storage_problem("_ga") == "declared analytics, which needs consent"
    assert declarations.storage_problem("session") is None
    assert declarations.storage_problem("theme", ["theme"]) is None
    assert declarations.storage_problem("app:cart:1", ["app:*"]) is None
    assert declarations.storage_problem("other", ["app:*"]) == "not declared in the site's policy"
    assert declarations.storage_problem("_ga", ["_g"]) is not None  # an allowance is a whole-key match


def test_nothing_is_declared_without_policy_json() -> None:
    nothing = Declarations()
    assert nothing.cookie_problem("session") == "not declared in the site's policy"
    assert nothing.storage_problem("anything") is not None


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"categories": []},
        {"categories": [{"id": "necessary"}], "cookies": []},
        {"categories": [], "cookies": [{"category": "necessary"}]},
        {"categories": [], "cookies": ["session"]},
    ],
)
def test_a_body_of_another_shape_is_refused_with_the_fix(body: object) -> None:
    with pytest.raises(AuditError, match="--prefix"):
        Declarations.from_json(body, "http://x/_consent/policy.json")


# -- hosts and links --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "host"),
    [
        (f"{SITE}/static/site.css", None),
        ("http://127.0.0.1:9999/other-port", None),  # same host: first party whatever the port
        ("https://127.0.0.1/", None),
        ("http://leak-tracker.invalid/t.js", "leak-tracker.invalid"),
        ("https://www.googletagmanager.com/gtag/js?id=G-1", "www.googletagmanager.com"),
        ("HTTPS://CDN.Example.COM./x", "cdn.example.com"),
        ("wss://socket.example.net/feed", "socket.example.net"),
        ("data:image/gif;base64,R0lGOD", None),
        ("blob:http://127.0.0.1:8000/1234", None),
        ("chrome-extension://abc/x.js", None),
    ],
)
def test_third_party_requests_are_those_to_another_host(url: str, host: str | None) -> None:
    assert third_party_host(url, "127.0.0.1") == host


def test_allowed_hosts_cover_their_subdomains_only() -> None:
    allowed = ["static.example.com"]
    assert third_party_host("https://static.example.com/a.css", "example.com", allowed) is None
    assert third_party_host("https://eu.static.example.com/a.css", "example.com", allowed) is None
    assert third_party_host("https://notstatic.example.com/a.css", "example.com", allowed) == "notstatic.example.com"
    assert third_party_host("https://static.example.com.evil.net/", "example.com", allowed) == (
        "static.example.com.evil.net"
    )


def test_links_are_same_origin_pages_in_order_without_repeats() -> None:
    hrefs = [
        "/about",
        "about#team",  # relative to /news/, so another page
        "/about#team",  # the same page as /about
        "#top",
        "",
        "https://127.0.0.1:8000/secure",  # another scheme: another origin
        "http://127.0.0.1:8001/",  # another port
        "http://localhost:8000/",  # another host
        "mailto:privacy@example.com",
        "javascript:void(0)",
        "/report.PDF",
        "/_consent/my-data.json",
        "/api/news?page=2",
        "/api/news?page=3",
        "http://127.0.0.1:8000",  # the start page, known already
    ]
    found = same_origin_links(f"{SITE}/news/", hrefs, exclude=[f"{SITE}/"])
    assert found == [
        f"{SITE}/about",
        f"{SITE}/news/about",
        f"{SITE}/api/news?page=2",
        f"{SITE}/api/news?page=3",
    ]


def test_default_ports_are_the_same_origin() -> None:
    assert same_origin_links("https://example.com/", ["https://example.com:443/a", "http://example.com/b"]) == [
        "https://example.com:443/a"
    ]


def test_the_library_pages_count_once_whatever_their_query() -> None:
    hrefs = ["/_consent/preferences?next=/", "/_consent/preferences?next=/about", "/p?x=1", "/p?x=2"]
    found = same_origin_links(f"{SITE}/", hrefs, one_page_under="/_consent")
    assert found == [f"{SITE}/_consent/preferences?next=/", f"{SITE}/p?x=1", f"{SITE}/p?x=2"]
    assert same_origin_links(f"{SITE}/", hrefs, exclude=[f"{SITE}/_consent/preferences"], one_page_under="/_consent")[
        0
    ] == (f"{SITE}/p?x=1")


# -- the browser, Playwright, the site --------------------------------------------------------------


@pytest.fixture
def fake_browser(tmp_path: Path) -> str:
    path = tmp_path / "chromium"
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_browser_given_is_used_and_must_exist(fake_browser: str) -> None:
    assert find_browser(fake_browser, environ={}, which=lambda name: None) == fake_browser
    with pytest.raises(AuditError, match=r"Chromium not found at '/no/such/chromium' \(given by --browser\)"):
        find_browser("/no/such/chromium", environ={}, which=lambda name: fake_browser)


def test_browser_from_the_environment_then_the_usual_places(
    fake_browser: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert find_browser(None, environ={audit.BROWSER_ENV: fake_browser}, which=lambda name: None) == fake_browser
    with pytest.raises(AuditError, match=r"given by \$COOKIECONSENT_BROWSER"):
        find_browser(None, environ={audit.BROWSER_ENV: str(tmp_path / "none")}, which=lambda name: None)
    monkeypatch.setattr(audit, "BROWSER_PATHS", (str(tmp_path / "missing"),))
    asked: list[str] = []

    def which(name: str) -> str | None:
        asked.append(name)
        return fake_browser if name == "google-chrome" else None

    assert find_browser(None, environ={}, which=which) == fake_browser
    assert asked == ["chromium", "chromium-browser", "google-chrome"]


def test_no_browser_anywhere_says_how_to_get_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "BROWSER_PATHS", (str(tmp_path / "missing"),))
    with pytest.raises(AuditError) as error:
        find_browser(None, environ={}, which=lambda name: None)
    assert str(error.value) == (
        "Chromium not found: install Debian's `chromium` package or pass --browser PATH (or set $COOKIECONSENT_BROWSER)"
    )


def test_without_playwright_the_command_names_the_extra(
    fake_browser: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # makes the import fail
    code = main(["audit", "http://127.0.0.1:9/", "--browser", fake_browser])
    assert code == 2
    err = capsys.readouterr().err
    assert 'pip install "cookieconsent[audit]"' in err
    assert "playwright install` is not needed" in err


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://example.com/", "http:///path", "example.com"])
def test_an_address_that_is_not_a_web_address_is_a_usage_error(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", url, "--browser", "/no/such/chromium"]) == 2  # the address is checked first
    assert "is not a web address: give the site's URL, such as http://127.0.0.1:8000/" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args", [["--pages", "0"], ["--pages", "two"], ["--timeout", "0"], ["--max-time", "-1"], ["--timeout", "x"]]
)
def test_bad_options_are_usage_errors(args: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["audit", SITE, *args])
    assert exit_.value.code == 2


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_site_is_named_with_the_fix() -> None:
    url = f"http://127.0.0.1:{closed_port()}/"
    with pytest.raises(AuditError, match=r"cannot reach http://127\.0\.0\.1:\d+/ \(.*refused.*\): is the site running"):
        audit.check_site(url, timeout=5)


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, bytes]]] = {}

    def do_GET(self) -> None:
        status, body = self.routes.get(self.path, (404, b"not found"))
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def tiny_site() -> Iterator[tuple[str, dict[str, tuple[int, bytes]]]]:
    """A plain HTTP server on 127.0.0.1 answering the routes of the dict it yields (404 otherwise)."""
    routes: dict[str, tuple[int, bytes]] = {}
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", routes
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_site_checks_and_declarations_over_http(tiny_site: tuple[str, dict[str, tuple[int, bytes]]]) -> None:
    base, routes = tiny_site
    routes["/"] = (200, b"<!doctype html><title>home</title>")
    routes["/x/policy.json"] = (200, json.dumps({"categories": [], "cookies": [], "consent_cookie": "cc"}).encode())
    routes["/bad/policy.json"] = (200, b"<html>")
    audit.check_site(base + "/", timeout=5)
    with pytest.raises(AuditError, match=r"answered HTTP 404: give the URL of a page of the site"):
        audit.check_site(base + "/missing", timeout=5)

    declared, warning = audit.fetch_declarations(base + "/", "/x", timeout=5)
    assert warning is None
    assert (declared.consent_cookie, declared.source) == ("cc", f"{base}/x/policy.json")

    nothing, warning = audit.fetch_declarations(base + "/", "/_consent", timeout=5)
    assert nothing.cookies == ()
    assert nothing.source == f"not served ({base}/_consent/policy.json: HTTP 404)"
    assert warning is not None
    assert "nothing counts as declared" in warning
    assert "--prefix" in warning
    with pytest.raises(AuditError, match="is not JSON"):
        audit.fetch_declarations(base + "/", "/bad", timeout=5)


# -- the decision check -----------------------------------------------------------------------------


def state(decided: bool, **categories: bool) -> str:
    return json.dumps({"decided": decided, "categories": {"necessary": True, **categories}})


def test_a_decision_is_confirmed_from_the_state() -> None:
    problem = audit._decision_problem
    assert problem(200, state(True, analytics=False, marketing=False), "reject_all") is None
    assert problem(200, state(True, analytics=True, marketing=True), "accept_all") is None
    assert problem(200, state(False, analytics=False), "reject_all") == "no decision was recorded"
    assert problem(200, state(True, analytics=True, marketing=False), "reject_all") == (
        "after Reject all these categories are on: analytics"
    )
    assert problem(200, state(True, analytics=True, marketing=False), "accept_all") == (
        "after Accept all these categories are off: marketing"
    )
    assert problem(404, "", "reject_all") == "the decision could not be confirmed: GET …/state answered HTTP 404"
    assert problem(200, "[]", "reject_all") == "the decision could not be confirmed: …/state is not the consent state"


# -- the report -------------------------------------------------------------------------------------


def leaky_report(declarations: Declarations) -> AuditReport:
    report = AuditReport(f"{SITE}/", [f"{SITE}/", f"{SITE}/about"], declarations)
    for profile in (NO_CHOICE, REJECT, GPC):
        result = ProfileResult(profile, pages=list(report.pages))
        if profile is REJECT:
            result.decision = 'the banner\'s "Reject all" button'
        result.findings = [
            Finding(profile.name, f"{SITE}/", "cookie", "leak_id", "not declared in the site's policy; stored for x"),
            Finding(profile.name, f"{SITE}/about", "request", "http://t.invalid/t.js", "third party t.invalid: …"),
        ]
        report.profiles.append(result)
    accept = ProfileResult(ACCEPT, decision="POST /_consent (no Accept all button on the start page)")
    accept.cookies = {"_ga": ("127.0.0.1", "analytics"), "leak_id": ("127.0.0.1", "undeclared")}
    accept.hosts = {"www.googletagmanager.com": 2}
    report.profiles.append(accept)
    return report


def test_the_report_names_profile_page_and_offender_of_each_violation(declarations: Declarations) -> None:
    report = leaky_report(declarations)
    assert report.exit_code == 1
    assert len(report.violations) == 6
    text = format_report(report)
    lines = text.splitlines()
    assert lines[0] == f"cookieconsent audit of {SITE}/"
    assert "necessary: csrftoken, session; consent cookie __Host-consent" in lines[1]
    assert "  1. /" in lines
    assert "  2. /about" in lines
    assert "no-choice (no decision made): 2 violation(s)" in lines
    assert 'reject-all (after "Reject all", via the banner\'s "Reject all" button): 2 violation(s)' in lines
    assert "  cookie leak_id on /: not declared in the site's policy; stored for x" in lines
    assert "  request http://t.invalid/t.js on /about: third party t.invalid: …" in lines
    assert "  cookies: _ga (analytics), leak_id (undeclared)" in lines
    assert "  third-party hosts (requests): www.googletagmanager.com (2)" in lines
    assert any(line.startswith("  declared cookies not seen on these pages: session, csrftoken") for line in lines)
    assert lines[-1].startswith("FAIL: 6 violation(s) in no-choice, reject-all, gpc")


def test_problems_under_accept_all_are_reported_but_never_fail(declarations: Declarations) -> None:
    report = AuditReport(f"{SITE}/", [f"{SITE}/"], declarations)
    report.profiles = [ProfileResult(p, pages=[f"{SITE}/"]) for p in PROFILES]
    report.profiles[3].findings.append(
        Finding("accept-all", f"{SITE}/", "decision", "Accept all", "no decision was recorded")
    )
    assert report.exit_code == 0
    text = format_report(report)
    assert "  problem: Accept all: no decision was recorded" in text
    assert text.splitlines()[-1].startswith("OK: no cookie, storage key or third-party request beyond the necessary")


def test_an_incomplete_audit_is_not_a_pass(declarations: Declarations) -> None:
    report = AuditReport(f"{SITE}/", [f"{SITE}/"], declarations)
    report.profiles = [ProfileResult(p, pages=[f"{SITE}/"]) for p in PROFILES]
    report.profiles[1].errors.append(f"{SITE}/: no load event within 2 s; inspected as it was")
    assert report.exit_code == 2
    assert "  not audited: " in format_report(report)
    assert format_report(report).splitlines()[-1].startswith("INCOMPLETE")
    report.profiles[1].errors.clear()
    report.stopped = "the run reached its time limit"
    assert report.exit_code == 2
    assert "stopped: the run reached its time limit" in format_report(report)
    report.profiles[0].findings.append(Finding("no-choice", f"{SITE}/", "cookie", "x", "undeclared"))
    assert report.exit_code == 1  # a violation found before stopping still fails


def test_json_report_has_every_finding(declarations: Declarations) -> None:
    data = report_data(leaky_report(declarations))
    assert json.loads(json.dumps(data)) == data
    assert (data["ok"], data["exit_code"], data["violations"]) == (False, 1, 6)
    assert [p["name"] for p in data["profiles"]] == ["no-choice", "reject-all", "gpc", "accept-all"]
    assert [p["checked"] for p in data["profiles"]] == [True, True, True, False]
    assert data["profiles"][0]["findings"][0] == {
        "page": f"{SITE}/",
        "kind": "cookie",
        "subject": "leak_id",
        "detail": "not declared in the site's policy; stored for x",
    }
    assert data["profiles"][3]["cookies"]["_ga"] == {"domain": "127.0.0.1", "policy": "analytics"}
    assert data["policy"]["consent_cookie"] == "__Host-consent"
    assert {"name": "_ga_*", "pattern": True, "category": "analytics"} in data["policy"]["cookies"]


def test_help_describes_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["audit", "--help"])
    out = capsys.readouterr().out
    for option in ("--pages N", "--browser PATH", "--timeout S", "--max-time S", "--json", "--allow-host HOST"):
        assert option in out
