"""SQLite ledger store: the local default, and FC's fallback on /tmp.

Why SQLite primitives map cleanly: create-if-absent is ``INSERT OR IGNORE`` on the primary
key, compare-and-set is ``UPDATE … WHERE key=? AND version=?`` (rowcount tells who won).
WAL mode lets several processes read while one writes; ``busy_timeout`` makes writers wait
instead of failing at once. One connection per store, shared across threads behind a lock
(``check_same_thread=False``), because sqlite3 connections are not safe for concurrent use.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from shared.errors import LedgerConflictError, LedgerStoreError
from shared.ledger.record import Record
from shared.ledger.store.base import LedgerStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger (
    key     TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    body    TEXT NOT NULL
)
"""


#: Keys per ``IN (...)`` query (SQLite's default limit on bound parameters is 999 before 3.32).
_IN_BATCH = 500


def _upper_bound(prefix: str) -> str | None:
    """Smallest string greater than every string starting with ``prefix`` (None: no bound).

    SQLite compares TEXT with memcmp on UTF-8, which orders like code points.
    """
    while prefix:
        last = ord(prefix[-1])
        if last < 0x10FFFF:
            return prefix[:-1] + chr(last + 1)
        prefix = prefix[:-1]
    return None


class SqliteStore(LedgerStore):
    """Ledger in one SQLite file (``path``); the parent directory is created if missing."""

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                str(self.path), timeout=timeout, check_same_thread=False, isolation_level=None
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            self._conn.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise LedgerStoreError(f"cannot open ledger {self.path}: {exc}") from exc

    def _execute(self, sql: str, params: tuple[object, ...]) -> sqlite3.Cursor:
        try:
            with self._lock:
                return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise LedgerStoreError(f"ledger {self.path}: {exc}") from exc

    def get(self, key: str) -> Record | None:
        row = self._execute("SELECT body FROM ledger WHERE key = ?", (key,)).fetchone()
        return Record.model_validate_json(row[0]) if row else None

    def create(self, record: Record) -> bool:
        stored = record.model_copy(update={"version": 1})
        cur = self._execute(
            "INSERT OR IGNORE INTO ledger (key, version, body) VALUES (?, ?, ?)",
            (stored.key, 1, stored.model_dump_json()),
        )
        return cur.rowcount == 1

    def replace(self, record: Record, expected_version: int) -> Record:
        stored = record.model_copy(update={"version": expected_version + 1})
        cur = self._execute(
            "UPDATE ledger SET version = ?, body = ? WHERE key = ? AND version = ?",
            (stored.version, stored.model_dump_json(), stored.key, expected_version),
        )
        if cur.rowcount != 1:
            raise LedgerConflictError(f"{record.key}: version is not {expected_version} (or record missing)")
        return stored

    def scan(self, prefix: str) -> Iterator[Record]:
        for _key, body in self._rows("key, body", prefix):
            yield Record.model_validate_json(body)

    def scan_keys(self, prefix: str, keep: Callable[[str], bool]) -> Iterator[Record]:
        """Keys first (the primary key's index answers alone), then the bodies of the kept ones only: a
        partition of 3 regions out of 20 fetches and parses 3/20 of the bodies, not all of them."""
        kept = [key for (key,) in self._rows("key", prefix) if keep(key)]
        for n in range(0, len(kept), _IN_BATCH):
            batch = kept[n:n + _IN_BATCH]
            marks = ",".join("?" * len(batch))
            for (body,) in self._fetch(f"SELECT body FROM ledger WHERE key IN ({marks}) ORDER BY key", tuple(batch)):  # a key deleted between the two reads is simply not there
                yield Record.model_validate_json(body)

    def _rows(self, columns: str, prefix: str) -> list[tuple[str, ...]]:
        """``columns`` (a fixed list, never input) of every row under ``prefix``, in key order."""
        upper = _upper_bound(prefix)
        where, params = "key >= ?", [prefix]
        if upper is not None:
            where, params = "key >= ? AND key < ?", [prefix, upper]
        return self._fetch(f"SELECT {columns} FROM ledger WHERE {where} ORDER BY key", tuple(params))

    def _fetch(self, sql: str, params: tuple[str, ...]) -> list[tuple[str, ...]]:
        """Every row of ``sql``, fetched under the lock (then released: a slow consumer must not block others)."""
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise LedgerStoreError(f"ledger {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()
