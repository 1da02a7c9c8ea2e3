"""Retry with exponential backoff and full jitter on throttling and 5xx, bounded by the deadline.

tenacity does the bookkeeping (a well-kept library beats a hand-written loop); what is ours is the
stop rule: never sleep past the invocation deadline, because FC kills the instance at its timeout
and a half-finished call is worse than a clean "try again next tick".
The SDKs retry nothing by default (alibaba-api.md §7.4), so this is the only retry layer.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception

from shared.errors import CloudError, DeadlineExceededError, ThrottledError
from shared.runtime import Deadline

T = TypeVar("T")


@dataclass
class RetryPolicy:
    """How hard to retry a retryable `CloudError`; `sleep` is injectable for tests."""

    base_seconds: float = 0.5
    cap_seconds: float = 20.0
    max_attempts: int = 6
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    #: calls retried so far, across this policy's life (read by benchmarks and summaries)
    retries: int = 0

    def wait_for(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]."""
        return self.rng.uniform(0, min(self.cap_seconds, self.base_seconds * 2 ** (attempt - 1)))


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, CloudError) and exc.retryable


def _refused_before_acting(exc: BaseException) -> bool:
    return isinstance(exc, ThrottledError)


def call_with_retry(fn: Callable[[], T], policy: RetryPolicy, deadline: Deadline | None = None, *,
                    idempotent: bool = True) -> T:
    """Run `fn`, retrying retryable cloud errors; raise the last error when attempts or time run out.

    A call that is not idempotent (a create with no ClientToken, such as CreateRepoSyncTask) is
    retried only on throttling, which the service answers before acting: after a 5xx or a lost
    answer it may have acted, so the caller must look before it calls again.
    """
    if deadline is not None:
        deadline.check()

    def stop(state: RetryCallState) -> bool:
        if state.attempt_number >= policy.max_attempts:
            return True
        wait = policy.wait_for(state.attempt_number)
        state.next_wait = wait  # type: ignore[attr-defined]
        return deadline is not None and deadline.remaining() <= wait

    def wait(state: RetryCallState) -> float:
        return float(getattr(state, "next_wait", 0.0))

    def before_sleep(state: RetryCallState) -> None:
        policy.retries += 1

    retrying = Retrying(
        retry=retry_if_exception(_retryable if idempotent else _refused_before_acting),
        stop=stop,
        wait=wait,
        sleep=policy.sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        return retrying(fn)
    except DeadlineExceededError:
        raise
