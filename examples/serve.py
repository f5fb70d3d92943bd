"""Serve the demo site: ``python -m examples.serve [--framework fastapi|flask] [--csp MODE] [--host] [--port]``.

``--csp`` sets ``COOKIECONSENT_CSP`` for the app: ``enforce`` (the demo's default: each page carries
a Content-Security-Policy built from the visitor's consent), ``report-only`` or ``off``.
"""

from __future__ import annotations

import argparse
import os


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the cookieconsent demo site.")
    parser.add_argument("--framework", choices=["fastapi", "flask"], default="fastapi")
    parser.add_argument(
        "--csp",
        choices=["off", "report-only", "enforce"],
        default=None,
        help="the Content-Security-Policy mode (default: COOKIECONSENT_CSP, else enforce)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if args.csp is not None:  # read by examples.demosite.make_config when the app is imported
        os.environ["COOKIECONSENT_CSP"] = args.csp
    if args.framework == "fastapi":
        import uvicorn

        uvicorn.run("examples.fastapi_app:app", host=args.host, port=args.port, log_level="info")
    else:
        from werkzeug.serving import run_simple

        from examples.flask_app import app

        run_simple(args.host, args.port, app, use_reloader=False, threaded=True)


if __name__ == "__main__":
    main()
