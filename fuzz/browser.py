r"""A page as a browser sees it: the elements that would fetch or run something, and what they point at.

The rewriter's promise is about browsers: no element of a refused category may stay active. Checking
it with the rewriter's own notion of a tag would prove nothing, so the fuzz targets check the output
with this separate reading, written from the WHATWG HTML tokenizer and URL parser:

- tags: tag-name, attribute and self-closing states, quoted and unquoted values, character references
  in attribute values (with the attribute exception for legacy names without ``;``), first attribute
  wins; comments, including ``<!-->``, ``<!--->`` and ``--!>``; bogus comments (``<?``, ``<!x``,
  ``</1``); an unfinished tag at the end of input is dropped, as browsers drop it;
- the elements whose content is text: ``script`` (script data), ``style``, ``xmp``, ``iframe``,
  ``noembed``, ``noframes`` and, when scripting is on, ``noscript`` (raw text), ``title`` and
  ``textarea`` (RCDATA), and ``plaintext`` (all the rest). Their content ends at ``</name`` followed by
  whitespace, ``/`` or ``>``, in any letter case;
- ``<image>`` is read as ``<img>``, as the tree builder does;
- URLs: leading and trailing C0 controls and spaces are stripped, tabs and newlines removed, ``\\``
  read as ``/``, scheme-relative (``//host``) and ``http:host`` forms resolved against an ``https``
  page, user info and port dropped, the host percent-decoded and mapped with IDNA.

- foreign content: under an ``<svg>`` or ``<math>`` element no element's content is text, CDATA
  sections are text, the SVG ``image``, ``script``, ``feImage`` and ``use`` elements fetch their
  ``href`` or ``xlink:href`` (an ``<image>`` stays an SVG image), an SVG script runs its text; the
  start tags that break out of it (``<img>``, ``<div>``, ``<font color>``…, and the end tags ``</p>``
  and ``</br>``) close every foreign element up to the nearest HTML integration point (SVG
  ``foreignObject``, ``desc`` and ``title``; MathML ``mi``, ``mo``, ``mn``, ``ms``, ``mtext`` and an
  ``annotation-xml`` whose encoding is HTML), whose content is read as HTML again; an end tag closes
  the innermost open foreign element or integration point of its name, never across a ``<noscript>``
  read without scripting (``</noscript>`` itself is ignored while an integration point is open in it).

It does not model tree construction beyond that (the HTML elements around or inside foreign content,
``<select>`` and table quirks), nor CSS (``url()`` in ``style``), nor inline scripts holding bytes that are not UTF-8
(which it does not classify), nor the escaped states of script data, where browsers
end a script later than this reading does (so it may see more tags than a browser, never fewer, for the
constructs it covers).
"""

from __future__ import annotations

import contextlib
import html.entities
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

__all__ = [
    "FETCHING",
    "MARKABLE",
    "Element",
    "Violation",
    "active_violations",
    "decode_attribute",
    "elements",
    "ends_inside_tag",
    "tags",
    "url_host_path",
]

_WS = "\t\n\f\r "
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
        "module",
    }
)
#: The attributes through which an element fetches something without any user action.
FETCHING: dict[str, tuple[str, ...]] = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src", "srcdoc"),
    "embed": ("src",),
    "object": ("data",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "source": ("src", "srcset"),
    "track": ("src",),
    "link": ("href", "imagesrcset"),
    "input": ("src",),  # with type=image
    "body": ("background",),
    "table": ("background",),
    "td": ("background",),
    "th": ("background",),
}
_SRCSET = frozenset({"srcset", "imagesrcset"})
#: The same for the SVG elements of foreign content.
FOREIGN_FETCHING: dict[str, tuple[str, ...]] = {
    name: ("href", "xlink:href") for name in ("image", "script", "feimage", "use")
}
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
#: script holding one is not classified.
_UNDECODED = re.compile("[\udc80-\udcff]")


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def _strip_ws(text: str) -> str:
    return text.strip(_WS)


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


@dataclass
class Element:
    """A start tag a browser builds an element from.

    Attributes:
        name: The tag name (ASCII lowercase).
        attrs: Attribute names (ASCII lowercase) to decoded values; the first of duplicates wins.
        content: The text content, for the elements whose content is text (``script``…).
        raw: The attribute values as written.
        written: The tag name as written.
        stray_quote: Whether a quote appears in an attribute name or unquoted value.
        end: Whether this is an end tag.
        source: The tag as written.
        at: Where it starts in the text.
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


def _scan(text: str, scripting: bool) -> tuple[list[Element], bool]:
    """The elements of ``text``, and whether it ends inside a tag."""
    found: list[Element] = []
    # Open <svg> and <math> elements and integration points: (name, namespace or "html" for a point),
    # and, read without scripting, the <noscript> elements around them (namespace "noscript").
    open_: list[tuple[str, str]] = []
    n = len(text)
    i = 0
    while i < n:
        lt = text.find("<", i)
        if lt < 0 or lt + 1 >= n:
            break
        nxt = text[lt + 1]
        foreign = bool(open_) and open_[-1][1] in ("svg", "math")
        if nxt == "!":
            if text.startswith("<!--", lt):
                i = _comment_end(text, lt + 4)
            elif foreign and text.startswith("[CDATA[", lt + 2):
                end = text.find("]]>", lt + 9)
                i = n if end < 0 else end + 3
            else:
                i = _bogus_comment_end(text, lt + 2)
            continue
        if nxt == "?":
            i = _bogus_comment_end(text, lt + 2)
            continue
        if nxt == "/":
            after = text[lt + 2 : lt + 3]
            if after.isascii() and after.isalpha():
                tag = _tag(text, lt + 2)
                if tag is None:
                    return found, True
                tag[0].end = True
                tag[0].source, tag[0].at = text[lt : tag[1]], lt
                found.append(tag[0])
                i = tag[1]
                name = tag[0].name
                if foreign and name in ("br", "p"):
                    _break_out(open_)
                else:
                    _close(open_, name)
            elif after == ">":
                i = lt + 3
            elif not after:
                break
            else:
                i = _bogus_comment_end(text, lt + 2)
            continue
        if not (nxt.isascii() and nxt.isalpha()):
            i = lt + 1
            continue
        tag = _tag(text, lt + 1)
        if tag is None:
            return found, True
        element, i = tag
        element.source, element.at = text[lt:i], lt
        name = element.name
        closed = element.source.endswith("/>")
        if foreign and (name in _BREAKOUT or (name == "font" and {"color", "face", "size"} & element.attrs.keys())):
            _break_out(open_)
            i = lt  # read again, as HTML (or in an integration point)
            continue
        if foreign:
            element.foreign = True
            found.append(element)
            root = open_[-1][1]
            if name in ("svg", "math"):
                if not closed:
                    open_.append((name, name))
            elif name in _INTEGRATION_POINTS[root] and not closed:
                encoding = _ascii_lower(_strip_ws(element.attrs.get("encoding", "")))
                if name != "annotation-xml" or encoding in ("text/html", "application/xhtml+xml"):
                    open_.append((name, "html"))
            elif name == "script" and not closed:
                # An SVG script's text, up to its end tag (tags in it are still read, as markup).
                element.content = text[i : _text_end(text, "script", i)]
            continue
        if name == "svg" or name == "math":
            element.foreign = True
            found.append(element)
            if not closed:
                open_.append((name, name))
            continue
        if element.name == "image":
            element.name = "img"
        name = element.name
        found.append(element)
        if name == "noscript" and not scripting and open_:
            open_.append((name, "noscript"))
        if name == "plaintext":
            break
        if name == "script" or name in _RAWTEXT or name in _RCDATA or (scripting and name == "noscript"):
            end = _text_end(text, name, i)
            element.content = text[i:end]
            i = end
    return found, False


def _break_out(open_: list[tuple[str, str]]) -> None:
    """Close the foreign elements up to the innermost integration point or HTML element."""
    while open_ and open_[-1][1] in ("svg", "math"):
        open_.pop()


def _close(open_: list[tuple[str, str]], name: str) -> None:
    """An end tag: it closes the innermost open element of its name, but never across a <noscript>.

    A <noscript> is a "special" HTML element: an end tag that reaches it is ignored, and ``</noscript>``
    itself is, when an integration point is the current node.
    """
    for k in range(len(open_) - 1, -1, -1):
        element, kind = open_[k]
        if kind == "noscript":
            if name == "noscript":
                del open_[k:]
            return
        if name == "noscript" and kind == "html":
            return
        if element == name:
            del open_[k:]
            return


def url_host_path(value: str, base_scheme: str = "https") -> tuple[str, str] | None:
    """The host and path a URL attribute fetches on an ``https`` page, or None if it stays on the page's host.

    Returns None for relative URLs, paths, and schemes other than http and https.
    """
    url = value.strip("".join(chr(c) for c in range(0x21)))
    url = url.replace("\t", "").replace("\n", "").replace("\r", "")
    match = re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", url)
    if match is not None:
        scheme = _ascii_lower(match.group()[:-1])
        rest = url[match.end() :]
        if scheme not in ("http", "https"):
            return None
        if scheme == base_scheme and not (len(rest) >= 2 and rest[0] in "/\\" and rest[1] in "/\\"):
            return None  # https:path on an https page: relative to the page
    elif len(url) >= 2 and url[0] in "/\\" and url[1] in "/\\":
        rest = url
    else:
        return None
    rest = rest.lstrip("/\\")
    end = len(rest)
    for stop in "/\\?#":
        at = rest.find(stop)
        if 0 <= at < end:
            end = at
    authority, tail = rest[:end], rest[end:]
    host = authority.rsplit("@", 1)[-1]
    host = host.split("]", 1)[0] + "]" if host.startswith("[") else host.split(":", 1)[0]
    host = unquote(host, errors="replace")
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii")
    path = tail.replace("\\", "/").split("?", 1)[0].split("#", 1)[0]
    return _ascii_lower(host).rstrip("."), path or "/"


def _srcset_urls(value: str) -> list[str]:
    urls = []
    for candidate in value.split(","):
        parts = candidate.split()
        if parts:
            urls.append(parts[0])
    return urls


def _is_js(element: Element) -> bool:
    kind = element.attrs.get("type")
    if kind is None:
        language = element.attrs.get("language")
        if not language:
            return True
        kind = "text/" + language
    kind = _ascii_lower(_strip_ws(kind))
    return kind == "" or kind in _JS_TYPES


def _fetches(element: Element) -> list[tuple[str, str]]:
    """The (attribute, URL) pairs through which ``element`` fetches, if it does."""
    name = element.name
    if name == "input" and _ascii_lower(_strip_ws(element.attrs.get("type", ""))) != "image":
        return []
    out = []
    for attr in (FOREIGN_FETCHING if element.foreign else FETCHING).get(name, ()):
        value = element.attrs.get(attr)
        if value is None or attr == "srcdoc":
            continue
        for url in _srcset_urls(value) if attr in _SRCSET else [value]:
            if _strip_ws(url):
                out.append((attr, url))
    return out


@dataclass(frozen=True)
class Violation:
    """An element that stays active although its category is refused.

    Attributes:
        element: The element as read (its name, attributes as written and decoded).
        category: The refused category it needs.
        reason: What is active: ``url`` (a fetching attribute), ``marked`` (a marked element that
            still fetches or runs), ``inline`` (an inline script's content).
        attr: The fetching attribute, for ``url``.
        url: The URL, for ``url`` (decoded).
        srcdoc: How many ``srcdoc`` documents deep it is.
    """

    element: Element
    category: str
    reason: str
    attr: str | None = None
    url: str | None = None
    srcdoc: int = 0

    def __str__(self) -> str:
        where = " in an iframe's srcdoc" if self.srcdoc else ""
        if self.reason == "url":
            return f"<{self.element.written} {self.attr}={self.url!r}> fetches a {self.category} URL{where}"
        if self.reason == "inline":
            return f"an inline {self.category} script runs{where}: {self.element.content[:80]!r}"
        return f"<{self.element.written}> marked {self.category!r} is active{where}: {self.element.raw}"


def active_violations(
    text: str,
    allowed: Callable[[str], bool],
    category_of_url: Callable[[str], str | None],
    category_of_script: Callable[[str], str | None],
    depth: int = 0,
) -> list[Violation]:
    """What stays active in ``text`` although its category is refused, as a browser would read it.

    Both readings count: with scripting on (``noscript`` is text, scripts run) and off (``noscript``
    content is markup, no script runs).

    Args:
        text: The rewritten page, decoded.
        allowed: Whether a category is in force.
        category_of_url: The category an ``https://host/path`` URL needs (None: first party, unknown).
        category_of_script: The category an inline script's source needs.
        depth: How deep in ``srcdoc`` documents this is (they are read too, up to three deep).
    """
    found: dict[str, Violation] = {}
    for scripting in (True, False):
        for element in elements(text, scripting):
            if element.name == "script" and not (scripting and _is_js(element)):
                continue  # a data block, an author-inert script, or no scripting: nothing runs
            for violation in _element_violations(element, allowed, category_of_url, category_of_script, depth):
                found.setdefault(str(violation), violation)
    return list(found.values())


def _external(script: Element) -> bool:
    """Whether a script element runs a fetched script (then its content is not run)."""
    return any(attr in script.attrs for attr in (FOREIGN_FETCHING if script.foreign else FETCHING)["script"])


def _element_violations(
    element: Element,
    allowed: Callable[[str], bool],
    category_of_url: Callable[[str], str | None],
    category_of_script: Callable[[str], str | None],
    depth: int,
) -> list[Violation]:
    out: list[Violation] = []
    marked = element.attrs.get("data-category")
    fetches = _fetches(element)
    if marked is not None and element.name in MARKABLE and not element.foreign:
        category = marked.strip()
        if allowed(category):
            return out
        runs = element.name == "script" and not _external(element) and bool(element.content.strip())
        if fetches or runs or (element.name == "iframe" and "srcdoc" in element.attrs):
            out.append(Violation(element, category, "marked", srcdoc=depth))
        return out
    for attr, url in fetches:
        target = url_host_path(url)
        if target is None:
            continue
        needed = category_of_url(f"https://{target[0]}{target[1]}")
        if needed is not None and not allowed(needed):
            out.append(Violation(element, needed, "url", attr, url, depth))
    if element.name == "script" and not _external(element) and not _UNDECODED.search(element.content):
        needed = category_of_script(element.content)
        if needed is not None and not allowed(needed):
            out.append(Violation(element, needed, "inline", srcdoc=depth))
    if element.name == "iframe" and not element.foreign and "srcdoc" in element.attrs and depth < 3:
        out.extend(active_violations(element.attrs["srcdoc"], allowed, category_of_url, category_of_script, depth + 1))
    return out
