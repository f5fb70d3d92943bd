"""The test harness: one client and one visitor over ASGI and WSGI apps, a raw ASGI runner, and the demo apps.

- :class:`AppClient` sends requests to one app, ASGI or WSGI: through the framework's test client
  (Starlette's ``TestClient``, Werkzeug's ``Client``) or raw, exactly as a server passes them on
  (:func:`send_asgi`, :func:`send_wsgi`); :class:`Visitor` is a browser-like visitor of a client,
  with one cookie jar; both answer with a :class:`Response`.
- :class:`ASGICall` is what a server gives one ASGI call (``receive`` and ``send``: the request
  body in chunks, the client leaving when the response is complete, at once, or halfway, a
  connection that breaks); :func:`run_asgi` runs one call on an event loop of its own thread.
- The demo apps: :data:`APPS`, the repository's two demo apps (``examples/``), and :func:`make_site`,
  a small page-and-stream site behind either middleware with a recorder (:class:`Site`), over a
  store that fails on demand (:class:`FaultyStore`).
- What several test modules share: :data:`SECRET`, :data:`UA`, :func:`small_policy_data`,
  :func:`recording_config`, :func:`serializer`, :func:`require_tool`.

Test modules import from here (and from ``tests/pg.py``, ``tests/vectors.py``, the ``tests/*_app.py``
apps and the conftest files), never from one another (``tests/test_layout.py``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn
from urllib.parse import unquote, unquote_to_bytes, urlencode

import anyio
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from cookieconsent import ConsentConfig
from cookieconsent.asgi import ConsentMiddleware as ASGIMiddleware
from cookieconsent.core.cookie import SALT
from cookieconsent.policy.model import parse_policy
from cookieconsent.records import StoreUnavailableError
from cookieconsent.records.recorder import DEVICE_COOKIE, Recorder
from cookieconsent.records.sqlite import SqliteStore
from cookieconsent.records.store import Store
from cookieconsent.wsgi import ConsentMiddleware as WSGIMiddleware

SECRET = "test-secret-key-0123456789abcdef"
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
#: The host of every request the harness sends.
HOST = "testserver"
#: The repository's demo apps, by the framework each is written with.
APPS = {"fastapi": "examples.fastapi_app", "flask": "examples.flask_app"}
STRICT_TOOLS = os.environ.get("COOKIECONSENT_REQUIRE_TOOLS") == "1"

Headers = Sequence[tuple[str, str]]
Message = MutableMapping[str, Any]


# -- external tools ----------------------------------------------------------------------------------


def require_tool(name: str, path: str | None = None) -> str:
    """The path of an external tool; skip the test if it is missing, or fail in CI (strict mode)."""
    found = path if path and os.path.exists(path) else shutil.which(name)
    if found:
        return found
    tool_missing(f"{name} is not installed (make test installs it when run as root)")


def tool_missing(message: str) -> NoReturn:
    """Skip the test for a missing tool; in CI (``COOKIECONSENT_REQUIRE_TOOLS=1``) fail it instead."""
    if STRICT_TOOLS:
        pytest.fail(message)
    pytest.skip(message)


# -- policies and configurations ---------------------------------------------------------------------


def small_policy_data(**changes: Any) -> dict[str, Any]:
    """A compact valid policy as plain data, for unit tests that edit one thing."""
    data: dict[str, Any] = {
        "version": "1",
        "locales": ["en", "zh-TW"],
        "privacy_policy_url": "/privacy",
        "controller": {
            "name": {"en": "Example Ltd.", "zh-TW": "範例股份有限公司"},
            "email": "privacy@example.com",
        },
        "gpc": {"last_update": dt.date(2024, 9, 1)},
        "cookies": [
            {
                "name": "session",
                "category": "necessary",
                "purpose": "Signs you in",
                "provider": "Example",
                "lifetime": "Session",
                "justification": "Keeps a signed-in visitor signed in",
            },
            {
                "name": "lang",
                "category": "functional",
                "purpose": "Language",
                "provider": "Example",
                "lifetime": "1 year",
            },
            {
                "name": "_ga",
                "category": "analytics",
                "purpose": "Statistics",
                "provider": "Google",
                "lifetime": "2 years",
            },
            {
                "pattern": "_ga_*",
                "category": "analytics",
                "purpose": "Statistics",
                "provider": "Google",
                "lifetime": "2 years",
            },
            {
                "name": "_fbp",
                "category": "marketing",
                "purpose": "Ads",
                "provider": "Meta",
                "lifetime": "3 months",
                "domain": "example.com",
                "path": "/",
            },
        ],
        "data_items": [
            {
                "id": "ip_address",
                "category": "analytics",
                "description": "IP address",
                "pdpa_categories": ["C001"],
            },
            {"id": "browsing_clicks", "category": "analytics", "description": "Pages and clicks"},
        ],
        "notice": {
            "purposes": ["040", "157"],
            "data_categories": ["C001"],
            "period": "While the service runs",
            "region": "Taiwan",
            "recipients": [{"id": "company", "name": "The company"}],
            "methods": "Statistics",
            "how_to_exercise": "Write to us",
            "consequences": "None for cookies",
        },
    }
    data.update(changes)
    return data


def data_item(item_id: str, category: str) -> dict[str, Any]:
    """A data item of the policy, described by its id."""
    return {"id": item_id, "category": category, "description": item_id}


def recording_config() -> ConsentConfig:
    """The small policy with a data item of every kind the recorder records, and the device cookie declared."""
    data = small_policy_data(
        data_items=[
            data_item("ip_address", "analytics"),
            data_item("usage_time", "analytics"),
            data_item("browsing_clicks", "analytics"),
            data_item("system_log", "analytics"),
            data_item("software_hardware", "functional"),
            data_item("device_type_version", "functional"),
            data_item("cookie_data", "functional"),
            data_item("device_id", "functional"),
            data_item("location", "marketing"),
        ]
    )
    data["cookies"].append(
        {
            "name": DEVICE_COOKIE,
            "category": "functional",
            "purpose": "Device id",
            "provider": "Example",
            "lifetime": "1 year",
        }
    )
    return ConsentConfig(policy=parse_policy(data), secret_keys=[SECRET])


def serializer(keys: Sequence[str], salt: str = SALT, at: float | None = None) -> URLSafeTimedSerializer:
    """The consent cookie's serializer; ``at`` signs with that time instead of now."""

    class Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() if at is None else at)

    return URLSafeTimedSerializer(
        list(keys),
        salt=salt,
        signer=Signer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    )


# -- responses ---------------------------------------------------------------------------------------


@dataclass
class Response:
    """A response, the same shape whichever app and test client produced it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.header_list(name)
        return ", ".join(values) if values else None

    def header_list(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def set_cookies(self) -> list[str]:
        return self.header_list("set-cookie")

    def set_cookie(self, name: str) -> str | None:
        for value in self.set_cookies:
            if value.split("=", 1)[0].strip() == name:
                return value
        return None

    @property
    def set_cookie_names(self) -> list[str]:
        return [v.split("=", 1)[0].strip() for v in self.set_cookies]

    @property
    def stored_cookie_names(self) -> list[str]:
        """The cookies this response stores (expiries, which delete one, left out)."""
        return [v.split("=", 1)[0].strip() for v in self.set_cookies if "max-age=0" not in v.lower()]

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


# -- one ASGI call, as a server makes it -------------------------------------------------------------


class ASGICall:
    """What a server gives one ASGI call: ``receive`` hands over the request, ``send`` keeps the response.

    Args:
        body: The request body, in the chunks the client sends (one ``http.request`` message each).
        disconnect: When the client leaves: ``"after_response"``, once the response is complete (or
            the app returned), as a browser does; ``"at_once"``, before the app reads anything, so
            that every ``receive`` answers ``http.disconnect``.
        leave_after: The client leaves once this many non-empty body chunks reached it.
        reset_at_body: The connection breaks at this body message (0: the first): ``send`` raises
            ``OSError`` for it and for every body message after it.
    """

    def __init__(
        self,
        body: bytes | Sequence[bytes] = b"",
        *,
        disconnect: Literal["after_response", "at_once"] = "after_response",
        leave_after: int | None = None,
        reset_at_body: int | None = None,
    ) -> None:
        self._chunks = [body] if isinstance(body, bytes) else list(body) or [b""]
        self._delivered = 0
        self._gone = disconnect == "at_once"
        self._left: anyio.Event | None = None  # made on the first wait: an event needs the running loop
        self._leave_after = leave_after
        self._reset_at_body = reset_at_body
        self._bodies = 0
        #: The messages the app sent, in order.
        self.messages: list[Message] = []
        #: What the app raised (:func:`run_asgi` with ``reraise=False``).
        self.error: BaseException | None = None
        #: The thread whose event loop ran the call (:func:`run_asgi`).
        self.thread: int | None = None

    async def receive(self) -> dict[str, Any]:
        if not self._gone and self._delivered < len(self._chunks):
            chunk = self._chunks[self._delivered]
            self._delivered += 1
            return {"type": "http.request", "body": chunk, "more_body": self._delivered < len(self._chunks)}
        if not self._gone:  # the client stays until it leaves
            if self._left is None:
                self._left = anyio.Event()
            await self._left.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.body":
            if self._reset_at_body is not None and self._bodies >= self._reset_at_body:
                raise OSError("connection reset by peer")
            self._bodies += 1
        self.messages.append(message)
        complete = message["type"] == "http.response.body" and not message.get("more_body", False)
        enough = self._leave_after is not None and sum(1 for m in self.messages if m.get("body")) >= self._leave_after
        if complete or enough:
            self.leave()

    def leave(self) -> None:
        """The client goes away: ``receive`` answers ``http.disconnect`` from now on."""
        self._gone = True
        if self._left is not None:
            self._left.set()

    @property
    def start(self) -> Message:
        """The ``http.response.start`` message."""
        start = self.messages[0]
        assert start["type"] == "http.response.start", start
        return start

    @property
    def body(self) -> bytes:
        """The response body: every ``http.response.body`` message's bytes."""
        return b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")


def run_in_thread(function: Callable[..., Awaitable[Any]], *args: Any, timeout: float = 30) -> Any:
    """Run an async function to completion on an event loop of its own thread; return its result.

    The browser tests keep Playwright's loop running in the main thread for the whole session.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, function, *args).result(timeout=timeout)


def run_asgi(
    app: Any, scope: dict[str, Any], call: ASGICall | None = None, *, reraise: bool = True, timeout: float = 60
) -> ASGICall:
    """Run one ASGI call of ``app`` on an event loop of its own thread; the call holds what the app sent.

    Args:
        app: The ASGI app.
        scope: The call's scope (see :func:`asgi_scope`).
        call: The request body and the client's behaviour (by default: no body, and a client that
            stays until the response is complete).
        reraise: Raise what the app raised; otherwise keep it in ``call.error``.
        timeout: Seconds the call may take.
    """
    call = call or ASGICall()

    async def main() -> None:
        call.thread = threading.get_ident()
        try:
            await app(scope, call.receive, call.send)
        except BaseException as exc:
            if reraise:
                raise
            call.error = exc
        finally:
            call.leave()

    run_in_thread(main, timeout=timeout)
    return call


# -- requests exactly as a server passes them on -----------------------------------------------------


def asgi_scope(method: str, target: str, headers: Headers = (), body: bytes = b"") -> dict[str, Any]:
    """The scope uvicorn builds for this request (the path percent-decoded as UTF-8, bad bytes replaced).

    Args:
        method: The request method.
        target: The request target as written on the request line (percent-encoded, ASCII).
        headers: Header names and values; a value's characters are its bytes (latin-1).
        body: The request body (for its ``content-length``).
    """
    raw_path, _, query = target.partition("?")
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    if not any(k == b"host" for k, _ in raw):
        raw.insert(0, (b"host", HOST.encode()))
    if body and not any(k == b"content-length" for k, _ in raw):
        raw.append((b"content-length", str(len(body)).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode("latin-1"),
        "root_path": "",
        "query_string": query.encode("latin-1"),
        "headers": raw,
        "client": ("203.0.113.9", 50000),
        "server": (HOST, 443),
    }


def send_asgi(app: Any, method: str, target: str, headers: Headers = (), body: bytes = b"") -> Response:
    """Send one request to an ASGI app as a server would pass it on (see :func:`asgi_scope`)."""
    call = run_asgi(app, asgi_scope(method, target, headers, body), ASGICall(body))
    out = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in call.start["headers"]]
    return Response(call.start["status"], out, call.body)


def wsgi_environ(method: str, target: str, headers: Headers = (), body: bytes = b"") -> dict[str, Any]:
    """The environ a WSGI server builds for this request (PEP 3333: the path's bytes as latin-1)."""
    raw_path, _, query = target.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(raw_path).decode("latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": HOST,
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_HOST": HOST,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    given: set[str] = set()
    for name, value in headers:
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        if key in given:  # repeated headers arrive joined, as WSGI servers join them
            environ[key] += ("; " if key == "HTTP_COOKIE" else ", ") + value
        else:
            environ[key] = value
            given.add(key)
    return environ


def send_wsgi(app: Any, method: str, target: str, headers: Headers = (), body: bytes = b"") -> Response:
    """Send one request to a WSGI app as a server would pass it on (see :func:`wsgi_environ`)."""
    started: list[Any] = []

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, response_headers]
        return lambda data: None

    result = app(wsgi_environ(method, target, headers, body), start_response)
    try:
        data = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, response_headers = started
    return Response(int(status[:3]), list(response_headers), data)


# -- one client, one visitor -------------------------------------------------------------------------

#: The kinds of app a client takes: the demo apps go by their framework's name.
ASGI_KINDS = ("asgi", "fastapi")
WSGI_KINDS = ("wsgi", "flask")


class AppClient:
    """Sends requests to one app, ASGI or WSGI, over HTTPS.

    Args:
        kind: ``"fastapi"`` or ``"asgi"`` for an ASGI app, ``"flask"`` or ``"wsgi"`` for a WSGI app.
        app: The app.
        raw: Send each request exactly as written, as a server passes it on (:func:`send_asgi`,
            :func:`send_wsgi`), instead of through the framework's test client (Starlette's
            ``TestClient``, Werkzeug's ``Client``), which normalise paths and add headers of their own.
        headers: Headers sent with every request, before the request's own.
    """

    def __init__(self, kind: str, app: Any, *, raw: bool = False, headers: Headers = ()) -> None:
        if kind not in (*ASGI_KINDS, *WSGI_KINDS):
            raise ValueError(f"unknown kind of app {kind!r}: one of {', '.join((*ASGI_KINDS, *WSGI_KINDS))}")
        self.kind = kind
        self.app = app
        self.asgi = kind in ASGI_KINDS
        self.raw = raw
        self.headers = list(headers)
        self._client: Any = None
        if raw:
            return
        if self.asgi:
            from starlette.testclient import TestClient

            self._client = TestClient(app, base_url=f"https://{HOST}", follow_redirects=False)
        else:
            from werkzeug.test import Client

            self._client = Client(app, use_cookies=False)

    def request(self, method: str, target: str, headers: Headers = (), body: bytes | None = None) -> Response:
        """Send one request, through the test client or raw (see ``raw``); the client keeps no cookies."""
        sent = [*self.headers, *headers]
        if self.raw:
            return self.send(method, target, sent, body or b"")
        if self.asgi:
            self._client.cookies.clear()
            r = self._client.request(method, target, headers=sent, content=body)
            return Response(r.status_code, list(r.headers.multi_items()), r.content)
        r = self._client.open(target, method=method, headers=sent, data=body, base_url=f"https://{HOST}")
        try:
            return Response(r.status_code, list(r.headers.items()), r.get_data())
        finally:
            r.close()

    def send(self, method: str, target: str, headers: Headers = (), body: bytes = b"") -> Response:
        """Send one request exactly as written, as a server passes it on, whatever ``raw`` says.

        Args:
            method: The request method.
            target: The request target as written on the request line (percent-encoded, ASCII).
            headers: Header names and values; a value's characters are its bytes (latin-1).
            body: The request body.
        """
        send = send_asgi if self.asgi else send_wsgi
        return send(self.app, method, target, headers, body)

    def visitor(self, cookies_enabled: bool = True, jar: Mapping[str, str] | None = None) -> Visitor:
        """A new visitor of this app, with the cookies of ``jar`` already in its jar."""
        return Visitor(self, cookies_enabled, dict(jar or {}))


HeaderArg = Mapping[str, str] | Headers | None


@dataclass
class Visitor:
    """A browser-like visitor: keeps the cookies the responses set (unless cookies are disabled).

    ``client`` may be changed between requests: the same browser then visits another app (a site
    restarted with other keys, say), with the cookies it holds.
    """

    client: AppClient
    cookies_enabled: bool = True
    jar: dict[str, str] = field(default_factory=dict)

    @property
    def cookie(self) -> str:
        """The ``Cookie`` header the jar makes."""
        return "; ".join(f"{k}={v}" for k, v in self.jar.items())

    def _headers(self, headers: HeaderArg) -> list[tuple[str, str]]:
        out = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
        if self.jar and not any(k.lower() == "cookie" for k, _ in out):
            out.append(("cookie", self.cookie))
        return out

    def _store(self, response: Response) -> Response:
        if not self.cookies_enabled:
            return response
        for value in response.set_cookies:
            pair, *attrs = value.split(";")
            name, _, val = pair.partition("=")
            expired = any(a.strip().lower() in ("max-age=0",) for a in attrs)
            if expired:
                self.jar.pop(name.strip(), None)
            else:
                self.jar[name.strip()] = val.strip()
        return response

    def request(self, method: str, target: str, headers: HeaderArg = None, body: bytes | None = None) -> Response:
        """Send a request with the jar's cookies (unless ``headers`` has a ``Cookie``); keep what it sets."""
        return self._store(self.client.request(method, target, self._headers(headers), body))

    def get(self, path: str, headers: HeaderArg = None) -> Response:
        return self.request("GET", path, headers)

    def post(
        self,
        path: str,
        json_body: Any = None,
        *,
        form: Sequence[tuple[str, str]] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        headers: HeaderArg = None,
    ) -> Response:
        hdrs = self._headers(headers)
        if json_body is not None:
            body = json.dumps(json_body).encode()
            content_type = content_type or "application/json"
        elif form is not None:
            body = urlencode(list(form)).encode()
            content_type = content_type or "application/x-www-form-urlencoded"
        if content_type is not None:
            hdrs.append(("content-type", content_type))
        return self._store(self.client.request("POST", path, hdrs, body or b""))

    def decide(
        self, action: str, categories: Sequence[str] = (), *, expect: int | None = None, **kwargs: Any
    ) -> Response:
        """Post a decision to ``/_consent``; with ``expect``, assert the answer has that status."""
        r = self.post("/_consent", json_body={"action": action, "categories": list(categories)}, **kwargs)
        if expect is not None:
            assert r.status == expect, r.body
        return r

    def state(self) -> dict[str, Any]:
        """What ``/_consent/state`` says of this visitor."""
        r = self.get("/_consent/state")
        assert r.status == 200
        data: dict[str, Any] = r.json()
        return data


# -- stores that fail on demand ----------------------------------------------------------------------


class FaultyStore(SqliteStore):
    """A real SQLite store that can be switched off, slowed down, or given a disk with no room left."""

    down = False
    delay = 0.0

    @contextlib.contextmanager
    def _tx(self, *, write: bool, snapshot: bool = False) -> Iterator[Any]:
        if self.down:
            raise StoreUnavailableError("the database is switched off by the test")
        if write and self.delay:
            time.sleep(self.delay)
        with super()._tx(write=write, snapshot=snapshot) as tx:
            yield tx

    def fill_up(self) -> None:
        """No page may be added to the file any more: every write that needs one fails (disk full)."""
        with self._lock:
            pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
            self._conn.execute(f"PRAGMA max_page_count = {pages}")

    def make_room(self) -> None:
        with self._lock:
            self._conn.execute("PRAGMA max_page_count = 1073741823")


def recorder_for(store: Store | None, spool: Path | str, cfg: ConsentConfig | None = None, **options: Any) -> Recorder:
    """A recorder of :func:`recording_config` (or ``cfg``) that writes and retries every 50 ms."""
    options.setdefault("interval", 0.05)
    options.setdefault("retry_after", 0.05)
    return Recorder(cfg or recording_config(), store, spool=spool, **options)


# -- one small site, behind either adapter -----------------------------------------------------------

TRACKER = b'<script src="https://connect.facebook.net/en_US/fbevents.js"></script>'
HEAD = b"<!doctype html><html><head><title>t</title>" + TRACKER + b"</head><body>"
#: The site's page, in the chunks ``/stream/html`` sends it.
CHUNKS = [HEAD + b"<p>first</p>", b"<p>second</p>" * 50, b"<p>last</p></body></html>"]
#: What ``/stream/json`` sends.
JSON_CHUNKS = [b'{"items": [1, ', b"2, 3", b"]}"]


class Site(AppClient):
    """A small site behind the ASGI or the WSGI middleware, with its recorder (see :func:`make_site`).

    Requests are sent raw, as a server passes them on, with a phone browser's ``User-Agent``.
    """

    def __init__(self, kind: str, app: Any, recorder: Recorder, closed: list[str]) -> None:
        super().__init__(kind, app, raw=True, headers=[("user-agent", UA)])
        self.recorder = recorder
        #: Stream paths whose body the WSGI server closed (the app's ``close()``/``finally`` ran).
        self.closed = closed


def privacy_site(recorder: Recorder, now: dt.datetime) -> ASGIMiddleware:
    """A Starlette site whose every path is a page, with its privacy centre on a clock stopped at ``now``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from cookieconsent.web.privacy import PrivacyCentre

    async def page(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = ASGIMiddleware(Starlette(routes=[Route("/{path:path}", page)]), recorder.engine.config, recorder=recorder)
    # The recorder served a centre already; serve one with the stopped clock instead.
    PrivacyCentre(recorder, app.engine, app.endpoints, app.endpoints.renderer, clock=lambda: now)
    return app


def browser_client(app: Any, lang: str = "en", ip: str = "203.0.113.7") -> Any:
    """Starlette's test client as a phone's browser in Taiwan: its user agent, language, country and address."""
    from starlette.testclient import TestClient

    return TestClient(
        app,
        base_url="https://testserver",
        headers={"user-agent": UA, "cf-ipcountry": "TW", "accept-language": lang},
        client=(ip, 50000),
        follow_redirects=False,
    )


def asgi_app(recorder: Recorder, cfg: ConsentConfig | None = None) -> ASGIMiddleware:
    """The site on Starlette: every path a page, and ``/stream/{html,json}`` streamed (``?fail=1``: failing halfway)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, StreamingResponse
    from starlette.routing import Route

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(b"".join(CHUNKS))

    async def stream(request: Request) -> StreamingResponse:
        kind = request.path_params["kind"]
        fail = request.query_params.get("fail") == "1"

        async def body() -> AsyncIterator[bytes]:
            chunks = CHUNKS if kind == "html" else JSON_CHUNKS
            yield chunks[0]
            yield chunks[1]
            if fail:
                raise RuntimeError("the app failed halfway through its response")
            yield chunks[2]

        return StreamingResponse(body(), media_type="text/html" if kind == "html" else "application/json")

    routes = [Route("/stream/{kind}", stream), Route("/{path:path}", page)]
    return ASGIMiddleware(Starlette(routes=routes), cfg or recorder.engine.config, recorder=recorder)


def wsgi_app(recorder: Recorder, closed: list[str], cfg: ConsentConfig | None = None) -> WSGIMiddleware:
    """The site as a plain WSGI app; a stream's path goes into ``closed`` when its body is closed."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ["PATH_INFO"]
        if path.startswith("/stream/"):
            kind = path.rsplit("/", 1)[1]
            fail = "fail=1" in environ.get("QUERY_STRING", "")

            def body() -> Iterator[bytes]:
                try:
                    media = "text/html; charset=utf-8" if kind == "html" else "application/json"
                    start_response("200 OK", [("content-type", media)])  # on the first step, as generators do
                    chunks = CHUNKS if kind == "html" else JSON_CHUNKS
                    yield chunks[0]
                    yield chunks[1]
                    if fail:
                        raise RuntimeError("the app failed halfway through its response")
                    yield chunks[2]
                finally:
                    closed.append(path)

            return body()
        start_response("200 OK", [("content-type", "text/html; charset=utf-8")])
        return [b"".join(CHUNKS)]

    return WSGIMiddleware(app, cfg or recorder.engine.config, recorder=recorder)


def make_site(kind: str, recorder: Recorder, cfg: ConsentConfig | None = None) -> Site:
    """The small site behind the ``kind`` (``"asgi"`` or ``"wsgi"``) middleware, recording with ``recorder``."""
    closed: list[str] = []
    app = asgi_app(recorder, cfg) if kind == "asgi" else wsgi_app(recorder, closed, cfg)
    return Site(kind, app, recorder, closed)
