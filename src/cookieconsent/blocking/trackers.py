"""The catalog of well-known trackers, by consent category.

An element of a page that is not marked with ``data-category`` gets its category from here when a URL
it fetches points at a tracker. The catalog matches hosts in two ways:

- by domain, where the whole host serves tracking: ``doubleclick.net`` matches ``doubleclick.net``
  and every subdomain of it, whatever the path;
- by host and path, where the host also serves content: ``facebook.com/tr`` matches
  ``www.facebook.com/tr?id=…`` but not ``www.facebook.com/help``.

URLs are read as browsers resolve them first (see :mod:`cookieconsent.blocking.urls`). Inline scripts that
load a tracker host, or call a vendor's well-known tag functions, are caught too. A policy adds its
own hosts with ``[[trackers]]`` entries, which come first and may reclassify a built-in host.

The built-in catalog lives in ``data/trackers.toml``; its cookie names come from the Open Cookie
Database (Apache-2.0).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from cookieconsent.blocking.urls import FIRST_PARTY, Base, Target, resolve

__all__ = ["BUILTIN", "UNPARSEABLE", "VENDORS", "Catalog", "TrackerHost", "Vendor", "load_vendors", "stricter"]


@dataclass(frozen=True, slots=True)
class TrackerHost:
    """A host (and optionally a path prefix) whose requests need consent to ``category``."""

    host: str
    category: str
    path: str = ""
    vendor: str = ""


@dataclass(frozen=True, slots=True)
class Vendor:
    """One vendor's tracking service in the built-in catalog.

    Attributes:
        name: The vendor's name (``Google Analytics``).
        category: The consent category its requests need.
        domains: Hosts that serve only tracking: each matches itself and its subdomains.
        urls: ``host/path`` prefixes on hosts that also serve content.
        signatures: Regular expressions found only in the vendor's inline loader snippets.
        cookies: The cookie names it sets; a trailing ``*`` matches any suffix.
    """

    name: str
    category: str
    domains: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    signatures: tuple[str, ...] = ()
    cookies: tuple[str, ...] = ()

    def hosts(self) -> list[TrackerHost]:
        """The catalog rules of this vendor."""
        rules = [TrackerHost(d, self.category, "", self.name) for d in self.domains]
        for url in self.urls:
            host, _, path = url.partition("/")
            rules.append(TrackerHost(host, self.category, f"/{path}", self.name))
        return rules

    def sets_cookie(self, name: str) -> bool:
        """Whether ``name`` is one of this vendor's cookies."""
        return any(name.startswith(c[:-1]) if c.endswith("*") else name == c for c in self.cookies)


def load_vendors(text: str) -> tuple[Vendor, ...]:
    """The vendors of a catalog file in the format of ``data/trackers.toml``."""
    vendors = []
    for entry in tomllib.loads(text).get("tracker", []):
        vendors.append(
            Vendor(
                name=entry["vendor"],
                category=entry["category"],
                domains=tuple(d.lower() for d in entry.get("domains", ())),
                urls=tuple(u.lower() for u in entry.get("urls", ())),
                signatures=tuple(entry.get("signatures", ())),
                cookies=tuple(entry.get("cookies", ())),
            )
        )
    return tuple(vendors)


#: The built-in catalog's vendors.
VENDORS: tuple[Vendor, ...] = load_vendors(
    resources.files("cookieconsent.blocking").joinpath("data/trackers.toml").read_text(encoding="utf-8")
)
#: The built-in catalog's host rules.
BUILTIN: tuple[TrackerHost, ...] = tuple(rule for vendor in VENDORS for rule in vendor.hosts())
#: What a URL that cannot be read needs: it is treated as a tracker's, of the strictest category refused.
UNPARSEABLE = "\x00unparseable"
#: The longest inline script whose category is remembered (characters); tag snippets are far shorter.
CACHED_SCRIPT = 16 * 1024

# When one snippet touches several categories, it needs the most privacy-invasive one.
_STRICTNESS = {"marketing": 3, "analytics": 2, "functional": 1}
#: What may be a host name in a script (labels with dots), not glued to other name characters, and the
#: path after it; the catalog then looks its suffixes up.
_HOST_LIKE = re.compile(r"(?<![a-z0-9.-])((?:[a-z0-9-]+\.)+[a-z0-9-]+)\.?(?![a-z0-9-])((?:\\?/[^\s'\"\\]*)*)", re.I)
_WORD = re.compile(r"\w")
#: What the single-character escapes of JavaScript stand for.
_JS_SINGLE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
#: A JavaScript escape in a string or an identifier: \xHH, \uHHHH, \u{H…}, octal, or any other character.
_JS_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|u\{([0-9a-fA-F]{1,6})\}|([0-7]{1,3})|(.))", re.S)
#: Dots that UTS #46 maps to ".", once NFKC has run (it maps U+FF0E, and U+FF61 to U+3002).
_DOTS = str.maketrans({"\u3002": ".", "\u00ad": None})


class Catalog:
    """Looks up the category of a URL or an inline script."""

    def __init__(self, extra: Iterable[TrackerHost] = (), vendors: Iterable[Vendor] = VENDORS) -> None:
        vendors = tuple(vendors)
        # The policy's own entries come first: they may reclassify a built-in host.
        self.rules = (*tuple(extra), *(rule for vendor in vendors for rule in vendor.hosts()))
        self.vendors = vendors
        self._by_host: dict[str, list[TrackerHost]] = {}
        for rule in self.rules:
            self._by_host.setdefault(rule.host.lower(), []).append(rule)
        # A pattern's leading \b stops the regex engine from searching for its literal start, which
        # makes each search many times slower: the boundary is checked on each match instead.
        self._signatures = [
            (re.compile(p.removeprefix("\\b")), p.startswith("\\b"), v.category) for v in vendors for p in v.signatures
        ]
        self._cached_url = lru_cache(maxsize=2048)(self._category_of_url)
        self._cached_script = lru_cache(maxsize=512)(self._category_of_script)
        # Long scripts are remembered by digest, so that a big inline bundle sent on every page is read once.
        self._long_scripts: dict[tuple[bytes, bool], str | None] = {}

    def category_of_url(self, url: str, base: Base = FIRST_PARTY) -> str | None:
        """The category a URL needs: ``None`` for the page's own site and unknown hosts.

        ``url`` is the attribute's value with its character references decoded. A ``javascript:`` URL
        needs what its script needs. A URL that cannot be read needs :data:`UNPARSEABLE`. ``data:``
        URLs fetch nothing from a host: what they hold is the caller's to judge (see
        :func:`cookieconsent.blocking.urls.resolve`).
        """
        if len(url) > 2048:
            return self._category_of_url(url, base)
        return self._cached_url(url, base)

    def _category_of_url(self, url: str, base: Base) -> str | None:
        found = None
        for target in resolve(url, base):
            found = stricter(found, self.category_of_target(target))
        return found

    def category_of_target(self, target: Target) -> str | None:
        """The category one reading of a URL needs (``data:`` targets: ``None``, see :meth:`category_of_url`)."""
        if target.kind == "network":
            return self.category_of_host(target.host, target.path) if target.host is not None else None
        if target.kind == "javascript":
            return self.category_of_script(target.payload)
        if target.kind == "failure":
            return UNPARSEABLE
        return None

    def category_of_host(self, host: str, path: str = "/") -> str | None:
        """The category requests to ``host`` (mapped, lower case) under ``path`` need, if it is a tracker's."""
        labels = host.split(".")
        lowered = path.lower()
        for i in range(len(labels) - 1):
            for rule in self._by_host.get(".".join(labels[i:]), ()):
                if not rule.path or lowered.startswith(rule.path.lower()):
                    return rule.category
        return None

    def vendor_of_cookie(self, name: str) -> Vendor | None:
        """The catalog vendor that sets a cookie called ``name``, if one does."""
        return next((v for v in self.vendors if v.sets_cookie(name)), None)

    def category_of_script(self, source: str, *, text: bool = False) -> str | None:
        r"""The category an inline script needs: from the hosts it loads and the tag calls it makes.

        ``source`` is the script as the page holds it (Latin-1 text of its bytes), or with ``text``
        the script's text itself (an event handler's value, its references read). JavaScript escapes
        are read (``\x2e`` is a dot) and hosts are mapped as URL parsing maps them (``。`` is a dot).
        A page sends the same snippets on every view: each distinct one of up to
        :data:`CACHED_SCRIPT` characters is read once (and the last 512 are remembered).
        """
        if len(source) <= CACHED_SCRIPT:
            return self._cached_script(source, text)
        key = (hashlib.blake2b(source.encode("utf-8", "surrogatepass"), digest_size=16).digest(), text)
        try:
            return self._long_scripts[key]
        except KeyError:
            found = self._long_scripts[key] = self._category_of_script(source, text)
            if len(self._long_scripts) > 256:
                del self._long_scripts[next(iter(self._long_scripts))]
            return found

    def _category_of_script(self, source: str, is_text: bool = False) -> str | None:
        found: str | None = None
        for text in _readings(source, is_text):
            for match in _HOST_LIKE.finditer(text):
                category = self.category_of_host(match.group(1).lower(), match.group(2).replace("\\/", "/") or "/")
                if category is not None:
                    found = stricter(found, category)
            for pattern, boundary, category in self._signatures:
                if found == category or _STRICTNESS.get(found or "", 0) >= _STRICTNESS.get(category, 4):
                    continue  # it could not make the script need more
                at = 0
                while (hit := pattern.search(text, at)) is not None:
                    start = hit.start()
                    if not boundary or start == 0 or not _WORD.match(text, start - 1):
                        found = stricter(found, category)
                        break
                    at = start + 1
        return found


def _readings(source: str, is_text: bool = False) -> list[str]:
    """``source`` as written, and with its escapes read and its characters mapped, if that differs."""
    text = source
    if not is_text and not text.isascii():
        text = text.encode("latin-1", "replace").decode("utf-8", "replace")
    if "\\" in text:
        text = _JS_ESCAPE.sub(_unescape, text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_DOTS)
    return [source] if text == source else [source, text]


def _unescape(match: re.Match[str]) -> str:
    hex2, hex4, braced, octal, other = match.groups()
    code = hex2 or hex4 or braced
    if code is not None:
        value = int(code, 16)
        return chr(value) if value < 0x110000 else ""
    if octal is not None:
        return chr(int(octal, 8))
    return _JS_SINGLE.get(other, other)


def stricter(a: str | None, b: str | None) -> str | None:
    """The more privacy-invasive of two categories (``None``: no category; unknown ones are strictest)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if _STRICTNESS.get(a, 4) >= _STRICTNESS.get(b, 4) else b
