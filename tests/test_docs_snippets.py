"""Every Python snippet of the documentation runs, and every policy in it loads.

Each fenced ``python`` block of ``docs/*.md`` is executed in a fresh namespace, with the working
directory set to a temporary directory. That directory holds a copy of the demo policy
(``examples/telexpress/policy.toml``) as ``policy.toml`` when the snippet mentions it, and every
``python title="name.py"`` block of the same page that comes before the snippet (or is the snippet),
written to ``name.py``: a later block of the page can then ``from name import app``.

Blocks in other languages (``toml``, ``console``, ``text``…) are not run; ``toml`` blocks are
parsed, and those that hold a whole policy (both a ``[controller]`` and a ``[gpc]`` table) are
loaded with :func:`cookieconsent.load_policy`.

Every relative link between the pages must lead to an existing page and, when it names one, to a
heading of that page (anchors are the headings' slugs, as MkDocs makes them).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tomllib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cookieconsent import load_policy

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
POLICY = ROOT / "examples" / "telexpress" / "policy.toml"

# An opening fence: three or more backticks, a language, then optional attributes (title="…").
_FENCE = re.compile(r"^(?P<indent> *)(?P<ticks>`{3,})(?P<lang>[\w+-]*)(?P<attrs>[^`]*)$")
_TITLE = re.compile(r'title="(?P<title>[^"]+)"')


@dataclass(frozen=True)
class Block:
    """A fenced code block of a documentation page."""

    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    title: str | None
    source: str

    @property
    def id(self) -> str:
        return f"{self.page.name}:{self.line}"


def blocks(page: Path) -> Iterator[Block]:
    """The fenced code blocks of ``page``, in order (indented blocks, as in admonitions, included)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        indent, ticks = match["indent"], match["ticks"]
        title = _TITLE.search(match["attrs"])
        body: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != ticks:
            line = lines[j]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            j += 1
        if j == len(lines):
            raise AssertionError(f"{page.name}:{i + 1}: the code block is never closed")
        yield Block(page, i + 1, match["lang"].lower(), title["title"] if title else None, "\n".join(body) + "\n")
        i = j + 1


PAGES = sorted(DOCS.glob("*.md"))
ALL = [block for page in PAGES for block in blocks(page)]
PYTHON = [b for b in ALL if b.lang in ("python", "py")]
TOML = [b for b in ALL if b.lang == "toml"]


def test_the_docs_have_snippets() -> None:
    assert PAGES, "docs/*.md is missing"
    assert PYTHON, "no python blocks found: is the fence pattern still right?"


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory that is also importable; modules imported from it are forgotten after."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    folder = str(tmp_path)
    for name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(folder):
            del sys.modules[name]


@pytest.mark.parametrize("block", PYTHON, ids=[b.id for b in PYTHON])
def test_python_snippet_runs(block: Block, sandbox: Path) -> None:
    earlier = [b for b in PYTHON if b.page == block.page and b.line <= block.line]
    files = {b.title: b.source for b in earlier if b.title and b.title.endswith(".py")}
    for name, source in files.items():
        (sandbox / name).write_text(source, encoding="utf-8")
        sys.modules.pop(name.removesuffix(".py"), None)
    if any("policy.toml" in source for source in [block.source, *files.values()]):
        shutil.copyfile(POLICY, sandbox / "policy.toml")
    code = compile(block.source, f"{block.page.relative_to(ROOT)}:{block.line}", "exec")
    namespace: dict[str, object] = {"__name__": "docs_snippet"}
    environ = dict(os.environ)
    try:
        exec(code, namespace)
    finally:
        os.environ.clear()
        os.environ.update(environ)


@pytest.mark.parametrize("block", TOML, ids=[b.id for b in TOML])
def test_toml_snippet_parses(block: Block, tmp_path: Path) -> None:
    data = tomllib.loads(block.source)
    if {"controller", "gpc"} <= data.keys():
        path = tmp_path / "policy.toml"
        path.write_text(block.source, encoding="utf-8")
        load_policy(path)


# A Markdown link or image target: ](target) or ](target "title").
_LINK = re.compile(r"\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^(?P<marks>#{1,6})\s+(?P<text>.+?)\s*#*\s*$")


def slug(heading: str) -> str:
    """The anchor MkDocs (Python-Markdown's ``toc``) gives a heading."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def prose(page: Path) -> list[str]:
    """The lines of ``page`` outside fenced code blocks."""
    out: list[str] = []
    fence: str | None = None  # the backticks of the open block
    for line in page.read_text(encoding="utf-8").splitlines():
        if fence is not None:
            if line.strip() == fence:
                fence = None
            continue
        match = _FENCE.match(line)
        if match:
            fence = match["ticks"]
            continue
        out.append(line)
    return out


def anchors(page: Path) -> set[str]:
    found = set()
    for line in prose(page):
        match = _HEADING.match(line)
        if match:
            found.add(slug(match["text"]))
    return found


LINKS = [
    (page, match["target"])
    for page in PAGES
    for line in prose(page)
    for match in _LINK.finditer(line)
    if not re.match(r"^[a-z][a-z0-9+.-]*:", match["target"])  # http:, https:, mailto:…
]


@pytest.mark.parametrize(("page", "target"), LINKS, ids=[f"{p.name}->{t}" for p, t in LINKS])
def test_relative_link_resolves(page: Path, target: str) -> None:
    path, _, anchor = target.partition("#")
    destination = (page.parent / path).resolve() if path else page
    assert destination.is_file(), f"{page.name}: {target!r} leads to no file"
    if anchor and destination.suffix == ".md":
        assert anchor in anchors(destination), f"{page.name}: no heading of {destination.name} has the anchor #{anchor}"
