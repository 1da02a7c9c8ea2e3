"""Ledger storage backends; pick one with ``shared.ledger.open_store(url)``."""

from __future__ import annotations

from shared.ledger.store.base import LedgerStore
from shared.ledger.store.memory import MemoryStore
from shared.ledger.store.sqlite import SqliteStore

__all__ = ["LedgerStore", "MemoryStore", "SqliteStore"]
