"""The fuzz harness (fuzz/): every target runs clean for a short bounded time, and the harness catches
bugs (one planted in the rewriter, one only reachable by mutation); the browser reading the rewrite
target checks against reads pages as browsers do; the reported findings still reproduce."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fuzz.browser import active_violations, elements, url_host_path
from fuzz.run import TARGETS, Target, run_target

from cookieconsent.trackers import Catalog

ROOT = Path(__file__).resolve().parents[1]
FINDINGS = ROOT / "fuzz" / "findings"
CATALOG = Catalog()


def test_every_target_runs_clean_for_a_bounded_run(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "fuzz/run.py",
            "--runs",
            "2000",
            "--seconds",
            "6",
            "--seed",
            "1",
            "--artifacts",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-6000:]
    for name in TARGETS:
        line = re.search(rf"^{name}\s+ok\s+(\d+)", done.stdout, re.MULTILINE)
        assert line is not None, done.stdout
        assert int(line.group(1)) > 100, f"{name} ran only {line.group(1)} inputs"
    assert not list(tmp_path.iterdir()), "no crashing input may be written"


PLANTED_REWRITER_BUG = """
import fuzz.targets.rewrite as target
from cookieconsent.rewrite import HTMLRewriter


def keep(self, name, attrs, category, self_closing):
    # The planted bug: an element of a refused category is written back as it was, still active.
    return "<" + name + "".join(f' {k}="{v}"' if v is not None else f" {k}" for k, v in attrs) + ">"


HTMLRewriter._inert = keep
target.main()
"""


def test_the_rewrite_invariant_catches_a_rewriter_that_leaves_trackers_active(tmp_path: Path) -> None:
    script = tmp_path / "planted.py"
    script.write_text(PLANTED_REWRITER_BUG)
    spec = Target("planted", (sys.executable, str(script)), ROOT / "fuzz" / "corpus" / "rewrite")
    result = run_target(spec, seconds=60, runs=2000, artifacts=tmp_path / "artifacts")
    assert not result.ok, result.output[-3000:]
    assert result.crash is not None
    assert result.crash.is_file()
    assert result.crash.parent == tmp_path / "artifacts"
    assert "active in the rewritten page" in result.output
    assert "fetches a analytics URL" in result.output or "fetches a marketing URL" in result.output


PLANTED_DEEP_BUG = """
import sys

import atheris


@atheris.instrument_func
def test_one_input(data: bytes) -> None:
    if len(data) >= 4 and data[0] == 0x50 and data[1] == 0x4C and data[2] == 0x4E and data[3] == 0x54:
        raise RuntimeError("planted: reached only by mutating the seed")


atheris.Setup(sys.argv, test_one_input)
atheris.Fuzz()
"""


def test_coverage_guidance_reaches_a_bug_no_seed_contains(tmp_path: Path) -> None:
    script = tmp_path / "deep.py"
    script.write_text(PLANTED_DEEP_BUG)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "seed").write_bytes(b"PLxx")
    spec = Target("deep", (sys.executable, str(script)), corpus)
    result = run_target(spec, seconds=45, runs=200_000, artifacts=tmp_path / "artifacts", seed=1)
    assert not result.ok, result.output[-3000:]
    assert result.crash is not None
    assert result.crash.read_bytes()[:4] == b"PLNT"


# -- the browser reading the rewrite target checks against ----------------------------------------


def test_the_browser_reading_follows_comments_text_elements_and_attributes() -> None:
    page = (
        "<!--><img src=a><!-- x --!><img src=b><!x <img src=c>><img src=d>"
        "<noscript><img src=e></noscript><title><img src=f></title >"
        "<img alt=it's src=g><IMAGE SRC='h&amp;i'><img src=j"
    )
    scripting = [(e.name, e.attrs.get("src")) for e in elements(page, scripting=True)]
    assert scripting == [
        ("img", "a"),
        ("img", "b"),
        ("img", "d"),
        ("noscript", None),
        ("title", None),
        ("img", "g"),
        ("img", "h&i"),
    ]
    no_scripting = [e.attrs.get("src") for e in elements(page, scripting=False) if e.name == "img"]
    assert "e" in no_scripting


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://www.facebook.com/tr?id=1", "www.facebook.com"),
        ("//www.facebook.com/tr", "www.facebook.com"),
        ("https:\\\\www.facebook.com\\tr", "www.facebook.com"),
        (" \x01https://www.face\tbook.com/tr", "www.facebook.com"),
        ("http:www.facebook.com/tr", "www.facebook.com"),
        ("https://user@WWW.FACEBOOK.COM.:443/tr", "www.facebook.com"),
        ("https://www.face%62ook.com/tr", "www.facebook.com"),
        ("https:tr", None),
        ("/tr", None),
        ("javascript:alert(1)", None),
    ],
)
def test_the_browser_reading_resolves_urls_as_browsers_do(url: str, host: str | None) -> None:
    found = url_host_path(url)
    assert (found[0] if found else None) == host


def test_the_browser_reading_flags_active_trackers_and_not_inert_ones() -> None:
    def allowed(category: str) -> bool:
        return category == "necessary"

    def check(page: str) -> list[str]:
        return [str(v) for v in active_violations(page, allowed, CATALOG.category_of_url, CATALOG.category_of_script)]

    assert check('<script src="https://www.google-analytics.com/analytics.js"></script>')
    assert check("<script>fbq('init', '1');</script>")
    assert check('<img srcset="/a.png 1x, https://www.facebook.com/tr?id=1 2x">')
    assert check('<iframe srcdoc="<script src=https://connect.facebook.net/x.js></script>"></iframe>')
    assert check('<img src="/pixel.gif" data-category="marketing">')
    assert not check('<script type="text/plain" data-src="https://www.google-analytics.com/a.js"></script>')
    assert not check('<script type="application/ld+json">{"u": "https://www.youtube.com/x"}</script>')
    assert not check('<img data-src="https://www.facebook.com/tr?id=1" data-category="marketing">')
    assert not check('<script src="https://www.google-analytics.com/a.js" data-category="necessary"></script>')
    assert not check("<noscript><script>fbq('init')</script></noscript>")


# -- the reported findings ----------------------------------------------------------------------

EXPLAIN = """
import json, sys
from pathlib import Path

import fuzz.targets.rewrite as rewrite
from fuzz.known import SET_COOKIE

out = {}
for name in sys.argv[1:]:
    data = Path(name).read_bytes()
    if Path(name).name.startswith("rewrite-"):
        out[name] = sorted({known.id if known else "" for _, known in rewrite.check(data)[1]})
    else:
        lines = data[2:].decode("latin-1").splitlines()
        out[name] = sorted({k.id for line in lines for k in SET_COOKIE if k.explains(line.split(": ", 1)[-1])})
print(json.dumps(out))
"""


def test_each_reported_finding_reproduces_and_is_recognised_by_its_own_entry_only() -> None:
    files = sorted(FINDINGS.glob("*.bin"))
    from fuzz.known import REWRITE, SET_COOKIE

    # Every known entry has its reproducer, and every reproducer its entry (none left: none known).
    assert sorted(f"rewrite-{k.id}" for k in REWRITE) + sorted(f"set_cookie-{k.id}" for k in SET_COOKIE) == sorted(
        f.stem for f in files
    )
    if not files:
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", EXPLAIN, *map(str, files)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    explained = json.loads(done.stdout.strip().splitlines()[-1])
    for path in files:
        target, _, known = path.stem.partition("-")
        assert explained[str(path)] == [known], f"{path.name}: {explained[str(path)]}"
    for target in ("rewrite", "set_cookie"):
        inputs = [str(f) for f in files if f.name.startswith(f"{target}-")]
        if not inputs:
            continue
        strict = subprocess.run(
            [sys.executable, "-m", "fuzz.replay", target, *inputs],
            cwd=ROOT,
            env={**env, "COOKIECONSENT_FUZZ_STRICT": "1"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        # Once a finding is fixed its reproducer passes here: move it into fuzz/corpus/<target>/ as a
        # seed and delete its entry in fuzz/known.py.
        assert strict.returncode == len(inputs), strict.stdout
