"""The Telexpress demo site on FastAPI, behind the ASGI consent middleware.

Run it with ``uvicorn examples.fastapi_app:app`` (the consent cookie is ``Secure``: use HTTPS, or set
``COOKIECONSENT_SECURE=0`` for plain-HTTP development). The pages come from :mod:`examples.demosite`,
which ``examples/flask_app.py`` serves too, byte for byte.

Every page carries an enforced Content-Security-Policy built from the visitor's consent: a tracker that
slips past the HTML rewriting is blocked by the browser. ``COOKIECONSENT_CSP=report-only`` only reports
what it would block, ``COOKIECONSENT_CSP=off`` sends none.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from cookieconsent.asgi import ConsentMiddleware
from cookieconsent.fastapi import Consent
from examples import demosite

config = demosite.make_config()

# No interactive docs and no slash redirects: the Flask app has neither, and both must answer alike.
app = FastAPI(
    title="Telexpress demo (cookieconsent)",
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
    redirect_slashes=False,
)
recorder = demosite.make_recorder(config)
app.add_middleware(ConsentMiddleware, config=config, recorder=recorder)
app.mount("/static", StaticFiles(directory=demosite.STATIC_DIR), name="static")

# Flask answers HEAD wherever it answers GET; FastAPI's @app.get does not, so pages list both.
PAGE = ["GET", "HEAD"]


def page_lang(request: Request) -> str:
    """The page language of ``request``: ``?lang=`` for this view, else its ``lang`` cookie."""
    query = demosite.query_lang(request.url.query)
    return demosite.page_lang(request.cookies.get("lang"), request.headers.get("accept-language"), query)


def redirect_home(*cookies: str, to: str = "/") -> Response:
    """A 303 redirect (to the home page by default) that sets ``cookies`` (``Set-Cookie`` values)."""
    response = RedirectResponse(to, status_code=303)
    for cookie in cookies:
        response.headers.append("set-cookie", cookie)
    return response


@app.api_route("/", methods=PAGE)
def home(request: Request) -> HTMLResponse:
    """The home page, which tries to set tracking cookies as many sites do."""
    lang = page_lang(request)
    response = HTMLResponse(demosite.home_page(lang))
    for cookie in demosite.home_cookies(request.cookies, lang, secure=config.secure):
        response.headers.append("set-cookie", cookie)
    return response


@app.api_route("/articles/{slug}", methods=PAGE)
def article(slug: str, request: Request, consent: Consent) -> HTMLResponse:
    """An article; it shows whether analytics is on for this visitor."""
    page = demosite.article_page(slug, page_lang(request), consent)
    if page is None:
        raise HTTPException(status_code=404)
    return HTMLResponse(page)


@app.api_route("/login", methods=PAGE)
def login_form(request: Request) -> HTMLResponse:
    """The sign-in form, with the ``csrftoken`` cookie its hidden field matches."""
    token = demosite.new_csrf_token(request.cookies)
    response = HTMLResponse(demosite.login_page(page_lang(request), token))
    response.headers.append("set-cookie", demosite.csrf_cookie(token, secure=config.secure))
    return response


@app.post("/login")
async def login(request: Request) -> Response:
    """Sign in (any details work in the demo, from this site's form): a fresh ``session`` cookie, then home."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    if not demosite.csrf_valid(request.cookies, next(iter(form.get("csrf", [])), None)):
        return HTMLResponse(demosite.error_page(403, page_lang(request)), status_code=403)
    return redirect_home(demosite.session_cookie(secure=config.secure))


@app.api_route("/lang/{code}", methods=PAGE)
def switch_language(code: str, request: Request, consent: Consent) -> Response:
    """Show the page in ``code``: remembered in a functional cookie if allowed, else for this view only."""
    if code not in demosite.LANGUAGES:
        raise HTTPException(status_code=404)
    remembered = consent.allows("functional")
    back = demosite.switch_back(request.headers.get("referer"), request.url.netloc, code, remembered=remembered)
    if remembered:
        return redirect_home(demosite.lang_cookie(code, secure=config.secure), to=back)
    return redirect_home(to=back)


@app.api_route("/privacy", methods=PAGE)
def privacy(request: Request) -> HTMLResponse:
    """The privacy notice, rendered from the enforced policy."""
    return HTMLResponse(demosite.privacy_page(config.policy, page_lang(request)))


@app.api_route("/api/news", methods=PAGE)
def news(request: Request) -> Response:
    """The articles as JSON."""
    return Response(demosite.news_json(page_lang(request)), media_type="application/json")


@app.exception_handler(HTTPException)
async def http_error(request: Request, exc: HTTPException) -> HTMLResponse:
    """Every HTTP error as the site's own error page."""
    page = demosite.error_page(exc.status_code, page_lang(request))
    return HTMLResponse(page, status_code=exc.status_code, headers=exc.headers)
