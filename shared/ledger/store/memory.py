"""In-memory ledger store for unit tests and dry runs; thread-safe, lost at exit."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from shared.errors import LedgerConflictError
from shared.ledger.record import Record
from shared.ledger.store.base import LedgerStore


class MemoryStore(LedgerStore):
    """A dict behind a lock; records are deep-copied in and out so callers cannot alias state."""

    def __init__(self) -> None:
        self._records: dict[str, Record] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Record | None:
        with self._lock:
            record = self._records.get(key)
        return record.model_copy(deep=True) if record is not None else None

    def create(self, record: Record) -> bool:
        stored = record.model_copy(update={"version": 1}, deep=True)
        with self._lock:
            if record.key in self._records:
                return False
            self._records[record.key] = stored
        return True

    def replace(self, record: Record, expected_version: int) -> Record:
        stored = record.model_copy(update={"version": expected_version + 1}, deep=True)
        with self._lock:
            current = self._records.get(record.key)
            if current is None:
                raise LedgerConflictError(f"{record.key}: record does not exist")
            if current.version != expected_version:
                raise LedgerConflictError(
                    f"{record.key}: version is {current.version}, expected {expected_version}"
                )
            self._records[record.key] = stored
        return stored.model_copy(deep=True)

    def scan(self, prefix: str) -> Iterator[Record]:
        return self.scan_keys(prefix, lambda _key: True)

    def scan_keys(self, prefix: str, keep: Callable[[str], bool]) -> Iterator[Record]:
        with self._lock:
            matches = sorted((k, r) for k, r in self._records.items() if k.startswith(prefix) and keep(k))
        for _, record in matches:
            yield record.model_copy(deep=True)
