"""The demo apps under a real server and a bounded load, with and without the consent middleware.

Each demo app is served twice on 127.0.0.1, by the same server: as it is (with the middleware) and
built the same way without it (the factories below take the middleware out of the very same app
object, so the pages, routes and templates are identical):

- ``examples.fastapi_app:app`` under uvicorn (one process; the asyncio loop and the h11 protocol, as
  installed by the project: no uvloop or httptools);
- ``examples.flask_app:app`` under gunicorn with one ``sync`` worker: one process handling one
  request at a time, the default worker class, and the same single process as uvicorn's, so the two
  apps see the same CPU. (gunicorn's sync worker closes the connection after each response, so wrk
  reconnects for every request there.)

wrk drives each server for a fixed duration with a fixed number of connections, from a Lua script
that cycles through a mix of visitors and pages:

- visitors: undecided (no consent cookie), decided (a genuine consent cookie signed with the app's
  keys: everything granted, or only the functional category, each visitor with its own consent and
  device ids), and Global Privacy Control (``Sec-GPC: 1``, undecided or with a decision GPC already
  refused marketing in); each sends the cookies a browser would hold by then (a session, and the
  language and analytics cookies its decision allows), so no response has to expire one;
- pages: the home page (HTML that tries to set five cookies and embeds trackers), the privacy page
  (a long HTML page), the sign-in page (short HTML) and ``/api/news`` (JSON). The article pages are
  left out: they ask for the consent state, which the app without the middleware cannot give.

Rounds are interleaved (bare, consent, bare, consent…) and the table gives medians, because wall
clock on a shared machine is noisy; the throughput ratio is the median of the per-round ratios.
Rounds are short (2 s by default) so that there are many of them: a slow spell of the machine then
falls on both rounds of a pair, and the median of 70 ratios moves less than that of 15.
Memory is the resident set (``VmRSS`` of ``/proc/<pid>/status``) of the process that serves the
requests (gunicorn's worker), after the warm-up and after the last round.

::

    .venv/bin/python benchmarks/load.py --quick                    # 2 s rounds, 3 of each (CI)
    .venv/bin/python benchmarks/load.py --requests 100000          # until each middleware server has served 100,000

Prints a Markdown table; exits with status 1 if any request failed (a status other than 2xx/3xx or a
socket error) or a server did not answer as expected before the load. Throughput and memory are
reported against their targets, never turned into a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.local_server import free_port  # noqa: E402

#: Targets the report checks.
MAX_RSS_GROWTH = 0.05
MIN_THROUGHPUT_RATIO = 0.85
PAGES = ("/", "/privacy", "/login", "/api/news")
APPS = ("fastapi", "flask")


# -- the apps, as the servers import them -----------------------------------------------------------


def fastapi_consent() -> Any:
    """The FastAPI demo app as it is (a uvicorn ``--factory``)."""
    from examples import fastapi_app

    return fastapi_app.app


def fastapi_bare() -> Any:
    """The FastAPI demo app without :class:`~cookieconsent.asgi.ConsentMiddleware` (a uvicorn ``--factory``)."""
    from examples import fastapi_app

    from cookieconsent.asgi import ConsentMiddleware

    app = fastapi_app.app
    app.user_middleware = [m for m in app.user_middleware if getattr(m, "cls", None) is not ConsentMiddleware]
    app.middleware_stack = None  # built again, without it, on the first request
    return app


def flask_consent() -> Any:
    """The Flask demo app as it is (a gunicorn app factory)."""
    from examples import flask_app

    return flask_app.app


def flask_bare() -> Any:
    """The Flask demo app without the :class:`~cookieconsent.flask.CookieConsent` extension."""
    from examples import flask_app

    from cookieconsent.flask import EXTENSION_KEY

    app = flask_app.app
    middleware = app.extensions.pop(EXTENSION_KEY)
    app.wsgi_app = middleware.app  # type: ignore[method-assign]
    hooks = app.before_request_funcs.get(None, [])
    hooks[:] = [f for f in hooks if getattr(f, "__module__", "") != "cookieconsent.flask"]
    app.jinja_env.globals.pop("consent", None)
    return app


# -- the visitors ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    """One request of the mix: a page and the visitor's headers."""

    kind: str
    path: str
    headers: tuple[tuple[str, str], ...]


def visits(secret: str, per_kind: int = 50) -> list[Visit]:
    """The request mix: each kind of visitor on each page, with ``per_kind`` different visitors.

    Consent cookies are made with the demo app's own configuration (:func:`examples.demosite.make_config`)
    and ``secret`` as its signing key, the key the servers get in ``COOKIECONSENT_SECRET_KEYS``.
    """
    os.environ["COOKIECONSENT_SECRET_KEYS"] = secret
    from examples import demosite

    from cookieconsent.core.cookie import Decision, GpcFlag, new_consent_id
    from cookieconsent.core.engine import Engine
    from cookieconsent.records.recorder import DEVICE_COOKIE

    config = demosite.make_config()
    engine = Engine(config)
    policy = config.policy
    now = time.time()
    device_cookie = ("__Host-" if config.secure else "") + DEVICE_COOKIE  # as the recorder names it

    def cookie(granted: frozenset[str], gpc: GpcFlag = GpcFlag.NONE) -> str:
        """The cookies of a visitor who decided: the consent cookie and what the granted categories allow."""
        decision = Decision(new_consent_id(), granted, policy.fingerprint, now, gpc)
        cookies = [f"{config.cookie_name}={engine.codec.dumps(decision)}", f"session={secrets.token_urlsafe(12)}"]
        if "functional" in granted:
            cookies.append("lang=en")
        if "analytics" in granted:
            device = secrets.token_urlsafe(16)
            cookies += [f"{device_cookie}={device}", f"_ga=GA1.1.{int(now)}.{device[:8]}"]
        return "; ".join(cookies)

    everything = frozenset(policy.optional_categories)
    # What a browser would send: cookies the middleware expired are gone, those it let through are kept.
    kinds: dict[str, list[tuple[tuple[str, str], ...]]] = {
        "undecided": [(("cookie", f"session={secrets.token_urlsafe(12)}"),) if i % 2 else () for i in range(per_kind)],
        "consented": [(("cookie", cookie(everything)),) for _ in range(per_kind)],
        "functional": [(("cookie", cookie(frozenset({"functional"}))),) for _ in range(per_kind // 2)],
        "gpc": [
            (("sec-gpc", "1"), ("cookie", cookie(everything - policy.gpc_categories, GpcFlag.OPTED_OUT)))
            if i % 2
            else (("sec-gpc", "1"),)
            for i in range(per_kind)
        ],
    }
    mix = []
    for i in range(per_kind):
        for kind, visitors in kinds.items():
            if i < len(visitors):
                for page in PAGES:
                    mix.append(Visit(kind, page, (("accept-language", "en"), *visitors[i])))
    return mix


def _lua_string(text: str) -> str:
    return '"' + "".join(c if c.isalnum() or c in " -_.=;:/,+" else f"\\{ord(c):03d}" for c in text) + '"'


def lua_script(mix: Sequence[Visit]) -> str:
    """A wrk script that cycles through ``mix`` and prints the results as one JSON line."""
    specs = []
    for visit in mix:
        headers = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in visit.headers)
        specs.append(f"  {{{_lua_string(visit.path)}, {{{headers}}}}},")
    return "\n".join(
        [
            "local specs = {",
            *specs,
            "}",
            "local requests = {}",
            "local counter = 0",
            "function init(args)",
            "  for i, spec in ipairs(specs) do requests[i] = wrk.format('GET', spec[1], spec[2]) end",
            "end",
            "function request()",
            "  counter = counter + 1",
            "  return requests[(counter % #requests) + 1]",
            "end",
            "function done(summary, latency, requests)",
            "  local e = summary.errors",
            '  io.write(string.format(\'RESULT {"requests": %d, "duration_us": %d, "bytes": %d, \'',
            '    .. \'"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, \'',
            '    .. \'"p50_us": %d, "p99_us": %d}\\n\',',
            "    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,",
            "    e.timeout, latency:percentile(50), latency:percentile(99)))",
            "end",
            "",
        ]
    )


# -- servers -----------------------------------------------------------------------------------


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = task / "children"
        if children.exists():
            found += [int(c) for c in children.read_text().split()]
    return found


@dataclass
class Server:
    """A server process serving one variant of one app."""

    app: str
    variant: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    worker: int = 0

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def serving_pid(self) -> int:
        """The process that serves the requests: uvicorn itself, gunicorn's (single) worker."""
        if self.app == "fastapi":
            return self.process.pid
        workers = _children(self.process.pid)
        if len(workers) != 1:
            raise RuntimeError(f"gunicorn has {len(workers)} workers, expected one")
        return workers[0]

    def rss_kib(self) -> int:
        """The serving process's resident set size, in KiB."""
        return _rss_kib(self.serving_pid())

    def stop(self) -> None:
        """Stop the server (and a gunicorn worker left behind), by their process ids."""
        leftovers = _children(self.process.pid) if self.process.poll() is None else []
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        for pid in leftovers:
            with suppress(ProcessLookupError):
                os.kill(pid, 9)


def start_server(app: str, variant: str, env: dict[str, str], workdir: Path) -> Server:
    """Start ``app`` (``fastapi`` or ``flask``) in ``variant`` (``bare`` or ``consent``) on a free port."""
    port = free_port()
    factory = f"benchmarks.load:{app}_{variant}"
    if app == "fastapi":
        command = [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--log-level", "warning", "--no-access-log"]
    else:
        command = [sys.executable, "-m", "gunicorn", f"{factory}()", "--bind", f"127.0.0.1:{port}"]
        command += ["--workers", "1", "--worker-class", "sync", "--log-level", "warning"]
    log = workdir / f"{app}-{variant}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(app, variant, port, process, log)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{server.url}/api/news", timeout=5) as answer:
                if answer.status == 200:
                    return server
        except (OSError, urllib.error.URLError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{app} ({variant}) did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def _get(url: str, headers: Sequence[tuple[str, str]] = ()) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=dict(headers))
    with urllib.request.urlopen(request, timeout=10) as answer:
        return int(answer.status), bytes(answer.read())


def preflight(server: Server, mix: Sequence[Visit]) -> None:
    """Check the server answers each visitor as the variant should, before any load.

    Raises:
        RuntimeError: naming what is wrong.
    """
    tried: dict[tuple[str, str], int] = {}
    for visit in mix:
        tried[visit.kind, visit.path] = tried.get((visit.kind, visit.path), 0) + 1
        if tried[visit.kind, visit.path] > 2:
            continue  # two visitors of each kind on each page
        status, _ = _get(server.url + visit.path, visit.headers)
        if status != 200:
            raise RuntimeError(f"{server.app} ({server.variant}): {visit.path} as {visit.kind} gave {status}")
    _, home = _get(server.url + "/")
    banner = b"/_consent/static/" in home
    if banner != (server.variant == "consent"):
        raise RuntimeError(f"{server.app} ({server.variant}): the banner is {'there' if banner else 'missing'}")
    if server.variant == "bare":
        return
    for kind, decided, gpc in (("undecided", False, False), ("consented", True, False), ("gpc", None, True)):
        for visit in [v for v in mix if v.kind == kind and v.path == "/api/news"][:2]:
            _, body = _get(server.url + "/_consent/state", visit.headers)
            state = json.loads(body)
            if (decided is not None and state["decided"] is not decided) or state["gpc"] is not gpc:
                raise RuntimeError(f"{server.app}: a {kind} visitor reads as {state}")
            if kind == "consented" and not all(state["categories"].values()):
                raise RuntimeError(f"{server.app}: a consented visitor reads as {state}")


# -- load --------------------------------------------------------------------------------------


@dataclass
class Round:
    """What wrk measured in one round."""

    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def drive(url: str, script: Path, seconds: float, connections: int) -> Round:
    """Load ``url`` with wrk for ``seconds`` over ``connections`` connections."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (make load installs it when run as root)")
    command = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script)]
    done = subprocess.run(
        [*command, url + "/"], capture_output=True, text=True, timeout=seconds + 60, check=False, cwd=ROOT
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    data = json.loads(line[len("RESULT ") :])
    errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
    return Round(data["requests"], data["duration_us"] / 1e6, errors, data["p50_us"] / 1000, data["p99_us"] / 1000)


@dataclass
class Measure:
    """Every round of one server, and its memory."""

    server: Server
    rounds: list[Round] = field(default_factory=list)
    rss_start: int = 0
    rss_end: int = 0
    #: The RSS after each round, in KiB.
    rss_rounds: list[int] = field(default_factory=list)
    serving_pids: set[int] = field(default_factory=set)

    @property
    def requests(self) -> int:
        """Requests in the measured rounds."""
        return sum(r.requests for r in self.rounds)

    @property
    def errors(self) -> int:
        """Failed requests in the measured rounds."""
        return sum(r.errors for r in self.rounds)

    def median(self, what: str) -> float:
        """The median of a :class:`Round` attribute over the rounds."""
        return float(statistics.median(getattr(r, what) for r in self.rounds))

    @property
    def growth(self) -> float:
        """RSS growth from the start to the end of the measured rounds."""
        return (self.rss_end - self.rss_start) / self.rss_start if self.rss_start else 0.0


@contextmanager
def servers(app: str, env: dict[str, str], workdir: Path) -> Iterator[dict[str, Server]]:
    """Both variants of ``app`` running; stopped on the way out."""
    started: dict[str, Server] = {}
    try:
        for variant in ("bare", "consent"):
            started[variant] = start_server(app, variant, env, workdir)
        yield started
    finally:
        for server in started.values():
            server.stop()


def measure_app(
    app: str, mix: Sequence[Visit], script: Path, env: dict[str, str], workdir: Path, options: argparse.Namespace
) -> dict[str, Measure]:
    """Interleaved rounds on both variants of ``app``; stops after ``rounds`` rounds and ``requests``."""
    with servers(app, env, workdir) as running:
        measures = {variant: Measure(server) for variant, server in running.items()}
        for measure in measures.values():
            preflight(measure.server, mix)
            warm = drive(measure.server.url, script, options.warmup, options.connections)
            if warm.errors:
                raise RuntimeError(f"{app} ({measure.server.variant}): {warm.errors} errors while warming up")
            measure.rss_start = measure.server.rss_kib()
            measure.serving_pids.add(measure.server.serving_pid())
        done = 0
        while done < options.rounds or measures["consent"].requests < options.requests:
            for measure in measures.values():
                measure.rounds.append(drive(measure.server.url, script, options.duration, options.connections))
                measure.serving_pids.add(measure.server.serving_pid())
                measure.rss_rounds.append(measure.server.rss_kib())
            done += 1
            print(
                f"  {app} round {done}: "
                + ", ".join(f"{v} {m.rounds[-1].rate:,.0f} req/s" for v, m in measures.items())
                + f" ({measures['consent'].requests:,} requests with the middleware, RSS "
                + ", ".join(f"{v} {m.rss_rounds[-1] / 1024:.1f} MiB" for v, m in measures.items())
                + ")",
                file=sys.stderr,
                flush=True,
            )
        for measure in measures.values():
            measure.rss_end = measure.server.rss_kib()
        return measures


# -- the report --------------------------------------------------------------------------------


def ratio(measures: dict[str, Measure]) -> float:
    """The median over rounds of the middleware's throughput relative to the bare app's."""
    pairs = zip(measures["consent"].rounds, measures["bare"].rounds, strict=True)
    return statistics.median(c.rate / b.rate for c, b in pairs if b.rate)


def table(results: dict[str, dict[str, Measure]], options: argparse.Namespace) -> str:
    """The Markdown report."""
    servers_of = {"fastapi": "uvicorn", "flask": "gunicorn (1 sync worker)"}
    lines = [
        "| app | server | middleware | req/s (median) | p50 ms | p99 ms | errors | requests "
        "| RSS start | RSS end | RSS growth |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for app, measures in results.items():
        for variant, m in measures.items():
            lines.append(
                f"| {app} | {servers_of[app]} | {'with' if variant == 'consent' else 'without'} "
                f"| {m.median('rate'):,.0f} | {m.median('p50_ms'):.1f} | {m.median('p99_ms'):.1f} | {m.errors} "
                f"| {m.requests:,} | {m.rss_start / 1024:.1f} MiB | {m.rss_end / 1024:.1f} MiB | {m.growth:+.1%} |"
            )
    lines += [
        "",
        "| app | throughput with / without (median of rounds) | errors | RSS growth with the middleware |",
        "|---|---:|---:|---:|",
    ]
    for app, measures in results.items():
        consent = measures["consent"]
        r = ratio(measures)
        errors = sum(m.errors for m in measures.values())
        ok_ratio = "met" if r >= MIN_THROUGHPUT_RATIO else "not met"
        ok_errors = "met" if errors == 0 else "not met"
        ok_memory = "met" if consent.growth < MAX_RSS_GROWTH else "not met"
        if consent.requests < 100_000:
            ok_memory = f"{ok_memory}; only {consent.requests:,} requests"
        if len(consent.serving_pids) > 1:
            ok_memory = "not measured: the serving process was replaced"
        lines.append(
            f"| {app} | {r:.2f} (target ≥ {MIN_THROUGHPUT_RATIO:.2f}: {ok_ratio}) | {errors} ({ok_errors}) "
            f"| {consent.growth:+.1%} over {consent.requests:,} requests (target < {MAX_RSS_GROWTH:.0%}: {ok_memory}) |"
        )
    for app, measures in results.items():
        rates = "; ".join(
            f"{'with' if v == 'consent' else 'without'}: " + ", ".join(f"{r.rate:,.0f}" for r in m.rounds)
            for v, m in measures.items()
        )
        lines.append(f"\n{app}, req/s per round — {rates}.")
        memory = "; ".join(
            f"{'with' if v == 'consent' else 'without'}: "
            + ", ".join(f"{kib / 1024:.1f}" for kib in [m.rss_start, *m.rss_rounds])
            for v, m in measures.items()
        )
        lines.append(f"\n{app}, RSS in MiB after the warm-up and after each round — {memory}.")
    lines += [
        "",
        "Interleaved rounds of "
        + f"{options.duration:g} s per variant ("
        + ", ".join(f"{app}: {len(m['consent'].rounds)}" for app, m in results.items())
        + f") after a {options.warmup:g} s warm-up, wrk with 1 thread and {options.connections} connections, "
        + f"{options.mix_size} requests in the mix.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return 1 if any request failed."""
    parser = argparse.ArgumentParser(description="Load the demo apps with and without the consent middleware.")
    parser.add_argument("--quick", action="store_true", help="2 s rounds, 3 of each, 1 s warm-up (for CI)")
    parser.add_argument("--apps", default=",".join(APPS), help="which apps (default: fastapi,flask)")
    parser.add_argument("--rounds", type=int, default=20, help="rounds of each variant at least (default 20)")
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per round (default 2)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of warm-up per server (default 5)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument(
        "--requests", type=int, default=0, help="go on until the middleware server has served this many"
    )
    options = parser.parse_args(argv)
    if options.quick:
        options.rounds, options.duration, options.warmup = 3, 2.0, 1.0
    apps = [a.strip() for a in options.apps.split(",") if a.strip()]
    for app in apps:
        if app not in APPS:
            parser.error(f"unknown app {app!r}; the apps are: {', '.join(APPS)}")
    secret = secrets.token_urlsafe(32)
    results: dict[str, dict[str, Measure]] = {}
    with tempfile.TemporaryDirectory(prefix="cookieconsent-load-") as tmp:
        workdir = Path(tmp)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "COOKIECONSENT_SECRET_KEYS": secret,
            "COOKIECONSENT_STORE": str(workdir / "records.db"),
        }
        mix = visits(secret)
        script = workdir / "mix.lua"
        script.write_text(lua_script(mix))
        options.mix_size = len(mix)
        try:
            for app in apps:
                results[app] = measure_app(
                    app, mix, script, {**env, "COOKIECONSENT_STORE": str(workdir / f"{app}.db")}, workdir, options
                )
        except RuntimeError as exc:
            print(f"load: {exc}", file=sys.stderr)
            return 1
    print(table(results, options))
    return 1 if any(m.errors for r in results.values() for m in r.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
