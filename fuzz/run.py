"""Run the fuzz targets, each in a process of its own, bounded by time and by runs.

::

    .venv/bin/python fuzz/run.py --seconds 300              # every target, 300 s each (make fuzz)
    .venv/bin/python fuzz/run.py --seconds 60 --target rewrite
    .venv/bin/python fuzz/run.py --runs 2000 --seconds 6 --seed 1   # what the tests run
    .venv/bin/python fuzz/run.py --target rewrite --strict --reproduce fuzz/findings/rewrite-stray-quote.bin

Each target starts from its seed corpus (``fuzz/corpus/<target>/``, never written to: new inputs go
to a scratch corpus) with its dictionary (``fuzz/dicts/<target>.dict``). A finding (an exception
escaping the target, a time-out or an out-of-memory) stops that target; the command goes on with the
others, prints the path of each crashing input and exits with status 1. Findings already reported
(:mod:`fuzz.known`) do not stop a run unless ``--strict`` is given.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGETS = ("cookie", "set_cookie", "rewrite", "decision", "beacon", "policy")
#: Longest input per target (bytes); the policy target needs room for a whole policy file.
MAX_LEN = {"policy": 16_384}
#: Seconds one input may take before it counts as a finding (a hang).
INPUT_TIMEOUT = 10

__all__ = ["MAX_LEN", "TARGETS", "Result", "Target", "main", "run_target", "target"]


@dataclass(frozen=True)
class Target:
    """A fuzz target: how to start it and where its seeds and dictionary are.

    Attributes:
        name: The target's name.
        command: The command that runs it (libFuzzer flags are appended).
        corpus: The seed corpus directory (read only).
        dictionary: A libFuzzer dictionary, if any.
        max_len: The longest input to try.
    """

    name: str
    command: tuple[str, ...]
    corpus: Path
    dictionary: Path | None = None
    max_len: int = 4096


@dataclass(frozen=True)
class Result:
    """What one target's run gave.

    Attributes:
        name: The target.
        returncode: Its exit status (0: no finding).
        runs: Inputs executed.
        execs_per_second: Its average speed.
        seconds: Wall-clock time of the run.
        crash: The crashing input, if there was a finding.
        output: libFuzzer's output (the tail is shown on a finding).
    """

    name: str
    returncode: int
    runs: int
    execs_per_second: int
    seconds: float
    crash: Path | None
    output: str

    @property
    def ok(self) -> bool:
        """Whether the run ended without a finding."""
        return self.returncode == 0


def target(name: str) -> Target:
    """The target called ``name`` (one of :data:`TARGETS`)."""
    if name not in TARGETS:
        raise SystemExit(f"unknown target {name!r}; the targets are: {', '.join(TARGETS)}")
    dictionary = HERE / "dicts" / f"{name}.dict"
    return Target(
        name=name,
        command=(sys.executable, "-m", f"fuzz.targets.{name}"),
        corpus=HERE / "corpus" / name,
        dictionary=dictionary if dictionary.exists() else None,
        max_len=MAX_LEN.get(name, 4096),
    )


def _stat(output: str, name: str) -> int:
    found = re.findall(rf"stat::{name}:\s+(\d+)", output)
    return int(found[-1]) if found else 0


def run_target(
    spec: Target,
    *,
    seconds: int,
    runs: int | None = None,
    artifacts: Path,
    reproduce: Path | None = None,
    workdir: Path | None = None,
    seed: int | None = None,
    strict: bool = False,
) -> Result:
    """Fuzz one target in a subprocess, for at most ``seconds`` (and ``runs`` inputs, if given).

    Args:
        spec: The target.
        seconds: The time budget (libFuzzer's ``-max_total_time``); the process is killed 60 s later.
        runs: The most inputs to run (libFuzzer's ``-runs``).
        artifacts: Where crashing inputs are written.
        reproduce: Run only this input (and report whether it still fails).
        workdir: Where the scratch corpus goes (default: a temporary directory, removed afterwards).
        seed: libFuzzer's random seed (default: a new one each run).
        strict: Count the known findings too (``COOKIECONSENT_FUZZ_STRICT=1``, see :mod:`fuzz.known`).
    """
    artifacts.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"fuzz-{spec.name}-", dir=workdir))
    flags = [
        f"-max_total_time={max(1, seconds)}",
        f"-timeout={INPUT_TIMEOUT}",
        f"-max_len={spec.max_len}",
        "-rss_limit_mb=2048",
        "-print_final_stats=1",
        f"-artifact_prefix={artifacts}{os.sep}{spec.name}-",
    ]
    if runs is not None:
        flags.append(f"-runs={runs}")
    if seed is not None:
        flags.append(f"-seed={seed}")
    if spec.dictionary is not None:
        flags.append(f"-dict={spec.dictionary}")
    inputs = [str(reproduce)] if reproduce is not None else [str(scratch), str(spec.corpus)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "0"}
    if strict:
        env["COOKIECONSENT_FUZZ_STRICT"] = "1"
    started = time.monotonic()
    try:
        done = subprocess.run(
            [*spec.command, *flags, *inputs],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            timeout=seconds + 60,
            check=False,
        )
        output, returncode = done.stdout, done.returncode
    except subprocess.TimeoutExpired as exc:
        raw = exc.stdout or b""
        output = (raw.decode(errors="replace") if isinstance(raw, bytes) else raw) + "\n[killed: no end in time]"
        returncode = -9
    finally:
        if workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)
    crash = None
    written = re.findall(r"Test unit written to (\S+)", output)
    if written:
        crash = Path(written[-1])
    elif reproduce is not None and returncode != 0:
        crash = reproduce
    return Result(
        name=spec.name,
        returncode=returncode,
        runs=_stat(output, "number_of_executed_units"),
        execs_per_second=_stat(output, "average_exec_per_sec"),
        seconds=time.monotonic() - started,
        crash=crash,
        output=output,
    )


def _tail(output: str, lines: int = 40) -> str:
    return "\n".join(output.rstrip().splitlines()[-lines:])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the targets; return 0 when none found anything, else 1."""
    parser = argparse.ArgumentParser(description="Fuzz the cookieconsent parsers with atheris.")
    parser.add_argument("--seconds", type=int, default=60, help="time budget per target (default 60)")
    parser.add_argument("--runs", type=int, default=None, help="most inputs per target (default: no limit)")
    parser.add_argument("--target", action="append", choices=TARGETS, help="a target to run (repeatable)")
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=HERE / "artifacts",
        help="where crashing inputs are written (default fuzz/artifacts, not committed)",
    )
    parser.add_argument("--reproduce", type=Path, help="run one input through the target (with --target)")
    parser.add_argument("--keep-corpus", type=Path, help="keep the inputs found in this directory")
    parser.add_argument("--seed", type=int, help="libFuzzer's random seed (default: a new one each run)")
    parser.add_argument("--strict", action="store_true", help="count the known findings (fuzz/known.py) too")
    args = parser.parse_args(argv)
    names = args.target or list(TARGETS)
    if args.reproduce is not None and len(names) != 1:
        parser.error("--reproduce needs exactly one --target")
    if args.keep_corpus is not None:
        args.keep_corpus.mkdir(parents=True, exist_ok=True)
    failed = False
    print(f"{'target':<12} {'result':<8} {'runs':>9} {'exec/s':>7} {'seconds':>8}")
    for name in names:
        result = run_target(
            target(name),
            seconds=args.seconds,
            runs=args.runs,
            artifacts=args.artifacts,
            reproduce=args.reproduce,
            workdir=args.keep_corpus,
            seed=args.seed,
            strict=args.strict,
        )
        status = "ok" if result.ok else "FINDING"
        print(
            f"{name:<12} {status:<8} {result.runs:>9} {result.execs_per_second:>7} {result.seconds:>8.1f}", flush=True
        )
        if not result.ok:
            failed = True
            print(_tail(result.output), file=sys.stderr)
            print(f"crashing input: {result.crash or '(none written; see the output above)'}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
