"""The Telexpress demo site on Flask, behind the WSGI consent middleware (the Flask extension).

Run it with ``flask --app examples.flask_app run`` (the consent cookie is ``Secure``: use HTTPS, or set
``COOKIECONSENT_SECURE=0`` for plain-HTTP development). The pages come from :mod:`examples.demosite`,
which ``examples/fastapi_app.py`` serves too, byte for byte.

Every page carries an enforced Content-Security-Policy built from the visitor's consent: a tracker that
slips past the HTML rewriting is blocked by the browser. ``COOKIECONSENT_CSP=report-only`` only reports
what it would block, ``COOKIECONSENT_CSP=off`` sends none.
"""

from __future__ import annotations

from flask import Flask, Response, abort, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from cookieconsent.flask import CookieConsent
from examples import demosite

config = demosite.make_config()

app = Flask(__name__, static_folder=demosite.STATIC_DIR, static_url_path="/static")
app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False  # FastAPI answers OPTIONS with 405; so does this app
consent = CookieConsent(app, config=config, recorder=demosite.make_recorder(config))


def page_lang() -> str:
    """The page language of the current request: ``?lang=`` for this view, else its ``lang`` cookie."""
    query = demosite.query_lang(request.query_string.decode("latin-1"))
    return demosite.page_lang(request.cookies.get("lang"), request.headers.get("accept-language"), query)


def redirect_home(*cookies: str, to: str = "/") -> Response:
    """A 303 redirect (to the home page by default) that sets ``cookies`` (``Set-Cookie`` values)."""
    response = Response(status=303, headers={"Location": to})
    for cookie in cookies:
        response.headers.add("Set-Cookie", cookie)
    return response


@app.get("/")
def home() -> Response:
    """The home page, which tries to set tracking cookies as many sites do."""
    lang = page_lang()
    response = Response(demosite.home_page(lang))
    for cookie in demosite.home_cookies(request.cookies, lang, secure=config.secure):
        response.headers.add("Set-Cookie", cookie)
    return response


@app.get("/articles/<slug>")
def article(slug: str) -> Response:
    """An article; it shows whether analytics is on for this visitor."""
    page = demosite.article_page(slug, page_lang(), g.consent)
    if page is None:
        abort(404)
    return Response(page)


@app.get("/login")
def login_form() -> Response:
    """The sign-in form, with the ``csrftoken`` cookie its hidden field matches."""
    token = demosite.new_csrf_token(request.cookies)
    response = Response(demosite.login_page(page_lang(), token))
    response.headers.add("Set-Cookie", demosite.csrf_cookie(token, secure=config.secure))
    return response


@app.post("/login")
def login() -> Response:
    """Sign in (any details work in the demo, from this site's form): a fresh ``session`` cookie, then home."""
    if not demosite.csrf_valid(request.cookies, request.form.get("csrf")):
        return Response(demosite.error_page(403, page_lang()), status=403)
    return redirect_home(demosite.session_cookie(secure=config.secure))


@app.get("/lang/<code>")
def switch_language(code: str) -> Response:
    """Show the page in ``code``: remembered in a functional cookie if allowed, else for this view only."""
    if code not in demosite.LANGUAGES:
        abort(404)
    remembered = g.consent.allows("functional")
    back = demosite.switch_back(request.headers.get("referer"), request.host, code, remembered=remembered)
    if remembered:
        return redirect_home(demosite.lang_cookie(code, secure=config.secure), to=back)
    return redirect_home(to=back)


@app.get("/privacy")
def privacy() -> Response:
    """The privacy notice, rendered from the enforced policy."""
    return Response(demosite.privacy_page(config.policy, page_lang()))


@app.get("/api/news")
def news() -> Response:
    """The articles as JSON."""
    return Response(demosite.news_json(page_lang()), mimetype="application/json")


@app.errorhandler(HTTPException)
def http_error(error: HTTPException) -> WerkzeugResponse:
    """Every HTTP error as the site's own error page (keeping headers such as a 405's ``Allow``)."""
    response = error.get_response()
    response.set_data(demosite.error_page(response.status_code, page_lang()))
    return response
