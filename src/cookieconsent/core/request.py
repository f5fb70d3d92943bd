"""The request as the core sees it: a small read-only view the adapters provide.

The ASGI and WSGI adapters each implement :class:`RequestView` over their own request (the scope,
the environ) and compute nothing until asked, so a request the core only glances at costs little.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["RequestView"]


class RequestView(Protocol):
    """What the core reads from a request."""

    @property
    def method(self) -> str:
        """``GET``, ``POST``, …."""

    @property
    def path(self) -> str:
        """The path, percent-decoded, without the query string."""

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
