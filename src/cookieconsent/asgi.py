"""The ASGI middleware (Starlette, FastAPI, any ASGI app): pure ASGI, no framework import.

::

    from cookieconsent.asgi import ConsentMiddleware

    app.add_middleware(ConsentMiddleware, config=config)     # Starlette / FastAPI
    app = ConsentMiddleware(app, config=config)               # any ASGI app

The middleware answers its own endpoints, puts the request's
:class:`~cookieconsent.core.engine.ConsentState` at ``scope["state"]["consent"]`` (so
``request.state.consent`` in Starlette and FastAPI; also under ``"cookieconsent"``) and enforces the
decision on the response headers. HTML bodies are rewritten as they stream, others pass untouched.
Place it inside any compression middleware (closer to the app) so it sees the response as the app
wrote it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Generator, Iterator, MutableMapping
from types import FunctionType, MethodType
from typing import Any, TypeVar, cast

from cookieconsent._setup import build
from cookieconsent.blocking.rewriter import HTMLRewriter
from cookieconsent.config import ConsentConfig
from cookieconsent.core.engine import ConsentState
from cookieconsent.core.pages import is_html
from cookieconsent.core.request import RequestView
from cookieconsent.records.recorder import Recorder
from cookieconsent.web.replies import Reply

__all__ = ["ASGIRequest", "ConsentMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
_T = TypeVar("_T")


class ASGIRequest:
    """The :class:`~cookieconsent.core.request.RequestView` of an ASGI HTTP scope (computed on demand)."""

    __slots__ = ("_headers", "scope")

    _headers: dict[bytes, bytes]

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def _table(self) -> dict[bytes, bytes]:
        try:
            return self._headers
        except AttributeError:  # the first header asked for, if any
            headers = self._headers = dict(self.scope["headers"])
            return headers

    def _repeated(self) -> bool:
        """Whether a header name occurs more than once (each occurrence then counts)."""
        return len(self._table()) != len(self.scope["headers"])

    @property
    def method(self) -> str:  # noqa: D102
        return str(self.scope["method"])

    @property
    def path(self) -> str:  # noqa: D102
        return str(self.scope["path"])

    @property
    def query_string(self) -> str:  # noqa: D102
        return bytes(self.scope.get("query_string", b"")).decode("latin-1")

    @property
    def scheme(self) -> str:  # noqa: D102
        return str(self.scope.get("scheme", "http"))

    @property
    def host(self) -> str:  # noqa: D102
        host = self.header("host")
        if host:
            return host
        server = self.scope.get("server")
        if server:
            return f"{server[0]}:{server[1]}" if server[1] is not None else str(server[0])
        return ""

    @property
    def client(self) -> str | None:  # noqa: D102
        client = self.scope.get("client")
        return str(client[0]) if client else None

    def header(self, name: str) -> str | None:  # noqa: D102
        value = self._table().get(name.encode("latin-1"))
        if value is None:
            return None
        if self._repeated():
            return ("; " if name == "cookie" else ", ").join(self.header_values(name))
        return value.decode("latin-1")

    def header_values(self, name: str) -> list[str]:  # noqa: D102
        key = name.encode("latin-1")
        table = self._table()
        if key not in table:
            return []
        if not self._repeated():
            return [table[key].decode("latin-1")]
        return [v.decode("latin-1") for k, v in self.scope["headers"] if k == key]


_READ = frozenset((b"cookie", b"sec-gpc"))
#: ASGI extensions by which an app hands the server a file to send itself (not offered to the app).
_FILE_SENDS = frozenset(("http.response.pathsend", "http.response.zerocopysend"))
_perf_counter = time.perf_counter


_OTHER, _CONTENT_TYPE, _SET_COOKIE = 0, 1, 2


def _kind(name: bytes) -> int:
    """Which of the two response headers the middleware reads ``name`` is, in any case."""
    lower = name.lower()
    return _CONTENT_TYPE if lower == b"content-type" else _SET_COOKIE if lower == b"set-cookie" else _OTHER


class _Disconnected(Exception):
    pass


async def _read_body(receive: Receive, request: RequestView, limit: int) -> bytes | None:
    length = request.header("content-length")
    # isdecimal(), not isdigit(): "²" is a digit that int() refuses.
    if length is not None and length.strip().isdecimal() and int(length) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _off_loop(function: Callable[..., _T], *args: Any) -> _T:
    """``function(*args)`` in the loop's default thread pool, so that waiting on a store blocks no other request.

    Where no asyncio loop runs (trio, say), it runs inline.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return function(*args)
    context = contextvars.copy_context()
    return await loop.run_in_executor(None, functools.partial(context.run, function, *args))


_END = object()


def _next_chunk(stream: Iterator[bytes]) -> Any:
    return next(stream, _END)


async def _gone(receive: Receive) -> bool:
    """Whether the client went away: once the request body is read, ``receive()`` answers only that."""
    try:
        message = await receive()
    except Exception:  # a server that cannot say: the stream runs to its end
        return False
    return bool(message["type"] == "http.disconnect")


async def _send_reply(send: Send, reply: Reply, receive: Receive) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
    stream = reply.stream
    if stream is None:
        if not any(k == b"content-length" for k, _ in headers):
            headers.append((b"content-length", str(len(reply.body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})
        return
    # Servers drop what is sent after the client went away without saying so: the stream stops
    # when the client goes, rather than reading the rest of the store for no one.
    try:
        watcher: asyncio.Task[bool] | None = asyncio.get_running_loop().create_task(_gone(receive))
    except RuntimeError:
        watcher = None  # no asyncio loop (trio): the stream runs to its end
    try:
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        while watcher is None or not (watcher.done() and watcher.result()):
            chunk = await _off_loop(_next_chunk, stream)  # each chunk may read the store
            if chunk is _END:
                break
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        if watcher is not None:
            watcher.cancel()
        close = getattr(stream, "close", None)
        if close is not None:
            # ValueError: still running in its thread (the request was cancelled); it is collected later.
            with contextlib.suppress(ValueError):
                close()


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
        self.engine, self.pages, self.endpoints = build(config, recorder)
        self.engine.state_type = _Exchange
        # Every path of the library's lies in [_own_low, _own_high): two comparisons rule out almost
        # every application path ("/", "/api/…", "/static/…") before the full match.
        prefixes = self.endpoints.path_prefixes
        self._own_low = min(prefixes)
        self._own_high = max(p[:-1] + chr(ord(p[-1]) + 1) for p in prefixes)
        # Content-Type value → is it HTML (a few distinct values); no Content-Type is not HTML.
        self._html_types: dict[bytes | None, bool] = {None: False}
        # The last Content-Type looked up and its answer: comparing a new response's value with it
        # costs less than hashing the value (a new bytes object each time) for the look-up.
        self._last_type: tuple[bytes | None, bool] = (None, False)
        # Response header names as sent → which of the two the middleware reads they are (_kind).
        self._kinds: dict[bytes, int] = {}
        self.recorder = recorder
        # ``__call__`` is a plain method that returns the app's awaitable: no coroutine of its own
        # per request. Servers that tell an ASGI 3 application by ``__call__`` being a coroutine
        # function (hypercorn by inspect's test, uvicorn and asgiref by asyncio's) look it up on the
        # object, which answers with this coroutine function of the same behaviour.
        self.__call__ = self._serve  # type: ignore[method-assign]

    @property
    def app(self) -> ASGIApp:
        """The wrapped ASGI application."""
        return self._app

    @app.setter
    def app(self, app: ASGIApp) -> None:
        self._app = app
        self._call_app = _direct(app)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Calling the middleware, as a coroutine function: what servers find as ``__call__``."""
        await self(scope, receive, send)

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """Handle one ASGI connection: answer the library's endpoints, else call the app and enforce.

        Returns the awaitable that serves it (the app's own, for a request the app answers).
        """
        if scope["type"] != "http":
            if scope["type"] == "lifespan" and self.recorder is not None:
                return self._call_app(scope, receive, self._lifespan_send(send))
            return self._call_app(scope, receive, send)
        # The two request headers every request needs, in one pass (a dictionary of all of them
        # costs more; the request view builds one if something asks for another header). ASGI
        # servers send names in lowercase.
        cookie = gpc = None
        repeated = False
        for name, value in scope["headers"]:
            if name in _READ:
                if name == b"cookie":
                    repeated = repeated or cookie is not None
                    cookie = value
                else:
                    repeated = repeated or gpc is not None
                    gpc = value
        # The state keeps a copy of the scope without its "state", where the state goes: a
        # reference back to the scope would make a cycle (scope → state → scope) that only the
        # garbage collector could free, at a cost to every request. (scope.copy() clones the table
        # in one step; dict(scope) inserts key by key when the table has room to spare, as the scope
        # a server builds up has: ~250 instructions more per request.)
        view = scope.copy()  # type: ignore[attr-defined]  # an ASGI scope is a dict
        try:  # noqa: SIM105 (free when the key is there, as servers send it; suppress() is not)
            del view["state"]
        except KeyError:
            pass
        # A repeated Cookie or Sec-GPC header (rare) counts each of its values: decide() joins them.
        # Otherwise the state makes its request view only if something asks for it.
        state: _Exchange = (
            self.engine.decide(ASGIRequest(view))  # type: ignore[assignment]  # its state_type is _Exchange
            if repeated
            else self.engine.state_from(None, cookie, gpc)
        )
        state._scope = view
        path = view["path"]
        if self._own_low <= path < self._own_high and self.endpoints.matches(path):
            return self._answer(receive, send, state)
        try:
            shared = scope["state"]
        except KeyError:
            shared = scope["state"] = {}
        shared["consent"] = shared["cookieconsent"] = state
        if "extensions" in scope:
            extensions = scope["extensions"]
            if extensions and not _FILE_SENDS.isdisjoint(extensions):
                # A file sent by path or descriptor would reach the client without being read here:
                # an HTML file would escape the rewriting. The app (Starlette's FileResponse) then
                # sends its body in messages instead.
                scope["extensions"] = {k: v for k, v in extensions.items() if k not in _FILE_SENDS}
        state._middleware = self
        state._send = send
        state._rewriter = None
        if self.recorder is None:
            return self._call_app(scope, receive, state._forward)
        state._started = _perf_counter()
        return self._call_app(scope, receive, state._forward_recorded)

    def _edit(self, message: Message, state: _Exchange, html: bool) -> tuple[Message, HTMLRewriter | None]:
        """The ``http.response.start`` message enforcing ``state``, and the rewriter for an HTML body."""
        decoded = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", ())]
        rewriter = None
        if html:
            request = state.request
            edited, rewriter = self.pages.start(state, message["status"], decoded, request.method, _here(state._scope))
        else:
            edited = self.engine.response_headers(state, decoded)
        encoded = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in edited]
        return {**message, "headers": encoded}, rewriter

    def _learn(self, name: bytes) -> int:
        kind = _kind(name)
        if len(self._kinds) < 512:  # a few dozen names in practice; bounded all the same
            self._kinds[name] = kind
        return kind

    def _is_html(self, content_type: bytes | None) -> bool:
        try:
            html = self._html_types[content_type]
        except KeyError:
            html = content_type is not None and is_html(content_type)
            if len(self._html_types) < 64:  # a few distinct values in practice; bounded all the same
                self._html_types[content_type] = html
        self._last_type = (content_type, html)
        return html

    async def _answer(self, receive: Receive, send: Send, state: ConsentState) -> None:
        """Answer a request for one of the library's own endpoints."""
        request = state.request
        endpoints = self.endpoints
        try:
            body = await _read_body(receive, request, endpoints.max_body)
        except _Disconnected:
            return
        if endpoints.blocks(request.path):  # the privacy centre's pages read and write the store
            reply = await _off_loop(endpoints.handle, request, state, body)
        else:
            reply = endpoints.handle(request, state, body)
        await _send_reply(send, reply, receive)

    def _lifespan_send(self, send: Send) -> Send:
        recorder = self.recorder

        async def lifespan_send(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete" and recorder is not None:
                recorder.close()  # write what is pending before the server exits
            await send(message)

        return lifespan_send


def _direct(app: ASGIApp) -> ASGIApp:
    """What to call to run ``app``: the bound ``__call__`` of an object of a Python class.

    Calling the object itself goes through its type's ``__call__`` slot, which packs the arguments
    into a tuple and enters the interpreter again; the bound method is called directly. Functions,
    and objects whose ``__call__`` is not a plain Python function (a static method, a built-in), are
    called as they are.
    """
    call = inspect.getattr_static(type(app), "__call__", None)  # as defined, not bound
    if isinstance(app, FunctionType | MethodType) or not isinstance(call, FunctionType):
        return app
    return cast("ASGIApp", MethodType(call, app))


class _Exchange(ConsentState):
    """The consent state of one ASGI request, which is also the ``send`` its application gets.

    One object per request rather than a state, a request view and a sender: this runs for every
    request. The request view (:attr:`request`) is made from the scope only if something asks for
    it. Built by the engine (its ``state_type``) without a Python ``__init__`` frame; the middleware
    sets the attributes below.
    """

    __slots__ = ("_held", "_middleware", "_rewriter", "_scope", "_send", "_started")

    _held: Message | None  # a page's start message, until its first body message (set with rewriter)
    _middleware: ConsentMiddleware
    _rewriter: HTMLRewriter | None
    _scope: Scope  # the request's scope, without its "state"
    _send: Send
    _started: float  # set only when there is a recorder to read it

    def _new_request(self) -> RequestView:
        return ASGIRequest(self._scope)

    def _forward(self, message: Message) -> Awaitable[None]:
        """Enforce the decision on ``message`` and pass it on.

        A plain method returning ``send``'s awaitable: the app awaits it exactly as it would an
        ``async def``, without a coroutine of our own per message. The start of an HTML page is
        held (an awaitable done at once) and goes with its first body message.
        """
        rewriter = self._rewriter
        if rewriter is not None:
            start = self._held
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    body = rewriter.feed(message.get("body", b""))
                else:  # the end of the page (all of it, in one message, as most apps send it)
                    body = self._middleware.pages.rewrite_whole(rewriter, message.get("body", b""))
                    self._rewriter = None
                    if start is not None and not start.get("trailers", False):
                        # The whole page in one message: its length goes with its headers.
                        length = (b"content-length", b"%d" % len(body))
                        start = {**start, "headers": [*start["headers"], length]}
                message = {**message, "body": body}
            if start is not None:
                self._held = None
                return _send_both(self._send, start, message)
        elif message["type"] == "http.response.start":
            # The two headers that matter, by one look-up per header: this runs for every response.
            middleware = self._middleware
            kinds = middleware._kinds
            content_type = None
            sets_cookie = False
            try:
                headers = message["headers"]
            except KeyError:  # optional, and almost always there
                headers = ()
            for name, value in headers:
                try:
                    kind = kinds[name]
                except KeyError:
                    kind = middleware._learn(name)
                if kind:
                    if kind == _CONTENT_TYPE:
                        content_type = value
                    else:
                        sets_cookie = True
            last = middleware._last_type
            html = last[1] if content_type == last[0] else middleware._is_html(content_type)
            if (
                html or sets_cookie or self.accessed or self.pending is not None or self.expire or self.extra_cookies
            ):  # what Engine.needs_edit asks, inline
                message, self._rewriter = middleware._edit(message, self, html)
                if self._rewriter is not None:
                    # A page to rewrite: its headers wait for its first body message, so that a page
                    # sent whole goes out with its new Content-Length (and not chunked).
                    self._held = message
                    return _HELD
        return self._send(message)

    def _forward_recorded(self, message: Message) -> Awaitable[None]:
        """:meth:`_forward`, having the recorder capture the request first (it may add a cookie)."""
        if message["type"] == "http.response.start" and self._rewriter is None:
            recorder = self._middleware.recorder
            if recorder is not None:
                recorder.capture(self, self.request, message["status"], self._started)
        return self._forward(message)


class _Held:
    """What ``send`` returns for a message it holds back: an awaitable that is done at once."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        yield from ()


_HELD = _Held()


async def _send_both(send: Send, first: Message, second: Message) -> None:
    await send(first)
    await send(second)


def _here(scope: Scope) -> str:
    """The path and query of the request, for the banner's ``next``."""
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    path = str(scope.get("root_path", "")) + str(scope["path"])
    return f"{path}?{query}" if query else path
