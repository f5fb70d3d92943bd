"""The ``cookieconsent`` command."""

from __future__ import annotations

from pathlib import Path

import pytest

from cookieconsent.cli import main

TELEXPRESS = Path(__file__).parents[1] / "examples" / "telexpress" / "policy.toml"


def test_check_valid_policy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(TELEXPRESS)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out
    assert "fingerprint" in out


def test_check_reports_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "policy.toml"
    bad.write_text(TELEXPRESS.read_text(encoding="utf-8").replace('category = "analytics"', 'category = "stats"', 2))
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("'stats' is not a category") == 2
    assert "use one of: necessary, functional, analytics, marketing" in err


def test_demo_outside_a_clone_explains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 1
    assert "clone of the repository" in capsys.readouterr().err


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
