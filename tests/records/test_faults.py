"""Fault tests: a database restart in the middle of a burst of writes, and two processes on one file."""

from __future__ import annotations

import datetime as dt
import functools
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from cookieconsent.records import (
    ConsentRecord,
    StoreUnavailableError,
    VisitRecord,
    hash_notice,
    open_store,
)
from tests.pg import PgCluster

REPO = Path(__file__).resolve().parents[2]
NOTICE = hash_notice("notice")


def _consent(consent_id: str) -> ConsentRecord:
    return ConsentRecord(
        consent_id=consent_id,
        policy_version="1",
        policy_fingerprint="0123456789abcdef",
        notice_hash=NOTICE,
        locale="en",
        granted=("analytics",),
        mechanism="accept_all",
    )


def test_postgres_stopped_mid_burst_loses_and_duplicates_nothing(own_pg_cluster: PgCluster) -> None:
    cluster = own_pg_cluster
    records = [VisitRecord(page=f"/p{i}", device_id=f"dev-{i % 7}") for i in range(4000)]
    batches = [records[i : i + 20] for i in range(0, len(records), 20)]
    consents = [_consent(f"consent-{n}") for n in range(len(batches) // 10)]
    halfway = threading.Event()
    failures = [0]
    errors: list[BaseException] = []
    store = open_store(cluster.url(), timeout=1.0, connect_timeout=2)

    def retry(write: Callable[[], object]) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                write()
                return
            except StoreUnavailableError:
                failures[0] += 1
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def writer() -> None:
        try:
            for n, batch in enumerate(batches):
                retry(functools.partial(store.write_batch, batch))
                if n % 10 == 0:
                    retry(functools.partial(store.append_consent, consents[n // 10]))
                if n == len(batches) // 4:
                    halfway.set()
                time.sleep(0.003)  # a steady burst, still running while the server goes down
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            halfway.set()

    thread = threading.Thread(target=writer)
    try:
        thread.start()
        assert halfway.wait(30)
        cluster.stop("fast")
        time.sleep(1.0)  # writes fail meanwhile; the writer keeps retrying
        cluster.start()
        thread.join(90)
        assert not thread.is_alive()
        assert errors == []
        assert failures[0] > 0, "the writer never saw the outage; the test did not test anything"

        assert store.count() == len(records)
        assert sorted(str(r.id) for r in store.iter_records()) == sorted(str(r.id) for r in records)
        chain = list(store.consent_chain())
        assert [c.id for c in chain] == [c.id for c in consents]
        assert [c.seq for c in chain] == list(range(1, len(consents) + 1))
        assert store.verify_chain() == []
    finally:
        store.close()


_WRITER = textwrap.dedent(
    """
    import sys, time, uuid
    from pathlib import Path
    from cookieconsent.records import ConsentRecord, VisitRecord, hash_notice, open_store

    path, tag, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    store = open_store(path)  # both processes may create the schema at once
    while not go.exists():
        time.sleep(0.005)
    namespace = uuid.UUID(int=0)
    for b in range(100):
        batch = [
            VisitRecord(id=uuid.uuid5(namespace, f"{tag}-{b}-{i}"), page="/", device_id=tag) for i in range(20)
        ]
        store.write_batch(batch)
        if b % 5 == 0:
            store.append_consent(ConsentRecord(
                consent_id=f"{tag}-{b}", policy_version="1", policy_fingerprint="f", notice_hash=hash_notice(""),
                locale="en", mechanism="reject_all",
            ))
    store.close()
    """
)


def test_two_processes_share_one_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "instance" / "records.db"
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), tag, str(go)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("proc-a", "proc-b")
    ]
    time.sleep(0.3)
    go.touch()
    results = [proc.communicate(timeout=120) for proc in procs]
    for proc, (_, stderr) in zip(procs, results, strict=True):
        assert proc.returncode == 0, stderr

    with open_store(path) as store:
        assert store.count() == 4000
        namespace = uuid.UUID(int=0)
        for tag in ("proc-a", "proc-b"):
            found = {r.id for r in store.records_for(device_id=tag)}
            assert found == {uuid.uuid5(namespace, f"{tag}-{b}-{i}") for b in range(100) for i in range(20)}
        chain = list(store.consent_chain())
        assert [c.seq for c in chain] == list(range(1, 41))
        assert {c.consent_id.split("-")[1] for c in chain} == {"a", "b"}
        assert store.verify_chain() == []
        assert all(c.at <= dt.datetime.now(dt.UTC) for c in chain)
