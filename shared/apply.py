"""The kernel every feature applies its plan with: the planned step, the backoff, the claim lease, the
ClientToken, the one loop every executor runs its actions through, and the executor base that moves a
record between states (house-style §12).

Why shared: the rules are the same for copies, exports, ACR syncs, builds and cleanup; a feature
supplies only its planner rules, its typed record payload and its adapter calls. Work stops at the invocation
deadline (the rest waits for the next tick); a lost compare-and-set means another invocation acted
first; a cloud error leaves the record where it was for the next tick. None of them aborts the loop.

A step applies only to the record version it was planned from (invariant 7, issue #10 defect 6): a
slow tick whose plan is older than the record (another tick moved it meanwhile) skips the step,
logged as ``<kind>.stale_step``, instead of applying an old decision to a new state. The executor
reads the record (``planned_record``) and every write is a compare-and-set on that very version.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from shared.errors import CloudError, DeadlineExceededError, LedgerConflictError, LedgerTransitionError
from shared.ledger.record import Record, State
from shared.logs import get_logger
from shared.runtime import Deadline

log = get_logger(__name__)
A = TypeVar("A")
S = TypeVar("S")
P = TypeVar("P", bound="Step")

#: How long a claim without a cloud task id is presumed alive (its invocation may still be calling).
CLAIM_LEASE = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class Backoff:
    """When a retryable failure may be tried again, and how many attempts a record gets."""

    base_seconds: float = 120.0
    cap_seconds: float = 3600.0
    max_attempts: int = 4

    def next_at(self, key: str, attempt: int, now: dt.datetime) -> dt.datetime:
        """Exponential, with jitter derived from the key so the plan stays a pure function."""
        span = min(self.cap_seconds, self.base_seconds * 2 ** max(attempt - 1, 0))
        jitter = int(hashlib.sha256(f"{key}{attempt}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        return now + dt.timedelta(seconds=span * (0.5 + jitter / 2))


def client_token(key: str, attempt: int) -> str:
    """A ≤64-ASCII ClientToken, stable for (business key, attempt): a repeat of the same attempt returns the
    same cloud task, a deliberate retry gets a new one."""
    digest = hashlib.sha256(f"{key}#{attempt}".encode()).hexdigest()
    return f"ir-{digest[:48]}"


@dataclass(frozen=True)
class Step:
    """Base of every planned action of every feature: the ledger record it moves, and the version of
    that record the planner read (None: a step that creates the record, or a person's explicit step
    taken on a record read just before)."""

    key: str
    # Not part of equality: two steps are the same decision whatever version they were planned at.
    version: int | None = dataclasses.field(default=None, kw_only=True, compare=False)


def at_version(step: S, record: Record) -> S:
    """``step`` bound to the version of ``record`` it was planned from."""
    return dataclasses.replace(step, version=record.version)  # type: ignore[type-var]


class StaleStepError(LedgerConflictError):
    """The record moved on since the step was planned: the step is skipped, not applied."""


class _Reader(Protocol):
    def get(self, key: str) -> Record | None: ...


def planned_record(ledger: _Reader, step: Step) -> Record | None:
    """The record ``step`` applies to, at the version it was planned from.

    None when the record does not exist; ``StaleStepError`` when its version is not the planned one.
    """
    record = ledger.get(step.key)
    if record is not None and step.version is not None and record.version != step.version:
        raise StaleStepError(f"{step.key}: planned at version {step.version}, now at {record.version} "
                             f"({record.state.value})")
    return record


def apply_all(actions: Iterable[A], apply_one: Callable[[A], Any], outcomes: Counter[str],
              deadline: Deadline | None, *, kind: str,
              on_skip: Callable[[A, str], Any] | None = None) -> Counter[str]:
    """Run `apply_one` on each action, counting deferrals, lost races and cloud errors in `outcomes`;
    `on_skip(action, outcome)` hears of every action not applied (a report row per action, for cleanup)."""
    for action in actions:
        skipped = _apply_guarded(action, apply_one, outcomes, deadline, kind)
        if skipped is not None and on_skip is not None:
            on_skip(action, skipped)
    return outcomes


def _apply_guarded(action: A, apply_one: Callable[[A], Any], outcomes: Counter[str], deadline: Deadline | None,
                   kind: str) -> str | None:
    """Apply one action; the outcome counted when it was not applied, else None."""
    outcome: str | None = None
    if deadline is not None and deadline.expired():
        outcome = "deferred"
    else:
        outcome = _try(action, apply_one, kind)
    if outcome is not None:
        outcomes[outcome] += 1
    return outcome


def _try(action: A, apply_one: Callable[[A], Any], kind: str) -> str | None:
    where = {"key": getattr(action, "key", None), "action": type(action).__name__}
    try:
        apply_one(action)
    except StaleStepError as exc:
        log.info(f"{kind}.stale_step", extra={**where, "detail": exc.message})
        return "stale"
    except LedgerConflictError:
        return "lost_race"
    except LedgerTransitionError as exc:
        # A step the state machine refuses (e.g. re-queueing a running copy) is skipped; the rest of
        # the tick goes on.
        log.warning(f"{kind}.transition_refused", extra={**where, "detail": exc.message})
        return "refused_transition"
    except DeadlineExceededError:
        return "deferred"
    except CloudError as exc:
        log.warning(f"{kind}.action_failed", extra={**where, **exc.log_fields()})
        return "cloud_error"
    return None

class RecordExecutor(Generic[P]):
    """Base of every feature's executor: one loop (`apply_all`), one read of the planned record, one rule for
    moving a record.

    A subclass sets ``kind`` (the log prefix) and writes ``_apply_to`` (one step on its record, read at the
    planned version); a feature whose plan also creates records applies those steps in its ``_apply_one``
    before handing the rest to this one. It moves records only with ``_move`` and records failures only with
    ``_fail``, so every feature keeps the same fields.
    """

    kind: ClassVar[str] = "record"

    def __init__(self, ledger: Any, *, now: Callable[[], dt.datetime], deadline: Deadline | None = None) -> None:
        self.ledger = ledger
        self.now = now
        self.deadline = deadline
        self.outcomes: Counter[str] = Counter()

    def apply(self, actions: Iterable[P]) -> Counter[str]:
        """Apply every action until the deadline (see `apply_all`)."""
        return apply_all(actions, self._apply_one, self.outcomes, self.deadline, kind=self.kind)

    def _apply_one(self, action: P) -> None:
        """``action`` on its record at the version it was planned from: ``StaleStepError`` when the record
        moved on since (``planned_record``), nothing when it is gone."""
        record = planned_record(self.ledger, action)
        if record is not None:
            self._apply_to(record, action)

    def _apply_to(self, record: Record, action: P) -> None:
        raise NotImplementedError

    def _move(self, record: Record, outcome: str, **changes: Any) -> Record:
        """Compare-and-set ``record`` to its new state, counting ``outcome``.

        The one rule: a change named like a `Record` field (state, attempt, cloud_id, reason, retryable,
        next_attempt_at) and ``force`` go to the ledger's transition; every other name is the feature's
        own and is kept in ``data`` beside what is already there. ``updated_at`` is the executor's clock.
        """
        fields = set(Record.model_fields)
        data = dict(record.data)
        for name in [k for k in changes if k not in fields and k != "force"]:
            data[name] = changes.pop(name)
        updated: Record = self.ledger.transition(record.key, record, data=data, updated_at=self.now(), **changes)
        self.outcomes[outcome] += 1
        return updated

    def _fail(self, record: Record, reason: str, *, retry_at: dt.datetime | None = None, outcome: str | None = None,
              **data: Any) -> Record:
        """What every feature records on failure: FAILED, the reason a person can act on, retryable exactly
        when a retry time is set (then ``next_attempt_at``); ``outcome`` defaults to failed[_retryable]."""
        retryable = retry_at is not None
        return self._move(record, outcome or ("failed_retryable" if retryable else "failed"), state=State.FAILED,
                          reason=reason, retryable=retryable, next_attempt_at=retry_at, **data)
