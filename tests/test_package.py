"""The package's public surface and the rule that the core imports no web framework."""

from __future__ import annotations

import subprocess
import sys

import cookieconsent

CORE = [
    "config",
    "core.cookie",
    "web.endpoints",
    "core.engine",
    "errors",
    "ui.i18n",
    "policy.pdpa",
    "policy",
    "core.request",
    "asgi",
    "wsgi",
]


def test_all_is_sorted_and_complete() -> None:
    assert cookieconsent.__all__ == sorted(cookieconsent.__all__)
    public = {n for n in dir(cookieconsent) if (not n.startswith("_") and n[0].isupper()) or n == "load_policy"}
    assert set(cookieconsent.__all__) == public


def test_core_imports_no_framework() -> None:
    code = (
        "import sys\n"
        + "".join(f"import cookieconsent.{m}\n" for m in CORE)
        + "bad = [m for m in ('starlette', 'fastapi', 'flask', 'werkzeug') if m in sys.modules]\n"
        + "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_typed_package() -> None:
    from importlib.resources import files

    assert files("cookieconsent").joinpath("py.typed").is_file()
