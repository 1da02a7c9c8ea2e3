"""Fault injection: crashes (around call_with_retry), ledger-store write failures, a virtual app clock."""
from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any


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
        return self.inner.replace(record, expected_version)

    def get(self, key: str) -> Any:
        return self.inner.get(key)

    def scan(self, prefix: str) -> Iterator[Any]:
        return self.inner.scan(prefix)

    def close(self) -> None:
        self.inner.close()


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

