"""The rewriter against each class of the trust review: URLs as browsers resolve them, CSS, inline
documents and pings, handlers, and pages cut into chunks of any size (linear cost, overlong tags).

tests/browser/test_vectors.py loads pages of these classes in Chromium, which is the final judge; these
tests pin the rewriter's output, fast, for each class.
"""

from __future__ import annotations

import re
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cookieconsent.blocking.rewriter as rewrite_module
from cookieconsent.blocking.rewriter import (
    _TAG_END,
    INLINE_LIMIT,
    TAG_LIMIT,
    HTMLRewriter,
    RewritePlan,
    _TagLexer,
    rewrite,
)
from cookieconsent.blocking.trackers import Catalog

CATALOG = Catalog()
GA = "https://www.google-analytics.com/collect"
CATEGORIES = frozenset({"functional", "analytics", "marketing"})


def active(out: str) -> str:
    """The output without the values of ``data-*`` attributes (where inert URLs are kept)."""
    return re.sub(r'\sdata-[\w:-]+="[^"]*"', "", out)


def bare(out: str) -> str:
    """The output without the injected markup."""
    return out.replace("<!--head-->", "").replace("<!--banner-->", "")


def run(page: str, granted: frozenset[str] = frozenset(), step: int | None = None) -> str:
    plan = RewritePlan(granted, "<!--head-->", "<!--banner-->", lambda c, h: f"<i>{c}</i>", CATALOG, "utf-8", "t")
    data = page.encode()
    size = step or max(1, len(data))
    return rewrite(plan, [data[i : i + size] for i in range(0, len(data), size)]).decode()


# -- URLs as the browser resolves them -------------------------------------------------------------

URL_FORMS = [
    "https://www.facebook.com/./tr?id=1",
    "https://www.facebook.com/a/../tr?id=1",
    "https://www.facebook.com/%2e/tr?id=1",
    "https://www.google-analytics\u3002com/collect",
    "https://\uff57\uff57\uff57.google-analytics.com/collect",
    "https://www.goo\u00adgle-analytics.com/collect",
    "https://WWW.GOOGLE-ANALYTICS.COM./collect",
    "https:\\\\www.google-analytics.com\\collect",
    "https:www.google-analytics.com/collect",
    "https://u:p@www.google-analytics.com:443/collect",
    "https://www%2egoogle-analytics.com/collect",
    " \thttps://www.google-analytics.com/col\nlect",
    "https&colon;&sol;&sol;www.google-analytics.com/collect",
    "https://dc.ads.linkedin.com/collect?pid=1&fmt=gif",
    "https://%zz/unreadable",
]


@pytest.mark.parametrize("url", URL_FORMS)
@pytest.mark.parametrize("tag", ['<img src="{}">', '<script src="{}"></script>', '<iframe src="{}"></iframe>'])
def test_every_url_form_is_judged_as_the_browser_reads_it(url: str, tag: str) -> None:
    page = tag.format(url.replace('"', "&quot;"))
    out = run(page)
    assert 'data-cc="blocked"' in out, out
    assert ' src="' not in out.replace(" data-src=", " "), out
    assert run(page, CATEGORIES) == page  # granted (and readable or not: everything granted), untouched


def test_relative_urls_follow_the_base() -> None:
    page = '<base href="https://www.google-analytics.com/"><img src="collect"><img srcset="a.png 1x, b.png 2x">'
    out = run(page)
    assert out.count('data-cc="blocked"') == 2
    assert run('<base href="/static/"><img src="collect.png">') == '<base href="/static/"><img src="collect.png">'
    # The first <base> counts; elements before it resolve against the page.
    assert 'data-cc="blocked"' not in run('<img src="a.png"><base href="https://www.google-analytics.com/">')


# -- CSS -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "page",
    [
        f'<div style="background:url({GA})">x</div>',
        f"<div style='background:url(\"{GA}\")'>x</div>",
        f'<div style="background:u&#114;l({GA})">x</div>',
        f'<div style="background:\\75 rl({GA})">x</div>',
        f'<span style="background-image:image-set(&quot;{GA}&quot; 1x)">x</span>',
        f'<p STYLE = "color:red;background:url({GA})">x</p>',
        f'<img src="/a.png" style="background:url({GA})">',
    ],
)
def test_style_attributes_lose_only_the_tracker_url(page: str) -> None:
    out = run(page)
    assert "google-analytics" not in out
    assert "about:invalid" in out
    assert out.startswith(page[: page.index(" ")])  # the same element, still active


def test_style_elements_keep_all_other_css_byte_for_byte() -> None:
    sheet = f"@import url({GA}); a > b {{ color: red }} c {{ background: url(/ok.png) }} /* {GA} */"
    assert run(f"<style>{sheet}</style>") == f"<style>{sheet.replace(f'url({GA})', 'url(about:invalid)', 1)}</style>"
    assert run(f"<style>{sheet}</style>", CATEGORIES) == f"<style>{sheet}</style>"
    svg = f'<svg><style>@import url({GA});</style><rect fill="url({GA}#p)"/></svg>'
    out = run(svg)
    assert '<style type="text/plain"' in out
    assert 'fill="url(about:invalid)"' in out


# -- inline documents, pings, handlers --------------------------------------------------------------


@pytest.mark.parametrize(
    "page",
    [
        f'<iframe src="data:text/html,%3Cimg%20src%3D{GA}%3E"></iframe>',
        '<iframe src="data:text/html;base64,'
        'PHNjcmlwdCBzcmM9Imh0dHBzOi8vd3d3Lmdvb2dsZS1hbmFseXRpY3MuY29tL2EuanMiPjwvc2NyaXB0Pg=="></iframe>',
        f'<object data="data:text/html,<img src={GA}>"></object>',
        f'<embed src="data:text/html,<img src={GA}>">',
        f"<iframe src=\"javascript:'<img src={GA}>'\"></iframe>",
        f"<script src=\"data:text/javascript,fetch('{GA}')\"></script>",
        f'<link rel="stylesheet" href="data:text/css,@import url({GA})">',
        f'<iframe srcdoc="<iframe src=&quot;data:text/html,&lt;img src={GA}&gt;&quot;></iframe>"></iframe>',
        '<iframe src="data:text/html,<base href=https://www.google-analytics.com/><img src=collect>"></iframe>',
    ],
)
def test_documents_scripts_and_sheets_in_urls_are_read(page: str) -> None:
    out = run(page)
    assert 'data-cc="blocked"' in out, out
    assert run(page, CATEGORIES) == page


@pytest.mark.parametrize(
    ("page", "renamed"),
    [
        (f'<a href="/next" ping="{GA}">next</a>', "data-ping"),
        (f'<area href="/next" ping="/local {GA}">', "data-ping"),
        (f'<img src="/a.png" onerror="new Image().src=\'{GA}\'">', "data-cc-onerror"),
        (f"<body onload=\"fetch('{GA}')\">", "data-cc-onload"),
        (f"<details open ontoggle=\"navigator.sendBeacon('{GA}')\"></details>", "data-cc-ontoggle"),
        (f'<meta http-equiv="refresh" content="0; url={GA}">', "data-http-equiv"),
    ],
)
def test_pings_handlers_and_refreshes_to_trackers_are_renamed(page: str, renamed: str) -> None:
    out = run(page)
    assert renamed in out, out
    assert bare(run(page, CATEGORIES)) == page


def test_first_party_handlers_and_pings_stay() -> None:
    page = '<a href="/x" ping="/stats" onclick="go()">x</a><div style="color:red" onmouseover="hi()">y</div>'
    assert run(page) == page


@pytest.mark.parametrize(
    "script",
    [
        "var s='https://www\\x2egoogle-analytics\\u002ecom/analytics.js'",
        "var s='https://www.google-analytics\u3002com/analytics.js'",
        "\\u0066bq('init', '1')",
        "window._linkedin_data_partner_id = '1';",
    ],
)
def test_inline_scripts_are_read_with_their_escapes(script: str) -> None:
    assert 'type="text/plain"' in run(f"<script>{script}</script>")


def test_import_maps_and_speculation_rules_to_trackers_are_inert() -> None:
    for kind in ("importmap", "speculationrules"):
        out = run(f'<script type="{kind}">{{"x": "{GA}"}}</script>')
        assert f'data-type="{kind}" type="text/plain"' in out


# -- chunks of any size: the same output, at a cost linear in the page ------------------------------

LONG = 60 * 1024
LONG_PAGES = {
    "tag": f'<img alt="{"x" * LONG}" src="{GA}"><p>after</p>',
    "tag with many attributes": "<div " + "a=1 " * (LONG // 4) + f'style="background:url({GA})">after</div>',
    "comment": f'<!--{"x" * LONG}--><img src="{GA}">',
    "bogus comment": f'<?{"x" * LONG}><img src="{GA}">',
    "doctype": f'<!doctype html {"x" * LONG}><img src="{GA}">',
    "end tag": f'</div title="{">" * LONG}"><img src="{GA}">',
    "svg script": f"<svg><script>{'x' * LONG}fbq('init')</script></svg><img src=\"{GA}\">",
    "style": f"<style>{'a{}' * (LONG // 3)}b{{background:url({GA})}}</style>",
}


@pytest.mark.parametrize("name", sorted(LONG_PAGES))
def test_one_byte_chunks_read_each_byte_a_bounded_number_of_times(name: str) -> None:
    page = LONG_PAGES[name]
    read = 0
    original = HTMLRewriter._run

    def counting(self: HTMLRewriter, buf: str, final: bool) -> str:
        nonlocal read
        read += len(buf)
        return original(self, buf, final)

    with mock.patch.object(HTMLRewriter, "_run", counting):
        out = run(page, step=1)
    # Linear: each byte is read a few times at most (an element's text keeps its last few characters
    # for the next chunk, where its end tag may begin). Reading the construct again with every chunk
    # would read about len(page)² / 2 characters: 1.9 billion here.
    assert read <= 16 * len(page.encode()), f"{read:,} characters read for a {len(page):,}-character page"
    assert out == run(page)
    assert "google-analytics" not in active(out)


LONG_VALUE = "x" * (2 * TAG_LIMIT)
DATA_IMAGE = "data:image/png;base64," + "A" * (2 * TAG_LIMIT)


@pytest.mark.parametrize(
    ("page", "inert", "kept"),
    [
        # A long value that fetches nothing, then a tracker: the tracker's attribute is renamed.
        (f'<img alt="{LONG_VALUE}" src="{GA}" onerror="alert(1)">', f'data-src="{GA}"', 'onerror="alert(1)"'),
        # A tracker first, then a long value: judged when it ends, within what was held.
        (f'<script src="{GA}" data-x="{LONG_VALUE}"></script>', f'data-src="{GA}" type="text/plain"', "</script>"),
        # A long style sheet: streamed through the CSS reader, its tracker URL neutralised.
        (f'<div style="background:url({DATA_IMAGE}), url({GA})">x</div>', "url(about:invalid)", "x</div>"),
        # A long handler cannot be read whole: renamed.
        (f'<img src="/a.png" onload="{LONG_VALUE};fetch(\'{GA}\')">', "data-cc-onload=", 'src="/a.png"'),
        # A long srcset cannot be judged from its beginning: renamed.
        (f'<img srcset="/a.png 1x, {LONG_VALUE} 2x, {GA} 3x">', "data-srcset=", "<img "),
    ],
)
def test_a_start_tag_longer_than_the_limit_is_judged_attribute_by_attribute(page: str, inert: str, kept: str) -> None:
    out = run(page, step=4096)
    assert inert in out
    assert kept in out
    assert "google-analytics" not in active(out)
    assert run(page, CATEGORIES, step=4096) == page  # everything granted: sent as it is
    assert run(page, step=1024) == out  # however it is cut


def test_a_long_first_party_or_data_image_is_kept_whatever_the_consent() -> None:
    for page in (f'<img alt="" src="{DATA_IMAGE}"><p>after</p>', f'<img src="/a.png" title="{LONG_VALUE}">'):
        assert run(page, step=4096) == page


def test_a_page_that_ends_inside_a_long_comment_still_shows_the_banner() -> None:
    """The comment is closed where the page ends, so that the banner injected after it is not in it."""
    out = run(f"<!doctype html><p>x</p><!--{'x' * 2000}", step=100)
    assert out.endswith("x--><!--head--><!--banner-->")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([" ", "a", "=", '"', "'", "/", ">", "\t", "b=", "='x>'", '"q>"', "x y"]),
        min_size=1,
        max_size=30,
    ),
    st.integers(min_value=1, max_value=7),
)
def test_the_tag_lexer_ends_a_tag_where_the_tag_pattern_does(pieces: list[str], step: int) -> None:
    text = "".join(pieces) + ">"
    expected = _TAG_END.match(text)
    lexer = _TagLexer()
    found = -1
    for at in range(0, len(text), step):
        found = lexer.feed(text[at : at + step])
        if found >= 0:
            found += at
            break
    assert found == (expected.end() if expected is not None else -1)


def test_the_wait_threshold_is_what_the_tests_assume() -> None:
    assert rewrite_module._WAIT_FROM < LONG


def test_an_inline_script_too_long_to_read_whole_is_treated_as_unreadable() -> None:
    script = f"<script>var a = 1;{' ' * INLINE_LIMIT}fetch('{GA}')</script><p>after</p>"
    out = run(script, step=16 * 1024)
    assert out.startswith('<script type="text/plain" data-category="')
    assert out.endswith("</script><p>after</p>")
    assert run(script, CATEGORIES, step=16 * 1024) == script  # everything granted: it runs
    marked = f'<script data-category="necessary">{" " * INLINE_LIMIT}</script>'
    assert run(marked, step=16 * 1024) == marked  # a marked script is never held


@pytest.mark.parametrize(
    ("page", "inert"),
    [
        (f"<svg onload=\"fetch('{GA}')\"></svg>", "data-cc-onload"),
        (f"<style onload=\"fetch('{GA}')\">a{{}}</style>", "data-cc-onload"),
        (f'<html style="background:url({GA})"><body></body></html>', "url(about:invalid)"),
        (f'<svg><link rel="stylesheet" href="{GA}"></svg>', f'data-href="{GA}"'),
        (f"<svg><style>@import url({GA});</style></svg>", "@import url(about:invalid)"),
        ("<svg><style>@import url(https://&#119;ww.google-analytics.com/x);</style></svg>", "url(about:invalid)"),
        (f"<math><style>@import '{GA}';</style></math>", "@import 'about:invalid'"),
    ],
)
def test_what_chromiums_preload_scanner_reads_is_neutralised_too(page: str, inert: str) -> None:
    """The preload scanner fetches before the parser: an SVG <style>'s @import as written, an
    <svg><link>'s href; and handlers on elements that fetch nothing themselves still run."""
    out = run(page)
    assert inert in out
    assert "google-analytics" not in active(out).replace('data-category="analytics"', "")
