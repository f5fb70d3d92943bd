"""The smallest FastAPI app behind cookieconsent. Run it: ``uvicorn examples.minimal_fastapi:app``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from cookieconsent import ConsentConfig, load_policy
from cookieconsent.asgi import ConsentMiddleware
from cookieconsent.fastapi import Consent

policy = load_policy(Path(__file__).with_name("minimal_policy.toml"))
app = FastAPI()
# Read the key from your secrets in production: it signs the consent cookie.
app.add_middleware(ConsentMiddleware, config=ConsentConfig(policy=policy, secret_keys=["change-me-0123456789abcdef"]))


@app.get("/")
def index(consent: Consent) -> HTMLResponse:
    page = f"<!doctype html><title>Minimal</title><p>Analytics allowed: {consent.allows('analytics')}</p>"
    response = HTMLResponse(page)
    response.set_cookie("session", "s3cr3t", httponly=True, secure=True)  # necessary: always passes
    response.set_cookie("_ga", "GA1.1.1.1", secure=True)  # analytics: stripped until the visitor grants it
    return response
