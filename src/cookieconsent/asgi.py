"""The ASGI middleware (Starlette, FastAPI, any ASGI app): pure ASGI, no framework import.

::

    from cookieconsent.asgi import ConsentMiddleware

    app.add_middleware(ConsentMiddleware, config=config)     # Starlette / FastAPI
    app = ConsentMiddleware(app, config=config)               # any ASGI app

The middleware answers its own endpoints, puts the request's
:class:`~cookieconsent.engine.ConsentState` at ``scope["state"]["consent"]`` (so
``request.state.consent`` in Starlette and FastAPI; also under ``"cookieconsent"``) and enforces the
decision on the response headers. HTML bodies are rewritten as they stream, others pass untouched.
Place it inside any compression middleware (closer to the app) so it sees the response as the app
wrote it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Generator, MutableMapping
from typing import Any

from cookieconsent._setup import build
from cookieconsent.config import ConsentConfig
from cookieconsent.endpoints import Reply
from cookieconsent.engine import ConsentState
from cookieconsent.pages import is_html
from cookieconsent.recorder import Recorder
from cookieconsent.rewrite import HTMLRewriter

__all__ = ["ASGIRequest", "ConsentMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ASGIRequest:
    """The :class:`~cookieconsent.request.RequestView` of an ASGI HTTP scope (computed on demand)."""

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


async def _read_body(receive: Receive, request: ASGIRequest, limit: int) -> bytes | None:
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


async def _send_reply(send: Send, reply: Reply) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
    if not any(k == b"content-length" for k, _ in headers):
        headers.append((b"content-length", str(len(reply.body)).encode()))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


class ConsentMiddleware:
    """Enforces a :class:`~cookieconsent.config.ConsentConfig` on an ASGI application.

    Args:
        app: The ASGI application to wrap.
        config: The configuration (policy, keys, cookie options).
        recorder: Records device and log data for the granted categories (see
            :class:`~cookieconsent.recorder.Recorder`); flushed at the end of the ASGI lifespan.
    """

    def __init__(self, app: ASGIApp, config: ConsentConfig, recorder: Recorder | None = None) -> None:
        self.app = app
        self.engine, self.pages, self.endpoints = build(config, recorder)
        # The second character of each of the library's path prefixes: one set lookup rules out
        # almost every application path before the full match.
        self._own_first = frozenset(p[1:2] for p in self.endpoints.path_prefixes)
        # Content-Type value → is it HTML (a few distinct values); no Content-Type is not HTML.
        self._html_types: dict[bytes | None, bool] = {None: False}
        # Response header names as sent → which of the two the middleware reads they are (_kind).
        self._kinds: dict[bytes, int] = {}
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection: answer the library's endpoints, else call the app and enforce."""
        if scope["type"] != "http":
            if scope["type"] == "lifespan" and self.recorder is not None:
                await self.app(scope, receive, self._lifespan_send(send))
                return
            await self.app(scope, receive, send)
            return
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
        # The request's view and its response's sender in one object (see _Exchange). It keeps a
        # copy of the scope without its "state", where the ConsentState goes: a reference back to
        # the scope would make a cycle (scope → state → request → scope) that only the garbage
        # collector could free, at a cost to every request. (scope.copy() clones the table in one
        # step; dict(scope) inserts key by key when the table has room to spare, as the scope a
        # server builds up has: ~250 instructions more per request.)
        exchange = _Exchange()
        exchange.scope = view = scope.copy()  # type: ignore[attr-defined]  # an ASGI scope is a dict
        try:  # noqa: SIM105 (free when the key is there, as servers send it; suppress() is not)
            del view["state"]
        except KeyError:
            pass
        # A repeated Cookie or Sec-GPC header (rare) counts each of its values: decide() joins them.
        state = self.engine.decide(exchange) if repeated else self.engine.state_from(exchange, cookie, gpc)
        path = view["path"]
        if path[1:2] in self._own_first and self.endpoints.matches(path):
            await self._answer(receive, send, exchange, state)
            return
        try:
            shared = scope["state"]
        except KeyError:
            shared = scope["state"] = {}
        shared["consent"] = shared["cookieconsent"] = state
        extensions = scope.get("extensions")
        if extensions and not _FILE_SENDS.isdisjoint(extensions):
            # A file sent by path or descriptor would reach the client without being read here: an
            # HTML file would escape the rewriting. The app (Starlette's FileResponse) then sends its
            # body in messages instead.
            scope["extensions"] = {k: v for k, v in extensions.items() if k not in _FILE_SENDS}
        exchange.middleware = self
        exchange.state = state
        exchange.send = send
        exchange.rewriter = None
        if self.recorder is not None:
            exchange.started = _perf_counter()
        try:
            await self.app(scope, receive, exchange.forward)
        finally:
            del exchange.state  # it leads back to the exchange (its request): no cycle is left

    def _edit(
        self, message: Message, state: ConsentState, request: ASGIRequest, html: bool
    ) -> tuple[Message, HTMLRewriter | None]:
        """The ``http.response.start`` message enforcing ``state``, and the rewriter for an HTML body."""
        decoded = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", ())]
        rewriter = None
        if html:
            edited, rewriter = self.pages.start(state, message["status"], decoded, request.method, _here(request.scope))
        else:
            edited = self.engine.response_headers(state, decoded)
        encoded = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in edited]
        return {**message, "headers": encoded}, rewriter

    def _learn(self, name: bytes) -> int:
        kind = _kind(name)
        if len(self._kinds) < 512:  # a few dozen names in practice; bounded all the same
            self._kinds[name] = kind
        return kind

    def _remember_type(self, content_type: bytes | None) -> bool:
        html = content_type is not None and is_html(content_type)
        if len(self._html_types) < 64:  # a few distinct values in practice; bounded all the same
            self._html_types[content_type] = html
        return html

    async def _answer(self, receive: Receive, send: Send, request: ASGIRequest, state: ConsentState) -> None:
        """Answer a request for one of the library's own endpoints."""
        try:
            body = await _read_body(receive, request, self.endpoints.max_body)
        except _Disconnected:
            return
        await _send_reply(send, self.endpoints.handle(request, state, body))

    def _lifespan_send(self, send: Send) -> Send:
        recorder = self.recorder

        async def lifespan_send(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete" and recorder is not None:
                recorder.close()  # write what is pending before the server exits
            await send(message)

        return lifespan_send


class _Exchange(ASGIRequest):
    """One request on its way through: its request view, and the ``send`` the application gets.

    One object per request rather than a request view and a closure over ``send``: setting its
    attributes costs less than a second object and a closure's cells, and this runs for every
    request. Built without a Python ``__init__`` frame; the middleware sets every attribute.
    """

    __slots__ = ("held", "middleware", "rewriter", "send", "started", "state")
    __init__ = object.__init__

    held: Message | None  # a page's start message, until its first body message (set with rewriter)
    middleware: ConsentMiddleware
    rewriter: HTMLRewriter | None
    send: Send
    started: float  # set only when there is a recorder to read it
    state: ConsentState

    def forward(self, message: Message) -> Awaitable[None]:
        """Enforce the decision on ``message`` and pass it on.

        A plain method returning ``send``'s awaitable: the app awaits it exactly as it would an
        ``async def``, without a coroutine of our own per message. The start of an HTML page is
        held (an awaitable done at once) and goes with its first body message.
        """
        rewriter = self.rewriter
        if rewriter is not None:
            start = self.held
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    body = rewriter.feed(message.get("body", b""))
                else:  # the end of the page (all of it, in one message, as most apps send it)
                    body = self.middleware.pages.rewrite_whole(rewriter, message.get("body", b""))
                    self.rewriter = None
                    if start is not None and not start.get("trailers", False):
                        # The whole page in one message: its length goes with its headers.
                        length = (b"content-length", b"%d" % len(body))
                        start = {**start, "headers": [*start["headers"], length]}
                message = {**message, "body": body}
            if start is not None:
                self.held = None
                return _send_both(self.send, start, message)
        elif message["type"] == "http.response.start":
            # The two headers that matter, by one look-up per header: this runs for every response.
            middleware = self.middleware
            kinds = middleware._kinds
            content_type = None
            sets_cookie = False
            for name, value in message.get("headers", ()):
                try:
                    kind = kinds[name]
                except KeyError:
                    kind = middleware._learn(name)
                if kind:
                    if kind == _CONTENT_TYPE:
                        content_type = value
                    else:
                        sets_cookie = True
            try:
                html = middleware._html_types[content_type]
            except KeyError:
                html = middleware._remember_type(content_type)
            state = self.state
            if middleware.recorder is not None:  # may add the device cookie
                middleware.recorder.capture(state, self, message["status"], self.started)
            if (
                html
                or sets_cookie
                or state.accessed
                or state.pending is not None
                or state.expire
                or state.extra_cookies
            ):  # what Engine.needs_edit asks, inline
                message, self.rewriter = middleware._edit(message, state, self, html)
                if self.rewriter is not None:
                    # A page to rewrite: its headers wait for its first body message, so that a page
                    # sent whole goes out with its new Content-Length (and not chunked).
                    self.held = message
                    return _HELD
        return self.send(message)


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
