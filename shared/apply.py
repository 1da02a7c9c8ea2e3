"""The one loop every executor runs its actions through.

Why shared: the rules are the same for copies, exports and ACR syncs. Work stops at the invocation
deadline (the rest waits for the next tick); a lost compare-and-set means another invocation acted
first; a cloud error leaves the record where it was for the next tick. None of them aborts the loop.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from shared.errors import CloudError, DeadlineExceededError, LedgerConflictError
from shared.logs import get_logger
from shared.runtime import Deadline

log = get_logger(__name__)
A = TypeVar("A")


def apply_all(actions: Iterable[A], apply_one: Callable[[A], Any], outcomes: Counter[str],
              deadline: Deadline | None, *, kind: str) -> Counter[str]:
    """Run `apply_one` on each action, counting deferrals, lost races and cloud errors in `outcomes`."""
    for action in actions:
        if deadline is not None and deadline.expired():
            outcomes["deferred"] += 1
            continue
        try:
            apply_one(action)
        except LedgerConflictError:
            outcomes["lost_race"] += 1
        except DeadlineExceededError:
            outcomes["deferred"] += 1
        except CloudError as exc:
            outcomes["cloud_error"] += 1
            log.warning(f"{kind}.action_failed", extra={"key": getattr(action, "key", None),
                                                        "action": type(action).__name__, **exc.log_fields()})
    return outcomes
