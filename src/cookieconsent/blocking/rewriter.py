"""The streaming HTML rewriter: makes refused trackers inert and injects the banner, chunk by chunk.

It never holds the whole page: it scans each chunk for the few tags it cares about (``script``,
``iframe``, ``img``, ``link``, ``embed``, ``object``, ``video``, ``audio``, ``source``, ``head``,
``body``) and passes everything else through as it is. A tag split across two chunks is held back
until it is complete. Inline scripts without a ``src`` are held until their end tag (at most
:data:`INLINE_LIMIT` characters) so the tracker snippets they contain can be recognised.

Only whole documents get the injections (a document is what starts with ``<!doctype>`` or ``<html>``, or
has a ``<head>`` or ``<body>`` tag); fragments, such as the partial pages of htmx or Turbo, only get
their trackers neutralised.

The page is processed as Latin-1 text, byte for byte, which is lossless for any ASCII-compatible
charset (UTF-8, Big5, Shift_JIS, Windows-125x…): every character the rewriter looks at is ASCII, and
none of those bytes appears inside a multi-byte character of these charsets. Injected markup is
encoded in the page's charset (characters it lacks become character references).
"""

from __future__ import annotations

import bisect
import codecs
import itertools
import json
import logging
import re
import secrets
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import unescape
from html.entities import html5
from typing import Any

from markupsafe import escape

from cookieconsent.blocking import css
from cookieconsent.blocking.trackers import _STRICTNESS, UNPARSEABLE, Catalog, stricter
from cookieconsent.blocking.urls import FIRST_PARTY, OPAQUE, Base, Target, base_from, resolve
from cookieconsent.policy.model import NECESSARY

__all__ = ["INLINE_LIMIT", "Encoded", "HTMLRewriter", "RewritePlan", "encode_markup", "html_charset", "nonce_from_csp"]

logger = logging.getLogger("cookieconsent")

#: The longest inline script held back to look for tracker snippets (characters). One longer than
#: that cannot be read whole: it is treated as a tracker's (see HTMLRewriter._hold).
INLINE_LIMIT = 1024 * 1024
#: How deep srcdoc documents inside srcdoc documents are read; deeper, the outer iframe is inert.
_SRCDOC_DEPTH = 4
#: The longest tag held back across chunks; anything longer is passed through as text.
TAG_LIMIT = 64 * 1024

# The tag grammar follows the HTML tokenizer. Whitespace is [ \t\n\f\r] only (\s would also take \x0b,
# \x1c-\x1f, \x85 and \xa0 in Latin-1 text). An attribute name runs to whitespace, "/", ">" (or "=" but
# as its first character) and may hold quotes; a quote only opens a quoted value right after the "=" (and
# optional whitespace) that follows a name; an unquoted value runs to whitespace or ">".
_WS = "\t\n\f\r "
_ATTRS = (
    rf"(?:[{_WS}/]++"
    rf"|[^{_WS}/>][^{_WS}/>=]*+"
    rf"(?:[{_WS}]*+=[{_WS}]*+(?:\"[^\"]*+\"|'[^']*+'|(?![\"'])[^{_WS}>]*+)|(?![{_WS}]*+=)))*+"
)
#: The elements the rewriter reads: those that fetch, those whose content is text, the three it
#: injects into, and meta (a charset declaration comes before the injected head markup).
_WORDS = (
    *("script", "style", "source", "textarea", "title", "track", "iframe", "img", "image", "input"),
    *("noscript", "noembed", "noframes", "xmp", "embed", "object", "video", "audio", "link", "head", "body", "html"),
    *("meta", "base", "frame"),
    *("svg", "math"),
)
#: The parts of a table: they only fetch through a "background" attribute, so they are read only in
#: text that holds the word (most pages have none, and tables are many tags).
_TABLE_WORDS = ("table", "tbody", "tfoot", "thead", "td", "th", "tr")


def _alternation(words: Sequence[str]) -> str:
    """A regex matching any of ``words``, grouped by first letter (``s(?:cript|tyle)``): fewer branches to try."""
    by_first: dict[str, list[str]] = {}
    for word in words:
        by_first.setdefault(word[0], []).append(re.escape(word[1:]))
    return "|".join(
        f"{first}(?:{'|'.join(rests)})" if len(rests) > 1 else first + rests[0] for first, rests in by_first.items()
    )


_NAMES = _alternation(_WORDS)
_TABLE_NAMES = _alternation(_TABLE_WORDS)


def _interesting(words: Sequence[str]) -> re.Pattern[str]:
    # Searched in a lowercased copy of the text (faster than IGNORECASE): the comments and start tags
    # the rewriter reads. The ends of raw-text elements are found by _RAW_END. The look-ahead at the
    # first letter turns most of a page's other tags away before any branch is tried.
    first = "".join(sorted({word[0] for word in words}))
    # A doctype needs no space after its keyword ("<!doctypehtml>" is one), a tag needs one after its name.
    return re.compile(rf"<(?=[!{first}])(?:!--|((?:{_alternation(words)})(?=[{_WS}/>]|\Z)|!doctype))")


#: Where a start tag ends, from the end of its name (quoted values may hold ">").
_TAG_END = re.compile(_ATTRS + ">")
#: The same for the common shape (name, name="v", name='v' or name=v, apart), which it reads faster.
_PLAIN_TAG_END = re.compile(
    rf"(?:[{_WS}]++[^{_WS}/>\"'=]++(?:=\"[^\"]*+\"|='[^']*+'|=[^{_WS}>\"'=`<]++)?)*+[{_WS}]*+/?>"
)
#: After <head>: an early charset declaration (group 1), or what ends the wait for one.
_HEAD_AHEAD = re.compile(rf"<(?:(meta[{_WS}][^>]*charset)|(?:script|link|/head|body)[{_WS}/>])")
#: Where a doctype ends: at the first ">", even inside a quoted identifier.
_DOCTYPE_END = re.compile(r"[^>]*+>")


#: Text and whole tags of no interest, skipped as units, so that markup in their attribute values is
#: never taken for an opener: it stops at an opener of interest or at a tag the buffer does not complete.
def _skip(names: str) -> re.Pattern[str]:
    return re.compile(
        r"(?:[^<]++"
        r"|<(?![a-z/!?]|\Z)"  # a "<" that is text
        rf"|<(?!(?:{names})(?:[{_WS}/>]|\Z))[a-z][^{_WS}/>]*+{_ATTRS}>"  # a start tag of no interest
        rf"|</[a-z][^{_WS}/>]*+{_ATTRS}>"  # an end tag (its attributes are read, then dropped)
        r"|</>"
        r"|<(?:\?|!(?!--|doctype)|/(?![a-z>]))[^>]*+>"  # a bogus comment: to the first ">"
        r")*+"
    )


#: (openers, skip) for text without the word "background", and for text with it.
_SCANS = (
    (_interesting(_WORDS), _skip(_NAMES)),
    (_interesting(_WORDS + _TABLE_WORDS), _skip(f"{_NAMES}|{_TABLE_NAMES}")),
)
_TAG_START = frozenset("abcdefghijklmnopqrstuvwxyz/!?")
_ALL_WORDS = frozenset(_WORDS + _TABLE_WORDS)
_ATTR = re.compile(rf"([^{_WS}/>][^{_WS}/>=]*)(?:[{_WS}]*=[{_WS}]*(?:\"([^\"]*)\"|'([^']*)'|([^{_WS}>]*)))?")
#: Elements whose content browsers read as text, to their end tag: no markup in it is active.
_RAW_TEXT = frozenset({"style", "textarea", "title", "xmp", "noembed", "noframes"})
_RAW_END = {name: re.compile(rf"</{name}(?=[{_WS}/>])") for name in ("script", "iframe", "noscript", *_RAW_TEXT)}
#: A start or end tag.
_A_TAG = re.compile(r"</?[a-zA-Z]")
#: How many tags inside an SVG script or style are each read as a possible end of its text.
_FOREIGN_TAGS = 32
#: A tag's name, after its "<" or "</".
_NAME_END = re.compile(rf"[a-z][^{_WS}/>]*")
#: The attributes by which any element may reach a tracker by itself: a style (its CSS url() and image
#: sets), an event handler, a ping. Each pattern starts with a literal, which the regex engine
#: searches for fast; searched in the lowercased text.
_TRIGGERS = tuple(re.compile(rf"{name}[{_WS}]*=") for name in ("style", "ping", "on[a-z]+"))
#: What may come before an attribute's name.
_ATTR_START = frozenset(_WS + "/\"'")
# Also the types whose content the browser acts on without running it: an import map (it decides
# where modules load from) and speculation rules (prefetches).
_JS_TYPES = {
    "",
    "importmap",
    "speculationrules",
    "text/javascript",
    "application/javascript",
    "module",
    "text/ecmascript",
    "application/ecmascript",
    "application/x-javascript",
    "text/jscript",
    "text/livescript",
    "application/x-ecmascript",
    "text/x-javascript",
}
# The attributes that make an element fetch something, per tag.
_FETCHING = {
    "script": ("src",),
    "iframe": ("src", "srcdoc"),
    "frame": ("src",),
    "img": ("src", "srcset"),
    "embed": ("src",),
    "object": ("data",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "source": ("src", "srcset"),
    "link": ("href", "imagesrcset"),
    "image": ("src", "srcset"),  # the parser turns it into an img
    "input": ("src",),  # type=image
    "track": ("src",),
    # A background image, still honoured on the body and the parts of a table.
    **dict.fromkeys(("body", "table", "thead", "tbody", "tfoot", "tr", "td", "th"), ("background",)),
}
# The same inside <svg> or <math> (foreign content), where these are SVG elements: an image, a script,
# a filter's image or a reference to another document, each fetching its href (or the older xlink:href).
_FOREIGN_FETCHING = {
    **dict.fromkeys(("image", "script", "feimage", "use"), ("href", "xlink:href")),
    # Animation elements can set an href at run time: the values they set are URLs too.
    "set": ("to",),
    "animate": ("to", "from", "by", "values"),
}
#: The SVG animation elements, whose values may set an href or a presentation attribute.
_ANIMATIONS = frozenset({"set", "animate"})
#: An event handler attribute, in the lowercased text of a tag.
_HANDLER = re.compile(rf"[{_WS}/\"']on[a-z]+[{_WS}]*=")
#: What is judged under <svg> or <math>: the SVG elements' fetching attributes, and those of the HTML
#: elements of the same name, which Chromium's preload scanner reads there as if they were HTML
#: (``<svg><link rel=stylesheet href=…>`` is fetched before the parser makes it an SVG element).
_UNDER_ROOT_FETCHING = {
    name: tuple(dict.fromkeys((*_FOREIGN_FETCHING.get(name, ()), *_FETCHING.get(name, ()))))
    for name in (*_FOREIGN_FETCHING, *_FETCHING)
}
#: Start tags that end foreign content (the parser closes the <svg> or <math> and reads them as HTML).
_BREAKOUT = frozenset(
    {"b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt", "em", "embed", "h1"}
    | {"h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li", "listing", "menu", "meta", "nobr", "ol"}
    | {"p", "pre", "ruby", "s", "small", "span", "strong", "strike", "sub", "sup", "table", "tt", "u", "ul", "var"}
)
#: Elements of foreign content whose content is HTML again (integration points), by the root they are in.
_INTEGRATION = {
    "svg": frozenset(("foreignobject", "desc", "title")),
    "math": frozenset(("mi", "mo", "mn", "ms", "mtext", "annotation-xml")),
}
#: In foreign content: a comment, a CDATA section, a start or end tag with its name, or a bogus comment
#: ("<?", "<!" not starting one of the others, "</" not before a letter), which ends at the first ">".
_FOREIGN_MARKUP = re.compile(rf"<(?:(!--)|(!\[cdata\[)|(/?)([a-z][^{_WS}/>]*+)|(?=[?!])|/(?![a-z>]))")
# Attributes holding a list of candidate URLs, each with descriptors: every candidate may be fetched.
_SRCSETS = frozenset({"srcset", "imagesrcset"})
_SRCSET_SPACE = re.compile(rf"[{_WS}]+")
_SRCSET_SPACE_OR_COMMA = re.compile(rf"[{_WS},]+")
_PLACEHOLDER_TAGS = {"iframe", "embed", "object", "video"}
#: The elements the rewriter reads for what they do (a head, a root, text content) and that fetch
#: nothing themselves: only their own attributes (handlers, styles) are judged.
_OWN_ATTRIBUTES_ONLY = frozenset({"html", "head", "svg", "math", "noscript", *_RAW_TEXT})
# Tags that only matter when they point at another host or are marked with a category.
_PLAIN_CANDIDATES = frozenset(
    {"img", "image", "input", "source", "track", "iframe", "frame", "embed", "object", "video", "audio"}
    | {"table", "thead", "tbody", "tfoot", "tr", "td", "th"}
)
_NONCE = re.compile(r"'nonce-([A-Za-z0-9+/=_-]+)'")


#: The directives that govern each kind of element, most specific first.
_NONCE_DIRECTIVES = {
    "script": ("script-src-elem", "script-src", "default-src"),
    "style": ("style-src-elem", "style-src", "default-src"),
}


def nonce_from_csp(header: str | None, element: str = "script") -> str | None:
    """The nonce a ``Content-Security-Policy`` header allows for ``element`` ("script" or "style")."""
    if not header:
        return None
    directives = _NONCE_DIRECTIVES[element]
    found: dict[str, str] = {}
    for directive in header.split(";"):
        name = directive.strip().split(" ", 1)[0].lower()
        match = _NONCE.search(directive)
        if match and name in directives:
            found.setdefault(name, match.group(1))
    # The most specific directive governs.
    return next((found[name] for name in directives if name in found), None)


@lru_cache(maxsize=64)
def html_charset(content_type: str) -> str | None:
    """The charset of an HTML response, or None if it is not ASCII-compatible (it is then left alone).

    Without a charset in the header the page may declare any in a ``<meta>``, or none: the injected
    markup is then ASCII (other characters as references), which reads the same in all of them.
    """
    charset = "ascii"
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return "ascii"  # unknown: inject ASCII with character references, valid in any ASCII superset
    if name.startswith(("utf-16", "utf-32", "utf-7")) or name in ("cp037", "cp500", "cp1140"):
        return None
    return name


@dataclass
class RewritePlan:
    """What one page's rewriting needs: the categories in force and the markup to inject.

    Args:
        granted: Categories in force; elements of other categories become inert.
        head: Markup injected first in ``<head>``.
        banner: Markup injected right after ``<body>``. Text, or :class:`Encoded` when it is already
            in ``charset`` (as the middleware passes it).
        placeholder: Builds the stand-in shown before a blocked embed: (category, host) -> markup.
        catalog: Known tracker hosts.
        charset: The page's charset (injected markup is encoded in it).
    """

    granted: frozenset[str]
    head: str
    banner: str
    placeholder: Callable[[str, str | None], str]
    catalog: Catalog
    charset: str = "utf-8"
    #: The start of the ``data-cc-id`` values (by default a per-response number, see ``_RESPONSES``).
    id_prefix: str | None = None
    #: What, besides the page, decides the output (see :class:`~cookieconsent.core.pages.Pages`): a page
    #: rewritten under two plans with equal keys comes out the same, but for the ids. ``None``: unknown.
    key: Hashable | None = None
    #: The policy's optional categories: a URL that cannot be read needs every one of them.
    optional: frozenset[str] = frozenset({"functional", "analytics", "marketing"})

    def allowed(self, category: str) -> bool:
        """Whether elements of ``category`` stay active."""
        return category == NECESSARY or category in self.granted

    def unreadable(self) -> str | None:
        """The category a URL that cannot be read is refused under: the strictest one not granted.

        ``None`` when every optional category is granted (the URL then stays as it is).
        """
        refused = self.optional - self.granted
        if not refused:
            return None
        return max(sorted(refused), key=lambda c: _STRICTNESS.get(c, 4))


@dataclass(slots=True)
class _Document:
    """What a document's markup so far decides for the rest of it: its base URL (a ``<base href>``)."""

    base: Base = FIRST_PARTY
    base_set: bool = False
    #: Whether a relative URL may lead to another site (the base's :attr:`~Base.elsewhere`).
    elsewhere: bool = False

    def set_base(self, base: Base) -> None:
        """Make ``base`` the document's base."""
        self.base = base
        self.base_set = True
        self.elsewhere = base.elsewhere


#: Numbers the responses of this process for their elements' ids (from a random start, so that the
#: worker processes of one server do not count alike). Not a secret: the ids only pair a placeholder
#: with its embed.
_RESPONSES = itertools.count(secrets.randbits(24))


_BETWEEN, _NAME, _AFTER_NAME, _BEFORE_VALUE, _QUOTED, _UNQUOTED = range(6)
_SKIPS = {
    _BETWEEN: re.compile(rf"[{_WS}/]*"),
    _NAME: re.compile(rf"[^{_WS}/>=]*"),
    _AFTER_NAME: re.compile(rf"[{_WS}]*"),
    _BEFORE_VALUE: re.compile(rf"[{_WS}]*"),
    _UNQUOTED: re.compile(rf"[^{_WS}>]*"),
}


class _TagLexer:
    """Where a tag ends, as the HTML tokenizer's attribute states find it, over text that comes in pieces.

    Each piece is read once (the state carries over), so a tag cut into many chunks costs what one costs.
    It agrees with ``_TAG_END``: a quote opens a value only after ``=``, and a tag ends at a ``>``
    outside quoted values.
    """

    __slots__ = ("quote", "state")

    def __init__(self) -> None:
        self.state = _BETWEEN
        self.quote = ""

    def feed(self, text: str, at: int = 0) -> int:
        """Read ``text`` from ``at``: the index just past the tag's ``>``, or -1 if it goes on."""
        n = len(text)
        state = self.state
        while at < n:
            if state == _QUOTED:
                close = text.find(self.quote, at)
                if close < 0:
                    break
                state, at = _BETWEEN, close + 1
                continue
            at = _SKIPS[state].match(text, at).end()  # type: ignore[union-attr]  # they match the empty string
            if at >= n:
                break
            char = text[at]
            if char == ">":
                return at + 1
            if state == _BETWEEN:
                state = _NAME  # the name's first character may be "="
            elif state == _NAME:
                state = _BEFORE_VALUE if char == "=" else _BETWEEN if char == "/" else _AFTER_NAME
                if char == "/":
                    continue
            elif state == _AFTER_NAME:
                state = _BEFORE_VALUE if char == "=" else _BETWEEN if char == "/" else _NAME
                if char == "/":
                    continue
            elif state == _BEFORE_VALUE:
                if char in "\"'":
                    state, self.quote = _QUOTED, char
                else:
                    state = _UNQUOTED
            else:  # unquoted: whitespace ends it
                state = _BETWEEN
            at += 1
        self.state = state
        return -1

    def closing(self) -> str:
        """What ends the tag where it has got to."""
        return self.quote + ">" if self.state == _QUOTED else ">"


#: How a construct that a buffer does not complete is waited for: held whole until it ends (a tag,
#: whose attributes decide), or passed on as it comes (a comment, whose content counts for nothing).
_HOLD, _PASS = "hold", "pass"
#: A carry shorter than this is simply read again with the next chunk.
_WAIT_FROM = 512


class _AttrStream:
    """A start tag too long to hold, read as it streams: each attribute judged as it ends.

    Whitespace between attributes is sent on at once; an attribute is held until it ends (up to
    :attr:`HOLD` characters) and then sent as it was, or with a refused fetch renamed ``data-…``
    and a refused style, handler or ping neutralised (see :meth:`HTMLRewriter._neutralise`). A value
    longer than that is judged by its beginning and then streamed: a style through a
    :class:`~cookieconsent.blocking.css.CSSStream`, a URL, handler, srcset or srcdoc that cannot be judged from
    its beginning renamed, anything else as it is. A marking (``data-category``) that comes after the
    attributes it would mark is not applied to them.
    """

    HOLD = 4096
    _LONG_UNREADABLE = frozenset({"srcset", "imagesrcset", "srcdoc", "values"})

    def __init__(self, rewriter: HTMLRewriter, name: str) -> None:
        self.rw = rewriter
        self.name = name
        self.lexer = _TagLexer()
        self.attr: list[str] = []  # the attribute being held
        self.attr_size = 0
        self.passing: str | None = None  # a long value sent on: "as-is", or "css" (through self.css)
        self.css: css.CSSStream | None = None
        self.quote = ""  # the quote of the long value being passed
        self.typed = False  # a script made inert got its type="text/plain"

    def feed(self, text: str, at: int = 0) -> tuple[str, int]:
        """Read ``text`` from ``at``: what to send, and the index just past the tag's ``>`` (-1: it goes on)."""
        out: list[str] = []
        lexer = self.lexer
        n = len(text)
        while at < n:
            state = lexer.state
            if state == _QUOTED:
                close = text.find(lexer.quote, at)
                self._take(text[at : close if close >= 0 else n], out)
                if close < 0:
                    return "".join(out), -1
                self._take(lexer.quote, out, closing=True)
                lexer.state = _BETWEEN
                self._end(out)
                at = close + 1
                continue
            after = _SKIPS[state].match(text, at).end()  # type: ignore[union-attr]  # they match the empty string
            if state == _BETWEEN:
                out.append(text[at:after])
            else:
                self._take(text[at:after], out)
            at = after
            if at >= n:
                break
            char = text[at]
            if char == ">":
                if state != _BETWEEN:
                    self._end(out)
                out.append(">")
                return "".join(out), at + 1
            if state == _BETWEEN:
                lexer.state = _NAME
            elif state in (_NAME, _AFTER_NAME):
                if char == "/":
                    self._end(out)
                    lexer.state = _BETWEEN
                    continue
                if char == "=":
                    lexer.state = _BEFORE_VALUE
                elif state == _NAME:
                    lexer.state = _AFTER_NAME
                else:  # a name after a valueless attribute: that one has ended
                    self._end(out)
                    lexer.state = _NAME
            elif state == _BEFORE_VALUE:
                if char in "\"'":
                    lexer.state, lexer.quote = _QUOTED, char
                else:
                    lexer.state = _UNQUOTED
            else:  # whitespace ends an unquoted value
                self._end(out)
                lexer.state = _BETWEEN
                continue
            self._take(char, out)
            at += 1
        return "".join(out), -1

    def closing(self) -> str:
        """What ends the tag where it has got to (the page ended inside it)."""
        out: list[str] = []
        if self.lexer.state == _QUOTED:
            self._take(self.lexer.quote, out, closing=True)
        self._end(out)
        return "".join(out) + ">"

    def _take(self, piece: str, out: list[str], closing: bool = False) -> None:
        """Hold ``piece`` of the current attribute, or send it on if its value is being passed."""
        if self.passing is not None:
            if self.passing == "css" and not closing:
                assert self.css is not None
                out.append(self.css.feed(piece))
            elif closing and self.css is not None:
                out.append(self.css.close() + piece)
                self.css = None
            else:
                out.append(piece)
            return
        self.attr.append(piece)
        self.attr_size += len(piece)
        if self.attr_size > self.HOLD and self.lexer.state in (_QUOTED, _UNQUOTED) and not closing:
            self._go_long(out)

    def _end(self, out: list[str]) -> None:
        """The current attribute has ended: judge it and send it."""
        if self.passing is not None:
            if self.css is not None:
                out.append(self.css.close())
                self.css = None
            self.passing = None
            return
        if not self.attr:
            return
        text = "".join(self.attr)
        self.attr, self.attr_size = [], 0
        rw, name = self.rw, self.name
        attrs, changed = rw._neutralise(name, rw._attributes(text))
        if not attrs:
            out.append(text)
            return
        key, value = attrs[0]
        if key.lower() in rw._fetching(name) and value:
            category = rw._refusal(rw._category(name, attrs))
            if category is not None:
                key, changed = f"data-{key}", True
        if not changed:
            out.append(text)
            return
        out.append(f'{key}="{value}"' if value is not None else key)
        self._type(key, out)

    def _go_long(self, out: list[str]) -> None:
        """The attribute's value is too long to hold: judged by its beginning, then streamed."""
        rw, name = self.rw, self.name
        held = "".join(self.attr)
        self.attr, self.attr_size = [], 0
        key, _, rest = held.partition("=")
        low = key.strip(_WS).lower()
        value_at = len(held) - len(rest.lstrip(_WS))
        quoted = value_at < len(held) and held[value_at] in "\"'"
        self.quote = held[value_at] if quoted else ""
        head, value = held[: value_at + quoted], held[value_at + quoted :]
        rename = False
        if low in rw._fetching(name) or (low.startswith("on") and len(low) > 2):
            if low in self._LONG_UNREADABLE or low.startswith("on"):
                rename = rw._unreadable is not None  # what comes after its beginning cannot be read
            else:
                beginning = rw._text(value[:4096])
                if css._OPEN_AUTHORITY.match(beginning) or beginning.lstrip(_WS + "\x00\x01").lower().startswith(
                    ("javascript:", "data:text/html", "data:image/svg", "data:text/css", "data:text/javascript")
                ):
                    rename = rw._unreadable is not None
                else:
                    rename = rw._refusal(rw._url_category(name, low, beginning)) is not None
        if rename:
            out.append(("data-cc-" if low.startswith("on") else "data-") + head)
            self._type("data-" + low, out, after=True)
            self.passing = "as-is"
            out.append(value)
            return
        if low == "style":
            out.append(head)
            self.css = css.CSSStream(rw._raw_or_decoded_judge)
            self.passing = "css"
            out.append(self.css.feed(value))
            return
        out.append(held)
        self.passing = "as-is"

    def _type(self, key: str, out: list[str], after: bool = False) -> None:
        """A script whose fetch was renamed also gets ``type="text/plain"`` (once), so that it runs nothing."""
        if self.name == "script" and key.lower() == "data-src" and not self.typed:
            self.typed = True
            if not after:
                out.append(' type="text/plain"')
            else:
                out.insert(len(out) - 1, ' type="text/plain" ')


class _Preload:
    """The text of a CDATA section in foreign content, as Chromium's preload scanner reads it.

    The tree builder makes it text, but the preload scanner knows no CDATA: it reads the tags in it
    and fetches their images and scripts. The text is read by a rewriter of its own, which makes
    inert what it would fetch for a refused category (the text changes only then); a tag the
    section's end cuts is read as ended there (the scanner reads on past ``]]>`` to its ``>``).
    """

    __slots__ = ("pending", "rewriter")

    def __init__(self, page: HTMLRewriter) -> None:
        self.rewriter = page._nested()
        self.rewriter._inner = True
        page._noscripts += 1  # a prefix of its own for the ids of what it makes inert
        self.rewriter._id_prefix = f"{page._id_prefix}-c{page._noscripts}"
        self.rewriter._doc = page._doc
        self.rewriter._blocked = page._blocked  # what it makes inert counts for the page
        self.pending = ""  # a "]" or "]]" at the end of what came: the section's end may begin there

    def feed(self, text: str) -> str:
        """The next piece of the section's text, read."""
        data = self.pending + text
        keep = min(len(data) - len(data.rstrip("]")), 2)
        self.pending = data[len(data) - keep :]
        return self.rewriter._take(data[: len(data) - keep])

    def end(self, text: str) -> str:
        """The last piece of the section, up to and with its ``]]>``, read.

        A tag the end cuts is read as ended (its ``>`` added, then left out of what is returned).
        """
        content = (self.pending + text)[:-3]
        self.pending = ""
        rewriter = self.rewriter
        out = rewriter._take(content)
        carry = rewriter._carry
        if rewriter._wait is None and carry[:1] == "<" and carry[1:2].isalpha():
            closed = rewriter._take(">")
            if closed.endswith(">"):
                return out + closed[:-1] + rewriter._finish() + "]]>"
            out += closed
        return out + rewriter._finish() + "]]>"


class _Wait:
    """A construct at the end of a buffer that the buffer does not complete, and how it ends.

    Args:
        mode: ``_HOLD`` (kept until it ends, then read again whole) or ``_PASS`` (sent as it comes).
        ends: How its end is found: a :class:`_TagLexer`, or the strings that end it.
        name: The tag's name, for a tag.
    """

    __slots__ = ("ends", "limit", "mode", "name", "pieces", "preload", "size", "stream", "tail")

    def __init__(self, mode: str, ends: _TagLexer | tuple[str, ...], name: str = "", limit: int = 0) -> None:
        self.mode = mode
        self.ends = ends
        self.name = name
        #: For a held construct that is read again past a size (an SVG script): that size.
        self.limit = limit
        #: For a start tag too long to hold: its attributes, read as they stream.
        self.stream: _AttrStream | None = None
        #: For a CDATA section in foreign content: its text as Chromium's preload scanner reads it.
        self.preload: _Preload | None = None
        self.pieces: list[str] = []
        self.size = 0
        self.tail = ""  # the last characters read, where an end string may begin

    def end_in(self, text: str) -> int:
        """Where the construct ends in ``text`` (the next piece): the index just past it, or -1."""
        ends = self.ends
        if isinstance(ends, _TagLexer):
            return ends.feed(text)
        window = (self.tail + text).lower()
        found = min((at + len(end) for end in ends if (at := window.find(end)) >= 0), default=-1)
        if found < 0:
            self.tail = window[-8:]
            return -1
        return max(found - len(self.tail), 0)

    def closing(self) -> str:
        """What closes the construct if the page ends inside it."""
        if self.stream is not None:
            return self.stream.closing()
        return self.ends.closing() if isinstance(self.ends, _TagLexer) else self.ends[0]


class HTMLRewriter:
    """Rewrites one HTML response: :meth:`feed` each chunk, then :meth:`close`."""

    def __init__(self, plan: RewritePlan) -> None:
        self.plan = plan
        self._carry = ""
        self._wait: _Wait | None = None  # a long construct the last chunk did not complete
        self._raw: str | None = None  # inside an element whose content is text: its name
        # Inside <svg> or <math>: the open roots ("svg", "math") and integration points, innermost last,
        # each with whether it is a root. Under a root no element's content is text (see _foreign_markup).
        self._foreign: list[tuple[str, bool]] = []
        # Inside <noscript>: its content, markup to a browser without scripting, goes through a
        # rewriter of its own that cannot carry anything past </noscript> (where browsers with
        # scripting end the element whatever its content).
        self._noscript: HTMLRewriter | None = None
        self._noscripts = 0
        self._inner = False  # the rewriter of a noscript's content
        self._depth = 0  # how many srcdoc documents this one is inside
        self._doc = _Document()  # shared with a noscript's rewriter: it is the same document
        self._css: css.CSSStream | None = None  # the style sheet of the <style> element being read
        self._unreadable = plan.unreadable()
        self._decoding = plan.charset if plan.charset not in ("ascii", "us-ascii") else "utf-8"
        #: The categories of the elements made inert, in order.
        self._blocked: list[str] = []
        self._held: list[str] | None = None  # an inline script held back: [start tag, content...]
        self._held_size = 0
        self._held_tag: tuple[str, list[tuple[str, str | None]]] | None = None
        self._document = False  # a whole document (not a fragment): it gets the injections
        self._head_done = False
        self._charset_ahead = False  # a charset declaration follows <head>, before any script or stylesheet
        self._body_done = False
        self._next_id = 0
        self._fed = False  # whether feed() was called
        # Ids unique across responses, so an htmx fragment never reuses those already on the page.
        self._id_prefix = plan.id_prefix or f"{next(_RESPONSES) & 0xFFFFFF:06x}"
        self._placeholders: dict[tuple[str, str | None], str] = {}

    # -- the public interface ------------------------------------------------------------------

    def feed(self, chunk: bytes) -> bytes:
        """Rewrite the next chunk; returns what can be sent now (possibly ``b""``)."""
        self._fed = True
        return self._take(chunk.decode("latin-1")).encode("latin-1")

    @property
    def fresh(self) -> bool:
        """Whether it has been fed nothing yet."""
        return not self._fed

    @property
    def document(self) -> bool:
        """Whether what it read is a whole document (which gets the injections), not a fragment."""
        return self._document

    def close(self) -> bytes:
        """Flush what was held back and inject whatever the page never gave a place for."""
        out = self._finish()
        if self._document:
            # A document without <head> or <body> tags: browsers add them; so does the rewriter.
            if not self._head_done:
                out += self._inject(self.plan.head)
                self._head_done = True
            if not self._body_done:
                out += self._inject(self.plan.banner)
                self._body_done = True
        return out.encode("latin-1")

    def _finish(self) -> str:
        wait = self._wait
        if wait is not None:
            self._wait = None
            if wait.mode == _PASS:  # the page ends inside it: closed, so that what is injected after stays out
                return wait.closing() + self._finish()
            self._carry = "".join(wait.pieces)
        out = self._run(self._carry, final=True)
        if self._noscript is not None:  # the page ended inside a noscript
            out += self._noscript._finish()
            self._noscript = None
        if self._held is not None:
            out += self._release_held()
        if self._css is not None:
            out += self._close_css()
        if self._raw is not None:
            if self._inner:
                # A noscript's content ends inside a script, style, title…: without scripting, its
                # </noscript> would be text of that element and what follows still inside the noscript.
                # Closing it here makes browsers with and without scripting end the noscript alike.
                out += f"</{self._raw}>"
            self._raw = None
        if self._foreign:
            if self._inner:
                # The same for an <svg> or <math> left open in it (an end tag reaching the noscript
                # from inside an integration point is ignored): closed, innermost first.
                out += "".join(f"</{name}>" for name, _ in reversed(self._foreign))
            self._foreign = []
        return out

    # -- waiting for what a chunk cuts -------------------------------------------------------

    def _take(self, text: str) -> str:
        """Rewrite the next piece of the page (working form); what cannot be decided yet is kept.

        A long construct that a chunk cuts is not read again with every chunk: its end is looked for
        in each new piece alone (see :class:`_Wait`), so the cost stays linear however the page is cut.
        """
        wait = self._wait
        if wait is None:
            out = self._run(self._carry + text, final=False)
            return out + self._wait_for_carry() if len(self._carry) >= _WAIT_FROM else out
        if wait.stream is not None:  # a start tag too long to hold: its attributes as they come
            sent, end = wait.stream.feed(text)
            if end < 0:
                return sent
            self._wait = None
            return sent + self._after(wait) + self._take(text[end:])
        end = wait.end_in(text)
        if wait.preload is not None:  # a CDATA section: its text as the preload scanner reads it
            if end < 0:
                return wait.preload.feed(text)
            self._wait = None
            return wait.preload.end(text[:end]) + self._take(text[end:])
        if wait.mode == _PASS:
            if end < 0:
                return text
            self._wait = None
            return text[:end] + self._after(wait) + self._take(text[end:])
        if end < 0:
            wait.pieces.append(text)
            wait.size += len(text)
            if wait.limit and wait.size > wait.limit:  # read again: past the limit it is not held
                self._wait = None
                return self._take_again("".join(wait.pieces))
            return self._overlong(wait) if wait.size > TAG_LIMIT and wait.name else ""
        self._wait = None
        held = "".join(wait.pieces)
        return self._take_again(held + text)

    def _take_again(self, buf: str) -> str:
        self._carry = ""
        out = self._run(buf, final=False)
        return out + self._wait_for_carry() if len(self._carry) >= _WAIT_FROM else out

    def _wait_for_carry(self) -> str:
        """Turn a long carry into a :class:`_Wait`; returns what can be sent of it now."""
        carry = self._carry
        low = carry[:16].lower()
        if self._raw is not None or not carry.startswith("<"):
            return ""  # the tail of an element's text: short
        under_root = bool(self._foreign) and self._foreign[-1][1]
        if low.startswith("<!--"):
            wait = _Wait(_PASS, ("-->", "--!>"))
        elif carry.startswith("<![CDATA[") and under_root:  # in capitals only: "<![cdata[" is a bogus comment
            wait = _Wait(_PASS, ("]]>",))
            wait.preload = _Preload(self)
            self._carry = ""
            self._wait = wait
            wait.tail = carry[-8:].lower()
            return carry[:9] + wait.preload.feed(carry[9:])
        elif low.startswith("<!doctype"):
            self._document = True
            wait = _Wait(_PASS, (">",))
        elif "a" <= low[1:2] <= "z" or (low[1:2] == "/" and "a" <= low[2:3] <= "z"):  # ASCII letters only
            start = 2 if low[1] == "/" else 1
            name_end = _NAME_END.match(carry.lower(), start).end()  # type: ignore[union-attr]
            lexer = _TagLexer()
            ended = lexer.feed(carry, name_end)
            name = carry[start:name_end].lower()
            if ended >= 0:
                if under_root and (name == "script" or name == "style"):  # its text is read whole (see _foreign_markup)
                    wait = _Wait(_HOLD, (f"</{name}",), limit=INLINE_LIMIT + 9 + name_end + 64)
                    wait.tail = carry[-8:]
                    wait.pieces, wait.size = [carry], len(carry)
                    self._carry = ""
                    self._wait = wait
                return ""  # else a <head> read ahead of: short
            wait = _Wait(_HOLD, lexer, name if start == 1 else "")
        else:  # a bogus comment
            wait = _Wait(_PASS, (">",))
        self._carry = ""
        self._wait = wait
        if wait.mode == _PASS:
            wait.tail = carry[-8:].lower()
            return carry
        wait.pieces, wait.size = [carry], len(carry)
        return self._overlong(wait) if wait.size > TAG_LIMIT and wait.name else ""

    def _overlong(self, wait: _Wait) -> str:
        """A start tag longer than :data:`TAG_LIMIT`: too long to hold, so read as it streams.

        Its attributes are judged one by one as they end (see :class:`_AttrStream`): what was held
        of it is read now, the rest as it comes.
        """
        held = "".join(wait.pieces)
        cut = 1 + len(wait.name)
        stream = wait.stream = _AttrStream(self, wait.name)
        wait.mode, wait.pieces, wait.size = _PASS, [], 0
        sent, end = stream.feed(held, cut)
        if end < 0:
            return held[:cut] + sent
        self._wait = None  # it ended in what was held (its last piece held the end too)
        return held[:cut] + sent + self._after(wait) + self._take_again(held[end:])

    def _after(self, wait: _Wait) -> str:
        """Where an overlong start tag ends: what its element's content is, and what goes after it."""
        name = wait.name
        if not name:
            return ""
        if name in ("html", "head", "body"):
            self._document = True
            injected = ""
            if not self._head_done:
                injected, self._head_done = self._inject(self.plan.head), True
            if name == "body" and not self._body_done:
                injected, self._body_done = injected + self._inject(self.plan.banner), True
            return injected
        if self._foreign and self._foreign[-1][1]:
            if name == "svg" or name == "math":
                self._foreign.append((name, True))
            return ""
        if name in ("svg", "math"):
            self._foreign.append((name, True))
        elif name in _RAW_TEXT or name in ("script", "iframe", "noscript"):
            self._raw = name
            if name == "style":
                self._css = css.CSSStream(self._css_judge)
            elif name == "noscript" and not self._inner:
                self._noscripts += 1
                inner = self._noscript = self._nested()
                inner._id_prefix = f"{self._id_prefix}-n{self._noscripts}"
                inner._inner = True
                inner._blocked = self._blocked
                inner._doc = self._doc
        return ""

    # -- scanning ------------------------------------------------------------------------------

    def _run(self, buf: str, final: bool) -> str:
        """Rewrite ``buf``; what cannot be decided yet is kept in ``self._carry``.

        Text is copied out only up to a change (``flushed`` marks how far): unchanged tags cost no copy.
        """
        out: list[str] = []
        # ASCII letters only, as the HTML tokenizer folds case; through bytes, whose lower() is a table
        # look-up (str.lower() consults the Unicode database for every character). Positions stay the same.
        low = buf.encode("latin-1").lower().decode("latin-1")
        # A tag is never cut between buffers, so one with a background attribute is in a buffer holding the word.
        interesting, skip = _SCANS["background" in low]
        pos = flushed = 0
        self._carry = ""
        triggers: list[int] | None = None  # where attributes of interest may start (found when first needed)
        while True:
            if self._raw is not None:
                name = self._raw
                end = _RAW_END[name].search(low, pos)
                stop = end.start() if end is not None else len(buf) if final else max(pos, len(buf) - len(name) - 3)
                if self._held is not None:
                    self._hold(buf[pos:stop], out)
                    flushed = stop
                elif self._noscript is not None:
                    out.append(buf[flushed:pos])
                    out.append(self._noscript._take(buf[pos:stop]))
                    flushed = stop
                elif self._css is not None:
                    out.append(buf[flushed:pos])
                    out.append(self._css.feed(buf[pos:stop]))
                    flushed = stop
                if end is None:
                    out.append(buf[flushed:stop])
                    self._carry = buf[stop:]
                    return "".join(out)
                if self._held is not None:
                    out.append(self._release_held())
                elif self._noscript is not None:
                    out.append(self._noscript._finish())
                    self._noscript = None
                elif self._css is not None:
                    out.append(self._close_css())
                self._raw = None
                pos = stop
                continue
            if self._foreign:
                pos, flushed, done = self._foreign_markup(buf, low, pos, flushed, final, out)
                if done:
                    return "".join(out)
                continue
            # The next opener outside the tags of no interest. Found by searching, unless a tag could hide
            # it: one still open before it (a "<" with no ">" after it), or one whose last ">" before it is
            # in a quoted value (a tag ends at a ">" outside quotes). Then the text is read tag by tag
            # (quoted values respected), which is exact but slower.
            match = interesting.search(low, pos)
            upto = match.start() if match is not None else len(buf)
            # Before it, tags of no interest (a <div>, an <a>) may hold a style, a handler or a ping
            # that reaches a tracker: each one where such an attribute seems to start is read.
            if triggers is None:
                triggers = sorted(m.start() for pattern in _TRIGGERS for m in pattern.finditer(low))
            pos, flushed = self._attributes_of_interest(buf, low, skip, triggers, pos, upto, out, flushed)
            if pos > upto:
                continue  # the opener found was inside the tag just read: look again from its end
            lt = low.rfind("<", pos, upto)
            cut = len(buf)
            if lt >= 0:
                gt = low.rfind(">", pos, upto)
                if (match is not None and gt < lt) or (gt >= 0 and _maybe_quoted(low, pos, gt)):
                    cut = skip.match(low, pos).end()  # type: ignore[union-attr]  # it matches the empty string
                    # The tags skipped whole may hold attributes of interest too (the opener found
                    # was in one of them): each one is read.
                    pos, flushed = self._attributes_of_interest(buf, low, skip, triggers, pos, cut, out, flushed)
                    match = interesting.match(low, cut)
                elif match is None:
                    # After the last ">" all is text up to the first "<": a tag there is cut by the chunk's end.
                    first = low.find("<", max(pos, gt + 1))
                    if first >= 0 and first + 1 < len(buf) and low[first + 1] not in _TAG_START:
                        cut = skip.match(low, pos).end()  # type: ignore[union-attr]
                        pos, flushed = self._attributes_of_interest(buf, low, skip, triggers, pos, cut, out, flushed)
                    elif first >= 0:
                        cut = first
            if match is None:
                # The end, or a tag (or bogus comment) this buffer does not complete: kept for the next
                # chunk, unless it is the last or too long. At the end of the page it is dropped, as
                # browsers drop a tag cut by the end: the markup injected after it must not complete it.
                if final:
                    out.append(buf[flushed:cut])
                    return "".join(out)
                out.append(buf[flushed:cut])
                self._carry = buf[cut:]
                return "".join(out)
            start = match.start()
            name = match.group(1)
            if name is None:  # a comment: skip to its end
                end_at = _comment_end(buf, match.end())
                if end_at >= 0:
                    pos = end_at
                    continue
                tag_end = -1
            else:
                if name == "!doctype":
                    found = _DOCTYPE_END.match(buf, match.end())
                else:
                    found = _PLAIN_TAG_END.match(buf, match.end()) or _TAG_END.match(buf, match.end())
                tag_end = found.end() if found is not None else -1
            if tag_end < 0:  # the tag or comment continues in the next chunk
                if final:
                    # Cut by the end of the page: browsers drop such a tag, and a comment hides all
                    # that follows. Dropped, so the markup injected after it is neither.
                    self._cut_at_end()
                    out.append(buf[flushed:start])
                    return "".join(out)
                out.append(buf[flushed:start])
                self._carry = buf[start:]
                return "".join(out)
            if name == "head" and not self._head_done:
                # Where the head's markup goes depends on what follows (see _start_tag): read on first.
                ahead = _HEAD_AHEAD.search(low, tag_end, tag_end + 1024)
                if ahead is None and not final and tag_end + 1024 > len(buf):
                    out.append(buf[flushed:start])
                    self._carry = buf[start:]
                    return "".join(out)
                self._charset_ahead = ahead is not None and ahead.group(1) is not None
            pos = tag_end
            attrs_at = match.end()
            if (
                (name in _PLAIN_CANDIDATES or (self._head_done and (name == "link" or name == "script")))
                and not self._doc.elsewhere
                and _MAYBE_ELSEWHERE.search(buf, attrs_at, tag_end) is None
                and not _holds(triggers, attrs_at - 1, tag_end)  # no handler, style or ping
                and low.find("data-category", attrs_at, tag_end) < 0
                and low.find("srcdoc", attrs_at, tag_end) < 0
            ):
                # The common case: a first-party, unmarked element. An inline script still goes to
                # _start_tag (its content decides); one with a src only needs its end found.
                if name == "iframe":
                    self._raw = "iframe"  # its content is text
                    continue
                if name != "script":
                    continue
                if _has_src(buf, low, attrs_at, tag_end):
                    self._raw = "script"
                    continue
            replacement = self._start_tag(name, buf, low, start, attrs_at, tag_end)
            if replacement is not None:
                out.append(buf[flushed:start])
                out.append(replacement)
                flushed = tag_end

    def _attributes_of_interest(
        self,
        buf: str,
        low: str,
        skip: re.Pattern[str],
        triggers: list[int],
        pos: int,
        upto: int,
        out: list[str],
        flushed: int,
    ) -> tuple[int, int]:
        """Read the tags of no interest in ``buf[pos:upto]`` that seem to hold a style, a handler or a ping.

        ``buf[pos:upto]`` holds no opener the rewriter reads otherwise. Returns the new ``pos`` (past
        ``upto`` if a tag read goes on beyond it) and ``flushed`` (what of ``buf`` is in ``out``).
        """
        index = bisect.bisect_left(triggers, pos)
        while index < len(triggers) and triggers[index] < upto:
            at = triggers[index]
            index += 1
            if at < pos or low[at - 1] not in _ATTR_START:
                continue
            unit = skip.match(low, pos, at).end()  # type: ignore[union-attr]  # the whole units before it
            if unit == at:  # in text
                pos = at
                continue
            unit_end, replacement = self._tag_of_no_interest(buf, low, unit)
            if unit_end < 0:
                break  # cut by the chunk's end: read by the caller, as any unfinished tag
            if replacement is not None:
                out.append(buf[flushed:unit])
                out.append(replacement)
                flushed = unit_end
            pos = unit_end
            if pos > upto:
                break
        return pos, flushed

    def _tag_of_no_interest(self, buf: str, low: str, at: int) -> tuple[int, str | None]:
        """Read the markup at ``buf[at]`` (a ``<`` before no opener of interest).

        A start tag's styles, handlers and pings are judged (see :meth:`_neutralise`); end tags (whose
        attributes browsers drop) and bogus comments are passed over. Returns where the markup ends (-1
        if this buffer does not complete it) and the start tag's replacement, if it changes.
        """
        if low.startswith("</", at) and "a" <= low[at + 2 : at + 3] <= "z":
            found = _TAG_END.match(buf, _NAME_END.match(low, at + 2).end())  # type: ignore[union-attr]
            return (found.end() if found is not None else -1), None
        if not "a" <= low[at + 1 : at + 2] <= "z":  # a bogus comment, to the first ">"
            close = low.find(">", at)
            return (close + 1 if close >= 0 else -1), None
        name_end = _NAME_END.match(low, at + 1).end()  # type: ignore[union-attr]
        found = _PLAIN_TAG_END.match(buf, name_end) or _TAG_END.match(buf, name_end)
        if found is None:
            return -1, None
        end = found.end()
        if not self._reaches(buf, low, name_end, end):  # nothing in it can lead to another site
            return end, None
        return end, self._inert_tag(low[at + 1 : name_end], buf, name_end, end)

    def _foreign_markup(
        self, buf: str, low: str, pos: int, flushed: int, final: bool, out: list[str]
    ) -> tuple[int, int, bool]:
        """Read the next piece of markup inside <svg> or <math>; returns (pos, flushed, done with the buffer).

        Under an <svg> or <math> root the tokenizer reads the content of every element as markup:
        ``<svg><style><img src=…>`` holds an HTML image that fetches, where an HTML <style> would hold
        text. Its SVG image, script, feImage and use elements fetch their ``href``. An integration point
        (``foreignObject``, ``desc`` and ``title`` in SVG, the text elements of MathML) holds HTML again,
        read as the rest of the page is. Whatever the parser does that this does not follow (end tags
        of the HTML elements around an <svg>, say), it errs towards reading more markup than a browser,
        never less.
        """
        found = _FOREIGN_MARKUP.search(low, pos)
        if found is None:
            lt = low.rfind("<", pos)
            cut = lt if lt >= 0 and not final and len(buf) - lt < 16 else len(buf)
            out.append(buf[flushed:cut])
            self._carry = buf[cut:]
            return cut, cut, True
        start = found.start()
        under_root = self._foreign[-1][1]
        if found.group(4) is None:
            if found.group(1) is not None:
                end = _comment_end(buf, found.end())
            elif found.group(2) is not None and under_root and buf.startswith("<![CDATA[", start):
                # CDATA, in capitals only (else, and in an integration point, a bogus comment)
                end = low.find("]]>", found.end())
                if end >= 0:
                    content = buf[found.end() : end]
                    if "<" in content:
                        seen = _Preload(self).end(content + "]]>")[:-3]
                        if seen != content:
                            out.append(buf[flushed : found.end()])
                            out.append(seen)
                            flushed = end
                    end += 3
            else:
                end = low.find(">", found.end())
                end = end + 1 if end >= 0 else end
            if end >= 0:
                return end, flushed, False
            tag_end = -1
        else:
            match = _TAG_END.match(buf, found.end())
            tag_end = match.end() if match is not None else -1
        if tag_end < 0:  # continues in the next chunk (or is cut by the end of the page: dropped)
            if final:
                self._cut_at_end()
            out.append(buf[flushed:start])
            self._carry = "" if final else buf[start:]
            return start, start, True
        name = found.group(4)
        stack = self._foreign
        if found.group(3):  # an end tag
            if under_root and (name == "br" or name == "p"):
                self._break_out()
            else:
                for i in range(len(stack) - 1, -1, -1):
                    if stack[i][0] == name:
                        del stack[i:]
                        break
            return tag_end, flushed, False
        attrs_at = found.end()
        self_closing = buf[tag_end - 2] == "/"
        if name == "svg" or name == "math":
            own = (
                self._inert_tag(name, buf, attrs_at, tag_end) if self._triggered(buf, low, attrs_at, tag_end) else None
            )
            if not self_closing:
                stack.append((name, True))
            return self._own(own, buf, start, tag_end, flushed, out)
        if under_root:
            if name in _BREAKOUT or (name == "font" and self._font_breaks_out(buf[attrs_at : tag_end - 1])):
                self._break_out()
                return start, flushed, False  # read again, as HTML or in an integration point
            root = next((n for n, _ in reversed(stack) if n == "svg" or n == "math"), "svg")
            if name in _INTEGRATION[root]:
                triggered = self._triggered(buf, low, attrs_at, tag_end)
                own = self._inert_tag(name, buf, attrs_at, tag_end) if triggered else None
                if not self_closing:
                    integration = name != "annotation-xml" or self._html_encoding(buf[attrs_at : tag_end - 1])
                    stack.append((name, not integration))
                return self._own(own, buf, start, tag_end, flushed, out)
            if not self_closing:
                # Every open foreign element is kept: an end tag closes the innermost of its name,
                # whatever is open inside it (an integration point too), as browsers do.
                stack.append((name, True))
            if name in _UNDER_ROOT_FETCHING or self._triggered(buf, low, attrs_at, tag_end):
                replacement = self._inert_tag(name, buf, attrs_at, tag_end)
            elif name != "style":
                return tag_end, flushed, False
            else:
                replacement = None
            if replacement is None and (name == "script" or name == "style") and not self_closing:
                # An SVG script runs its content, and an SVG style applies its own. Its content is
                # markup here (character references are read), but up to its end tag it is the
                # script's or the style sheet's text, unless a tag in it ends the <svg> first:
                # classified as a whole, and still read on as markup.
                # Past INLINE_LIMIT it cannot be read whole: a script is then treated as unreadable
                # (as an HTML one is), however the page is cut.
                ended = _RAW_END[name].search(low, tag_end, tag_end + INLINE_LIMIT + 9)
                close = ended.start() if ended is not None else -1
                if close < 0 and not final and len(buf) - tag_end < INLINE_LIMIT + 9:
                    stack.pop()  # read again, whole, with the next chunk
                    out.append(buf[flushed:start])
                    self._carry = buf[start:]
                    return start, start, True
                if close >= 0 or len(buf) - tag_end <= INLINE_LIMIT:
                    window = buf[tag_end : close if close >= 0 else len(buf)]
                    # Its text is that of its child text nodes: comments are not in it, CDATA
                    # sections are (as text), and tags are not.
                    child, cut = _child_text(window)
                    attr_text = buf[attrs_at : tag_end - 1]
                    nested = re.search(rf"<{name}[{_WS}/>]", window, re.IGNORECASE) is not None
                    if (nested or (cut and close >= 0)) and self._unreadable is not None:
                        # An element of its own name inside it, or a comment or tag that the end tag
                        # found is part of: its real end is not the first one found.
                        category: str | None = self._unreadable
                    elif name == "script" and not self._is_js(attr_text):
                        category = None
                    else:
                        # Any tag in it may end it there (an </svg>, a <p>): its text up to each tag
                        # is read too, the tags before it left out; past a few dozen, unreadable.
                        category = self._foreign_text_refusal(name, child)
                        for i, tag in enumerate(_A_TAG.finditer(window)):
                            if category is not None:
                                break
                            if i >= _FOREIGN_TAGS:
                                category = self._unreadable
                                break
                            category = self._foreign_text_refusal(name, _child_text(window[: tag.start()])[0])
                        if category is None and name == "script":
                            # Chromium reads an SVG script of these types as it reads an HTML one.
                            kind = next((v for k, v in self._attributes(attr_text) if k.lower() == "type"), None)
                            kind = unescape(kind or "").strip(_WS).lower()
                            if kind in ("importmap", "speculationrules"):
                                category = self._rules_category(self._text(child, attribute=False), kind)
                    if category is not None:
                        replacement = self._inert(name, self._attributes(attr_text), category, False)
                    raw = buf[tag_end:close] if close >= 0 else ""
                    if name == "style" and raw and "<" not in raw:
                        # Chromium's preload scanner reads this text as an HTML style sheet (character
                        # references not read) and fetches its @import before the parser sees an SVG
                        # style: its refused URLs, read either way, are neutralised in the text too.
                        sheet, blocked = css.neutralise(raw, self._raw_or_decoded_judge)
                        if blocked:
                            self._blocked.extend(blocked)
                            out.append(buf[flushed:start])
                            out.append((replacement or buf[start:tag_end]) + sheet)
                            return close, close, False
                elif name == "script" and self._unreadable is not None and self._is_js(buf[attrs_at : tag_end - 1]):
                    attrs = self._attributes(buf[attrs_at : tag_end - 1])
                    replacement = self._inert(name, attrs, self._unreadable, False)
        elif name in _ALL_WORDS:  # in an integration point: HTML
            replacement = self._start_tag(name, buf, low, start, attrs_at, tag_end)
        elif self._triggered(buf, low, attrs_at, tag_end):  # another HTML element there, with a style, a handler…
            replacement = self._inert_tag(name, buf, attrs_at, tag_end)
        else:
            return tag_end, flushed, False
        if replacement is not None:
            out.append(buf[flushed:start])
            out.append(replacement)
            flushed = tag_end
        return tag_end, flushed, False

    def _foreign_text_refusal(self, name: str, child: str) -> str | None:
        """The refused category an SVG script's or style's child text needs, or ``None``."""
        text = self._text(child, attribute=False).replace("\x00", "\ufffd")  # as the tokenizer does there
        if name == "script":
            return self._refusal(self.plan.catalog.category_of_script(text, text=True))
        return next(iter(css.neutralise(text, self._css_judge, text=True)[1]), None)

    def _triggered(self, buf: str, low: str, attrs_at: int, end: int) -> bool:
        """Whether a start tag's attributes may reach a tracker (in SVG, any of them may be CSS)."""
        return self._reaches(buf, low, attrs_at, end)

    @staticmethod
    def _own(
        replacement: str | None, buf: str, start: int, tag_end: int, flushed: int, out: list[str]
    ) -> tuple[int, int, bool]:
        """Where to read on after a start tag of foreign content whose own attributes were judged."""
        if replacement is None:
            return tag_end, flushed, False
        out.append(buf[flushed:start])
        out.append(replacement)
        return tag_end, tag_end, False

    def _font_breaks_out(self, attr_text: str) -> bool:
        """Whether a <font> start tag ends foreign content: it does with a color, face or size."""
        return any(key.lower() in ("color", "face", "size") for key, _ in self._attributes(attr_text))

    def _html_encoding(self, attr_text: str) -> bool:
        """Whether an <annotation-xml> start tag says its content is HTML (its first encoding attribute)."""
        for key, value in self._attributes(attr_text):
            if key.lower() == "encoding":
                return unescape(value or "").strip(_WS).lower() in ("text/html", "application/xhtml+xml")
        return False

    def _break_out(self) -> None:
        """Close the foreign roots up to the innermost integration point (or all of them)."""
        stack = self._foreign
        while stack and stack[-1][1]:
            stack.pop()

    def _fetching(self, name: str) -> tuple[str, ...]:
        """The attributes through which element ``name`` fetches, here (in HTML, or under <svg>)."""
        if self._foreign and self._foreign[-1][1]:
            return _UNDER_ROOT_FETCHING.get(name, ())
        return _FETCHING.get(name, ())

    def _close_css(self) -> str:
        """The end of the style sheet being read (a <style> element's end, or the page's)."""
        assert self._css is not None
        out = self._css.close()
        self._blocked.extend(self._css.blocked)
        self._css = None
        return out

    def _hold(self, text: str, out: list[str]) -> None:
        """Add to the inline script held back; past :data:`INLINE_LIMIT` it is sent on as unreadable.

        A script that long cannot be held whole, so what follows cannot be judged: it is made inert
        under the strictest category refused (as an unreadable URL is), unless what was held of it
        already needs a refused one; the rest of it streams after its start tag. Marking such a
        script ``data-category`` exempts it from being held.
        """
        assert self._held is not None
        self._held.append(text)
        self._held_size += len(text)
        if self._held_size > INLINE_LIMIT:
            out.append(self._release_held(unreadable=True))

    # -- tags ----------------------------------------------------------------------------------

    def _start_tag(self, name: str, buf: str, low: str, start: int, attrs_at: int, end: int) -> str | None:
        """The replacement for the start tag ``buf[start:end]``, or None to keep it as it is."""
        plan = self.plan
        if name == "img" or name == "link" or name == "source" or name == "script":
            pass  # the common case first
        elif name in _OWN_ATTRIBUTES_ONLY:
            # Elements that fetch nothing themselves may still carry a handler or a style that reaches
            # a tracker (<svg onload>, <style onload>, <html style>).
            own = self._inert_tag(name, buf, attrs_at, end) if self._reaches(buf, low, attrs_at, end) else None
            if name == "html":
                self._document = True
            elif name == "head":
                self._document = True
                # Browsers look for a charset declaration in the first 1024 bytes only: when one comes
                # early in this head (_run looks), the markup goes in after it (at "meta"); else, as
                # usual, right here.
                if not self._head_done and not self._charset_ahead:
                    self._head_done = True
                    return (own or buf[start:end]) + self._inject(plan.head)
            elif name == "svg" or name == "math":
                if buf[end - 2] != "/":
                    self._foreign.append((name, True))
            elif name == "noscript":
                if not self._inner:  # without scripting (the inner reading) it is markup
                    self._raw = name
                    self._noscripts += 1
                    inner = self._noscript = self._nested()
                    inner._id_prefix = f"{self._id_prefix}-n{self._noscripts}"
                    inner._inner = True
                    inner._blocked = self._blocked  # what it makes inert counts for this document (a srcdoc's)
                    inner._doc = self._doc  # a <base> in it is the document's
            else:  # the elements whose content is text
                self._raw = name
                if name == "style":
                    self._css = css.CSSStream(self._css_judge)
            return own
        elif name == "!doctype":
            self._document = True
            return None
        elif name == "meta":
            refresh = self._refresh(buf, low, attrs_at, end)
            if refresh is None and self._reaches(buf, low, attrs_at, end):
                refresh = self._inert_tag(name, buf, attrs_at, end)  # its handlers, its style
            tag = buf[start:end] if refresh is None else refresh
            if self._document and not self._head_done and low.find("charset", attrs_at, end) >= 0:
                self._head_done = True
                return tag + self._inject(plan.head)
            return refresh
        elif name == "base":
            if not self._doc.base_set:
                for key, value in self._attributes(buf[attrs_at : end - 1]):
                    if key.lower() == "href":  # the first <base> with an href sets the document's base
                        self._doc.set_base(base_from(self._text(value or ""), self._doc.base))
                        break
            return self._inert_tag(name, buf, attrs_at, end) if self._reaches(buf, low, attrs_at, end) else None
        elif name == "body":
            self._document = True
            injected = ""
            if not self._head_done:
                injected = self._inject(plan.head)
                self._head_done = True
            inert = None
            if self._reaches(buf, low, attrs_at, end) or low.find("data-category", attrs_at, end) >= 0:
                inert = self._inert_tag(name, buf, attrs_at, end)  # a tracker's background image, handler
            tag = buf[start:end] if inert is None else inert
            if self._body_done:
                return (injected + tag) if injected or inert is not None else None
            self._body_done = True
            return injected + tag + self._inject(plan.banner)
        before = ""
        if (name == "script" or name == "link") and self._document and not self._head_done:
            # The Consent Mode bootstrap must run before any other script.
            before = self._inject(plan.head)
            self._head_done = True
        attr_text = buf[attrs_at : end - 1]
        attrs = self._attributes(attr_text)
        if name == "iframe":
            self._raw = "iframe"  # its content is text to browsers
        # Decided from the attributes, not from the text: "data-src", "srcbox" or "data-category-x" are not these.
        marked = low.find("data-category", attrs_at, end) >= 0 and _has(attrs, "data-category")
        if name == "script":
            self._raw = "script"
            if not marked and not _has(attrs, "src") and self._is_js(attr_text):
                # An inline script: hold it until its end, then decide from its content (its own
                # handlers and style are judged now).
                neutralised = False
                if self._reaches(buf, low, attrs_at, end):
                    attrs, neutralised = self._neutralise(name, attrs)
                self._held = [_tag(name, attrs, False) if neutralised else buf[start:end]]
                self._held_size = 0
                self._held_tag = (name, attrs)
                return before
        srcdoc = name == "iframe" and _has(attrs, "srcdoc")
        if not marked and not srcdoc and not self._reaches(buf, low, attrs_at, end):
            return before + buf[start:end] if before else None  # first-party and unmarked
        attrs, neutralised = self._neutralise(name, attrs)
        category = self._category(name, attrs)
        if name == "script" and marked and category is not None and self._author_inert(attrs):
            # Written inert by the page's author (``type="text/plain" data-category=…``): run it now if
            # its category is granted, else mark it so the banner script runs it once it is.
            return before + self._author_script(attrs, category, plan.allowed(category))
        if category is None or plan.allowed(category) or (name == "script" and not self._is_js(attr_text)):
            # Not a tracker, granted, or a data block (JSON, template) that is never executed or fetched.
            if neutralised:
                return before + _tag(name, attrs, buf[end - 2] == "/")
            return before + buf[start:end] if before else None
        return before + self._inert(name, attrs, category, buf[end - 2] == "/")

    def _cut_at_end(self) -> None:
        """A tag or comment cut by the end: in a noscript's content, a refusal of what it may load.

        Without scripting, a noscript's content does not end at ``</noscript>`` inside a tag: the tag
        runs on to the next ``>``, loading what its attributes name, which cannot be read here. The
        output drops it all the same; a srcdoc holding it is judged as refusing its strictest category.
        """
        if self._inner and self._unreadable is not None:
            self._blocked.append(self._unreadable)

    def _nested(self) -> HTMLRewriter:
        """A rewriter for markup inside this page (a noscript's content, a srcdoc): nothing is injected in it."""
        inner = HTMLRewriter(self.plan)
        inner._head_done = inner._body_done = True
        return inner

    def _document_category(self, document: str, base: Base) -> str | None:
        """The category of the first element of ``document`` (a srcdoc, a ``data:`` page) made inert, if any is."""
        if self._depth >= _SRCDOC_DEPTH:
            return ""  # an iframe in an iframe in…: inert, under a category never granted
        inner = self._nested()
        inner._depth = self._depth + 1
        inner._doc = _Document(base, elsewhere=base.elsewhere)
        inner._decoding = "utf-8"
        inner._carry = document
        inner._finish()
        return inner._blocked[0] if inner._blocked else None

    def _inert_tag(self, name: str, buf: str, attrs_at: int, end: int) -> str | None:
        """The start tag ``buf[start:end]``, made inert if it fetches for a refused category.

        Its styles, handlers and pings that reach a refused tracker are neutralised in any case;
        ``None`` if it stays as it is.
        """
        attrs, neutralised = self._neutralise(name, self._attributes(buf[attrs_at : end - 1]))
        category = self._category(name, attrs)
        if category is None or self.plan.allowed(category):
            return _tag(name, attrs, buf[end - 2] == "/") if neutralised else None
        return self._inert(name, attrs, category, buf[end - 2] == "/")

    def _reaches(self, buf: str, low: str, at: int, end: int) -> bool:
        """Whether a start tag's attributes may reach a tracker: a URL to another site, or a handler."""
        return self._elsewhere(buf, at, end) or _HANDLER.search(low, at - 1, end) is not None

    def _elsewhere(self, buf: str, at: int, end: int) -> bool:
        """Whether a URL in ``buf[at:end]`` may point at another site: it is written so, or the base is."""
        return self._doc.elsewhere or _MAYBE_ELSEWHERE.search(buf, at, end) is not None

    def _text(self, value: str, attribute: bool = True) -> str:
        """An attribute's value (working form) as the text the browser reads: decoded, references read.

        ``attribute``: references are read as in an attribute (see :func:`unescape_attribute`); else
        as in text.
        """
        if not value.isascii():
            value = value.encode("latin-1").decode(self._decoding, "replace")
        if "&" not in value:
            return value
        return unescape_attribute(value) if attribute else unescape(value)

    def _refusal(self, category: str | None) -> str | None:
        """``category`` if it is refused here (an unreadable URL's: the strictest refused), else ``None``."""
        if category is None:
            return None
        if category == UNPARSEABLE:
            return self._unreadable
        return None if self.plan.allowed(category) else category

    def _url_category(self, name: str, key: str, url: str) -> str | None:
        """The category a URL (as the browser reads it) needs, for attribute ``key`` of element ``name``.

        A ``javascript:`` URL needs what its script does; a ``data:`` URL, what the document, script
        or style sheet it holds does, where the element reads it as one (a frame, a script, a
        stylesheet link); an unreadable URL needs :data:`~cookieconsent.blocking.trackers.UNPARSEABLE`.
        """
        catalog = self.plan.catalog
        found = None
        for target in resolve(url, self._doc.base):
            if target.kind == "data":
                category = self._data_category(name, key, target)
            elif target.kind == "javascript":
                category = catalog.category_of_script(target.payload, text=True)
                if name in _DOCUMENT_ELEMENTS:
                    # In a frame, the string the script gives is the frame's document (with this base).
                    document = target.payload.encode("utf-8", "replace").decode("latin-1")
                    category = stricter(category, self._document_category(document, self._doc.base))
            else:
                category = catalog.category_of_target(target)
            found = stricter(found, category)
        return found

    def _data_category(self, name: str, key: str, target: Target) -> str | None:
        """What a ``data:`` URL needs: its content, read as the element reads it."""
        if name in _DOCUMENT_ELEMENTS or (name == "use" and self._foreign):
            return self._document_category(target.payload, OPAQUE)
        if name == "script":
            return self.plan.catalog.category_of_script(target.payload)
        if name == "link" or target.media_type == "text/css":
            found = None
            for category in css.neutralise(target.payload, self._data_css_judge)[1]:
                found = stricter(found, category)
            return found
        return None  # an image, a video, a font: it fetches nothing more

    def _css_judge(self, url: str) -> str | None:
        """What to do with a URL of a style sheet: the refused category to neutralise it under, or ``None``."""
        return self._refusal(self._url_category("style", "url", url))

    def _raw_or_decoded_judge(self, url: str) -> str | None:
        """Like :meth:`_css_judge`, for a URL read both as written and with its references read."""
        decoded = unescape(url) if "&" in url else url
        return stricter(self._css_judge(url), self._css_judge(decoded) if decoded != url else None)

    def _data_css_judge(self, url: str) -> str | None:
        """Like :meth:`_css_judge`, for a style sheet in a ``data:`` URL: it has no base of its own."""
        base = self._doc.base
        self._doc.base = OPAQUE
        try:
            return self._css_judge(url)
        finally:
            self._doc.base = base

    def _neutralise(self, name: str, attrs: list[tuple[str, str | None]]) -> tuple[list[tuple[str, str | None]], bool]:
        """``attrs`` with what reaches a refused tracker besides the element's own fetch neutralised.

        - a ``style`` attribute (and, in SVG, any presentation attribute) with a refused URL in
          ``url(…)`` or a string: that URL is made ``about:invalid``, the rest of the CSS is kept;
        - an event handler (``onload``, ``onerror``…) whose script reaches a refused tracker: renamed
          ``data-cc-on…``, so it never runs;
        - a ``ping`` with a refused URL: renamed ``data-ping``.

        Returns the attributes and whether any changed.
        """
        out: list[tuple[str, str | None]] | None = None
        # Under an <svg> or <math> root, or on the <svg> itself: an SVG element's attributes.
        foreign = name == "svg" or (bool(self._foreign) and self._foreign[-1][1])
        fetching = self._fetching(name)
        for i, (key, value) in enumerate(attrs):
            if not value:
                continue
            low = key.lower()
            new_key, new_value = key, value
            if low.startswith("on") and len(low) > 2:
                category = self._refusal(self.plan.catalog.category_of_script(self._text(value), text=True))
                if category is not None:
                    self._blocked.append(category)
                    new_key = f"data-cc-{key}"
            elif low == "ping" and (name == "a" or name == "area"):
                found = None
                for url in self._text(value).split():
                    found = found or self._refusal(self._url_category(name, low, url))
                if found is not None:
                    self._blocked.append(found)
                    new_key = "data-ping"
            elif low == "style" or (foreign and "(" in value and (low not in fetching or name in _ANIMATIONS)):
                # In SVG any attribute may be a presentation attribute, and an animation's values may
                # set one: CSS.
                text = self._text(value)
                sheet, blocked = css.neutralise(text, self._css_judge, text=True)
                if blocked:
                    self._blocked.extend(blocked)
                    new_value = self._inject(escape(sheet))
            if new_key is not key or new_value is not value:
                if out is None:
                    out = list(attrs)
                out[i] = (new_key, new_value)
        return (attrs, False) if out is None else (out, True)

    def _refresh(self, buf: str, low: str, attrs_at: int, end: int) -> str | None:
        """A ``<meta http-equiv=refresh>`` to a refused tracker, made inert; ``None`` for any other meta."""
        if low.find("refresh", attrs_at, end) < 0:
            return None
        attrs = self._attributes(buf[attrs_at : end - 1])
        equiv = next((v for k, v in attrs if k.lower() == "http-equiv"), None)
        content = next((v for k, v in attrs if k.lower() == "content"), None)
        if equiv is None or self._text(equiv).strip(_WS).lower() != "refresh" or not content:
            return None
        found = _REFRESH_URL.match(self._text(content))
        if found is None:
            return None
        url = found.group(1).strip(_WS)
        if url and url[0] in "\"'":
            url = url[1:].split(url[0], 1)[0]
        category = self._refusal(self._url_category("meta", "content", url))
        if category is None:
            return None
        self._blocked.append(category)
        renamed = [("data-http-equiv" if k.lower() == "http-equiv" else k, v) for k, v in attrs]
        return _tag("meta", self._neutralise("meta", renamed)[0], buf[end - 2] == "/")

    @staticmethod
    def _author_inert(attrs: list[tuple[str, str | None]]) -> bool:
        return any(k.lower() == "type" and (v or "").strip().lower() == "text/plain" for k, v in attrs)

    def _author_script(self, attrs: list[tuple[str, str | None]], category: str, granted: bool) -> str:
        real_type = next((v for k, v in attrs if k.lower() == "data-type"), None)
        parts = ["<script"]
        for key, value in attrs:
            low = key.lower()
            if low == "type" or (granted and low == "data-type") or key[0] == "=":
                continue
            if granted and low == "data-src":
                key = "src"
            parts.append(f' {key}="{value}"' if value is not None else f" {key}")
        if granted:
            if real_type:
                parts.append(f' type="{real_type}"')
        else:
            self._next_id += 1
            self._blocked.append(category)
            parts.append(f' type="text/plain" data-cc="blocked" data-cc-id="{self._id_prefix}-{self._next_id}"')
        parts.append(">")
        return "".join(parts)

    @staticmethod
    def _is_js(attr_text: str) -> bool:
        if "type" not in attr_text.lower():
            return True
        for match in _ATTR.finditer(attr_text):
            if match.group(1).lower() == "type":
                value = match.group(2) or match.group(3) or match.group(4) or ""
                return value.strip().lower().split(";")[0] in _JS_TYPES
        return True

    @staticmethod
    def _attributes(attr_text: str) -> list[tuple[str, str | None]]:
        attrs = []
        for match in _ATTR.finditer(attr_text):
            value = match.group(2)
            if value is None:
                value = match.group(3) if match.group(3) is not None else match.group(4)
                if value is not None:
                    value = value.replace('"', "&quot;")  # re-quoted with double quotes below
            attrs.append((match.group(1), value))
        return attrs

    def _category(self, name: str, attrs: list[tuple[str, str | None]]) -> str | None:
        """The category the element needs: a refused one if its marking or any URL it fetches is refused."""
        found = marked = None
        fetching = self._fetching(name)
        for key, value in attrs:
            key = key.lower()
            if key == "data-category":
                if marked is None:  # the first of repeated attributes counts, as in browsers
                    # An unknown category name is never granted: a typo, or an empty value, fails closed.
                    marked = (value or "").strip()
                continue
            if key in fetching and value:
                text = self._text(value)
                if key == "srcdoc":
                    # A document of its own (with this one's base): anything in it this rewriter would
                    # make inert makes the whole iframe inert.
                    document = text.encode("utf-8", "replace").decode("latin-1")  # the working form, in UTF-8
                    category = self._document_category(document, self._doc.base)
                    if category is not None and (found is None or self.plan.allowed(found)):
                        found = category
                    continue
                if key in _SRCSETS:
                    urls = _srcset_urls(text)
                elif key == "values":
                    urls = text.split(";")
                else:
                    urls = [text]
                for url in urls:
                    category = self._url_category(name, key, url)
                    if category == UNPARSEABLE:
                        category = self._unreadable
                    # Any refused tracker URL makes the element inert, whichever attribute holds it.
                    if category is not None and (found is None or self.plan.allowed(found)):
                        found = category
        if marked is None or (found is not None and not self.plan.allowed(found) and self.plan.allowed(marked)):
            return found  # a marking of a granted category does not vouch for a refused tracker URL
        return marked

    def _inert(self, name: str, attrs: list[tuple[str, str | None]], category: str, self_closing: bool) -> str:
        fetching = self._fetching(name)
        parts = [f"<{name}"]
        host = None
        has_category = False
        self._next_id += 1
        self._blocked.append(category)
        ident = f"{self._id_prefix}-{self._next_id}"
        for key, value in attrs:
            if key[0] == "=":
                # Malformed markup ('<a b/="c">' has an attribute named '="c"'). Written back after a
                # valueless attribute, it would become that attribute's value and could swallow the
                # attributes that make the element inert: left out.
                continue
            low = key.lower()
            if low in fetching:
                if low in ("src", "href", "data") and value and host is None:
                    host = _host(value)
                if low == "xlink:href":
                    low = "href"  # the banner script gives it back as href, which SVG reads as well
                parts.append(f' data-{low}="{value}"' if value is not None else f" data-{low}")
                continue
            if (name == "script" or name == "style") and low == "type":
                parts.append(f' data-type="{value}"' if value is not None else "")
                continue
            if low == "data-category" and not has_category:
                has_category = True
                if (value or "").strip() != category:  # refused for a tracker URL, not for its marking
                    parts.append(f' {key}="{escape(category)}"')
                    continue
            parts.append(f' {key}="{value}"' if value is not None else f" {key}")
        if name == "script" or name == "style":
            parts.append(' type="text/plain"')
        if not has_category:
            parts.append(f' data-category="{escape(category)}"')
        parts.append(f' data-cc="blocked" data-cc-id="{ident}"')
        parts.append(" />" if self_closing else ">")
        element = "".join(parts)
        if name in _PLACEHOLDER_TAGS and not (self._foreign and self._foreign[-1][1]):
            # (Under an <svg> or <math> root a placeholder's HTML would end the root where it stands.)
            return self._placeholder(category, host).replace("__CCID__", ident) + element
        return element

    def _placeholder(self, category: str, host: str | None) -> str:
        key = (category, host)
        cached = self._placeholders.get(key)
        if cached is None:
            cached = self._placeholders[key] = self._inject(self.plan.placeholder(category, host))
        return cached

    def _release_held(self, unreadable: bool = False) -> str:
        held, tag_info = self._held, self._held_tag
        self._held = None
        self._held_tag = None
        assert held is not None
        assert tag_info is not None
        source = "".join(held[1:])
        category = self._refusal(self.plan.catalog.category_of_script(source))
        kind = next((v for k, v in tag_info[1] if k.lower() == "type"), None)
        kind = (unescape(kind) if kind else "").strip(_WS).lower()
        if category is None and kind in ("importmap", "speculationrules"):
            category = self._rules_category(source, kind)
        if category is None and unreadable:
            category = self._unreadable
        if category is None:
            return "".join(held)
        name, attrs = tag_info
        return self._inert(name, attrs, category, False) + source

    def _rules_category(self, source: str, kind: str) -> str | None:
        """What an import map or speculation rules need: each string in them read as a URL, with this base.

        Speculation rules with document rules (``"where"``, or ``"source": "document"``) prefetch links
        of the page, which cannot be told here: they are treated as unreadable.
        """
        try:
            text = source.encode("latin-1").decode("utf-8", "replace")
        except UnicodeEncodeError:  # already text (an SVG script's, its references read)
            text = source
        try:
            data = json.loads(text)
        except ValueError:
            return None  # the browser ignores it too
        found: str | None = None
        strings: list[str] = []
        stack: list[Any] = [data]
        while stack and len(strings) < 1000:
            item = stack.pop()
            if isinstance(item, dict):
                if kind == "speculationrules" and ("where" in item or item.get("source") == "document"):
                    found = stricter(found, self._unreadable)
                strings.extend(k for k in item if isinstance(k, str))
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, str):
                strings.append(item)
        for text in strings:
            found = stricter(found, self._refusal(self._url_category("script", "src", text)))
        return found

    def _inject(self, markup: str) -> str:
        """Markup in the page's charset, as Latin-1 text (the rewriter's working form)."""
        return _in_charset(markup, self.plan.charset)


class Encoded(str):
    """Markup already in the page's charset, as Latin-1 text (the rewriter's working form).

    The rewriter injects it as it is. :func:`encode_markup` makes one; the renderer keeps the banner
    in this form per charset, so that no page pays for encoding (or hashing) ten kilobytes of it.
    """

    __slots__ = ()


def encode_markup(markup: str, charset: str) -> Encoded:
    """``markup`` in ``charset`` (characters it lacks as character references), ready to inject."""
    if isinstance(markup, Encoded):
        return markup
    return Encoded(_in_charset(markup, charset))


def _in_charset(markup: str, charset: str) -> str:
    """``markup`` encoded in ``charset`` (characters it lacks as references), as Latin-1 text."""
    if type(markup) is Encoded or markup.isascii():  # ASCII is the same in every charset the rewriter takes
        return markup
    return markup.encode(charset, "xmlcharrefreplace").decode("latin-1")


#: What a tag holds if one of its URLs may point at another host, however it is written: "//" (also
#: with tabs or newlines between, which browsers remove), a backslash (read as "/"), a character
#: reference ("&#47;") or a scheme ("https:host"). A tag without any of these only loads from the page's site.
_MAYBE_ELSEWHERE = re.compile(r"/[\t\n\r]*/|\\|&|:")
#: Where a ``<meta http-equiv=refresh>`` content names its URL: after the delay and a ";" or ",".
_REFRESH_URL = re.compile(r"[\t\n\f\r ]*[0-9.]*[\t\n\f\r ]*[;,]?[\t\n\f\r ]*(?:url[\t\n\f\r ]*=)?(.*)", re.I | re.S)
#: Elements that load a document from their URL: a ``data:`` URL there is a page of its own.
_DOCUMENT_ELEMENTS = frozenset({"iframe", "frame", "object", "embed"})


def _tag(name: str, attrs: list[tuple[str, str | None]], self_closing: bool) -> str:
    """A start tag written back from its attributes (values as :meth:`HTMLRewriter._attributes` gives them)."""
    parts = [f"<{name}"]
    for key, value in attrs:
        if key[0] == "=":
            continue  # malformed markup: see HTMLRewriter._inert
        parts.append(f' {key}="{value}"' if value is not None else f" {key}")
    parts.append(" />" if self_closing else ">")
    return "".join(parts)


def _srcset_urls(value: str) -> list[str]:
    """Every URL a ``srcset`` may fetch, and more: its words and their comma-separated parts.

    A candidate's URL is a run of non-whitespace whose trailing commas are dropped (it may hold commas);
    a comma right after a descriptor starts the next candidate. Both readings are classified.
    """
    words = [word.strip(",") for word in _SRCSET_SPACE.split(value)]
    words += _SRCSET_SPACE_OR_COMMA.split(value)
    return [word for word in dict.fromkeys(words) if word]  # in order, for the same output every run


def _comment_end(buf: str, at: int) -> int:
    """Where a comment whose ``<!--`` ends at ``at`` ends, as browsers read it; -1 if not in ``buf``.

    ``<!-->`` and ``<!--->`` are whole (empty) comments, and ``--!>`` ends one as ``-->`` does.
    """
    if buf.startswith(">", at):
        return at + 1
    if buf.startswith("->", at):
        return at + 2
    plain = buf.find("-->", at)
    bang = buf.find("--!>", at, plain if plain >= 0 else len(buf))
    if bang >= 0:
        return bang + 4
    return plain + 3 if plain >= 0 else -1


def _maybe_quoted(low: str, pos: int, at: int) -> bool:
    """Whether ``low[at]`` may be in a quoted attribute value: the last quote before it follows a "="."""
    for quote in "\"'":
        opened = low.rfind(quote, pos, at)
        if opened >= 0:
            before = opened - 1
            while before >= pos and low[before] in _WS:
                before -= 1
            if before >= pos and low[before] == "=":
                return True
    return False


def _has_src(buf: str, low: str, attrs_at: int, end: int) -> bool:
    """Whether the start tag whose attributes are ``buf[attrs_at:end - 1]`` has a ``src`` attribute."""
    at = low.find("src", attrs_at, end)
    if at < 0:
        return False
    if (
        low[at - 1] in _WS
        and low[at + 3] in "\t\n\f\r =/>"
        and low.find('"', attrs_at, at) < 0
        and low.find("'", attrs_at, at) < 0
        and not low[attrs_at:at].rstrip(_WS).endswith("=")
    ):
        return True  # no quote before it and not a value: an attribute name (the common case, read fast)
    return _has(HTMLRewriter._attributes(buf[attrs_at : end - 1]), "src")


def _child_text(markup: str) -> tuple[str, bool]:
    """The child text of an element of foreign content: its text and CDATA, not its comments, tags or elements'.

    Tags end where the tokenizer ends them (a ``>`` in a quoted value does not). An element opened in
    it holds what follows up to the end tag that closes it (the innermost open one of its name; an end
    tag of no element open in it closes nothing here). Returns the text and whether the markup ends
    inside a comment, a CDATA section or a tag (which is then dropped).
    """
    if "<" not in markup:
        return markup, False
    low = markup.lower()
    out: list[str] = []
    open_names: list[str] = []  # the elements open inside it: their text is not its own
    at = 0
    while (lt := markup.find("<", at)) >= 0:
        if not open_names:
            out.append(markup[at:lt])
        if markup.startswith("<!--", lt):
            end = _comment_end(markup, lt + 4)
        elif markup.startswith("<![CDATA[", lt):  # in capitals only: "<![cdata[" is a bogus comment
            close = markup.find("]]>", lt + 9)
            if not open_names:
                out.append(markup[lt + 9 : close if close >= 0 else len(markup)])
            if close < 0:
                return "".join(out), True
            end = close + 3
        elif "a" <= low[lt + 1 : lt + 2] <= "z" or (low[lt + 1 : lt + 2] == "/" and "a" <= low[lt + 2 : lt + 3] <= "z"):
            closing = low[lt + 1] == "/"
            name = _NAME_END.match(low, lt + 2 if closing else lt + 1)
            found = _TAG_END.match(markup, name.end()) if name is not None else None
            end = found.end() if found is not None else -1
            if end >= 0 and name is not None:
                tag = low[lt + 2 if closing else lt + 1 : name.end()]
                if not closing:
                    if markup[end - 2] != "/":  # "<g/>" holds nothing
                        open_names.append(tag)
                elif tag in open_names:
                    del open_names[len(open_names) - 1 - open_names[::-1].index(tag) :]
        elif low[lt + 1 : lt + 2] in ("!", "?", "/"):
            close = markup.find(">", lt)
            end = close + 1 if close >= 0 else -1
        else:  # a "<" that is text
            if not open_names:
                out.append("<")
            at = lt + 1
            continue
        if end < 0:
            return "".join(out), True  # cut by the end: dropped, as browsers drop it
        at = end
    if not open_names:
        out.append(markup[at:])
    return "".join(out), False


def _holds(positions: list[int] | None, start: int, end: int) -> bool:
    """Whether one of the sorted ``positions`` lies in ``[start, end)``."""
    if not positions:
        return False
    index = bisect.bisect_left(positions, start)
    return index < len(positions) and positions[index] < end


def _has(attrs: list[tuple[str, str | None]], name: str) -> bool:
    """Whether an attribute named ``name`` (lowercase) is among ``attrs``."""
    return any(key.lower() == name for key, _ in attrs)


def _host(url: str) -> str | None:
    url = url.strip()
    if url.startswith("//"):
        rest = url[2:]
    elif "://" in url[:10]:
        rest = url.split("://", 1)[1]
    else:
        return None
    return rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0] or None


def rewrite(plan: RewritePlan, chunks: Sequence[bytes]) -> bytes:
    """Rewrite a whole page given as chunks (for tests and tools)."""
    rewriter = HTMLRewriter(plan)
    return b"".join([*(rewriter.feed(c) for c in chunks), rewriter.close()])


_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")


def unescape_attribute(value: str) -> str:
    """``value`` with its character references read as in an attribute value (the HTML standard).

    As :func:`html.unescape`, except that a named reference without its ``;`` followed by ``=`` or
    an ASCII letter or digit is left as it is written: ``&quotx`` stays ``&quotx`` there.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name[0] == "#" or name in html5:
            return unescape(match.group(0))
        for end in range(min(len(name) - 1, 32), 1, -1):
            if name[:end] in html5:
                following = name[end]
                if following == "=" or (following.isascii() and following.isalnum()):
                    return match.group(0)
                return html5[name[:end]] + name[end:]
        return match.group(0)

    return _CHARREF.sub(replace, value)
