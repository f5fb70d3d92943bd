"""The store interface, shared by the SQLite and the PostgreSQL store.

Open one with :func:`~cookieconsent.records.open_store`.

Every write is one transaction. Visit and event records are idempotent by id: writing a batch again
after a failure whose outcome is unknown never stores a record twice. Consent records are appended
to one hash chain under a lock, so concurrent appends (threads, processes, hosts) keep it linear;
:meth:`Store.verify_chain` reports any edited, inserted or deleted consent record.
"""

from __future__ import annotations

import abc
import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit, urlunsplit

from cookieconsent.records.models import (
    GENESIS_HASH,
    ConsentRecord,
    EventRecord,
    RecordKind,
    RightsRequest,
    VisitRecord,
)

if TYPE_CHECKING:
    from types import TracebackType

    from cookieconsent.policy.model import Retention

__all__ = [
    "SCHEMA_VERSION",
    "ChainHead",
    "ChainProblem",
    "DeleteCounts",
    "PurgeCounts",
    "PurgeRun",
    "Stopped",
    "Store",
    "check_chain",
    "redact_url",
]

#: The version of the database schema this code writes; stored in ``cc_schema_version``. Version 2
#: keeps stop flags per kind of id (device or consent) and indexes records by id and time.
SCHEMA_VERSION = 2


@dataclass(frozen=True, slots=True)
class DeleteCounts:
    """How many records :meth:`Store.delete_for` deleted, by kind."""

    visits: int = 0
    events: int = 0

    @property
    def total(self) -> int:
        """All records deleted."""
        return self.visits + self.events


@dataclass(frozen=True, slots=True)
class PurgeCounts:
    """How many expired rows :meth:`Store.purge` deleted, by kind."""

    visits: int = 0
    events: int = 0
    consents: int = 0
    rights_requests: int = 0

    @property
    def total(self) -> int:
        """All rows deleted."""
        return self.visits + self.events + self.consents + self.rights_requests


@dataclass(frozen=True, slots=True)
class PurgeRun:
    """What :meth:`Store.purge_if_due` did: whether this call purged, and when the store was last purged.

    Args:
        counts: What this call deleted, or ``None`` when the period's purge had already been claimed
            (by another worker, or by this one earlier).
        last_at: When the store's last scheduled purge ran (``now`` when this call purged); ``None``
            if it never did.
        last_by: Who ran it (the ``worker`` given to :meth:`Store.purge_if_due`).
    """

    counts: PurgeCounts | None
    last_at: dt.datetime | None = None
    last_by: str | None = None

    @property
    def ran(self) -> bool:
        """Whether this call claimed the period and purged."""
        return self.counts is not None


@dataclass(frozen=True, slots=True)
class Stopped:
    """Which device ids and which consent ids have stopped recording (what :meth:`Store.stopped_among` finds).

    The two are kept apart: a consent id that happens to be sent as a device id stops nothing.
    """

    device_ids: frozenset[str] = frozenset()
    consent_ids: frozenset[str] = frozenset()

    def covers(self, device_id: str | None, consent_id: str | None) -> bool:
        """Whether a record with this device id and consent id must not be recorded."""
        return (device_id is not None and device_id in self.device_ids) or (
            consent_id is not None and consent_id in self.consent_ids
        )

    def __bool__(self) -> bool:
        return bool(self.device_ids or self.consent_ids)


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where the consent chain ends, and where it starts after purges.

    Publishing ``(seq, hash)`` elsewhere (a log, an e-mail, a timestamping service) anchors the chain:
    nobody can then rewrite it without the change showing.

    Args:
        seq: The ``seq`` of the last record appended (0 if none).
        hash: Its ``record_hash`` (:data:`GENESIS_HASH` if none).
        record_id: Its id.
        purged_seq: The last ``seq`` removed by retention purges (0 if none).
        purged_hash: The ``record_hash`` of that record, which the first remaining record links to.
    """

    seq: int = 0
    hash: str = GENESIS_HASH
    record_id: uuid.UUID | None = None
    purged_seq: int = 0
    purged_hash: str = GENESIS_HASH


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """One thing wrong with the consent chain.

    Args:
        kind: ``edited`` (a record does not match its hash), ``inserted`` (a record the chain does not
            link to) or ``deleted`` (records missing from the sequence).
        seq: The position concerned.
        message: A sentence saying what is wrong.
    """

    kind: Literal["edited", "inserted", "deleted"]
    seq: int
    message: str

    def __str__(self) -> str:
        return self.message


#: One stored consent row: ``(seq, id, consent_id, prev_hash, record_hash, body)``.
ChainRow = tuple[int, str, str, str, str, str]


def _row_problem(row: ChainRow) -> str | None:
    """Why a stored consent row does not match its own hash, or None if it does."""
    seq, rid, consent_id, prev_hash, record_hash, body = row
    if hashlib.sha256(body.encode("utf-8")).hexdigest() != record_hash:
        return "its content does not match its record_hash"
    # The body is the exact text that was hashed, so a later version of the model (a new field with
    # a default) still verifies old records: only the bytes are checked, never a re-serialisation.
    try:
        record = ConsentRecord.model_validate_json(body)
    except ValueError as exc:
        return f"its content is not a valid consent record ({str(exc).splitlines()[0]})"
    stored = (seq, rid, consent_id, prev_hash)
    expected = (record.seq, str(record.id), record.consent_id, record.prev_hash)
    if stored != expected:
        return "its indexed columns (seq, id, consent_id, prev_hash) disagree with its content"
    return None


def check_chain(rows: Iterable[ChainRow], head: ChainHead) -> list[ChainProblem]:
    """Check consent rows, in ``seq`` order, against each other and the chain head.

    Finds: a record whose content does not hash to its ``record_hash`` (edited); a record that does not
    link to the one before it, or lies past the head (inserted, or replaced with a recomputed hash); a
    gap in ``seq``, or a chain that stops before the head (deleted). Records removed by
    :meth:`Store.purge` are not problems: the head remembers where the chain now starts.
    """
    problems: list[ChainProblem] = []
    prev_seq, prev_hash = head.purged_seq, head.purged_hash
    for row in rows:
        seq, _, _, row_prev_hash, record_hash, _ = row
        why = _row_problem(row)
        if why is not None:
            problems.append(ChainProblem("edited", seq, f"consent record #{seq} was edited: {why}"))
        if seq > head.seq:
            problems.append(
                ChainProblem(
                    "inserted",
                    seq,
                    f"consent record #{seq} lies past the chain head (#{head.seq}): "
                    "it was added without append_consent",
                )
            )
        if seq > prev_seq + 1:
            gone = (
                f"record #{prev_seq + 1} was" if seq == prev_seq + 2 else f"records #{prev_seq + 1} to #{seq - 1} were"
            )
            problems.append(ChainProblem("deleted", prev_seq + 1, f"consent {gone} deleted"))
        elif row_prev_hash != prev_hash:
            problems.append(
                ChainProblem(
                    "inserted",
                    seq,
                    f"consent record #{seq} does not link to record #{prev_seq}: a record was inserted or replaced",
                )
            )
        prev_seq, prev_hash = seq, record_hash
    if prev_seq < head.seq:
        gone = f"record #{head.seq} was" if prev_seq + 1 == head.seq else f"records #{prev_seq + 1} to #{head.seq} were"
        problems.append(ChainProblem("deleted", prev_seq + 1, f"consent {gone} deleted from the end of the chain"))
    elif prev_seq == head.seq and prev_hash != head.hash and head.seq > head.purged_seq:
        problems.append(
            ChainProblem(
                "inserted",
                prev_seq,
                f"consent record #{prev_seq} is not the one appended last: it was replaced",
            )
        )
    return problems


class Store(abc.ABC):
    """Where records, consent proofs, rights requests and stop flags are kept.

    Implementations: :class:`~cookieconsent.records.sqlite.SqliteStore` and
    :class:`~cookieconsent.records.postgres.PostgresStore`; get one with :func:`open_store`. A store
    is safe to use from several threads; close it with :meth:`close` (or a ``with`` block).

    Methods raise :class:`~cookieconsent.records.errors.StoreUnavailableError` when the database
    cannot be reached (retrying the same call later is safe) and
    :class:`~cookieconsent.records.errors.StoreError` for other database failures.
    """

    # -- visit and event records -----------------------------------------------------------------

    @abc.abstractmethod
    def write_batch(self, records: Iterable[VisitRecord | EventRecord]) -> int:
        """Store visit and event records in one transaction, each at most once.

        A record whose id is already stored is skipped, so replaying a batch is harmless. A record
        whose device id is stopped as a device id, or whose consent id is stopped as a consent id
        (:meth:`set_stop`), is dropped.

        Returns:
            How many records were newly stored.
        """

    @abc.abstractmethod
    def records_for(
        self, *, device_id: str | None = None, consent_id: str | None = None
    ) -> list[VisitRecord | EventRecord]:
        """The visit and event records of a device or a consent id (either matches), oldest first.

        This loads them all: the privacy centre reads :meth:`records_page` and :meth:`record_batches`.

        Raises:
            ValueError: neither ``device_id`` nor ``consent_id`` was given.
        """

    @abc.abstractmethod
    def delete_for(self, *, device_id: str | None = None, consent_id: str | None = None) -> DeleteCounts:
        """Delete the visit and event records of a device or a consent id (either matches).

        Consent records are never deleted here: they are the proof of consent.

        Raises:
            ValueError: neither ``device_id`` nor ``consent_id`` was given.
        """

    @abc.abstractmethod
    def iter_records(self, kind: RecordKind | None = None) -> Iterator[VisitRecord | EventRecord]:
        """Every visit and event record (of one ``kind`` if given), read in pages."""

    @abc.abstractmethod
    def count(self, kind: RecordKind | None = None) -> int:
        """How many visit and event records are stored (of one ``kind`` if given)."""

    # One visitor's records, a bounded number at a time (the privacy centre reads these). The defaults
    # build on records_for, which loads them all; the bundled stores read only what is asked.

    def count_for(self, *, device_id: str | None = None, consent_id: str | None = None) -> dict[str, int]:
        """How many visit and event records a device or consent id (either matches) has, by kind.

        Raises:
            ValueError: neither ``device_id`` nor ``consent_id`` was given.
        """
        counts: dict[str, int] = {}
        for record in self.records_for(device_id=device_id, consent_id=consent_id):
            counts[record.kind] = counts.get(record.kind, 0) + 1
        return counts

    def records_page(
        self, *, device_id: str | None = None, consent_id: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[VisitRecord | EventRecord]:
        """At most ``limit`` records of a device or consent id, newest first, skipping the ``offset`` newest.

        Raises:
            ValueError: neither id was given, or ``limit`` or ``offset`` is negative.
        """
        _check_page(limit, offset)
        newest = list(reversed(self.records_for(device_id=device_id, consent_id=consent_id)))
        return newest[offset : offset + limit]

    def record_batches(
        self, *, device_id: str | None = None, consent_id: str | None = None, size: int = 500
    ) -> Iterator[list[VisitRecord | EventRecord]]:
        """The records of a device or consent id, oldest first, in lists of at most ``size``.

        Each list is read when it is asked for, in a transaction of its own: reading a long history
        never holds the database, or all of the history in memory, at once.

        Raises:
            ValueError: neither id was given, or ``size`` is below 1.
        """
        _check_page(size, 0, least=1)
        records = self.records_for(device_id=device_id, consent_id=consent_id)
        for start in range(0, len(records), size):
            yield records[start : start + size]

    def consent_batches(self, consent_id: str, *, size: int = 500) -> Iterator[list[ConsentRecord]]:
        """The consent records of one consent id, in chain order, in lists of at most ``size``."""
        _check_page(size, 0, least=1)
        records = self.consents_for(consent_id)
        for start in range(0, len(records), size):
            yield records[start : start + size]

    def latest_consents(self, consent_id: str, limit: int) -> list[ConsentRecord]:
        """The ``limit`` latest consent records of one consent id, newest first."""
        _check_page(limit, 0)
        return list(reversed(self.consents_for(consent_id)))[:limit]

    def knows(self, *, device_id: str | None = None, consent_id: str | None = None) -> bool:
        """Whether anything is held for this device id or consent id, each read as its own kind.

        A device id is known by a record or a rights request that carries it as a device id; a consent
        id by a record, a consent record or a rights request that carries it as a consent id.
        """
        if not device_id and not consent_id:
            return False
        if self.records_page(device_id=device_id or None, consent_id=consent_id or None, limit=1):
            return True
        if consent_id and self.latest_consents(consent_id, 1):
            return True
        return bool(self.latest_rights_requests(device_id=device_id or None, consent_id=consent_id or None, limit=1))

    # -- proof of consent ------------------------------------------------------------------------

    @abc.abstractmethod
    def append_consent(self, record: ConsentRecord) -> ConsentRecord:
        """Append a consent record to the hash chain, atomically, and return it as stored.

        The chain fields (``seq``, ``prev_id``, ``prev_hash``, ``record_hash``) are filled under a lock
        held until the record is committed. Appending a record whose id is already stored returns the
        stored one and appends nothing.
        """

    @abc.abstractmethod
    def consents_for(self, consent_id: str) -> list[ConsentRecord]:
        """The consent records of one consent id, in chain order."""

    @abc.abstractmethod
    def consent_chain(self) -> Iterator[ConsentRecord]:
        """Every consent record in chain order, read in pages."""

    @abc.abstractmethod
    def chain_head(self) -> ChainHead:
        """Where the chain ends (and where it starts after purges)."""

    @abc.abstractmethod
    def verify_chain(self) -> list[ChainProblem]:
        """Check the whole consent chain in one consistent read; an empty list means it is intact."""

    # -- retention -------------------------------------------------------------------------------

    @abc.abstractmethod
    def purge(self, now: dt.datetime, retention: Retention) -> PurgeCounts:
        """Delete what is older than its retention period at ``now``.

        Visit and event records by their time; closed rights requests by their closing time; consent
        records by their time, but only as the oldest stretch of the chain (a record is kept while
        an older one is kept), and the chain head remembers where the chain now starts so
        :meth:`verify_chain` still passes. Stop flags are never purged.
        """

    def purge_if_due(
        self, now: dt.datetime, retention: Retention, *, every: dt.timedelta, worker: str = ""
    ) -> PurgeRun:
        """:meth:`purge` at ``now``, unless the store was purged by this method less than ``every`` ago.

        This is the scheduled purge of :class:`~cookieconsent.records.Recorder`: every worker sharing
        the store calls it, and only one of them purges per period. The bundled stores claim the
        period and purge in one transaction (a conditional ``UPDATE`` of ``cc_purge_schedule``), so
        two workers that call it at once never both purge, and a purge that fails leaves the period
        unclaimed for the next caller.

        This default keeps no schedule and purges at every call: a store of your own that several
        processes share should override it with an atomic claim of its own.

        Args:
            now: The time to purge at (with a time zone).
            retention: The policy's retention periods.
            every: The period: at most one purge per ``every``.
            worker: Who is asking (``host:pid``), kept with the claim for operators to read.

        Raises:
            ValueError: ``now`` has no time zone, or ``every`` is not a positive period.
        """
        _check_period(every)
        return PurgeRun(self.purge(now, retention), now, worker)

    # -- rights requests -------------------------------------------------------------------------

    @abc.abstractmethod
    def add_rights_request(self, request: RightsRequest) -> None:
        """Store a new rights request (adding the same id again changes nothing)."""

    @abc.abstractmethod
    def get_rights_request(self, key: uuid.UUID | str) -> RightsRequest | None:
        """A rights request by id or by reference (``RR-…``), or None."""

    @abc.abstractmethod
    def list_rights_requests(
        self, *, device_id: str | None = None, consent_id: str | None = None, open_only: bool = False
    ) -> list[RightsRequest]:
        """Rights requests, oldest first: all of them, or those of a device or consent id."""

    def latest_rights_requests(
        self, *, device_id: str | None = None, consent_id: str | None = None, limit: int = 100
    ) -> list[RightsRequest]:
        """The ``limit`` latest rights requests of a device or consent id (either matches), newest first.

        Raises:
            ValueError: neither id was given.
        """
        _check_page(limit, 0)
        if device_id is None and consent_id is None:
            raise ValueError("give device_id or consent_id (or both)")
        return list(reversed(self.list_rights_requests(device_id=device_id, consent_id=consent_id)))[:limit]

    def rights_request_batches(
        self, *, device_id: str | None = None, consent_id: str | None = None, size: int = 500
    ) -> Iterator[list[RightsRequest]]:
        """The rights requests of a device or consent id, oldest first, in lists of at most ``size``.

        Raises:
            ValueError: neither id was given, or ``size`` is below 1.
        """
        _check_page(size, 0, least=1)
        if device_id is None and consent_id is None:
            raise ValueError("give device_id or consent_id (or both)")
        requests = self.list_rights_requests(device_id=device_id, consent_id=consent_id)
        for start in range(0, len(requests), size):
            yield requests[start : start + size]

    def file_rights_request(self, request: RightsRequest) -> tuple[RightsRequest, bool]:
        """Store ``request`` unless the same device or consent id has an open request of the same kind.

        Returns:
            The request stored, or the open one found instead; and whether ``request`` was stored.
        """
        if request.device_id is not None or request.consent_id is not None:
            for filed in self.list_rights_requests(
                device_id=request.device_id, consent_id=request.consent_id, open_only=True
            ):
                if filed.kind == request.kind:
                    return filed, False
        self.add_rights_request(request)
        return request, True

    @abc.abstractmethod
    def update_rights_request(self, request: RightsRequest) -> None:
        """Replace a stored rights request with ``request`` (same id), e.g. after :func:`extend`.

        Raises:
            StoreError: no request with that id is stored.
        """

    # -- stop flags ------------------------------------------------------------------------------

    @abc.abstractmethod
    def set_stop(
        self,
        subject: str | None = None,
        now: dt.datetime | None = None,
        *,
        device_id: str | None = None,
        consent_id: str | None = None,
    ) -> None:
        """Stop all recording for a device id, a consent id or both (R53), until :meth:`clear_stop`.

        A flag belongs to one kind of id: ``set_stop(device_id="x")`` stops the records whose device
        id is ``x``, never those whose consent id is ``x``. A bare ``subject`` (``set_stop("x")``, the
        only form before schema version 2, whose flags read this way) stops ``x`` as either kind.

        Raises:
            ValueError: no id was given, or an empty one.
        """

    @abc.abstractmethod
    def clear_stop(
        self, subject: str | None = None, *, device_id: str | None = None, consent_id: str | None = None
    ) -> bool:
        """Allow recording again; returns whether a flag was removed.

        ``clear_stop(device_id="x")`` lifts the stop of device id ``x`` only: a flag on ``x`` as either
        kind then still stops consent id ``x``. A bare ``subject`` removes every flag on that id.
        """

    @abc.abstractmethod
    def is_stopped(self, *subjects: str | None, device_id: str | None = None, consent_id: str | None = None) -> bool:
        """Whether recording is stopped for the device id or the consent id given (None is ignored).

        Bare ``subjects`` ask whether any flag, of either kind, is on any of them.
        """

    def stopped_among(self, *, device_ids: Iterable[str] = (), consent_ids: Iterable[str] = ()) -> Stopped:
        """Those of ``device_ids`` and of ``consent_ids`` whose recording is stopped, each by its own kind.

        The recorder asks this once per batch. This default asks :meth:`is_stopped` once per id; the
        bundled stores answer with one query.
        """
        return Stopped(
            frozenset(d for d in device_ids if d and self.is_stopped(device_id=d)),
            frozenset(c for c in consent_ids if c and self.is_stopped(consent_id=c)),
        )

    # -- lifecycle -------------------------------------------------------------------------------

    @abc.abstractmethod
    def schema_version(self) -> int:
        """The version of the database schema (:data:`SCHEMA_VERSION` once opened by this code)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connections; the store cannot be used afterwards. Closing twice is harmless."""

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _check_period(every: dt.timedelta) -> None:
    if not isinstance(every, dt.timedelta) or every <= dt.timedelta(0):
        raise ValueError(f"every must be a positive datetime.timedelta, e.g. timedelta(days=1) (got {every!r})")


def _check_page(limit: int, offset: int, *, least: int = 0) -> None:
    if limit < least or offset < 0:
        raise ValueError(f"a page needs a size of at least {least} and an offset of 0 or more (got {limit}, {offset})")


_PASSWORD_KV = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages and reprs."""
    if "://" not in url:
        return _PASSWORD_KV.sub(r"\1***", url)
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{hostinfo}"
    query = re.sub(r"(?i)(password=)[^&]*", r"\1***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
