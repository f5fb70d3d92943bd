"""The WSGI middleware (Flask, any WSGI app): wraps ``start_response``, and the body of rewritten pages.

::

    from cookieconsent.wsgi import ConsentMiddleware

    app.wsgi_app = ConsentMiddleware(app.wsgi_app, config=config)   # Flask (or use cookieconsent.flask)
    application = ConsentMiddleware(application, config=config)      # any WSGI app

The request's :class:`~cookieconsent.core.state.ConsentState` is at ``environ["cookieconsent.state"]``.
This module only translates ``start_response`` and the body iterable into calls on the request's
:class:`~cookieconsent.core.exchange.Exchange`, which makes every decision. A body the exchange does
not rewrite is returned as the app gave it; either way it streams, and the app's ``close()`` is called.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from cookieconsent._setup import build
from cookieconsent.config import ConsentConfig
from cookieconsent.core.exchange import Exchange
from cookieconsent.core.request import WSGIRequest
from cookieconsent.records.recorder import Recorder
from cookieconsent.web.replies import BodyReader

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["ENVIRON_KEY", "ConsentMiddleware", "WSGIRequest"]

ENVIRON_KEY = "cookieconsent.state"


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
        self.engine, self.endpoints = build(config, recorder)
        self.pages = self.engine.pages  # its csp_reports count the CSP violations browsers report
        self.recorder = recorder
        if recorder is not None:
            atexit.register(recorder.close)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Handle one WSGI request: answer the library's endpoints, else call the app through an exchange."""
        # The request view reads a copy: the environ gets the state, and a reference back would make a cycle.
        view = environ.copy()
        cookie, gpc = environ.get("HTTP_COOKIE"), environ.get("HTTP_SEC_GPC")
        response = self.engine.exchange(view, cookie, gpc, _Response, WSGIRequest)
        path = view.get("PATH_INFO") or "/"
        low, high = self.endpoints.path_range
        if low <= path < high and self.endpoints.matches(path):
            state = response.state
            reply = self.endpoints.handle(state.request, state, _read_body(environ, self.endpoints.max_body))
            start_response(reply.status_line, reply.head())
            return reply.stream if reply.stream is not None else [reply.body]  # the server closes a stream
        environ[ENVIRON_KEY] = response.state
        response.server = start_response
        response.started = False  # a generator app calls start_response only when first iterated
        response.held = None
        result = self.app(environ, response.start_response)
        if response.started and not response.rewriting:
            return result  # the app's own iterable: it streams, and the server closes it
        return _RewritingBody(result, response)


class _Response(Exchange):
    """The request's exchange, with the ``start_response`` its app gets and the server's own."""

    __slots__ = ("held", "server", "started", "write")

    server: StartResponse
    started: bool
    held: tuple[str, OptExcInfo | None] | None
    write: Callable[[bytes], object]

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None) -> Any:
        """The app's ``start_response``: its headers through the exchange (held back for a rewritten page)."""
        self.started = True
        edited = self.start(int(status[:3]), headers)
        if edited is not None:
            return self.server(status, list(edited), exc_info)
        self.held = (status, exc_info)
        return self.app_write

    def send(self, data: bytes | None) -> bytes:
        """``data`` from the exchange, after giving the server the held headers if they can go now."""
        if data is None:
            return b""
        headers = self.take_start()
        if headers is not None and self.held is not None:
            status, exc_info = self.held
            self.write = self.server(status, list(headers), exc_info)
        return data

    def app_write(self, data: bytes) -> None:
        """The legacy ``write()`` of an app that writes its body: through the exchange too."""
        out = self.send(self.body(data))
        if out:
            self.write(out)


class _RewritingBody:
    """The app's body through the exchange, chunk by chunk; ``close()`` reaches the app's."""

    def __init__(self, inner: Iterable[bytes], response: _Response) -> None:
        self.inner = inner
        self.response = response

    def __iter__(self) -> Iterator[bytes]:
        response = exchange = self.response
        if isinstance(self.inner, list | tuple) and len(self.inner) == 1:
            yield response.send(exchange.body(self.inner[0], more=False))  # a plain app's [page], whole
            return
        for chunk in self.inner:
            out = response.send(exchange.body(chunk))
            if out:
                yield out
        tail = response.send(exchange.end())
        if tail:
            yield tail

    def close(self) -> None:
        getattr(self.inner, "close", lambda: None)()


def _read_body(environ: WSGIEnvironment, limit: int) -> bytes | None:
    """The request body, or ``None`` if it is longer than ``limit``."""
    reader = BodyReader(limit, environ.get("CONTENT_LENGTH"))
    stream = environ.get("wsgi.input")
    if stream is not None and not reader.too_large:
        if reader.length is not None:
            reader.feed(bytes(stream.read(reader.length)) if reader.length else b"")
        elif environ.get("wsgi.input_terminated"):  # a body without a length, which the server ends
            reader.feed(bytes(stream.read(limit + 1)))
    return reader.body()
