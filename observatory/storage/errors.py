"""What can go wrong with the database, each as a message a user can act on (never a traceback)."""

from __future__ import annotations

from dataclasses import dataclass


class StorageError(Exception):
    """The database cannot be used; ``str(error)`` says why and what to do."""


class DatabaseUrlError(StorageError):
    """The database URL is malformed or names a database we do not support (a usage error)."""


class DatabaseUnavailable(StorageError):
    """The database cannot be reached or opened (server down, wrong URL, unreadable file)."""


class SchemaTooNew(StorageError):
    """The database was migrated by a newer version of xmpp-observatory: refused, never touched."""


class SchemaNotCurrent(StorageError):
    """The database has no schema yet, or an older one: ``observatory db upgrade`` brings it up to date."""


class ScanStateError(StorageError):
    """A scan row is not in the state an operation needs (e.g. finishing a scan that already failed)."""


@dataclass(frozen=True)
class SkippedScan:
    """A stored scan that was passed over (a corrupt row, a document of a newer format, rules that
    failed on its facts); ``reason`` says what was wrong with it."""

    scan_id: int
    reason: str

    def __str__(self) -> str:
        return f"scan #{self.scan_id} skipped: {self.reason}"


class CorruptScan(StorageError):
    """The one scan asked for cannot be read."""

    def __init__(self, skipped: SkippedScan) -> None:
        super().__init__(f"scan #{skipped.scan_id} cannot be read: {skipped.reason}")
        self.skipped = skipped
