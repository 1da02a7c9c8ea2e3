"""The one loop every executor runs its actions through, and the planned step it applies.

Why shared: the rules are the same for copies, exports and ACR syncs. Work stops at the invocation
deadline (the rest waits for the next tick); a lost compare-and-set means another invocation acted
first; a cloud error leaves the record where it was for the next tick. None of them aborts the loop.

A step applies only to the record version it was planned from (invariant 7, issue #10 defect 6): a
slow tick whose plan is older than the record (another tick moved it meanwhile) skips the step,
logged as ``<kind>.stale_step``, instead of applying an old decision to a new state. The executor
reads the record (``planned_record``) and every write is a compare-and-set on that very version.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from shared.errors import CloudError, DeadlineExceededError, LedgerConflictError, LedgerTransitionError
from shared.ledger.record import Record
from shared.logs import get_logger
from shared.runtime import Deadline

log = get_logger(__name__)
A = TypeVar("A")
S = TypeVar("S")


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
              deadline: Deadline | None, *, kind: str) -> Counter[str]:
    """Run `apply_one` on each action, counting deferrals, lost races and cloud errors in `outcomes`."""
    for action in actions:
        if deadline is not None and deadline.expired():
            outcomes["deferred"] += 1
            continue
        try:
            apply_one(action)
        except StaleStepError as exc:
            outcomes["stale"] += 1
            log.info(f"{kind}.stale_step", extra={"key": getattr(action, "key", None),
                                                  "action": type(action).__name__, "detail": exc.message})
        except LedgerConflictError:
            outcomes["lost_race"] += 1
        except LedgerTransitionError as exc:
            # A step the state machine refuses (e.g. re-queueing a running copy) is skipped; the rest of
            # the tick goes on.
            outcomes["refused_transition"] += 1
            log.warning(f"{kind}.transition_refused", extra={"key": getattr(action, "key", None),
                                                             "action": type(action).__name__,
                                                             "detail": exc.message})
        except DeadlineExceededError:
            outcomes["deferred"] += 1
        except CloudError as exc:
            outcomes["cloud_error"] += 1
            log.warning(f"{kind}.action_failed", extra={"key": getattr(action, "key", None),
                                                        "action": type(action).__name__, **exc.log_fields()})
    return outcomes
