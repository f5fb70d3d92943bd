"""Caches keyed by request headers hold only bounded keys: huge headers are read, never remembered.

A visitor sends the same Cookie and Accept-Language headers again and again, so the middleware
remembers what each distinct one says. An attacker can send thousands of distinct huge ones instead:
each must be read and forgotten, so that the worker's memory stays flat.
"""

from __future__ import annotations

import ctypes
import gc
import os
import secrets
from collections.abc import Callable, MutableMapping
from typing import Any

import pytest
from flask import Flask

from cookieconsent import ConsentConfig
from cookieconsent.asgi import ConsentMiddleware as ASGIMiddleware
from cookieconsent.wsgi import ConsentMiddleware as WSGIMiddleware
from tests.harness import ASGICall, run_in_thread

REQUESTS = 10_000
PAGE = b"<!doctype html><html><head><title>t</title></head><body><p>hello</p></body></html>"


_COOKIES = "; ".join(f"c{j}={secrets.token_hex(8)}{'x' * 580}" for j in range(100)).encode()
_LANGUAGES = ", ".join(f"x-{j};q=0.{j % 9 + 1}" for j in range(120)).encode()


def huge_headers(i: int) -> list[tuple[bytes, bytes]]:
    """About 60 KB of Cookie header and 2 KB of Accept-Language, different for every request."""
    tag = b"%d" % i
    return [
        (b"cookie", b"first=" + tag + b"; " + _COOKIES),
        (b"accept-language", b"x-" + tag + b", " + _LANGUAGES),
        (b"host", b"testserver"),
    ]


async def asgi_page(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
    await send({"type": "http.response.body", "body": PAGE})


def run_asgi(app: Any, paths: list[str]) -> Callable[[range], None]:
    def run(numbers: range) -> None:
        async def main() -> None:
            for i in numbers:
                path = paths[i % len(paths)]
                scope = {
                    "type": "http",
                    "asgi": {"version": "3.0"},
                    "http_version": "1.1",
                    "method": "GET",
                    "scheme": "https",
                    "path": path,
                    "raw_path": path.encode(),
                    "root_path": "",
                    "query_string": b"",
                    "headers": huge_headers(i),
                    "client": ("127.0.0.1", 1234),
                    "server": ("testserver", 443),
                }
                call = ASGICall()
                await app(scope, call.receive, call.send)

        run_in_thread(main, timeout=600)

    return run


def run_wsgi(app: Any, paths: list[str]) -> Callable[[range], None]:
    def run(numbers: range) -> None:
        for i in numbers:
            path = paths[i % len(paths)]
            environ = {
                "REQUEST_METHOD": "GET",
                "PATH_INFO": path,
                "SCRIPT_NAME": "",
                "QUERY_STRING": "",
                "SERVER_NAME": "testserver",
                "SERVER_PORT": "443",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "wsgi.url_scheme": "https",
                "wsgi.input": __import__("io").BytesIO(b""),
                "wsgi.errors": __import__("sys").stderr,
                "REMOTE_ADDR": "127.0.0.1",
            }
            for name, value in huge_headers(i):
                environ["HTTP_" + name.decode().upper().replace("-", "_")] = value.decode("latin-1")
            body = app(environ, lambda status, headers, exc_info=None: None)
            try:
                for _ in body:
                    pass
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()

    return run


def flask_app(config: ConsentConfig) -> Any:
    app = Flask(__name__)

    @app.get("/")
    def home() -> tuple[bytes, int, dict[str, str]]:
        return PAGE, 200, {"content-type": "text/html"}

    return WSGIMiddleware(app.wsgi_app, config)


def resident() -> int:
    """This process's resident memory in bytes, after giving freed heap pages back to the system."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_memory_stays_flat_under_ten_thousand_huge_distinct_headers(config: ConsentConfig, kind: str) -> None:
    paths = ["/", "/_consent/state"]
    run = run_asgi(ASGIMiddleware(asgi_page, config), paths) if kind == "asgi" else run_wsgi(flask_app(config), paths)
    run(range(-500, 0))  # every cache a request can reach, filled to its bound first
    before = resident()
    run(range(REQUESTS))
    grown = resident() - before
    # Remembering even 1.5 % of these headers would keep 9 MB (the bug this guards against kept
    # every one of them until a cache of thousands was full: hundreds of MB).
    assert grown < 8 * 2**20, f"resident memory grew by {grown / 2**20:.1f} MiB over {REQUESTS:,} 60 KB headers"
