"""Ledger records: one per business key, following the cloud task (design.md "The ledger").

Why a record per business key rather than per event: at-least-once delivery means the same
intent arrives many times; keying on ``copy/<src>/<image>/<dst>`` makes every duplicate land
on the same record, and the state machine says what is left to do.

``attempt`` feeds the ClientToken. It only changes when a record re-enters PENDING (a
restart), so every CopyImage call made for one attempt carries the same token and ECS
returns the same ImageId even if our ledger write after the call was lost.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.ledger.keys import copy_key, event_key

__all__ = ["Record", "State", "copy_key", "event_key", "utcnow"]

T = TypeVar("T")


class State(str, enum.Enum):
    """Lifecycle of an intent; "in progress" ends when the cloud task ends."""

    PENDING = "PENDING"
    STARTED = "STARTED"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


#: Longest business key a record may have (OSS object keys allow 1023 bytes, with the store's prefix).
MAX_KEY_LENGTH = 1000
FINAL_STATES = frozenset({State.DONE, State.CANCELLED})
ACTIVE_STATES = frozenset({State.PENDING, State.STARTED})


def utcnow() -> dt.datetime:
    """Timezone-aware now in UTC (the ledger never stores naive datetimes)."""
    return dt.datetime.now(dt.timezone.utc)


class Record(BaseModel):
    """One ledger entry; frozen, so every change is a new value written by compare-and-set.

    Examples
    --------
    >>> r = Record(key=copy_key("cn-hangzhou", "m-abc", "cn-beijing"), kind="copy")
    >>> r.state, r.version
    (<State.PENDING: 'PENDING'>, 0)
    """

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")
    #: kind → (the value it was derived from, the derived value), see `cached`. A slot, not a field or a
    #: private attribute: never stored, never compared by ``==``, never carried over by ``model_copy``.
    __slots__ = ("_derived",)

    key: str = Field(min_length=1, max_length=MAX_KEY_LENGTH)
    kind: str = Field(min_length=1, max_length=64)
    state: State = State.PENDING
    cloud_id: str | None = None
    attempt: int = Field(default=0, ge=0)
    reason: str | None = None
    retryable: bool = False
    next_attempt_at: dt.datetime | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    data: dict[str, Any] = Field(default_factory=dict)
    version: int = Field(default=0, ge=0)

    def cached(self, kind: Any, source: Any, derive: Callable[[], T]) -> T:
        """``derive()``, computed once per record for ``kind`` while ``source`` is the same object (a copy of
        the record made with changed data has a new ``source``, so it derives again)."""
        derived: dict[Any, tuple[Any, Any]] | None = getattr(self, "_derived", None)
        if derived is None:
            derived = {}
            object.__setattr__(self, "_derived", derived)  # frozen: the slot is set past pydantic's guard
        hit = derived.get(kind)
        if hit is not None and hit[0] is source:
            return hit[1]  # type: ignore[no-any-return]
        value = derive()
        derived[kind] = (source, value)
        return value

    @field_validator("created_at", "updated_at", "next_attempt_at")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        # Naive datetimes compare wrongly against aware ones; assume UTC as FC's clock is UTC.
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value

    @property
    def is_final(self) -> bool:
        """DONE or CANCELLED: nothing left to do unless a person retries."""
        state = self.state  # identity tests: a str-Enum's hash runs in Python, and a tick asks 10,000 times
        return state is State.DONE or state is State.CANCELLED

    @property
    def is_active(self) -> bool:
        """PENDING or STARTED: a tick still has work to do for this record."""
        state = self.state
        return state is State.PENDING or state is State.STARTED

    @property
    def is_finished(self) -> bool:
        """DONE, CANCELLED, or FAILED for good: no tick will touch it again unless a person retries
        (a retryable FAILED record still waits for its retry, so it is not finished)."""
        state = self.state
        return state is State.DONE or state is State.CANCELLED or (state is State.FAILED and not self.retryable)
