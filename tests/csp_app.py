"""Two small apps, on FastAPI and on Flask, whose pages load trackers that no HTML rewriter can see.

The Content-Security-Policy tests use them: ``tests/test_csp.py`` in process, ``tests/browser/test_csp.py``
served by real servers::

    python -m uvicorn --factory tests.csp_app:fastapi_app --port 8000   # uvicorn
    python -m tests.csp_app --port 8000                                  # Flask on Werkzeug

``COOKIECONSENT_CSP`` picks the mode (``off``, ``report-only`` or ``enforce``; ``enforce`` if unset).

- ``/``: a first-party inline script assembles an analytics script's URL and a marketing pixel's URL
  at run time, so the rewriter cannot see them; a script from the ``necessary`` CDN; an inline style;
  a YouTube embed (caught by the rewriter, with its placeholder).
- ``/strict``: the same page under the app's own policy, which allows scripts by a fresh nonce.
- ``/csp-counts``: the middleware's report counts, as ``[[directive, source, count], …]``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import tomllib
from typing import Any

from cookieconsent import ConsentConfig
from cookieconsent.policy.model import Policy, parse_policy

__all__ = ["ANALYTICS_HOST", "CDN_HOST", "MARKETING_HOST", "fastapi_app", "flask_app", "make_config", "page"]

SECRET = "csp-test-secret-key-0123456789abcdef"
CDN_HOST = "static.example-cdn.com"
ANALYTICS_HOST = "www.google-analytics.com"
MARKETING_HOST = "www.facebook.com"
CHAT_HOST = "cdn.example-chat.com"

POLICY_TOML = f"""
version = "1"
locales = ["en"]
privacy_policy_url = "/privacy"

[controller]
name = "Example Ltd."
email = "privacy@example.com"

[gpc]
last_update = 2024-09-01

[[categories]]
id = "necessary"
required = true
title = "Strictly necessary"
description = "Needed for the site to work."
hosts = ["{CDN_HOST}"]

[[categories]]
id = "functional"
title = "Functional"
description = "Remembers choices."

[[categories]]
id = "analytics"
title = "Analytics"
description = "Statistics."
hosts = ["{ANALYTICS_HOST}", "*.analytics.google.com"]

[[categories]]
id = "marketing"
gpc = true
title = "Marketing"
description = "Advertising."
hosts = ["{MARKETING_HOST}", "www.youtube.com"]

[[trackers]]
host = "{CHAT_HOST}"
category = "functional"
vendor = "Example chat"

[[cookies]]
name = "session"
category = "necessary"
purpose = "Signs you in."
provider = "Example"
lifetime = "Session"
justification = "Keeps a signed-in visitor signed in."
"""

#: A first-party inline script that builds tracker URLs at run time, as tag loaders do.
LOADER = (
    "document.documentElement.dataset.ran = 'yes';"
    "var s = document.createElement('script');"
    "s.src = 'https://www.google-' + 'analytics.com/analytics.js';"
    "document.head.appendChild(s);"
    "new Image().src = 'https://www.face' + 'book.com/tr?id=1&ev=PageView';"
)


def policy() -> Policy:
    """The test policy: hosts on ``necessary``, ``analytics`` and ``marketing``, a tracker in ``functional``."""
    return parse_policy(tomllib.loads(POLICY_TOML))


def make_config(mode: str | None = None) -> ConsentConfig:
    """The apps' configuration, in ``mode`` (else ``COOKIECONSENT_CSP``, else ``enforce``)."""
    return ConsentConfig(
        policy=policy(), secret_keys=[SECRET], csp=mode or os.environ.get("COOKIECONSENT_CSP", "enforce")
    )


def page(nonce: str | None = None) -> str:
    """The test page; with ``nonce``, every script of its own carries it."""
    attr = f' nonce="{nonce}"' if nonce else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>CSP test</title>'
        f'<script{attr} async src="https://{CDN_HOST}/lib.js"></script>'
        f"<script{attr}>{LOADER}</script>"
        "<style>#styled { color: rgb(0, 128, 0); }</style>"
        '</head><body><h1 id="styled">CSP test</h1>'
        '<p style="font-style: italic" id="inline-style">Styled inline</p>'
        '<iframe src="https://www.youtube.com/embed/x" title="Video"></iframe>'
        "</body></html>"
    )


def strict_csp(nonce: str) -> str:
    """The app's own policy on ``/strict``: scripts by nonce only."""
    return f"script-src 'nonce-{nonce}' 'strict-dynamic'; object-src 'none'; base-uri 'none'"


def _counts(table: dict[tuple[str, str], int]) -> str:
    return json.dumps([[directive, source, count] for (directive, source), count in table.items()])


def fastapi_app(mode: str | None = None) -> Any:
    """The FastAPI app, behind the ASGI middleware (a uvicorn ``--factory``)."""
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse, Response

    from cookieconsent.asgi import ConsentMiddleware

    inner = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app = ConsentMiddleware(inner, config=make_config(mode))

    @inner.api_route("/", methods=["GET", "HEAD"])
    def home() -> HTMLResponse:
        return HTMLResponse(page())

    @inner.get("/strict")
    def strict() -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        return HTMLResponse(page(nonce), headers={"Content-Security-Policy": strict_csp(nonce)})

    @inner.get("/csp-counts")
    def counts() -> Response:
        return Response(_counts(app.pages.csp_reports.counts()), media_type="application/json")

    return app


def flask_app(mode: str | None = None) -> Any:
    """The Flask app, behind the WSGI middleware (the Flask extension)."""
    from flask import Flask, Response

    from cookieconsent.flask import CookieConsent

    app = Flask(__name__)
    CookieConsent(app, config=make_config(mode))

    @app.get("/")
    def home() -> str:
        return page()

    @app.get("/strict")
    def strict() -> Response:
        nonce = secrets.token_urlsafe(16)
        return Response(page(nonce), headers={"Content-Security-Policy": strict_csp(nonce)})

    @app.get("/csp-counts")
    def counts() -> Response:
        table = CookieConsent.middleware(app).pages.csp_reports.counts()
        return Response(_counts(table), mimetype="application/json")

    return app


def main(argv: list[str] | None = None) -> None:
    """Serve the Flask app with Werkzeug's threaded server."""
    parser = argparse.ArgumentParser(description="Serve the CSP test app (Flask).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    from werkzeug.serving import run_simple

    run_simple(args.host, args.port, flask_app(), use_reloader=False, threaded=True)


if __name__ == "__main__":
    main()
