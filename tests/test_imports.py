"""The package's import graph: no cycles, and no web framework outside the adapters.

Read from the source with :mod:`ast`, so a cycle or a framework import fails here even on a path no
other test runs. Imports under ``if TYPE_CHECKING:`` are left out of the cycle check (they never
run) but count for the framework check (a type from a framework still ties the core to it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "cookieconsent"
FRAMEWORKS = {"starlette", "fastapi", "flask", "werkzeug"}
#: The modules that may import a web framework: the framework glue.
ADAPTERS = {"cookieconsent.flask", "cookieconsent.fastapi"}


def module_names(root: Path) -> dict[str, Path]:
    """Every module under ``root`` (a package folder) by its dotted name."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(module: str, path: Path, known: set[str], *, typing: bool) -> set[str]:
    """The modules ``module`` imports (``from a import b`` is ``a.b`` when that is a module, else ``a``).

    ``typing``: include the imports under ``if TYPE_CHECKING:``.
    """
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node) and not typing:
            for statement in node.orelse:
                visit(statement)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            for alias in node.names:
                name = f"{base}.{alias.name}"
                found.add(name if name in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of ``graph`` with more than one module, or a module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def graph_of(root: Path, *, typing: bool = False) -> dict[str, set[str]]:
    """The import graph of the package at ``root``, restricted to its own modules."""
    names = module_names(root)
    known = set(names)
    return {m: imports(m, p, known, typing=typing) & known for m, p in names.items()}


def test_the_walk_reads_the_whole_package() -> None:
    names = module_names(PACKAGE)
    assert {
        "cookieconsent",
        "cookieconsent.asgi",
        "cookieconsent.core.exchange",
        "cookieconsent.records.recorder",
    } <= set(names)
    graph = graph_of(PACKAGE)
    assert "cookieconsent.core.exchange" in graph["cookieconsent.core.engine"]


def test_the_package_has_no_import_cycle() -> None:
    assert cycles(graph_of(PACKAGE)) == []


def test_no_framework_import_outside_the_adapters() -> None:
    names = module_names(PACKAGE)
    known = set(names)
    offenders = {
        module: sorted(i for i in imports(module, path, known, typing=True) if i.split(".")[0] in FRAMEWORKS)
        for module, path in names.items()
        if module not in ADAPTERS
    }
    assert {m: found for m, found in offenders.items() if found} == {}
    # The adapters are where the frameworks are: the check looks at real imports.
    assert imports("cookieconsent.flask", names["cookieconsent.flask"], known, typing=True) & {"flask"}


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"a.py": "from pkg import b\n", "b.py": "import pkg.c\n", "c.py": "from pkg.a import x\n"},
            [["pkg.a", "pkg.b", "pkg.c"]],
        ),
        ({"a.py": "from . import b\n", "b.py": "from .a import x\n"}, [["pkg.a", "pkg.b"]]),
        (
            {
                "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n",
                "b.py": "import pkg.a\n",
            },
            [],
        ),
        ({"a.py": "def f():\n    from pkg import b\n", "b.py": "from pkg.a import f\n"}, [["pkg.a", "pkg.b"]]),
        ({"a.py": "import pkg.b\n", "b.py": "import json\n"}, []),
    ],
)
def test_the_cycle_check_finds_cycles(tmp_path: Path, files: dict[str, str], expected: list[list[str]]) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, text in files.items():
        (package / name).write_text(text)
    assert cycles(graph_of(package)) == expected
