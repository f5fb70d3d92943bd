"""Findings already reported, so a fuzz run goes on looking for new ones.

Each known finding has a reproducer in ``fuzz/findings/`` and a narrow test that recognises inputs
failing for that reason only. Targets skip a violation a known finding explains, unless
``COOKIECONSENT_FUZZ_STRICT=1`` (``fuzz/run.py --strict``), which makes every violation a finding
again: run the reproducers that way to see whether a finding is fixed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["REWRITE", "SET_COOKIE", "STRICT", "Known", "explained"]

STRICT = os.environ.get("COOKIECONSENT_FUZZ_STRICT") == "1"


@dataclass(frozen=True)
class Known:
    """A reported finding.

    Attributes:
        id: Its name, also the stem of its reproducer (``fuzz/findings/<target>-<id>.bin``).
        summary: What is wrong, in one sentence.
        seen: For the rewriter: whether it explains elements the rewriter looked at (and judged
            wrongly), or elements it never looked at (it misread the markup around them).
        explains: Whether it explains what a target found; its arguments are the target's (for the
            rewriter: the input page, decoded, the violation and the catalog's ``category_of_url``;
            for the Set-Cookie filter: the header value).
    """

    id: str
    summary: str
    explains: Callable[..., bool]
    seen: bool = True


URLCategory = Callable[[str], str | None]


REWRITE: tuple[Known, ...] = ()


SET_COOKIE: tuple[Known, ...] = ()


def explained(known: tuple[Known, ...], *args: object) -> Known | None:
    """The known finding that explains what a target found (None: a new finding, or strict mode).

    Args:
        known: The target's known findings.
        *args: What their ``explains`` take.
    """
    if STRICT:
        return None
    return next((k for k in known if k.explains(*args)), None)
