"""A Starlette app with a strict Content-Security-Policy: a fresh nonce on every response.

The consent middleware reads the nonce from the response's ``Content-Security-Policy`` header and
puts it on every ``<script>`` and stylesheet it injects (the Consent Mode bootstrap, the banner's
state, script and stylesheet), so the page needs no ``'unsafe-inline'``. The header itself passes
unchanged. Run it: ``uvicorn examples.starlette_csp:app``.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from cookieconsent import ConsentConfig, load_policy
from cookieconsent.asgi import ConsentMiddleware

policy = load_policy(Path(__file__).with_name("minimal_policy.toml"))
config = ConsentConfig(policy=policy, secret_keys=["change-me-0123456789abcdef"])  # keep real keys in secrets


def csp(nonce: str) -> str:
    """A policy that runs only the scripts and stylesheets carrying ``nonce`` (and same-origin files)."""
    return (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )


async def index(request: Request) -> HTMLResponse:
    """A page with an inline script of its own and an analytics one the middleware holds back."""
    nonce = secrets.token_urlsafe(16)
    allowed = request.state.consent.allows("analytics")
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>CSP</title>'
        f'<script nonce="{nonce}">document.documentElement.dataset.js = "on";</script>'
        f'<script data-category="analytics" nonce="{nonce}">console.log("analytics runs");</script>'
        f"</head><body><p>Analytics allowed: {allowed}</p></body></html>"
    )
    return HTMLResponse(page, headers={"Content-Security-Policy": csp(nonce)})


app = Starlette(routes=[Route("/", index)], middleware=[Middleware(ConsentMiddleware, config=config)])
