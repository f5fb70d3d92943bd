"""Taiwan's Personal Data Protection Act (PDPA): official codes and the rights of Art. 3.

The bundled table holds the specific purposes (特定目的, ``"040"``) and personal-data categories
(個人資料之類別, ``"C001"``) published by the Ministry of Justice. A policy may only name codes that
exist; their official names are taken from the table, never typed by hand::

    >>> purpose_name("040", "zh-TW")
    '行銷（包含金控共同行銷業務）'
"""

from __future__ import annotations

from cookieconsent.policy._pdpa_table import DATA_CATEGORIES, PURPOSES

__all__ = [
    "DATA_CATEGORIES",
    "PURPOSES",
    "check_data_category",
    "check_purpose",
    "data_category_name",
    "purpose_name",
]


def check_purpose(code: str) -> str:
    """Return ``code`` normalised (``"40"`` → ``"040"``); raise ``ValueError`` if it is not official."""
    normalised = code.strip().zfill(3) if code.strip().isdigit() else code.strip()
    if normalised not in PURPOSES:
        raise ValueError(
            f"{code!r} is not in the bundled table of official PDPA specific-purpose codes; use a three-digit code "
            "from the Ministry of Justice list, such as '040' (marketing) or '157' (surveys, statistics and "
            "research analysis). If it is an official code the table lacks, report it so it can be added"
        )
    return normalised


def check_data_category(code: str) -> str:
    """Return ``code`` normalised (``"c1"`` → ``"C001"``); raise ``ValueError`` if it is not official."""
    raw = code.strip().upper()
    normalised = f"C{raw[1:].zfill(3)}" if raw.startswith("C") and raw[1:].isdigit() else raw
    if normalised not in DATA_CATEGORIES:
        raise ValueError(
            f"{code!r} is not in the bundled table of official PDPA personal-data categories; use a code from the "
            "Ministry of Justice list, such as 'C001' (identifiers of individuals). If it is an official code the "
            "table lacks, report it so it can be added"
        )
    return normalised


def _pick(names: tuple[str, str], locale: str) -> str:
    return names[0] if locale.lower().startswith("zh") else names[1]


def purpose_name(code: str, locale: str) -> str:
    """The official name of a specific purpose, in Chinese for ``zh*`` locales, else in English."""
    return _pick(PURPOSES[code], locale)


def data_category_name(code: str, locale: str) -> str:
    """The official name of a personal-data category, in Chinese for ``zh*`` locales, else in English."""
    return _pick(DATA_CATEGORIES[code], locale)
