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


STORE_FACTORIES: dict[str, Callable[[str], LedgerStore]] = {
    "memory": lambda _url: MemoryStore(),
    "sqlite": _sqlite_from_url,
}


def register_store(scheme: str, factory: Callable[[str], LedgerStore]) -> None:
    """Plug a backend in by URL scheme (e.g. ``oss`` from ``shared/clouds``)."""
    STORE_FACTORIES[scheme] = factory


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
    """Raise ``LedgerTransitionError`` unless ``current.state -> new_state`` is allowed."""
    if new_state in ALLOWED[current.state]:
        return
    if current.state is State.FAILED and new_state is State.PENDING and (current.retryable or force):
        return
    if force and current.state in FINAL_STATES and new_state is State.PENDING:
        return
    raise LedgerTransitionError(f"{current.key}: {current.state.value} -> {new_state.value} is not allowed")


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
        ``LedgerTransitionError`` if the state machine forbids the change. ``attempt`` is
        bumped automatically when the record re-enters PENDING from another state, so the
        restarted work gets a fresh ClientToken.
        """
        if expected.key != key:
            raise ValueError(f"expected record is {expected.key!r}, not {key!r}")
        new_state = State(changes.get("state", expected.state))
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

    def get(self, key: str) -> Record | None:
        """The record for ``key``, or None."""
        return self.store.get(key)

    def scan(self, prefix: str) -> Iterator[Record]:
        """Records under ``prefix`` in key order."""
        return self.store.scan(prefix)

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
    "open_store",
    "register_store",
]
