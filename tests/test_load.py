"""The load benchmark in its short mode: both demo apps under real servers, with and without the
middleware, answer every request of the mix (timings are printed, never asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(
    r"^\| (fastapi|flask) \| [^|]+ \| (with|without) \| [\d,]+ \| [\d.]+ \| [\d.]+ \| (\d+) \| ([\d,]+) \|"
)


def test_the_quick_load_run_serves_both_apps_without_errors() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/load.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    rows = {(m.group(1), m.group(2)): m for m in map(ROW.match, done.stdout.splitlines()) if m}
    assert set(rows) == {(app, variant) for app in ("fastapi", "flask") for variant in ("with", "without")}
    for (app, variant), row in rows.items():
        assert int(row.group(3)) == 0, f"{app} {variant} middleware: {row.group(3)} errors"
        assert int(row.group(4).replace(",", "")) > 0, f"{app} {variant} middleware served nothing"
    assert re.search(r"^\| fastapi \| [\d.]+ \(target", done.stdout, re.MULTILINE)
    assert re.search(r"^\| flask \| [\d.]+ \(target", done.stdout, re.MULTILINE)


def test_the_in_process_mix_runs_every_app_and_variant() -> None:
    # What `benchmarks/mix.py callgrind` runs under valgrind: it raises on any 4xx or 5xx answer.
    for case in ("fastapi-bare", "fastapi-middleware", "fastapi-demo", "flask-bare", "flask-middleware", "flask-demo"):
        done = subprocess.run(
            [sys.executable, "benchmarks/mix.py", "once", case, "5"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{case}: {done.stderr[-4000:]}"
