"""A throwaway PostgreSQL cluster for the tests (the fixtures are in ``tests/conftest.py``).

The cluster is initialised in a fresh folder owned by the `postgres` user (initdb refuses to run as
root), listens on 127.0.0.1 on a free port with fsync off, and is stopped and removed at the end.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from scripts.local_server import free_port
from tests.harness import require_tool, tool_missing

INITDB = "/usr/lib/postgresql/15/bin/initdb"


class PgCluster:
    """A PostgreSQL cluster of its own: initdb, pg_ctl start/stop, databases, as the `postgres` user."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="cc-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "log"
        self.port = free_port()
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
