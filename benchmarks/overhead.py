"""What the middleware costs per request, against a bare app and Starlette's SessionMiddleware.

Two scenarios, each for ASGI (Starlette) and WSGI (Flask):

- ``decided``: a visitor who has decided, asking for a JSON (non-HTML) response that sets no cookie:
  the pass-through path;
- ``undecided``: a visitor without a decision whose HTML response sets five cookies, four of which
  the middleware removes.

Modes:

- ``python benchmarks/overhead.py time``: interleaved rounds (bare, session, consent, bare, …) of
  in-process requests with no server; medians of requests per second and their ratio to bare. Wall
  clock on a shared 2-core machine is noisy: read the ratios, not the absolute numbers.
- ``python benchmarks/overhead.py callgrind``: instructions per request under valgrind's callgrind
  (deterministic): each case runs with 0 and with N requests after a warm-up, and the difference is
  divided by N, which removes start-up and imports.

Both print a Markdown table (the one in docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import io
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cookieconsent import ConsentConfig, Decision, load_policy  # noqa: E402
from cookieconsent.core.cookie import new_consent_id  # noqa: E402
from cookieconsent.core.engine import Engine  # noqa: E402

POLICY = load_policy(ROOT / "examples" / "telexpress" / "policy.toml")
CONFIG = ConsentConfig(policy=POLICY, secret_keys=["benchmark-secret-key-0123456789"])
SESSION_SECRET = "benchmark-session-secret-0123456789"
FIVE = ["session", "lang", "_ga", "_fbp", "x_unknown"]
PAGE = "<!doctype html><html><head><title>Page</title></head><body>" + "<p>Hello, world.</p>" * 30 + "</body></html>"


def consent_cookie() -> str:
    engine = Engine(CONFIG)
    decision = Decision(new_consent_id(), POLICY.optional_categories, POLICY.fingerprint, time.time())
    return f"{CONFIG.cookie_name}={engine.codec.dumps(decision)}"


DECIDED_COOKIES = f"session=abc123; {consent_cookie()}; _ga=GA1.1.123.456; lang=en; __Host-ccdid=dev1ce0id0123456789ab"
SCENARIOS = {"decided": ("/api", DECIDED_COOKIES), "undecided": ("/page", "")}


# -- ASGI ------------------------------------------------------------------------------------------


def starlette_app(wrap: str) -> Any:
    import logging

    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse
    from starlette.routing import Route

    from cookieconsent.asgi import ConsentMiddleware

    logging.getLogger("cookieconsent").setLevel(logging.ERROR)

    async def api(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "items": [1, 2, 3]})

    async def page(request: Request) -> HTMLResponse:
        response = HTMLResponse(PAGE)
        for name in FIVE:
            response.set_cookie(name, "value", samesite="lax")
        return response

    middleware = {
        "bare": [],
        "session": [Middleware(SessionMiddleware, secret_key=SESSION_SECRET)],
        "consent": [Middleware(ConsentMiddleware, config=CONFIG)],
    }[wrap]
    return Starlette(routes=[Route("/api", api), Route("/page", page)], middleware=middleware)


def asgi_runner(wrap: str, scenario: str) -> Callable[[int], None]:
    app = starlette_app(wrap)
    path, cookies = SCENARIOS[scenario]
    headers = [(b"host", b"example.com"), (b"user-agent", b"bench/1.0"), (b"accept", b"*/*")]
    if cookies:
        headers.append((b"cookie", cookies.encode()))
    base = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("example.com", 443),
    }
    app_state: dict[str, Any] = {}  # what the lifespan left; empty here
    request_message = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return request_message

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(message)

    async def many(n: int) -> None:
        for _ in range(n):
            # A new scope per request, with its own copy of the lifespan state, as uvicorn builds it.
            await app({**base, "state": app_state.copy()}, receive, send)

    loop = asyncio.new_event_loop()

    def run(n: int) -> None:
        loop.run_until_complete(many(n))

    return run


# -- WSGI ------------------------------------------------------------------------------------------


def flask_app(wrap: str) -> Any:
    import logging

    from flask import Flask, Response

    from cookieconsent.flask import CookieConsent

    logging.getLogger("cookieconsent").setLevel(logging.ERROR)
    app = Flask("bench")

    @app.get("/api")
    def api() -> Any:
        return {"ok": True, "items": [1, 2, 3]}

    @app.get("/page")
    def page() -> Response:
        response = Response(PAGE, mimetype="text/html")
        for name in FIVE:
            response.set_cookie(name, "value", samesite="Lax")
        return response

    if wrap == "consent":
        app.config["COOKIECONSENT_STORE"] = False  # the middleware alone; benchmarks/records.py measures recording
        CookieConsent(app, config=CONFIG)
    return app


def wsgi_runner(wrap: str, scenario: str) -> Callable[[int], None]:
    from werkzeug.test import EnvironBuilder

    app = flask_app(wrap)
    path, cookies = SCENARIOS[scenario]
    headers = [("User-Agent", "bench/1.0"), ("Accept", "*/*")]
    if cookies:
        headers.append(("Cookie", cookies))
    environ = EnvironBuilder(path=path, base_url="https://example.com", headers=headers).get_environ()

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if not status.startswith("200"):
            raise RuntimeError(status)
        return None

    def run(n: int) -> None:
        for _ in range(n):
            env = dict(environ)
            env["wsgi.input"] = io.BytesIO()
            body: Iterable[bytes] = app(env, start_response)
            for _chunk in body:
                pass
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return run


CASES: dict[str, Callable[[], Callable[[int], None]]] = {}
for _scenario in SCENARIOS:
    for _wrap in ("bare", "session", "consent"):
        CASES[f"asgi-{_scenario}-{_wrap}"] = functools.partial(asgi_runner, _wrap, _scenario)
    for _wrap in ("bare", "consent"):
        CASES[f"wsgi-{_scenario}-{_wrap}"] = functools.partial(wsgi_runner, _wrap, _scenario)


# -- modes -----------------------------------------------------------------------------------------


def once(case: str, n: int) -> None:
    """Warm up, then run ``n`` requests of ``case`` (the unit callgrind measures)."""
    run = CASES[case]()
    run(50)
    run(n)


def instructions(case: str, n: int, script: str = __file__) -> int:
    """Instructions ``script once case n`` executes under callgrind (all threads, deterministic)."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        script,
        "once",
        case,
        str(n),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    for line in out.stderr.splitlines():
        if "Collected" in line:
            return int(line.split()[-1])
    raise RuntimeError(out.stderr[-2000:])


def per_request(case: str, n: int, script: str = __file__) -> float:
    """Instructions one request of ``case`` costs: ``n`` requests minus none, over ``n`` (callgrind)."""
    return (instructions(case, n, script) - instructions(case, 0, script)) / n


def callgrind_modes(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], cases: Iterable[str], requests: int
) -> None:
    """Add the ``callgrind`` mode (the table) and the ``once`` mode (one case: what callgrind runs) to ``sub``."""
    c = sub.add_parser("callgrind", help="instructions per request under callgrind")
    c.add_argument("--requests", type=int, default=requests)
    o = sub.add_parser("once", help="run one case (used under callgrind)")
    o.add_argument("case", choices=sorted(cases))
    o.add_argument("n", type=int)


def groups() -> list[tuple[str, str, list[str]]]:
    out = []
    for stack in ("asgi", "wsgi"):
        for scenario in SCENARIOS:
            wraps = ["bare", "session", "consent"] if stack == "asgi" else ["bare", "consent"]
            out.append((stack, scenario, [f"{stack}-{scenario}-{w}" for w in wraps]))
    return out


def callgrind(n: int) -> None:
    print(f"Instructions per request (callgrind, {n} requests after 50 warm-up, minus a 0-request run)\n")
    print("| stack | scenario | bare | + SessionMiddleware | + cookieconsent | cookieconsent / bare |")
    print("|---|---|---:|---:|---:|---:|")
    for stack, scenario, cases in groups():
        per = {}
        for case in cases:
            per[case.rsplit("-", 1)[1]] = per_request(case, n)
        session = f"{per['session']:,.0f} (×{per['session'] / per['bare']:.3f})" if "session" in per else "—"
        print(
            f"| {'Starlette' if stack == 'asgi' else 'Flask'} | {scenario} | {per['bare']:,.0f} | {session} | "
            f"{per['consent']:,.0f} | **×{per['consent'] / per['bare']:.3f}** |",
            flush=True,
        )


def timing(rounds: int, n: int) -> None:
    print(f"Requests per second, in-process (median of {rounds} interleaved rounds of {n} requests)\n")
    print("| stack | scenario | bare | + SessionMiddleware | + cookieconsent | cookieconsent / bare |")
    print("|---|---|---:|---:|---:|---:|")
    for stack, scenario, cases in groups():
        runners = {case.rsplit("-", 1)[1]: CASES[case]() for case in cases}
        rates: dict[str, list[float]] = {w: [] for w in runners}
        for run in runners.values():
            run(200)
        for _ in range(rounds):
            for wrap, run in runners.items():
                start = time.perf_counter()
                run(n)
                rates[wrap].append(n / (time.perf_counter() - start))
        med = {w: statistics.median(r) for w, r in rates.items()}
        session = f"{med['session']:,.0f} (×{med['session'] / med['bare']:.2f})" if "session" in med else "—"
        print(
            f"| {'Starlette' if stack == 'asgi' else 'Flask'} | {scenario} | {med['bare']:,.0f} | {session} | "
            f"{med['consent']:,.0f} | ×{med['consent'] / med['bare']:.2f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    t = sub.add_parser("time", help="interleaved wall-clock rounds")
    t.add_argument("--rounds", type=int, default=7)
    t.add_argument("--requests", type=int, default=2000)
    callgrind_modes(sub, CASES, requests=2000)
    args = parser.parse_args()
    if args.mode == "time":
        timing(args.rounds, args.requests)
    elif args.mode == "callgrind":
        callgrind(args.requests)
    else:
        once(args.case, args.n)


if __name__ == "__main__":
    main()
