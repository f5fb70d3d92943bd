"""The request as the core sees it: a small read-only view over an ASGI scope or a WSGI environ.

:class:`ASGIRequest` and :class:`WSGIRequest` implement :class:`RequestView` over the two servers'
plain data (no framework involved) and compute nothing until asked, so a request the core only
glances at costs little.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Protocol

__all__ = ["ASGIRequest", "RequestView", "WSGIRequest"]


class RequestView(Protocol):
    """What the core reads from a request."""

    @property
    def method(self) -> str:
        """``GET``, ``POST``, …."""

    @property
    def path(self) -> str:
        """The path, percent-decoded, without the query string."""

    @property
    def root_path(self) -> str:
        """The path the application is mounted under (ASGI ``root_path``, WSGI ``SCRIPT_NAME``)."""

    @property
    def query_string(self) -> str:
        """The raw query string (without ``?``)."""

    @property
    def scheme(self) -> str:
        """``http`` or ``https`` as the server saw it (after any proxy fix-up the app applies)."""

    @property
    def host(self) -> str:
        """The ``Host`` the request was sent to, with the port if one was given."""

    @property
    def client(self) -> str | None:
        """The client's address as the server saw it."""

    def header(self, name: str) -> str | None:
        """A header's value (lowercase ``name``); repeated headers are joined with ``", "``."""

    def header_values(self, name: str) -> list[str]:
        """Each value of a header: several for repeated ASGI headers, one joined value under WSGI."""


class ASGIRequest:
    """The :class:`~cookieconsent.core.request.RequestView` of an ASGI HTTP scope (computed on demand)."""

    __slots__ = ("_headers", "scope")

    _headers: dict[bytes, bytes]

    def __init__(self, scope: MutableMapping[str, Any]) -> None:
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
    def method(self) -> str:
        """``GET``, ``POST``, …."""
        return str(self.scope["method"])

    @property
    def path(self) -> str:
        """The path, percent-decoded, without the query string."""
        return str(self.scope["path"])

    @property
    def root_path(self) -> str:
        """The path the application is mounted under (ASGI ``root_path``, WSGI ``SCRIPT_NAME``)."""
        return str(self.scope.get("root_path", ""))

    @property
    def query_string(self) -> str:
        """The raw query string (without ``?``)."""
        return bytes(self.scope.get("query_string", b"")).decode("latin-1")

    @property
    def scheme(self) -> str:
        """``http`` or ``https`` as the server saw it (after any proxy fix-up the app applies)."""
        return str(self.scope.get("scheme", "http"))

    @property
    def host(self) -> str:
        """The ``Host`` the request was sent to, with the port if one was given."""
        host = self.header("host")
        if host:
            return host
        server = self.scope.get("server")
        if server:
            return f"{server[0]}:{server[1]}" if server[1] is not None else str(server[0])
        return ""

    @property
    def client(self) -> str | None:
        """The client's address as the server saw it."""
        client = self.scope.get("client")
        return str(client[0]) if client else None

    def header(self, name: str) -> str | None:
        """A header's value (lowercase ``name``); repeated headers are joined with ``", "``."""
        value = self._table().get(name.encode("latin-1"))
        if value is None:
            return None
        if self._repeated():
            return ("; " if name == "cookie" else ", ").join(self.header_values(name))
        return value.decode("latin-1")

    def header_values(self, name: str) -> list[str]:
        """Each value of a header: several for repeated ASGI headers, one joined value under WSGI."""
        key = name.encode("latin-1")
        table = self._table()
        if key not in table:
            return []
        if not self._repeated():
            return [table[key].decode("latin-1")]
        return [v.decode("latin-1") for k, v in self.scope["headers"] if k == key]


_SPECIAL = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}


class WSGIRequest:
    """The :class:`~cookieconsent.core.request.RequestView` of a WSGI environ (computed on demand)."""

    __slots__ = ("environ",)

    def __init__(self, environ: MutableMapping[str, Any]) -> None:
        self.environ = environ

    @property
    def method(self) -> str:
        """``GET``, ``POST``, …."""
        return str(self.environ.get("REQUEST_METHOD", "GET"))

    @property
    def path(self) -> str:
        """The path, percent-decoded, without the query string."""
        return str(self.environ.get("PATH_INFO", "") or "/")

    @property
    def root_path(self) -> str:
        """The path the application is mounted under (ASGI ``root_path``, WSGI ``SCRIPT_NAME``)."""
        return str(self.environ.get("SCRIPT_NAME", ""))

    @property
    def query_string(self) -> str:
        """The raw query string (without ``?``)."""
        return str(self.environ.get("QUERY_STRING", ""))

    @property
    def scheme(self) -> str:
        """``http`` or ``https`` as the server saw it (after any proxy fix-up the app applies)."""
        return str(self.environ.get("wsgi.url_scheme", "http"))

    @property
    def host(self) -> str:
        """The ``Host`` the request was sent to, with the port if one was given."""
        host = self.environ.get("HTTP_HOST")
        if host:
            return str(host)
        name, port = self.environ.get("SERVER_NAME", ""), str(self.environ.get("SERVER_PORT", ""))
        return f"{name}:{port}" if port and port not in ("80", "443") else str(name)

    @property
    def client(self) -> str | None:
        """The client's address as the server saw it."""
        addr = self.environ.get("REMOTE_ADDR")
        return str(addr) if addr else None

    def header(self, name: str) -> str | None:
        """A header's value (lowercase ``name``); repeated headers are joined with ``", "``."""
        key = _SPECIAL.get(name) or "HTTP_" + name.upper().replace("-", "_")
        value = self.environ.get(key)
        return None if value is None else str(value)

    def header_values(self, name: str) -> list[str]:
        """Each value of a header: several for repeated ASGI headers, one joined value under WSGI."""
        value = self.header(name)
        return [] if value is None else [value]
