"""Opening a store from a path or URL: :func:`open_store` picks SQLite or PostgreSQL.

::

    from cookieconsent.records import open_store

    store = open_store("instance/records.db")            # SQLite (WAL), the default
    store = open_store("postgresql://app@db.internal/app")  # PostgreSQL, pooled
"""

from __future__ import annotations

import os
import re
from typing import Any

from cookieconsent.records.errors import StoreError
from cookieconsent.records.store import Store, redact_url

__all__ = ["open_store"]

#: A libpq key/value connection string (``host=db dbname=app user=web``), not a file name.
_CONNINFO = re.compile(r"^\s*(host|hostaddr|port|dbname|user|password|service|sslmode)\s*=\S*(\s+\w+\s*=\S*)*\s*$")


def open_store(target: str | os.PathLike[str], **options: Any) -> Store:
    """Open the store ``target`` names, creating its schema on first use.

    Args:
        target: A file path (``instance/records.db``) or ``sqlite:///path/to/records.db`` for SQLite;
            ``postgresql://user:password@host:5432/dbname`` or a key/value connection string
            (``host=db dbname=app``) for PostgreSQL (needs
            ``pip install "cookieconsent[postgres]"``).
        **options: Passed to :class:`~cookieconsent.records.sqlite.SqliteStore` or
            :class:`~cookieconsent.records.postgres.PostgresStore` (e.g. ``timeout``, ``max_size``).

    Raises:
        StoreError: the URL scheme is not supported.
        StoreUnavailableError: the database cannot be reached.
    """
    if isinstance(target, os.PathLike):
        from cookieconsent.records.sqlite import SqliteStore

        return SqliteStore(target, **options)
    scheme = target.split("://", 1)[0].lower() if "://" in target else ""
    if scheme in ("postgresql", "postgres") or (not scheme and _CONNINFO.match(target)):
        from cookieconsent.records.postgres import PostgresStore

        return PostgresStore(target, **options)
    if scheme in ("", "sqlite"):
        from cookieconsent.records.sqlite import SqliteStore

        path = target
        if scheme == "sqlite":
            if not target.startswith("sqlite:///") or target == "sqlite:///":
                raise StoreError(
                    f"cannot read a file path from {target!r}; write sqlite:///relative/path.db or "
                    "sqlite:////absolute/path.db"
                )
            path = target[len("sqlite:///") :]
        return SqliteStore(path, **options)
    raise StoreError(
        f"unsupported store URL {redact_url(target)!r}: use a file path ('instance/records.db'), "
        "'sqlite:///path/to/records.db' or 'postgresql://user@host/dbname'"
    )
