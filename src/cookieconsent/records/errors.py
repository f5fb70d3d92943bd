"""Exceptions raised by the record models and stores.

The hierarchy (all under :class:`cookieconsent.errors.CookieConsentError`)::

    RecordsError
     ├── StoreError: the store cannot do what was asked (unknown URL, newer schema, missing row).
     │    └── StoreUnavailableError: the database cannot be reached right now; retry later.
     ├── MissingDependencyError (also an ImportError): an optional package is not installed.
     └── RightsRequestError (also a ValueError): a rights request cannot change that way.
"""

from __future__ import annotations

from cookieconsent.errors import CookieConsentError

__all__ = [
    "MissingDependencyError",
    "RecordsError",
    "RightsRequestError",
    "StoreError",
    "StoreUnavailableError",
]


class RecordsError(CookieConsentError):
    """Root of the errors of :mod:`cookieconsent.records`."""


class StoreError(RecordsError):
    """A store cannot do what was asked; the message says why and how to fix it."""


class StoreUnavailableError(StoreError):
    """The database cannot be reached right now (server down, file locked too long).

    Nothing was written by the failed call, or it was written completely: every write is one
    transaction, and batch writes are idempotent by record id, so retrying the same call is safe.
    """


class MissingDependencyError(RecordsError, ImportError):
    """An optional dependency is not installed; the message names the package to install."""


class RightsRequestError(RecordsError, ValueError):
    """A rights request cannot change that way (a second extension, an empty reason…)."""
