"""The WSGI middleware (Flask, any WSGI app): wraps ``start_response``, and the body of HTML pages only.

::

    from cookieconsent.wsgi import ConsentMiddleware

    app.wsgi_app = ConsentMiddleware(app.wsgi_app, config=config)   # Flask (or use cookieconsent.flask)
    application = ConsentMiddleware(application, config=config)      # any WSGI app

The request's :class:`~cookieconsent.core.engine.ConsentState` is at ``environ["cookieconsent.state"]``.
A non-HTML response's iterable is returned as it is; an HTML page's is wrapped to be rewritten
chunk by chunk. Either way it streams, and the application's ``close()`` is still called.
"""

from __future__ import annotations

import atexit
import time
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from cookieconsent._setup import build
from cookieconsent.blocking.rewriter import HTMLRewriter
from cookieconsent.config import ConsentConfig
from cookieconsent.core.pages import MEMO_PAGE, Pages, is_html
from cookieconsent.records.recorder import Recorder

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["ENVIRON_KEY", "ConsentMiddleware", "WSGIRequest"]

ENVIRON_KEY = "cookieconsent.state"
_new = object.__new__
_SPECIAL = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}


class WSGIRequest:
    """The :class:`~cookieconsent.core.request.RequestView` of a WSGI environ (computed on demand)."""

    __slots__ = ("environ",)

    def __init__(self, environ: WSGIEnvironment) -> None:
        self.environ = environ

    @property
    def method(self) -> str:  # noqa: D102
        return str(self.environ.get("REQUEST_METHOD", "GET"))

    @property
    def path(self) -> str:  # noqa: D102
        return str(self.environ.get("PATH_INFO", "") or "/")

    @property
    def query_string(self) -> str:  # noqa: D102
        return str(self.environ.get("QUERY_STRING", ""))

    @property
    def scheme(self) -> str:  # noqa: D102
        return str(self.environ.get("wsgi.url_scheme", "http"))

    @property
    def host(self) -> str:  # noqa: D102
        host = self.environ.get("HTTP_HOST")
        if host:
            return str(host)
        name, port = self.environ.get("SERVER_NAME", ""), str(self.environ.get("SERVER_PORT", ""))
        return f"{name}:{port}" if port and port not in ("80", "443") else str(name)

    @property
    def client(self) -> str | None:  # noqa: D102
        addr = self.environ.get("REMOTE_ADDR")
        return str(addr) if addr else None

    def header(self, name: str) -> str | None:  # noqa: D102
        key = _SPECIAL.get(name) or "HTTP_" + name.upper().replace("-", "_")
        value = self.environ.get(key)
        return None if value is None else str(value)

    def header_values(self, name: str) -> list[str]:  # noqa: D102
        value = self.header(name)
        return [] if value is None else [value]


def _read_body(environ: WSGIEnvironment, limit: int) -> bytes | None:
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if raw.isdecimal():  # isdigit() would also pass "²", which int() refuses
        length = int(raw)
        if length > limit:
            return None
        return bytes(stream.read(length)) if length else b""
    if environ.get("wsgi.input_terminated"):
        body = bytes(stream.read(limit + 1))
        return None if len(body) > limit else body
    return b""


class ConsentMiddleware:
    """Enforces a :class:`~cookieconsent.config.ConsentConfig` on a WSGI application.

    Args:
        app: The WSGI application to wrap.
        config: The configuration (policy, keys, cookie options).
        recorder: Records device and log data for the granted categories (see
            :class:`~cookieconsent.records.recorder.Recorder`); flushed when the process exits.
    """

    def __init__(self, app: WSGIApplication, config: ConsentConfig, recorder: Recorder | None = None) -> None:
        self.app = app
        self.engine, self.pages, self.endpoints = build(config, recorder)
        self._own = self.endpoints.path_prefixes
        self._html_types: dict[str, bool] = {}  # Content-Type value → is it HTML (a few distinct ones)
        self.recorder = recorder
        if recorder is not None:
            atexit.register(recorder.close)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Handle one WSGI request: answer the library's endpoints, else call the app and enforce."""
        # The view reads a copy: the environ gets the ConsentState below, and a reference back to it
        # would make a cycle (environ → state → request → environ) only the garbage collector frees.
        request: WSGIRequest = _new(WSGIRequest)  # without a Python __init__ frame: once per request
        request.environ = environ.copy()
        engine = self.engine
        sec_gpc = environ.get("HTTP_SEC_GPC")
        state = engine.state_from(request, environ.get("HTTP_COOKIE"), sec_gpc)
        path = environ.get("PATH_INFO") or "/"
        if path.startswith(self._own) and self.endpoints.matches(path):
            reply = self.endpoints.handle(request, state, _read_body(environ, self.endpoints.max_body))
            headers = reply.headers
            status = f"{reply.status} {HTTPStatus(reply.status).phrase}"
            if reply.stream is not None:  # sent chunk by chunk; the server calls its close()
                start_response(status, headers)
                return reply.stream
            if not any(k == "content-length" for k, _ in headers):
                headers = [*headers, ("content-length", str(len(reply.body)))]
            start_response(status, headers)
            return [reply.body]
        environ[ENVIRON_KEY] = state
        recorder = self.recorder
        started = time.perf_counter() if recorder is not None else 0.0
        response: _Response = _new(_Response)
        response.started = False
        response.rewriter = None
        response.held = None

        def enforcing_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Any:
            if exc_info is not None:  # the app starts again (an error page): what its first start set goes
                response.rewriter = response.held = None
            # The two headers that matter, found with C-level passes (names are case-insensitive).
            table = dict(headers)
            names = "\n" + "\n".join(table).lower() + "\n"
            html = False
            if "\ncontent-type\n" in names:
                value = table.get("Content-Type") or table.get("content-type")
                if value is None:
                    value = next(v for k, v in headers if k.lower() == "content-type")
                html = self._html_types.get(value)  # type: ignore[assignment]
                if html is None:
                    html = is_html(value)
                    if len(self._html_types) < 64:
                        self._html_types[value] = html
            if recorder is not None:
                recorder.capture(state, request, int(status[:3]), started)  # may add the device cookie
            if html:
                query = request.query_string
                here = request.path + (f"?{query}" if query else "")
                length = table.get("Content-Length") or table.get("content-length") or ""
                response.length = int(length) if length.isdecimal() else -1  # before start() drops it
                headers, response.rewriter = self.pages.start(state, int(status[:3]), headers, request.method, here)
            elif (
                "\nset-cookie\n" in names
                or state.accessed
                or state.pending is not None
                or state.expire
                or state.extra_cookies
            ):  # what Engine.needs_edit asks, inline: this runs for every response
                headers = engine.response_headers(state, headers)
            response.started = True
            rewriter = response.rewriter
            if rewriter is None:
                return start_response(status, headers, exc_info)
            # A page to rewrite: the server gets its headers with its first part, so that a page
            # read whole goes out with its new Content-Length (see _Response.begin).
            response.held = (status, headers, exc_info)
            response.start_response = start_response

            def write(data: bytes) -> None:
                """The legacy ``write()`` of an app that writes its body: through the rewriter too."""
                out = rewriter.feed(data)
                if out:
                    response.begin()(out)

            return write  # what is held back comes out at the end of the body (_RewritingBody)

        result = self.app(environ, enforcing_start_response)
        if response.started and response.rewriter is None:
            return result  # the app's own iterable: it streams, and the server closes it
        return _RewritingBody(result, response, self.pages)


class _Response:
    """Whether the response started, and its rewriter if it is an HTML page (set by start_response)."""

    __slots__ = ("held", "length", "rewriter", "server_write", "start_response", "started")

    started: bool
    rewriter: HTMLRewriter | None
    # Set with the rewriter: the page's length as the app's Content-Length gave it (-1: not given),
    # and its status and headers until begin() gives them to the server's start_response.
    length: int
    held: tuple[str, list[tuple[str, str]], OptExcInfo | None] | None
    start_response: StartResponse
    server_write: Callable[[bytes], object]

    def begin(self, length: int = -1) -> Callable[[bytes], object]:
        """Give the server the page's status and headers (with ``length``, if known), once; its ``write``."""
        held = self.held
        if held is not None:
            self.held = None
            status, headers, exc_info = held
            if length >= 0:
                headers = [*headers, ("Content-Length", str(length))]
            self.server_write = self.start_response(status, headers, exc_info)
        return self.server_write


class _RewritingBody:
    """The app's body, rewritten chunk by chunk when it is HTML; ``close()`` reaches the app's."""

    def __init__(self, inner: Iterable[bytes], response: _Response, pages: Pages) -> None:
        self.inner = inner
        self.response = response
        self.pages = pages

    def __iter__(self) -> Iterator[bytes]:
        response = self.response
        inner = self.inner
        whole = response.rewriter
        if whole is not None and isinstance(inner, list | tuple) and len(inner) == 1:
            # The whole page at once (a plain WSGI app's [body]): see Pages.rewrite_whole.
            response.rewriter = None
            page = self.pages.rewrite_whole(whole, inner[0])
            response.begin(len(page))
            yield page
            return
        chunks = iter(inner)
        if whole is not None and 0 <= response.length <= MEMO_PAGE:
            # The app said how long its page is, and it is short (so it has it all at hand, as Flask
            # does): read it whole, and rewrite it as one (see Pages.rewrite_whole).
            parts: list[bytes] = []
            size = 0
            for chunk in chunks:
                parts.append(chunk)
                size += len(chunk)
                if size >= response.length:
                    break
            more = next(chunks, None)
            if more is None:
                response.rewriter = None
                page = self.pages.rewrite_whole(whole, b"".join(parts))
                response.begin(len(page))
                yield page
                return
            parts.append(more)  # longer than it said: rewritten as it streams, like any other
            out = whole.feed(b"".join(parts))
            if out:
                response.begin()
                yield out
        for chunk in chunks:
            rewriter = response.rewriter  # set by start_response, which a generator calls on its first step
            if rewriter is None:
                yield chunk
            else:
                out = rewriter.feed(chunk)
                if out:
                    response.begin()
                    yield out
        if response.rewriter is not None:
            tail = response.rewriter.close()
            response.rewriter = None
            response.begin()
            if tail:
                yield tail

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()
