"""The ASGI middleware (Starlette, FastAPI, any ASGI app): pure ASGI, no framework import.

::

    app.add_middleware(ConsentMiddleware, config=config)     # Starlette / FastAPI
    app = ConsentMiddleware(app, config=config)               # any ASGI app

The request's :class:`~cookieconsent.core.state.ConsentState` is at ``scope["state"]["consent"]``
(``request.state.consent``; also under ``"cookieconsent"``). This module only translates ASGI messages
into calls on the :class:`~cookieconsent.core.exchange.Exchange`, which makes every decision. Place it
inside any compression middleware, so that it sees the response as the app wrote it.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Generator, MutableMapping
from typing import Any

from cookieconsent._setup import build
from cookieconsent.config import ConsentConfig
from cookieconsent.core.exchange import Exchange
from cookieconsent.core.request import ASGIRequest
from cookieconsent.core.state import ConsentState
from cookieconsent.records.recorder import Recorder
from cookieconsent.web.replies import BodyReader
from cookieconsent.web.serving import off_loop, send_reply

__all__ = ["ASGIRequest", "ConsentMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: ASGI extensions by which an app hands the server a file to send itself, unread by the middleware.
_FILE_SENDS = frozenset(("http.response.pathsend", "http.response.zerocopysend"))


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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection: answer the library's endpoints, else call the app through an exchange."""
        if scope["type"] != "http":
            if scope["type"] == "lifespan" and self.recorder is not None:
                send = _closing(send, self.recorder)
            await self.app(scope, receive, send)
            return
        # The view reads a copy without "state", where the consent state goes: no cycle through it.
        view = scope.copy()  # type: ignore[attr-defined]  # an ASGI scope is a dict
        view.pop("state", None)
        request = ASGIRequest(view)
        engine = self.engine
        read = request.consent_headers()  # None: a header repeated, each of its values counts
        state = engine.decide(request) if read is None else engine.state_from(request, *read)
        if self.endpoints.matches(request.path):
            await self._answer(request, state, receive, send)
            return
        scope.setdefault("state", {}).update(consent=state, cookieconsent=state)
        if not _FILE_SENDS.isdisjoint(scope.get("extensions") or ()):
            # A file the server sends itself would escape the exchange: the app then sends messages.
            scope["extensions"] = {k: v for k, v in scope["extensions"].items() if k not in _FILE_SENDS}
        await self.app(scope, receive, _Forward(engine.exchange(state), send).send)

    async def _answer(self, request: ASGIRequest, state: ConsentState, receive: Receive, send: Send) -> None:
        """Answer a request for one of the library's own endpoints."""
        reader = BodyReader(self.endpoints.max_body, request.header("content-length"))
        while not reader.too_large:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            if not reader.feed(message.get("body", b"")) or not message.get("more_body", False):
                break
        handle = functools.partial(self.endpoints.handle, request, state, reader.body())
        reply = await off_loop(handle) if self.endpoints.blocks(request.path) else handle()
        await send_reply(send, reply, receive)


class _Forward:
    """The ``send`` an app gets: each message through the exchange, then to the server's ``send``."""

    __slots__ = ("exchange", "server", "start")

    def __init__(self, exchange: Exchange, server: Send) -> None:
        self.exchange = exchange
        self.server = server

    def send(self, message: Message) -> Awaitable[None]:
        kind = message["type"]
        exchange = self.exchange
        if kind == "http.response.start":
            original = message.get("headers", ())
            headers = exchange.start(message["status"], original, trailers=message.get("trailers", False))
            if headers is None:
                self.start = message
                return _HELD
            if headers is not original:
                message = {**message, "headers": headers}
        elif kind == "http.response.body" and exchange.rewriting:
            data = exchange.body(message.get("body", b""), message.get("more_body", False))
            if data is None:
                return _HELD
            message = {**message, "body": data}
            headers = exchange.take_start()
            if headers is not None:
                return _send_both(self.server, {**self.start, "headers": headers}, message)
        return self.server(message)


class _Held:
    """What ``send`` returns for a message it holds back: an awaitable that is done at once."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        yield from ()


_HELD = _Held()


async def _send_both(send: Send, first: Message, second: Message) -> None:
    await send(first)
    await send(second)


def _closing(send: Send, recorder: Recorder) -> Send:
    async def lifespan_send(message: Message) -> None:
        if message["type"] == "lifespan.shutdown.complete":
            recorder.close()  # write what is pending before the server exits
        await send(message)

    return lifespan_send
