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
from fuzz.browser import (
    PAGE_BASES,
    active_violations,
    css_urls,
    domain_to_ascii,
    elements,
    parse_url,
    refresh_url,
    srcset_urls,
    url_host_path,
)
from fuzz.run import TARGETS, Target, run_target

from cookieconsent.blocking.trackers import Catalog

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
from cookieconsent.blocking.rewriter import HTMLRewriter


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
    # It names what stayed active: a tracker's URL, or a tracker's inline script.
    assert re.search(r"(fetches a|an inline) (analytics|marketing) (URL|script)", result.output)


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
        ("https://www.google-analytics\u3002com/collect", "www.google-analytics.com"),
        ("https://www.google-analytics\uff0ecom/collect", "www.google-analytics.com"),
        ("https://\uff57\uff57\uff57.\uff46acebook.com/tr", "www.facebook.com"),
        ("https://www.face\u00adbook.com/tr", "www.facebook.com"),
        ("https:////www.facebook.com/tr", "www.facebook.com"),
        ("https://www.facebook.com:80a/tr", None),  # a port that is not a number: the URL fails
        ("https://%zz/tr", None),
        ("https://www.face\u200dbook.com/tr", "www.xn--facebook-cm3d.com"),  # a joiner is kept, not dropped
        ("https://www.faceboo\u00df.com/tr", "www.xn--faceboo-6va.com"),  # a deviation: not "ss"
        ("https://www.facebook.com\u2024x/tr", None),  # a dot leader is disallowed, not a dot
        ("https://www..facebook.com/tr", None),  # an empty label: never looked up
        ("https://1.2.3.4/tr", None),  # an IPv4 address
    ],
)
def test_the_browser_reading_resolves_urls_as_browsers_do(url: str, host: str | None) -> None:
    found = url_host_path(url)
    assert (found[0] if found else None) == host


def test_the_browser_reading_parses_paths_and_resolves_against_a_base() -> None:
    https = PAGE_BASES[0]
    base = parse_url("https://www.facebook.com/a/b", https)
    assert base is not None
    assert [parse_url(u, base) for u in ("tr", "../tr", "/tr", "?x", "https:tr")] == [
        parse_url(f"https://www.facebook.com{path}", None) for path in ("/a/tr", "/tr", "/tr", "/a/b", "/a/tr")
    ]
    assert parse_url("https://www.facebook.com/x/%2E%2e/./tr?a=/../b#/..", None) == parse_url(
        "https://www.facebook.com/tr", None
    )
    assert parse_url("https://www.facebook.com/..%2f/tr", None).path == "/..%2f/tr"  # type: ignore[union-attr]
    assert parse_url("tr", None) is None  # no base: relative URLs fail
    assert parse_url("tr", parse_url("data:text/html,x", None)) is None  # a data: document has no base
    assert parse_url("data:text/html,<b>#x", None).path == "text/html,<b>"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("sheet", "urls"),
    [
        ("a{background:url(https://t/1)}", [("https://t/1", False)]),
        ("a{background:URL( 'https://t/2' )}", [("https://t/2", False)]),
        ("a{background:\\75 rl(https://t/3)}", [("https://t/3", False)]),
        ("a{background:u\\72 l(https://t/4)}", [("https://t/4", False)]),
        ("a{b:url(https://t/\\29 x)}", [("https://t/)x", False)]),
        ('@import "https://t/5" screen; @import url(https://t/6);', [("https://t/5", True), ("https://t/6", True)]),
        ('a{b:image-set("https://t/7" 1x, url(https://t/8) 2x)}', [("https://t/7", False), ("https://t/8", False)]),
        ('a{b:-webkit-image-set("https://t/9" 1x)}', [("https://t/9", False)]),
        ("@font-face{src:url(https://t/10) format('woff2')}", [("https://t/10", False)]),
        ("/* url(https://t/11) */ a{content:'url(https://t/12)'}", []),  # a comment, a string that is no URL
        ("a{b:xurl(https://t/13) -url(https://t/14) 1url(https://t/15)}", []),  # other names, a dimension
        ("a{b:#url(https://t/16)}", []),  # a hash token, then a block
        ("a{b:url(https://t/17 x)}", []),  # a bad url fetches nothing
        ('a{b:"x\n; c:url(https://t/18)}', [("https://t/18", False)]),  # a bad string ends at its newline
        ('a{b:image-set(; "https://t/19" 1x)}', []),  # no valid value can follow a ";"
        ("a{b:#url(a'b) 'c);d:url(https://t/20)}", [("https://t/20", False)]),  # the block ends at ")"
        ("a{b:url(https://t/21\x00)}", [("https://t/21\ufffd", False)]),  # NUL is U+FFFD, not a bad url
    ],
)
def test_the_browser_reading_tokenizes_css(sheet: str, urls: list[tuple[str, bool]]) -> None:
    assert css_urls(sheet) == urls


@pytest.mark.parametrize(
    ("content", "url"),
    [
        ("0; url=https://t/1", "https://t/1"),
        ("5;URL='https://t/2'x", "https://t/2"),
        ("0 , url = https://t/3", "https://t/3"),
        ('0;"https://t/4"', "https://t/4"),
        ("0; uhttps://t/5", "uhttps://t/5"),  # not "url=": the whole rest is the URL
        ("0", None),
        ("url=https://t/6", None),  # no time: no refresh
        ("0x;url=https://t/7", None),
    ],
)
def test_the_browser_reading_reads_a_refresh_as_browsers_do(content: str, url: str | None) -> None:
    assert refresh_url(content) == url


def test_the_browser_reading_splits_srcset_as_browsers_do() -> None:
    assert srcset_urls("a.png 1x,b.png 2x, c,d.png , e.png (x, y) 3x") == ["a.png", "b.png", "c,d.png", "e.png"]


def test_the_browser_reading_maps_hosts_as_uts46_does() -> None:
    """Wherever either gives an ASCII host, the oracle's mapping agrees with UTS #46 (the idna package),
    for every assigned code point of the Basic Multilingual Plane."""
    import unicodedata

    import idna

    differ = []
    for code in range(0x80, 0x10000):
        char = chr(code)
        if 0xD800 <= code <= 0xDFFF or unicodedata.category(char) == "Cn":
            continue
        host = f"x{char}y.com"
        mine = domain_to_ascii(host)
        try:
            theirs: str | None = idna.uts46_remap(host, std3_rules=False, transitional=False)
        except (idna.IDNAError, ValueError):
            theirs = None
        mine_ascii = mine is not None and "xn--" not in mine
        theirs_ascii = theirs is not None and theirs.isascii()
        if (mine_ascii or theirs_ascii) and mine != (theirs.lower() if theirs_ascii and theirs else None):
            differ.append((hex(code), mine, theirs))
    assert not differ


def test_the_browser_reading_reads_svg_style_and_script_text_as_child_text() -> None:
    page = "<svg><style>a{b:u<!---->rl(x)}<g>c{}</g><![CDATA[d{}]]>&amp;</style><script>f<x/>(1)</script></svg>"
    style, script = (e for e in elements(page) if e.name in ("style", "script"))
    assert style.content == "a{b:url(x)}d{}&"
    assert script.content == "f(1)"
    # A script cut by the end of the page never runs.
    assert [
        e.unterminated for e in elements("<script>fbq('init')</script><script>fbq('init')") if e.name == "script"
    ] == [
        False,
        True,
    ]


GA = "https://www.google-analytics.com/collect"
BASE = '<base href="https://www.google-analytics.com/">'
DOC = f"data:text/html,%3Cimg%20src%3D{GA}%3E"
RULES = '{"prefetch": [{"source": "list", "urls": ["collect"]}]}'
MAP = f'{{"imports": {{"a": "{GA}"}}}}'
#: Each class of the rewriter's contract: (active markup, the inert markup the rewriter writes for it;
#: None: inert as written).
CLASSES = [
    (f'<div style="background:url({GA})">', '<div style="background:url(about:invalid)">'),
    (f'<div style="background:\\75 rl({GA})">', '<div style="background:url(about:invalid)">'),
    (f'<div style="background:u&#114;l({GA})">', '<div style="background:url(about:invalid)">'),
    (
        f'<i style="background:image-set(&quot;{GA}&quot; 1x)">',
        "<i style=\"background:image-set('about:invalid' 1x)\">",
    ),
    (f"<style>@import '{GA}';</style>", "<style>@import 'about:invalid';</style>"),
    (f"<svg><style>a{{b:url(<!---->{GA})}}</style></svg>", f"<svg><style type=text/plain>a{{b:url({GA})}}</style>"),
    (f'<svg><rect fill="url({GA}#p)"/></svg>', '<svg><rect fill="url(about:invalid)"/></svg>'),
    (f'<svg><rect><set attributeName=fill to="url({GA}#p)"/></rect></svg>', "<svg><rect></rect></svg>"),
    (f'{BASE}<img src="collect">', f'{BASE}<img data-src="collect">'),
    (f'<iframe src="{DOC}"></iframe>', f'<iframe data-src="{DOC}"></iframe>'),
    ('<iframe src="data:text/html,<base href=https://www.google-analytics.com/><img src=c>">', "<iframe>"),
    ("<iframe src=\"javascript:'<base href=https://www.facebook.com/><img src=tr>'\"></iframe>", "<iframe></iframe>"),
    (f"<script src=\"data:,fetch('{GA}')\"></script>", f"<script data-src=\"data:,fetch('{GA}')\"></script>"),
    (
        f'<link rel=stylesheet href="data:,@import url({GA})">',
        f'<link rel=stylesheet data-href="data:,@import url({GA})">',
    ),
    (f'<a href="/x" ping="{GA}">x</a>', f'<a href="/x" data-ping="{GA}">x</a>'),
    (f"<img src=/a.png onerror=\"fetch('{GA}')\">", f"<img src=/a.png data-cc-onerror=\"fetch('{GA}')\">"),
    (f'<meta http-equiv="refresh" content="0; url={GA}">', f'<meta data-http-equiv="refresh" content="0; url={GA}">'),
    (f'<script type="importmap">{MAP}</script>', f'<script type="text/plain" data-type="importmap">{MAP}</script>'),
    (f'{BASE}<script type="speculationrules">{RULES}</script>', f'<script type="speculationrules">{RULES}</script>'),
    (f'<img data-cc="overlong" src="" onerror="" src="{GA}" onerror="fetch(\'{GA}\')">', None),
]


@pytest.mark.parametrize(("active", "inert"), CLASSES)
def test_the_browser_reading_flags_each_class_and_accepts_its_inert_form(active: str, inert: str | None) -> None:
    def check(page: str) -> list[str]:
        return [
            str(v)
            for v in active_violations(
                page,
                lambda category: category == "necessary",
                CATALOG.category_of_url,
                lambda source: CATALOG.category_of_script(source, text=True),
            )
        ]

    if inert is None:  # the form is inert as written (first attributes win)
        assert not check(active)
        return
    assert check(active), active
    assert not check(inert), inert


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
    # A marking cannot vouch for a known tracker (docs/blocking.md), but it does for a script's content.
    assert check('<script src="https://www.google-analytics.com/a.js" data-category="necessary"></script>')
    assert not check("<script data-category=necessary>fbq('init', '1');</script>")
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
