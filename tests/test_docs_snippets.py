"""Every Python snippet of the documentation runs, and every policy in it loads.

Each fenced ``python`` block of ``docs/**/*.md`` is one of two kinds, and a block that is neither
fails the suite (``test_every_python_block_is_run_or_an_included_example``):

- **a snippet**, executed in a fresh namespace, with the working directory set to a temporary
  directory. That directory holds a copy of the demo policy (``examples/telexpress/policy.toml``) as
  ``policy.toml`` when the snippet mentions it, and every ``python title="name.py"`` block of the same
  page that comes before the snippet (or is the snippet), written to ``name.py``: a later block of the
  page can then ``from name import app``;
  A snippet titled ``test_….py`` is a test file as well: pytest runs it, in a process of its own,
  beside the page's files that come before it, and every test in it must pass;
- **an included example**: a block made only of ``--8<-- "examples/….py"`` lines, which the site
  fills in with the file (pymdownx.snippets). The file must be a module of ``examples/``; the test
  imports it, which runs it (``tests/test_examples.py`` exercises what it serves).

A ``python`` block may not mix code and ``--8<--`` lines, and interactive sessions (``pycon``, ``>>>``)
are refused: they could not run as they stand.

Blocks in other languages (``toml``, ``console``, ``text``…) are not run; ``toml`` blocks are
parsed (with their ``--8<--`` includes filled in), and those that hold a whole policy (both a
``[controller]`` and a ``[gpc]`` table) are loaded with :func:`cookieconsent.load_policy`. Every
``--8<--`` include of any block names an existing file of ``examples/``.

Every relative link between the pages must lead to an existing page and, when it names one, to a
heading of that page (anchors are the headings' slugs, as MkDocs makes them).
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
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
EXAMPLES = ROOT / "examples"
POLICY = EXAMPLES / "telexpress" / "policy.toml"

# An opening fence: three or more backticks, a language, then optional attributes (title="…").
_FENCE = re.compile(r"^(?P<indent> *)(?P<ticks>`{3,})(?P<lang>[\w+-]*)(?P<attrs>[^`]*)$")
_TITLE = re.compile(r'title="(?P<title>[^"]+)"')
# A pymdownx.snippets include line: --8<-- "path" (or 'path'), optionally with :start:end lines.
_INCLUDE = re.compile(r"""^\s*--8<--\s+(?P<q>["'])(?P<spec>[^"']+)(?P=q)\s*$""")
_LINES = re.compile(r"^(?P<path>.+?)(?::(?P<start>\d+))?(?::(?P<end>\d+))?$")
PYTHON_LANGS = ("python", "py")


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
        return f"{self.page.relative_to(DOCS).as_posix()}:{self.line}"

    @property
    def includes(self) -> list[str]:
        """The ``--8<--`` include specifications of the block (``examples/x.py``, ``examples/x.py:3:9``)."""
        return [m["spec"] for line in self.source.splitlines() if (m := _INCLUDE.match(line))]

    @property
    def is_included_example(self) -> bool:
        """Whether the block is only ``--8<--`` lines (blank lines allowed)."""
        lines = [line for line in self.source.splitlines() if line.strip()]
        return bool(lines) and all(_INCLUDE.match(line) for line in lines)

    @property
    def expanded(self) -> str:
        """The block as the site shows it: each ``--8<--`` line replaced by the file (or its lines)."""
        out: list[str] = []
        for line in self.source.splitlines():
            match = _INCLUDE.match(line)
            out.append(included_text(match["spec"]) if match else line + "\n")
        return "".join(out)


def include_path(spec: str) -> Path:
    """The file an include names, which must be in ``examples/``."""
    match = _LINES.match(spec)
    assert match is not None, spec
    path = (ROOT / match["path"]).resolve()
    assert path.is_relative_to(EXAMPLES), f"--8<-- {spec!r}: include files of examples/ only"
    assert path.is_file(), f"--8<-- {spec!r}: no such file"
    return path


def included_text(spec: str) -> str:
    """The text an include puts in the page (whole file, or lines ``start`` to ``end``, 1-based)."""
    match = _LINES.match(spec)
    assert match is not None, spec
    lines = include_path(spec).read_text(encoding="utf-8").splitlines(keepends=True)
    start = int(match["start"]) if match["start"] else 1
    end = int(match["end"]) if match["end"] else len(lines)
    assert 1 <= start <= end <= len(lines), f"--8<-- {spec!r}: lines out of range"
    text = "".join(lines[start - 1 : end])
    return text if text.endswith("\n") else text + "\n"


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


PAGES = sorted(p for p in DOCS.rglob("*.md") if p.relative_to(DOCS).parts[0] != "_hooks")
ALL = [block for page in PAGES for block in blocks(page)]
PYTHON = [b for b in ALL if b.lang in PYTHON_LANGS]
TOML = [b for b in ALL if b.lang == "toml"]
INCLUDES = sorted({spec for b in ALL for spec in b.includes})


def test_the_docs_have_snippets() -> None:
    assert PAGES, "docs/*.md is missing"
    assert PYTHON, "no python blocks found: is the fence pattern still right?"
    assert any(b.is_included_example for b in PYTHON), "no included example found: is the include pattern right?"


# Languages that hold Python but cannot run as they stand.
_NOT_RUNNABLE = {"pycon", "python-console", "pytb", "python3", "py3", "ipython"}


def kind_of(block: Block) -> str | None:
    """``"snippet"`` (run by test_python_snippet_runs), ``"example"`` (imported), or None for other languages.

    Raises AssertionError for a block that holds Python but could be neither.
    """
    assert block.lang not in _NOT_RUNNABLE, f"{block.id}: a {block.lang!r} block cannot run; write it as python"
    if block.lang not in PYTHON_LANGS:
        return None
    if block.includes:
        assert block.is_included_example, f"{block.id}: mixes code and --8<-- lines; keep an include alone"
        for spec in block.includes:
            assert include_path(spec).suffix == ".py", f"{block.id}: {spec!r} is not a Python file"
        return "example"
    assert not re.search(r"^\s*>>> ", block.source, re.MULTILINE), f"{block.id}: an interactive session cannot run"
    compile(block.source, block.id, "exec")
    return "snippet"


@pytest.mark.parametrize("block", ALL, ids=[b.id for b in ALL])
def test_every_python_block_is_run_or_an_included_example(block: Block) -> None:
    """A python block is run as a snippet or is an included example file; anything else fails."""
    kind_of(block)


@pytest.mark.parametrize(
    ("lang", "source", "kind"),
    [
        ("python", "print(1)\n", "snippet"),
        ("python", '--8<-- "examples/minimal_fastapi.py"\n', "example"),
        ("toml", 'version = "1"\n', None),
        ("python", '--8<-- "examples/minimal_fastapi.py"\nprint(1)\n', AssertionError),
        ("python", '--8<-- "examples/minimal_policy.toml"\n', AssertionError),
        ("python", '--8<-- "src/cookieconsent/asgi.py"\n', AssertionError),
        ("python", '--8<-- "examples/no_such_file.py"\n', AssertionError),
        ("python", ">>> 1 + 1\n2\n", AssertionError),
        ("pycon", ">>> 1 + 1\n2\n", AssertionError),
        ("python", "def broken(:\n", SyntaxError),
    ],
)
def test_the_block_rule_refuses_what_cannot_run(lang: str, source: str, kind: str | type[Exception] | None) -> None:
    block = Block(DOCS / "index.md", 1, lang, None, source)
    if isinstance(kind, type):
        with pytest.raises(kind):
            kind_of(block)
    else:
        assert kind_of(block) == kind


@pytest.mark.parametrize("spec", INCLUDES, ids=INCLUDES)
def test_include_names_a_file_of_the_examples(spec: str) -> None:
    assert included_text(spec).strip()


def module_of(path: Path) -> str:
    """The dotted module name of a file of ``examples/``."""
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


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


def write_page_files(block: Block, folder: Path) -> None:
    """Write the ``python title="name.py"`` blocks of the page up to ``block`` into ``folder``, and the policy."""
    earlier = [b for b in PYTHON if b.page == block.page and b.line <= block.line]
    files = {b.title: b.expanded for b in earlier if b.title and b.title.endswith(".py")}
    for name, source in files.items():
        (folder / name).write_text(source, encoding="utf-8")
        sys.modules.pop(name.removesuffix(".py"), None)
    if any("policy.toml" in source for source in [block.source, *files.values()]):
        shutil.copyfile(POLICY, folder / "policy.toml")


@pytest.mark.parametrize("block", PYTHON, ids=[b.id for b in PYTHON])
def test_python_snippet_runs(block: Block, sandbox: Path) -> None:
    if block.is_included_example:
        for spec in block.includes:
            name = module_of(include_path(spec))
            module = sys.modules.get(name)
            if module is None:
                importlib.import_module(name)  # importing runs it
            else:
                importlib.reload(module)
        return
    write_page_files(block, sandbox)
    code = compile(block.source, f"{block.page.relative_to(ROOT)}:{block.line}", "exec")
    namespace: dict[str, object] = {"__name__": "docs_snippet"}
    environ = dict(os.environ)
    try:
        exec(code, namespace)
    finally:
        os.environ.clear()
        os.environ.update(environ)


TEST_FILES = [b for b in PYTHON if b.title and re.fullmatch(r"test_\w*\.py", b.title)]


def test_the_docs_have_test_files() -> None:
    assert TEST_FILES, 'no python title="test_….py" block found: is the title pattern still right?'


@pytest.mark.parametrize("block", TEST_FILES, ids=[b.id for b in TEST_FILES])
def test_test_file_passes_under_pytest(block: Block, sandbox: Path) -> None:
    """pytest runs the file as a reader would, beside the page's earlier files; its tests all pass."""
    assert block.title is not None
    write_page_files(block, sandbox)
    # The reader's pytest imports cookieconsent from where this one does.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", block.title],
        cwd=sandbox,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{block.id}: pytest failed\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}"
    summary = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ passed in [\d.]+s", summary), summary  # nothing skipped, nothing deselected


@pytest.mark.parametrize("block", TOML, ids=[b.id for b in TOML])
def test_toml_snippet_parses(block: Block, tmp_path: Path) -> None:
    text = block.expanded
    data = tomllib.loads(text)
    if {"controller", "gpc"} <= data.keys():
        path = tmp_path / "policy.toml"
        path.write_text(text, encoding="utf-8")
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


@pytest.mark.parametrize(("page", "target"), LINKS, ids=[f"{p.relative_to(DOCS)}->{t}" for p, t in LINKS])
def test_relative_link_resolves(page: Path, target: str) -> None:
    path, _, anchor = target.partition("#")
    destination = (page.parent / path).resolve() if path else page
    assert destination.is_file(), f"{page.relative_to(DOCS)}: {target!r} leads to no file"
    if anchor and destination.suffix == ".md":
        assert anchor in anchors(destination), f"{page.name}: no heading of {destination.name} has the anchor #{anchor}"


# -- the CLI page -----------------------------------------------------------------------------------

CLI_PAGE = DOCS / "cli.md"


def cli_help(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """What ``cookieconsent <args> --help`` prints, 80 columns wide, with no store configured."""
    from cookieconsent.cli import main

    with pytest.raises(SystemExit) as exit_:
        main([*args, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def cli_commands(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    """The subcommands (or actions) that ``--help`` lists."""
    text = cli_help(list(args), capsys)
    return re.findall(r"^    (\w+)\s{2,}", text, re.MULTILINE)


def test_cli_page_shows_every_commands_help(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/cli.md has a section per command and, verbatim, the ``--help`` of each (audit: on its own page)."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("COOKIECONSENT_STORE", raising=False)
    page = CLI_PAGE.read_text(encoding="utf-8")
    shown = {b.source for b in blocks(CLI_PAGE) if b.lang == "text"}
    commands = cli_commands(capsys)
    assert "check" in commands
    invocations: list[list[str]] = [[]]
    for command in commands:
        assert f"## `cookieconsent {command}`" in page, f"docs/cli.md has no section for {command}"
        if command == "audit":
            section = page.split("## `cookieconsent audit`", 1)[1]
            assert "(audit.md)" in section, "the audit section links to audit.md, which documents its options"
            continue
        invocations.append([command])
        if command == "rights":
            invocations += [["rights", action] for action in cli_commands(capsys, "rights")]
    for args in invocations:
        expected = "$ " + " ".join(["cookieconsent", *args, "--help"]) + "\n" + cli_help(args, capsys)
        assert expected in shown, (
            f"docs/cli.md does not show the current output of: cookieconsent {' '.join(args)} --help"
        )
