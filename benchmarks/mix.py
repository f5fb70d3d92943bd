"""Instructions per request of the load benchmark's mix, in-process: the demo apps with and without the middleware.

``benchmarks/load.py`` measures the demo apps under a real server, in wall-clock time, on a shared
machine. This counts what one request of the same mix of visitors and pages costs inside the process
(no server, no network), with callgrind, which is deterministic: the figures move only when the code
does. Three variants of each demo app:

- ``bare``: the app without the middleware (taken out of the same app object, as load.py does);
- ``middleware``: with the middleware but no recorder;
- ``demo``: as the demo ships, with the middleware and the recorder writing to SQLite (the writer
  thread's instructions count too: callgrind counts every thread).

``waits`` runs the demo variant and counts how often each of its threads waited (its voluntary
context switches, from ``/proc``): the main thread, the recorder's writer and its hook thread.
Each system call of a request (a ``stat`` of a template file, say) lets a waiting writer take the
interpreter. It runs the demo as it ships (its templates read once) and, for comparison, with
Jinja's ``auto_reload`` on. Flask's requests run in the main thread here; FastAPI's pages are made
in a thread pool, whose threads are not counted.

::

    .venv/bin/python benchmarks/mix.py callgrind              # the table (needs valgrind)
    .venv/bin/python benchmarks/mix.py once fastapi-demo 300  # what callgrind runs
    .venv/bin/python benchmarks/mix.py waits --requests 10000 # the threads' waits (Linux)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import load  # noqa: E402  # the benchmark this one mirrors: its mix, its apps with and without
from overhead import callgrind_modes, per_request  # noqa: E402

VARIANTS = ("bare", "middleware", "demo")
SECRET = "benchmark-mix-secret-0123456789abcdef"


def _app(app: str, variant: str) -> Any:
    os.environ["COOKIECONSENT_STORE"] = str(Path(tempfile.mkdtemp(prefix="cookieconsent-mix-")) / "records.db")
    logging.getLogger("cookieconsent").setLevel(logging.ERROR)
    if variant == "bare":
        return load.fastapi_bare() if app == "fastapi" else load.flask_bare()
    built = load.fastapi_consent() if app == "fastapi" else load.flask_consent()
    if variant == "middleware":
        _drop_recorder(app, built)
    return built


def _drop_recorder(app: str, built: Any) -> None:
    from cookieconsent.asgi import ConsentMiddleware
    from cookieconsent.flask import EXTENSION_KEY

    if app == "fastapi":
        for entry in built.user_middleware:
            if getattr(entry, "cls", None) is ConsentMiddleware:
                entry.kwargs["recorder"] = None
        built.middleware_stack = None  # built again on the first request
    else:
        middleware = built.extensions[EXTENSION_KEY]
        if middleware.recorder is not None:
            middleware.recorder.close()
        middleware.recorder = None
        middleware.engine.recorder = None  # the exchange asks the engine whether to capture


def runner(app: str, variant: str) -> Callable[[int], None]:
    """A function running ``n`` requests of the mix (cycling through it) on ``app`` in ``variant``."""
    mix = load.visits(SECRET, per_kind=10)
    built = _app(app, variant)
    if app == "fastapi":
        return _asgi_runner(built, mix)
    return _wsgi_runner(built, mix)


def _asgi_runner(app: Any, mix: list[load.Visit]) -> Callable[[int], None]:
    scopes = [
        {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": visit.path,
            "raw_path": visit.path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"127.0.0.1:8000"), *((k.encode(), v.encode()) for k, v in visit.headers)],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        for visit in mix
    ]
    request = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return request

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] >= 400:
            raise RuntimeError(message)

    async def many(n: int) -> None:
        for i in range(n):
            await app({**scopes[i % len(scopes)], "state": {}}, receive, send)

    loop = asyncio.new_event_loop()
    return lambda n: loop.run_until_complete(many(n))


def _wsgi_runner(app: Any, mix: list[load.Visit]) -> Callable[[int], None]:
    from werkzeug.test import EnvironBuilder

    environs = [
        EnvironBuilder(path=visit.path, base_url="http://127.0.0.1:8000", headers=list(visit.headers)).get_environ()
        for visit in mix
    ]

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if status[0] in "45":
            raise RuntimeError(status)
        return None

    def run(n: int) -> None:
        for i in range(n):
            environ = dict(environs[i % len(environs)])
            environ["wsgi.input"] = io.BytesIO()
            body = app(environ, start_response)
            for _chunk in body:
                pass
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return run


def once(app: str, variant: str, n: int) -> None:
    """Warm up with the whole mix once, run ``n`` requests, and let the recorder write what it has."""
    run = runner(app, variant)
    run(len(load.visits(SECRET, per_kind=10)))
    run(n)
    time.sleep(0.5)  # the writer thread's batch (it flushes within this)


def callgrind(n: int) -> None:
    # Whole passes of the mix: a part of one would weigh its first visitors and pages more.
    size = len(load.visits(SECRET, per_kind=10))
    n = -(-n // size) * size
    print(
        "Instructions per request of the mix, in-process "
        f"(callgrind, {n} requests, {n // size} whole passes, after one pass, minus a 0-request run)\n"
    )
    print("| app | bare | + middleware | + middleware and recorder (the demo) | bare / demo |")
    print("|---|---:|---:|---:|---:|")
    for app in load.APPS:
        per = {}
        for variant in VARIANTS:
            case = f"{app}-{variant}"
            per[variant] = per_request(case, n, __file__)
        print(
            f"| {app} | {per['bare']:,.0f} | {per['middleware']:,.0f} (×{per['middleware'] / per['bare']:.2f}) | "
            f"{per['demo']:,.0f} (×{per['demo'] / per['bare']:.2f}) | {per['bare'] / per['demo']:.2f} |",
            flush=True,
        )


def _switches() -> dict[str, int]:
    """Voluntary context switches so far of each of this process's threads, by thread name."""
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    counts: dict[str, int] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            status = (task / "status").read_text()
        except FileNotFoundError:
            continue  # a thread that ended meanwhile
        for line in status.splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                counts[names.get(int(task.name), task.name)] = int(line.split()[1])
    return counts


def waits_once(app: str, reload: bool, n: int) -> None:
    """The demo variant of ``app``, its templates reloaded or not: print each thread's waits as JSON."""
    from examples import demosite

    demosite.env.auto_reload = reload
    run = runner(app, "demo")
    run(len(load.visits(SECRET, per_kind=10)))
    before = _switches()
    run(n)
    time.sleep(0.5)  # the writer's last batch
    after = _switches()
    print(json.dumps({name: count - before.get(name, 0) for name, count in after.items()}))


def waits(n: int) -> None:
    print(f"Waits of the demo's threads (voluntary context switches) per 1,000 requests of the mix, {n:,} requests\n")
    print("| app | templates | request thread | writer | hooks |")
    print("|---|---|---:|---:|---:|")
    for app in load.APPS:
        for reload in (False, True):
            command = [sys.executable, __file__, "waits-once", app, "1" if reload else "0", str(n)]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            found = json.loads(output.splitlines()[-1])
            threads = ("MainThread", "cookieconsent-recorder", "cookieconsent-hooks")
            per = {name: found.get(name, 0) * 1000 / n for name in threads}
            templates = "stat on every page (`auto_reload`)" if reload else "read once (as shipped)"
            print(
                f"| {app} | {templates} | {per['MainThread']:,.0f} | {per['cookieconsent-recorder']:,.0f} | "
                f"{per['cookieconsent-hooks']:,.0f} |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    callgrind_modes(sub, [f"{app}-{variant}" for app in load.APPS for variant in VARIANTS], requests=300)
    w = sub.add_parser("waits", help="count the demo threads' waits for the interpreter (Linux)")
    w.add_argument("--requests", type=int, default=10_000)
    o = sub.add_parser("waits-once", help="one app and template setting of `waits` (JSON)")
    o.add_argument("app", choices=load.APPS)
    o.add_argument("reload", choices=("0", "1"))
    o.add_argument("n", type=int)
    args = parser.parse_args()
    if args.mode == "callgrind":
        callgrind(args.requests)
    elif args.mode == "waits":
        waits(args.requests)
    elif args.mode == "waits-once":
        waits_once(args.app, args.reload == "1", args.n)
    else:
        app, variant = args.case.split("-")
        once(app, variant, args.n)


if __name__ == "__main__":
    main()
