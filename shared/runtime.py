"""The FC 2.0 Python runtime contract, as typed stand-ins (alibaba-api.md §5).

Why: handlers are called by FC with a context object we cannot import. These frozen
dataclasses have the same attribute names, so code typed against ``FCContext`` works with
the real object, and tests and the CLI can build one with ``make_local_context``.
FC gives no ``get_remaining_time_in_millis``; ``Deadline`` computes it from
``function.timeout`` measured from handler entry.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.errors import DeadlineExceededError


@dataclass(frozen=True)
class FCCredentials:
    """STS triple of the service role (``context.credentials``)."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str = field(repr=False)


@dataclass(frozen=True)
class FCFunction:
    """``context.function``: timeout is in seconds, memory in MB."""

    name: str
    handler: str
    memory: int
    timeout: int


@dataclass(frozen=True)
class FCService:
    """``context.service``."""

    name: str
    log_project: str = ""
    log_store: str = ""
    qualifier: str = "LATEST"
    version_id: str = ""


@dataclass(frozen=True)
class FCContext:
    """Duck-type compatible with FC's Python ``context`` object."""

    request_id: str
    credentials: FCCredentials | None
    function: FCFunction
    service: FCService
    region: str
    account_id: str


def make_local_context(
    function_name: str,
    *,
    timeout: int = 300,
    credentials: FCCredentials | None = None,
    region: str = "cn-hangzhou",
    account_id: str = "1234567890123456",
) -> FCContext:
    """Build a context for local runs and tests.

    Examples
    --------
    >>> make_local_context("reconcile", timeout=60).function.timeout
    60
    """
    return FCContext(
        request_id=str(uuid.uuid4()),
        credentials=credentials,
        function=FCFunction(
            name=function_name,
            handler=f"{function_name}.handler",
            memory=512,
            timeout=timeout,
        ),
        service=FCService(name="image-relay"),
        region=region,
        account_id=account_id,
    )


class Deadline:
    """Time left in this invocation, minus a safety margin for writing the ledger.

    Create it at handler entry. ``check()`` raises ``DeadlineExceededError`` so long loops
    stop cleanly and leave the rest to the next tick.

    Examples
    --------
    >>> d = Deadline(10.0, clock=lambda: 0.0)
    >>> d.remaining()
    10.0
    """

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + seconds

    @classmethod
    def from_context(
        cls,
        context: Any,
        safety_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> Deadline:
        """Deadline at ``function.timeout - safety_seconds`` from now (never negative)."""
        timeout = float(getattr(getattr(context, "function", None), "timeout", 0) or 0)
        return cls(max(0.0, timeout - safety_seconds), clock=clock)

    def remaining(self) -> float:
        """Seconds left, never below zero."""
        return max(0.0, self._end - self._clock())

    def expired(self) -> bool:
        """True once no time is left."""
        return self.remaining() <= 0.0

    def check(self) -> None:
        """Raise ``DeadlineExceededError`` if the deadline has passed."""
        if self.expired():
            raise DeadlineExceededError("invocation deadline reached")
