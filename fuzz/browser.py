r"""A page as a browser sees it: what would fetch or run something, and what it points at.

The rewriter's promise is about browsers: nothing of a refused category may stay active. Checking it
with the rewriter's own notion of a tag, a URL or a style sheet would prove nothing, so the fuzz
targets check the output with this separate reading, written from the WHATWG HTML tokenizer, the
WHATWG URL parser, the fetch standard's ``data:`` URLs and CSS Syntax Level 3. It models:

- tags: tag-name, attribute and self-closing states, quoted and unquoted values, character references
  in attribute values (with the attribute exception for legacy names without ``;``) and in text, first
  attribute wins; comments, including ``<!-->``, ``<!--->`` and ``--!>``; bogus comments (``<?``,
  ``<!x``, ``</1``); an unfinished tag at the end of input is dropped, as browsers drop it;
- the elements whose content is text: ``script`` (script data), ``style``, ``xmp``, ``iframe``,
  ``noembed``, ``noframes`` and, when scripting is on, ``noscript`` (raw text), ``title`` and
  ``textarea`` (RCDATA), and ``plaintext`` (all the rest). Their content ends at ``</name`` followed by
  whitespace, ``/`` or ``>``, in any letter case;
- ``<image>`` is read as ``<img>``, as the tree builder does;
- foreign content: under an ``<svg>`` or ``<math>`` element no element's content is text, CDATA
  sections are text, the SVG ``image``, ``script``, ``feImage`` and ``use`` elements fetch their
  ``href`` or ``xlink:href`` (an ``<image>`` stays an SVG image); the start tags that break out of it
  (``<img>``, ``<div>``, ``<font color>``…, and the end tags ``</p>`` and ``</br>``) close every
  foreign element up to the nearest HTML integration point (SVG ``foreignObject``, ``desc`` and
  ``title``; MathML ``mi``, ``mo``, ``mn``, ``ms``, ``mtext`` and an ``annotation-xml`` whose encoding
  is HTML), whose content is read as HTML again; an end tag closes the innermost open foreign element
  (any, not only ``<svg>`` and the integration points) of its name, never across a ``<noscript>``
  read without scripting (``</noscript>`` itself is ignored while an integration point is open in it).
  An SVG ``script`` runs (once its own end tag closes it), and an SVG ``style`` applies, its child
  text: the text directly in it (character references decoded, CDATA sections as they are), not that
  of the elements in it nor its comments. MathML elements fetch and run nothing by themselves (a
  ``<math><script>`` is no script), though their ``style`` and handlers count;
- URLs (:func:`parse_url`): leading and trailing C0 controls and spaces stripped, tabs and newlines
  removed; special schemes read ``\`` as ``/``, take any number of slashes before the host, and read
  ``https:host`` as relative when the base has the same scheme (the page is read as served over
  ``https`` and over ``http``, so both readings count); user info and port dropped (a port that is
  not a number fails); the host percent-decoded and mapped as UTS #46 maps it (case folded, NFKC, the
  ideographic and full-width full stops as dots, the characters it ignores dropped, ``ß``, ``ς`` and
  the zero-width joiners kept), non-ASCII labels in Punycode, a host with a forbidden code point
  failing, a host ending in a number read as an IPv4 address (never a tracker's), a host with an
  empty label (but a trailing dot) never looked up; the path with its dot segments removed (``%2e``
  too); a relative URL resolved against the document's base. A URL that fails fetches nothing;
- the base: the first HTML ``<base>`` with an ``href``, resolved against the document's fallback base
  (failing, ``data:`` and ``javascript:`` bases are ignored), then applied to the URLs of the elements
  after it; an ``srcdoc`` or ``javascript:`` document inherits its parent's base, a ``data:``
  document has none (its relative URLs fail);
- what fetches (:data:`FETCHING`): scripts, frames (``frame`` too), images and their ``srcset``
  candidates (the srcset parser's URLs), media, links, ``<input type=image>``, ``background`` on
  ``body`` and the parts of tables; ``ping`` on ``a`` and ``area`` (HTML or SVG), split on
  ASCII whitespace; ``<meta http-equiv=refresh>`` (``refresh`` in any letter case, its ``content`` read as
  the shared declarative refresh steps read it); SVG ``<set>`` (its ``to``) and ``<animate>`` (its
  ``to``, ``from``, ``by``, ``values``) setting an ``href`` or a presentation attribute (read as CSS);
- CSS (:func:`css_urls`, a tokenizer of its own): comments, strings with their escapes (a string
  cut by a newline is bad and fetches nothing), names with escapes (``\75 rl(`` is ``url(``), numbers
  and dimensions (``1url(`` is no function), hashes, url tokens and bad urls with their remnants, the
  brackets and functions a string stands in: the URLs are every url token, the strings in ``url()``,
  ``src()``, ``image-set()`` and ``-webkit-image-set()`` (unless a ``;`` or a brace in it already
  made it invalid), and a string right after ``@import``. Read in ``style`` attributes, in ``<style>``
  elements whose ``type`` is empty or ``text/css``, in the SVG presentation attributes that take a URL
  (``fill``, ``stroke``, ``filter``, ``clip-path``, ``mask``, ``marker-*``, ``cursor``), and in
  ``data:`` style sheets (a ``<link rel=stylesheet>``'s, an ``@import``'s);
- documents in URLs: a ``data:`` URL (its media type, base64 and percent-encoding read as
  the fetch standard reads them, a ``#`` ending it) in an ``iframe``, ``frame``, ``object``,
  ``embed`` or SVG ``use`` is a document when its type is HTML, XML or SVG (decoded with its charset,
  read both as the MIME Sniffing standard parses parameters and as Chromium splits them, or both as
  UTF-8 and as windows-1252 when it names none); in a ``<script src>`` a script (unless an
  image, audio, video or CSV type); a ``javascript:`` URL in a frame runs its script (percent-decoded)
  and the string it may return is read as a document; ``srcdoc`` documents; all of them read as
  pages are, three deep at most;
- scripts, with scripting on only: inline classic and module scripts, their type read as the HTML
  standard reads it (the content classed by ``category_of_script``), an HTML script cut by the end of
  the input never running; event handler attributes on any element (every ``on`` and letters
  attribute, its value classed the same way); import maps (each address in ``imports`` and ``scopes``
  resolved against the base) and speculation rules (each URL of a ``prefetch`` or ``prerender`` list
  rule, and, when a document rule is ``immediate`` or ``eager``, every link of the document), as
  JSON (invalid JSON does nothing);
- the library's markings: an element marked with a refused category (``data-category``) must not
  fetch or run; a marking of a category in force vouches for an inline script's content, never for a
  URL of a refused tracker (docs/blocking.md).

Why a URL parser of its own rather than ``cookieconsent.blocking.urls.resolve``: the rewriter judges every
URL through that module, so an oracle built on it would agree with the rewriter wherever the module
is wrong (a mapping it misses, a form it reads as relative), which are exactly the bypasses the
fuzzer is for. The few dozen lines here follow the standard's states directly; the host mapping
uses only the standard library (``unicodedata``, the ``punycode`` codec), not the ``idna`` package
the rewriter maps with. The category of a host and path still comes from the catalog
(``category_of_url`` is asked about a canonical ``https://host/path``, whose reading leaves no room
for disagreement), as the category of a script does.

It does not model tree construction beyond that (the HTML elements around or inside foreign content,
``<select>``, ``<template>``, table quirks, ``<frame>`` outside a frameset, a ``<base>`` changing the
URLs read before it), whether a CSS declaration is valid or applies (every URL of a style sheet
counts, whatever property holds it), which events an element fires (every handler counts: an
animation event reaches almost any element), when an SVG script runs (one whose type is JavaScript
counts as running), scripts holding bytes that are not UTF-8 (which it does not classify), what a
script does beyond the hosts and tag calls the catalog knows (a URL it builds, a module it imports),
the XML parser (XML and SVG documents are read as HTML), code points newer than the Unicode version of
Python's ``unicodedata`` (a host holding one fails), nor the escaped states of script data, where
browsers end a script later than this reading does (so it may see more tags than a browser, never
fewer, for the constructs it covers).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import html.entities
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

__all__ = [
    "FETCHING",
    "MARKABLE",
    "PAGE_BASES",
    "URL",
    "Element",
    "Violation",
    "active_violations",
    "css_urls",
    "decode_attribute",
    "domain_to_ascii",
    "elements",
    "ends_inside_tag",
    "parse_url",
    "refresh_url",
    "srcset_urls",
    "tags",
    "url_host_path",
]

_WS = "\t\n\f\r "
_ASCII_WS = re.compile("[\t\n\f\r ]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_RAWTEXT = frozenset({"style", "xmp", "iframe", "noembed", "noframes"})
_RCDATA = frozenset({"title", "textarea"})
_JS_TYPES = frozenset(
    {
        "application/ecmascript",
        "application/javascript",
        "application/x-ecmascript",
        "application/x-javascript",
        "text/ecmascript",
        "text/javascript",
        "text/javascript1.0",
        "text/javascript1.1",
        "text/javascript1.2",
        "text/javascript1.3",
        "text/javascript1.4",
        "text/javascript1.5",
        "text/jscript",
        "text/livescript",
        "text/x-ecmascript",
        "text/x-javascript",
    }
)
#: The attributes through which an HTML element fetches something without any user action.
FETCHING: dict[str, tuple[str, ...]] = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src", "srcdoc"),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "source": ("src", "srcset"),
    "track": ("src",),
    "link": ("href", "imagesrcset"),
    "input": ("src",),  # with type=image
    **dict.fromkeys(("body", "table", "thead", "tbody", "tfoot", "tr", "td", "th"), ("background",)),
}
_SRCSET = frozenset({"srcset", "imagesrcset"})
#: The same for the SVG elements of foreign content.
FOREIGN_FETCHING: dict[str, tuple[str, ...]] = {
    name: ("href", "xlink:href") for name in ("image", "script", "feimage", "use")
}
#: An event handler attribute's name (every one is "on" and letters; other names run nothing).
_HANDLER = re.compile(r"on[a-z]+")
#: The SVG animation elements that can set an attribute to a URL or a CSS value, and the attributes
#: holding the values they set (``<set>`` has only ``to``).
_ANIMATION = {"set": ("to",), "animate": ("from", "to", "by", "values")}
#: The elements whose URL is a document of its own (a ``data:`` URL there is a page).
_FRAMES = frozenset({"iframe", "frame", "object", "embed"})
#: The SVG presentation attributes whose value may hold a URL (a paint server, a filter, an image…).
PRESENTATION = frozenset(
    {"fill", "stroke", "filter", "clip-path", "mask", "marker-start", "marker-mid", "marker-end", "cursor"}
)
_BREAKOUT = frozenset(
    {"b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt", "em", "embed"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li", "listing", "menu", "meta", "nobr"}
    | {"ol", "p", "pre", "ruby", "s", "small", "span", "strong", "strike", "sub", "sup", "table", "tt", "u"}
    | {"ul", "var"}
)
_INTEGRATION_POINTS = {
    "svg": frozenset({"foreignobject", "desc", "title"}),
    "math": frozenset({"mi", "mo", "mn", "ms", "mtext", "annotation-xml"}),
}
#: The elements whose ``data-category`` marking the library documents (docs/blocking.md).
MARKABLE = frozenset({"script", "iframe", "img", "link", "embed", "object", "video", "audio", "source"})
_CHARREF = re.compile(r"&(#[xX][0-9a-fA-F]+;?|#[0-9]+;?|[A-Za-z][A-Za-z0-9]*;?)")
_LONGEST_ENTITY = max(len(name) for name in html.entities.html5)
#: Bytes that are not UTF-8, kept as lone surrogates (``surrogateescape``). A browser reads them as
#: U+FFFD, whose effect on a script (most often a syntax error) this reading does not model: an inline
#: script or handler holding one is not classified. In URLs and CSS they are read as U+FFFD.
_UNDECODED = re.compile("[\udc80-\udcff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: The page's own URL, read as served over https and over http (``https:host`` differs between them).
PAGE_HOST = "page.example"


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def _strip_ws(text: str) -> str:
    return text.strip(_WS)


def _as_read(text: str) -> str:
    """``text`` with what cannot be a code point (an undecodable byte, a lone surrogate) as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _charref(match: re.Match[str], text: str) -> str:
    ref = match.group(1)
    if ref.startswith("#"):
        return html.unescape(match.group(0))  # numeric: the spec's replacements are html.unescape's
    for length in range(min(len(ref), _LONGEST_ENTITY), 0, -1):
        name = ref[:length]
        if name in html.entities.html5:
            after = text[match.start(1) + length : match.start(1) + length + 1]
            # The attribute exception: a legacy name without ";" followed by "=" or an alphanumeric stays.
            if not name.endswith(";") and after and (after == "=" or (after.isascii() and after.isalnum())):
                return match.group(0)
            return html.entities.html5[name] + ref[length:]
    return match.group(0)


def decode_attribute(value: str) -> str:
    """An attribute value with its character references decoded as in an attribute."""
    if "&" not in value:
        return value.replace("\x00", "\ufffd")
    return _CHARREF.sub(lambda m: _charref(m, value), value).replace("\x00", "\ufffd")


def _decode_text(text: str) -> str:
    """Text of foreign content as the tree holds it: references decoded (no attribute exception)."""
    return (html.unescape(text) if "&" in text else text).replace("\x00", "\ufffd")


@dataclass
class Element:
    """A start tag a browser builds an element from.

    Attributes:
        name: The tag name (ASCII lowercase).
        attrs: Attribute names (ASCII lowercase) to decoded values; the first of duplicates wins.
        content: The text content, for the elements whose content is text (``script``…), and the
            child text of an SVG ``script`` or ``style``.
        raw: The attribute values as written.
        written: The tag name as written.
        stray_quote: Whether a quote appears in an attribute name or unquoted value.
        end: Whether this is an end tag.
        source: The tag as written.
        at: Where it starts in the text.
        foreign: Whether it is an element of foreign content.
        namespace: ``html``, ``svg`` or ``math``.
        unterminated: Whether the end of the input cuts its text content (an SVG script: whether
            its own end tag never closed it).
    """

    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    content: str = ""
    #: The attribute values as written (before character references are decoded).
    raw: dict[str, str] = field(default_factory=dict)
    #: The tag name as written, lowercased (``image`` for an ``<image>`` read as ``<img>``).
    written: str = ""
    #: Whether a quote appears where it does not delimit a value (in a name or an unquoted value).
    stray_quote: bool = False
    #: Whether this is an end tag (only :func:`tags` lists them).
    end: bool = False
    #: The tag as written, from ``<`` to ``>``.
    source: str = ""
    #: Where the tag starts in the text.
    at: int = 0
    #: Whether it is an element of foreign content (SVG or MathML), not HTML.
    foreign: bool = False
    #: Its namespace: ``html``, ``svg`` or ``math``.
    namespace: str = "html"
    #: Whether its text content runs to the end of the input (no end tag): such a script never runs.
    unterminated: bool = False


def _tag(text: str, at: int) -> tuple[Element, int] | None:
    """Read the tag whose name starts at ``at``: the element and the index after its ``>``.

    Returns None when the input ends inside the tag (browsers then drop it).
    """
    n = len(text)
    i = at
    while i < n and text[i] not in "\t\n\f\r />":
        i += 1
    name = _ascii_lower(text[at:i]).replace("\x00", "\ufffd")
    element = Element(name, written=name)
    while True:
        # before attribute name
        while i < n and (text[i] in _WS or text[i] == "/"):
            if text[i] == "/" and i + 1 < n and text[i + 1] == ">":
                return element, i + 2  # self-closing start tag
            i += 1
        if i >= n:
            return None
        if text[i] == ">":
            return element, i + 1
        # attribute name: the first character may be "=" (a parse error, kept in the name)
        start = i
        i += 1
        while i < n and text[i] not in "\t\n\f\r />=":
            i += 1
        attr = _ascii_lower(text[start:i])
        value = ""
        element.stray_quote |= "'" in attr or '"' in attr
        # after attribute name
        while i < n and text[i] in _WS:
            i += 1
        if i < n and text[i] == "=":
            i += 1
            while i < n and text[i] in _WS:
                i += 1
            if i >= n:
                return None
            quote = text[i]
            if quote in "\"'":
                end = text.find(quote, i + 1)
                if end < 0:
                    return None
                value = text[i + 1 : end]
                i = end + 1
            elif quote != ">":  # ">": a missing value, the tag ends (read at the loop's top)
                start = i
                while i < n and text[i] not in "\t\n\f\r >":
                    i += 1
                value = text[start:i]
                element.stray_quote |= "'" in value or '"' in value
        if attr not in element.attrs:
            element.attrs[attr] = decode_attribute(value)
            element.raw[attr] = value
        if i >= n:
            return None


def _bogus_comment_end(text: str, at: int) -> int:
    end = text.find(">", at)
    return len(text) if end < 0 else end + 1


def _comment_end(text: str, at: int) -> int:
    """The index after a comment whose ``<!--`` ends at ``at``."""
    if text.startswith(">", at):
        return at + 1  # <!-->
    if text.startswith("->", at):
        return at + 2  # <!--->
    ends = [e for e in (text.find("-->", at), text.find("--!>", at)) if e >= 0]
    if not ends:
        return len(text)
    end = min(ends)
    return end + (3 if text.startswith("-->", end) else 4)


def _text_end(text: str, name: str, at: int) -> int:
    """Where the text content of ``name`` started at ``at`` ends (the index of ``</name``)."""
    pattern = re.compile(r"</" + re.escape(name) + r"(?=[\t\n\f\r />])", re.IGNORECASE | re.ASCII)
    found = pattern.search(text, at)
    return len(text) if found is None else found.start()


def elements(text: str, scripting: bool = True) -> list[Element]:
    """The elements a browser builds from ``text``, in order.

    Args:
        text: The page, decoded.
        scripting: Whether scripting is on (then ``noscript`` holds text, not elements).
    """
    return [e for e in _scan(text, scripting)[0] if not e.end]


def tags(text: str, scripting: bool = True) -> list[Element]:
    """Every start and end tag of ``text`` (end tags have ``end`` set), in order."""
    return _scan(text, scripting)[0]


def ends_inside_tag(text: str) -> bool:
    """Whether ``text`` ends inside a start or end tag (one that browsers drop)."""
    return _scan(text, True)[1]


#: An open element of foreign content: its name, its kind (the namespace ``svg`` or ``math`` of a
#: foreign element, ``html`` for an integration point, ``noscript`` for a <noscript> read without
#: scripting around them), and, for an SVG script or style, the element that collects its child text.
_Open = tuple[str, str, Element | None]


def _scan(text: str, scripting: bool) -> tuple[list[Element], bool]:
    """The elements of ``text``, and whether it ends inside a tag."""
    found: list[Element] = []
    open_: list[_Open] = []
    n = len(text)
    i = 0
    text_at = 0  # where the text since the last markup began

    def collect(upto: int) -> None:
        # The text since the last markup is a child of the current node: an SVG script or style keeps it.
        if open_ and open_[-1][2] is not None and upto > text_at:
            open_[-1][2].content += _decode_text(text[text_at:upto])

    while i < n:
        lt = text.find("<", i)
        if lt < 0 or lt + 1 >= n:
            break
        nxt = text[lt + 1]
        foreign = bool(open_) and open_[-1][1] in ("svg", "math")
        if nxt == "!":
            collect(lt)
            if text.startswith("<!--", lt):
                i = _comment_end(text, lt + 4)
            elif foreign and text.startswith("[CDATA[", lt + 2):
                end = text.find("]]>", lt + 9)
                i = n if end < 0 else end + 3
                if open_[-1][2] is not None:
                    open_[-1][2].content += text[lt + 9 : n if end < 0 else end].replace("\x00", "\ufffd")
            else:
                i = _bogus_comment_end(text, lt + 2)
            text_at = i
            continue
        if nxt == "?":
            collect(lt)
            i = text_at = _bogus_comment_end(text, lt + 2)
            continue
        if nxt == "/":
            after = text[lt + 2 : lt + 3]
            if after.isascii() and after.isalpha():
                collect(lt)
                tag = _tag(text, lt + 2)
                if tag is None:
                    return found, True
                tag[0].end = True
                tag[0].source, tag[0].at = text[lt : tag[1]], lt
                found.append(tag[0])
                i = text_at = tag[1]
                name = tag[0].name
                if foreign and name in ("br", "p"):
                    _break_out(open_)
                else:
                    if foreign and name == "script" and open_[-1][0] == "script" and open_[-1][2] is not None:
                        open_[-1][2].unterminated = False  # its own end tag, as the current node: it runs
                    _close(open_, name)
            elif after == ">":
                collect(lt)
                i = text_at = lt + 3
            elif not after:
                break
            else:
                collect(lt)
                i = text_at = _bogus_comment_end(text, lt + 2)
            continue
        if not (nxt.isascii() and nxt.isalpha()):
            i = lt + 1  # a "<" that is text
            continue
        collect(lt)
        text_at = lt
        tag = _tag(text, lt + 1)
        if tag is None:
            return found, True
        element, i = tag
        text_at = i
        element.source, element.at = text[lt:i], lt
        name = element.name
        closed = element.source.endswith("/>")
        if foreign and (name in _BREAKOUT or (name == "font" and {"color", "face", "size"} & element.attrs.keys())):
            _break_out(open_)
            i = text_at = lt  # read again, as HTML (or in an integration point)
            continue
        if foreign:
            root = open_[-1][1]
            element.foreign = True
            element.namespace = root
            found.append(element)
            if name in ("svg", "math"):
                element.namespace = name
                if not closed:
                    open_.append((name, name, None))
            elif name in _INTEGRATION_POINTS[root] and not closed:
                encoding = _ascii_lower(_strip_ws(element.attrs.get("encoding", "")))
                if name != "annotation-xml" or encoding in ("text/html", "application/xhtml+xml"):
                    open_.append((name, "html", None))
                else:
                    open_.append((name, root, None))
            elif not closed:
                # Any other foreign element: open until its end tag. An SVG script or style collects
                # the text directly in it (what it runs or applies).
                keeps = root == "svg" and name in ("script", "style")
                # An SVG script runs only when its own end tag closes it (not at the end of the input,
                # nor when another end tag or a breakout closes it): until then, it is unterminated.
                element.unterminated = keeps and name == "script"
                open_.append((name, root, element if keeps else None))
            continue
        if name == "svg" or name == "math":
            element.foreign = True
            element.namespace = name
            found.append(element)
            if not closed:
                open_.append((name, name, None))
            continue
        if element.name == "image":
            element.name = "img"
        name = element.name
        found.append(element)
        if name == "noscript" and not scripting and open_:
            open_.append((name, "noscript", None))
        if name == "plaintext":
            text_at = n
            break
        if name == "script" or name in _RAWTEXT or name in _RCDATA or (scripting and name == "noscript"):
            end = _text_end(text, name, i)
            element.content = text[i:end]
            element.unterminated = end == n
            i = text_at = end
    collect(n)
    return found, False


def _break_out(open_: list[_Open]) -> None:
    """Close the foreign elements up to the innermost integration point or HTML element."""
    while open_ and open_[-1][1] in ("svg", "math"):
        open_.pop()


def _close(open_: list[_Open], name: str) -> None:
    """An end tag: it closes the innermost open element of its name, but never across a <noscript>.

    A <noscript> is a "special" HTML element: an end tag that reaches it is ignored, and ``</noscript>``
    itself is, when an integration point is the current node.
    """
    for k in range(len(open_) - 1, -1, -1):
        element, kind, _ = open_[k]
        if kind == "noscript":
            if name == "noscript":
                del open_[k:]
            return
        if name == "noscript" and kind == "html":
            return
        if element == name:
            del open_[k:]
            return


# -- URLs (the WHATWG URL standard) ------------------------------------------------------------------

_SPECIAL = frozenset({"http", "https", "ws", "wss", "ftp"})
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_C0_OR_SPACE = "".join(map(chr, range(0x21)))
_TAB_OR_NEWLINE = str.maketrans("", "", "\t\n\r")
_PORT = re.compile(r"[0-9]*\Z")
#: The forbidden domain code points: a host holding one fails.
_FORBIDDEN_DOMAIN = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")
_SINGLE_DOT = frozenset({".", "%2e"})
_DOUBLE_DOT = frozenset({"..", ".%2e", "%2e.", "%2e%2e"})
#: Code points UTS #46 ignores (maps to nothing): soft hyphen, combining grapheme joiner, Hangul and
#: Khmer fillers, Mongolian free variation selectors and vowel separator, zero width space, word joiner
#: and the invisible operators, the deprecated format characters, variation selectors, byte order
#: mark, shorthand format controls, musical beams, ties, slurs and phrases.
_IGNORED = frozenset(
    [
        *(0xAD, 0x34F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x200B, 0x3164, 0xFEFF, 0xFFA0),
        *(*range(0x180B, 0x1810), *range(0x2060, 0x2065), *range(0x206A, 0x2070), *range(0xFE00, 0xFE10)),
        *(*range(0x1BCA0, 0x1BCA4), *range(0x1D173, 0x1D17B), *range(0xE0100, 0xE01F0)),
    ]
)
#: The deviation characters, which non-transitional processing (what browsers use) keeps as they are.
_DEVIATIONS = frozenset("\u00df\u03c2\u200c\u200d")
#: The full stops UTS #46 maps to "." (NFKC has made U+FF0E a ".", and U+FF61 a U+3002).
_DOTS = {0x3002: ".", 0xFF0E: ".", 0xFF61: "."}
#: Where UTS #46 differs from case folding: the capital sharp s is the (kept) small one.
_UTS46_MAPPED = {0x1E9E: "\u00df"}
_DOTTED = frozenset(".\u3002")
#: Kinds of code points UTS #46 disallows: controls, unassigned, private use, surrogates, formats.
_DISALLOWED = frozenset({"Cc", "Cn", "Co", "Cs", "Cf", "Zl", "Zp"})


@dataclass(frozen=True)
class URL:
    """A URL as parsed (only what decides where a request goes).

    Attributes:
        scheme: The scheme, lower case.
        host: For a special URL: its host, mapped (ASCII, lower case).
        path: For a special URL: the path, dot segments removed, percent-encoded. For another
            scheme: what follows ``scheme:`` (a ``data:`` URL without its fragment).
        opaque: It cannot resolve relative URLs (a ``data:``, ``javascript:`` or other non-special URL).
    """

    scheme: str
    host: str | None = None
    path: str = ""
    opaque: bool = False


#: The page itself, as served over https and over http: what relative URLs resolve against.
PAGE_BASES = (URL("https", PAGE_HOST, "/"), URL("http", PAGE_HOST, "/"))
#: The base of a ``data:`` document: none (relative URLs fail).
_NO_BASE = URL("data", opaque=True)


def parse_url(value: str, base: URL | None) -> URL | None:
    """``value`` parsed against ``base`` as the WHATWG URL parser parses it; None if it fails.

    Args:
        value: The URL as the attribute holds it (character references decoded).
        base: The base URL (None: no base).
    """
    url = _as_read(value).strip(_C0_OR_SPACE).translate(_TAB_OR_NEWLINE)
    match = _SCHEME.match(url)
    if match is None:
        return _relative(url, base)
    scheme = _ascii_lower(match.group()[:-1])
    rest = url[match.end() :]
    if scheme in _SPECIAL:
        if base is not None and base.scheme == scheme and not base.opaque:
            # special relative or authority state: "//" starts the authority, anything else is relative
            if rest.startswith("//"):
                return _authority(scheme, rest.lstrip("/\\"))
            return _relative(rest, base)
        return _authority(scheme, rest.lstrip("/\\"))  # special authority (ignore) slashes state
    if scheme == "data":
        return URL("data", path=rest.split("#", 1)[0], opaque=True)  # the data: URL processor drops the fragment
    # javascript: keeps its fragment (it is part of the script); other schemes fetch nothing here.
    return URL(scheme, path=rest, opaque=True)


def _relative(url: str, base: URL | None) -> URL | None:
    """``url`` (no scheme, or a special one equal to the base's) against ``base``."""
    if base is None or base.opaque or base.scheme not in _SPECIAL or base.host is None:
        return None  # no base, or one that cannot resolve relative URLs: failure
    if url[:1] and url[0] in "/\\":
        if url[1:2] and url[1] in "/\\":
            return _authority(base.scheme, url.lstrip("/\\"))  # scheme-relative
        start: list[str] = []
        url = url[1:]
    else:
        start = base.path.split("/")[1:]
        cut = min((at for at in (url.find("?"), url.find("#")) if at >= 0), default=len(url))
        if cut == 0:
            return URL(base.scheme, base.host, base.path)  # only a query or a fragment: the base's path
        start = start[:-1]  # the base's path without its last segment
    cut = min((at for at in (url.find("?"), url.find("#")) if at >= 0), default=len(url))
    return URL(base.scheme, base.host, _path(url[:cut], start))


def _authority(scheme: str, rest: str) -> URL | None:
    """A special URL from what follows its slashes: ``user@host:port/path?query#fragment``."""
    end = min((at for at in (rest.find(c) for c in "/\\?#") if at >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        authority = authority[authority.rfind("@") + 1 :]
        if not authority:
            return None  # credentials and no host
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0:
            return None
        host, port = authority[: close + 1], authority[close + 1 :]
        if port and not port.startswith(":"):
            return None
        port = port[1:]
    else:
        host, _, port = authority.partition(":")
    if not _PORT.match(port) or (port and int(port) > 65535) or not host:
        return None
    mapped = _host(host)
    if mapped is None:
        return None
    cut = min((at for at in (tail.find("?"), tail.find("#")) if at >= 0), default=len(tail))
    return URL(scheme, mapped, _path(tail[1:cut] if tail[:1] in ("/", "\\") else "", []))


def _path(path: str, start: list[str]) -> str:
    """The path state: ``path``'s segments after ``start``, dot segments removed, percent-encoded."""
    segments = list(start)
    parts = path.replace("\\", "/").split("/")
    for k, part in enumerate(parts):
        last = k == len(parts) - 1
        low = _ascii_lower(part)
        if low in _DOUBLE_DOT:
            if segments:
                segments.pop()
            if last:
                segments.append("")
        elif low in _SINGLE_DOT:
            if last:
                segments.append("")
        else:
            segments.append(_percent_encode(part))
    return "/" + "/".join(segments)


def _percent_encode(segment: str) -> str:
    """A path segment with the path percent-encode set encoded (UTF-8)."""
    if all(0x20 < ord(c) < 0x7F and c not in '"<>`{}' for c in segment):
        return segment
    return "".join(
        c if 0x20 < ord(c) < 0x7F and c not in '"<>`{}' else "".join(f"%{b:02X}" for b in c.encode("utf-8"))
        for c in segment
    )


def _host(host: str) -> str | None:
    """The host parser for a special URL (not an IPv6 literal): the mapped host, or None if it fails."""
    if host.startswith("["):
        return host.lower() if host.endswith("]") else None  # an IPv6 literal: never a tracker's
    decoded = unquote_to_bytes(host.encode("utf-8")).decode("utf-8", "replace")
    ascii_host = domain_to_ascii(decoded)
    if ascii_host is None or not ascii_host or _FORBIDDEN_DOMAIN.search(ascii_host):
        return None
    return ascii_host


def domain_to_ascii(domain: str) -> str | None:
    """UTS #46 ToASCII as the URL standard runs it (non-transitional, no STD3 rules); None if it fails.

    The mapping is NFKC with case folding, written from the standard library: the code points UTS #46
    ignores are dropped, the deviation characters kept, the ideographic and full-width full stops
    read as dots; a code point it disallows (a control, an unassigned or private-use one, a format
    character) fails. Non-ASCII labels are written in Punycode; an ``xn--`` label must decode.
    """
    if domain.isascii():
        mapped = _ascii_lower(domain)
    else:
        mapped = "".join(c for c in domain if ord(c) not in _IGNORED).translate(_UTS46_MAPPED)
        # A compatibility character that stands for a full stop with more (U+2024, U+2488 "1.") is
        # disallowed, not mapped; only the full stops themselves become dots.
        if any(_dotted(c) for c in mapped if not c.isascii()):
            return None
        mapped = unicodedata.normalize("NFKC", mapped)
        mapped = "".join(c if c in _DEVIATIONS else c.casefold() for c in mapped)
        mapped = unicodedata.normalize("NFKC", mapped).translate(_DOTS)
        if any(
            not c.isascii() and c not in _DEVIATIONS and (c == "\ufffd" or unicodedata.category(c) in _DISALLOWED)
            for c in mapped
        ):
            return None
    labels = []
    for label in mapped.split("."):
        if not label.isascii():
            label = "xn--" + label.encode("punycode").decode("ascii")
        elif label[:4] == "xn--":
            try:
                label[4:].encode("ascii").decode("punycode")
            except (UnicodeError, ValueError, OverflowError):
                return None
        labels.append(label)
    return ".".join(labels)


def _dotted(char: str) -> bool:
    """Whether ``char`` stands for a full stop with more (NFKC holds one), without being one."""
    return ord(char) not in _DOTS and not _DOTTED.isdisjoint(unicodedata.normalize("NFKC", char))


def _looked_up(host: str) -> str | None:
    """The name a host is looked up by (its trailing dot dropped), or None if it is not a domain.

    An IPv4 address (a host ending in a number) or an IPv6 literal is never a tracker's; a name with
    an empty label cannot be looked up.
    """
    if host.startswith("["):
        return None
    name = host.removesuffix(".")
    labels = name.split(".")
    last = labels[-1]
    if last.isdigit() or (last[:2].lower() == "0x" and all(c in "0123456789abcdefABCDEF" for c in last[2:])):
        return None
    if not name or "" in labels:
        return None
    return name


def _resolve(value: str, bases: Iterable[URL | None]) -> list[URL]:
    """Every reading of ``value`` against each of ``bases`` (failures dropped), without repeats."""
    out: list[URL] = []
    for base in bases:
        url = parse_url(value, base)
        if url is not None and url not in out:
            out.append(url)
    return out


def url_host_path(value: str, base_scheme: str = "https") -> tuple[str, str] | None:
    """The host and path a URL attribute fetches on a page served over ``base_scheme``.

    Returns None when it stays on the page's host, fails, or is not an http or https URL.
    """
    url = parse_url(value, next(b for b in PAGE_BASES if b.scheme == base_scheme))
    if url is None or url.scheme not in ("http", "https") or url.host is None:
        return None
    name = _looked_up(url.host)
    if name is None or name == PAGE_HOST:
        return None
    return name, url.path


def srcset_urls(value: str) -> list[str]:
    """The candidate URLs of a ``srcset``, as the HTML standard's srcset parser splits it."""
    urls: list[str] = []
    i, n = 0, len(value)
    while True:
        while i < n and (value[i] in _WS or value[i] == ","):
            i += 1
        if i >= n:
            return urls
        start = i
        while i < n and value[i] not in _WS:
            i += 1
        url = value[start:i]
        if url.endswith(","):
            url = url.rstrip(",")
        else:  # its descriptors, up to a comma outside parentheses
            parens = False
            while i < n:
                c = value[i]
                i += 1
                if c == "(":
                    parens = True
                elif c == ")":
                    parens = False
                elif c == "," and not parens:
                    break
        if url:
            urls.append(url)


# -- data: URLs (the fetch standard) -----------------------------------------------------------------

_BASE64_BODY = re.compile(rb"[A-Za-z0-9+/]*\Z")
_BASE64_MARK = re.compile(r";[ ]*base64\Z", re.IGNORECASE)
#: The WHATWG encoding labels that name windows-1252.
_LATIN1 = frozenset({"ascii", "us-ascii", "iso-8859-1", "iso8859-1", "latin1", "l1", "cp1252", "windows-1252"})


#: The WHATWG Encoding Standard's labels of UTF-16, and the codec each stands for.
_UTF16 = {
    **dict.fromkeys(
        ("csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff", "utf-16", "utf-16le"), "utf-16le"
    ),
    **dict.fromkeys(("unicodefffe", "utf-16be"), "utf-16be"),
}
_ASCII_PROBE = b'<img src="https://a.b/c?d=e#f">'


@dataclass(frozen=True)
class DataURL:
    """A ``data:`` URL's content: its media type essence, the charsets it names (each reading's) and its body."""

    essence: str
    charsets: tuple[str, ...]
    body: bytes

    def texts(self, sniff: bool = False) -> list[str]:
        """The body decoded: with its BOM's or its charset, else UTF-8 (and windows-1252 with ``sniff``)."""
        body = self.body
        for bom, name in (
            (codecs.BOM_UTF8, "utf-8"),
            (codecs.BOM_UTF16_LE, "utf-16le"),
            (codecs.BOM_UTF16_BE, "utf-16be"),
        ):
            if body.startswith(bom):
                return [body[len(bom) :].decode(name, "replace")]
        default = ["utf-8", "cp1252"] if sniff and not body.isascii() else ["utf-8"]
        names = [name for charset in self.charsets for name in ([charset] if charset else default)] or default
        out = []
        for name in names:
            label = name.strip(_WS).lower()
            try:
                codec = "cp1252" if label in _LATIN1 else _UTF16.get(label) or codecs.lookup(label).name
                # Browsers know no encoding that is not ASCII-compatible but UTF-16 (not UTF-32, UTF-7
                # or EBCDIC): another label is one they do not know, which leaves ASCII as it is.
                if codec not in _UTF16.values() and _ASCII_PROBE.decode(codec, "replace") != _ASCII_PROBE.decode():
                    codec = "utf-8"
                out.append(body.decode(codec, "replace"))
            except (LookupError, UnicodeError, ValueError):  # a charset Python cannot decode with: UTF-8
                out.append(body.decode("utf-8", "replace"))
        return list(dict.fromkeys(out))


def data_url(rest: str) -> DataURL | None:
    """The data: URL processor on what follows ``data:`` (fragment dropped); None if it fails."""
    rest = rest.strip(_WS)
    media, comma, body_text = rest.partition(",")
    if not comma:
        return None
    body = unquote_to_bytes(body_text.encode("utf-8"))
    media = media.strip(_WS)
    if _BASE64_MARK.search(media):
        decoded = _forgiving_base64(body)
        if decoded is None:
            return None
        body = decoded
        media = media[: media.rfind(";")]
    if media.startswith(";"):
        media = "text/plain" + media
    essence = _ascii_lower(media.split(";", 1)[0].strip(_WS))
    if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9a-z-]+/[!#$%&'*+.^_`|~0-9a-z-]+", essence):
        return DataURL("text/plain", (), body)  # an invalid type: text/plain;charset=US-ASCII
    return DataURL(essence, tuple(dict.fromkeys((_mime_charset(media), _chromium_charset(media)))), body)


_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_HTTP_WS = "\t\n\r "


def _mime_charset(media: str) -> str:
    """The ``charset`` parameter of a media type, as the MIME Sniffing standard parses parameters ("": none)."""
    params: dict[str, str] = {}
    i = media.find(";")
    if i < 0:
        return ""
    n = len(media)
    while i < n:
        i += 1  # past the ";"
        while i < n and media[i] in _HTTP_WS:
            i += 1
        start = i
        while i < n and media[i] not in ";=":
            i += 1
        name = _ascii_lower(media[start:i])
        if i < n and media[i] == ";":
            continue
        if i >= n:
            break
        i += 1  # past the "="
        if i < n and media[i] == '"':
            i += 1
            value = ""
            while i < n:
                c = media[i]
                i += 1
                if c == "\\":
                    if i >= n:
                        value += "\\"
                        break
                    value += media[i]
                    i += 1
                elif c == '"':
                    break
                else:
                    value += c
            while i < n and media[i] != ";":
                i += 1
        else:
            start = i
            while i < n and media[i] != ";":
                i += 1
            value = media[start:i].rstrip(_HTTP_WS)
            if not value:
                continue
        valid_value = all(c == "\t" or " " <= c <= "~" or "\x80" <= c <= "\xff" for c in value)
        if name and all(c in _TOKEN for c in name) and valid_value and name not in params:
            params[name] = value
    return params.get("charset", "")


def _chromium_charset(media: str) -> str:
    """The ``charset`` parameter as Chromium reads a ``data:`` URL's: split on every ``;``, the first one.

    Chromium fails a URL whose charset is no token (it then fetches nothing); that reading is "none".
    """
    for piece in media.split(";")[1:]:
        piece = piece.strip(_WS)
        if _ascii_lower(piece[:8]) == "charset=":
            value = piece[8:]
            return value if value and all(c in _TOKEN for c in value) else ""
    return ""


def _forgiving_base64(data: bytes) -> bytes | None:
    data = data.translate(None, b"\t\n\f\r ")
    if len(data) % 4 == 0:
        data = data[:-2] if data.endswith(b"==") else data[:-1] if data.endswith(b"=") else data
    if len(data) % 4 == 1 or not _BASE64_BODY.match(data):
        return None
    try:
        return base64.b64decode(data + b"=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return None


def _is_document_type(essence: str) -> bool:
    """Whether a frame renders a resource of this type as a document (HTML, XML, SVG)."""
    return essence in ("text/html", "text/xml", "application/xml") or essence.endswith("+xml")


# -- CSS (CSS Syntax Level 3 tokenization) ------------------------------------------------------------

_CSS_WS = " \t\n"
_HEX = frozenset("0123456789abcdefABCDEF")
_URL_FUNCTIONS = frozenset({"url", "src", "image-set", "-webkit-image-set"})
_OPENER = {")": "(", "]": "[", "}": "{"}
_NON_PRINTABLE = frozenset([*map(chr, range(9)), "\x0b", *map(chr, range(0x0E, 0x20)), "\x7f"])


def _name_char(c: str) -> bool:
    return c != "" and (not c.isascii() or c.isalnum() or c in "_-")


def _name_start(c: str) -> bool:
    return c != "" and (not c.isascii() or c.isalpha() or c == "_")


def _valid_escape(s: str, i: int) -> bool:
    return s[i : i + 1] == "\\" and s[i + 1 : i + 2] != "\n"


def _starts_ident(s: str, i: int) -> bool:
    c = s[i : i + 1]
    if c == "-":
        nxt = s[i + 1 : i + 2]
        return _name_start(nxt) or nxt == "-" or _valid_escape(s, i + 1)
    return _name_start(c) or _valid_escape(s, i)


def _escape(s: str, i: int) -> tuple[str, int]:
    """Consume an escape whose backslash was at ``i - 1``: the code point and where it ends."""
    if i >= len(s):
        return "\ufffd", i
    if s[i] in _HEX:
        j = i
        while j < len(s) and j - i < 6 and s[j] in _HEX:
            j += 1
        code = int(s[i:j], 16)
        if j < len(s) and s[j] in _CSS_WS:
            j += 1
        return ("\ufffd" if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF else chr(code)), j
    return s[i], i + 1


def _name(s: str, i: int) -> tuple[str, int]:
    out = []
    while i < len(s):
        if _name_char(s[i]):
            out.append(s[i])
            i += 1
        elif _valid_escape(s, i):
            char, i = _escape(s, i + 1)
            out.append(char)
        else:
            break
    return "".join(out), i


def _string(s: str, i: int, quote: str) -> tuple[str | None, int]:
    """A string token after its quote: its value (None for a bad string) and where it ends."""
    out: list[str] = []
    while i < len(s):
        c = s[i]
        if c == quote:
            return "".join(out), i + 1
        if c == "\n":
            return None, i  # a bad string: the newline is not consumed
        if c == "\\":
            if i + 1 >= len(s):
                i += 1
            elif s[i + 1] == "\n":
                i += 2
            else:
                char, i = _escape(s, i + 1)
                out.append(char)
            continue
        out.append(c)
        i += 1
    return "".join(out), i


def _url_token(s: str, i: int) -> tuple[str | None, int]:
    """A url token after ``url(``: its value (None for a bad url, whose remnants are consumed) and its end."""
    n = len(s)
    while i < n and s[i] in _CSS_WS:
        i += 1
    out: list[str] = []
    while True:
        if i >= n:
            return "".join(out), i
        c = s[i]
        if c == ")":
            return "".join(out), i + 1
        if c in _CSS_WS:
            while i < n and s[i] in _CSS_WS:
                i += 1
            if i >= n:
                return "".join(out), i
            if s[i] == ")":
                return "".join(out), i + 1
            break
        if c in "\"'(" or c in _NON_PRINTABLE:
            break
        if c == "\\":
            if not _valid_escape(s, i):
                break
            char, i = _escape(s, i + 1)
            out.append(char)
            continue
        out.append(c)
        i += 1
    while i < n:  # the remnants of a bad url
        if s[i] == ")":
            return None, i + 1
        if _valid_escape(s, i):
            i = _escape(s, i + 1)[1]
        else:
            i += 1
    return None, i


def _number_starts(s: str, i: int) -> bool:
    c, d, e = s[i : i + 1], s[i + 1 : i + 2], s[i + 2 : i + 3]
    if c in ("+", "-"):
        return (d.isdigit() and d.isascii()) or (d == "." and e.isdigit() and e.isascii())
    if c == ".":
        return d.isdigit() and d.isascii()
    return c != "" and c.isascii() and c.isdigit()


_NUMBER = re.compile(r"[+-]?[0-9]*(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def _number(s: str, i: int) -> int:
    """Where a number starting at ``i`` ends (its unit or percent sign included)."""
    i = _NUMBER.match(s, i).end()  # type: ignore[union-attr]  # it matches the empty string
    if _starts_ident(s, i):
        return _name(s, i)[1]
    return i + 1 if s[i : i + 1] == "%" else i


@dataclass
class _Block:
    """A function or block open in CSS.

    Attributes:
        name: The function's name, or ``(``, ``[`` or ``{`` for a block.
        imported: Whether it holds an ``@import``'s URL.
        valid: For a URL function: whether its value may still be valid.
    """

    name: str
    imported: bool = False
    valid: bool = True


def css_urls(sheet: str) -> list[tuple[str, bool]]:
    """The URLs a style sheet, a declaration list or a value holds, as the CSS tokenizer finds them.

    Returns (URL, whether it is an ``@import``'s) pairs, in order. The URLs are every url token, the
    strings directly in ``url()``, ``src()``, ``image-set()`` or ``-webkit-image-set()`` (unless a
    ``;``, ``{`` or ``}`` there already made the function invalid) and the string right after
    ``@import``.
    """
    s = _as_read(sheet).replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\x00", "\ufffd")
    n = len(s)
    out: list[tuple[str, bool]] = []
    stack: list[_Block] = []  # the open functions and blocks
    importing = False  # right after @import: the next token may be its URL
    i = 0
    while i < n:
        c = s[i]
        if s.startswith("/*", i):
            end = s.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if c in _CSS_WS:
            i += 1
            continue
        was_importing, importing = importing, False
        if c in "\"'":
            value, i = _string(s, i + 1, c)
            if value is None:
                continue
            if stack:
                top = stack[-1]
                if top.name in _URL_FUNCTIONS and top.valid:
                    out.append((value, top.imported))
            elif was_importing:
                out.append((value, True))
            continue
        if c == "#" and (_name_char(s[i + 1 : i + 2]) or _valid_escape(s, i + 1)):
            i = _name(s, i + 1)[1]
            continue
        if _number_starts(s, i):
            i = _number(s, i)
            continue
        if c == "@" and _starts_ident(s, i + 1):
            name, i = _name(s, i + 1)
            importing = _ascii_lower(name) == "import"
            continue
        if s.startswith("<!--", i):
            i += 4
            continue
        if s.startswith("-->", i):
            i += 3
            continue
        if _starts_ident(s, i):
            name, i = _name(s, i)
            if s[i : i + 1] != "(":
                continue
            i += 1
            lname = _ascii_lower(name)
            if lname == "url":
                j = i
                while s[j : j + 1] in ("\n", "\t", " ") and s[j + 1 : j + 2] in ("\n", "\t", " "):
                    j += 1
                first, second = s[j : j + 1], s[j + 1 : j + 2]
                if first in ('"', "'") or (first in ("\n", "\t", " ") and second in ('"', "'")):
                    stack.append(_Block("url", was_importing))
                    i = j
                    continue
                value, i = _url_token(s, j)
                if value is not None:
                    out.append((value, was_importing))
                continue
            stack.append(_Block(lname, was_importing))
            continue
        i += 1
        inner = stack[-1] if stack else None
        if inner is not None and inner.name in _URL_FUNCTIONS and c in "{};":
            inner.valid = False  # a brace or a ";" in a URL function: its value can never be valid
        if c in "([{":
            stack.append(_Block(c))
        elif (
            c in ")]}"
            and inner is not None
            and (inner.name == _OPENER[c] or (c == ")" and inner.name not in _OPENER.values()))
        ):
            # A closing bracket closes the innermost block or function it matches; else it is a token
            # of its own, inside it.
            stack.pop()
    return out


def _style_applies(element: Element) -> bool:
    """Whether a ``<style>`` element's sheet is used: no ``type``, an empty one, or ``text/css``."""
    kind = element.attrs.get("type")
    return kind is None or kind == "" or _ascii_lower(kind) == "text/css"


# -- <meta http-equiv=refresh> ------------------------------------------------------------------------


def refresh_url(content: str) -> str | None:
    """The URL a refresh ``content`` navigates to (the shared declarative refresh steps), or None.

    None when it does not refresh, or refreshes the page itself.
    """
    n = len(content)
    i = 0
    while i < n and content[i] in _WS:
        i += 1
    start = i
    while i < n and content[i].isascii() and content[i].isdigit():
        i += 1
    if i == start and content[i : i + 1] != ".":
        return None
    while i < n and (content[i] == "." or (content[i].isascii() and content[i].isdigit())):
        i += 1
    if i < n:
        if content[i] not in ";," + _WS:
            return None
        while i < n and content[i] in _WS:
            i += 1
        if content[i : i + 1] in (";", ","):
            i += 1
        while i < n and content[i] in _WS:
            i += 1
    if i >= n:
        return None
    url = content[i:]
    if content[i] in "Uu":
        i += 1
        if content[i : i + 1] in ("R", "r") and content[i + 1 : i + 2] in ("L", "l"):
            j = i + 2
            while j < n and content[j] in _WS:
                j += 1
            if content[j : j + 1] == "=":
                j += 1
                while j < n and content[j] in _WS:
                    j += 1
                return _skip_quotes(content[j:])
        return url
    return _skip_quotes(url)


def _skip_quotes(url: str) -> str:
    if url[:1] in ("'", '"'):
        quote, url = url[0], url[1:]
        url = url.split(quote, 1)[0]
    return url


# -- violations ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    """Something that stays active although its category is refused.

    Attributes:
        element: The element as read (its name, attributes as written and decoded).
        category: The refused category it needs.
        reason: What is active: ``url`` (a fetching attribute), ``marked`` (a marked element that
            still fetches or runs), ``inline`` (an inline script's content), ``css`` (a URL in CSS:
            a ``style`` or presentation attribute, a ``<style>`` element, a ``data:`` style sheet),
            ``ping``, ``handler`` (an event handler attribute), ``refresh``, ``script`` (a script
            from a ``data:`` or ``javascript:`` URL), ``importmap``, ``speculation``.
        attr: The attribute, where one holds it.
        url: The URL (decoded), or the handler's script.
        depth: How many documents deep it is (``srcdoc``, ``data:``, ``javascript:``).
        via: The documents it is in, innermost first.
    """

    element: Element
    category: str
    reason: str
    attr: str | None = None
    url: str | None = None
    depth: int = 0
    via: str = ""

    def __str__(self) -> str:
        where = f" in {self.via}" if self.via else ""
        tag = self.element.written
        url = (self.url or "")[:120]
        if self.reason == "url":
            return f"<{tag} {self.attr}={url!r}> fetches a {self.category} URL{where}"
        if self.reason == "inline":
            return f"an inline {self.category} script runs{where}: {self.element.content[:80]!r}"
        if self.reason == "css":
            holder = f"<{tag} {self.attr}>" if self.attr else f"<{tag}>"
            return f"{holder} CSS fetches a {self.category} URL {url!r}{where}"
        if self.reason == "ping":
            return f"<{tag} ping> pings a {self.category} URL {url!r}{where}"
        if self.reason == "handler":
            return f"<{tag} {self.attr}> runs a {self.category} handler{where}: {url[:80]!r}"
        if self.reason == "refresh":
            return f"<{tag} http-equiv=refresh> navigates to a {self.category} URL {url!r}{where}"
        if self.reason == "script":
            return f"<{tag} {self.attr}={url[:80]!r}> runs a {self.category} script{where}"
        if self.reason == "importmap":
            return f"<{tag} type=importmap> maps a module to a {self.category} URL {url!r}{where}"
        if self.reason == "speculation" and self.attr:  # a link a document rule prefetches
            return f"<{tag} href={url!r}> is prefetched by speculation rules: a {self.category} URL{where}"
        if self.reason == "speculation":
            return f"<{tag} type=speculationrules> prefetches a {self.category} URL {url!r}{where}"
        return f"<{tag}> marked {self.category!r} is active{where}: {self.element.raw}"


@dataclass
class _Judge:
    """What decides a violation: the categories in force and the catalog's classifications."""

    allowed: Callable[[str], bool]
    category_of_url: Callable[[str], str | None]
    category_of_script: Callable[[str], str | None]

    def url(self, url: URL) -> str | None:
        """The refused category a request to ``url`` needs, if it leaves for a refused tracker."""
        if url.scheme not in ("http", "https") or url.host is None:
            return None
        name = _looked_up(url.host)
        if name is None:
            return None
        category = self.category_of_url(f"https://{name}{url.path}")
        return category if category is not None and not self.allowed(category) else None

    def script(self, source: str) -> str | None:
        """The refused category a script's source needs, if it does (undecodable sources are not read)."""
        if _UNDECODED.search(source):
            return None
        category = self.category_of_script(source)
        return category if category is not None and not self.allowed(category) else None


#: How many documents deep (srcdoc, data:, javascript:) the reading goes.
_MAX_DEPTH = 3
#: How many data: style sheets deep an @import is followed.
_MAX_IMPORTS = 3


class _Reading:
    """One reading of one document (scripting on or off): its base, what stays active in it."""

    def __init__(self, judge: _Judge, bases: tuple[URL | None, ...], depth: int, scripting: bool) -> None:
        self.judge = judge
        self.bases = bases
        self.base_set = False
        self.depth = depth
        self.scripting = scripting
        self.out: list[Violation] = []
        self.document_rules = False  # speculation rules that prefetch the document's links
        self.links: list[tuple[Element, tuple[URL | None, ...]]] = []

    def read(self, text: str) -> list[Violation]:
        for element in elements(text, self.scripting):
            self.element(element)
        if self.document_rules:
            for link, bases in self.links:
                for url in _resolve(link.attrs["href"], bases):
                    category = self.judge.url(url)
                    if category is not None:
                        self.add(link, category, "speculation", "href", link.attrs["href"])
        return self.out

    def add(
        self, element: Element, category: str, reason: str, attr: str | None = None, url: str | None = None
    ) -> None:
        self.out.append(Violation(element, category, reason, attr, url, self.depth))

    def nested(self, element: Element, text: str, bases: tuple[URL | None, ...], via: str) -> None:
        """Read a document held by ``element`` (a srcdoc, a ``data:`` or ``javascript:`` URL's)."""
        if self.depth >= _MAX_DEPTH:
            return
        inner = _Reading(self.judge, bases, self.depth + 1, self.scripting)
        for violation in inner.read(text):
            outer = f"{violation.via} in {via}" if violation.via else via
            self.out.append(
                Violation(
                    violation.element,
                    violation.category,
                    violation.reason,
                    violation.attr,
                    violation.url,
                    violation.depth,
                    outer,
                )
            )

    # -- one element ------------------------------------------------------------------------------

    def element(self, element: Element) -> None:
        name, ns, attrs = element.name, element.namespace, element.attrs
        if ns == "html" and name == "base" and "href" in attrs and not self.base_set:
            self.base_set = True
            self.bases = tuple(_base(attrs["href"], base) for base in self.bases)
        kind = _script_kind(element) if name == "script" and ns in ("html", "svg") else None
        if name == "script" and ns in ("html", "svg") and not (self.scripting and kind is not None):
            return  # a data block, an author-inert script, or no scripting: nothing runs
        if name == "script" and element.unterminated:
            # HTML: cut by the end of the input, the parser marks it as already started; SVG: its own
            # end tag never closed it. Either way it never runs.
            return
        marked = attrs.get("data-category") if ns == "html" and name in MARKABLE else None
        fetches = self.fetches(element)
        if marked is not None and not self.judge.allowed(marked.strip()):
            runs = name == "script" and not _external(element) and bool(element.content.strip())
            if fetches or runs or (name == "iframe" and "srcdoc" in attrs):
                self.add(element, marked.strip(), "marked")
            self.attributes(element)  # its style, handlers and pings count whatever its marking
            return
        for attr, value in fetches:
            self.fetch(element, attr, value, kind)
        if name == "script" and not _external(element) and marked is None:  # a marking vouches for its content
            if kind in ("classic", "module"):
                category = self.judge.script(element.content)
                if category is not None:
                    self.add(element, category, "inline")
            elif kind == "importmap":
                self.import_map(element)
            elif kind == "speculationrules":
                self.speculation_rules(element)
        if ns == "html" and name == "iframe" and "srcdoc" in attrs:
            self.nested(element, attrs["srcdoc"], self.bases, "an iframe's srcdoc")
        self.attributes(element)
        if name == "style" and ns in ("html", "svg") and _style_applies(element):
            self.css(element, None, element.content, self.bases)
        if ns == "html" and name == "meta" and _ascii_lower(attrs.get("http-equiv", "")) == "refresh":
            target = refresh_url(attrs.get("content", ""))
            if target is not None:
                for url in _resolve(target, self.bases):
                    category = self.judge.url(url)
                    if category is not None:
                        self.add(element, category, "refresh", "content", target)
        if name in ("a", "area") and ns in ("html", "svg") and "href" in attrs:
            self.links.append((element, self.bases))

    def fetches(self, element: Element) -> list[tuple[str, str]]:
        """The (attribute, URL) pairs through which ``element`` fetches by itself."""
        name, attrs = element.name, element.attrs
        if element.namespace == "svg":
            table = FOREIGN_FETCHING
        elif element.namespace == "html":
            table = FETCHING
        else:
            return []
        if name == "input" and _ascii_lower(_strip_ws(attrs.get("type", ""))) != "image":
            return []
        out = []
        for attr in table.get(name, ()):
            value = attrs.get(attr)
            if value is None or attr == "srcdoc":
                continue
            for url in srcset_urls(value) if attr in _SRCSET else [value]:
                if _strip_ws(url):
                    out.append((attr, url))
        if element.namespace == "svg" and name in _ANIMATION:
            target = _strip_ws(attrs.get("attributename", ""))
            if target in ("href", "xlink:href"):
                for attr in _ANIMATION[name]:
                    for url in attrs.get(attr, "").split(";") if attr == "values" else [attrs.get(attr, "")]:
                        if _strip_ws(url):
                            out.append((attr, url))
        return out

    def fetch(self, element: Element, attr: str, value: str, kind: str | None) -> None:
        """A URL the element fetches by itself: a tracker's, or a document, script or sheet it holds."""
        name, ns = element.name, element.namespace
        for url in _resolve(value, self.bases):
            if url.scheme in ("http", "https"):
                category = self.judge.url(url)
                if category is not None:
                    self.add(element, category, "url", attr, value)
            elif url.scheme == "data":
                data = data_url(url.path)
                if data is None:
                    continue
                if (ns == "html" and name in _FRAMES) or (ns == "svg" and name == "use"):
                    if _is_document_type(data.essence):
                        for text in data.texts(sniff=True):
                            self.nested(element, text, (_NO_BASE,), f"<{element.written} {attr}=data:…>")
                elif name == "script" and kind in ("classic", "module"):
                    if not data.essence.startswith(("image/", "audio/", "video/")) and data.essence != "text/csv":
                        for text in data.texts():
                            category = self.judge.script(text)
                            if category is not None:
                                self.add(element, category, "script", attr, value)
                elif ns == "html" and name == "link" and attr == "href" and _stylesheet(element):
                    for text in data.texts():
                        self.css(element, attr, text, (_NO_BASE,))
            elif url.scheme == "javascript" and ns == "html" and name in ("iframe", "frame") and self.scripting:
                script = unquote_to_bytes(url.path.encode("utf-8")).decode("utf-8", "replace")
                category = self.judge.script(script)
                if category is not None:
                    self.add(element, category, "script", attr, value)
                # The string the script returns becomes the frame's document (with the page's base).
                self.nested(element, script, self.bases, f"<{element.written} {attr}=javascript:…>")

    def attributes(self, element: Element) -> None:
        """What an element's other attributes reach: its style, presentation attributes, handlers, pings."""
        attrs, ns = element.attrs, element.namespace
        if "style" in attrs:
            self.css(element, "style", attrs["style"], self.bases)
        if ns == "svg":
            for attr in PRESENTATION & attrs.keys():
                self.css(element, attr, attrs[attr], self.bases)
            if element.name in _ANIMATION and _strip_ws(attrs.get("attributename", "")) in PRESENTATION:
                for attr in _ANIMATION[element.name]:
                    if attr in attrs:
                        self.css(element, attr, attrs[attr], self.bases)
        if self.scripting:
            for attr, value in attrs.items():
                if _HANDLER.fullmatch(attr):
                    category = self.judge.script(value)
                    if category is not None:
                        self.add(element, category, "handler", attr, value)
        if element.name in ("a", "area") and ns in ("html", "svg") and "ping" in attrs:
            for value in _ASCII_WS.split(attrs["ping"]):
                if not value:
                    continue
                for url in _resolve(value, self.bases):
                    category = self.judge.url(url)
                    if category is not None:
                        self.add(element, category, "ping", "ping", value)

    def css(
        self, element: Element, attr: str | None, sheet: str, bases: tuple[URL | None, ...], imports: int = 0
    ) -> None:
        """The URLs of CSS held by ``element`` (in ``attr``, or its text), resolved against ``bases``."""
        for value, imported in css_urls(sheet):
            if not _strip_ws(value):
                continue  # url("") resolves to nothing
            for url in _resolve(value, bases):
                if url.scheme in ("http", "https"):
                    category = self.judge.url(url)
                    if category is not None:
                        self.add(element, category, "css", attr, value)
                elif url.scheme == "data" and imported and imports < _MAX_IMPORTS:
                    data = data_url(url.path)
                    for text in data.texts() if data is not None else []:
                        self.css(element, attr, text, (_NO_BASE,), imports + 1)

    def import_map(self, element: Element) -> None:
        """An import map: each address it maps a specifier to, resolved against the base."""
        parsed = _json(element.content)
        if not isinstance(parsed, dict):
            return
        maps = [parsed.get("imports")]
        scopes = parsed.get("scopes")
        if isinstance(scopes, dict):
            maps.extend(scopes.values())
        for mapping in maps:
            if not isinstance(mapping, dict):
                continue
            for address in mapping.values():
                if not isinstance(address, str):
                    continue
                # A URL-like specifier: relative ("/", "./", "../") against the base, else absolute.
                relative = address.startswith(("/", "./", "../"))
                for url in _resolve(address, self.bases if relative else (None,)):
                    category = self.judge.url(url)
                    if category is not None:
                        self.add(element, category, "importmap", None, address)

    def speculation_rules(self, element: Element) -> None:
        """Speculation rules: the URLs of their list rules; document rules that prefetch every link."""
        parsed = _json(element.content)
        if not isinstance(parsed, dict):
            return
        for action in ("prefetch", "prerender"):
            rules = parsed.get(action)
            if not isinstance(rules, list):
                continue
            for rule in rules:
                if not isinstance(rule, dict):
                    continue
                urls = rule.get("urls")
                for address in urls if isinstance(urls, list) else []:
                    if isinstance(address, str):
                        for url in _resolve(address, self.bases):
                            category = self.judge.url(url)
                            if category is not None:
                                self.add(element, category, "speculation", None, address)
                if "where" in rule and rule.get("eagerness") in ("immediate", "eager"):
                    self.document_rules = True


def _base(href: str, fallback: URL | None) -> URL | None:
    """The base a ``<base href>`` sets: ``href`` against the fallback base, unless it fails or is data:/javascript:."""
    url = parse_url(href, fallback)
    if url is None or url.scheme in ("data", "javascript"):
        return fallback
    return url


def _json(text: str) -> object:
    try:
        return json.loads(_as_read(text))
    except (ValueError, RecursionError):
        return None  # invalid JSON (or nested past Python's limit): the browser ignores the script


def _script_kind(element: Element) -> str | None:
    """What a script element is, as the HTML standard reads its type.

    Returns ``classic``, ``module``, ``importmap``, ``speculationrules``, or None for a data block.
    """
    kind = element.attrs.get("type")
    if kind is None:
        language = element.attrs.get("language")
        if not language:
            return "classic"
        kind = "text/" + language
    kind = _ascii_lower(_strip_ws(kind))
    if kind == "" or kind in _JS_TYPES:
        return "classic"
    if kind in ("module", "importmap", "speculationrules"):
        return kind
    return None


def _stylesheet(element: Element) -> bool:
    """Whether a ``<link>`` is a style sheet (its ``rel`` has the ``stylesheet`` keyword)."""
    return "stylesheet" in _ascii_lower(element.attrs.get("rel", "")).split()


def _external(script: Element) -> bool:
    """Whether a script element runs a fetched script (then its content is not run)."""
    return any(attr in script.attrs for attr in (FOREIGN_FETCHING if script.foreign else FETCHING)["script"])


def active_violations(
    text: str,
    allowed: Callable[[str], bool],
    category_of_url: Callable[[str], str | None],
    category_of_script: Callable[[str], str | None],
    depth: int = 0,
) -> list[Violation]:
    """What stays active in ``text`` although its category is refused, as a browser would read it.

    Both readings count: with scripting on (``noscript`` is text, scripts and handlers run) and off
    (``noscript`` content is markup, no script runs); the documents in it are read as it is.

    Args:
        text: The rewritten page, decoded.
        allowed: Whether a category is in force.
        category_of_url: The category an ``https://host/path`` URL needs (None: first party, unknown).
        category_of_script: The category a script's source (its text) needs.
        depth: How many documents deep ``text`` already is (the documents in it are read up to
            three deep in all).
    """
    judge = _Judge(allowed, category_of_url, category_of_script)
    found: dict[str, Violation] = {}
    for scripting in (True, False):
        for violation in _Reading(judge, PAGE_BASES, depth, scripting).read(text):
            found.setdefault(str(violation), violation)
    return list(found.values())
