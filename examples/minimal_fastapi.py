"""The smallest FastAPI app behind cookieconsent. Run it: ``uvicorn examples.minimal_fastapi:app``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Response
from fastapi.responses import HTMLResponse

from cookieconsent import ConsentConfig, load_policy
from cookieconsent.asgi import ConsentMiddleware
from cookieconsent.fastapi import Consent

policy = load_policy(Path(__file__).with_name("minimal_policy.toml"))
config = ConsentConfig(policy=policy, secret_keys=["change-me-0123456789abcdef"])  # keep real keys in secrets
app = FastAPI()
app.add_middleware(ConsentMiddleware, config=config)


@app.get("/", response_class=HTMLResponse)
def index(consent: Consent, response: Response) -> str:
    response.set_cookie("session", "s3cr3t", httponly=True, secure=True)  # necessary: always passes
    response.set_cookie("_ga", "GA1.1.1.1", secure=True)  # analytics: stripped until the visitor grants it
    return f"<!doctype html><title>Minimal</title><body><p>Analytics allowed: {consent.allows('analytics')}</p>"
