"""A catalog of well-known tracker hosts, by consent category.

An element of a page that is not marked with ``data-category`` gets its category from here when its
URL points at one of these hosts (a host matches itself and its subdomains; a rule with a path
matches URLs under that path). Inline scripts that load one of these hosts, or call the well-known
tag functions, are caught too. A policy adds its own hosts with ``[[trackers]]`` entries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["BUILTIN", "Catalog", "TrackerHost"]


@dataclass(frozen=True, slots=True)
class TrackerHost:
    """A host (and optionally a path prefix) whose requests need consent to ``category``."""

    host: str
    category: str
    path: str = ""
    vendor: str = ""


def _rules(category: str, vendor: str, *hosts: str) -> list[TrackerHost]:
    out = []
    for entry in hosts:
        host, _, path = entry.partition("/")
        out.append(TrackerHost(host, category, f"/{path}" if path else "", vendor))
    return out


#: The built-in catalog.
BUILTIN: tuple[TrackerHost, ...] = tuple(
    _rules("analytics", "Google Analytics", "google-analytics.com", "analytics.google.com", "ssl.google-analytics.com")
    + _rules("analytics", "Google Tag Manager", "googletagmanager.com")
    + _rules("analytics", "Hotjar", "hotjar.com", "hotjar.io")
    + _rules("analytics", "Microsoft Clarity", "clarity.ms")
    + _rules(
        "marketing",
        "Google Ads",
        "googleadservices.com",
        "googlesyndication.com",
        "doubleclick.net",
        "google.com/pagead",
        "google.com/ads",
        "adservice.google.com",
        "googleads.g.doubleclick.net",
    )
    + _rules("marketing", "Meta Pixel", "connect.facebook.net", "facebook.com/tr", "facebook.net")
    + _rules(
        "marketing",
        "LinkedIn Insight",
        "snap.licdn.com",
        "px.ads.linkedin.com",
        "linkedin.com/px",
        "platform.linkedin.com",
    )
    + _rules("marketing", "TikTok Pixel", "analytics.tiktok.com", "tiktok.com/embed")
    + _rules(
        "marketing",
        "X (Twitter)",
        "static.ads-twitter.com",
        "ads-twitter.com",
        "analytics.twitter.com",
        "platform.twitter.com",
        "platform.x.com",
        "t.co/i/adsct",
    )
    + _rules("marketing", "YouTube", "youtube.com", "youtube-nocookie.com", "youtu.be", "ytimg.com")
    + _rules("functional", "Vimeo", "player.vimeo.com", "vimeo.com")
    + _rules(
        "functional", "Google Maps", "maps.google.com", "google.com/maps", "maps.googleapis.com", "maps.gstatic.com"
    )
)

#: Calls that only appear in tag snippets: the standard GA4 config, Meta Pixel, TikTok, LinkedIn, Clarity, Hotjar.
_SIGNATURES: tuple[tuple[str, str], ...] = (
    (r"""\bgtag\(\s*['"](?:config|event)['"]""", "analytics"),
    (r"\bfbq\(", "marketing"),
    (r"\bttq\.(?:load|page|track)\(", "marketing"),
    (r"\b_linkedin_partner_id\b", "marketing"),
    (r"""\bclarity\(\s*['"]""", "analytics"),
    (r"\b_hjSettings\b", "analytics"),
)
#: The longest inline script whose category is remembered (characters); tag snippets are far shorter.
CACHED_SCRIPT = 16 * 1024

# When one snippet touches several categories, it needs the most privacy-invasive one.
_STRICTNESS = {"marketing": 3, "analytics": 2, "functional": 1}


class Catalog:
    """Looks up the category of a URL or an inline script."""

    def __init__(self, extra: Iterable[TrackerHost] = ()) -> None:
        # The policy's own entries come first: they may reclassify a built-in host.
        self.rules = (*tuple(extra), *BUILTIN)
        self._by_host: dict[str, list[TrackerHost]] = {}
        for rule in self.rules:
            self._by_host.setdefault(rule.host.lower(), []).append(rule)
        hosts = sorted({re.escape(r.host.lower()) for r in self.rules}, key=len, reverse=True)
        # A host (with any subdomains) not glued to other name characters, and the path after it.
        self._inline = re.compile(
            r"(?<![a-z0-9.-])((?:[a-z0-9-]+\.)*(?:" + "|".join(hosts) + r"))(?![a-z0-9-])((?:\\?/[^\s'\"\\]*)*)",
            re.IGNORECASE,
        )
        self._signatures = [(re.compile(p), cat) for p, cat in _SIGNATURES]
        self.category_of_url = lru_cache(maxsize=2048)(self._category_of_url)
        self._cached_script = lru_cache(maxsize=512)(self._category_of_script)

    def _category_of_url(self, url: str) -> str | None:
        """The category a URL needs, or None for first-party and unknown hosts."""
        url = url.strip()
        lowered = url.lower()
        if lowered.startswith(("https://", "http://")):
            rest = url.split("://", 1)[1]
        elif lowered.startswith("//"):
            rest = url[2:]
        else:
            return None
        host, _, path = rest.partition("/")
        host = host.rsplit("@", 1)[-1].split(":", 1)[0].split("?", 1)[0].split("#", 1)[0].lower().rstrip(".")
        return self._match(host, "/" + path)

    def _match(self, host: str, path: str) -> str | None:
        labels = host.split(".")
        for i in range(len(labels) - 1):
            for rule in self._by_host.get(".".join(labels[i:]), ()):
                if not rule.path or path.startswith(rule.path):
                    return rule.category
        return None

    def category_of_script(self, source: str) -> str | None:
        """The category an inline script needs: from the hosts it loads and the tag calls it makes.

        A page sends the same snippets on every view: each distinct one of up to
        :data:`CACHED_SCRIPT` characters is read once (and the last 512 are remembered).
        """
        if len(source) > CACHED_SCRIPT:
            return self._category_of_script(source)
        return self._cached_script(source)

    def _category_of_script(self, source: str) -> str | None:
        found: str | None = None
        for match in self._inline.finditer(source):
            path = match.group(2).replace("\\/", "/") or "/"
            found = _stricter(found, self._match(match.group(1).lower(), path))
        for pattern, category in self._signatures:
            if pattern.search(source):
                found = _stricter(found, category)
        return found


def _stricter(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if _STRICTNESS.get(a, 4) >= _STRICTNESS.get(b, 4) else b
