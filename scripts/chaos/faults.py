"""Fault injection: crashes (around call_with_retry), ledger-store write failures, a virtual app clock."""
from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

from scripts.chaos.scenario import FAULT_CODES


class SimulatedCrash(BaseException):  # noqa: N818 - it is not an error of ours, it is FC killing the instance
    """The function instance died mid-invocation (FC timeout, OOM, host loss): nothing below may catch it."""


class Crasher:
    """Wraps `call_with_retry`: an invocation given a budget of N calls dies at the (N+1)th, or right
    after the Nth returned (the call ran, its answer is lost with the instance)."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.lock = threading.Lock()
        self.crashes = 0

    def arm(self, budget: int | None, after: bool = False) -> None:
        self.local.budget = budget
        self.local.after = after

    def wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def call_with_retry(fn: Callable[[], Any], policy: Any, deadline: Any = None, **options: Any) -> Any:
            budget = getattr(self.local, "budget", None)
            if budget is None:
                return original(fn, policy, deadline, **options)
            if budget <= 0:
                self._die()
            self.local.budget = budget - 1
            result = original(fn, policy, deadline, **options)
            if budget == 1 and getattr(self.local, "after", False):
                self._die()
            return result

        return call_with_retry

    def _die(self) -> None:
        self.local.budget = None
        with self.lock:
            self.crashes += 1
        raise SimulatedCrash("function instance killed")


class FlakyStore:
    """A ledger store whose `create`/`replace` raise `LedgerStoreError` at `rate` (before writing)."""

    def __init__(self, inner: Any, seed: int) -> None:
        self.inner = inner
        self.rate = 0.0
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.failures = 0
        self.regressions: list[str] = []

    def _maybe_fail(self, what: str) -> None:
        from shared.errors import LedgerStoreError

        with self.lock:
            fail = self.rate > 0 and self.rng.random() < self.rate
            if fail:
                self.failures += 1
        if fail:
            raise LedgerStoreError(f"injected: ledger {what} failed")

    def create(self, record: Any) -> bool:
        self._maybe_fail("create")
        return bool(self.inner.create(record))

    def replace(self, record: Any, expected_version: int) -> Any:
        self._maybe_fail("replace")
        before = self.inner.get(record.key)
        result = self.inner.replace(record, expected_version)
        if before is not None and before.version == expected_version:
            regression = record_regression(before, record)
            if regression:
                with self.lock:
                    self.regressions.append(regression)
        return result

    def get(self, key: str) -> Any:
        return self.inner.get(key)

    def scan(self, prefix: str) -> Iterator[Any]:
        return self.inner.scan(prefix)

    def close(self) -> None:
        self.inner.close()


def record_regression(before: Any, after: Any) -> str | None:
    """Why `before -> after` moves a record backwards (design invariant 7), or None.

    A running cloud task (STARTED with its cloud id) never returns to PENDING; DONE and CANCELLED are final
    (the chaos suite never asks for a manual retry, the one thing that may re-open them). A claim that outlived
    its lease with no cloud id may go back to PENDING: the next start looks the task up before creating one.
    """
    old, new = before.state.value, after.state.value
    if old == "STARTED" and new == "PENDING" and before.cloud_id:
        return f"record regressed: {before.key} STARTED ({before.cloud_id}) -> PENDING"
    if old in ("DONE", "CANCELLED") and new != old:
        return f"record regressed: {before.key} {old} -> {new}"
    return None


def explained_by_fault(exc: BaseException) -> bool:
    """Whether an exception escaping a handler is what an injected fault makes (the platform retries it).

    Throttling, 5xx and lost answers reach us as retryable `CloudError`s once retries are exhausted, and
    injected ledger failures as `LedgerStoreError`; anything else escaping a handler is a finding.
    """
    from shared.errors import CloudError, DeadlineExceededError, LedgerStoreError

    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, (LedgerStoreError, DeadlineExceededError)):
            return True
        if isinstance(cause, CloudError) and (cause.retryable or cause.code in FAULT_CODES):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


class Patches:
    """setattr with undo, so one process can run many runs (and pytest's monkeypatch is not needed)."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []

    def set(self, target: Any, name: str, value: Any) -> None:
        self._undo.append((target, name, getattr(target, name)))
        setattr(target, name, value)

    def undo(self) -> None:
        while self._undo:
            target, name, value = self._undo.pop()
            setattr(target, name, value)


def _shifted_utcnow() -> dt.datetime:
    # Compiled here, run with shared.ledger.record's globals (its __code__ replaces utcnow's): the app's
    # clock follows the emulator's virtual clock, so leases and backoffs lapse in virtual time.
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=CHAOS_CLOCK_OFFSET)  # type: ignore[name-defined] # noqa: F821

