"""The ``cookieconsent`` command.

Exit codes: 0 success, 1 the check found problems, 2 wrong usage (argparse).

- ``cookieconsent check POLICY``: validate a policy file; print every problem with its location and fix.
- ``cookieconsent demo [--framework fastapi|flask] [--host H] [--port P]``: serve the demo site of a
  clone of the repository (it lives in ``examples/``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cookieconsent.errors import PolicyError
from cookieconsent.policy import load_policy

__all__ = ["main"]


def _check(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.policy)
    except PolicyError as exc:
        print(f"{args.policy}: {exc}", file=sys.stderr)
        return 1
    print(
        f"{args.policy}: OK — {len(policy.categories)} categories, {len(policy.cookies)} cookies, "
        f"{len(policy.data_items)} data items, languages {', '.join(policy.locales)}; "
        f"fingerprint {policy.fingerprint}"
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    root = Path.cwd()
    if not (root / "examples" / "serve.py").is_file():
        print(
            "The demo site lives in the repository's examples/ folder: run this command from a clone of the "
            "repository (or run `make demo` there).",
            file=sys.stderr,
        )
        return 1
    sys.path.insert(0, str(root))
    from examples.serve import main as serve  # type: ignore[import-not-found,unused-ignore]

    print(f"Serving the demo site ({args.framework}) on http://{args.host}:{args.port}/ — Ctrl+C stops it.")
    serve(["--framework", args.framework, "--host", args.host, "--port", str(args.port)])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = argparse.ArgumentParser(prog="cookieconsent", description="Put a privacy policy into force.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser("check", help="validate a policy file", description="Validate a policy file.")
    check.add_argument("policy", help="the policy file (.toml or .json)")
    check.set_defaults(run=_check)
    demo = commands.add_parser("demo", help="serve the demo site", description="Serve the demo site.")
    demo.add_argument("--framework", choices=["fastapi", "flask"], default="fastapi")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.set_defaults(run=_demo)
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
