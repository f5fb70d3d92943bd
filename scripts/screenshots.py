"""Take the screenshots the documentation shows: the banner and the preference page, in English and Chinese.

Serves the FastAPI demo app (``examples/fastapi_app.py``) with uvicorn on a free local port, opens it
in Debian's Chromium through Playwright, and writes four 1280×800 PNG files to
``docs/assets/screenshots/``:

- ``banner-en.png`` and ``banner-zh-TW.png``: the home page ``/`` with the banner's first layer;
- ``preferences-en.png`` and ``preferences-zh-TW.png``: the preference page ``/_consent/preferences``.

The language comes from the browser's ``Accept-Language``. The browser resolves no host but
127.0.0.1, so nothing leaves the machine, and the demo records into a temporary SQLite file that is
removed afterwards. Run it from the repository's root::

    .venv/bin/python scripts/screenshots.py

The server is stopped by its process id at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, ViewportSize, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "assets" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
#: The arguments the browser tests use (tests/browser/conftest.py): headless, no sandbox (root), and
#: every host but the local server resolved to "not found".
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
#: File-name suffix → the Accept-Language the browser sends.
LANGUAGES = {"en": "en-US,en;q=0.9", "zh-TW": "zh-TW,zh;q=0.9"}
#: Every wait is bounded.
SERVER_START_SECONDS = 30.0
ACTION_TIMEOUT_MS = 15_000


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    """Return once the server accepts connections on ``port``; raise if it exits or takes too long."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the demo server exited with {server.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"the demo server did not listen on 127.0.0.1:{port} within {SERVER_START_SECONDS} s")


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server we started, by its process id."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def shoot(page: Page, path: Path) -> None:
    """Screenshot the viewport with animations finished and no blinking caret; check the file."""
    page.wait_for_load_state("load")
    data = page.screenshot(path=path, animations="disabled", caret="hide")
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 5_000:
        raise RuntimeError(f"{path.name}: not a proper screenshot ({len(data)} bytes)")
    print(f"wrote {path.relative_to(ROOT)} ({len(data) // 1024} KiB)")


def take(base: str, output: Path) -> list[Path]:
    """Drive Chromium over the demo at ``base`` and write the screenshots into ``output``."""
    output.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for suffix, accept_language in LANGUAGES.items():
                context = browser.new_context(
                    viewport=VIEWPORT,
                    locale=accept_language.split(",")[0],
                    extra_http_headers={"Accept-Language": accept_language},
                    color_scheme="light",
                )
                context.set_default_timeout(ACTION_TIMEOUT_MS)
                page = context.new_page()
                page.goto(f"{base}/", wait_until="load")
                banner = page.locator("#cookieconsent .cc-banner")
                banner.wait_for(state="visible")
                lang = page.locator("#cookieconsent").get_attribute("lang")
                if lang != suffix:
                    raise RuntimeError(f"the banner is in {lang!r}, not {suffix!r}: is Accept-Language honoured?")
                written.append(output / f"banner-{suffix}.png")
                shoot(page, written[-1])

                page.goto(f"{base}/_consent/preferences", wait_until="load")
                page.locator(".cc-page").first.wait_for(state="visible")
                written.append(output / f"preferences-{suffix}.png")
                shoot(page, written[-1])
                context.close()
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    """Serve the demo, take the screenshots, stop the server; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"where to write the PNG files (default: {OUTPUT})")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"Chromium is not at {CHROMIUM}: install Debian's chromium package, or set CHROMIUM", file=sys.stderr)
        return 1
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="cc-screenshots-") as scratch:
        log = Path(scratch) / "server.log"
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "COOKIECONSENT_STORE": str(Path(scratch) / "records.db"),  # not the demo's own store
        }
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "examples.fastapi_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        with log.open("wb") as out:
            server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, server, log)
            take(f"http://127.0.0.1:{port}", args.output)
        finally:
            stop(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
