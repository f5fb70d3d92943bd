"""One response on its way out, free of I/O: header lists and bytes in, header lists and bytes out.

The engine makes an :class:`Exchange` per request, with the request's consent state
(:meth:`Engine.exchange <cookieconsent.core.engine.Engine.exchange>`); an adapter hands it the
response as the application sends it and sends on what it returns, in the manner of h11's
connection object::

    exchange = engine.exchange(request, cookie, sec_gpc)
    state = exchange.state                       # what the app sees
    headers = exchange.start(200, headers)       # None: an HTML page's headers wait for its body
    data = exchange.body(chunk, more)            # None: held (a short page is rewritten whole)
    headers = exchange.take_start()              # the held headers, once, before the first bytes

Every edit is made here: the ``Set-Cookie`` filter and the headers the engine adds, the recorder's
capture (and the device cookie it may give), the page rewriting with its whole-page memo, and
``Content-Length``. Header lists are given and returned as ASGI gives them (bytes) or as WSGI does
(str); a response with nothing to edit gets its own list back.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Self

from cookieconsent.core.pages import MEMO_PAGE, is_html

if TYPE_CHECKING:
    from cookieconsent.blocking.rewriter import HTMLRewriter
    from cookieconsent.core.engine import Engine
    from cookieconsent.core.state import ConsentState

__all__ = ["Exchange"]

Headers = Sequence[tuple[Any, Any]]
_OTHER, _CONTENT_TYPE, _SET_COOKIE = 0, 1, 2
# Bounded caches shared by every exchange: a site sends a few dozen header names and a few
# Content-Type values, and each is classified once.
_KINDS: dict[str | bytes, int] = {}
_HTML: dict[str | bytes | None, bool] = {None: False}
_CACHE_LIMIT = 512


def _kind(name: str | bytes) -> int:
    kind = _KINDS.get(name)
    if kind is None:
        lower = name.lower()
        kind = (
            _CONTENT_TYPE
            if lower in (b"content-type", "content-type")
            else _SET_COOKIE
            if lower in (b"set-cookie", "set-cookie")
            else _OTHER
        )
        if len(_KINDS) < _CACHE_LIMIT:
            _KINDS[name] = kind
    return kind


def _is_html(content_type: str | bytes | None) -> bool:
    html = _HTML.get(content_type)
    if html is None:
        html = is_html(content_type)  # type: ignore[arg-type]  # None is in the cache from the start
        if len(_HTML) < _CACHE_LIMIT:
            _HTML[content_type] = html
    return html


class Exchange:
    """The edits of one response, applied as the adapter passes it through.

    Attributes:
        state: The request's consent state.
        rewriting: Whether the body is an HTML page being rewritten, so every chunk goes through
            :meth:`body` (known once :meth:`start` was called).
        trailers: Set by the adapter when the response ends with trailers: a page rewritten whole
            then gets no ``Content-Length``, which would contradict them.
    """

    __slots__ = (
        "_binary",
        "_engine",
        "_held",
        "_length",
        "_parts",
        "_rewriter",
        "_size",
        "_started",
        "rewriting",
        "state",
        "trailers",
    )

    _engine: Engine
    state: ConsentState
    _rewriter: HTMLRewriter | None
    _held: list[tuple[Any, Any]] | None
    rewriting: bool
    _started: float

    # No __init__, as ConsentState has none: Engine.exchange sets the slots itself.

    @classmethod
    def make(cls, engine: Engine, state: ConsentState) -> Self:
        """An exchange for the response to the request of ``state`` (see :meth:`Engine.exchange_of`)."""
        exchange = cls()
        exchange._engine = engine
        exchange.state = state
        exchange._rewriter = exchange._held = None
        exchange.rewriting = False
        # For the recorder, which times each request from its arrival.
        exchange._started = time.perf_counter() if engine.recorder is not None else 0.0
        return exchange

    def start(self, status: int, headers: Headers) -> Headers | None:
        """The headers to send for a response that starts with ``status`` and ``headers``.

        ``None`` when the response is an HTML page being rewritten: its headers wait for its body
        (see :meth:`take_start`). Called again (an app that starts over with an error page), it
        starts over.
        """
        if self.rewriting:  # started over (a WSGI app's error page): what the first start set goes
            self._rewriter = self._held = None
            self.rewriting = False
        content_type = None
        sets_cookie = False
        for name, value in headers:
            kind = _KINDS.get(name)
            if kind is None:
                kind = _kind(name)
            if kind == _CONTENT_TYPE:
                content_type = value
            elif kind == _SET_COOKIE:
                sets_cookie = True
        html = _HTML.get(content_type)
        if html is None:
            html = _is_html(content_type)
        if html or sets_cookie or self.state._edits is not None or self._engine.recorder is not None:
            return self._edit(status, headers, html, sets_cookie)
        return headers  # nothing to edit: most responses of a decided visitor

    def _edit(self, status: int, headers: Headers, html: bool, sets_cookie: bool) -> Headers | None:
        """:meth:`start` for a response that may need an edit: the recorder's capture, then the headers."""
        engine = self._engine
        state = self.state
        recorder = engine.recorder
        device = recorder.capture(state, status, self._started) if recorder is not None else None
        edits = state._edits
        if not (
            html
            or sets_cookie
            or device is not None
            or (edits is not None and (edits.accessed or edits.pending is not None or edits.expire))
        ):
            return headers
        binary = isinstance(headers[0][0], bytes) if headers else False
        decoded = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers] if binary else list(headers)
        cookies = () if device is None else (device,)
        if html:
            request = state.request
            query = request.query_string
            here = request.root_path + request.path + (f"?{query}" if query else "")
            pages = engine.pages
            decoded, page, self._rewriter = pages.start(state, status, decoded, request.method, here)
            out = engine.response_headers(state, decoded, page=page, cookies=cookies)
        else:
            out = engine.response_headers(state, decoded, cookies=cookies)
        self._binary = binary
        edited = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out] if binary else out
        if self._rewriter is None:
            return edited
        self.rewriting = True
        self._held = edited
        self.trailers = False
        # A short page whose length the app gave is collected and rewritten whole (see Pages.rewrite_whole).
        length = next((v for k, v in headers if k.lower() in (b"content-length", "content-length")), None)
        text = length.decode("latin-1") if isinstance(length, bytes) else length or ""
        self._length = int(text) if text.isdecimal() else -1
        self._parts: list[bytes] | None = [] if 0 <= self._length <= MEMO_PAGE else None
        self._size = 0
        return None

    def body(self, chunk: bytes, more: bool | None = None) -> bytes | None:
        """The bytes to send for ``chunk``, or ``None`` while they are held.

        ``more`` says whether more chunks follow: ``True`` or ``False`` where the server's protocol says
        (ASGI), ``None`` where the end is known only after the last chunk (WSGI: call :meth:`end`).
        Outside a rewritten page, ``chunk`` itself. A page sent in one chunk is rewritten whole, and so
        is a short page whose ``Content-Length`` was given when the end is not known; its headers then
        carry its new length.
        """
        rewriter = self._rewriter
        if rewriter is None:
            return chunk
        parts = self._parts
        if parts is not None and more is None:
            parts.append(chunk)
            self._size += len(chunk)
            if self._size <= self._length:
                return None  # still collecting the page it said it would send
            chunk = b"".join(parts)  # longer than it said: rewritten as it streams, like any other
        self._parts = None
        if more is not False:
            return rewriter.feed(chunk)
        self._rewriter = None
        self.rewriting = False
        if parts:
            chunk = b"".join([*parts, chunk])
        page = self._engine.pages.rewrite_whole(rewriter, chunk)
        if self._held is not None and not self.trailers:  # nothing sent yet: the page goes whole, with its length
            name, value = "content-length", str(len(page))
            self._held.append((name.encode(), value.encode()) if self._binary else (name, value))
        return page

    def end(self) -> bytes:
        """The last bytes of a body whose end the adapter learns only after its last chunk (WSGI)."""
        return self.body(b"", more=False) or b""

    def take_start(self) -> Headers | None:
        """The held headers of a rewritten page, once: to send before the first bytes :meth:`body` gave."""
        held = self._held
        self._held = None
        return held
