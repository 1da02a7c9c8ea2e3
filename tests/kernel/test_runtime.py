"""FC runtime stand-ins and the invocation Deadline."""

from __future__ import annotations

import pytest

from shared.errors import DeadlineExceededError
from shared.runtime import Deadline, FCCredentials, make_local_context


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_local_context_shape() -> None:
    ctx = make_local_context("reconcile", timeout=60, region="cn-beijing")
    other = make_local_context("reconcile")
    assert ctx.function.name == "reconcile" and ctx.function.timeout == 60
    assert ctx.region == "cn-beijing" and ctx.account_id == "1234567890123456"
    assert ctx.service.qualifier == "LATEST" and ctx.credentials is None
    assert ctx.request_id != other.request_id


def test_fc_credentials_repr_hides_secret() -> None:
    creds = FCCredentials("AKID", "sekrit-value", "tok-value")
    assert "sekrit-value" not in repr(creds) and "tok-value" not in repr(creds)
    assert "AKID" in repr(creds)


def test_deadline_from_context_with_safety_margin() -> None:
    clock = FakeClock()
    deadline = Deadline.from_context(make_local_context("f", timeout=60), safety_seconds=5.0, clock=clock)
    assert deadline.remaining() == 55.0
    clock.now += 50
    assert deadline.remaining() == 5.0 and not deadline.expired()
    deadline.check()
    clock.now += 5
    assert deadline.expired() and deadline.remaining() == 0.0
    with pytest.raises(DeadlineExceededError):
        deadline.check()


def test_deadline_never_negative_for_tiny_timeouts() -> None:
    clock = FakeClock()
    deadline = Deadline.from_context(make_local_context("f", timeout=3), clock=clock)
    assert deadline.remaining() == 0.0 and deadline.expired()


def test_an_invocation_runs_with_the_cyclic_collector_paused_and_restores_it() -> None:
    import gc
    import threading

    from shared.entry import UnexpectedError, fc_handler

    seen: list[bool] = []
    inner_done = threading.Event()

    @fc_handler
    def partition(event: bytes, context: object) -> str:
        seen.append(gc.isenabled())
        return "ok"

    @fc_handler
    def parent(event: bytes, context: object) -> str:
        # a partition run in another thread ends first: the parent's pause must hold until the parent ends
        worker = threading.Thread(target=lambda: (partition(b"", context), inner_done.set()))
        worker.start()
        worker.join()
        seen.append(gc.isenabled())
        return "ok"

    assert gc.isenabled()
    assert parent(b"", make_local_context("reconcile")) == "ok"
    assert inner_done.is_set() and seen == [False, False]
    assert gc.isenabled()
    # a failing invocation restores it too, and a process that had it off keeps it off
    gc.disable()
    try:
        with pytest.raises(UnexpectedError):
            fc_handler(lambda event, context: 1 / 0)(b"", make_local_context("f"))
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(UnexpectedError):
        fc_handler(lambda event, context: 1 / 0)(b"", make_local_context("f"))
    assert gc.isenabled()

