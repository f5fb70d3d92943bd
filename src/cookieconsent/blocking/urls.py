r"""URLs as browsers resolve them, so that the tracker catalog judges where a request really goes.

A browser does not fetch the text of an attribute: it parses it with the WHATWG URL standard first.
This module follows the parts of that parser that decide the host and the path:

- leading and trailing C0 controls and spaces are stripped, tabs and newlines removed;
- the scheme decides the reading: ``http:``, ``https:`` (and the other special schemes) read ``\`` as
  ``/``, take any number of slashes before the host, and read ``https:host`` as a relative URL when the
  base has the same scheme; ``data:`` and ``javascript:`` carry a document or a script of their own;
- the host is percent-decoded and mapped with UTS #46 (``。`` and the full-width full stop are dots, full-width letters
  are letters, upper case is lower case, a soft hyphen is nothing), through the ``idna`` package;
- the path has its dot segments removed, percent-encoded dots (``%2e``) included;
- a relative URL is resolved against the document's base: the page itself, or its ``<base href>``.

:func:`resolve` gives every reading a browser may make of a URL: where one cannot be settled from the
page alone (``https:host`` on a page whose scheme is not known), both. A URL this parser cannot read
comes back as :data:`FAILURE`, and the rewriter then treats it as a tracker's: fail closed.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, unquote_to_bytes

import idna

__all__ = [
    "FAILURE",
    "FIRST_PARTY",
    "OPAQUE",
    "Base",
    "Target",
    "base_from",
    "parse_data_url",
    "resolve",
]

SPECIAL = frozenset({"http", "https", "ws", "wss", "ftp"})
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*:")
_C0_OR_SPACE = "".join(map(chr, range(0x21)))
_TAB_OR_NEWLINE = str.maketrans("", "", "\t\n\r")
#: Where an authority ends in a special URL.
_AUTHORITY_END = re.compile(r"[/\\?#]")
#: Code points a domain may not hold once mapped (WHATWG "forbidden domain code point").
_FORBIDDEN_DOMAIN = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")
_PORT = re.compile(r"[0-9]*\Z")
_SINGLE_DOT = frozenset({".", "%2e"})
_DOUBLE_DOT = frozenset({"..", ".%2e", "%2e.", "%2e%2e"})
#: The longest URL whose reading is remembered (longer ones are read every time).
_CACHED_URL = 2048


@dataclass(frozen=True, slots=True)
class Base:
    """What relative URLs resolve against.

    Attributes:
        scheme: ``http`` or ``https``; ``""`` when not known (the page's own URL, either of them).
        host: The base's host; ``None`` for the page's own site.
        path: The base's path (``/`` for the page's own URL: its path does not change the host).
        opaque: The base cannot resolve relative URLs (a ``data:`` document): they fetch nothing.
        failed: The base could not be read (a ``<base href>`` this parser fails on): relative URLs
            cannot be read either.
    """

    scheme: str = ""
    host: str | None = None
    path: str = "/"
    opaque: bool = False
    failed: bool = False

    @property
    def elsewhere(self) -> bool:
        """Whether a relative URL may leave the page's site (or cannot be told)."""
        return self.host is not None or self.failed


#: The page's own URL: relative URLs stay on the page's site.
FIRST_PARTY = Base()
#: A document with no usable base (``data:`` URLs): relative URLs fail to parse and fetch nothing.
OPAQUE = Base(opaque=True)


@dataclass(frozen=True, slots=True)
class Target:
    """One reading of a URL.

    Attributes:
        kind: ``"network"`` (an ``http``-like URL), ``"data"`` (a ``data:`` URL), ``"javascript"`` (a
            script to run), ``"none"`` (nothing leaves the page: ``about:``, ``blob:``, ``mailto:``, a
            fragment, a relative URL in a document without a base) or ``"failure"`` (unreadable).
        host: For ``network``: the host, mapped and in lower case, ``None`` for the page's own site.
        path: For ``network``: the path without dot segments, percent-decoded.
        payload: For ``data``: the body, as Latin-1 text (byte for byte); for ``javascript``: the script.
        media_type: For ``data``: the media type's essence (``text/html``), in lower case.
        scheme: For ``network``: the scheme.
    """

    kind: str
    host: str | None = None
    path: str = "/"
    payload: str = ""
    media_type: str = ""
    scheme: str = ""


FAILURE = Target("failure")
_NONE = Target("none")
_OWN_SITE = Target("network")


def resolve(url: str, base: Base = FIRST_PARTY) -> tuple[Target, ...]:
    """Every reading a browser may make of ``url`` (an attribute's value, character references decoded).

    Args:
        url: The URL as written.
        base: The document's base URL.

    Returns:
        One target, or two where the page's scheme decides between them (``https:host``).
    """
    if len(url) > _CACHED_URL:
        return _resolve(url, base)
    return _resolve_cached(url, base)


def _resolve(url: str, base: Base) -> tuple[Target, ...]:
    url = url.strip(_C0_OR_SPACE).translate(_TAB_OR_NEWLINE)
    scheme_match = _SCHEME.match(url)
    if scheme_match is None:
        return (_relative(url, base),)
    scheme = scheme_match.group()[:-1].lower()
    rest = url[scheme_match.end() :]
    if scheme in SPECIAL:
        slashes = len(rest) - len(rest.lstrip("/\\"))
        absolute = _authority(scheme, rest.lstrip("/\\"))
        if slashes >= 2 or base.opaque:
            return (absolute,)
        # "https:host" and "https:/host": relative to a base of the same scheme, else a host of their own.
        if base.scheme == scheme:
            return (_relative(rest, base),)
        if base.scheme:
            return (absolute,)
        return (absolute, _relative(rest, base))
    if scheme == "data":
        return parse_data_url(rest)
    if scheme == "javascript":
        return (Target("javascript", payload=unquote(rest, errors="replace")),)
    return (_NONE,)  # file:, about:, blob:, mailto:, a custom scheme: nothing a tracker receives


_resolve_cached = lru_cache(maxsize=4096)(_resolve)


def base_from(href: str, base: Base = FIRST_PARTY) -> Base:
    """The document base a ``<base href>`` sets (``href`` with its character references decoded).

    An ``http`` or ``https`` URL is a base; anything else (``data:``, ``javascript:``) leaves the
    document's own URL, as browsers do. A URL this parser cannot read gives a base that fails: every
    relative URL after it is then judged as unreadable.
    """
    targets = resolve(href, base)
    if any(t.kind == "failure" for t in targets):
        return Base(failed=True)
    network = [t for t in targets if t.kind == "network"]
    if not network:
        return base
    if len(network) > 1:  # the page's scheme decides between two readings: take the other site's
        network.sort(key=lambda t: t.host is None)
    target = network[0]
    if target.host is None:
        return base
    scheme = target.scheme
    if not base.scheme and href.lstrip(_C0_OR_SPACE)[:1] in ("/", "\\"):
        scheme = ""  # "//host/": the page's scheme, which is not known here
    return Base(scheme, target.host, target.path)


def _relative(url: str, base: Base) -> Target:
    """``url`` (no scheme) against ``base``."""
    if base.opaque:
        return _NONE
    if base.failed:
        return FAILURE
    if url[:2] in ("//", "\\\\", "/\\", "\\/"):
        return _authority(base.scheme or "https", url.lstrip("/\\"))
    if base.host is None:
        return _OWN_SITE
    cut = len(url)
    for stop in "?#":
        at = url.find(stop)
        if 0 <= at < cut:
            cut = at
    path = url[:cut].replace("\\", "/")
    if not path:
        path = base.path
    elif not path.startswith("/"):
        path = base.path[: base.path.rfind("/") + 1] + path
    return Target("network", base.host, _path(path), scheme=base.scheme)


def _authority(scheme: str, rest: str) -> Target:
    """A special URL's target from what follows its slashes: ``user@host:port/path?query``."""
    end = _AUTHORITY_END.search(rest)
    authority = rest[: end.start()] if end is not None else rest
    rest = rest[len(authority) :]
    hostport = authority.rpartition("@")[2]
    if hostport.startswith("["):  # an IPv6 literal: never a catalog host, but a host all the same
        close = hostport.find("]")
        if close < 0:
            return FAILURE
        host, port = hostport[: close + 1].lower(), hostport[close + 1 :]
        if port and (port[0] != ":" or not _PORT.match(port, 1)):
            return FAILURE
    else:
        host, _, port = hostport.partition(":")
        if not _PORT.match(port):
            return FAILURE
        mapped = domain(host)
        if mapped is None:
            return FAILURE
        host = mapped
    cut = len(rest)
    for stop in "?#":
        at = rest.find(stop)
        if 0 <= at < cut:
            cut = at
    path = rest[:cut].replace("\\", "/") or "/"
    return Target("network", host, _path(path), scheme=scheme)


def domain(host: str) -> str | None:
    """A URL's host as browsers map it (UTS #46, no trailing dot), or ``None`` where they would fail."""
    if not host or len(host) > 1024:
        return None  # decided before the cache, which then only ever holds short hosts
    return _domain(host)


@lru_cache(maxsize=1024)
def _domain(host: str) -> str | None:
    try:
        decoded = unquote_to_bytes(host.encode("utf-8")).decode("utf-8")
    except UnicodeError:  # a lone surrogate, or bytes that are not UTF-8
        return None
    if decoded.isascii() and "%" not in host:
        mapped = decoded.lower()
    else:
        try:
            mapped = idna.uts46_remap(decoded, std3_rules=False, transitional=False)
        except (idna.IDNAError, ValueError):
            return None
    if not mapped or _FORBIDDEN_DOMAIN.search(mapped):
        return None
    if not mapped.isascii():
        try:  # what the browser would look up; it fails where this fails
            idna.encode(mapped, uts46=False, std3_rules=False)
        except (idna.IDNAError, ValueError, UnicodeError):
            return None
    mapped = mapped.removesuffix(".")
    return mapped or None


def _path(path: str) -> str:
    """``path`` with its dot segments removed (``%2e`` is a dot), then percent-decoded."""
    if "." in path or "%" in path:
        segments: list[str] = []
        parts = path.split("/")[1:] if path.startswith("/") else path.split("/")
        for i, segment in enumerate(parts):
            last = i == len(parts) - 1
            lowered = segment.lower()
            if lowered in _DOUBLE_DOT:
                if segments:
                    segments.pop()
                if last:
                    segments.append("")
            elif lowered in _SINGLE_DOT:
                if last:
                    segments.append("")
            else:
                segments.append(segment)
        path = "/" + "/".join(segments)
    return unquote(path, encoding="latin-1")


def parse_data_url(rest: str) -> tuple[Target, ...]:
    """A ``data:`` URL (what follows ``data:``) as the fetch standard reads it.

    Returns a ``data`` target with the body as Latin-1 text, or :data:`FAILURE` if it has no comma or
    its base64 does not decode. Where browsers may read the body in two charsets (see
    :func:`_charsets`), one target per reading.
    """
    rest = rest.strip(" \t\n\f\r")
    media, comma, body = rest.partition(",")
    if not comma:
        return (FAILURE,)
    payload = unquote_to_bytes(body.encode("utf-8", "surrogatepass"))
    media = media.strip(" \t\n\f\r")
    is_base64 = media.lower().rstrip(" \t\n\f\r").endswith(";base64")
    if is_base64:
        media = media[: media.lower().rfind(";base64")]
        decoded = _forgiving_base64(payload)
        if decoded is None:
            return (FAILURE,)
        payload = decoded
    essence = media.split(";", 1)[0].strip(" \t\n\f\r").lower() or "text/plain"
    readings = dict.fromkeys(_as_utf8(payload, charset) for charset in _charsets(media))
    return tuple(Target("data", payload=text.decode("latin-1"), media_type=essence) for text in readings)


_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"?', re.DOTALL)


def _charsets(media: str) -> tuple[str, ...]:
    """The charset a media type names, read the two ways browsers read it (``""``: none).

    The MIME Sniffing standard reads parameters with quoted strings (``a="x;charset=y"`` names no
    charset); Chromium splits them on every ``;`` (and fails a value that is no token, which
    fetches nothing). Where the two differ, both count, so the content is judged in each.
    """
    standard = ""
    at = media.find(";")
    while 0 <= at < len(media) and not standard:
        at += 1
        while media[at : at + 1] in (" ", "\t", "\n", "\r"):
            at += 1
        end = len(media)
        for stop in ";=":
            found = media.find(stop, at)
            if 0 <= found < end:
                end = found
        name, at = media[at:end].lower(), end
        if media[at : at + 1] != "=":
            continue
        at += 1
        if media[at : at + 1] == '"':
            quoted = _QUOTED.match(media, at)
            assert quoted is not None  # the pattern matches any text after a quote
            value = re.sub(r"\\(.)", r"\1", quoted.group(1), flags=re.DOTALL)
            found = media.find(";", quoted.end())
            at = len(media) if found < 0 else found
        else:
            found = media.find(";", at)
            found = len(media) if found < 0 else found
            value, at = media[at:found].rstrip(" \t\n\r"), found
        if name == "charset":
            standard = value
    split = ""
    for param in media.split(";")[1:]:
        key, equals, value = param.strip(" \t\n\f\r").partition("=")
        if equals and key.lower() == "charset":
            split = value
            break
    return (standard,) if split == standard else (standard, split)


def _as_utf8(payload: bytes, charset: str) -> bytes:
    """A document's bytes in UTF-8 if browsers read them as UTF-16 (by its BOM or ``charset``), else as they are.

    Every other encoding a browser reads leaves ASCII as it is, which is all that a tracker's markup
    needs. Only the WHATWG labels of UTF-16 count: a label browsers do not know (``utf-32``) leaves
    the bytes read as ASCII, as they are read.
    """
    if payload.startswith(b"\xef\xbb\xbf"):
        return payload
    if payload.startswith((b"\xff\xfe", b"\xfe\xff")):
        return payload.decode("utf-16", "replace").encode("utf-8")
    encoding = _UTF16_LABELS.get(charset.strip(" \t\n\f\r").lower())
    if encoding is not None:
        return payload.decode(encoding, "replace").encode("utf-8")
    return payload


#: The WHATWG Encoding Standard's labels of UTF-16, and the codec each stands for.
_UTF16_LABELS = {
    **dict.fromkeys(
        ("csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff", "utf-16", "utf-16le"), "utf-16-le"
    ),
    **dict.fromkeys(("unicodefffe", "utf-16be"), "utf-16-be"),
}


_BASE64 = re.compile(rb"[A-Za-z0-9+/]*\Z")


def _forgiving_base64(data: bytes) -> bytes | None:
    """The infra standard's forgiving-base64 decode: whitespace ignored, padding optional."""
    data = data.translate(None, b" \t\n\f\r")
    if len(data) % 4 == 0:
        data = data.removesuffix(b"==") if data.endswith(b"==") else data.removesuffix(b"=")
    if len(data) % 4 == 1 or not _BASE64.match(data):
        return None
    try:
        return base64.b64decode(data + b"=" * (-len(data) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
