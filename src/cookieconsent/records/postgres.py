"""The PostgreSQL store: for several app processes or hosts sharing one database.

It uses psycopg 3 with a connection pool (``pip install "cookieconsent[postgres]"``). Pooled
connections are checked before use, so after a database restart the pool reconnects by itself; a
call made while the database is down raises
:class:`~cookieconsent.records.errors.StoreUnavailableError`, and retrying it later is safe. Consent
appends lock the chain-head row (``SELECT … FOR UPDATE``), so appends from every host form one chain.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel
from typing_extensions import override

from cookieconsent.records._sql import Row, SqlStore, Tx, purge_schedule, schema_v2
from cookieconsent.records.errors import MissingDependencyError, StoreError, StoreUnavailableError
from cookieconsent.records.store import redact_url

if TYPE_CHECKING:
    import psycopg
    import psycopg_pool

__all__ = ["PostgresStore"]

#: Advisory lock key serialising schema creation and migrations between processes.
_SCHEMA_LOCK = 0x63634D6967  # "ccMig"
#: Advisory lock key serialising the filing of rights requests (a duplicate is looked for first).
_RIGHTS_LOCK = 0x6363526967  # "ccRig"

_SCHEMA_V1 = (
    "CREATE TABLE IF NOT EXISTS cc_records (id uuid PRIMARY KEY, kind text NOT NULL, device_id text, "
    "consent_id text, at timestamptz NOT NULL, body jsonb NOT NULL)",
    "CREATE INDEX IF NOT EXISTS cc_records_device ON cc_records (device_id)",
    "CREATE INDEX IF NOT EXISTS cc_records_consent ON cc_records (consent_id)",
    "CREATE INDEX IF NOT EXISTS cc_records_kind_at ON cc_records (kind, at)",
    # The body is the exact text that was hashed, so it is text, not jsonb (which reorders keys).
    "CREATE TABLE IF NOT EXISTS cc_consent_records (seq bigint PRIMARY KEY, id uuid NOT NULL UNIQUE, "
    "consent_id text NOT NULL, at timestamptz NOT NULL, prev_hash text NOT NULL, record_hash text NOT NULL, "
    "body text NOT NULL)",
    "CREATE INDEX IF NOT EXISTS cc_consent_records_consent ON cc_consent_records (consent_id)",
    "CREATE INDEX IF NOT EXISTS cc_consent_records_at ON cc_consent_records (at)",
    "CREATE TABLE IF NOT EXISTS cc_consent_head (id smallint PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL, "
    "hash text NOT NULL, record_id uuid, purged_seq bigint NOT NULL, purged_hash text NOT NULL)",
    "CREATE TABLE IF NOT EXISTS cc_rights_requests (id uuid PRIMARY KEY, reference text NOT NULL UNIQUE, "
    "kind text NOT NULL, device_id text, consent_id text, received_at timestamptz NOT NULL, "
    "closed_at timestamptz, body jsonb NOT NULL)",
    "CREATE INDEX IF NOT EXISTS cc_rights_requests_device ON cc_rights_requests (device_id)",
    "CREATE INDEX IF NOT EXISTS cc_rights_requests_consent ON cc_rights_requests (consent_id)",
    "CREATE TABLE IF NOT EXISTS cc_stopped (subject text PRIMARY KEY, since timestamptz NOT NULL)",
)


def _import_psycopg() -> tuple[Any, Any]:
    try:
        import psycopg
        import psycopg_pool
    except ImportError as exc:
        raise MissingDependencyError(
            "the PostgreSQL store needs psycopg 3 and psycopg-pool; "
            'install them with pip install "cookieconsent[postgres]"'
        ) from exc
    return psycopg, psycopg_pool


def _pg(sql: str) -> str:
    return sql.replace("?", "%s")


class _PgTx(Tx):
    def __init__(self, cur: psycopg.Cursor[Row]) -> None:
        self._cur = cur

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._cur.execute(_pg(sql), params)
        return self._cur.rowcount

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        self._cur.execute(_pg(sql), params)
        return self._cur.fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self._cur.execute(_pg(sql), params)
        return self._cur.fetchall()


class PostgresStore(SqlStore):
    """Records in a PostgreSQL database (tables prefixed ``cc_``, created on first use).

    Args:
        url: ``postgresql://user:password@host:5432/dbname`` (or a libpq ``key=value`` string).
        min_size: Connections the pool keeps open.
        max_size: Most connections the pool opens.
        timeout: Seconds to wait for a connection before raising
            :class:`~cookieconsent.records.errors.StoreUnavailableError`.
        connect_timeout: Seconds one connection attempt may take.
    """

    _for_update: ClassVar[str] = " FOR UPDATE"
    _migrations: ClassVar[dict[int, tuple[str, ...]]] = {1: _SCHEMA_V1, 2: schema_v2("text", "timestamptz")}
    _version_table: ClassVar[str] = (
        "CREATE TABLE IF NOT EXISTS cc_schema_version (version integer NOT NULL, applied_at timestamptz NOT NULL)"
    )
    _additions: ClassVar[tuple[str, ...]] = (purge_schedule("text", "timestamptz"),)

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 10.0,
        connect_timeout: int = 5,
    ) -> None:
        psycopg_mod, pool_mod = _import_psycopg()
        self._psycopg = psycopg_mod
        self._url = url
        self.timeout = timeout
        self._closed = False
        self._pool: psycopg_pool.ConnectionPool[psycopg.Connection[Row]] = pool_mod.ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            open=False,
            timeout=timeout,
            name="cookieconsent",
            kwargs={"connect_timeout": connect_timeout, "application_name": "cookieconsent"},
            check=pool_mod.ConnectionPool.check_connection,
        )
        try:
            try:
                self._pool.open(wait=True, timeout=timeout)
            except pool_mod.PoolTimeout:
                raise self._connect_failure() from None
            self._migrate()
        except BaseException:
            self._closed = True
            self._pool.close()
            raise

    def __repr__(self) -> str:
        return f"PostgresStore(url={self.url!r})"

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return redact_url(self._url)

    def _connect_failure(self) -> StoreError:
        """Say why the pool could not connect, by trying one connection directly."""
        try:
            self._psycopg.connect(self._url, connect_timeout=min(5, max(1, int(self.timeout)))).close()
        except self._psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return StoreUnavailableError(
                f"cannot connect to PostgreSQL at {self.url} ({reason}); check the URL, that the server is "
                "running and that the user may log in to that database"
            )
        except self._psycopg.Error as exc:
            return StoreError(f"cannot use the PostgreSQL URL {self.url} ({exc}); write postgresql://user@host/dbname")
        return StoreUnavailableError(f"no PostgreSQL connection became free at {self.url} within {self.timeout} s")

    @override
    @contextmanager
    def _tx(self, *, write: bool, snapshot: bool = False) -> Iterator[Tx]:
        if self._closed:
            raise StoreError(f"{self!r} is closed; open a new store with open_store()")
        psycopg_mod = self._psycopg
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                if snapshot:
                    cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield _PgTx(cur)
        except (psycopg_mod.OperationalError, psycopg_mod.InterfaceError) as exc:
            raise StoreUnavailableError(
                f"PostgreSQL at {self.url} is unavailable ({_first_line(exc)}); nothing was half-written, retry later"
            ) from exc
        except psycopg_mod.Error as exc:
            raise StoreError(f"PostgreSQL at {self.url}: {_first_line(exc)}") from exc

    @override
    def _lock_schema(self, tx: Tx) -> None:
        tx.run("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))

    @override
    def _lock_rights(self, tx: Tx) -> None:
        tx.run("SELECT pg_advisory_xact_lock(?)", (_RIGHTS_LOCK,))

    @override
    def _time(self, value: dt.datetime) -> Any:
        return value

    @override
    def _uuid(self, value: uuid.UUID) -> Any:
        return value

    @override
    def _json(self, model: BaseModel) -> Any:
        return model.model_dump_json()

    @override
    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
