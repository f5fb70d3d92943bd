"""The attack pages of :mod:`tests.vectors`, served behind the consent middleware on both adapters.

``fastapi_app`` is a FastAPI app behind the ASGI middleware (serve it with
``uvicorn tests.vector_app:fastapi_app``); ``flask_app`` a Flask app behind the Flask extension, that
is the WSGI middleware (``gunicorn tests.vector_app:flask_app``). Both enforce the demo's policy
(``examples/telexpress/policy.toml``: functional, analytics and marketing) over plain HTTP, and serve:

- ``/``: a page with the banner and nothing else, where the test decides;
- ``/v/<name>``: a vector page, streamed in :data:`CHUNK`-byte chunks as a real app streams a
  template, so that the rewriter meets tags split across chunks as it would in production;
- ``/static/pixel.gif``: a first-party image (``/static/…`` otherwise answers 404);
- ``/static/slow.js``: the parser-blocking script of every vector page, answered after
  :data:`SLOW_SECONDS`, so that Chromium's preload scanner reads each page ahead of the parser.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from flask import Flask
from flask import Response as FlaskResponse
from starlette.exceptions import HTTPException

from cookieconsent import ConsentConfig, load_policy
from cookieconsent.asgi import ConsentMiddleware
from cookieconsent.flask import CookieConsent
from tests.vectors import BLOCKING_SCRIPT, PAGE_NAMED, PAGES

__all__ = ["CHUNK", "CONSENT_COOKIE", "config", "fastapi_app", "flask_app"]

#: The demo's policy: categories functional, analytics and marketing (GPC refuses marketing).
POLICY_PATH = Path(__file__).resolve().parents[1] / "examples" / "telexpress" / "policy.toml"
#: The size of the chunks a vector page is streamed in.
CHUNK = 4096
#: The consent cookie's name over plain HTTP.
CONSENT_COOKIE = "consent"
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
HTML = "text/html; charset=utf-8"
#: How long the parser-blocking script takes to arrive.
SLOW_SECONDS = 0.1
SLOW_JS = b"/* parser-blocking */\n"

config = ConsentConfig(
    policy=load_policy(POLICY_PATH),
    secret_keys=["vector-app-secret-key-0123456789"],
    secure=False,
    cookie_name=CONSENT_COOKIE,
)

INDEX = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Vectors</title></head>\n'
    "<body><h1>Vector pages</h1><ul>\n"
    + "".join(f'<li><a href="{p.path}">{p.name}</a></li>\n' for p in PAGES)
    + "</ul></body></html>\n"
)


def page_chunks(name: str) -> list[bytes] | None:
    """The vector page ``name`` in :data:`CHUNK`-byte chunks (``None`` if there is no such page)."""
    page = PAGE_NAMED.get(name)
    if page is None:
        return None
    body = page.html().encode("utf-8")
    return [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]


# -- FastAPI, behind the ASGI middleware ----------------------------------------------------------

fastapi_app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
fastapi_app.add_middleware(ConsentMiddleware, config=config)


@fastapi_app.get("/")
def _index() -> HTMLResponse:
    return HTMLResponse(INDEX)


@fastapi_app.get("/v/{name}")
def _vector_page(name: str) -> StreamingResponse:
    chunks = page_chunks(name)
    if chunks is None:
        raise HTTPException(status_code=404)

    def stream() -> Iterator[bytes]:
        yield from chunks

    return StreamingResponse(stream(), media_type=HTML)


@fastapi_app.get("/static/pixel.gif")
def _pixel() -> Response:
    return Response(PIXEL, media_type="image/gif")


@fastapi_app.get(BLOCKING_SCRIPT)
async def _slow() -> Response:
    await asyncio.sleep(SLOW_SECONDS)
    return Response(SLOW_JS, media_type="text/javascript")


# -- Flask, behind the WSGI middleware (the Flask extension) --------------------------------------

flask_app = Flask(__name__, static_folder=None)
flask_app.config["COOKIECONSENT_STORE"] = False  # nothing to record: the FastAPI app records nothing either
CookieConsent(flask_app, config=config)


@flask_app.get("/")
def _flask_index() -> FlaskResponse:
    return FlaskResponse(INDEX, content_type=HTML)


@flask_app.get("/v/<name>")
def _flask_vector_page(name: str) -> FlaskResponse:
    chunks = page_chunks(name)
    if chunks is None:
        return FlaskResponse("not found", status=404, content_type="text/plain")
    return FlaskResponse(iter(chunks), content_type=HTML)


@flask_app.get("/static/pixel.gif")
def _flask_pixel() -> FlaskResponse:
    return FlaskResponse(PIXEL, content_type="image/gif")


@flask_app.get(BLOCKING_SCRIPT)
def _flask_slow() -> FlaskResponse:
    time.sleep(SLOW_SECONDS)
    return FlaskResponse(SLOW_JS, content_type="text/javascript")
