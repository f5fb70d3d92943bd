"""What recording costs: on the request path, in the stores, and in memory while the store is down.

- ``callgrind``: instructions per request of the ASGI middleware for a visitor who granted every
  category (so each request is captured), with and without a recorder (its writer idle and the
  captured visits taken away every 50 requests, as the writer would, so only the capture on the
  request path is counted); deterministic.
- ``writes``: sustained batched writes per second of visit records into SQLite (a file) and into
  PostgreSQL (a throwaway cluster started here, as the tests do; needs the Debian package
  ``postgresql``).
- ``memory``: 100,000 captured visits while the store is down: peak Python memory above the start,
  and the size of the spool file they went to.
- ``contended``: the writer flushing captured visits to SQLite alone, and beside a thread that
  runs Python as request threads do: time, and how often the writer waited for the interpreter.
- ``grown``: the writer flushing captured visits into an SQLite store that already holds many,
  with the recorder's time-ordered ids and, for comparison in the same run, random ones (UUID
  version 4): the writer's CPU time, and the writes it makes and the bytes it writes per visit.
- ``cache``: the process's resident memory while the writer stores 100,000 visits in SQLite, with
  SQLite's default page cache (2 MiB) and, for comparison, a 64 KiB one (Linux).

Run: ``python benchmarks/records.py callgrind|writes|memory|contended|grown|cache``. Prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import overhead  # noqa: E402

from cookieconsent.records import StoreUnavailableError, VisitRecord, open_store  # noqa: E402
from cookieconsent.records.recorder import Recorder  # noqa: E402
from cookieconsent.records.sqlite import SqliteStore  # noqa: E402

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36"


def recorder_app() -> Callable[[int], None]:
    """The ``decided`` Starlette case of overhead.py, with an idle recorder attached."""
    recorder = Recorder(overhead.CONFIG, None, interval=3600, max_pending=1_000_000)
    original = overhead.starlette_app

    def app(wrap: str) -> Any:
        from starlette.middleware import Middleware

        from cookieconsent.asgi import ConsentMiddleware

        built = original("bare")
        built.user_middleware = [Middleware(ConsentMiddleware, config=overhead.CONFIG, recorder=recorder)]
        return built

    overhead.starlette_app = app
    try:
        inner = overhead.asgi_runner("consent", "decided")
    finally:
        overhead.starlette_app = original

    def run(n: int) -> None:
        # The writer thread takes captured visits away every 0.2 s; here, every 50 requests, without
        # building them: what is measured is the request path alone.
        for start in range(0, n, 50):
            inner(min(50, n - start))
            recorder._pending.clear()

    return run


CASES: dict[str, Callable[[], Callable[[int], None]]] = {
    "without": lambda: overhead.asgi_runner("consent", "decided"),
    "with": recorder_app,
}


def once(case: str, n: int) -> None:
    run = CASES[case]()
    run(50)
    run(n)


def callgrind(n: int) -> None:
    per = {case: overhead.per_request(case, n, __file__) for case in CASES}
    print(f"Instructions per request, Starlette, a visitor who granted everything ({n} requests)\n")
    print("| middleware | instructions/request | |")
    print("|---|---:|---:|")
    print(f"| cookieconsent | {per['without']:,.0f} | |")
    print(f"| cookieconsent + recorder (capture only) | {per['with']:,.0f} | **×{per['with'] / per['without']:.3f}** |")


def visits(count: int) -> list[VisitRecord]:
    return [
        VisitRecord(
            page=f"/articles/{i % 500}",
            method="GET",
            status=200,
            duration_ms=3.2,
            ip="203.0.113.0/24",
            cookies=("session", "_ga"),
            consent_id="abcdefghijklmnop",
            device_id="device-0123456789",
        )
        for i in range(count)
    ]


def rate(store: Any, records: list[VisitRecord], batch: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(records), batch):
        store.write_batch(records[i : i + batch])
    return len(records) / (time.perf_counter() - start)


def writes(count: int, batch: int) -> None:
    print(f"Sustained writes of visit records, batches of {batch} ({count:,} records per store)\n")
    print("| store | records/s |")
    print("|---|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = open_store(str(Path(tmp) / "records.db"))
        print(f"| SQLite (WAL, one file) | {rate(sqlite, visits(count), batch):,.0f} |", flush=True)
        sqlite.close()
    from tests.pg import pg_cluster_running

    with pg_cluster_running() as cluster:
        postgres = open_store(cluster.url())
        print(f"| PostgreSQL 15 (psycopg 3, pool, fsync off) | {rate(postgres, visits(count), batch):,.0f} |")
        postgres.close()


class DownStore(SqliteStore):
    """A store that is always down."""

    def write_batch(self, records: Any) -> int:
        raise StoreUnavailableError("down for the benchmark")


def captured(i: int) -> Any:
    """A visit as the recorder captures it (every data item allowed), to page ``i``."""
    from cookieconsent.records.recorder import _Visit

    items = frozenset(i.id for i in overhead.POLICY.data_items)
    return _Visit(
        time.time(), items, "abcdefghijklmnop", "device-0123456789", f"/articles/{i}", "GET", 200, 3.2,
        "203.0.113.7", UA, ("session",), "TW", None,
    )  # fmt: skip


def memory(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = DownStore(Path(tmp) / "records.db")
        recorder = Recorder(overhead.CONFIG, store, spool=Path(tmp) / "spool.jsonl", interval=0.05, retry_after=3600)
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        for i in range(count):
            recorder._push("visit", captured(i))
            if i % 1000 == 0:
                time.sleep(0.001)  # let the writer run, as pages would
        recorder.close()
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        size = (Path(tmp) / "spool.jsonl").stat().st_size
        lines = sum(1 for _ in (Path(tmp) / "spool.jsonl").open())
        store.close()
    print(
        f"{count:,} visits captured while the store was down: peak Python memory above the start "
        f"**{peak / 1024 / 1024:.1f} MiB**; all {lines:,} went to the spool ({size / 1024 / 1024:.1f} MiB on disk)."
    )


def _waits() -> int:
    """This thread's voluntary context switches so far (each wait for the interpreter is one)."""
    for line in Path(f"/proc/self/task/{threading.get_native_id()}/status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches"):
            return int(line.split()[1])
    raise RuntimeError("no voluntary_ctxt_switches in /proc")


def _timed_flush(recorder: Recorder, runs: list[tuple[float, int]], done: threading.Event) -> None:
    waits, start = _waits(), time.perf_counter()
    recorder.flush()
    runs.append((time.perf_counter() - start, _waits() - waits))
    done.set()


def contended(count: int, rounds: int) -> None:
    """Flushing ``count`` captured visits to SQLite alone, and while another thread runs Python.

    A request thread is always running Python while the writer flushes; every call of the writer
    that lets other threads run (a database call, ``os.urandom``) then costs it a wait for the
    interpreter, and the request thread a hand-over. Medians of interleaved rounds.
    """
    results: dict[str, list[tuple[float, int]]] = {"alone": [], "beside a busy thread": []}
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "records.db")
        recorder = Recorder(overhead.CONFIG, store, spool=Path(tmp) / "spool.jsonl", interval=3600)
        recorder.start = lambda: None  # type: ignore[method-assign]  # flushed by hand below
        for _ in range(rounds):
            for case, runs in results.items():
                for i in range(count):
                    recorder._push("visit", captured(i))
                done = threading.Event()
                writer = threading.Thread(target=_timed_flush, args=(recorder, runs, done))
                writer.start()
                spins = 0
                while case != "alone" and not done.is_set():
                    spins += 1  # what a request thread does: run Python, never wait
                writer.join()
        store.close()
    print(f"Flushing {count:,} captured visits to SQLite (median of {rounds} interleaved rounds)\n")
    print("| writer | time | waits for the interpreter | per visit |")
    print("|---|---:|---:|---:|")
    for case, runs in results.items():
        seconds = statistics.median(t for t, _ in runs)
        waits = statistics.median(w for _, w in runs)
        print(f"| {case} | {seconds * 1000:,.0f} ms | {waits:,.0f} | {waits / count:.2f} |")


def _io() -> tuple[int, int]:
    """This process's write calls and bytes written so far (``/proc/self/io``)."""
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["syscw"]), int(fields["wchar"])


def grown(rows: int, count: int, rounds: int) -> None:
    """Flushing ``count`` visits into a store of ``rows`` visits, with time-ordered and with random ids.

    Each new record goes into the primary key index of the records table: at its end when ids are
    time-ordered, anywhere in it when they are random, so that every flush then rewrites pages all
    over an index that has outgrown the database's cache. Medians of ``rounds`` flushes per kind
    of id.
    """
    results: dict[str, list[tuple[float, float, float]]] = {"time-ordered (version 7)": [], "random (version 4)": []}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in results:
            store = SqliteStore(Path(tmp) / f"{kind.split()[0]}.db")
            recorder = Recorder(overhead.CONFIG, store, spool=Path(tmp) / "spool.jsonl", interval=3600)
            recorder.start = lambda: None  # type: ignore[method-assign]  # flushed by hand below
            if kind.startswith("random"):
                recorder._record_id = lambda at: uuid.uuid4()  # type: ignore[method-assign]
            for start in range(0, rows, 5_000):
                for i in range(start, min(start + 5_000, rows)):
                    recorder._push("visit", captured(i))
                recorder.flush()
            for _ in range(rounds):
                for i in range(count):
                    recorder._push("visit", captured(i))
                calls, written = _io()
                cpu = time.process_time()
                recorder.flush()
                cpu = time.process_time() - cpu
                after = _io()
                results[kind].append((cpu / count, (after[0] - calls) / count, (after[1] - written) / count))
            store.close()
    print(f"Flushing {count:,} visits into an SQLite store of {rows:,} (median of {rounds} flushes)\n")
    print("| record ids | writer CPU per visit | write calls per visit | bytes written per visit |")
    print("|---|---:|---:|---:|")
    for kind, runs in results.items():
        cpu_each, calls_each, bytes_each = (statistics.median(r[column] for r in runs) for column in range(3))
        print(f"| {kind} | {cpu_each * 1e6:,.0f} µs | {calls_each:.1f} | {bytes_each / 1024:,.1f} KiB |")


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


def cache_once(count: int, cache_kib: int | None) -> None:
    """Store ``count`` visits 1,000 at a time; print the RSS after the first 1,000 and every tenth (JSON)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "records.db")
        recorder = Recorder(overhead.CONFIG, store, spool=Path(tmp) / "spool.jsonl", interval=3600)
        recorder.start = lambda: None  # type: ignore[method-assign]  # flushed by hand below
        if cache_kib is not None:
            with store._tx(write=False) as tx:
                tx.run(f"PRAGMA cache_size = -{cache_kib}")
        sizes = []
        for start in range(0, count, 1_000):
            for i in range(start, start + 1_000):
                recorder._push("visit", captured(i))
            recorder.flush()
            if start == 0 or (start + 1_000) % (count // 10) == 0:
                sizes.append(round(_rss_mib(), 1))
        store.close()
    print(json.dumps(sizes))


def cache(count: int) -> None:
    """Resident memory while storing ``count`` visits, with SQLite's default page cache and a small one."""
    print(f"Resident memory (MiB) of a process storing {count:,} visits in SQLite, after so many of them\n")
    print("| SQLite page cache | 1,000 | " + " | ".join(f"{(i + 1) * count // 10:,}" for i in range(10)) + " |")
    print("|---|" + "---:|" * 11)
    for label, kib in (("default (2 MiB)", None), ("64 KiB", 64)):
        command = [sys.executable, __file__, "cache-once", str(count), str(kib or 0)]
        sizes = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        print(f"| {label} | " + " | ".join(f"{size:.1f}" for size in sizes) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    overhead.callgrind_modes(sub, CASES, requests=1000)
    w = sub.add_parser("writes")
    w.add_argument("--records", type=int, default=20_000)
    w.add_argument("--batch", type=int, default=500)
    m = sub.add_parser("memory")
    m.add_argument("--records", type=int, default=100_000)
    c = sub.add_parser("contended")
    c.add_argument("--records", type=int, default=2_000)
    c.add_argument("--rounds", type=int, default=5)
    g = sub.add_parser("grown")
    g.add_argument("--rows", type=int, default=200_000)
    g.add_argument("--records", type=int, default=2_000)
    g.add_argument("--rounds", type=int, default=5)
    k = sub.add_parser("cache")
    k.add_argument("--records", type=int, default=100_000)
    o = sub.add_parser("cache-once", help="one row of `cache` (JSON)")
    o.add_argument("records", type=int)
    o.add_argument("cache_kib", type=int, help="0: SQLite's default")
    args = parser.parse_args()
    if args.mode == "callgrind":
        callgrind(args.requests)
    elif args.mode == "writes":
        writes(args.records, args.batch)
    elif args.mode == "memory":
        memory(args.records)
    elif args.mode == "contended":
        contended(args.records, args.rounds)
    elif args.mode == "grown":
        grown(args.rows, args.records, args.rounds)
    elif args.mode == "cache":
        cache(args.records)
    elif args.mode == "cache-once":
        cache_once(args.records, args.cache_kib or None)
    else:
        once(args.case, args.n)


if __name__ == "__main__":
    main()
