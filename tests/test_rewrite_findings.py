"""Pages that fuzz runs found the rewriter reading wrongly, each reduced to its class.

Each is judged by the fuzz harness's own reading of the output (:mod:`fuzz.browser`, a browser's
tokenizer, URL parser and CSS tokenizer written apart from the rewriter's): nothing of a refused
category may stay active in it, and the output must be the same however the page is cut. The same
pages are seeds of the fuzz corpus (``fuzz/corpus/rewrite/finding-*``), so every run starts from them.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from fuzz.targets.rewrite import check, rewrite

from cookieconsent.blocking import css

CORPUS = Path(__file__).resolve().parents[1] / "fuzz" / "corpus" / "rewrite"
GA = "https://www.google-analytics.com/collect"
U16 = base64.b64encode(f"<img src={GA}>".encode("utf-16le")).decode()

#: name: (page, what the finding was). Nothing is granted.
FINDINGS = {
    # Markup the rewriter misread around the element.
    "opener-in-attribute": (f'<p title="<img>"><a href=/ ping="{GA}">x</a>', "a '<' inside a quoted value"),
    "opener-in-tag-name": (f'<i<noembed><div style="background:url({GA})">x</div>', "a '<' inside a tag name"),
    "opener-in-bogus-comment": (f'<?x <img><a href=/ ping="{GA}">x</a>', "a '<' inside a bogus comment"),
    "carry-non-ascii-letter": ("<p>" + "</\u00ff" + "x" * 600 + ">", "'</' and a non-ASCII letter is no tag"),
    # Elements that fetch nothing themselves, with a style or a handler that does.
    "html-style": (f'<html style="background:url({GA})">', "the root element's own style"),
    "textarea-style": (f'<textarea style="background:url({GA})"></textarea>', "a text element's own style"),
    "style-onload": (f"<style onload=\"fetch('{GA}')\">a{{}}</style>", "a style element's handler"),
    "base-style": (f'<base style="background:url({GA})">', "a base element's style"),
    "svg-onload": (f"<svg onload=\"fetch('{GA}')\"></svg>", "an svg root's handler"),
    "svg-root-presentation": (f'<svg fill="url({GA}#m)"></svg>', "an svg root's presentation attribute"),
    "svg-a-ping": (
        '<svg><a ping="https://x(y.google-analytics.com/collect);">x</a></svg>',
        "an SVG link's ping with a '(' (read as CSS, never as a ping)",
    ),
    "handler-without-url": ("<img src=\"/a.png\" onerror=\"fbq('init', '1')\">", "a handler naming no URL"),
    "svg-handler": (f'<svg><image href="/a.png" onload="fetch(\'{GA}\')"/></svg>', "an SVG element's handler"),
    "script-own-handler": (
        f'<style>@keyframes a{{}}</style><script style="display:block;animation:a 1s" '
        f"onanimationstart=\"fetch('{GA}')\">1</script>",
        "an inline script's own handler",
    ),
    # CSS as the CSS tokenizer reads it.
    "css-nul-in-url": (f'<div style="background:url({GA}\x00)">x</div>', "NUL in a url token"),
    "css-hash": (f"<div style=\"background:#url(a'b) 'c);background:url({GA})\">x</div>", "a hash token"),
    "css-nul-in-name": (
        f'<span style="backgro\x00URL(&amp;\x00und-image:image-set(&quot;x&quot; 1x, url({GA}) 2x)">x</span>',
        "NUL is a name code point: 'backgro\\0URL(' is no url(",
    ),
    "css-url-ending-in-backslash": (
        '<div style="background:url(https://www.google-analytics.com/coll\\">x</div>',
        "a backslash that ends the style sheet escapes its end: the url token is valid",
    ),
    "css-cdo": (
        f'<span style="background-image:<!--image-set(&quot;{GA}">x</span>',
        "a CDO token: what follows it starts afresh ('<!--image-set(' is an image set)",
    ),
    "svg-style-nested-element": (
        f'<svg><style><g>"</g>a{{background:url({GA})}}</style></svg>',
        "the text of an element inside an SVG style is not the style's ('\"' in a <g> opens no string)",
    ),
    "css-escaped-quote": (
        f"<div style='a:\\\"b;background:url({GA})'>x</div>",
        "an escaped quote is a letter of a name: it opens no string",
    ),
    "svg-cdata-small-letters": (
        f"<svg><![cdata[ a>b <img src={GA}> ]]></svg>",
        "'<![cdata[' in small letters is a bogus comment to the first '>', not a CDATA section",
    ),
    "svg-speculation-rules": (
        '<svg><script type=speculationrules>{"prefetch":[{"where":{"href_matches":"/*"},"eagerness":"immediate"}]}'
        '</script></svg><a href="https://www.facebook.com/tr?id=1">x</a>',
        "an SVG script of type speculationrules is read as an HTML one: its document rules prefetch links",
    ),
    "svg-speculation-rules-non-ascii": (
        '<svg><script type=speculationrules>{"prefetch":[{"where":{"\udcbe":""},"eagerness":"immediate"}]}'
        "</script></svg><a href=http:w.facebook.com/tr>x</a>",
        "speculation rules in an SVG script with a byte that is not UTF-8 (read as U+FFFD)",
    ),
    "svg-script-unclosed": (
        "<svg><script/w=<!--image-set(&quot;http:google-analytics.com>google-analytics.com",
        "an SVG script its own end tag never closes never runs (the oracle read it as running)",
    ),
    "svg-style-comment": (f"<svg><style>a{{background:url(<!---->{GA})}}</style></svg>", "a comment in SVG style text"),
    "svg-style-cdata": (f"<svg><style>a{{background:url(<![CDATA[{GA}]]>)}}</style></svg>", "CDATA in SVG style text"),
    "svg-style-nested": (f"<svg><style><style></style>a{{background:url({GA})}}</style></svg>", "a style in a style"),
    "svg-style-end-in-bogus-comment": (
        f"<svg><style>a{{}}</ </style>b{{background:&#117;rl({GA})}}</style></svg>",
        "the first '</style>' is part of a bogus comment",
    ),
    "svg-style-ended-by-svg": (
        "<svg><style>@import url(https://www.google-analytics.com</svg>ct);</style>",
        "an </svg> ends the style before its own end tag",
    ),
    "svg-script-comment": ("<svg><script>fbq<!---->('init', '1')</script></svg>", "a comment in SVG script text"),
    "smil-filter": (f'<svg><rect><set attributeName="filter" to="url({GA}#f)"/></rect></svg>', "an animation's value"),
    "svg-placeholder": (
        '<svg><video poster="https://i.ytimg.com/x.jpg"/><![CDATA[><img src=https://www.facebook.com/tr>]]></svg>',
        "an HTML placeholder inside <svg> would end the svg, and the CDATA section after it with it",
    ),
    # Documents, bases and rules.
    "javascript-document-base": (
        "<iframe src=\"javascript:'<base href=https://www.facebook.com/><img src=tr>'\"></iframe>",
        "a base inside a javascript: document",
    ),
    "javascript-document-reference": (
        "<iframe src=\"javascript:'<img src=https://www.faceb&amp;#111;ok.com/tr>'\"></iframe>",
        "a reference inside a javascript: document",
    ),
    "speculation-rules-base": (
        '<base href="https://www.google-analytics.com/"><script type=speculationrules>'
        '{"prefetch":[{"source":"list","urls":["collect"]}]}</script>',
        "a relative URL in speculation rules",
    ),
    "import-map-base": (
        '<base href="https://www.google-analytics.com/"><script type=importmap>{"imports":{"x":"./analytics.js"}}'
        "</script>",
        "a relative URL in an import map",
    ),
    "speculation-document-rules": (
        '<script type=speculationrules>{"prefetch":[{"where":{"href_matches":"/*"},"eagerness":"immediate"}]}'
        '</script><a href="https://www.facebook.com/tr?id=1">x</a>',
        "document rules prefetch the page's links",
    ),
    "data-utf-16": (f'<iframe src="data:text/html;charset=utf-16le;base64,{U16}"></iframe>', "a UTF-16 document"),
    "data-charset-no-token": (
        f'<iframe src="data:text/html;charset=utf-16 srcset=le;base64,{U16}"></iframe>',
        "a charset that is no token: Chromium fails the URL, the MIME standard knows no such label",
    ),
    "data-charset-after-quotes": (
        f"<iframe src='data:text/html;x=\"a;charset=ascii\";charset=utf-16le;base64,{U16}'></iframe>",
        "a charset after a quoted ';charset=': the MIME standard reads the second",
    ),
    "data-utf-32-label": (
        '<iframe src="data:text/html;charset=utf-32,<img src=https://www.facebook.com/tr>"></iframe>',
        "browsers know no UTF-32: the document is read as ASCII",
    ),
    "data-nul-charset": (
        '<svg><use href="data:image/svg+xml;charset=a\x00b,<svg/>#a"/></svg>',
        "a NUL in a charset (raised)",
    ),
    "base-scheme-relative": (
        '<base href=//www.facebook.com/><img src="https:/\'www.facebook.com/tr">',
        "'//host/' keeps the page's scheme, which decides how 'https:/x' reads",
    ),
    "foreign-stack": (
        "<svg><script><title></script><script><p><script>fbq('init', '1')</script>",
        "an end tag closes the innermost element of its name in SVG",
    ),
    "foreign-stack-image": (
        "<svg><script><title></script><image xlink:href=https://www.facebook.com/tr></svg>",
        "an SVG image after an integration point closed from inside",
    ),
    "attribute-legacy-reference": (
        f'<n style="--a:&quotx;background:url({GA})">x</n>',
        "'&quot' before a letter is not a reference in an attribute value",
    ),
    "svg-style-tag-in-url": (
        "<svg><style>@import url(https://www.google-analytics.<base href=//x.example/>com</svg>ct);</style>",
        "an SVG style's text up to the end tag that closes it, the tags before it left out",
    ),
    "srcdoc-noscript-cut-tag": (
        '<iframe srcdoc="<noscript><img src=https://www.facebook.com/tr?id=1 a </noscript>"></iframe>',
        "in a srcdoc, a noscript's tag that runs past </noscript> without scripting",
    ),
}

#: Pages whose output depended on where a chunk ended (every cut of them is tried).
CUT = {
    "svg-style-cut": "<svg><style>@</style><title></style><script><e",
    "css-comment-opener-cut": f"<style>a{{}} /* url({GA})",
    "css-hash-cut": f'<style>a{{b:#url(q("init") url({GA})}}</style>',
    "css-url-space-cut": f"<style>a{{b:url({GA} )}}</style><p>{'x' * 20}</p>",
    # A long SVG CDATA section whose "]]>" a cut splits: "]]" is not the text of the preload scanner's reading.
    "svg-cdata-end-cut": f"<svg><![CDATA[{'x' * 600} y> <img src={GA}]]></svg>",
    # A doctype needs no space after "<!doctype"; one longer than a chunk was read as a doctype only when cut.
    "doctype-without-space": f"<!doctype{'x' * 600}><p>x</p>",
}


def violations(page: str, seed: int = 3) -> list[str]:
    """What the fuzz harness finds active in the page's output (nothing granted), cut by ``seed``."""
    _, found = check(bytes([0, seed]) + page.encode("utf-8", "surrogateescape"))
    return [str(v) for v, _ in found]


@pytest.mark.parametrize("name", sorted(FINDINGS))
def test_no_tracker_stays_active_in_a_page_a_fuzz_run_found(name: str) -> None:
    page, _ = FINDINGS[name]
    for seed in (0, 1, 3):
        assert violations(page, seed) == [], name


@pytest.mark.parametrize("name", sorted(CUT))
def test_the_output_is_the_same_wherever_the_page_is_cut(name: str) -> None:
    page = CUT[name].encode()
    whole = rewrite(frozenset(), [page])
    for at in range(1, len(page)):
        assert rewrite(frozenset(), [page[:at], page[at:]]) == whole, (name, page[:at])
    assert violations(CUT[name]) == []


#: Style sheets whose neutralised form depended on where a piece ended, and that form.
SHEETS = [
    # A backslash ending a piece, in a string: what it escapes comes in the next piece.
    (f'a{{b:"c:\\75 rl({GA})"}}', f'a{{b:"c:\\75 rl({GA})"}}'),
    (f'a{{b:"x\\" url({GA})}} c{{d:url({GA})}}', f'a{{b:"x\\" url({GA})}} c{{d:url({GA})}}'),
    # A "/" ending a piece: a comment may open.
    (f"a{{}} /* url({GA}) */ b{{c:url({GA})}}", f"a{{}} /* url({GA}) */ b{{c:url(about:invalid)}}"),
    # A "#" ending a piece: "#url(" is a hash and a bracket, no function.
    (f'a{{b:#url(q("init") url({GA})}}', 'a{b:#url(q("init") url(about:invalid)}'),
    # An escaped function name.
    (f"a{{background:\\75 rl({GA})}}", "a{background:url(about:invalid)}"),
    # A url token's spaces.
    (f"a{{b:url({GA} )}}", "a{b:url(about:invalid)}"),
    # A CDO token before a function: "<!-" ending a piece may be one.
    (f"a{{b:<!--url({GA})}}", "a{b:<!--url(about:invalid)}"),
    (f'a{{b:x<!--image-set("{GA}")}}', 'a{b:x<!--image-set("about:invalid")}'),
    # An escaped quote opens no string; a backslash ending a piece may escape one.
    (f'a{{b:\\"c}} d{{e:url({GA})}}', 'a{b:\\"c} d{e:url(about:invalid)}'),
]


@pytest.mark.parametrize(("sheet", "neutralised"), SHEETS)
def test_a_style_sheet_reads_the_same_wherever_a_piece_ends(sheet: str, neutralised: str) -> None:
    def judge(url: str) -> str | None:
        return "analytics" if "google-analytics" in url else None

    assert css.neutralise(sheet, judge)[0] == neutralised
    for at in range(1, len(sheet)):
        stream = css.CSSStream(judge)
        assert stream.feed(sheet[:at]) + stream.feed(sheet[at:]) + stream.close() == neutralised, sheet[:at]


def test_the_placeholder_of_an_element_inside_svg_is_left_out() -> None:
    out = rewrite(frozenset(), [FINDINGS["svg-placeholder"][0].encode()])
    assert b"cc-placeholder" not in out
    assert b'data-poster="https://i.ytimg.com/x.jpg"' in out


def test_every_finding_is_a_seed_of_the_fuzz_corpus() -> None:
    pages = {**{n: p for n, (p, _) in FINDINGS.items()}, **CUT}
    for name, page in pages.items():
        seed = CORPUS / f"finding-{name}"
        assert seed.read_bytes() == bytes([0, 3]) + page.encode("utf-8", "surrogateescape"), name


#: CDATA sections in SVG whose tags Chromium's preload scanner fetches (it reads "<![CDATA[" as a bogus
#: comment that ends at the first ">"), and the tag of each that must come out inert. The oracle reads
#: a CDATA section as the tree builder does (text), so these are checked on the output itself.
PRELOADED = [
    (f"<svg><![CDATA[ a>b <img src={GA}> ]]></svg>", "<img data-src="),
    (f'<svg><![CDATA[ x> <img src="{GA}" ]]> <rect/></svg>', "<img data-src="),  # the scanner reads on to '>'
    (f"<svg><![CDATA[{'y' * 900} x> <script src={GA}></script>]]></svg><p>after</p>", "<script data-src="),
]


@pytest.mark.parametrize(("page", "inert"), PRELOADED)
def test_the_tags_in_an_svg_cdata_section_are_judged_as_the_preload_scanner_reads_them(page: str, inert: str) -> None:
    whole = rewrite(frozenset(), [page.encode()])
    assert inert.encode() in whole, whole
    assert re.search(rb"\ssrc=", whole) is None, whole  # no tag of it fetches any more
    for at in range(1, len(page), 7):
        assert rewrite(frozenset(), [page[:at].encode(), page[at:].encode()]) == whole, page[:at]
