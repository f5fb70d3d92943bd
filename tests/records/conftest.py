"""Fixtures for the store tests: one `backend_store` over both backends.

Each PostgreSQL test gets its own schema in the session's cluster (``pg_cluster``, see
``tests/pg.py``); each SQLite test its own file.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cookieconsent.records import Store, open_store
from tests.pg import PgCluster


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
def backend_store(target: Target) -> Iterator[Store]:
    """The store at ``target``, on each backend (``store``, in ``tests/conftest.py``, is a SQLite store only)."""
    opened = target.open(timeout=5)
    yield opened
    opened.close()
