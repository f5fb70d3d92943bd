"""The SQLite store: the embedded default, one file, no server.

It uses the standard library's :mod:`sqlite3` in write-ahead-log mode, so readers never wait for the
writer, and several processes (the workers of one app server) can share the file: each write takes
the database's write lock up front (``BEGIN IMMEDIATE``) and waits up to ``timeout`` seconds for
another process to finish. Within a process one connection serves every thread, behind a lock.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel
from typing_extensions import override

from cookieconsent.records._sql import Row, SqlStore, Tx, purge_schedule, schema_v2
from cookieconsent.records.errors import StoreError, StoreUnavailableError
from cookieconsent.records.models import format_time

__all__ = ["SqliteStore"]


_SCHEMA_V1 = (
    "CREATE TABLE IF NOT EXISTS cc_records (id TEXT PRIMARY KEY, kind TEXT NOT NULL, device_id TEXT, "
    "consent_id TEXT, at TEXT NOT NULL, body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS cc_records_device ON cc_records (device_id)",
    "CREATE INDEX IF NOT EXISTS cc_records_consent ON cc_records (consent_id)",
    "CREATE INDEX IF NOT EXISTS cc_records_kind_at ON cc_records (kind, at)",
    "CREATE TABLE IF NOT EXISTS cc_consent_records (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
    "consent_id TEXT NOT NULL, at TEXT NOT NULL, prev_hash TEXT NOT NULL, record_hash TEXT NOT NULL, "
    "body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS cc_consent_records_consent ON cc_consent_records (consent_id)",
    "CREATE INDEX IF NOT EXISTS cc_consent_records_at ON cc_consent_records (at)",
    "CREATE TABLE IF NOT EXISTS cc_consent_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, "
    "hash TEXT NOT NULL, record_id TEXT, purged_seq INTEGER NOT NULL, purged_hash TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS cc_rights_requests (id TEXT PRIMARY KEY, reference TEXT NOT NULL UNIQUE, "
    "kind TEXT NOT NULL, device_id TEXT, consent_id TEXT, received_at TEXT NOT NULL, closed_at TEXT, "
    "body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS cc_rights_requests_device ON cc_rights_requests (device_id)",
    "CREATE INDEX IF NOT EXISTS cc_rights_requests_consent ON cc_rights_requests (consent_id)",
    "CREATE TABLE IF NOT EXISTS cc_stopped (subject TEXT PRIMARY KEY, since TEXT NOT NULL)",
)


class _SqliteTx(Tx):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, tuple(params)).rowcount

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._conn.execute(sql, tuple(params)).fetchone()
        return row

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(self._conn.execute(sql, tuple(params)).fetchall())


class SqliteStore(SqlStore):
    """Records in one SQLite file (created with its folder and schema on first use).

    Args:
        path: The database file, e.g. ``instance/records.db`` under the app's instance folder
            (``:memory:`` for a private in-memory store, handy in tests).
        timeout: Seconds to wait for another process's write before giving up with
            :class:`~cookieconsent.records.errors.StoreUnavailableError`.
    """

    _migrations: ClassVar[dict[int, tuple[str, ...]]] = {1: _SCHEMA_V1, 2: schema_v2("TEXT", "TEXT")}
    _version_table: ClassVar[str] = (
        "CREATE TABLE IF NOT EXISTS cc_schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)"
    )
    _additions: ClassVar[tuple[str, ...]] = (purge_schedule("TEXT", "TEXT"),)

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0) -> None:
        self.path = os.fspath(path)
        self.timeout = timeout
        self._lock = threading.RLock()
        self._closed = False
        if self.path != ":memory:":
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the folder of the SQLite store {self.path!r} ({exc.strerror}); "
                    "create it, or choose a writable path"
                ) from exc
        try:
            self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the SQLite store {self.path!r} ({exc}); choose a writable path") from exc
        try:
            self._configure()
            self._migrate()
        except BaseException:
            self._closed = True
            self._conn.close()
            raise

    def __repr__(self) -> str:
        return f"SqliteStore(path={self.path!r})"

    def _configure(self) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        deadline = time.monotonic() + self.timeout
        while True:  # switching to WAL needs a moment alone with the file; another process may be in it
            try:
                mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
                break
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise self._error(exc) from exc
                time.sleep(0.02)
        if mode not in ("wal", "memory"):
            raise StoreError(
                f"the SQLite store {self.path!r} cannot use write-ahead logging (journal mode {mode!r}); keep the "
                "file on a local disk (not a network share), or use PostgreSQL"
            )
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")

    def _error(self, exc: sqlite3.Error) -> StoreError:
        if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
            return StoreUnavailableError(
                f"the SQLite store {self.path!r} stayed locked by another process for more than {self.timeout} s; "
                "retry, or open the store with a longer timeout"
            )
        return StoreError(f"SQLite store {self.path!r}: {exc}")

    @override
    @contextmanager
    def _tx(self, *, write: bool, snapshot: bool = False) -> Iterator[Tx]:
        with self._lock:
            if self._closed:
                raise StoreError(f"{self!r} is closed; open a new store with open_store()")
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
            try:
                yield _SqliteTx(conn)
            except BaseException as exc:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._error(exc) from exc
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise self._error(exc) from exc

    @override
    def _time(self, value: dt.datetime) -> Any:
        return format_time(value)

    @override
    def _uuid(self, value: uuid.UUID) -> Any:
        return str(value)

    @override
    def _json(self, model: BaseModel) -> Any:
        return model.model_dump_json()

    @override
    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    message = str(exc).lower()
    return "locked" in message or "busy" in message
