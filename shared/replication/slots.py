"""Copy slots per destination region: a counting semaphore kept in the ledger.

Why a ledger record and not a count of STARTED records: two invocations (an event and a reconcile
tick, or three duplicate deliveries) can each count four copies in flight and each start a fifth.
Here every start first adds its key to `slots/copy/<region>` by compare-and-set, so the limit holds
at every moment whatever runs concurrently. A finished copy releases its key; reconcile heals keys
whose record already ended (a crash between the end and the release), and never adds any.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from shared.errors import LedgerConflictError
from shared.ledger import Ledger
from shared.ledger.keys import slots_key
from shared.ledger.record import Record, State

_TRIES = 8
STALE_PENDING = dt.timedelta(minutes=5)


class RegionSlots:
    """Acquire and release copy slots; every method is a compare-and-set loop over one record."""

    def __init__(self, ledger: Ledger, now: Callable[[], dt.datetime]) -> None:
        self.ledger = ledger
        self.now = now

    def _record(self, region: str) -> Record:
        record, _ = self.ledger.ensure(Record(key=slots_key(region), kind="slots", created_at=self.now(),
                                              updated_at=self.now(), data={"keys": [], "large": []}))
        return record

    def held(self, region: str) -> tuple[list[str], list[str]]:
        """(keys in flight, of which large) in `region`."""
        record = self.ledger.get(slots_key(region))
        return (list(record.data.get("keys", [])), list(record.data.get("large", []))) if record else ([], [])

    def acquire(self, region: str, key: str, *, limit: int, large: bool = False, large_limit: int = 1) -> bool:
        """Take a slot for `key` (idempotent: a key already holding one keeps it); False when full."""
        for _ in range(_TRIES):
            record = self._record(region)
            keys, bigs = list(record.data.get("keys", [])), list(record.data.get("large", []))
            if key in keys:
                return True
            if len(keys) >= limit or (large and len(bigs) >= large_limit):
                return False
            data = {"keys": [*keys, key], "large": [*bigs, key] if large else bigs}
            try:
                self.ledger.transition(record.key, record, data=data)
                return True
            except LedgerConflictError:
                continue
        raise LedgerConflictError(f"{slots_key(region)}: too much contention")

    def release(self, region: str, keys: Iterable[str]) -> None:
        """Give back the slots of `keys` (missing ones are ignored)."""
        gone = set(keys)
        for _ in range(_TRIES):
            record = self.ledger.get(slots_key(region))
            if record is None or not gone & set(record.data.get("keys", [])):
                return
            data = {name: [k for k in record.data.get(name, []) if k not in gone] for name in ("keys", "large")}
            try:
                self.ledger.transition(record.key, record, data=data)
                return
            except LedgerConflictError:
                continue
        raise LedgerConflictError(f"{slots_key(region)}: too much contention")

    def heal(self, region: str, records: dict[str, Record], now: dt.datetime) -> int:
        """Release keys whose copy record has ended or vanished, or that stayed PENDING past a grace
        period (a crash between acquiring the slot and claiming the record); returns how many."""
        keys, _ = self.held(region)

        def ended_in(found: dict[str, Record], key: str) -> bool:
            record = found.get(key)
            return (record is None or record.state in (State.DONE, State.FAILED, State.CANCELLED)
                    or (record.state is State.PENDING and now - record.updated_at > STALE_PENDING))

        # `records` is the caller's snapshot: a concurrent tick may have claimed a key since (a queued record
        # keeps its creation time while PENDING, so it looks stale the moment it gets a slot). Re-read first.
        candidates = [k for k in keys if ended_in(records, k)]
        fresh = {k: r for k in candidates if (r := self.ledger.get(k)) is not None}
        ended = [k for k in candidates if ended_in(fresh, k)]
        if ended:
            self.release(region, ended)
        return len(ended)
