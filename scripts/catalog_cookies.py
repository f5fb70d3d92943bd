"""Fill or check the ``cookies`` lists of the tracker catalog from the Open Cookie Database.

Usage (from the repository's root)::

    python scripts/catalog_cookies.py data/open-cookie-database/open-cookie-database.csv          # check
    python scripts/catalog_cookies.py data/open-cookie-database/open-cookie-database.csv --write  # fill
    python scripts/catalog_cookies.py --docs                                     # the docs table

Each ``[[tracker]]`` of ``src/cookieconsent/blocking/data/trackers.toml`` says where its cookie names come
from with ``ocd`` (a list of the database's Platform names) and ``ocd_skip`` (names left out):

- ``"Platform"`` takes every cookie of that Platform but those of ``ocd_skip``;
- ``"Platform:name"`` takes one cookie of that Platform;
- ``"Platform:name*"`` takes one cookie and reads it as a prefix, for the rows whose name is a prefix
  (``Hm_lvt_``) without the database's wildcard flag.

A row whose "Wildcard match" is 1 becomes ``name*``. The check exits with 1 and prints each entry
whose ``cookies`` differs from what the database gives; ``--write`` rewrites those lists in place.
The database is Apache-2.0: the catalog ships with its licence and a NOTICE (see the README beside
the CSV).

``--docs`` writes the coverage table of ``docs/tracker-catalog.md`` (between its ``catalog:start``
and ``catalog:end`` comments) from the catalog; ``tests/test_catalog.py`` fails when they disagree.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Row", "cookies_for", "main", "read_database", "render_table", "replace_cookies", "replace_table"]

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "src" / "cookieconsent" / "blocking" / "data" / "trackers.toml"
DOCS_PAGE = ROOT / "docs" / "tracker-catalog.md"
TABLE_START = "<!-- catalog:start (written by scripts/catalog_cookies.py --docs) -->"
TABLE_END = "<!-- catalog:end -->"
#: A ``cookies = [...]`` array, on one line or several (cookie names hold no "]").
_COOKIES = re.compile(r"^cookies\s*=\s*\[[^\]]*\][ \t]*\n?", re.MULTILINE)
_WIDTH = 110


@dataclass(frozen=True, slots=True)
class Row:
    """One cookie of the database: its name as written, and whether it is a prefix."""

    name: str
    wildcard: bool

    @property
    def entry(self) -> str:
        """The name as the catalog writes it: a prefix ends with ``*``."""
        return f"{self.name}*" if self.wildcard else self.name


def read_database(path: Path) -> dict[str, list[Row]]:
    """The database's cookies, by Platform, in the order of the CSV.

    Raises:
        ValueError: if the file lacks one of the columns this script reads.
    """
    platforms: dict[str, list[Row]] = {}
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        needed = {"Platform", "Cookie / Data Key name", "Wildcard match"}
        missing = needed - set(reader.fieldnames or ())
        if missing:
            raise ValueError(
                f"{path}: no column {', '.join(sorted(missing))}; give the open-cookie-database.csv file "
                "of the Open Cookie Database"
            )
        for record in reader:
            # Some names carry stray whitespace (a trailing tab): it is no part of a cookie name.
            name = record["Cookie / Data Key name"].strip()
            if name:
                platforms.setdefault(record["Platform"].strip(), []).append(
                    Row(name, record["Wildcard match"].strip() == "1")
                )
    return platforms


def cookies_for(entry: Mapping[str, Any], platforms: Mapping[str, Sequence[Row]]) -> list[str]:
    """The cookie names of one ``[[tracker]]`` entry, from its ``ocd`` and ``ocd_skip`` keys.

    Raises:
        ValueError: if a Platform or a cookie it names is not in the database, or ``ocd_skip`` names
            a cookie that no whole-Platform selection of the entry holds.
    """
    vendor = entry.get("vendor", "?")
    skip = set(entry.get("ocd_skip", ()))
    names: list[str] = []
    skipped: set[str] = set()
    for selector in entry.get("ocd", ()):
        platform, _, wanted = str(selector).partition(":")
        rows = platforms.get(platform)
        if rows is None:
            close = sorted(p for p in platforms if p.lower() == platform.lower())
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{vendor}: the database has no Platform {platform!r}{hint}; fix its `ocd` entry")
        if not wanted:
            for each in rows:
                if each.name in skip:
                    skipped.add(each.name)
                else:
                    names.append(each.entry)
            continue
        prefix = wanted.endswith("*")
        name = wanted.removesuffix("*")
        row = next((r for r in rows if r.name == name), None)
        if row is None:
            raise ValueError(
                f"{vendor}: Platform {platform!r} has no cookie {name!r}; fix its `ocd` entry {selector!r}"
            )
        names.append(f"{row.name}*" if prefix or row.wildcard else row.name)
    stale = skip - skipped
    if stale:
        raise ValueError(
            f"{vendor}: `ocd_skip` names {', '.join(sorted(stale))}, which no whole Platform of its `ocd` "
            "holds; remove them"
        )
    return list(dict.fromkeys(names))


def _format(cookies: Sequence[str]) -> str:
    """A ``cookies = [...]`` line, or an indented array when one line would be too long."""
    items = [json.dumps(c) for c in cookies]
    one_line = f"cookies = [{', '.join(items)}]\n"
    if len(one_line) <= _WIDTH + 1:
        return one_line
    lines, line = [], "   "
    for item in items:
        if len(line) + len(item) + 2 > _WIDTH:
            lines.append(line.rstrip())
            line = "   "
        line += f" {item},"
    lines.append(line)
    return "cookies = [\n" + "\n".join(lines) + "\n]\n"


def replace_cookies(text: str, cookies: Sequence[Sequence[str]]) -> str:
    """``text`` (a catalog file) with the ``cookies`` of its ``[[tracker]]`` entries, in order, replaced.

    An entry without cookies loses its ``cookies`` key; one without the key gets it after its last
    key.
    """
    starts = [m.start() for m in re.finditer(r"^\[\[tracker\]\]", text, re.MULTILINE)]
    if len(starts) != len(cookies):
        raise ValueError(f"the file has {len(starts)} [[tracker]] headers for {len(cookies)} entries")
    pieces = [text[: starts[0]] if starts else text]
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        block = text[start:end]
        new = _format(cookies[i]) if cookies[i] else ""
        found = _COOKIES.search(block)
        if found:
            block = block[: found.start()] + new + block[found.end() :]
        elif new:
            block = _append_key(block, new)
        pieces.append(block)
    return "".join(pieces)


def _append_key(block: str, line: str) -> str:
    """``block`` (one entry) with ``line`` after its last key.

    Blank lines and comments at the end of a block come before the next entry: they stay after it.
    """
    lines = block.splitlines(keepends=True)
    last = len(lines)
    while last > 1 and (not lines[last - 1].strip() or lines[last - 1].lstrip().startswith("#")):
        last -= 1
    if not lines[last - 1].endswith("\n"):
        lines[last - 1] += "\n"
    return "".join([*lines[:last], line, *lines[last:]])


def expected_cookies(entries: Iterable[Mapping[str, Any]], platforms: Mapping[str, Sequence[Row]]) -> list[list[str]]:
    """The cookie names of each entry, as the database gives them."""
    return [cookies_for(entry, platforms) if "ocd" in entry else list(entry.get("cookies", ())) for entry in entries]


def _code(text: str) -> str:
    """``text`` as a Markdown code span (the tables extension keeps a pipe inside one in its cell)."""
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}" if fence == "`" else f"{fence} {text} {fence}"


def render_table(entries: Sequence[Mapping[str, Any]]) -> str:
    """The coverage table of the catalog's entries, with a line of totals, as Markdown."""
    rows = [
        "| Vendor | Category | Hosts and paths | Inline snippets | Cookies |",
        "|---|---|---|---|---|",
    ]
    for entry in entries:
        matched = [_code(d) for d in entry.get("domains", ())] + [_code(u) for u in entry.get("urls", ())]
        rows.append(
            "| "
            + " | ".join(
                [
                    str(entry["vendor"]),
                    _code(str(entry["category"])),
                    ", ".join(matched) or "—",
                    ", ".join(_code(s) for s in entry.get("signatures", ())) or "—",
                    ", ".join(_code(c) for c in entry.get("cookies", ())) or "—",
                ]
            )
            + " |"
        )
    hosts = sum(len(e.get("domains", ())) + len(e.get("urls", ())) for e in entries)
    snippets = sum(len(e.get("signatures", ())) for e in entries)
    cookies = sum(len(e.get("cookies", ())) for e in entries)
    totals = f"{len(entries)} vendors, {hosts} hosts and paths, {snippets} snippet patterns, {cookies} cookie names."
    return totals + "\n\n" + "\n".join(rows) + "\n"


def replace_table(page: str, table: str) -> str:
    """``page`` with the text between its table markers replaced by ``table``.

    Raises:
        ValueError: if the page lacks one of the markers.
    """
    start, end = page.find(TABLE_START), page.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"the page has no {TABLE_START!r} … {TABLE_END!r} markers; put them where the table goes")
    return page[: start + len(TABLE_START)] + "\n\n" + table + "\n" + page[end:]


def main(argv: Sequence[str] | None = None) -> int:
    """Check (or with ``--write`` fill) the catalog's cookie names; 0 if they match, 1 if not."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", type=Path, nargs="?", help="the Open Cookie Database's open-cookie-database.csv")
    parser.add_argument("--catalog", type=Path, default=CATALOG, help="the catalog file (default: %(default)s)")
    parser.add_argument("--write", action="store_true", help="rewrite the cookies lists that differ")
    parser.add_argument("--docs", type=Path, nargs="?", const=DOCS_PAGE, help="rewrite the docs page's table")
    args = parser.parse_args(argv)
    if args.docs is not None:
        try:
            entries = tomllib.loads(args.catalog.read_text(encoding="utf-8")).get("tracker", [])
            page = replace_table(args.docs.read_text(encoding="utf-8"), render_table(entries))
        except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
            print(exc, file=sys.stderr)
            return 1
        args.docs.write_text(page, encoding="utf-8")
        print(f"{args.docs}: the table lists {len(entries)} vendors")
        return 0
    if args.csv is None:
        parser.error("give the Open Cookie Database's CSV file (or --docs)")
    try:
        platforms = read_database(args.csv)
        text = args.catalog.read_text(encoding="utf-8")
        entries = tomllib.loads(text).get("tracker", [])
        expected = expected_cookies(entries, platforms)
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        print(exc, file=sys.stderr)
        return 1
    differ = [(e, want) for e, want in zip(entries, expected, strict=True) if list(e.get("cookies", ())) != want]
    if args.write:
        if differ:
            args.catalog.write_text(replace_cookies(text, expected), encoding="utf-8")
        print(f"{args.catalog}: {len(differ)} cookies list(s) rewritten from {args.csv}")
        return 0
    for entry, want in differ:
        have = list(entry.get("cookies", ()))
        extra = [c for c in have if c not in want]
        lacking = [c for c in want if c not in have]
        print(
            f"{entry['vendor']}: cookies differ from the database (not in it: {extra or 'none'}; missing: "
            f"{lacking or 'none'}{'; order' if not extra and not lacking else ''}); run with --write",
            file=sys.stderr,
        )
    if not differ:
        print(f"{args.catalog}: every cookies list matches {args.csv}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
