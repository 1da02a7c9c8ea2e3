"""The ledger: idempotency that follows the cloud task (design.md "The ledger").

``open_store(url)`` picks a backend by URL scheme from ``STORE_FACTORIES`` (OSS registers
itself there later without this module importing an SDK). ``Ledger`` holds the shared logic:
event dedupe, create-if-absent intents, and compare-and-set transitions checked against the
state machine in ``ALLOWED``.

Examples
--------
>>> ledger = Ledger(open_store("memory://"))
>>> rec, created = ledger.ensure(Record(key=copy_key("cn-hangzhou", "m-1", "cn-beijing"), kind="copy"))
>>> created, ledger.ensure(rec)[1]
(True, False)
>>> ledger.transition(rec.key, rec, state=State.STARTED, cloud_id="m-2").state
<State.STARTED: 'STARTED'>
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from shared.errors import ConfigError, LedgerConflictError, LedgerTransitionError
from shared.ledger.record import (
    ACTIVE_STATES,
    FINAL_STATES,
    Record,
    State,
    copy_key,
    event_key,
    utcnow,
)
from shared.ledger.store.base import LedgerStore
from shared.ledger.store.memory import MemoryStore
from shared.ledger.store.sqlite import SqliteStore


def _sqlite_from_url(url: str) -> LedgerStore:
    # SQLAlchemy convention: sqlite:///relative.db, sqlite:////abs/path.db
    return SqliteStore(url[len("sqlite:///") :])


def _oss_from_url(url: str) -> LedgerStore:
    # Imported on first use: the OSS store pulls in oss2 through shared.clouds.oss, which a
    # function on SQLite or memory must not pay for at cold start.
    from shared.ledger.store.oss import open_oss_store

    return open_oss_store(url)


STORE_FACTORIES: dict[str, Callable[[str], LedgerStore]] = {
    "memory": lambda _url: MemoryStore(),
    "sqlite": _sqlite_from_url,
}


def register_store(scheme: str, factory: Callable[[str], LedgerStore]) -> None:
    """Plug a backend in by URL scheme (e.g. ``oss`` from ``shared/clouds``)."""
    STORE_FACTORIES[scheme] = factory


register_store("oss", _oss_from_url)


def open_store(url: str) -> LedgerStore:
    """Open the store named by ``url``: ``memory://``, ``sqlite:///path`` or a plain file path.

    ``memory://`` gives a fresh, empty store each call.
    """
    if "://" not in url:
        return SqliteStore(url)
    scheme = url.split("://", 1)[0]
    if scheme == "sqlite" and not url.startswith("sqlite:///"):
        raise ConfigError("sqlite URLs need three slashes: sqlite:///<path>", field="IMAGE_RELAY_STATE")
    factory = STORE_FACTORIES.get(scheme)
    if factory is None:
        known = ", ".join(sorted(STORE_FACTORIES))
        raise ConfigError(f"unknown ledger scheme {scheme!r} (known: {known})", field="IMAGE_RELAY_STATE")
    return factory(url)


# Which state may follow which. Same-state writes are allowed for active states (progress,
# next_attempt_at) and for FAILED (a newer reason). DONE and CANCELLED are final: only an
# explicit retry (``force=True``) re-opens them. FAILED goes back to PENDING only when the
# failure was marked retryable, or by an explicit retry.
ALLOWED: dict[State, frozenset[State]] = {
    State.PENDING: frozenset({State.PENDING, State.STARTED, State.DONE, State.FAILED, State.CANCELLED}),
    State.STARTED: frozenset({State.STARTED, State.DONE, State.FAILED, State.CANCELLED, State.PENDING}),
    State.FAILED: frozenset({State.FAILED, State.CANCELLED}),
    State.DONE: frozenset(),
    State.CANCELLED: frozenset(),
}


def check_transition(current: Record, new_state: State, *, force: bool = False) -> None:
    """Raise ``LedgerTransitionError`` unless ``current.state -> new_state`` is allowed.

    A running task never goes back to PENDING (invariant 7): once a STARTED record carries the cloud
    task's id (ImageId, TaskId, SyncTaskId), re-queueing it would start a second task under a new
    ClientToken; not even a person's ``force`` may. A STARTED claim without an id may be re-queued.
    """
    if current.state is State.STARTED and current.cloud_id and new_state is State.PENDING:
        raise LedgerTransitionError(f"{current.key}: STARTED with {current.cloud_id} -> PENDING would "
                                    "restart a running task")
    if new_state in ALLOWED[current.state]:
        return
    if current.state is State.FAILED and new_state is State.PENDING and (current.retryable or force):
        return
    if force and current.state in FINAL_STATES and new_state is State.PENDING:
        return
    raise LedgerTransitionError(f"{current.key}: {current.state.value} -> {new_state.value} is not allowed")


def lease_of(record: Record, now: dt.datetime) -> tuple[str | None, dt.datetime | None]:
    """(owner, expiry) of the live lease on ``record`` at ``now``; (None, expiry-or-None) if none is live.

    A lease without a parseable expiry counts as lapsed: a record must never be stuck forever.
    """
    owner = record.data.get("lease_owner")
    raw = record.data.get("lease_expires_at")
    try:
        expires = dt.datetime.fromisoformat(str(raw)) if raw else None
    except ValueError:
        expires = None
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=dt.timezone.utc)
    if owner and expires is not None and expires > now:
        return str(owner), expires
    return None, expires


class Ledger:
    """Idempotency logic over any ``LedgerStore``; ``clock`` is injectable for tests."""

    def __init__(self, store: LedgerStore, *, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.store = store
        self._clock = clock

    def remember_event(self, event_id: str) -> bool:
        """True the first time ``event_id`` is seen, False for every redelivery.

        Call it after the event's intents are ensured: intents are idempotent, so a crash in
        between only costs a harmless second pass, whereas remembering first could drop work.
        """
        now = self._clock()
        record = Record(
            key=event_key(event_id),
            kind="event",
            state=State.DONE,
            created_at=now,
            updated_at=now,
            data={"event_id": event_id},
        )
        return self.store.create(record)

    def ensure(self, record: Record) -> tuple[Record, bool]:
        """Create ``record`` if its key is absent; return (stored record, created?)."""
        if self.store.create(record):
            return record.model_copy(update={"version": 1}), True
        existing = self.store.get(record.key)
        if existing is None:  # created then removed between our two calls: treat as a lost race
            raise LedgerConflictError(f"{record.key}: vanished during ensure")
        return existing, False

    def transition(self, key: str, expected: Record, *, force: bool = False, **changes: Any) -> Record:
        """Compare-and-set ``expected`` to ``expected`` + ``changes``; returns the stored record.

        Raises ``LedgerConflictError`` if someone else wrote first (re-read and decide again),
        ``LedgerTransitionError`` if the state machine forbids the change. Moving a DONE or CANCELLED
        record to the state it has writes nothing and returns ``expected``. ``attempt`` is
        bumped automatically when the record re-enters PENDING from another state, so the
        restarted work gets a fresh ClientToken.
        """
        if expected.key != key:
            raise ValueError(f"expected record is {expected.key!r}, not {key!r}")
        new_state = State(changes.get("state", expected.state))
        if new_state is expected.state and expected.is_final and not force:
            # Reaching the final state a record already has (two ticks completing one copy) is a
            # no-op, not an error that would drop the rest of a tick (invariant 7).
            return expected
        check_transition(expected, new_state, force=force)
        if new_state is State.PENDING and expected.state is not State.PENDING and "attempt" not in changes:
            changes["attempt"] = expected.attempt + 1
        if new_state in (State.STARTED, State.DONE):
            # A failure reason from an earlier attempt would mislead whoever reads a success.
            changes.setdefault("reason", None)
            changes.setdefault("retryable", False)
        changes.setdefault("updated_at", self._clock())
        changes.pop("version", None)
        changes.pop("key", None)
        merged = {**expected.model_dump(), **changes, "state": new_state}
        new = Record.model_validate(merged)
        return self.store.replace(new, expected_version=expected.version)

    # -- leases: who is working on an in-progress record ----------------------------------------
    #
    # Why: some cloud calls have no ClientToken (ExportImage, CreateRepoSyncTask). An invocation
    # that claimed such a record and then crashed leaves it PENDING/STARTED with nobody driving
    # it. A lease (``data.lease_owner`` + ``data.lease_expires_at``) says how long the claimer is
    # presumed alive; once it lapses, a reconcile tick calls ``take_over`` to resume the work
    # (first looking for the task the crashed invocation may have started). Both are plain
    # compare-and-set transitions, so they work on every store that implements ``replace``:
    # of N racers reading the same version, exactly one wins and the rest get a conflict.

    def claim(
        self, key: str, expected: Record, *, owner: str, lease_seconds: float, now: dt.datetime | None = None
    ) -> Record:
        """Take (or renew) the lease on an in-progress record by compare-and-set on ``expected``.

        Raises ``LedgerConflictError`` if another owner holds a live lease or someone wrote
        first, ``LedgerTransitionError`` if the record is not in progress.

        Examples
        --------
        >>> ledger = Ledger(open_store("memory://"))
        >>> rec, _ = ledger.ensure(Record(key="export/cn-hangzhou/m-1/RAW", kind="export"))
        >>> ledger.claim(rec.key, rec, owner="req-1", lease_seconds=300).data["lease_owner"]
        'req-1'
        """
        now = now or self._clock()
        if not expected.is_active:
            raise LedgerTransitionError(f"{key}: cannot claim a {expected.state.value} record")
        holder, _ = lease_of(expected, now)
        if holder is not None and holder != owner:
            raise LedgerConflictError(f"{key}: leased by {holder}")
        return self._lease(key, expected, owner, lease_seconds, now)

    def take_over(
        self, key: str, *, owner: str, lease_seconds: float, now: dt.datetime | None = None
    ) -> Record:
        """Resume an in-progress record whose lease has lapsed (or that never had one).

        Reads the record and compare-and-sets a new lease on the version it read. Raises
        ``LedgerConflictError`` when the record is missing or not in progress, the lease is
        still live (even our own: renew with ``claim``), or another racer took over first.
        Called by the reconcile tick, e.g. for an ExportImage a crashed invocation claimed.

        Examples
        --------
        >>> import datetime as dt
        >>> ledger = Ledger(open_store("memory://"))
        >>> rec, _ = ledger.ensure(Record(key="export/cn-hangzhou/m-1/RAW", kind="export"))
        >>> t0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
        >>> _ = ledger.claim(rec.key, rec, owner="crashed", lease_seconds=60, now=t0)
        >>> later = t0 + dt.timedelta(seconds=61)
        >>> ledger.take_over(rec.key, owner="tick-2", lease_seconds=60, now=later).data["lease_owner"]
        'tick-2'
        """
        now = now or self._clock()
        current = self.store.get(key)
        if current is None:
            raise LedgerConflictError(f"{key}: no such record to take over")
        if not current.is_active:
            raise LedgerConflictError(f"{key}: {current.state.value}, not in progress")
        holder, expires = lease_of(current, now)
        if holder is not None:
            raise LedgerConflictError(f"{key}: lease of {holder} is live until {expires.isoformat() if expires else '?'}")
        return self._lease(key, current, owner, lease_seconds, now)

    def _lease(self, key: str, expected: Record, owner: str, lease_seconds: float, now: dt.datetime) -> Record:
        expires = now + dt.timedelta(seconds=lease_seconds)
        data = {**expected.data, "lease_owner": owner, "lease_expires_at": expires.isoformat()}
        return self.transition(key, expected, data=data, updated_at=now)

    def get(self, key: str) -> Record | None:
        """The record for ``key``, or None."""
        return self.store.get(key)

    def scan(self, prefix: str) -> Iterator[Record]:
        """Records under ``prefix`` in key order."""
        return self.store.scan(prefix)

    def scan_where(self, prefix: str, keep: Callable[[str], bool]) -> Iterator[Record]:
        """Records under ``prefix`` whose key ``keep`` accepts; the store decides on the key before reading
        the record where it can (``LedgerStore.scan_keys``)."""
        scan_keys = getattr(self.store, "scan_keys", None)
        if scan_keys is None:  # a store wrapper without it (tests, fault injection)
            return (r for r in self.store.scan(prefix) if keep(r.key))
        return scan_keys(prefix, keep)  # type: ignore[no-any-return]

    def scan_active(self, prefix: str, keep: Callable[[str], bool] | None = None) -> Iterator[Record]:
        """Records under ``prefix`` (whose key ``keep`` accepts) that are not finished: what a tick works on.
        On OSS the finished ones are skipped without being read (``OssStore.scan_active``)."""
        scan_active = getattr(self.store, "scan_active", None)
        if scan_active is None:  # a store wrapper without it
            return (r for r in self.store.scan(prefix) if not r.is_finished and (keep is None or keep(r.key)))
        return scan_active(prefix, keep)  # type: ignore[no-any-return]

    def active_and_finished(self, prefix: str, keep: Callable[[str], bool] | None = None,
                            ) -> tuple[list[Record], dict[str, State]]:
        """`scan_active` and `finished_states` in one pass (on OSS: one listing)."""
        both = getattr(self.store, "active_and_finished", None)
        if both is not None:
            return both(prefix, keep)  # type: ignore[no-any-return]
        return list(self.scan_active(prefix, keep)), self.finished_states(prefix)

    def finished_states(self, prefix: str) -> dict[str, State]:
        """Key → state of every finished record under ``prefix`` (on OSS from the listing alone)."""
        finished = getattr(self.store, "finished_states", None)
        if finished is None:
            return {r.key: r.state for r in self.store.scan(prefix) if r.is_finished}
        return finished(prefix)  # type: ignore[no-any-return]

    def by_state(self, prefix: str, *states: State) -> Iterator[Record]:
        """Records under ``prefix`` in any of ``states`` (all states when none given)."""
        wanted = frozenset(states)
        return (r for r in self.store.scan(prefix) if not wanted or r.state in wanted)

    def close(self) -> None:
        """Close the underlying store."""
        self.store.close()


__all__ = [
    "ACTIVE_STATES",
    "ALLOWED",
    "FINAL_STATES",
    "STORE_FACTORIES",
    "Ledger",
    "LedgerStore",
    "MemoryStore",
    "Record",
    "SqliteStore",
    "State",
    "check_transition",
    "copy_key",
    "event_key",
    "lease_of",
    "open_store",
    "register_store",
]
