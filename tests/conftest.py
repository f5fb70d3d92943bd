"""Shared fixtures: the two demo apps behind one client interface, and small policies for unit tests."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import json
import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import anyio
import pytest

from cookieconsent import ConsentConfig
from cookieconsent.policy.model import Policy, parse_policy
from tests.pg import INITDB, PgCluster

SECRET = "test-secret-key-0123456789abcdef"
# The demo apps record into SQLite; in tests, into a file of their own.
os.environ.setdefault("COOKIECONSENT_STORE", os.path.join(tempfile.mkdtemp(prefix="cc-test-"), "records.db"))
STRICT_TOOLS = os.environ.get("COOKIECONSENT_REQUIRE_TOOLS") == "1"


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


@pytest.fixture
def policy() -> Policy:
    return parse_policy(small_policy_data())


@pytest.fixture
def config(policy: Policy) -> ConsentConfig:
    return ConsentConfig(policy=policy, secret_keys=[SECRET])


# -- one client interface over both demo apps ----------------------------------------------------


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


class AppClient:
    """Sends requests to one of the demo apps over HTTPS with a test client of its own kind."""

    def __init__(self, kind: str, app: Any) -> None:
        self.kind = kind
        self.app = app
        if kind == "fastapi":
            from starlette.testclient import TestClient

            self._client: Any = TestClient(app, base_url="https://testserver", follow_redirects=False)
        else:
            from werkzeug.test import Client

            self._client = Client(app, use_cookies=False)

    def request(
        self,
        method: str,
        path: str,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes | None = None,
    ) -> Response:
        if self.kind == "fastapi":
            self._client.cookies.clear()
            r = self._client.request(method, path, headers=list(headers), content=body)
            return Response(r.status_code, list(r.headers.multi_items()), r.content)
        r = self._client.open(path, method=method, headers=list(headers), data=body, base_url="https://testserver")
        try:
            return Response(r.status_code, list(r.headers.items()), r.get_data())
        finally:
            r.close()

    def visitor(self, cookies_enabled: bool = True) -> Visitor:
        return Visitor(self, cookies_enabled)


@dataclass
class Visitor:
    """A browser-like visitor: keeps the cookies the responses set (unless cookies are disabled)."""

    client: AppClient
    cookies_enabled: bool = True
    jar: dict[str, str] = field(default_factory=dict)

    def _headers(self, headers: Mapping[str, str] | Sequence[tuple[str, str]] | None) -> list[tuple[str, str]]:
        out = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
        if self.jar and not any(k.lower() == "cookie" for k, _ in out):
            out.append(("cookie", "; ".join(f"{k}={v}" for k, v in self.jar.items())))
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

    def get(self, path: str, headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None) -> Response:
        return self._store(self.client.request("GET", path, self._headers(headers)))

    def post(
        self,
        path: str,
        *,
        json_body: Any = None,
        form: Sequence[tuple[str, str]] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    ) -> Response:
        hdrs = self._headers(headers)
        if json_body is not None:
            body = json.dumps(json_body).encode()
            content_type = content_type or "application/json"
        elif form is not None:
            from urllib.parse import urlencode

            body = urlencode(list(form)).encode()
            content_type = content_type or "application/x-www-form-urlencoded"
        if content_type is not None:
            hdrs.append(("content-type", content_type))
        return self._store(self.client.request("POST", path, hdrs, body or b""))

    def decide(self, action: str, categories: Sequence[str] = (), **kwargs: Any) -> Response:
        return self.post("/_consent", json_body={"action": action, "categories": list(categories)}, **kwargs)


APPS = {"fastapi": "examples.fastapi_app", "flask": "examples.flask_app"}


@pytest.fixture(params=sorted(APPS), scope="session")
def app_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def demo_app(app_kind: str) -> Any:
    return importlib.import_module(APPS[app_kind]).app


@pytest.fixture
def client(app_kind: str, demo_app: Any) -> AppClient:
    return AppClient(app_kind, demo_app)


@pytest.fixture
def visitor(client: AppClient) -> Visitor:
    return client.visitor()


# -- PostgreSQL ------------------------------------------------------------------------------------


@contextlib.contextmanager
def pg_cluster_running() -> Iterator[PgCluster]:
    """A PostgreSQL cluster of its own, started, and removed at the end (CI installs PostgreSQL and psycopg)."""
    initdb = Path(require_tool("initdb", INITDB))
    try:
        import psycopg  # noqa: F401
    except ImportError:
        tool_missing('psycopg is not installed: pip install "cookieconsent[postgres]"')
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            tool_missing("there is no 'postgres' user to run initdb as (install the Debian package postgresql)")
    cluster = PgCluster(initdb.parent)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway cluster for the whole session (tests that stop a server start their own)."""
    with pg_cluster_running() as cluster:
        yield cluster


@pytest.fixture
def own_pg_cluster() -> Iterator[PgCluster]:
    """A cluster for one test alone, for tests that stop and start the server."""
    with pg_cluster_running() as cluster:
        yield cluster


def run_in_thread(app: Any, *args: Any) -> None:
    """Run an ASGI call to completion on an event loop of its own thread.

    The browser tests keep Playwright's loop running in the main thread for the whole session.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(anyio.run, app, *args).result(timeout=30)
