"""Fixtures for the store tests: a throwaway PostgreSQL cluster, and one `store` over both backends.

The cluster is initialised in a fresh folder owned by the `postgres` user (initdb refuses to run as
root), listens on 127.0.0.1 on a free port with fsync off, and is stopped and removed at the end.
Each PostgreSQL test gets its own schema; each SQLite test its own file.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cookieconsent.records import Store, open_store
from tests.conftest import require_tool, tool_missing

INITDB = "/usr/lib/postgresql/15/bin/initdb"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PgCluster:
    """A PostgreSQL cluster of its own: initdb, pg_ctl start/stop, databases, as the `postgres` user."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="cc-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "log"
        self.port = _free_port()
        if self.as_root:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        result = subprocess.run(
            [*prefix, *args], cwd=self.root, capture_output=True, text=True, timeout=60, check=False
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}\n{log}")

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            *("-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"),
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, schema: str | None = None, password: str | None = None) -> str:
        """A URL for the `postgres` database, working in ``schema`` if given (via ``search_path``)."""
        auth = "postgres" if password is None else f"postgres:{password}"
        options = f"?options=-csearch_path%3D{schema}" if schema else ""
        return f"postgresql://{auth}@127.0.0.1:{self.port}/postgres{options}"

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.encode())

    def create_schema(self) -> str:
        """A fresh, empty schema (CREATE DATABASE takes a second on a slow disk; this takes ~10 ms)."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        self.execute(f"CREATE SCHEMA {name}")
        return name

    def drop_schema(self, name: str) -> None:
        self.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")

    def remove(self) -> None:
        """Stop the server if it runs, and delete the cluster's folder."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.stop("fast")
        shutil.rmtree(self.root, ignore_errors=True)


def _new_cluster() -> PgCluster:
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
    except BaseException:
        cluster.remove()
        raise
    return cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway cluster for the whole session (tests that stop a server start their own)."""
    cluster = _new_cluster()
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def own_pg_cluster() -> Iterator[PgCluster]:
    """A cluster for one test alone, for tests that stop and start the server."""
    cluster = _new_cluster()
    try:
        yield cluster
    finally:
        cluster.remove()


@dataclass
class Target:
    """Where a test's store lives: open it (again), or reach behind it with raw SQL."""

    kind: str
    location: str

    def open(self, **options: Any) -> Store:
        return open_store(self.location, **options)

    def sql(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run raw SQL (``?`` placeholders) on the database, bypassing the store; return any rows."""
        if self.kind == "sqlite":
            with contextlib.closing(sqlite3.connect(self.location)) as lite, lite:
                return lite.execute(statement, tuple(params)).fetchall()
        import psycopg

        with psycopg.connect(self.location, autocommit=True) as conn:
            cur = conn.execute(statement.replace("?", "%s").encode(), tuple(params))
            return cur.fetchall() if cur.description else []


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "sqlite":
        yield Target("sqlite", str(tmp_path / "instance" / "records.db"))
        return
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    schema = cluster.create_schema()
    yield Target("postgres", cluster.url(schema))
    cluster.drop_schema(schema)


@pytest.fixture
def store(target: Target) -> Iterator[Store]:
    opened = target.open(timeout=5)
    yield opened
    opened.close()
