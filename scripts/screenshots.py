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
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, ViewportSize, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.local_server import CHROMIUM_ARGS, served  # noqa: E402

OUTPUT = ROOT / "docs" / "assets" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
#: File-name suffix → the Accept-Language the browser sends.
LANGUAGES = {"en": "en-US,en;q=0.9", "zh-TW": "zh-TW,zh;q=0.9"}
#: Every wait is bounded.
SERVER_START_SECONDS = 30.0
ACTION_TIMEOUT_MS = 15_000


def shoot(page: Page, path: Path) -> None:
    """Screenshot the viewport with animations finished and no blinking caret; check the file."""
    page.wait_for_load_state("load")
    data = page.screenshot(path=path, animations="disabled", caret="hide")
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 5_000:
        raise RuntimeError(f"{path.name}: not a proper screenshot ({len(data)} bytes)")
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path  # --output may be elsewhere
    print(f"wrote {shown} ({len(data) // 1024} KiB)")


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
    with tempfile.TemporaryDirectory(prefix="cc-screenshots-") as scratch:
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "COOKIECONSENT_STORE": str(Path(scratch) / "records.db"),  # not the demo's own store
        }
        command = [sys.executable, "-m", "uvicorn", "examples.fastapi_app:app", "--host", "127.0.0.1"]
        command += ["--port", "{port}", "--log-level", "warning"]
        with served(command, Path(scratch) / "server.log", env, timeout=SERVER_START_SECONDS) as url:
            take(url, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
