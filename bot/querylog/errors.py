"""The exceptions the query log raises to its callers."""

from __future__ import annotations


class StorageError(Exception):
    """The query log cannot do what was asked."""


class SchemaTooNewError(StorageError):
    """The database was written by a newer version of the bot; refusing to touch it."""


class StorageUnavailableError(StorageError):
    """The database cannot be reached right now (a read or a deletion could not run)."""
