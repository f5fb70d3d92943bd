"""Choosing the visitor's language from ``Accept-Language`` among the policy's languages."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

__all__ = ["messages", "negotiate"]

LOCALES = Path(__file__).parent / "locales"


def _quality(param: str) -> float:
    name, _, value = param.partition("=")
    if name.strip().lower() != "q":
        return 1.0
    try:
        q = float(value)
    except ValueError:
        return 0.0
    return q if 0.0 <= q <= 1.0 else 0.0


def negotiate(accept_language: str | None, available: tuple[str, ...], default: str) -> str:
    """The best of ``available`` for an ``Accept-Language`` header, else ``default``.

    An exact tag wins (``zh-TW``); then a tag with the same base language (``zh-Hant``, ``zh-HK`` →
    ``zh-TW``; ``en-GB`` → ``en``). Malformed parts are ignored.

    >>> negotiate("fr, zh-Hant;q=0.8, en;q=0.5", ("en", "zh-TW"), "en")
    'zh-TW'
    """
    if not accept_language or len(accept_language) > 1024:
        return default  # decided before the cache, which then only ever holds short headers
    return _negotiate(accept_language, available, default)


@lru_cache(maxsize=512)
def _negotiate(accept_language: str, available: tuple[str, ...], default: str) -> str:
    by_lower = {tag.lower(): tag for tag in available}
    by_base: dict[str, str] = {}
    for tag in available:
        by_base.setdefault(tag.split("-", 1)[0].lower(), tag)
    ranges: list[tuple[float, int, str]] = []
    for index, item in enumerate(accept_language.split(",")):
        tag, *params = item.strip().split(";")
        tag = tag.strip().lower()
        if not tag or tag == "*" or len(tag) > 35:
            continue
        q = min((_quality(p) for p in params), default=1.0)
        if q > 0:
            ranges.append((-q, index, tag))
    for _, _, tag in sorted(ranges):
        if tag in by_lower:
            return by_lower[tag]
        base = tag.split("-", 1)[0]
        if base in by_base:
            return by_base[base]
    return default


@lru_cache(maxsize=16)
def messages(locale: str) -> dict[str, str]:
    """The banner's texts in ``locale`` (``locales/<locale>.json``), English for a language it lacks.

    Keys missing from a translation fall back to English, so a partial translation never shows a
    blank button.
    """
    english: dict[str, str] = json.loads((LOCALES / "en.json").read_text(encoding="utf-8"))
    path = LOCALES / f"{locale}.json"
    if locale == "en" or not path.is_file():
        return english
    return {**english, **json.loads(path.read_text(encoding="utf-8"))}
