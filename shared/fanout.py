"""Fan a reconcile tick out by destination region, behind one interface.

In production the fan-out is FC async invocations with stateful invocation ids (a duplicate id is
refused with 409 `StatefulAsyncInvocationAlreadyExists`, so a redelivered parent tick cannot start a
partition twice). Until the FC emulator exists, `LocalFanOut` runs the partitions in-process on a
thread pool with the same duplicate-id rule, so the partitioning is exercised end to end today.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from shared.errors import DuplicateInvocationError


class FanOut(Protocol):
    """Start `function` asynchronously with `payload`, at most once per `invocation_id`."""

    def submit(self, function: str, payload: dict[str, Any], invocation_id: str) -> None: ...


class LocalFanOut:
    """In-process fan-out: `run(function, event_bytes)` is called on a thread pool."""

    def __init__(self, run: Callable[[str, bytes], Any], max_workers: int = 4) -> None:
        self._run = run
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="fanout")
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.futures: list[Future[Any]] = []

    def submit(self, function: str, payload: dict[str, Any], invocation_id: str) -> None:
        with self._lock:
            if invocation_id in self._seen:
                raise DuplicateInvocationError(f"invocation {invocation_id} already exists")
            self._seen.add(invocation_id)
        self.futures.append(self._pool.submit(self._run, function, json.dumps(payload).encode()))

    def wait(self) -> list[Any]:
        """Results of every submitted invocation (re-raises a partition's error)."""
        return [f.result() for f in self.futures]


def partitions(regions: list[str], parts: int) -> list[list[str]]:
    """Split destination regions into at most `parts` groups, round-robin (stable)."""
    groups: list[list[str]] = [[] for _ in range(max(1, min(parts, len(regions))))]
    for i, region in enumerate(sorted(regions)):
        groups[i % len(groups)].append(region)
    return [g for g in groups if g]
