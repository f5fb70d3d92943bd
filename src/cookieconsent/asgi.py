"""The ASGI middleware (Starlette, FastAPI, any ASGI app): pure ASGI, no framework import.

``app.add_middleware(ConsentMiddleware, config=config)``, or ``app = ConsentMiddleware(app, config=config)``.
The request's :class:`~cookieconsent.core.state.ConsentState` is at ``scope["state"]["consent"]``
(``request.state.consent``). This module only translates ASGI messages into calls on the
:class:`~cookieconsent.core.exchange.Exchange`, which decides. Place it inside any compression middleware.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from cookieconsent._setup import build
from cookieconsent.config import ConsentConfig
from cookieconsent.core.exchange import Exchange
from cookieconsent.core.request import ASGIRequest
from cookieconsent.core.state import ConsentState
from cookieconsent.records.recorder import Recorder
from cookieconsent.web import serving
from cookieconsent.web.replies import BodyReader
from cookieconsent.web.serving import Message, Receive, Scope, Send

__all__ = ["ASGIRequest", "ConsentMiddleware"]

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: ASGI extensions by which an app hands the server a file to send itself, unread by the middleware.
_FILE_SENDS = frozenset(("http.response.pathsend", "http.response.zerocopysend"))
_READ = frozenset((b"cookie", b"sec-gpc"))


class ConsentMiddleware:
    """Enforces a :class:`~cookieconsent.config.ConsentConfig` on an ASGI application.

    Args:
        app: The ASGI application to wrap.
        config: The configuration (policy, keys, cookie options).
        recorder: Records device and log data for the granted categories (see
            :class:`~cookieconsent.records.recorder.Recorder`); flushed at the end of the ASGI lifespan.
    """

    def __init__(self, app: ASGIApp, config: ConsentConfig, recorder: Recorder | None = None) -> None:
        self.app = app
        self.engine, self.endpoints = build(config, recorder)
        self.pages = self.engine.pages  # its csp_reports count the CSP violations browsers report
        self.recorder = recorder
        self.__call__ = self._serve  # type: ignore[method-assign]  # uvicorn, hypercorn: an ASGI 3 app

    @property
    def app(self) -> ASGIApp:
        """The wrapped application (it may be replaced)."""
        return self._wrapped

    @app.setter
    def app(self, app: ASGIApp) -> None:
        self._wrapped = app
        self._app = serving.direct_call(app)

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """Handle one ASGI connection: answer the library's endpoints, else call the app through an exchange.

        Returns the app's own awaitable for the requests the app answers: no coroutine of ours each time.
        """
        if scope["type"] != "http":
            if scope["type"] == "lifespan" and self.recorder is not None:
                send = serving.closing_lifespan(send, self.recorder.close)
            return self._app(scope, receive, send)
        # The request view reads a copy without "state", where the consent state goes: no cycle through it.
        view = scope.copy()  # type: ignore[attr-defined]  # an ASGI scope is a dict
        view.pop("state", None)
        engine = self.engine
        cookie = gpc = None
        repeated = False
        for name, value in scope["headers"]:  # the two headers every request needs, in one pass
            if name in _READ:
                if name == b"cookie":
                    repeated = repeated or cookie is not None
                    cookie = value
                else:
                    repeated = repeated or gpc is not None
                    gpc = value
        forward = (  # a repeated header counts each of its values: decide() reads them all
            _Forward.make(engine, engine.decide(ASGIRequest(view)))
            if repeated
            else engine.exchange(view, cookie, gpc, _Forward, ASGIRequest)
        )
        state = forward.state
        low, high = self.endpoints.path_range
        if low <= view["path"] < high and self.endpoints.matches(view["path"]):
            return self._answer(state, receive, send)
        shared = scope.get("state")
        if shared is None:
            shared = scope["state"] = {}
        shared["consent"] = shared["cookieconsent"] = state
        extensions = scope.get("extensions")
        if extensions and not _FILE_SENDS.isdisjoint(extensions):
            # A file the server sends itself would escape the exchange: the app then sends messages.
            scope["extensions"] = {k: v for k, v in extensions.items() if k not in _FILE_SENDS}
        forward.server = send
        return self._app(scope, receive, forward.send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Calling the middleware as a coroutine function: what servers that check for one find as ``__call__``."""
        await self(scope, receive, send)

    async def _answer(self, state: ConsentState, receive: Receive, send: Send) -> None:
        """Answer a request for one of the library's own endpoints."""
        request = state.request
        reader = BodyReader(self.endpoints.max_body, request.header("content-length"))
        while not reader.too_large:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            if not reader.feed(message.get("body", b"")) or not message.get("more_body", False):
                break
        handle = functools.partial(self.endpoints.handle, request, state, reader.body())
        reply = await serving.off_loop(handle) if self.endpoints.blocks(request.path) else handle()
        await serving.send_reply(send, reply, receive)


class _Forward(Exchange):
    """The request's exchange, which is also the ``send`` its app gets: one object per request."""

    __slots__ = ("server", "start_message")

    server: Send
    start_message: Message

    def send(self, message: Message) -> Awaitable[None]:
        """Pass ``message`` through the exchange, then to the server's ``send``."""
        kind = message["type"]
        if kind == "http.response.start":
            original = message.get("headers", ())
            headers = self.start(message["status"], original)
            if headers is None:
                self.start_message = message
                self.trailers = message.get("trailers", False)
                return serving.HELD
            if headers is not original:
                message = {**message, "headers": headers}
        elif kind == "http.response.body" and self.rewriting:
            data = self.body(message.get("body", b""), message.get("more_body", False))
            if data is None:
                return serving.HELD
            message = {**message, "body": data}
            headers = self.take_start()
            if headers is not None:
                return serving.send_both(self.server, {**self.start_message, "headers": headers}, message)
        return self.server(message)
