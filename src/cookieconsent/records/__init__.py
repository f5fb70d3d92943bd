"""Records: what cookieconsent keeps, and where.

The models (frozen pydantic) are :class:`VisitRecord`, :class:`EventRecord`,
:class:`ConsentRecord` (hash-chained proof of consent) and :class:`RightsRequest`. The stores,
SQLite (the default) and PostgreSQL, share the :class:`Store` interface; :func:`open_store` picks one
from a path or URL::

    from cookieconsent.records import VisitRecord, ip_minimise, open_store

    with open_store("instance/records.db") as store:
        store.write_batch([VisitRecord(page="/", ip=ip_minimise("203.0.113.7"), device_id="d1")])
        assert store.verify_chain() == []

The PostgreSQL store needs ``pip install "cookieconsent[postgres]"``; it is imported only when used.
"""

from __future__ import annotations

from cookieconsent.records.errors import (
    MissingDependencyError,
    RecordsError,
    RightsRequestError,
    StoreError,
    StoreUnavailableError,
)
from cookieconsent.records.factory import open_store
from cookieconsent.records.models import (
    GENESIS_HASH,
    RIGHTS_PERIOD_DAYS,
    ConsentRecord,
    EventRecord,
    Location,
    Mechanism,
    Record,
    RecordKind,
    RightKind,
    RightsRequest,
    UserAgent,
    VisitRecord,
    close_request,
    compute_record_hash,
    due_date,
    extend,
    hash_notice,
    ip_minimise,
    parse_record,
    seal,
)
from cookieconsent.records.recorder import Recorder
from cookieconsent.records.store import (
    SCHEMA_VERSION,
    ChainHead,
    ChainProblem,
    DeleteCounts,
    PurgeCounts,
    PurgeRun,
    Stopped,
    Store,
    check_chain,
    redact_url,
)

__all__ = [
    "GENESIS_HASH",
    "RIGHTS_PERIOD_DAYS",
    "SCHEMA_VERSION",
    "ChainHead",
    "ChainProblem",
    "ConsentRecord",
    "DeleteCounts",
    "EventRecord",
    "Location",
    "Mechanism",
    "MissingDependencyError",
    "PurgeCounts",
    "PurgeRun",
    "Record",
    "RecordKind",
    "Recorder",
    "RecordsError",
    "RightKind",
    "RightsRequest",
    "RightsRequestError",
    "Stopped",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "UserAgent",
    "VisitRecord",
    "check_chain",
    "close_request",
    "compute_record_hash",
    "due_date",
    "extend",
    "hash_notice",
    "ip_minimise",
    "open_store",
    "parse_record",
    "redact_url",
    "seal",
]
