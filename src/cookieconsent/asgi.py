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

import asyncio
import contextlib
import contextvars
import functools
from collections.abc import Awaitable, Callable, Generator, MutableMapping
from typing import Any, TypeVar

from cookieconsent._setup import build
from cookieconsent.config import ConsentConfig
from cookieconsent.core.exchange import Exchange
from cookieconsent.core.request import ASGIRequest
from cookieconsent.core.state import ConsentState
from cookieconsent.records.recorder import Recorder
from cookieconsent.web.replies import BodyReader, Reply

__all__ = ["ASGIRequest", "ConsentMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
_T = TypeVar("_T")
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
        cookie = gpc = None
        repeated = False
        for name, value in scope["headers"]:
            if name == b"cookie":
                repeated, cookie = repeated or cookie is not None, value
            elif name == b"sec-gpc":
                repeated, gpc = repeated or gpc is not None, value
        engine = self.engine
        state = engine.decide(request) if repeated else engine.state_from(request, cookie, gpc)
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
        reply = await _off_loop(handle) if self.endpoints.blocks(request.path) else handle()
        await _send_reply(send, reply, receive)


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


async def _off_loop(function: Callable[[], _T]) -> _T:
    """``function()`` in the loop's thread pool (it waits on the store); inline where no asyncio loop runs."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return function()
    return await loop.run_in_executor(None, functools.partial(contextvars.copy_context().run, function))


async def _gone(receive: Receive) -> bool:
    """Whether the client went away: once the request body is read, ``receive()`` answers only that."""
    try:
        return bool((await receive())["type"] == "http.disconnect")
    except Exception:  # a server that cannot say: the stream runs to its end
        return False


async def _send_reply(send: Send, reply: Reply, receive: Receive) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.head()]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    stream = reply.stream
    if stream is None:
        await send({"type": "http.response.body", "body": reply.body})
        return
    # Servers drop what is sent after the client left without saying so: stop reading the store then.
    try:
        watcher: asyncio.Task[bool] | None = asyncio.get_running_loop().create_task(_gone(receive))
    except RuntimeError:
        watcher = None  # no asyncio loop (trio): the stream runs to its end
    try:
        while watcher is None or not (watcher.done() and watcher.result()):
            chunk = await _off_loop(functools.partial(next, stream, None))  # each chunk may read the store
            if chunk is None:
                break
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        if watcher is not None:
            watcher.cancel()
        with contextlib.suppress(ValueError):  # still running in its thread (cancelled): collected later
            getattr(stream, "close", lambda: None)()
