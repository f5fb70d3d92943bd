"""What the library's endpoints share to read requests and build replies.

:mod:`~cookieconsent.web.endpoints` and :mod:`~cookieconsent.web.privacy` (and the CSP report
endpoint) import these; this module imports neither, so each helper has one definition.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urlsplit

from cookieconsent.core.request import RequestView

__all__ = [
    "FORM",
    "HTML",
    "JSON",
    "NO_STORE",
    "BadRequest",
    "BodyReader",
    "Header",
    "Reply",
    "check_origin",
    "html_reply",
    "json_reply",
    "media_type",
    "parse_form",
    "query",
    "safe_next",
]

Header = tuple[str, str]

FORM: Final = "application/x-www-form-urlencoded"
JSON: Final = "application/json"
HTML: Final = "text/html; charset=utf-8"
#: Headers of every reply about one visitor: no cache keeps it, no browser sniffs its type.
NO_STORE: Final[tuple[Header, ...]] = (("cache-control", "no-store"), ("x-content-type-options", "nosniff"))

_CONTROL = re.compile(r"[\x00-\x20\x7f\\]")


@dataclass(slots=True)
class Reply:
    """A response: status, headers and a body, whole or streamed.

    Attributes:
        status: The status code.
        headers: The headers (names in lowercase).
        body: The whole body, when ``stream`` is None.
        stream: A body sent chunk by chunk, without a ``Content-Length`` (the JSON copy of the
            privacy centre). Each ``next()`` may read from the store, so the ASGI adapter asks for
            each chunk in a thread; the adapters call its ``close()``, if it has one, when done.
    """

    status: int
    headers: list[Header] = field(default_factory=list)
    body: bytes = b""
    stream: Iterator[bytes] | None = None

    @property
    def status_line(self) -> str:
        """The status as WSGI gives it (``200 OK``)."""
        return f"{self.status} {HTTPStatus(self.status).phrase}"

    def head(self) -> list[Header]:
        """The headers to send: with a ``Content-Length`` when the body is whole."""
        if self.stream is None and not any(name == "content-length" for name, _ in self.headers):
            return [*self.headers, ("content-length", str(len(self.body)))]
        return self.headers


class BodyReader:
    """A request body read up to a limit, free of I/O: the adapters feed it what the server gives.

    Args:
        limit: The most bytes accepted (the configuration's ``max_body``).
        length: The request's ``Content-Length``, if it has one.
    """

    def __init__(self, limit: int, length: str | None) -> None:
        self.limit = limit
        declared = length.strip() if length is not None else ""
        # isdecimal(), not isdigit(): "²" is a digit that int() refuses.
        self.length = int(declared) if declared.isdecimal() else None
        self._chunks: list[bytes] = []
        self._size = 0
        self.too_large = self.length is not None and self.length > limit

    def feed(self, chunk: bytes) -> bool:
        """Take ``chunk``; whether to read on (``False`` once the body is over the limit)."""
        self._size += len(chunk)
        self.too_large = self.too_large or self._size > self.limit
        if not self.too_large:
            self._chunks.append(chunk)
        return not self.too_large

    def body(self) -> bytes | None:
        """The body read, or ``None`` if it is over the limit (the endpoints answer 413)."""
        return None if self.too_large else b"".join(self._chunks)


class BadRequest(Exception):
    """A request the endpoints refuse; becomes a 4xx reply."""

    def __init__(self, status: int, code: str, message: str, headers: list[Header] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or []


def json_reply(status: int, data: Any, headers: list[Header] | None = None) -> Reply:
    """A JSON reply that no cache keeps."""
    body = json.dumps(data, separators=(",", ":")).encode()
    return Reply(status, [("content-type", JSON), *NO_STORE, *(headers or [])], body)


def html_reply(status: int, markup: str, headers: list[Header] | None = None) -> Reply:
    """An HTML reply that no cache keeps."""
    return Reply(status, [("content-type", HTML), *NO_STORE, *(headers or [])], markup.encode())


def media_type(request: RequestView) -> tuple[str, str | None]:
    """The request's media type (lowercase) and charset."""
    raw = request.header("content-type") or ""
    media, *params = raw.split(";")
    charset = None
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media.strip().lower(), charset


def query(request: RequestView) -> dict[str, str]:
    """The query string's fields (none at all when it has more than 20)."""
    try:
        return dict(parse_qsl(request.query_string, max_num_fields=20))
    except ValueError:
        return {}


def parse_form(body: bytes, once: Collection[str] = ()) -> dict[str, list[str]]:
    """A UTF-8 form body as lists of values.

    Args:
        body: The ``application/x-www-form-urlencoded`` body.
        once: The fields that may be given at most once, checked in this order.

    Raises:
        BadRequest: 400 for bad UTF-8, more than 200 fields, or a field of ``once`` given twice.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(400, "bad_encoding", "The form is not valid UTF-8.") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=200)
    except ValueError:
        raise BadRequest(400, "too_many_fields", "The form has too many fields.") from None
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    for key in once:
        if len(out.get(key, ())) > 1:
            raise BadRequest(400, "duplicate_field", f"The form gives {key!r} more than once; give it once.")
    return out


def safe_next(target: str | None) -> str:
    """A same-origin path to redirect to: ``target`` if it is a local path, else ``/``."""
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//"):
        return "/"
    if _CONTROL.search(target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return quote(target, safe="/?&=#%:@!$'()*+,;~-._")


def check_origin(request: RequestView, trusted: Collection[str] = ()) -> None:
    """Refuse (403) a state-changing request that does not come from the site's own pages.

    Args:
        request: The request.
        trusted: Other origins allowed to post (``ConsentConfig.trusted_origins``, in lowercase).

    Raises:
        BadRequest: 403, when the ``Origin``, ``Sec-Fetch-Site`` or ``Referer`` header names another site.
    """
    if not _same_origin(request, trusted):
        raise BadRequest(403, "cross_origin", "This endpoint only accepts requests from this site's own pages.")


def _same_origin(request: RequestView, trusted: Collection[str]) -> bool:
    origin = request.header("origin")
    if origin is not None and origin.strip().lower() in trusted:
        return True  # a configured origin may post from another host
    site = request.header("sec-fetch-site")
    if site is not None and site.strip().lower() not in ("same-origin", "none"):
        return False
    if origin is None:
        referer = request.header("referer")
        if referer is None:
            return True  # not sent by a browser on another site's behalf
        try:
            parts = urlsplit(referer.strip())
        except ValueError:
            return False
        origin = f"{parts.scheme}://{parts.netloc}"
    return _origin_ok(origin.strip().lower(), request, trusted)


def _origin_ok(origin: str, request: RequestView, trusted: Collection[str]) -> bool:
    if origin in trusted:
        return True
    scheme, sep, host = origin.partition("://")
    if not sep or scheme not in ("http", "https"):
        return False
    own_scheme = request.scheme.lower()
    own_host = _strip_port(own_scheme, request.host.lower())
    if _strip_port(scheme, host) != own_host:
        return False
    # Behind a TLS-terminating proxy the app may see http while the page was https.
    return scheme == own_scheme or (scheme == "https" and own_scheme == "http")


def _strip_port(scheme: str, host: str) -> str:
    default = ":443" if scheme == "https" else ":80"
    return host[: -len(default)] if host.endswith(default) else host
