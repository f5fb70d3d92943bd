"""A site behind the consent middleware that still tracks without consent: what ``cookieconsent audit`` must catch.

Serve it with ``uvicorn tests.leaky_app:app``. The middleware is in place and does its part (the
undeclared ``server_leak`` cookie of the response is removed), but the home page's own script gets
through, as a first-party inline script with no ``data-category`` does:

- it sets the undeclared cookie ``leak_id`` with ``document.cookie``;
- it writes the ``leak_ls`` key to ``localStorage``;
- it loads ``http://leak-tracker.invalid/t.js``, a host the tracker catalog does not know.

The ``session`` cookie is declared necessary: a correct audit reports it nowhere. ``/about`` is a clean
page, linked from the home page next to a link to another site (which an audit must not follow).
``/hanging`` never fires its load event: its image takes :data:`HANG_SECONDS` to answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

from cookieconsent import ConsentConfig
from cookieconsent.asgi import ConsentMiddleware
from cookieconsent.policy.model import parse_policy

TRACKER = "http://leak-tracker.invalid/t.js"
LEAKED_COOKIE = "leak_id"
LEAKED_KEY = "leak_ls"
HANG_SECONDS = 60

POLICY = parse_policy(
    {
        "version": "1",
        "locales": ["en"],
        "privacy_policy_url": "/about",
        "controller": {"name": {"en": "Leaky Ltd."}, "email": "privacy@leaky.example"},
        "gpc": {"last_update": dt.date(2025, 1, 1)},
        "cookies": [
            {
                "name": "session",
                "category": "necessary",
                "purpose": {"en": "Signs you in"},
                "provider": {"en": "Leaky Ltd."},
                "lifetime": {"en": "Session"},
                "justification": {"en": "Keeps a signed-in visitor signed in"},
            },
            {
                "name": "_ga",
                "category": "analytics",
                "purpose": {"en": "Statistics"},
                "provider": {"en": "Google"},
                "lifetime": {"en": "2 years"},
            },
        ],
    }
)

HOME = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Leaky</title></head>
<body>
<main>
<h1>A leaky site</h1>
<p><a href="/about">About us</a> · <a href="https://elsewhere.invalid/">Another site</a> · <a href="#top">Top</a></p>
</main>
<script>
document.cookie = "{LEAKED_COOKIE}=1; path=/";
localStorage.setItem("{LEAKED_KEY}", "1");
</script>
<script src="{TRACKER}"></script>
</body></html>
"""

ABOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>About</title></head>
<body><main><h1>About</h1><p><a href="/">Home</a></p></main></body></html>
"""

site = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@site.get("/")
def home() -> HTMLResponse:
    """The leaky home page; it also tries to set an undeclared cookie from the server (blocked)."""
    response = HTMLResponse(HOME)
    response.headers.append("set-cookie", "session=abc; Path=/; HttpOnly; SameSite=Lax")
    response.headers.append("set-cookie", "server_leak=1; Path=/")
    return response


@site.get("/about")
def about() -> HTMLResponse:
    """A clean page."""
    return HTMLResponse(ABOUT)


@site.get("/hanging")
def hanging() -> HTMLResponse:
    """A page whose load event comes only after :data:`HANG_SECONDS`."""
    return HTMLResponse('<!doctype html><html lang="en"><title>Slow</title><body><img src="/hang" alt=""></body>')


@site.get("/hang")
async def hang() -> Response:
    """An image that takes :data:`HANG_SECONDS` to answer."""
    await asyncio.sleep(HANG_SECONDS)
    return Response(b"", media_type="image/gif")


app = ConsentMiddleware(site, config=ConsentConfig(policy=POLICY, secret_keys=["leaky-app-secret-key-0123456789"]))
