"""The layout of the tests: no module of ``tests/`` imports a test module.

What test modules share lives in support modules (``tests/harness.py``, ``tests/pg.py``,
``tests/vectors.py``, the ``tests/*_app.py`` apps, the browser tests' ``helpers.py``) and fixtures in
the conftest files. A test module that imported another would run that module's tests' setup
on import, tie the two together, and let pytest collect the imported tests twice under new names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def module_name(path: Path) -> str:
    """The dotted name of a file of ``tests/`` (``tests.records.test_store``)."""
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def imported_modules(source: str, module: str) -> list[tuple[int, str]]:
    """Each module that ``source`` (the module ``module``) imports, absolute, with the line of its import.

    ``from package import name`` counts as importing ``package.name`` too, since the name may be a
    module of the package.
    """
    package = module.rsplit(".", 1)[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per dot after the first
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def imports_of_test_modules(module: str, source: str) -> list[str]:
    """The test modules (``test_*`` under ``tests``) that ``source`` imports, as ``line: name``."""
    return [
        f"{line}: {name}"
        for line, name in imported_modules(source, module)
        if name.split(".")[0] == "tests" and name.rsplit(".", 1)[-1].startswith("test_")
    ]


MODULES = sorted(TESTS.rglob("*.py"))


def test_the_walk_finds_the_test_modules() -> None:
    names = [module_name(p) for p in MODULES]
    assert "tests.test_layout" in names
    assert "tests.records.test_store" in names
    assert "tests.harness" in names


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(TESTS)) for p in MODULES])
def test_no_module_of_the_tests_imports_a_test_module(path: Path) -> None:
    module = module_name(path)
    imports = imports_of_test_modules(module, path.read_text(encoding="utf-8"))
    assert imports == [], f"{path.relative_to(ROOT)} imports test modules; move what they share to tests/harness.py"


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("from tests.test_recorder import UA\n", ["1: tests.test_recorder"]),
        ("import tests.test_faults\n", ["1: tests.test_faults"]),
        ("from tests import test_hostile\n", ["1: tests.test_hostile"]),
        ("from . import test_store\n", ["1: tests.records.test_store"]),
        ("from .test_store import Target\n", ["1: tests.records.test_store"]),
        ("from ..test_recorder import UA\n", ["1: tests.test_recorder"]),
        ("def f() -> None:\n    from tests.test_bounds import NOW\n", ["2: tests.test_bounds"]),
        ("from tests.harness import UA\nfrom tests.records.conftest import Target\n", []),
        ("from tests import csp_app, vectors\nimport pytest\n", []),
    ],
)
def test_the_check_sees_every_form_of_import(source: str, found: list[str]) -> None:
    assert imports_of_test_modules("tests.records.test_example", source) == found
