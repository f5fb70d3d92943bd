"""The streaming HTML rewriter: any bytes, cut into any chunks, under any decision.

Input: a byte whose low three bits are the categories granted (functional, analytics, marketing), a
byte that seeds the chunk sizes (0: one byte at a time; n: random sizes from 1 to 16 n), then the
page.

Invariants:

- nothing raises;
- the output does not depend on how the page was cut into chunks;
- nothing of a refused category stays active, as a browser reads the output (:mod:`fuzz.browser`),
  with scripting on and off: no script, frame, image, media, link or other fetching element whose
  URL (resolved against the page's ``<base>``) points at a tracker host of a refused category, or
  that is marked with a refused category; no URL of a refused tracker in CSS (``style`` attributes,
  ``<style>`` elements, SVG presentation attributes and animations, ``data:`` style sheets); no
  ``ping`` or ``<meta http-equiv=refresh>`` to one; no active inline script, event handler,
  ``javascript:`` or ``data:`` script whose content the catalog classes in a refused category; no
  import map or speculation rules leading to one; and the same inside ``srcdoc``, ``data:`` and
  ``javascript:`` documents.
"""

from __future__ import annotations

import difflib
import html
import random

from cookieconsent.blocking.rewriter import _DOCTYPE_END, _RAW_END, _SCANS, _TAG_END, _comment_end
from cookieconsent.blocking.trackers import UNPARSEABLE
from fuzz.browser import Element, Violation, active_violations
from fuzz.common import NECESSARY, POLICY, Catalog, Finding, HTMLRewriter, RewritePlan, Settings, TrackerHost, fuzz
from fuzz.known import REWRITE, Known, explained

CATEGORIES = ("functional", "analytics", "marketing")
HEAD = "<!--cc-head-->"
BANNER = '<div id="cookieconsent">Cookie settings</div>'
CATALOG = Catalog(TrackerHost(t.host, t.category, t.path, t.vendor) for t in POLICY.trackers)


def placeholder(category: str, host: str | None) -> str:
    """A stand-in like the real one: it names the category and host, and fetches nothing."""
    return f'<div class="cc-placeholder" data-cc-for="__CCID__">{html.escape(category)} {html.escape(str(host))}</div>'


def judged(page: str) -> set[tuple[int, int]]:
    """Where the start tags the rewriter reads as tags begin and end in ``page`` (Latin-1 text, in one piece).

    A model of the rewriter's scan made of its own patterns: other tags are skipped whole, comments are
    skipped to their end, a start tag ends where its end pattern says, and the elements whose content
    is text hold it up to their end tag. It tells an element the rewriter judged wrongly from one it
    never saw as an element. It does not follow the rewriter into <svg> and <math> content: an element
    there counts as one the rewriter never saw, which only chooses the known findings that may explain
    it (none are known: every violation is a finding).
    """
    low = page.lower()
    interesting, skip = _SCANS["background" in low]
    found: set[tuple[int, int]] = set()
    pos = 0
    raw: str | None = None
    while True:
        if raw is not None:
            end = _RAW_END[raw].search(low, pos)
            if end is None:
                return found
            raw, pos = None, end.start()
            continue
        skipped = skip.match(low, pos)
        match = interesting.match(low, skipped.end()) if skipped is not None else None
        if match is None:
            return found
        if match.group(1) is None:
            close = _comment_end(page, match.end())
            if close < 0:
                return found
            pos = close
            continue
        tag = (_DOCTYPE_END if match.group(1) == "!doctype" else _TAG_END).match(page, match.end())
        if tag is None:
            return found
        found.add((match.start(), tag.end()))
        pos = tag.end()
        if match.group(1) in _RAW_END:
            raw = match.group(1)


def judged_in_place(page: bytes, output: bytes, text: str, element: Element) -> bool:
    """Whether ``element`` of the output (read from ``text``) is a start tag the rewriter read, left as it was.

    The output is aligned with the page (the rewriter copies what it does not change); the element's
    place in the output leads back to its place in the page, where the rewriter must have read a start
    tag with exactly this start and end.
    """
    start = len(text[: element.at].encode("utf-8", "surrogateescape"))
    source = element.source.encode("utf-8", "surrogateescape")
    blocks = difflib.SequenceMatcher(None, page, output, autojunk=False).get_matching_blocks()
    for a, b, size in blocks:
        if b <= start and start + len(source) <= b + size:
            at = a + start - b
            return (at, at + len(source)) in judged(page.decode("latin-1"))
    return False


def rewrite(granted: frozenset[str], chunks: list[bytes]) -> bytes:
    """The rewritten page."""
    rewriter = HTMLRewriter(RewritePlan(granted, HEAD, BANNER, placeholder, CATALOG, "utf-8", "f"))
    return b"".join([*(rewriter.feed(c) for c in chunks), rewriter.close()])


def chunked(page: bytes, seed: int) -> list[bytes]:
    """``page`` cut into chunks of random sizes from 1 to ``16 * seed`` bytes (one byte each for 0)."""
    rng = random.Random(seed)
    chunks = []
    at = 0
    while at < len(page):
        size = rng.randint(1, max(1, 16 * seed))
        chunks.append(page[at : at + size])
        at += size
    return chunks


def check(data: bytes) -> tuple[bytes, list[tuple[Violation, Known | None]]]:
    """Rewrite one input: the output, and its violations with the known finding that explains each.

    Raises:
        Finding: if the output depends on how the page was cut into chunks.
    """
    settings = Settings(data)
    mask, seed = settings.byte(), settings.byte()
    page = settings.rest()
    granted = frozenset(cat for i, cat in enumerate(CATEGORIES) if mask >> i & 1)
    everything = granted == frozenset(CATEGORIES)
    whole = rewrite(granted, [page])
    pieces = rewrite(granted, chunked(page, seed))
    if pieces != whole:
        raise Finding(f"the output depends on the chunks (seed {seed}):\n{whole!r}\n{pieces!r}")
    violations = active_violations(
        whole.decode("utf-8", "surrogateescape"),  # undecodable bytes kept, so offsets lead back to bytes
        # A URL that cannot be read needs every category (the rewriter refuses it under the strictest one).
        lambda category: category == NECESSARY or category in granted or (category == UNPARSEABLE and everything),
        CATALOG.category_of_url,
        # The oracle hands over scripts as text (the page decoded, references read in a handler).
        lambda source: CATALOG.category_of_script(source, text=True),
    )
    text = page.decode("utf-8", "replace")
    output = whole.decode("utf-8", "surrogateescape")
    out = []
    for violation in violations:
        # A start tag the rewriter read and left as it was: a misjudged element. Any other (one it never
        # read as a tag, or one made of injected markup): misread markup.
        looked = violation.depth == 0 and judged_in_place(page, whole, output, violation.element)
        known = tuple(k for k in REWRITE if k.seen == looked)
        out.append((violation, explained(known, text, violation, CATALOG.category_of_url)))
    return whole, out


def test_one_input(data: bytes) -> None:
    """Run one input; raise :class:`~fuzz.common.Finding` when an invariant does not hold."""
    page, violations = check(data)
    new = [str(v) for v, known in violations if known is None]
    if new:
        raise Finding("active in the rewritten page:\n  " + "\n  ".join(new) + f"\npage: {page[:2000]!r}")


def main() -> None:
    """Fuzz this target (libFuzzer flags and corpus directories come from the command line)."""
    fuzz(test_one_input)


if __name__ == "__main__":
    main()
