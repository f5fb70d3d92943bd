"""The smallest Flask app behind cookieconsent. Run it: ``flask --app examples.minimal_flask run``."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, render_template

from cookieconsent.flask import CookieConsent

app = Flask(__name__)  # templates come from examples/templates/
app.config.update(
    SECRET_KEY="change-me-0123456789abcdef",  # keep real keys in secrets: it also signs the consent cookie
    COOKIECONSENT_POLICY=Path(__file__).with_name("minimal_policy.toml"),
)
CookieConsent(app)


@app.get("/")
def index() -> Response:
    response = Response(render_template("index.html"))  # the template asks consent.allows("analytics")
    response.set_cookie("session", "s3cr3t", httponly=True, secure=True)  # necessary: always passes
    response.set_cookie("_ga", "GA1.1.1.1", secure=True)  # analytics: stripped until the visitor grants it
    return response
