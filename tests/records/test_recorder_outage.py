"""The recorder through a real PostgreSQL outage: pages keep being served, every record arrives once."""

from __future__ import annotations

import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from cookieconsent.asgi import ConsentMiddleware
from cookieconsent.records import open_store
from cookieconsent.records.recorder import Recorder
from tests.harness import recording_config
from tests.pg import PgCluster


def test_postgres_stopped_mid_burst_loses_and_duplicates_nothing(own_pg_cluster: PgCluster, tmp_path: Path) -> None:
    store = open_store(own_pg_cluster.url(), connect_timeout=2, timeout=2)
    recorder = Recorder(recording_config(), store, spool=tmp_path / "spool.jsonl", interval=0.05, retry_after=0.2)

    async def page(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = ConsentMiddleware(Starlette(routes=[Route("/{path:path}", page)]), recorder.engine.config, recorder=recorder)
    client = TestClient(app, base_url="https://testserver", client=("203.0.113.7", 50000))
    client.post("/_consent", json={"action": "accept_all"})
    pages = []
    for i in range(300):
        if i == 100:
            own_pg_cluster.stop("fast")  # the database goes away in the middle of the burst
        if i == 200:
            recorder.flush()
            assert (tmp_path / "spool.jsonl").exists()  # the outage was real: records waited on disk
            own_pg_cluster.start()
        path = f"/burst/{i}"
        assert client.get(path).status_code == 200  # pages are served throughout
        pages.append(path)
        if i % 25 == 0:
            time.sleep(0.06)  # let the writer run, as it would between requests
    client.post("/_consent", json={"action": "reject_all"})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (recorder._pending or (tmp_path / "spool.jsonl").exists()):
        recorder.flush()
        time.sleep(0.2)
    recorder.close()
    stored = [r.page for r in store.iter_records("visit")]
    assert sorted(stored) == sorted(pages)  # every record, exactly once
    assert [c.mechanism for c in store.consent_chain()] == ["accept_all", "reject_all"]
    assert store.verify_chain() == []
    store.close()
