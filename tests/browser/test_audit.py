"""R67: ``cookieconsent audit`` run as a command against real servers, driving Debian's Chromium.

Both demo apps pass; the leaky app (``tests/leaky_app.py``), which lets a script set an undeclared
cookie, write a storage key and load an unknown tracker, fails with each of them named. The command
runs in a process of its own, as in CI, with its browser kept off the network like the other browser
tests' (every host but 127.0.0.1 resolves to "not found", so attempts still show as requests).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from scripts.local_server import free_port, served
from tests.browser.conftest import ARTIFACTS, ROOT
from tests.harness import require_tool
from tests.leaky_app import LEAKED_COOKIE, LEAKED_KEY, TRACKER

OFFLINE = "--browser-arg=--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
FORBIDDEN = ("no-choice", "reject-all", "gpc")


def audit(*args: str, timeout: float = 150) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``cookieconsent audit ARGS`` with the machine's Chromium; the result and how long it took."""
    chromium = require_tool("chromium", os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    env = {**os.environ, "COOKIECONSENT_BROWSER": chromium}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "cookieconsent.cli", "audit", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return result, time.monotonic() - started


@pytest.fixture(scope="module")
def leaky_server() -> Iterator[str]:
    """The base URL of ``tests.leaky_app`` served by uvicorn."""
    cmd = [sys.executable, "-m", "uvicorn", "tests.leaky_app:app", "--host", "127.0.0.1", "--port", "{port}"]
    cmd += ["--timeout-graceful-shutdown", "1"]  # /hang never answers in time
    with served(cmd, ARTIFACTS / "server-leaky.log") as url:
        yield url


def test_both_demo_apps_pass(live_server: str, server_name: str) -> None:
    """No decision, Reject all and GPC store only the necessary `session` and `csrftoken` (the sign-in form's) and
    contact nobody; Accept all lets the trackers in."""
    result, seconds = audit(f"{live_server}/", OFFLINE, "--json")
    (ARTIFACTS / f"audit-{server_name}.json").write_text(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["violations"] == 0
    assert len(report["pages"]) == 5
    assert report["pages"][0] == f"{live_server}/"
    assert all(p.startswith(f"{live_server}/") for p in report["pages"])
    profiles = {p["name"]: p for p in report["profiles"]}
    assert list(profiles) == [*FORBIDDEN, "accept-all"]
    for name in FORBIDDEN:
        assert profiles[name]["findings"] == []
        assert profiles[name]["errors"] == []
        assert profiles[name]["pages"] == report["pages"]
        assert profiles[name]["third_party_hosts"] == {}
        assert profiles[name]["storage"] == {}
    assert set(profiles["no-choice"]["cookies"]) == {"session", "csrftoken"}
    assert set(profiles["gpc"]["cookies"]) <= {"session", "csrftoken", "__Host-consent"}
    assert set(profiles["reject-all"]["cookies"]) == {"session", "csrftoken", "__Host-consent"}
    assert profiles["reject-all"]["decision"] == 'the banner\'s "Reject all" button'
    accepted = profiles["accept-all"]
    assert accepted["decision"] == 'the banner\'s "Accept all" button'
    assert accepted["findings"] == []
    assert {name: c["policy"] for name, c in accepted["cookies"].items()} == {
        "session": "necessary",
        "csrftoken": "necessary",
        "__Host-consent": "consent cookie",
        "lang": "functional",
        "__Host-ccdid": "analytics",  # the recorder's device cookie, declared as ccdid
        "_ga": "analytics",
        "_fbp": "marketing",
    }
    assert {"www.googletagmanager.com", "connect.facebook.net"} <= set(accepted["third_party_hosts"])
    assert "audit: no-choice: page 1/" in result.stderr
    assert "audit: accept-all: page 5/5" in result.stderr
    assert seconds < 120


def test_the_leaky_app_fails_naming_each_cookie_key_and_request(leaky_server: str) -> None:
    result, seconds = audit(f"{leaky_server}/", OFFLINE)
    (ARTIFACTS / "audit-leaky.txt").write_text(result.stdout + "\n" + result.stderr)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "pages (3):" in lines  # the start page, /about and the preference page; not the other site
    assert "  2. /about" in lines
    assert "elsewhere.invalid" not in result.stdout
    for name in FORBIDDEN:
        block = lines[next(i for i, line in enumerate(lines) if line.startswith(f"{name} (")) :]
        block = block[: block.index("")]
        assert block[0].endswith(": 3 violation(s)"), block
        assert block[1:] == [
            f"  cookie {LEAKED_COOKIE} on /: not declared in the site's policy; stored for 127.0.0.1",
            f"  storage localStorage {LEAKED_KEY} on /: not declared in the site's policy; written for {leaky_server}",
            f"  request {TRACKER} on /: third party leak-tracker.invalid: a host the tracker catalog does not know",
        ]
    assert 'reject-all (after "Reject all", via the banner\'s "Reject all" button): 3 violation(s)' in lines
    assert "session" not in "\n".join(line for line in lines if line.startswith("  cookie "))
    assert "server_leak" not in result.stdout  # the middleware removed it from the response
    assert lines[-1].startswith("FAIL: 9 violation(s) in no-choice, reject-all, gpc")
    assert seconds < 90


def test_a_page_that_never_finishes_loading_is_bounded(leaky_server: str) -> None:
    """Every step has a timeout: a page whose load event never comes is inspected as it was, and said so."""
    result, seconds = audit(f"{leaky_server}/hanging", OFFLINE, "--timeout", "2", "--pages", "1")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"  not audited: {leaky_server}/hanging: no load event within 2 s; inspected as it was" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("INCOMPLETE")
    reject = 'reject-all (after "Reject all", via the banner\'s "Reject all" button)'
    assert f"{reject}: no violation, but not audited to the end" in result.stdout
    assert result.stdout.count("not audited: ") == 4  # once per profile
    assert "note:" not in result.stdout  # the click was recorded without waiting for a load event
    assert seconds < 50  # six loads of at most 2 s, four of them with at most 2 s of waiting for the network


def test_a_browser_that_does_not_exist_is_a_usage_error(leaky_server: str) -> None:
    result, _ = audit(f"{leaky_server}/", "--browser", "/nonexistent/chromium")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "cookieconsent audit: Chromium not found at '/nonexistent/chromium' (given by --browser): give the path of a "
        "Chromium or Chrome executable, or install Debian's `chromium` package and leave --browser out"
    )


def test_an_unreachable_site_is_a_usage_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    result, seconds = audit(url)
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"cookieconsent audit: cannot reach {url} (" in result.stderr
    assert "is the site running, and is the address right?" in result.stderr
    assert seconds < 30
