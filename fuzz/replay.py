"""Run inputs through a fuzz target without libFuzzer, with full tracebacks.

::

    .venv/bin/python -m fuzz.replay rewrite fuzz/findings/rewrite-*.bin
    COOKIECONSENT_FUZZ_STRICT=1 .venv/bin/python -m fuzz.replay rewrite fuzz/findings/rewrite-*.bin -v

Prints one line per input (``ok`` or ``FINDING`` and the first line of the message; with ``-v`` the
traceback too) and exits with the number of findings (at most 100).
"""

from __future__ import annotations

import importlib
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    """Replay the inputs given after the target's name; return the number of findings."""
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in args
    args = [a for a in args if a != "-v"]
    if len(args) < 2:
        print("usage: python -m fuzz.replay TARGET INPUT...", file=sys.stderr)
        return 100
    module = importlib.import_module(f"fuzz.targets.{args[0]}")
    findings = 0
    for name in args[1:]:
        try:
            module.test_one_input(Path(name).read_bytes())
        except Exception as exc:  # every exception is a finding; print it and go on
            findings += 1
            print(f"FINDING {name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            if verbose:
                traceback.print_exc()
        else:
            print(f"ok      {name}")
    return min(findings, 100)


if __name__ == "__main__":
    sys.exit(main())
