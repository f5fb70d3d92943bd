"""The store logic both SQL backends share; each backend supplies transactions and value encodings.

Statements are written once, with ``?`` placeholders (the PostgreSQL backend turns them into
``%s``), in the SQL that SQLite and PostgreSQL both accept (``ON CONFLICT … DO NOTHING``,
``LIMIT``). Tables carry a ``cc_`` prefix so the store can share a database with the application.
"""

from __future__ import annotations

import abc
import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, suppress
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel
from typing_extensions import override

from cookieconsent.records.errors import StoreError
from cookieconsent.records.models import (
    GENESIS_HASH,
    ConsentRecord,
    EventRecord,
    RecordKind,
    RightsRequest,
    VisitRecord,
    parse_record,
    seal,
)
from cookieconsent.records.store import (
    SCHEMA_VERSION,
    ChainHead,
    ChainProblem,
    ChainRow,
    DeleteCounts,
    PurgeCounts,
    PurgeRun,
    Stopped,
    Store,
    _check_page,
    _check_period,
    check_chain,
)

if TYPE_CHECKING:
    from cookieconsent.policy.model import Retention

Row = tuple[Any, ...]

_PAGE = 500
#: Values per ``IN (…)`` list: a power of two within the 999 parameters an older SQLite allows.
_IN_CHUNK = 512
#: Rows per INSERT of visit and event records: 6 values each, a power of two within those 999.
_ROWS_PER_INSERT = 128


def _slices(items: Sequence[Any], largest: int) -> Iterator[Sequence[Any]]:
    """``items`` in slices of ``largest`` (a power of two), the rest in slices of smaller powers of two.

    A statement of many values is prepared once per shape and kept (SQLite's statement cache,
    PostgreSQL's prepared statements): slices of any length would leave a long-running writer with
    a hundred shapes of a thousand parameters each, megabytes of prepared statements. These slices
    come in at most ``log2(largest) + 1`` shapes.
    """
    start, total = 0, len(items)
    while start < total:
        size = min(largest, 1 << ((total - start).bit_length() - 1))
        yield items[start : start + size]
        start += size


@lru_cache(maxsize=_ROWS_PER_INSERT.bit_length())
def _insert_records(rows: int) -> str:
    """One INSERT of ``rows`` records (a whole batch in a few statements, not one per record)."""
    values = ", ".join([f"({_placeholders(6)})"] * rows)
    columns = "id, kind, device_id, consent_id, at, body"
    return f"INSERT INTO cc_records ({columns}) VALUES {values} ON CONFLICT (id) DO NOTHING"


@lru_cache(maxsize=_IN_CHUNK.bit_length())
def _select_stopped(subjects: int) -> str:
    """The stop flags, of every kind, on ``subjects`` ids."""
    return f"SELECT subject, kind FROM cc_stopped WHERE subject IN ({_placeholders(subjects)})"


#: The kinds of stop flag: on a device id, on a consent id, or (written before schema version 2, or
#: by ``set_stop(subject)``) on an id of either kind.
_DEVICE, _CONSENT, _EITHER = "device", "consent", "any"
_STOPS_DEVICES = (_DEVICE, _EITHER)
_STOPS_CONSENTS = (_CONSENT, _EITHER)


def schema_v2(text: str, time: str) -> tuple[str, ...]:
    """Schema version 2, in a backend's types: stop flags per id and kind, records indexed by id and time.

    Every flag already there was set on an id without saying which kind it is: it becomes a flag on
    either kind, so it keeps stopping what it stopped before.
    """
    return (
        f"CREATE TABLE cc_stopped_v2 (subject {text} NOT NULL, kind {text} NOT NULL "
        f"CHECK (kind IN ('{_DEVICE}', '{_CONSENT}', '{_EITHER}')), since {time} NOT NULL, "
        "PRIMARY KEY (subject, kind))",
        f"INSERT INTO cc_stopped_v2 (subject, kind, since) SELECT subject, '{_EITHER}', since FROM cc_stopped",
        "DROP TABLE cc_stopped",
        "ALTER TABLE cc_stopped_v2 RENAME TO cc_stopped",
        # A visitor's records by id and time: the privacy centre reads them a page at a time, in order.
        "DROP INDEX IF EXISTS cc_records_device",
        "DROP INDEX IF EXISTS cc_records_consent",
        "CREATE INDEX IF NOT EXISTS cc_records_device_at ON cc_records (device_id, at, id)",
        "CREATE INDEX IF NOT EXISTS cc_records_consent_at ON cc_records (consent_id, at, id)",
    )


def purge_schedule(text: str, time: str) -> str:
    """The table of the scheduled purge, in a backend's types: one row, the time and worker of the last purge.

    It is created at every open (``IF NOT EXISTS``) rather than by a schema version: a store without
    it keeps working, and a cookieconsent that predates it can still open a store that has it.
    """
    return (
        "CREATE TABLE IF NOT EXISTS cc_purge_schedule (id INTEGER PRIMARY KEY CHECK (id = 1), "
        f"purged_at {time}, purged_by {text})"
    )


_HEAD = "SELECT seq, hash, record_id, purged_seq, purged_hash FROM cc_consent_head WHERE id = 1"
_CHAIN_COLUMNS = "seq, id, consent_id, prev_hash, record_hash, body"


class Tx(abc.ABC):
    """One open transaction: run statements, read rows."""

    @abc.abstractmethod
    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it changed."""

    @abc.abstractmethod
    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or None."""

    @abc.abstractmethod
    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query."""


def _aware(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} needs a time zone; pass datetime.now(timezone.utc)")
    return value.astimezone(dt.UTC)


def _read_time(value: Any) -> dt.datetime:
    """A time as a backend returns it (an aware datetime, or the text ``format_time`` wrote), in UTC."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    return dt.datetime.fromisoformat(str(value)).astimezone(dt.UTC)


def _subject_filter(device_id: str | None, consent_id: str | None) -> tuple[str, list[str]]:
    clauses: list[str] = []
    params: list[str] = []
    if device_id is not None:
        clauses.append("device_id = ?")
        params.append(device_id)
    if consent_id is not None:
        clauses.append("consent_id = ?")
        params.append(consent_id)
    if not clauses:
        raise ValueError(
            "give device_id or consent_id (or both): a store never reads or deletes everyone's records at once"
        )
    return "(" + " OR ".join(clauses) + ")", params


def _placeholders(n: int) -> str:
    return ", ".join("?" * n)


class SqlStore(Store):
    """A :class:`~cookieconsent.records.store.Store` over SQL; subclasses connect and encode values."""

    #: Appended to the chain-head query to lock the row until the transaction ends.
    _for_update: ClassVar[str] = ""
    #: DDL of each schema version, applied in order on first use.
    _migrations: ClassVar[dict[int, tuple[str, ...]]] = {}
    _version_table: ClassVar[str] = ""
    #: DDL run at every open, after the migrations: tables added without a schema version.
    _additions: ClassVar[tuple[str, ...]] = ()

    # -- what a backend provides -----------------------------------------------------------------

    @abc.abstractmethod
    def _tx(self, *, write: bool, snapshot: bool = False) -> AbstractContextManager[Tx]:
        """Open a transaction, committed when the block ends without an exception.

        ``write`` takes the write lock up front (SQLite ``BEGIN IMMEDIATE``); ``snapshot`` makes every
        statement read from one snapshot.
        """

    @abc.abstractmethod
    def _time(self, value: dt.datetime) -> Any:
        """A datetime as the database stores it."""

    @abc.abstractmethod
    def _uuid(self, value: uuid.UUID) -> Any:
        """A UUID as the database stores it."""

    @abc.abstractmethod
    def _json(self, model: BaseModel) -> Any:
        """A model as the database stores a JSON body."""

    def _lock_schema(self, tx: Tx) -> None:
        """Serialise schema creation between processes (SQLite's write lock already does)."""

    def _lock_rights(self, tx: Tx) -> None:
        """Serialise filing rights requests, so two at once cannot both miss each other (SQLite's write lock does)."""

    # -- schema ----------------------------------------------------------------------------------

    def _migrate(self) -> None:
        with self._tx(write=True) as tx:
            self._lock_schema(tx)
            tx.run(self._version_table)
            row = tx.one("SELECT max(version) FROM cc_schema_version")
            version = int(row[0]) if row is not None and row[0] is not None else 0
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self!r} has schema version {version}, written by a newer cookieconsent (this one knows up "
                    f"to {SCHEMA_VERSION}); upgrade cookieconsent, or point it at another database"
                )
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in self._migrations[step]:
                    tx.run(statement)
                if step == 1:
                    tx.run(
                        "INSERT INTO cc_consent_head (id, seq, hash, record_id, purged_seq, purged_hash) "
                        "VALUES (1, 0, ?, NULL, 0, ?) ON CONFLICT (id) DO NOTHING",
                        (GENESIS_HASH, GENESIS_HASH),
                    )
                tx.run(
                    "INSERT INTO cc_schema_version (version, applied_at) VALUES (?, ?)",
                    (step, self._time(dt.datetime.now(dt.UTC))),
                )
            for statement in self._additions:
                tx.run(statement)

    @override
    def schema_version(self) -> int:
        with self._tx(write=False) as tx:
            row = tx.one("SELECT max(version) FROM cc_schema_version")
        return int(row[0]) if row is not None and row[0] is not None else 0

    # -- visit and event records -----------------------------------------------------------------

    @override
    def write_batch(self, records: Iterable[VisitRecord | EventRecord]) -> int:
        batch = list(records)
        for record in batch:
            if not isinstance(record, VisitRecord | EventRecord):
                raise TypeError(
                    f"write_batch takes VisitRecord and EventRecord objects, not {type(record).__name__}; "
                    "consent records go to append_consent, which chains them"
                )
        if not batch:
            return 0
        devices = {r.device_id for r in batch if r.device_id}
        consents = {r.consent_id for r in batch if r.consent_id}
        with self._tx(write=True) as tx:
            stopped = self._stopped_among(tx, devices, consents)
            rows = [
                (self._uuid(r.id), r.kind, r.device_id, r.consent_id, self._time(r.at), self._json(r))
                for r in batch
                if not stopped.covers(r.device_id, r.consent_id)
            ]
            # A few statements of many rows: each statement is one call into the database, which
            # lets other threads run meanwhile and must then win the interpreter back; one call per
            # row made the request threads hand it over hundreds of times per batch.
            written = 0
            for chunk in _slices(rows, _ROWS_PER_INSERT):
                written += tx.run(_insert_records(len(chunk)), [value for row in chunk for value in row])
            return written

    @override
    def records_for(
        self, *, device_id: str | None = None, consent_id: str | None = None
    ) -> list[VisitRecord | EventRecord]:
        where, params = _subject_filter(device_id, consent_id)
        with self._tx(write=False) as tx:
            rows = tx.all(f"SELECT body FROM cc_records WHERE {where} ORDER BY at, id", params)
        return [parse_record(row[0]) for row in rows]

    @override
    def count_for(self, *, device_id: str | None = None, consent_id: str | None = None) -> dict[str, int]:
        where, params = _subject_filter(device_id, consent_id)
        with self._tx(write=False) as tx:
            rows = tx.all(f"SELECT kind, count(*) FROM cc_records WHERE {where} GROUP BY kind", params)
        return {str(kind): int(n) for kind, n in rows}

    @override
    def records_page(
        self, *, device_id: str | None = None, consent_id: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[VisitRecord | EventRecord]:
        where, params = _subject_filter(device_id, consent_id)
        _check_page(limit, offset)
        with self._tx(write=False) as tx:
            rows = tx.all(
                f"SELECT body FROM cc_records WHERE {where} ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
        return [parse_record(row[0]) for row in rows]

    @override
    def record_batches(
        self, *, device_id: str | None = None, consent_id: str | None = None, size: int = _PAGE
    ) -> Iterator[list[VisitRecord | EventRecord]]:
        where, params = _subject_filter(device_id, consent_id)
        _check_page(size, 0, least=1)
        after: list[Any] = []
        while True:
            # Keyset paging: each batch starts after the last one read, so each costs the same
            # however far into the history it is.
            clause = where + (" AND (at > ? OR (at = ? AND id > ?))" if after else "")
            with self._tx(write=False) as tx:
                rows = tx.all(
                    f"SELECT at, id, body FROM cc_records WHERE {clause} ORDER BY at, id LIMIT ?",
                    [*params, *after, size],
                )
            if len(rows) == size:
                after = [rows[-1][0], rows[-1][0], rows[-1][1]]
            full = len(rows) == size
            batch = [parse_record(row[2]) for row in rows]
            del rows  # only one batch at a time is held
            if batch:
                yield batch  # outside the transaction: nothing is held between batches
            del batch
            if not full:
                return

    @override
    def delete_for(self, *, device_id: str | None = None, consent_id: str | None = None) -> DeleteCounts:
        where, params = _subject_filter(device_id, consent_id)
        with self._tx(write=True) as tx:
            visits = tx.run(f"DELETE FROM cc_records WHERE kind = 'visit' AND {where}", params)
            events = tx.run(f"DELETE FROM cc_records WHERE kind <> 'visit' AND {where}", params)
        return DeleteCounts(visits=visits, events=events)

    @override
    def iter_records(self, kind: RecordKind | None = None) -> Iterator[VisitRecord | EventRecord]:
        last: Any = None
        while True:
            clauses, params = [], []
            if kind is not None:
                clauses.append("kind = ?")
                params.append(kind)
            if last is not None:
                clauses.append("id > ?")
                params.append(last)
            where = " WHERE " + " AND ".join(clauses) if clauses else ""
            with self._tx(write=False) as tx:
                rows = tx.all(f"SELECT id, body FROM cc_records{where} ORDER BY id LIMIT ?", [*params, _PAGE])
            for row in rows:
                yield parse_record(row[1])
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]

    @override
    def count(self, kind: RecordKind | None = None) -> int:
        with self._tx(write=False) as tx:
            if kind is None:
                row = tx.one("SELECT count(*) FROM cc_records")
            else:
                row = tx.one("SELECT count(*) FROM cc_records WHERE kind = ?", (kind,))
        return int(row[0]) if row is not None else 0

    # -- proof of consent ------------------------------------------------------------------------

    def _head(self, tx: Tx, *, lock: bool) -> ChainHead:
        row = tx.one(_HEAD + (self._for_update if lock else ""))
        if row is None:
            raise StoreError(
                "the consent chain head (table cc_consent_head, id 1) is missing: the database was changed "
                "outside cookieconsent; restore it from a backup"
            )
        seq, hash_, record_id, purged_seq, purged_hash = row
        rid = None if record_id is None else uuid.UUID(str(record_id))
        return ChainHead(int(seq), str(hash_), rid, int(purged_seq), str(purged_hash))

    @staticmethod
    def _load_consent(body: str, record_hash: str) -> ConsentRecord:
        return ConsentRecord.model_validate({**json.loads(body), "record_hash": record_hash})

    @override
    def append_consent(self, record: ConsentRecord) -> ConsentRecord:
        if not isinstance(record, ConsentRecord):
            raise TypeError(f"append_consent takes a ConsentRecord, not {type(record).__name__}")
        with self._tx(write=True) as tx:
            head = self._head(tx, lock=True)
            found = tx.one("SELECT body, record_hash FROM cc_consent_records WHERE id = ?", (self._uuid(record.id),))
            if found is not None:
                return self._load_consent(found[0], found[1])
            sealed = seal(record, seq=head.seq + 1, prev_id=head.record_id, prev_hash=head.hash)
            tx.run(
                "INSERT INTO cc_consent_records (seq, id, consent_id, prev_hash, record_hash, at, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    sealed.seq,
                    self._uuid(sealed.id),
                    sealed.consent_id,
                    sealed.prev_hash,
                    sealed.record_hash,
                    self._time(sealed.at),
                    sealed.canonical_json().decode("utf-8"),
                ),
            )
            tx.run(
                "UPDATE cc_consent_head SET seq = ?, hash = ?, record_id = ? WHERE id = 1",
                (sealed.seq, sealed.record_hash, self._uuid(sealed.id)),
            )
        return sealed

    @override
    def consents_for(self, consent_id: str) -> list[ConsentRecord]:
        with self._tx(write=False) as tx:
            rows = tx.all(
                "SELECT body, record_hash FROM cc_consent_records WHERE consent_id = ? ORDER BY seq", (consent_id,)
            )
        return [self._load_consent(body, record_hash) for body, record_hash in rows]

    @override
    def consent_batches(self, consent_id: str, *, size: int = _PAGE) -> Iterator[list[ConsentRecord]]:
        _check_page(size, 0, least=1)
        last = -1
        while True:
            with self._tx(write=False) as tx:
                rows = tx.all(
                    "SELECT seq, body, record_hash FROM cc_consent_records WHERE consent_id = ? AND seq > ? "
                    "ORDER BY seq LIMIT ?",
                    (consent_id, last, size),
                )
            if rows:
                yield [self._load_consent(body, record_hash) for _, body, record_hash in rows]
            if len(rows) < size:
                return
            last = int(rows[-1][0])

    @override
    def latest_consents(self, consent_id: str, limit: int) -> list[ConsentRecord]:
        _check_page(limit, 0)
        with self._tx(write=False) as tx:
            rows = tx.all(
                "SELECT body, record_hash FROM cc_consent_records WHERE consent_id = ? ORDER BY seq DESC LIMIT ?",
                (consent_id, limit),
            )
        return [self._load_consent(body, record_hash) for body, record_hash in rows]

    @override
    def knows(self, *, device_id: str | None = None, consent_id: str | None = None) -> bool:
        probes: list[tuple[str, str]] = []
        if device_id:
            probes += [
                ("SELECT 1 FROM cc_records WHERE device_id = ? LIMIT 1", device_id),
                ("SELECT 1 FROM cc_rights_requests WHERE device_id = ? LIMIT 1", device_id),
            ]
        if consent_id:
            probes += [
                ("SELECT 1 FROM cc_records WHERE consent_id = ? LIMIT 1", consent_id),
                ("SELECT 1 FROM cc_consent_records WHERE consent_id = ? LIMIT 1", consent_id),
                ("SELECT 1 FROM cc_rights_requests WHERE consent_id = ? LIMIT 1", consent_id),
            ]
        if not probes:
            return False
        with self._tx(write=False) as tx:
            return any(tx.one(sql, (value,)) is not None for sql, value in probes)

    def _chain_rows(self, tx: Tx) -> Iterator[ChainRow]:
        last = -1
        while True:
            rows = tx.all(
                f"SELECT {_CHAIN_COLUMNS} FROM cc_consent_records WHERE seq > ? ORDER BY seq LIMIT ?", (last, _PAGE)
            )
            for seq, rid, consent_id, prev_hash, record_hash, body in rows:
                yield int(seq), str(rid), str(consent_id), str(prev_hash), str(record_hash), str(body)
            if len(rows) < _PAGE:
                return
            last = int(rows[-1][0])

    @override
    def consent_chain(self) -> Iterator[ConsentRecord]:
        last = -1
        while True:
            with self._tx(write=False) as tx:
                rows = tx.all(
                    "SELECT seq, body, record_hash FROM cc_consent_records WHERE seq > ? ORDER BY seq LIMIT ?",
                    (last, _PAGE),
                )
            for _, body, record_hash in rows:
                yield self._load_consent(body, record_hash)
            if len(rows) < _PAGE:
                return
            last = int(rows[-1][0])

    @override
    def chain_head(self) -> ChainHead:
        with self._tx(write=False) as tx:
            return self._head(tx, lock=False)

    @override
    def verify_chain(self) -> list[ChainProblem]:
        with self._tx(write=False, snapshot=True) as tx:
            head = self._head(tx, lock=False)
            return check_chain(self._chain_rows(tx), head)

    # -- retention -------------------------------------------------------------------------------

    @override
    def purge(self, now: dt.datetime, retention: Retention) -> PurgeCounts:
        now = _aware(now, "purge(now=…)")
        with self._tx(write=True) as tx:
            return self._purge(tx, now, retention)

    @override
    def purge_if_due(
        self, now: dt.datetime, retention: Retention, *, every: dt.timedelta, worker: str = ""
    ) -> PurgeRun:
        now = _aware(now, "purge_if_due(now=…)")
        _check_period(every)
        with self._tx(write=True) as tx:
            tx.run("INSERT INTO cc_purge_schedule (id) VALUES (1) ON CONFLICT (id) DO NOTHING")
            # Compare-and-set: of workers that run this at once, the first takes the row (PostgreSQL
            # makes the others wait for its commit, then re-reads the row; SQLite's write lock
            # serialises them), and the condition no longer holds for the others.
            claimed = tx.run(
                "UPDATE cc_purge_schedule SET purged_at = ?, purged_by = ? "
                "WHERE id = 1 AND (purged_at IS NULL OR purged_at <= ?)",
                (self._time(now), worker, self._time(now - every)),
            )
            if claimed:
                return PurgeRun(self._purge(tx, now, retention), now, worker)
            row = tx.one("SELECT purged_at, purged_by FROM cc_purge_schedule WHERE id = 1")
        if row is None or row[0] is None:
            return PurgeRun(None)
        return PurgeRun(None, _read_time(row[0]), None if row[1] is None else str(row[1]))

    def _purge(self, tx: Tx, now: dt.datetime, retention: Retention) -> PurgeCounts:
        def cutoff(days: int) -> Any:
            return self._time(now - dt.timedelta(days=days))

        visits = tx.run(
            "DELETE FROM cc_records WHERE kind = 'visit' AND at < ?", (cutoff(retention.visit_records_days),)
        )
        events = tx.run(
            "DELETE FROM cc_records WHERE kind <> 'visit' AND at < ?", (cutoff(retention.event_records_days),)
        )
        rights = tx.run(
            "DELETE FROM cc_rights_requests WHERE closed_at IS NOT NULL AND closed_at < ?",
            (cutoff(retention.rights_requests_days),),
        )
        consents = self._purge_consents(tx, cutoff(retention.consent_records_days))
        return PurgeCounts(visits=visits, events=events, consents=consents, rights_requests=rights)

    def _purge_consents(self, tx: Tx, cutoff: Any) -> int:
        head = self._head(tx, lock=True)
        live = tx.one("SELECT min(seq) FROM cc_consent_records WHERE at >= ?", (cutoff,))
        limit = head.seq if live is None or live[0] is None else int(live[0]) - 1
        if limit <= head.purged_seq:
            return 0
        last = tx.one(
            "SELECT seq, record_hash FROM cc_consent_records WHERE seq <= ? ORDER BY seq DESC LIMIT 1", (limit,)
        )
        if last is None:
            return 0
        deleted = tx.run("DELETE FROM cc_consent_records WHERE seq <= ?", (last[0],))
        tx.run("UPDATE cc_consent_head SET purged_seq = ?, purged_hash = ? WHERE id = 1", (last[0], last[1]))
        return deleted

    # -- rights requests -------------------------------------------------------------------------

    def _rights_columns(self, request: RightsRequest) -> tuple[Any, ...]:
        return (
            request.reference,
            request.kind,
            request.device_id,
            request.consent_id,
            self._time(request.received_at),
            None if request.closed_at is None else self._time(request.closed_at),
            self._json(request),
            self._uuid(request.id),
        )

    @staticmethod
    def _load_rights(body: Any) -> RightsRequest:
        if isinstance(body, str | bytes):
            return RightsRequest.model_validate_json(body)
        return RightsRequest.model_validate(body)

    @override
    def add_rights_request(self, request: RightsRequest) -> None:
        with self._tx(write=True) as tx:
            tx.run(
                "INSERT INTO cc_rights_requests (reference, kind, device_id, consent_id, received_at, closed_at, "
                "body, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                self._rights_columns(request),
            )

    @override
    def get_rights_request(self, key: uuid.UUID | str) -> RightsRequest | None:
        if not isinstance(key, uuid.UUID):
            with suppress(ValueError):
                key = uuid.UUID(key)
        with self._tx(write=False) as tx:
            if isinstance(key, uuid.UUID):
                row = tx.one("SELECT body FROM cc_rights_requests WHERE id = ?", (self._uuid(key),))
            else:
                row = tx.one("SELECT body FROM cc_rights_requests WHERE reference = ?", (key,))
        return None if row is None else self._load_rights(row[0])

    @override
    def list_rights_requests(
        self, *, device_id: str | None = None, consent_id: str | None = None, open_only: bool = False
    ) -> list[RightsRequest]:
        clauses: list[str] = []
        params: list[str] = []
        if device_id is not None or consent_id is not None:
            where, params = _subject_filter(device_id, consent_id)
            clauses.append(where)
        if open_only:
            clauses.append("closed_at IS NULL")
        sql = "SELECT body FROM cc_rights_requests"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        with self._tx(write=False) as tx:
            rows = tx.all(sql + " ORDER BY received_at, id", params)
        return [self._load_rights(row[0]) for row in rows]

    @override
    def latest_rights_requests(
        self, *, device_id: str | None = None, consent_id: str | None = None, limit: int = 100
    ) -> list[RightsRequest]:
        where, params = _subject_filter(device_id, consent_id)
        _check_page(limit, 0)
        with self._tx(write=False) as tx:
            rows = tx.all(
                f"SELECT body FROM cc_rights_requests WHERE {where} ORDER BY received_at DESC, id DESC LIMIT ?",
                [*params, limit],
            )
        return [self._load_rights(row[0]) for row in rows]

    @override
    def rights_request_batches(
        self, *, device_id: str | None = None, consent_id: str | None = None, size: int = _PAGE
    ) -> Iterator[list[RightsRequest]]:
        where, params = _subject_filter(device_id, consent_id)
        _check_page(size, 0, least=1)
        after: list[Any] = []
        while True:
            clause = where + (" AND (received_at > ? OR (received_at = ? AND id > ?))" if after else "")
            with self._tx(write=False) as tx:
                rows = tx.all(
                    f"SELECT received_at, id, body FROM cc_rights_requests WHERE {clause} ORDER BY received_at, id "
                    "LIMIT ?",
                    [*params, *after, size],
                )
            full = len(rows) == size
            if full:
                after = [rows[-1][0], rows[-1][0], rows[-1][1]]
            batch = [self._load_rights(row[2]) for row in rows]
            del rows
            if batch:
                yield batch
            del batch
            if not full:
                return

    @override
    def file_rights_request(self, request: RightsRequest) -> tuple[RightsRequest, bool]:
        with self._tx(write=True) as tx:
            if request.device_id is not None or request.consent_id is not None:
                self._lock_rights(tx)
                where, params = _subject_filter(request.device_id, request.consent_id)
                found = tx.one(
                    f"SELECT body FROM cc_rights_requests WHERE kind = ? AND closed_at IS NULL AND {where} "
                    "ORDER BY received_at, id LIMIT 1",
                    [request.kind, *params],
                )
                if found is not None:
                    return self._load_rights(found[0]), False
            tx.run(
                "INSERT INTO cc_rights_requests (reference, kind, device_id, consent_id, received_at, closed_at, "
                "body, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                self._rights_columns(request),
            )
        return request, True

    @override
    def update_rights_request(self, request: RightsRequest) -> None:
        with self._tx(write=True) as tx:
            changed = tx.run(
                "UPDATE cc_rights_requests SET reference = ?, kind = ?, device_id = ?, consent_id = ?, "
                "received_at = ?, closed_at = ?, body = ? WHERE id = ?",
                self._rights_columns(request),
            )
        if changed == 0:
            raise StoreError(
                f"no rights request {request.reference} ({request.id}) is stored; add it with add_rights_request first"
            )

    # -- stop flags ------------------------------------------------------------------------------

    def _flags(self, tx: Tx, subjects: Iterable[str]) -> dict[str, set[str]]:
        """The kinds of stop flag on each of ``subjects`` that has one."""
        items = sorted(set(subjects))
        found: dict[str, set[str]] = {}
        for chunk in _slices(items, _IN_CHUNK):
            for subject, kind in tx.all(_select_stopped(len(chunk)), chunk):
                found.setdefault(str(subject), set()).add(str(kind))
        return found

    def _stopped_among(self, tx: Tx, device_ids: set[str], consent_ids: set[str]) -> Stopped:
        if not device_ids and not consent_ids:
            return Stopped()
        flags = self._flags(tx, device_ids | consent_ids)
        return Stopped(
            frozenset(d for d in device_ids if not flags.get(d, set()).isdisjoint(_STOPS_DEVICES)),
            frozenset(c for c in consent_ids if not flags.get(c, set()).isdisjoint(_STOPS_CONSENTS)),
        )

    @override
    def set_stop(
        self,
        subject: str | None = None,
        now: dt.datetime | None = None,
        *,
        device_id: str | None = None,
        consent_id: str | None = None,
    ) -> None:
        flags = _stop_flags(subject, device_id, consent_id, "set_stop")
        since = self._time(_aware(now, "set_stop(now=…)") if now is not None else dt.datetime.now(dt.UTC))
        with self._tx(write=True) as tx:
            for value, kind in flags:
                tx.run(
                    "INSERT INTO cc_stopped (subject, kind, since) VALUES (?, ?, ?) "
                    "ON CONFLICT (subject, kind) DO NOTHING",
                    (value, kind, since),
                )

    @override
    def clear_stop(
        self, subject: str | None = None, *, device_id: str | None = None, consent_id: str | None = None
    ) -> bool:
        flags = _stop_flags(subject, device_id, consent_id, "clear_stop")
        removed = 0
        with self._tx(write=True) as tx:
            for value, kind in flags:
                if kind == _EITHER:
                    removed += tx.run("DELETE FROM cc_stopped WHERE subject = ?", (value,))
                    continue
                removed += tx.run("DELETE FROM cc_stopped WHERE subject = ? AND kind = ?", (value, kind))
                # A flag on either kind keeps stopping the other kind: it becomes a flag on that one.
                other = _CONSENT if kind == _DEVICE else _DEVICE
                tx.run(
                    "INSERT INTO cc_stopped (subject, kind, since) SELECT subject, ?, since FROM cc_stopped "
                    "WHERE subject = ? AND kind = ? ON CONFLICT (subject, kind) DO NOTHING",
                    (other, value, _EITHER),
                )
                removed += tx.run("DELETE FROM cc_stopped WHERE subject = ? AND kind = ?", (value, _EITHER))
        return removed > 0

    @override
    def is_stopped(self, *subjects: str | None, device_id: str | None = None, consent_id: str | None = None) -> bool:
        bare = {s for s in subjects if s}
        if not bare and not device_id and not consent_id:
            return False
        with self._tx(write=False) as tx:
            flags = self._flags(tx, {*bare, *(v for v in (device_id, consent_id) if v)})
        if any(s in flags for s in bare):
            return True
        return bool(
            (device_id and not flags.get(device_id, set()).isdisjoint(_STOPS_DEVICES))
            or (consent_id and not flags.get(consent_id, set()).isdisjoint(_STOPS_CONSENTS))
        )

    @override
    def stopped_among(self, *, device_ids: Iterable[str] = (), consent_ids: Iterable[str] = ()) -> Stopped:
        devices = {d for d in device_ids if d}
        consents = {c for c in consent_ids if c}
        if not devices and not consents:
            return Stopped()
        with self._tx(write=False) as tx:
            return self._stopped_among(tx, devices, consents)


def _stop_flags(
    subject: str | None, device_id: str | None, consent_id: str | None, method: str
) -> list[tuple[str, str]]:
    """The ``(id, kind)`` flags a call of ``set_stop`` or ``clear_stop`` names."""
    flags = [
        (value, kind)
        for value, kind in ((subject, _EITHER), (device_id, _DEVICE), (consent_id, _CONSENT))
        if value is not None
    ]
    if not flags or any(not isinstance(value, str) or not value for value, _ in flags):
        raise ValueError(
            f"{method} needs the id to act on, as {method}(device_id=...) or {method}(consent_id=...) (or both); "
            "an empty id names no one"
        )
    return flags
