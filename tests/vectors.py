"""A corpus of attack pages for the HTML rewriter: markup that makes a browser reach a tracker.

Each :class:`Vector` is a piece of markup that, in Chromium, requests a tracker URL carrying
``ccv=<vector id>`` in its query string, so that a request names the vector that made it. Vectors are
grouped into :class:`Page` s (a few dozen pages in all), which ``tests/vector_app.py`` serves through
the consent middleware and ``tests/browser/test_vectors.py`` loads in Chromium: before any decision,
after "Reject all" and under Global Privacy Control no request may leave 127.0.0.1; after
"Accept all" every vector that Chromium fetches at all must reach its tracker (the positive control).

The classes, each generated as the product of its forms and the elements that carry them:

- ``url``: URLs as the browser resolves them (dot segments, backslashes, missing or extra slashes,
  whitespace, character references, percent-encoded and IDNA-mapped hosts, user info and ports,
  relative URLs against a tracker ``<base>``, srcset candidates) on every element that fetches a URL;
- ``css``: ``url()`` and ``image-set()`` in ``style`` attributes, ``<style>`` elements (also inside
  ``<svg>``) and SVG presentation attributes, with CSS escapes and character references;
- ``frame``: ``data:`` and ``javascript:`` documents, ``srcdoc`` documents, ``data:`` scripts and
  stylesheets, and ``<a ping>`` (the test clicks those, see :attr:`Vector.click`);
- ``catalog``: a pixel and a script on every ``domains`` and ``urls`` entry of the built-in tracker
  catalog (``src/cookieconsent/blocking/data/trackers.toml``, read when this module is imported), and the
  LinkedIn Insight tag's snippets;
- ``markup``: event-handler attributes, ``<meta http-equiv=refresh>``, SVG references and SMIL,
  import maps, speculation rules, inline scripts that spell a tracker URL with escapes or non-ASCII
  dots, start tags longer than 64 KiB (and an inline script and a stylesheet longer than 256 KiB),
  and markup the parser (or its preload scanner) reads otherwise than a naive scanner would:
  duplicate attributes, odd separators and comments, raw-text elements inside SVG and MathML.

Every page starts with a slow parser-blocking script, so that Chromium's preload scanner reads the
rest of it ahead of the parser, deterministically: what it fetches counts too.

A few vectors never make Chromium fetch anything, granted or not (a frame URL with user info, SVG
shown as an image…): :attr:`Vector.inert` says why, and the positive control checks that they indeed
stay silent rather than counting them as live.
"""

from __future__ import annotations

import base64
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from importlib import resources
from typing import Any
from urllib.parse import quote

__all__ = [
    "BLOCKING_SCRIPT",
    "CATALOG",
    "CLASSES",
    "PAGES",
    "PAGE_NAMED",
    "PAGE_OF",
    "VECTORS",
    "Page",
    "Vector",
    "vector_of",
]

#: The query parameter that names the vector in each tracker URL.
PARAM = "ccv"
#: Finds the vector id in a request URL.
_VECTOR_IN_URL = re.compile(rf"[?&;]{PARAM}=([A-Za-z0-9_.-]+)")
#: A first-party image that loads, and one that does not exist (for ``onerror``).
PIXEL = "/static/pixel.gif"
MISSING = "/static/missing.png"
#: A first-party script the app answers slowly (see ``tests/vector_app.py``).
BLOCKING_SCRIPT = "/static/slow.js"
#: The classes, in report order.
CLASSES = ("url", "css", "frame", "catalog", "markup")


@dataclass(frozen=True, slots=True)
class Vector:
    """One way of making the browser reach a tracker.

    Attributes:
        id: Unique, made of ``[A-Za-z0-9_.-]``: ``<class>.<form>.<element>``.
        cls: One of :data:`CLASSES`.
        html: The markup, placed in the page's body (empty for a vector carried by the page itself,
            such as ``<body background>``).
        click: The test clicks the element marked ``data-ccv-click="<id>"`` (``<a ping>``).
        inert: Why Chromium never fetches this vector even with every category granted (``None``: it
            does, and the positive control requires it).
    """

    id: str
    cls: str
    html: str
    click: bool = False
    inert: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """A page of vectors, served at ``/v/<name>``."""

    name: str
    vectors: tuple[Vector, ...]
    #: Markup in ``<head>`` after the charset declaration (a ``<base>``, an import map…).
    head: str = ""
    #: Attributes of the ``<body>`` start tag (with a leading space).
    body_attrs: str = ""
    #: Load it in the tab in front: Chromium acts on speculation rules only in a visible page.
    foreground: bool = False

    @property
    def path(self) -> str:
        return f"/v/{self.name}"

    def html(self) -> str:
        """The whole document."""
        parts = [
            "<!doctype html>\n",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>Vectors: {self.name}</title>\n",
            # A parser-blocking script: while it loads, Chromium's preload scanner reads the rest of
            # the page ahead of the parser, as it does on most real pages. Both readings must be safe.
            # It comes before any <base>, which would send it to a tracker.
            f'<script src="{BLOCKING_SCRIPT}"></script>\n',
            self.head,
            "\n<style>.box{display:inline-block;width:12px;height:12px;margin:1px}"
            ".ping{display:inline-block;margin:2px;font:10px monospace}</style>\n",
            f"</head>\n<body{self.body_attrs}>\n<h1>{self.name}</h1>\n",
        ]
        # The links to click come first, at the top of the page, clear of the banner at the bottom.
        ordered = sorted(self.vectors, key=lambda v: not v.click)
        parts += [f"<!-- {v.id} -->\n<div>{v.html}</div>\n" for v in ordered if v.html]
        parts.append("<p>end</p>\n</body></html>\n")
        return "".join(parts)


def vector_of(url: str) -> str | None:
    """The id of the vector whose tracker URL ``url`` is (``None`` if it names none)."""
    match = _VECTOR_IN_URL.search(url)
    return match.group(1) if match else None


def _q(vid: str) -> str:
    return f"?{PARAM}={vid}"


def ga(vid: str, path: str = "collect") -> str:
    """The plain Google Analytics URL of vector ``vid``."""
    return f"https://www.google-analytics.com/{path}{_q(vid)}"


def _img(url: str) -> str:
    return f'<img src="{url}" alt="">'


def _script_tag(url: str) -> str:
    return f"<script src={url}></script>"


# -- class 1: URLs as the browser resolves them -------------------------------------------------

GA_HOST = "www.google-analytics.com"

#: URL forms: name -> (vector id -> the attribute value, as written in the page). Each resolves, in
#: Chromium, to a URL of a catalog tracker with the vector's id in its query.
URL_FORMS: dict[str, Callable[[str], str]] = {
    "plain": lambda v: f"https://{GA_HOST}/collect{_q(v)}",
    "http": lambda v: f"http://{GA_HOST}/collect{_q(v)}",
    "dot-segment": lambda v: f"https://www.facebook.com/./tr{_q(v)}",
    "dotdot-segment": lambda v: f"https://www.facebook.com/a/../tr{_q(v)}",
    "pct-dot-segment": lambda v: f"https://www.facebook.com/%2e/tr{_q(v)}",
    "pct-dotdot-segment": lambda v: f"https://www.facebook.com/a/%2E%2e/tr{_q(v)}",
    "backslashes": lambda v: f"https:\\\\{GA_HOST}\\collect{_q(v)}",
    "slash-backslash": lambda v: f"/\\{GA_HOST}/collect{_q(v)}",
    "backslash-before-at": lambda v: f"https://{GA_HOST}\\@127.0.0.1/collect{_q(v)}",
    "four-slashes": lambda v: f"https:////{GA_HOST}/collect{_q(v)}",
    "one-slash": lambda v: f"https:/{GA_HOST}/collect{_q(v)}",
    "no-slashes": lambda v: f"https:{GA_HOST}/collect{_q(v)}",
    "scheme-relative": lambda v: f"//{GA_HOST}/collect{_q(v)}",
    "leading-space": lambda v: f" \n\t https://{GA_HOST}/collect{_q(v)} \n",
    "inner-tab-newline": lambda v: f"ht\ttps://www.google-ana\nlytics.com/col\r\nlect{_q(v)}",
    "charref-decimal": lambda v: f"https:&#47;&#47;{GA_HOST}&#47;collect{_q(v)}",
    "charref-named": lambda v: f"https&colon;&sol;&sol;www&period;google-analytics&period;com&sol;collect{_q(v)}",
    "charref-hex-nosemi": lambda v: f"https://www&#x2e;google-analytics&#46com/collect{_q(v)}",
    "charref-tab-newline": lambda v: f"https:&Tab;//www.google-&NewLine;analytics.com/collect{_q(v)}",
    "charref-scheme": lambda v: f"&#104;ttps://{GA_HOST}/collect{_q(v)}",
    "pct-host-dot": lambda v: f"https://www%2egoogle-analytics.com/collect{_q(v)}",
    "pct-host-letters": lambda v: f"https://%77%77%77.google-analytics.com/collect{_q(v)}",
    "idna-ideographic-dot": lambda v: f"https://www\u3002google-analytics\u3002com/collect{_q(v)}",
    "idna-fullwidth-dot": lambda v: f"https://www\uff0egoogle-analytics\uff0ecom/collect{_q(v)}",
    "idna-halfwidth-dot": lambda v: f"https://www\uff61google-analytics\uff61com/collect{_q(v)}",
    "idna-fullwidth-letters": lambda v: (
        f"https://www.\uff47\uff4f\uff4f\uff47\uff4c\uff45-analytics.com/collect{_q(v)}"
    ),
    "idna-charref-dot": lambda v: f"https://www&#x3002;google-analytics&#12290;com/collect{_q(v)}",
    "upper-case": lambda v: f"HTTPS://WWW.GOOGLE-ANALYTICS.COM/collect{_q(v)}",
    "soft-hyphen": lambda v: f"https://www.goo\u00adgle-analytics.com/collect{_q(v)}",
    "soft-hyphen-charref": lambda v: f"https://www.goo&shy;gle-analytics.com/collect{_q(v)}",
    "trailing-dot": lambda v: f"https://{GA_HOST}./collect{_q(v)}",
    "userinfo-port": lambda v: f"https://u:p@{GA_HOST}:443/collect{_q(v)}",
    "userinfo-loopback": lambda v: f"https://127.0.0.1@{GA_HOST}/collect{_q(v)}",
    "default-port": lambda v: f"https://{GA_HOST}:443/collect{_q(v)}",
    "path-rule-upper": lambda v: f"https://WWW.FACEBOOK.COM/tr{_q(v)}",
    "path-rule-trailing-dot": lambda v: f"https://www.facebook.com./tr{_q(v)}",
    "other-port": lambda v: f"https://{GA_HOST}:8443/collect{_q(v)}",
    "charref-zero-padded": lambda v: f"https:&#0000047;&#X2F;{GA_HOST}/collect{_q(v)}",
}

#: ``<base href>`` pages: name -> (base markup, vector id -> the relative URL).
BASES: dict[str, tuple[str, Callable[[str], str]]] = {
    "base-ga": (f'<base href="https://{GA_HOST}/">', lambda v: f"collect{_q(v)}"),
    "base-fb-scheme-relative": ('<base href="//connect.facebook.net/">', lambda v: f"en_US/fbevents.js{_q(v)}"),
    "base-ga-obfuscated": (
        '<base href="https:\\\\www\u3002google-analytics&period;com\\">',
        lambda v: f"collect{_q(v)}",
    ),
    "base-ga-path-relative": (f'<base href="https://{GA_HOST}/g/">', lambda v: f"../collect{_q(v)}"),
    # The first <base> with an href counts: one with only a target does not.
    "base-second": (f'<base target="_self"><base href="https://{GA_HOST}/">', lambda v: f"collect{_q(v)}"),
}

#: Elements that fetch a URL: name -> (URL, vector id -> markup). ``body-background`` is the page's
#: own body. The first-party URLs they hold carry the vector's id too: on a page with a tracker
#: ``<base>``, they resolve to the tracker.
URL_ELEMENTS: dict[str, Callable[[str, str], str]] = {
    "img-src": lambda u, v: f'<img src="{u}" alt="">',
    "img-srcset": lambda u, v: f'<img srcset="{u}" alt="">',
    "img-srcset-second": lambda u, v: f'<img srcset="{PIXEL}{_q(v)} 2x, {u} 1x" alt="">',
    "img-srcset-w": lambda u, v: f'<img srcset="{PIXEL}{_q(v)} 4000w, {u} 8w" sizes="8px" alt="">',
    "script-src": lambda u, v: f'<script src="{u}"></script>',
    "iframe-src": lambda u, v: f'<iframe src="{u}" width="20" height="20"></iframe>',
    "link-stylesheet": lambda u, v: f'<link rel="stylesheet" href="{u}">',
    "link-preload-image": lambda u, v: f'<link rel="preload" as="image" href="{u}">',
    "link-preload-imagesrcset": lambda u, v: f'<link rel="preload" as="image" imagesrcset="{u} 1x">',
    "video-poster": lambda u, v: f'<video poster="{u}" width="20" height="20"></video>',
    "input-image": lambda u, v: f'<input type="image" src="{u}" alt="go">',
    "embed-src": lambda u, v: f'<embed src="{u}" width="20" height="20">',
    "object-data": lambda u, v: f'<object data="{u}" width="20" height="20"></object>',
    "picture-source": lambda u, v: f'<picture><source srcset="{u}"><img src="{PIXEL}{_q(v)}" alt=""></picture>',
    "audio-source": lambda u, v: f'<audio><source src="{u}"></audio>',
    "track-src": lambda u, v: f'<video src="{MISSING}{_q(v)}" width="20" height="20"><track default src="{u}"></video>',
    "table-background": lambda u, v: f'<table background="{u}"><tr><td>x</td></tr></table>',
    "body-background": lambda u, v: "",
}

_SRCSET = ("img-srcset", "img-srcset-second", "img-srcset-w", "picture-source", "link-preload-imagesrcset")
#: The elements whose URL Chromium loads as a frame's document.
_FRAMES = ("iframe-src", "embed-src", "object-data")


def _url_inert(form: str, element: str) -> str | None:
    """Why Chromium never fetches ``form`` in ``element`` (``None``: it does)."""
    if form in ("inner-tab-newline", "charref-tab-newline") and element in _SRCSET:
        return "srcset splits a candidate at whitespace: the URL is cut inside the host"
    if form.startswith("userinfo-") and element in _FRAMES:
        return "Chromium does not load a frame from a URL with user info (credentials)"
    return None


def _url_vectors() -> Iterator[Page]:
    for form, make in URL_FORMS.items():
        vectors = []
        body = ""
        for element, markup in URL_ELEMENTS.items():
            vid = f"url.{form}.{element}"
            url = make(vid)
            if element == "body-background":
                body = f' background="{url}"'
            vectors.append(Vector(vid, "url", markup(url, vid), inert=_url_inert(form, element)))
        yield Page(f"url-{form}", tuple(vectors), body_attrs=body)
    for name, (base, make) in BASES.items():
        vectors = []
        body = ""
        for element, markup in URL_ELEMENTS.items():
            vid = f"url.{name}.{element}"
            url = make(vid)
            if element == "body-background":
                body = f' background="{url}"'
            vectors.append(Vector(vid, "url", markup(url, vid)))
        yield Page(f"url-{name}", tuple(vectors), head=base, body_attrs=body)


# -- class 2: CSS ----------------------------------------------------------------------------------

#: Declarations in a ``style`` attribute (double-quoted): name -> (vector id -> declarations).
STYLE_DECLARATIONS: dict[str, Callable[[str], str]] = {
    "background-url": lambda v: f"background:url({ga(v)})",
    "background-url-single-quoted": lambda v: f"background:url('{ga(v)}')",
    "background-url-charref-quoted": lambda v: f"background:url(&quot;{ga(v)}&quot;)",
    "background-url-spaces": lambda v: f"background: url(  {ga(v)}  )",
    # An escaped quote is a letter of a name: it opens no string that would hide the url.
    "background-after-escaped-quote": lambda v: f"a:\\&quot;b;background:url({ga(v)})",
    "background-upper-url": lambda v: f"BACKGROUND:URL({ga(v)})",
    "background-image-comment": lambda v: f"background-image:/**/url({ga(v)})/**/",
    "escape-u-function": lambda v: f"background:\\75 rl({ga(v)})",
    "escape-r-function": lambda v: f"background:u\\72 l({ga(v)})",
    "escape-in-url": lambda v: f"background:url(https://www.google\\2d analytics.com/collect{_q(v)})",
    "escape-in-quoted-url": lambda v: f"background:url('https://www.google\\2d analytics\\2e com/collect{_q(v)}')",
    "charref-function": lambda v: f"background:&#117;rl({ga(v)})",
    "charref-in-url": lambda v: f"background:url(https:&#47;&#47;www.google-analytics.com/collect{_q(v)})",
    "image-set": lambda v: f"background-image:image-set('{ga(v)}' 1x)",
    "image-set-url": lambda v: f"background-image:image-set(url({ga(v)}) 1x)",
    "webkit-image-set": lambda v: f"background-image:-webkit-image-set(url({ga(v)}) 1x)",
    "webkit-image-set-string": lambda v: f"background-image:-webkit-image-set('{ga(v)}' 1x)",
    "cross-fade": lambda v: f"background-image:cross-fade(url({ga(v)}), url({PIXEL}), 50%)",
    "webkit-cross-fade": lambda v: f"background-image:-webkit-cross-fade(url({ga(v)}), url({PIXEL}), 50%)",
    "custom-property": lambda v: f"--t:url({ga(v)});background-image:var(--t)",
    "border-image": lambda v: f"border:4px solid;border-image:url({ga(v)}) 4",
    "list-style-image": lambda v: f"display:list-item;margin-left:20px;list-style-image:url({ga(v)})",
    "cursor": lambda v: f"cursor:url({ga(v)}),auto",
    "mask-image": lambda v: f"mask-image:url({ga(v)});-webkit-mask-image:url({ga(v)})",
    "content": lambda v: f"content:url({ga(v)})",
    "shape-outside": lambda v: f"float:left;shape-outside:url({ga(v)})",
    "unclosed-url": lambda v: f"background:url({ga(v)}",
    "escape-colon-in-url": lambda v: f"background:url(https\\3a //{GA_HOST}/collect{_q(v)})",
    "escaped-newline-in-string": lambda v: f"background:url('https://www.google-\\\nanalytics.com/collect{_q(v)}')",
    "url-string-comment": lambda v: f"background:url( '{ga(v)}' /* c */ )",
    "second-layer": lambda v: f"background:url({PIXEL}),url({ga(v)})",
    "escaped-property": lambda v: f"b\\61 ckground:url({ga(v)})",
    "escape-upper-function": lambda v: f"background:\\55 RL({ga(v)})",
    "webkit-border-image": lambda v: f"border:4px solid;-webkit-border-image:url({ga(v)}) 4",
    "webkit-mask-box-image": lambda v: f"-webkit-mask-box-image:url({ga(v)})",
    "webkit-box-reflect": lambda v: f"-webkit-box-reflect:below 0 url({ga(v)})",
    "filter-svg": lambda v: f"filter:url({ga(v, 'f.svg')}#f)",
    "clip-path-svg": lambda v: f"clip-path:url({ga(v, 'c.svg')}#c)",
}

#: Declarations Chromium does not fetch from, granted or not.
_CSS_INERT = {"cross-fade": "Chromium implements only the prefixed -webkit-cross-fade(): the declaration is dropped"}

#: Elements carrying a ``style`` attribute: name -> (style -> markup).
STYLED_ELEMENTS: dict[str, Callable[[str], str]] = {
    "div": lambda s: f'<div class="box" style="{s}"></div>',
    "span": lambda s: f'<span class="box" style="{s}">x</span>',
    "p": lambda s: f'<p class="box" style="{s}"></p>',
    "custom-element": lambda s: f'<x-widget class="box" style="{s}"></x-widget>',
    "td": lambda s: f'<table><tr><td class="box" style="{s}">x</td></tr></table>',
    "button": lambda s: f'<button class="box" style="{s}">x</button>',
    "svg-rect": lambda s: f'<svg width="12" height="12"><rect width="12" height="12" style="{s}"/></svg>',
    "a": lambda s: f'<a class="box" href="#" style="{s}">x</a>',
    "font": lambda s: f'<font class="box" style="{s}">x</font>',
}

#: ``<style>`` element contents: name -> (vector id -> (CSS, markup that uses it)).
STYLE_SHEETS: dict[str, Callable[[str], tuple[str, str]]] = {
    "import-url": lambda v: (f"@import url({ga(v)});", ""),
    "import-string": lambda v: (f'@import "{ga(v)}";', ""),
    "import-single-string-media": lambda v: (f"@import '{ga(v)}' screen;", ""),
    "import-layer": lambda v: (f'@import url("{ga(v)}") layer(t);', ""),
    "import-comments": lambda v: (f"/* a */@import/* b */url({ga(v)})/* c */;", ""),
    "import-upper": lambda v: (f"@IMPORT URL({ga(v)});", ""),
    "import-escaped-keyword": lambda v: (f"@\\69mport url({ga(v)});", ""),
    "import-cdo-cdc": lambda v: (f"<!-- @import url({ga(v)}); -->", ""),
    "import-escape-in-url": lambda v: (f"@import 'https://www.google\\2d analytics.com/collect{_q(v)}';", ""),
    "import-after-charset": lambda v: (f'@charset "utf-8";@import url({ga(v)});', ""),
    "background-after-escaped-quote": lambda v: (
        'a{b:\\"c}' + f".b-{v.replace('.', '_')}{{background:url({ga(v)})}}",
        f"b-{v.replace('.', '_')}",
    ),
    "import-escaped-newline": lambda v: (f"@import 'https://www.google-\\\nanalytics.com/collect{_q(v)}';", ""),
    "background": lambda v: (f".b-{v.replace('.', '_')}{{background:url({ga(v)})}}", f"b-{v.replace('.', '_')}"),
    "background-escaped-function": lambda v: (
        f".b-{v.replace('.', '_')}{{background:\\75 rl({ga(v)})}}",
        f"b-{v.replace('.', '_')}",
    ),
    "background-media": lambda v: (
        f"@media all{{.b-{v.replace('.', '_')}{{background:url({ga(v)})}}}}",
        f"b-{v.replace('.', '_')}",
    ),
    "background-supports": lambda v: (
        f"@supports (display:block){{.b-{v.replace('.', '_')}{{background:url({ga(v)})}}}}",
        f"b-{v.replace('.', '_')}",
    ),
    "background-nested": lambda v: (
        f"body{{& .b-{v.replace('.', '_')}{{background:url({ga(v)})}}}}",
        f"b-{v.replace('.', '_')}",
    ),
    "image-set": lambda v: (
        f".b-{v.replace('.', '_')}{{background-image:image-set('{ga(v)}' 1x)}}",
        f"b-{v.replace('.', '_')}",
    ),
    "font-face": lambda v: (
        f"@font-face{{font-family:f-{v.replace('.', '_')};src:url({ga(v, 'f.woff2')})}}"
        f".b-{v.replace('.', '_')}{{font-family:f-{v.replace('.', '_')}}}",
        f"b-{v.replace('.', '_')}",
    ),
    "font-face-local-first": lambda v: (
        f"@font-face{{font-family:f-{v.replace('.', '_')};"
        f"src:local(no-such-font-here),url({ga(v, 'f.woff2')}) format('woff2')}}"
        f".b-{v.replace('.', '_')}{{font-family:f-{v.replace('.', '_')}}}",
        f"b-{v.replace('.', '_')}",
    ),
}


def _css_vectors() -> Iterator[Page]:
    # style attributes: every declaration on a div, the plain one on every element.
    vectors = [
        Vector(
            f"css.style.{name}.div",
            "css",
            STYLED_ELEMENTS["div"](make(f"css.style.{name}.div")),
            inert=_CSS_INERT.get(name),
        )
        for name, make in STYLE_DECLARATIONS.items()
    ]
    for element, markup in STYLED_ELEMENTS.items():
        for name in ("background-url", "escape-u-function", "charref-function", "image-set"):
            if element == "div":
                continue
            vid = f"css.style.{name}.{element}"
            vectors.append(Vector(vid, "css", markup(STYLE_DECLARATIONS[name](vid))))
    half = len(vectors) // 2
    yield Page("css-style-attributes-1", tuple(vectors[:half]))
    yield Page("css-style-attributes-2", tuple(vectors[half:]))

    sheets = []
    for name, make in STYLE_SHEETS.items():
        vid = f"css.sheet.{name}"
        css, cls = make(vid)
        use = f'<span class="box {cls}">x</span>' if cls else ""
        sheets.append(Vector(vid, "css", f"<style>{css}</style>{use}"))
    for name, make in STYLE_SHEETS.items():
        if not name.startswith(("import-url", "import-string", "background", "font-face")):
            continue
        vid = f"css.svg-sheet.{name}"
        css, cls = make(vid)
        use = f'<span class="box {cls}">x</span>' if cls else ""
        sheets.append(Vector(vid, "css", f'<svg width="1" height="1"><style>{css}</style></svg>{use}'))
    # Character references and CDATA are read inside <svg> (foreign content), not in an HTML <style>.
    vid = "css.svg-sheet.import-charrefs"
    sheets.append(
        Vector(
            vid,
            "css",
            '<svg width="1" height="1"><style>'
            f"@import url(https:&#47;&#47;{GA_HOST}&#x2F;collect{_q(vid)});</style></svg>",
        )
    )
    vid = "css.svg-sheet.import-cdata"
    sheets.append(
        Vector(vid, "css", f'<svg width="1" height="1"><style><![CDATA[@import url({ga(vid)});]]></style></svg>')
    )
    vid = "css.svg-sheet.import-entity-name"
    sheets.append(
        Vector(
            vid,
            "css",
            f'<svg width="1" height="1"><style>@import url(https&colon;//{GA_HOST}/collect{_q(vid)});</style></svg>',
        )
    )
    # The text of an element inside an SVG style is not the style's: the quote in the <g> opens no string.
    vid = "css.svg-sheet.import-after-element"
    sheets.append(Vector(vid, "css", f'<svg width="1" height="1"><style><g>"</g>@import url({ga(vid)});</style></svg>'))
    yield Page("css-style-elements", tuple(sheets))

    svg = []
    for attr, element in (
        ("fill", '<rect width="12" height="12" fill="{u}"/>'),
        ("stroke", '<rect width="12" height="12" stroke-width="4" stroke="{u}"/>'),
        ("filter", '<rect width="12" height="12" filter="{u}"/>'),
        ("mask", '<rect width="12" height="12" mask="{u}"/>'),
        ("clip-path", '<rect width="12" height="12" clip-path="{u}"/>'),
        ("marker-start", '<path d="M1 1L10 10" stroke="black" marker-start="{u}"/>'),
    ):
        vid = f"css.svg-attribute.{attr}"
        url = f"url(https://{GA_HOST}/p.svg{_q(vid)}#p)"
        svg.append(Vector(vid, "css", f'<svg width="12" height="12">{element.format(u=url)}</svg>'))
    yield Page("css-svg-attributes", tuple(svg))


# -- class 3: frames with inline documents, and pings --------------------------------------------


def _pct(html: str) -> str:
    return quote(html, safe="")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _utf16_frame(params: str, vid: str) -> str:
    """An iframe whose ``data:`` document, with media type parameters ``params``, is in UTF-16LE."""
    body = base64.b64encode(_img(ga(vid)).encode("utf-16le")).decode()
    return f"<iframe src='data:text/html{params};base64,{body}'></iframe>"


def _frame_vectors() -> Iterator[Page]:
    out: list[Vector] = []

    def add(name: str, make: Callable[[str], str], inert: str | None = None) -> None:
        vid = f"frame.{name}"
        out.append(Vector(vid, "frame", make(vid), inert=inert))

    add("iframe-data-pct-img", lambda v: f'<iframe src="data:text/html,{_pct(_img(ga(v)))}"></iframe>')
    add(
        "iframe-data-pct-script",
        lambda v: f'<iframe src="data:text/html,{_pct(_script_tag(ga(v, "analytics.js")))}"></iframe>',
    )
    add("iframe-data-raw-img", lambda v: f'<iframe src="data:text/html,<img src={ga(v)}>"></iframe>')
    add("iframe-data-base64-img", lambda v: f'<iframe src="data:text/html;base64,{_b64(_img(ga(v)))}"></iframe>')
    add(
        "iframe-data-base64-script",
        lambda v: f'<iframe src="data:text/html;base64,{_b64(_script_tag(ga(v, "analytics.js")))}"></iframe>',
    )
    add(
        "iframe-data-base64-spaced",
        lambda v: f'<iframe src="data:text/html;base64 , {" ".join(_b64(_img(ga(v))))}"></iframe>',
    )
    # A UTF-16 document: its markup is no ASCII. Each way of naming the charset that Chromium reads.
    for name, params in (
        ("utf16", ";charset=utf-16"),
        ("utf16-spaced", ";charset=utf-16 "),
        ("utf16-in-quotes", ';x="a;charset=utf-16le;b"'),  # Chromium splits on every ";"
        ("utf16-after-quotes", ';x="a;charset=ascii";charset=utf-16le'),  # the MIME standard's reading
    ):
        add(
            f"iframe-data-{name}",
            partial(_utf16_frame, params),
            inert="Chromium fails a data: URL whose charset is no token" if name == "utf16-after-quotes" else None,
        )
    add(
        "iframe-data-upper-charset",
        lambda v: f'<iframe src="DATA:Text/HTML;charset=utf-8,{_pct(_img(ga(v)))}"></iframe>',
    )
    add(
        "iframe-data-charref-scheme",
        lambda v: f'<iframe src="&#100;ata:text/html,{_pct(_img(ga(v)))}"></iframe>',
    )
    add(
        "iframe-data-base",
        lambda v: (
            f'<iframe src="data:text/html,{_pct(f"<base href=https://{GA_HOST}/><img src=collect{_q(v)}>")}"></iframe>'
        ),
    )
    add(
        "iframe-data-srcdoc",
        lambda v: (
            f'<iframe src="data:text/html,{_pct(f"<iframe srcdoc={chr(39)}{_img(ga(v))}{chr(39)}></iframe>")}">'
            "</iframe>"
        ),
    )
    add(
        "iframe-data-style",
        lambda v: f'<iframe src="data:text/html,{_pct(f"<style>@import url({ga(v)});</style>")}"></iframe>',
    )
    add("object-data-html", lambda v: f'<object data="data:text/html,{_pct(_img(ga(v)))}"></object>')
    add(
        "object-data-html-typed",
        lambda v: f'<object type="text/html" data="data:text/html;base64,{_b64(_img(ga(v)))}"></object>',
    )
    add("embed-data-html", lambda v: f'<embed type="text/html" src="data:text/html,{_pct(_img(ga(v)))}">')
    add("embed-data-html-untyped", lambda v: f'<embed src="data:text/html,{_pct(_img(ga(v)))}">')

    def svg_doc(v: str) -> str:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">'
            f'<image href="{ga(v)}" width="20" height="20"/></svg>'
        )

    add("iframe-data-svg", lambda v: f'<iframe src="data:image/svg+xml,{_pct(svg_doc(v))}"></iframe>')
    add("object-data-svg", lambda v: f'<object data="data:image/svg+xml,{_pct(svg_doc(v))}"></object>')
    add("embed-data-svg", lambda v: f'<embed src="data:image/svg+xml,{_pct(svg_doc(v))}">')
    add(
        "img-data-svg",
        lambda v: f'<img alt="" src="data:image/svg+xml,{_pct(svg_doc(v))}">',
        inert="an SVG document shown as an image never loads external resources",
    )
    add("iframe-javascript", lambda v: f"<iframe src=\"javascript:'<img src={ga(v)}>'\"></iframe>")
    add(
        "iframe-javascript-escaped",
        lambda v: (
            f"<iframe src=\"javascript:'\\x3cimg src=https:\\x2f\\x2fwww.google-analytics.com/collect{_q(v)}>'\">"
            "</iframe>"
        ),
    )
    add(
        "iframe-javascript-charrefs",
        lambda v: f"<iframe src=\"&#106;ava&#x09;script&colon;'&lt;img src={ga(v)}&gt;'\"></iframe>",
    )
    add(
        "iframe-javascript-pct",
        lambda v: f"<iframe src=\"javascript:'%3Cimg%20src%3D{ga(v)}%3E'\"></iframe>",
    )
    add(
        "script-data",
        lambda v: f'<script src="data:text/javascript,new Image().src=%27{ga(v)}%27"></script>',
    )
    add(
        "script-data-base64",
        lambda v: f'<script src="data:text/javascript;base64,{_b64(f"new Image().src={ga(v)!r}")}"></script>',
    )
    add(
        "link-data-css-import",
        lambda v: f'<link rel="stylesheet" href="data:text/css,@import url({ga(v)});">',
    )
    add(
        "link-data-css-background",
        lambda v: (
            f'<link rel="stylesheet" href="data:text/css,.d-{v.replace(".", "_")}'
            f'%7Bbackground:url({ga(v)})%7D"><span class="box d-{v.replace(".", "_")}">x</span>'
        ),
    )
    add(
        "link-data-css-base64",
        lambda v: f'<link rel="stylesheet" href="data:text/css;base64,{_b64(f"@import url({ga(v)});")}">',
    )
    add("srcdoc-img", lambda v: f"<iframe srcdoc=\"<img src='{ga(v)}'>\"></iframe>")
    add("srcdoc-script", lambda v: f"<iframe srcdoc=\"<script src='{ga(v, 'analytics.js')}'></script>\"></iframe>")
    add("srcdoc-charrefs", lambda v: f'<iframe srcdoc="&lt;img src=&quot;{ga(v)}&quot;&gt;"></iframe>')
    add(
        "srcdoc-charref-url",
        lambda v: f"<iframe srcdoc=\"<img src='https:&amp;#47;&amp;#47;{GA_HOST}/collect{_q(v)}'>\"></iframe>",
    )
    add(
        "srcdoc-nested",
        lambda v: f"<iframe srcdoc=\"<iframe srcdoc='&lt;img src={ga(v)}&gt;'></iframe>\"></iframe>",
    )
    add(
        "srcdoc-nested-3",
        lambda v: (
            "<iframe srcdoc=\"<iframe srcdoc='<iframe srcdoc=&amp;quot;&amp;lt;img "
            f"src={ga(v)}&amp;gt;&amp;quot;></iframe>'></iframe>\"></iframe>"
        ),
    )
    add(
        "srcdoc-base",
        lambda v: f"<iframe srcdoc=\"<base href='https://{GA_HOST}/'><img src='collect{_q(v)}'>\"></iframe>",
    )
    add("srcdoc-style", lambda v: f'<iframe srcdoc="<style>@import url({ga(v)});</style>"></iframe>')
    add(
        "srcdoc-style-attribute",
        lambda v: f"<iframe srcdoc=\"<div style='width:9px;height:9px;background:url({ga(v)})'></div>\"></iframe>",
    )
    add(
        "srcdoc-data-iframe",
        lambda v: f"<iframe srcdoc=\"<iframe src='data:text/html,{_pct(_img(ga(v)))}'></iframe>\"></iframe>",
    )
    add("srcdoc-upper-attribute", lambda v: f"<IFRAME SRCDOC=\"<IMG SRC='{ga(v)}'>\"></IFRAME>")
    yield Page("frame-inline-documents", tuple(out))

    pings: list[Vector] = []

    def ping(name: str, value: str | Callable[[str], str]) -> None:
        vid = f"frame.ping.{name}"
        url = value(vid) if callable(value) else value
        pings.append(
            Vector(
                vid,
                "frame",
                f'<a class="ping" data-ccv-click="{vid}" ping="{url}" href="#{vid}">{name}</a>',
                click=True,
            )
        )

    ping("plain", ga)
    ping("list", lambda v: f"{PIXEL} {ga(v)}")
    ping("charrefs", lambda v: f"https:&#47;&#47;{GA_HOST}/collect{_q(v)}")
    ping("upper-case", lambda v: f"HTTPS://WWW.GOOGLE-ANALYTICS.COM/collect{_q(v)}")
    ping("ideographic-dot", lambda v: f"https://www\u3002google-analytics\u3002com/collect{_q(v)}")
    ping("backslashes", lambda v: f"https:\\\\{GA_HOST}\\collect{_q(v)}")
    ping("scheme-relative", lambda v: f"//{GA_HOST}/collect{_q(v)}")
    ping("pct-host", lambda v: f"https://www%2egoogle-analytics.com/collect{_q(v)}")
    ping("dot-segment", lambda v: f"https://www.facebook.com/a/../tr{_q(v)}")
    ping("leading-space", lambda v: f"  \t{ga(v)}")
    yield Page("frame-pings", tuple(pings))


# -- class 4: the tracker catalog ------------------------------------------------------------------


def _load_catalog() -> list[dict[str, Any]]:
    text = resources.files("cookieconsent.blocking").joinpath("data/trackers.toml").read_text(encoding="utf-8")
    entries = tomllib.loads(text).get("tracker", [])
    return [e for e in entries if isinstance(e, dict)]


#: The built-in catalog's entries, as read when this module was imported.
CATALOG = _load_catalog()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _catalog_vectors() -> Iterator[Page]:
    out: list[Vector] = []
    for entry in CATALOG:
        vendor = _slug(str(entry.get("vendor", "vendor")))
        targets: list[tuple[str, str]] = []
        for domain in entry.get("domains", []):
            targets.append((_slug(str(domain)), f"https://{domain}/"))
        for prefix in entry.get("urls", []):
            host, _, path = str(prefix).partition("/")
            targets.append((_slug(str(prefix)), f"https://{host}/{path}/"))
            targets.append((_slug(f"www.{prefix}"), f"https://www.{host}/{path}/"))
        for slug, base in targets:
            vid = f"catalog.{vendor}.{slug}.img"
            out.append(Vector(vid, "catalog", _img(f"{base}p.gif{_q(vid)}")))
            vid = f"catalog.{vendor}.{slug}.script"
            out.append(Vector(vid, "catalog", f'<script async src="{base}t.js{_q(vid)}"></script>'))
    half = len(out) // 2
    yield Page("catalog-1", tuple(out[:half]))

    linkedin: list[Vector] = []
    vid = "catalog.linkedin-insight.pixel-dc"
    linkedin.append(
        Vector(
            vid,
            "catalog",
            '<img height="1" width="1" style="display:none" alt="" '
            f'src="https://dc.ads.linkedin.com/collect?pid=1&amp;fmt=gif&amp;{PARAM}={vid}">',
        )
    )
    vid = "catalog.linkedin-insight.pixel-px"
    linkedin.append(
        Vector(
            vid,
            "catalog",
            f'<img height="1" width="1" alt="" src="https://px.ads.linkedin.com/collect/?pid=1&fmt=gif&{PARAM}={vid}">',
        )
    )
    vid = "catalog.linkedin-insight.old-snippet"
    linkedin.append(
        Vector(
            vid,
            "catalog",
            '<script type="text/javascript">\n_linkedin_data_partner_id = "1";\n</script>'
            '<script type="text/javascript">\n(function(){var s = document.getElementsByTagName("script")[0];\n'
            'var b = document.createElement("script");\nb.type = "text/javascript";b.async = true;\n'
            f'b.src = "https://snap.licdn.com/li.lms-analytics/insight.min.js{_q(vid)}";\n'
            "s.parentNode.insertBefore(b, s);})();\n</script>",
        )
    )
    vid = "catalog.linkedin-insight.snippet"
    linkedin.append(
        Vector(
            vid,
            "catalog",
            '<script type="text/javascript">\n_linkedin_partner_id = "1";\n'
            "window._linkedin_data_partner_ids = window._linkedin_data_partner_ids || [];\n"
            "window._linkedin_data_partner_ids.push(_linkedin_partner_id);\n</script>"
            '<script type="text/javascript">\n(function(l) {\nvar s = document.getElementsByTagName("script")[0];\n'
            'var b = document.createElement("script");\nb.type = "text/javascript";b.async = true;\n'
            f'b.src = "https://snap.licdn.com/li.lms-analytics/insight.min.js{_q(vid)}";\n'
            "s.parentNode.insertBefore(b, s);})(window.lintrk);\n</script>",
        )
    )
    yield Page("catalog-2", (*out[half:], *linkedin))


# -- class 5: other ways markup fetches or runs code -----------------------------------------------


def _markup_vectors() -> Iterator[Page]:
    out: list[Vector] = []

    def add(name: str, make: Callable[[str], str], inert: str | None = None) -> None:
        vid = f"markup.{name}"
        out.append(Vector(vid, "markup", make(vid), inert=inert))

    img_js = "new Image().src='{u}'"
    add("img-onerror", lambda v: f'<img src="{MISSING}" alt="" onerror="{img_js.format(u=ga(v))}">')
    add("img-onload", lambda v: f'<img src="{PIXEL}" alt="" onload="{img_js.format(u=ga(v))}">')
    add(
        "img-onerror-charrefs",
        lambda v: (
            f'<img src="{MISSING}" alt="" onerror="new Image().src=\'https:&#47;&#47;{GA_HOST}/collect{_q(v)}\'">'
        ),
    )
    add(
        "img-onerror-js-escapes",
        lambda v: (
            f'<img src="{MISSING}" alt="" '
            f"onerror=\"new Image().src='https://www\\x2egoogle-analytics\\u002ecom/collect{_q(v)}'\">"
        ),
    )
    add("img-onerror-beacon", lambda v: f'<img src="{MISSING}" alt="" onerror="navigator.sendBeacon(\'{ga(v)}\')">')
    add(
        "img-onerror-fetch", lambda v: f'<img src="{MISSING}" alt="" onerror="fetch(\'{ga(v)}\',{{mode:\'no-cors\'}})">'
    )
    add("svg-onload", lambda v: f'<svg width="1" height="1" onload="{img_js.format(u=ga(v))}"></svg>')
    add(
        "details-ontoggle",
        lambda v: f'<details open ontoggle="{img_js.format(u=ga(v))}"><summary>x</summary></details>',
    )
    add(
        "iframe-onload",
        lambda v: f'<iframe srcdoc="x" width="9" height="9" onload="{img_js.format(u=ga(v))}"></iframe>',
    )
    add("video-source-onerror", lambda v: f'<video><source src="{MISSING}" onerror="{img_js.format(u=ga(v))}"></video>')
    add(
        "meta-refresh-srcdoc",
        lambda v: f"<iframe srcdoc=\"<meta http-equiv='refresh' content='0;url={ga(v)}'>\"></iframe>",
    )
    add(
        "meta-refresh-srcdoc-quoted-url",
        lambda v: (
            f"<iframe srcdoc=\"<meta http-equiv=REFRESH content='0; URL=&amp;quot;{ga(v)}&amp;quot;'>\"></iframe>"
        ),
    )
    add(
        "meta-refresh-srcdoc-comma",
        lambda v: f"<iframe srcdoc=\"<meta http-equiv='refresh' content='0,{ga(v)}'>\"></iframe>",
    )
    add(
        "meta-refresh-srcdoc-no-url-key",
        lambda v: f"<iframe srcdoc=\"<meta http-equiv='refresh' content='0; {ga(v)}'>\"></iframe>",
    )
    add(
        "meta-refresh-data",
        lambda v: f'<iframe src="data:text/html,{_pct(f"<meta http-equiv=refresh content=0;url={ga(v)}>")}"></iframe>',
    )
    add("svg-image-href", lambda v: f'<svg width="9" height="9"><image href="{ga(v)}" width="9" height="9"/></svg>')
    add(
        "svg-image-xlink-href",
        lambda v: f'<svg width="9" height="9"><image xlink:href="{ga(v)}" width="9" height="9"/></svg>',
    )
    add(
        "svg-image-charrefs",
        lambda v: (
            f'<svg width="9" height="9"><image href="https:&#47;&#47;{GA_HOST}/collect{_q(v)}" '
            'width="9" height="9"/></svg>'
        ),
    )
    add("svg-use-href", lambda v: f'<svg width="9" height="9"><use href="{ga(v, "u.svg")}#a"/></svg>')
    add(
        "svg-feimage",
        lambda v: (
            '<svg width="9" height="9"><filter id="fi-{i}"><feImage href="{u}"/></filter>'
            '<rect width="9" height="9" filter="url(#fi-{i})"/></svg>'.format(i=v.replace(".", "_"), u=ga(v))
        ),
    )
    add(
        "svg-smil-set",
        lambda v: (
            f'<svg width="9" height="9"><image width="9" height="9"><set attributeName="href" to="{ga(v)}"/>'
            "</image></svg>"
        ),
    )
    add(
        "svg-smil-animate",
        lambda v: (
            f'<svg width="9" height="9"><image width="9" height="9"><animate attributeName="href" '
            f'values="{ga(v)}" dur="1s"/></image></svg>'
        ),
    )
    add(
        "svg-script-href", lambda v: f'<svg width="1" height="1"><script href="{ga(v, "analytics.js")}"></script></svg>'
    )
    add(
        "svg-script-xlink-href",
        lambda v: f'<svg width="1" height="1"><script xlink:href="{ga(v, "analytics.js")}"></script></svg>',
    )
    add("link-prefetch", lambda v: f'<link rel="prefetch" href="{ga(v)}">')
    add("link-modulepreload", lambda v: f'<link rel="modulepreload" href="{ga(v, "m.js")}">')
    add("link-preload-script", lambda v: f'<link rel="preload" as="script" href="{ga(v, "analytics.js")}">')
    add("link-preload-fetch", lambda v: f'<link rel="preload" as="fetch" crossorigin href="{ga(v)}">')
    add("link-preload-font", lambda v: f'<link rel="preload" as="font" crossorigin href="{ga(v, "f.woff2")}">')
    add("object-typed-image", lambda v: f'<object type="image/gif" data="{ga(v)}" width="9" height="9"></object>')
    add(
        "script-escapes",
        lambda v: (
            "<script>(function(){var s=document.createElement('script');"
            f"s.src='https:\\x2f\\x2fwww\\x2egoogle-analytics\\u002ecom/analytics.js{_q(v)}';"
            "document.head.appendChild(s);})();</script>"
        ),
    )
    add(
        "script-escapes-braced",
        lambda v: (
            "<script>(function(){var i=new Image();"
            f"i.src='https://www\\u{{2e}}google\\u{{2D}}analytics.com/collect{_q(v)}';}})();</script>"
        ),
    )
    add(
        "script-ideographic-dots",
        lambda v: (
            "<script>(function(){var s=document.createElement('script');"
            f"s.src='https://www\u3002google-analytics\u3002com/analytics.js{_q(v)}';"
            "document.head.appendChild(s);})();</script>"
        ),
    )
    add(
        "script-fullwidth-letters",
        lambda v: (
            "<script>new Image().src="
            f"'https://www.\uff47\uff4f\uff4f\uff47\uff4c\uff45-analytics.com/collect{_q(v)}';</script>"
        ),
    )
    add(
        "script-escaped-ideographic-dot",
        lambda v: f"<script>new Image().src='https://www\\u3002google-analytics\\u3002com/collect{_q(v)}';</script>",
    )
    add("script-document-write", lambda v: f"<script>document.write('<img src=\"{ga(v)}\">');</script>")
    add(
        "script-document-write-escaped",
        lambda v: (
            f"<script>document.write('\\x3cimg src=\"https://www.google-analytics\\x2ecom/collect{_q(v)}\"\\x3e');"
            "</script>"
        ),
    )
    add("script-fetch", lambda v: f"<script>fetch('{ga(v)}',{{mode:'no-cors'}});</script>")
    add("script-beacon", lambda v: f"<script>navigator.sendBeacon('{ga(v)}');</script>")
    add(
        "script-upper-type",
        lambda v: f"<script type=\"TEXT/JAVASCRIPT\">new Image().src='{ga(v)}';</script>",
    )
    add("noscript-escape", lambda v: f"<noscript><p title=\"</noscript><img src='{ga(v)}'>\"></p></noscript>")
    add("textarea-escape", lambda v: f"<textarea><p title=\"</textarea><img src='{ga(v)}'>\"></p></textarea>")
    add("title-escape", lambda v: f"<svg><title><img src='{ga(v)}'></title></svg>")
    add("math-escape", lambda v: f"<math><mi><img src='{ga(v)}'></mi></math>")
    add("style-onload", lambda v: f'<style onload="{img_js.format(u=ga(v))}">p{{}}</style>')
    add("script-onerror", lambda v: f'<script src="{MISSING}{_q(v)}" onerror="{img_js.format(u=ga(v))}"></script>')
    add("input-autofocus-onfocus", lambda v: f'<input autofocus onfocus="{img_js.format(u=ga(v))}">')
    add("body-onload", lambda v: "")  # on the page's own <body> (see below)
    add(
        "svg-foreignobject-img",
        lambda v: f"<svg width='9' height='9'><foreignObject><img src='{ga(v)}'></foreignObject></svg>",
    )
    add("svg-upper-image", lambda v: f'<SVG width="9" height="9"><IMAGE HREF="{ga(v)}" width="9" height="9"/></SVG>')
    add(
        "svg-xml-base",
        lambda v: (
            f'<svg width="9" height="9" xml:base="https://{GA_HOST}/"><image href="collect{_q(v)}" width="9" '
            'height="9"/></svg>'
        ),
        inert="Chromium ignores xml:base",
    )
    add("link-stylesheet-print", lambda v: f'<link rel="stylesheet" media="print" href="{ga(v)}">')
    add("link-alternate-stylesheet", lambda v: f'<link rel="alternate stylesheet" title="t" href="{ga(v)}">')
    add("link-rel-upper-spaced", lambda v: f'<link rel=" STYLESHEET " href="{ga(v)}">')
    add("video-src", lambda v: f'<video src="{ga(v, "v.mp4")}" width="9" height="9"></video>')
    add("audio-src", lambda v: f'<audio src="{ga(v, "a.mp3")}"></audio>')
    add("td-background", lambda v: f'<table><tr><td background="{ga(v)}">x</td></tr></table>')
    add("image-element", lambda v: f'<image src="{ga(v)}" alt="">')
    add("img-srcset-commas", lambda v: f'<img srcset=",,, {ga(v)} 1x" alt="">')
    add("script-type-first", lambda v: f'<script type="text/javascript" src="{ga(v, "analytics.js")}"></script>')
    add("style-type-css", lambda v: f'<style type="text/css">@import url({ga(v)});</style>')
    add("script-module", lambda v: f'<script type="module" src="{ga(v, "m.js")}"></script>')
    add("script-type-spaced", lambda v: f'<script type=" text/javascript " src="{ga(v, "analytics.js")}"></script>')
    add(
        "script-type-parameters",
        lambda v: f'<script type="text/javascript;charset=utf-8" src="{ga(v, "a.js")}"></script>',
        inert="Chromium neither runs nor fetches a script whose type has parameters",
    )
    add("script-language", lambda v: f'<script language="javascript" src="{ga(v, "analytics.js")}"></script>')
    add("script-dynamic-import", lambda v: f"<script>import('{ga(v, 'm.js')}').catch(() => 0);</script>")
    add(
        "iframe-javascript-spaced-upper",
        lambda v: f"<iframe src=\"  JaVaScRiPt:'<img src={ga(v)}>'\"></iframe>",
    )
    add(
        "declarative-shadow-root",
        lambda v: f"<div><template shadowrootmode='open'><img src='{ga(v)}'></template></div>",
    )
    add("body-background-late", lambda v: "")  # a second <body> tag adds its attributes (see below)
    page = Page("markup-handlers-svg-scripts", tuple(out))
    body_onload = f' onload="{img_js.format(u=ga("markup.body-onload"))}"'
    late = f'<body background="{ga("markup.body-background-late")}">'
    yield Page(
        page.name,
        tuple(Vector(x.id, x.cls, late) if x.id == "markup.body-background-late" else x for x in page.vectors),
        body_attrs=body_onload,
    )

    # How the parser reads markup where a rewriter may read it otherwise: duplicate attributes (the
    # parser keeps the first, the preload scanner the first non-empty), separators, comments, and
    # the elements whose content is text in HTML but markup in SVG and MathML.
    parser: list[Vector] = []
    # (An empty first src makes the parser's <img> fail, and its preload scanner skips an <img> whose
    # first src is empty; for <script> and <link> it takes the first non-empty one.)
    FIRST_SRC = "an <img> reads only its first src attribute, in the parser and the preload scanner alike"

    def parse(name: str, make: Callable[[str], str], inert: str | None = None) -> None:
        vid = f"markup.parser.{name}"
        parser.append(Vector(vid, "markup", make(vid), inert=inert))

    parse("duplicate-src-empty-first", lambda v: f'<img src="" src="{ga(v)}" alt="">', inert=FIRST_SRC)
    parse("duplicate-src-space-first", lambda v: f'<img src=" " src="{ga(v)}" alt="">', inert=FIRST_SRC)
    parse("duplicate-script-src-empty-first", lambda v: f'<script src="" src="{ga(v, "analytics.js")}"></script>')
    parse("duplicate-href-empty-first", lambda v: f'<link rel="stylesheet" href="" href="{ga(v)}">')
    parse("duplicate-src-local-first", lambda v: f'<img src="{PIXEL}{_q(v)}" src="{ga(v)}" alt="">', inert=FIRST_SRC)
    parse("upper-case-tag", lambda v: f'<IMG SRC="{ga(v)}" ALT="">')
    parse("mixed-case-script", lambda v: f'<ScRiPt SrC="{ga(v, "analytics.js")}"></sCrIpT>')
    parse("slash-separator", lambda v: f'<img/src="{ga(v)}"/alt="">')
    parse("form-feed-separator", lambda v: f'<img\fsrc="{ga(v)}"\falt="">')
    parse("newline-separator", lambda v: f'<img\nsrc\n=\n"{ga(v)}"\nalt="">')
    parse("no-space-between-attributes", lambda v: f'<img alt=""src="{ga(v)}">')
    parse("unquoted-value", lambda v: f"<img alt=x src={ga(v)}>")
    parse("backtick-value", lambda v: f"<img alt=x src=`{ga(v)}`>", inert="a backtick is part of an unquoted value")
    parse("abrupt-comment", lambda v: f"<!--><img src='{ga(v)}'>-->")
    parse("abrupt-comment-dash", lambda v: f"<!---><img src='{ga(v)}'>-->")
    parse("comment-bang-close", lambda v: f"<!-- x --!><img src='{ga(v)}'>-->")
    parse("bogus-comment", lambda v: f"<?x><img src='{ga(v)}'>?>")
    parse("end-tag-bogus-comment", lambda v: f"</ x><img src='{ga(v)}'>")
    parse("cdata-in-html", lambda v: f"<![CDATA[x]]><img src='{ga(v)}'>")
    parse("svg-style-breakout", lambda v: f"<svg><style><img src='{ga(v)}'></style></svg>")
    # A CDATA section is text to the tree builder, but Chromium's preload scanner reads "<![CDATA[" as a
    # bogus comment that ends at the first ">", and fetches the tags after it.
    parse("svg-cdata-preload", lambda v: f"<svg width='1' height='1'><![CDATA[ a>b <img src='{ga(v)}'> ]]></svg>")
    # "<![cdata[" in small letters is no CDATA section but a bogus comment, which ends at the first ">".
    parse("svg-cdata-small-letters", lambda v: f"<svg width='1' height='1'><![cdata[ a>b <img src='{ga(v)}'> ]]></svg>")
    parse("math-style-breakout", lambda v: f"<math><style><img src='{ga(v)}'></style></math>")
    parse("svg-script-breakout", lambda v: f"<svg><script><img src='{ga(v)}'></script></svg>")
    parse("svg-iframe-breakout", lambda v: f"<svg><iframe><img src='{ga(v)}'></iframe></svg>")
    parse("svg-textarea-breakout", lambda v: f"<svg><textarea><img src='{ga(v)}'></textarea></svg>")
    parse("svg-noscript-breakout", lambda v: f"<svg><noscript><img src='{ga(v)}'></noscript></svg>")
    parse("svg-xmp-breakout", lambda v: f"<svg><xmp><img src='{ga(v)}'></xmp></svg>")
    parse("svg-title-img", lambda v: f"<svg><title><img src='{ga(v)}'></title></svg>")
    parse("svg-desc-img", lambda v: f"<svg><desc><img src='{ga(v)}'></desc></svg>")
    parse(
        "svg-p-end-style",
        lambda v: f"<svg></p><style><a id=\"</style><img src='{ga(v)}'>\"></a></style></svg>",
    )
    parse(
        "svg-p-start-style",
        lambda v: f"<svg><p><style><a id=\"</style><img src='{ga(v)}'>\"></a></style></svg>",
    )
    parse("script-comment-end", lambda v: f"<script>/*</script><img src='{ga(v)}'>*/</script>")
    parse("style-comment-end", lambda v: f"<style>/*</style><img src='{ga(v)}'>*/</style>")
    parse("title-end-in-attribute", lambda v: f"<title><a title=\"</title><img src='{ga(v)}'>\"></a></title>")
    parse("textarea-end-upper", lambda v: f"<textarea></TEXTAREA ><img src='{ga(v)}'>")
    parse("script-end-slash", lambda v: f"<script>0</script/><img src='{ga(v)}'>")
    parse("noscript-in-attribute", lambda v: f"<p title=\"<noscript>\"><img src='{ga(v)}'></p>")
    parse("iframe-in-attribute", lambda v: f"<p title=\"<iframe>\"><img src='{ga(v)}'></p>")
    # Elements that do nothing in SVG or MathML, where the preload scanner reads them as HTML.
    parse("svg-link-stylesheet", lambda v: f"<svg><link rel='stylesheet' href='{ga(v)}'></svg>")
    parse("math-style-import", lambda v: f"<math><style>@import url({ga(v)});</style></math>")
    yield Page("markup-parser", tuple(parser))

    # Import maps (in <head>, before any module; Chromium merges several) and speculation rules, on
    # a page loaded in the tab in front (Chromium acts on speculation rules only in a visible page).
    maps: list[str] = []
    modules: list[Vector] = []

    def importmap(name: str, make: Callable[[str], tuple[str, str]]) -> None:
        vid = f"markup.importmap.{name}"
        mapping, specifier = make(vid)
        maps.append(f'<script type="importmap">{mapping}</script>')
        modules.append(Vector(vid, "markup", f'<script type="module">import "{specifier}";</script>'))

    importmap("imports", lambda v: (f'{{"imports":{{"t-{v}":"{ga(v, "m.js")}"}}}}', f"t-{v}"))
    importmap(
        "json-escapes",
        lambda v: (
            f'{{"imports":{{"t-{v}":"https:\\u002f\\u002fwww.google-analytics\\u002ecom/m.js{_q(v)}"}}}}',
            f"t-{v}",
        ),
    )
    importmap(
        "scope",
        lambda v: (
            f'{{"imports":{{"s-{v}":"/static/x.js"}},"scopes":{{"/":{{"s-{v}":"{ga(v, "m.js")}"}}}}}}',
            f"s-{v}",
        ),
    )
    importmap("prefix", lambda v: (f'{{"imports":{{"p-{v}/":"https://{GA_HOST}/"}}}}', f"p-{v}/m.js{_q(v)}"))

    def rules(kind: str, body: str) -> str:
        return f'<script type="speculationrules">{{"{kind}":[{body}]}}</script>'

    speculation: list[tuple[str, Callable[[str], str]]] = [
        ("prefetch", lambda v: rules("prefetch", f'{{"source":"list","urls":["{ga(v)}"]}}')),
        ("prerender", lambda v: rules("prerender", f'{{"source":"list","urls":["{ga(v)}"]}}')),
        (
            "prefetch-json-escapes",
            lambda v: rules(
                "prefetch", f'{{"source":"list","urls":["https:\\/\\/www.google-analytics\\u002ecom/collect{_q(v)}"]}}'
            ),
        ),
        (
            "prefetch-document-rules",
            lambda v: (
                rules(
                    "prefetch",
                    f'{{"source":"document","where":{{"href_matches":"https://{GA_HOST}/*"}},"eagerness":"immediate"}}',
                )
                + f'<a href="{ga(v)}">x</a>'
            ),
        ),
    ]
    # An SVG script element with the same type.
    speculation.append(
        (
            "svg-prefetch",
            lambda v: (
                f'<svg width="1" height="1"><script type="speculationrules">'
                f'{{"prefetch":[{{"source":"list","urls":["{ga(v)}"]}}]}}</script></svg>'
            ),
        )
    )
    for name, make in speculation:
        vid = f"markup.speculationrules.{name}"
        modules.append(Vector(vid, "markup", make(vid)))
    yield Page("markup-importmaps-speculationrules", tuple(modules), head="".join(maps), foreground=True)

    vid = "markup.meta-refresh-top"
    yield Page(
        "markup-meta-refresh",
        (Vector(vid, "markup", ""),),
        head=f'<meta http-equiv="refresh" content="0;url={ga(vid)}">',
    )

    pad = "a" * (70 * 1024)
    long: list[Vector] = []
    long_tags: dict[str, Callable[[str], str]] = {
        "img": lambda u: f'<img alt="" data-pad="{pad}" src="{u}">',
        "script": lambda u: f'<script data-pad="{pad}" src="{u}"></script>',
        "iframe": lambda u: f'<iframe data-pad="{pad}" src="{u}"></iframe>',
        "link": lambda u: f'<link data-pad="{pad}" rel="stylesheet" href="{u}">',
        "img-unquoted": lambda u: f"<img alt data-pad={pad} src={u}>",
        "style-attribute": lambda u: f'<div class="box" data-pad="{pad}" style="background:url({u})"></div>',
    }
    for name, make in long_tags.items():
        vid = f"markup.long-tag.{name}"
        long.append(Vector(vid, "markup", make(ga(vid))))
    big = "/" + "*" * (300 * 1024) + "/"
    vid = "markup.long-inline-script"
    long.append(Vector(vid, "markup", f"<script>{big}new Image().src='{ga(vid)}';</script>"))
    vid = "markup.long-style"
    long.append(
        Vector(
            vid,
            "markup",
            f"<style>{big}.b-long{{background:url({ga(vid)})}}</style><span class='box b-long'>x</span>",
        )
    )
    yield Page("markup-long-tags", tuple(long))


def _pages() -> tuple[Page, ...]:
    pages = (*_url_vectors(), *_css_vectors(), *_frame_vectors(), *_catalog_vectors(), *_markup_vectors())
    names = [p.name for p in pages]
    assert len(set(names)) == len(names), "page names must be unique"
    ids = [v.id for p in pages for v in p.vectors]
    assert len(set(ids)) == len(ids), "vector ids must be unique"
    bad = [i for i in ids if not re.fullmatch(r"[A-Za-z0-9_.-]+", i)]
    assert not bad, f"vector ids must be made of [A-Za-z0-9_.-]: {bad}"
    return pages


#: Every page, in serving order.
PAGES: tuple[Page, ...] = _pages()
#: Every vector by id.
VECTORS: dict[str, Vector] = {v.id: v for p in PAGES for v in p.vectors}
#: Each vector's page.
PAGE_OF: dict[str, Page] = {v.id: p for p in PAGES for v in p.vectors}
#: Pages by name.
PAGE_NAMED: dict[str, Page] = {p.name: p for p in PAGES}
