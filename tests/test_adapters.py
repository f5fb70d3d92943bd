"""The ASGI and WSGI twins and the framework helpers: they translate, stream and keep close()."""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
from collections.abc import Iterator, MutableMapping
from typing import Any
from urllib.parse import quote

import pytest
import uvicorn
from fastapi import FastAPI
from flask import Flask, g, render_template_string
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import Client

from cookieconsent import ConsentConfig, ConsentState
from cookieconsent.asgi import ASGIRequest
from cookieconsent.asgi import ConsentMiddleware as ASGIMiddleware
from cookieconsent.errors import ConfigurationError
from cookieconsent.fastapi import Consent, require_consent
from cookieconsent.flask import CookieConsent, current_consent
from cookieconsent.wsgi import ConsentMiddleware as WSGIMiddleware
from tests.harness import ASGICall, run_asgi, run_in_thread


def consent_cookie(client: TestClient, action: str = "accept_all") -> None:
    assert client.post("/_consent", json={"action": action}).status_code == 200


# -- ASGI ------------------------------------------------------------------------------------------


def test_asgi_exposes_state_on_request_state(config: ConsentConfig) -> None:
    seen: list[ConsentState] = []

    def home(request: Request) -> PlainTextResponse:
        seen.append(request.state.consent)
        assert request.state.cookieconsent is request.state.consent
        return PlainTextResponse("ok")

    client = TestClient(ASGIMiddleware(Starlette(routes=[Route("/", home)]), config), base_url="https://testserver")
    client.get("/")
    consent_cookie(client)
    client.get("/")
    assert [s.decided for s in seen] == [False, True]
    assert seen[1].allows("marketing") is True


def test_asgi_streams_the_body_untouched(config: ConsentConfig) -> None:
    chunks = [b"<p>one</p>", b"<p>two</p>" * 1000, b""]

    async def stream() -> Any:
        for chunk in chunks:
            yield chunk

    def home(request: Request) -> StreamingResponse:
        response = StreamingResponse(stream(), media_type="text/html")
        response.set_cookie("_ga", "1")
        return response

    inner = ASGIMiddleware(Starlette(routes=[Route("/", home)]), config)
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 443),
    }
    received = run_asgi(inner, scope).messages
    bodies = [m["body"] for m in received if m["type"] == "http.response.body"]
    assert b"".join(bodies) == b"".join(chunks)
    assert len(bodies) >= 2  # not buffered into one message
    start = received[0]
    assert start["type"] == "http.response.start"
    assert all(k != b"set-cookie" for k, _ in start["headers"])  # _ga removed


def test_asgi_passes_other_scopes_through(config: ConsentConfig) -> None:
    calls: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["type"])

    middleware = ASGIMiddleware(app, config)
    run_asgi(middleware, {"type": "websocket", "path": "/_consent"})
    run_asgi(middleware, {"type": "lifespan"})
    assert calls == ["websocket", "lifespan"]


def test_asgi_servers_tell_the_middleware_is_an_asgi3_app(config: ConsentConfig) -> None:
    """Its ``__call__`` returns the app's awaitable; servers that test for a coroutine function see one."""
    middleware = ASGIMiddleware(Starlette(), config)
    assert inspect.iscoroutinefunction(middleware.__call__)  # hypercorn's test (utils.is_asgi)
    assert asyncio.iscoroutinefunction(middleware.__call__)  # asgiref's, and uvicorn's on Python 3.11
    server = uvicorn.Config(middleware, interface="auto")
    server.load()
    assert server.interface == "asgi3"


@pytest.mark.parametrize("how", ["called", "__call__"])
def test_asgi_middleware_answers_alike_however_it_is_called(config: ConsentConfig, how: str) -> None:
    """Called, or through the ``__call__`` a server looks up on it: the same response."""

    def home(request: Request) -> PlainTextResponse:
        response = PlainTextResponse(str(request.state.consent.decided))
        response.set_cookie("_ga", "1")
        response.set_cookie("session", "s")
        return response

    middleware = ASGIMiddleware(Starlette(routes=[Route("/", home)]), config)
    entry = middleware if how == "called" else middleware.__call__

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await entry(scope, receive, send)

    r = TestClient(app, base_url="https://testserver").get("/")
    assert r.text == "False"
    assert r.headers.get_list("set-cookie") == ["session=s; Path=/; SameSite=lax"]  # _ga refused


def test_asgi_middleware_calls_the_app_it_holds(config: ConsentConfig) -> None:
    """Setting ``app`` replaces the wrapped application, whatever kind of callable it is."""

    def answering(text: str) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": text.encode()})

        return app

    class Instance:
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await answering("instance")(scope, receive, send)

    class Inherited(Instance):
        pass

    class Static:
        @staticmethod
        async def __call__(scope: Any, receive: Any, send: Any) -> None:
            await answering("static")(scope, receive, send)

    middleware = ASGIMiddleware(answering("function"), config)
    client = TestClient(middleware, base_url="https://testserver")
    assert client.get("/").text == "function"
    apps: list[tuple[Any, str]] = [
        (Instance(), "instance"),
        (Inherited(), "instance"),
        (Static(), "static"),
        (functools.partial(answering("partial")), "partial"),
        (ASGIMiddleware(answering("nested"), config), "nested"),
    ]
    for app, text in apps:
        middleware.app = app
        assert middleware.app is app
        assert client.get("/").text == text


@pytest.mark.parametrize("prefix", ["/_consent", "/consent", "/~cc", "/a/b.c", "/-"])
def test_asgi_own_path_range_holds_every_path_the_library_answers(config: ConsentConfig, prefix: str) -> None:
    """Every path the library answers lies in its path range and reaches it, not the app; others reach the app."""
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    middleware = ASGIMiddleware(app, config.model_copy(update={"prefix": prefix}))
    client = TestClient(middleware, base_url="https://testserver")
    answered = 0

    @given(tail=st.text(alphabet="/._-~azAZ09\u00e9\uffff", max_size=12), cut=st.integers(1, 30))
    @settings(max_examples=100, deadline=None)
    def check(tail: str, cut: int) -> None:
        nonlocal answered
        for base in (prefix, "/.well-known/gpc.json", "/"):
            path = (base + tail)[:cut]
            if "//" in path or path.endswith("/.") or "/./" in path or "/.." in path:
                continue  # the client would normalise it into another path
            reached.clear()
            client.get(quote(path))
            own = middleware.endpoints.matches(path)
            answered += own
            assert reached == ([] if own else [path]), path
            low, high = middleware.endpoints.path_range
            assert not own or low <= path < high, path  # the two comparisons never rule out one of its paths

    check()
    assert answered > 0  # the library's own paths were among those tried


def _collected(kinds: tuple[type, ...], run: Any) -> list[object]:
    """The objects of ``kinds`` that ``run()`` left for the cycle collector (freed only by it)."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        run()
        gc.collect()
        return [o for o in gc.garbage if isinstance(o, kinds)]
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
        gc.enable()


@pytest.mark.parametrize(
    ("path", "cookie"),
    [("/api", "decided"), ("/asks", "decided"), ("/page", ""), ("/_consent/state", ""), ("/_consent", "")],
    ids=["decided-json", "app-asks-request", "undecided-html", "own-endpoint", "own-endpoint-wrong-method"],
)
def test_asgi_requests_leave_no_reference_cycles(config: ConsentConfig, path: str, cookie: str) -> None:
    """Each request's state, request view and sender are freed as soon as it ends, not by the GC.

    The state in the scope leads to the request view; a view holding the scope itself, or a sender
    still holding the state, would make a cycle per request, which costs every request.
    """

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] == "/asks":  # the state then makes its request view
            assert scope["state"]["consent"].request.path == "/asks"
        html = scope["path"] == "/page"
        headers = [(b"content-type", b"text/html" if html else b"application/json"), (b"set-cookie", b"_ga=1")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        body = b"<html><head></head><body>hi</body></html>" if html else b"{}"
        await send({"type": "http.response.body", "body": body})

    middleware = ASGIMiddleware(app, config)
    header = b""
    if cookie:
        client = TestClient(middleware, base_url="https://testserver")
        consent_cookie(client)
        header = f"{config.cookie_name}={client.cookies[config.cookie_name]}".encode()
    sent: list[MutableMapping[str, Any]] = []

    async def requests() -> None:
        for _ in range(3):
            scope = {
                "type": "http",
                "method": "GET",
                "scheme": "https",
                "path": path,
                "query_string": b"",
                "headers": [(b"host", b"testserver"), (b"cookie", header)],
                "state": {},
            }
            call = ASGICall()
            await middleware(scope, call.receive, call.send)
            sent.extend(call.messages)

    run_in_thread(requests)  # the first rendering of a banner may make cycles of its own, once
    left = _collected((ConsentState, ASGIRequest, dict), lambda: run_in_thread(requests))
    assert sent
    assert sent[0]["status"] in (200, 405)
    assert [o for o in left if not isinstance(o, dict) or "consent" in o or "headers" in o] == []


def test_asgi_state_still_answers_after_the_response(config: ConsentConfig) -> None:
    """An outer middleware may read the state once the app returned: its request is still there."""
    kept: list[ConsentState] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    inner = ASGIMiddleware(app, config)

    async def outer(scope: Any, receive: Any, send: Any) -> None:
        await inner(scope, receive, send)
        kept.append(scope["state"]["consent"])

    client = TestClient(outer, base_url="https://testserver")
    client.get("/article?x=1", headers={"accept-language": "zh-TW,zh;q=0.9"})
    (state,) = kept
    assert state.request.path == "/article"
    assert state.request.query_string == "x=1"
    assert state.locale == "zh-TW"  # not the default ("en"): read from the request's header now


def test_middleware_needs_a_config() -> None:
    with pytest.raises(TypeError, match="ConsentConfig"):
        ASGIMiddleware(lambda *a: None, {"policy": "x"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ConsentConfig"):
        WSGIMiddleware(lambda *a: [], None)  # type: ignore[arg-type]


# -- FastAPI ---------------------------------------------------------------------------------------


def test_fastapi_dependency_and_require_consent(config: ConsentConfig) -> None:
    app = FastAPI()
    app.add_middleware(ASGIMiddleware, config=config)

    @app.get("/state")
    def read(consent: Consent) -> dict[str, bool]:
        return {"analytics": consent.allows("analytics")}

    @app.post("/track", dependencies=[require_consent("analytics")])
    def track() -> dict[str, str]:
        return {"tracked": "yes"}

    client = TestClient(app, base_url="https://testserver")
    assert client.get("/state").json() == {"analytics": False}
    r = client.post("/track")
    assert r.status_code == 403
    assert "'analytics'" in r.json()["detail"]
    consent_cookie(client)
    assert client.get("/state").json() == {"analytics": True}
    assert client.post("/track").json() == {"tracked": "yes"}


def test_fastapi_dependency_without_middleware_explains() -> None:
    app = FastAPI()

    @app.get("/")
    def read(consent: Consent) -> str:
        return "never"

    with pytest.raises(RuntimeError, match="add_middleware"):
        TestClient(app).get("/")


# -- WSGI ------------------------------------------------------------------------------------------


class Body:
    """A WSGI body that records whether the server closed it."""

    def __init__(self) -> None:
        self.closed = False
        self.yielded = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in (b"a", b"b", b"c"):
            self.yielded += 1
            yield chunk

    def close(self) -> None:
        self.closed = True


def test_wsgi_returns_the_apps_iterable_and_keeps_close(config: ConsentConfig) -> None:
    body = Body()

    def app(environ: dict[str, Any], start_response: Any) -> Body:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Set-Cookie", "_ga=1"), ("Set-Cookie", "session=2")])
        return body

    middleware = WSGIMiddleware(app, config)
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured.update(status=status, headers=headers)
        return lambda data: None

    from werkzeug.test import EnvironBuilder

    result = middleware(EnvironBuilder(path="/", base_url="https://localhost").get_environ(), start_response)
    assert result is body  # streamed as it is, nothing buffered
    assert body.yielded == 0
    assert b"".join(result) == b"abc"
    getattr(result, "close")()  # noqa: B009 - the server's call, as WSGI servers make it
    assert body.closed
    assert [v for k, v in captured["headers"] if k == "Set-Cookie"] == ["session=2"]


def test_wsgi_start_response_called_late_by_a_generator(config: ConsentConfig) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Set-Cookie", "_fbp=1"), ("Set-Cookie", "lang=en")])
        yield b"late"

    client = Client(WSGIMiddleware(app, config))
    r = client.get("/", base_url="https://localhost")
    assert r.get_data() == b"late"
    assert r.headers.getlist("Set-Cookie") == []


@pytest.mark.parametrize("returned", [[], [b"</p></body></html>"]], ids=["all-written", "written-then-returned"])
def test_wsgi_write_goes_through_the_rewriter(config: ConsentConfig, returned: list[bytes]) -> None:
    """An app that writes its body with the legacy write() gets its page rewritten like any other."""
    tracker = b'<img src="https://www.facebook.com/tr?id=1" alt="">'
    page = b"<!doctype html><html><head><title>t</title></head><body><p>" + tracker + b"<p>text"
    pieces = [page[:30], page[30:75], page[75:]]  # cut inside the tracker's tag

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        for piece in pieces:
            write(piece)
        return returned

    response = Client(WSGIMiddleware(app, config)).get("/", base_url="https://localhost")
    body = response.get_data()
    assert b'data-src="https://www.facebook.com/tr?id=1"' in body
    assert b'src="https://www.facebook.com/tr' not in body.replace(b'data-src="https://www.facebook.com/tr', b"")
    assert b'id="cookieconsent"' in body  # the banner
    assert body.endswith(b"<p>text" + b"".join(returned))


def test_wsgi_write_of_other_bodies_is_the_servers(config: ConsentConfig) -> None:
    written: list[bytes] = []

    def server_write(data: bytes) -> None:
        written.append(data)

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "application/json")])
        assert write is server_write  # untouched: nothing to rewrite
        write(b"{}")
        return []

    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path="/", base_url="https://localhost").get_environ()
    assert list(WSGIMiddleware(app, config)(environ, lambda status, headers, exc_info=None: server_write)) == []
    assert written == [b"{}"]


# -- Flask -----------------------------------------------------------------------------------------


def test_flask_extension_g_and_jinja_global(config: ConsentConfig) -> None:
    app = Flask(__name__)
    CookieConsent(config=config).init_app(app)

    @app.get("/")
    def index() -> str:
        assert isinstance(g.consent, ConsentState)
        return render_template_string("{{ 'A' if consent.allows('analytics') else 'a' }}|{{ g.consent.decided }}")

    client = app.test_client()
    assert client.get("/", base_url="https://localhost").get_data(as_text=True) == "a|False"
    r = client.post("/_consent", json={"action": "accept_all"}, base_url="https://localhost")
    assert r.status_code == 200
    assert client.get("/", base_url="https://localhost").get_data(as_text=True) == "A|True"
    assert "cookieconsent" in app.extensions
    with pytest.raises(ConfigurationError, match="already initialised"):
        CookieConsent(app, config=config)


def test_flask_config_from_app_config(config: ConsentConfig) -> None:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="flask-secret-key-0123456789",
        COOKIECONSENT_POLICY=config.policy,
        COOKIECONSENT_MAX_AGE=3600,
    )
    CookieConsent(app)
    middleware = CookieConsent.middleware(app)
    assert middleware.engine.config.max_age == 3600
    assert middleware.engine.config.signing_keys == ["flask-secret-key-0123456789"]


def test_flask_store_key_is_not_a_config_option(config: ConsentConfig, tmp_path: Any) -> None:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="flask-secret-key-0123456789",
        COOKIECONSENT_POLICY=config.policy,
        COOKIECONSENT_STORE=str(tmp_path / "records.db"),
    )
    CookieConsent(app)  # the store is the extension's own setting, not the middleware's
    assert CookieConsent.middleware(app).engine.config.max_age == config.max_age


def test_flask_g_consent_is_read_on_demand(config: ConsentConfig) -> None:
    from flask import g
    from flask.ctx import _AppCtxGlobals

    class AppGlobals(_AppCtxGlobals):
        answer = 42

    app = Flask(__name__)
    app.app_ctx_globals_class = AppGlobals
    CookieConsent(app, config=config)

    @app.get("/")
    def index() -> str:
        same = g.consent is g.get("consent") is current_consent._get_current_object()  # type: ignore[attr-defined]
        return f"{same}|{'consent' in g}|{g.consent.allows('analytics')}|{g.answer}|{g.get('missing', '-')}"

    client = app.test_client()
    assert client.get("/", base_url="https://localhost").get_data(as_text=True) == "True|True|False|42|-"
    with app.app_context():  # no request: no state, and g says so as it does for any missing name
        assert "consent" not in g
        assert g.get("consent", "none") == "none"
        with pytest.raises(AttributeError):
            g.consent  # noqa: B018


def test_flask_without_policy_explains() -> None:
    with pytest.raises(ConfigurationError, match="COOKIECONSENT_POLICY"):
        CookieConsent(Flask(__name__))


def test_trusted_origin_may_post_from_a_sibling_host(policy: Any) -> None:
    config = ConsentConfig(policy=policy, secret_keys=["k" * 32], trusted_origins=["https://www.example.com"])
    client = TestClient(ASGIMiddleware(Starlette(), config), base_url="https://testserver")
    headers = {"origin": "https://www.example.com", "sec-fetch-site": "same-site"}
    assert client.post("/_consent", json={"action": "reject_all"}, headers=headers).status_code == 200
    headers = {"origin": "https://other.example.com", "sec-fetch-site": "same-site"}
    assert client.post("/_consent", json={"action": "reject_all"}, headers=headers).status_code == 403


def test_public_cache_control_becomes_private_when_cookies_are_set(config: ConsentConfig) -> None:
    def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok", headers={"cache-control": "public, max-age=600, s-maxage=600"})

    client = TestClient(ASGIMiddleware(Starlette(routes=[Route("/", home)]), config), base_url="https://testserver")
    client.post("/_consent", json={"action": "accept_all"})
    r = client.get("/", headers={"sec-gpc": "1"})  # GPC withdraws marketing: the cookie is re-issued
    assert r.headers.get_list("set-cookie")
    assert r.headers["cache-control"] == "private, max-age=600"
