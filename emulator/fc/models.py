"""The FC backend: registered functions, sync runs, async runs on worker threads, stateful invocations.

Functions are registered in-process (``FcBackend.register``): the emulator never imports the project's code;
``scripts/local.py`` passes a runner ``(event: bytes, context: dict) -> bytes | str`` per function. The
context dict mirrors FC 2.0's Python context (alibaba-api.md §5)::

    {"request_id", "credentials": {"access_key_id", "access_key_secret", "security_token"},
     "function": {"name", "handler", "memory", "timeout"}, "service": {"name", "qualifier"},
     "region", "account_id", "invocation_type": "Sync"|"Async", "attempt": 0..}

``credentials`` is the AccessKey pair that signed the InvokeFunction call (router deliveries use the first
AccessKey of the emulator: UNCONFIRMED stand-in for the service role's STS triple).

UNCONFIRMED choices:

* a runner that raises is an ``UnhandledInvocationError``: sync → 200, header ``X-Fc-Error-Type:
  UnhandledInvocationError``, body ``{"errorMessage": str(exc), "errorType": class name, "stackTrace": [lines]}``;
  async → retried at once (no backoff) up to ``fc_async_retries`` (default 3) more times, then ``Failed``;
* the function ``timeout`` is reported in the context only, never enforced (a thread cannot be killed);
* a return value that is neither bytes nor str is sent as JSON; ``None`` as an empty body;
* stateful ids are remembered until ``reset`` (real retention UNCONFIRMED) and are per function;
* times (``startedTime``, ``endTime``) are the virtual clock in epoch milliseconds;
* an async invocation without a stateful id is recorded too, under its request id (not answered by
  GetStatefulAsyncInvocation, which sees stateful ones only);
* ``X-Fc-Async-Delay: <seconds>`` (async, documented range [0, 3600], help.aliyun.com/document_detail/181866):
  the invocation is recorded ``Enqueued`` at once (a repeated stateful id is a 409 at once) and handed to a
  worker when the virtual clock reaches ``now + delay`` (``FcService.settle``; with a running clock the
  router's ticker fires it). A value outside the range, or not an integer, is 400 ``InvalidArgument``
  (UNCONFIRMED: the documentation gives the range, not the error). ``dueTime`` (epoch ms) in the invocation
  JSON is the emulator's own field (UNCONFIRMED name), for tests and drivers; a delayed invocation is not
  counted by ``wait_idle`` until it fires, so a driver advances the clock to ``next_due()`` first;
* ``X-Fc-Log-Type: Tail`` (sync) answers ``X-Fc-Log-Result``: base64 of the last 4 KB of
  ``FC Invoke Start RequestId: <id>`` + the log records the handler's thread emitted + ``FC Invoke End …``.
"""

from __future__ import annotations

import base64
import heapq
import json
import logging
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulator.fc import exceptions as exc

if TYPE_CHECKING:
    from emulator.core.state import State

Runner = Callable[[bytes, dict[str, Any]], Any]

DEFAULT_REGION = "cn-hangzhou"
LOG_TAIL_BYTES = 4096


@dataclass
class FunctionSpec:
    """One registered function."""

    service: str
    name: str
    runner: Runner
    timeout: int = 60
    handler: str = "index.handler"
    memory: int = 512


@dataclass
class Invocation:
    """An async invocation (stateful or not) and its lifecycle."""

    invocation_id: str
    request_id: str
    service: str
    function: str
    qualifier: str
    payload: bytes
    stateful: bool
    status: str = "Enqueued"
    started_time: int = 0
    end_time: int = 0
    already_retried: int = 0
    error_message: str = ""
    return_payload: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    due_time: int = 0

    def to_json(self) -> dict[str, Any]:
        """The ``StatefulAsyncInvocation`` JSON (camelCase, alibaba-api.md §5)."""
        return {
            "invocationId": self.invocation_id,
            "status": self.status,
            "startedTime": self.started_time,
            "endTime": self.end_time,
            "alreadyRetriedTimes": self.already_retried,
            "destinationStatus": "",
            "invocationErrorMessage": self.error_message,
            "invocationPayload": self.payload.decode("utf-8", "replace"),
            "returnPayload": self.return_payload,
            "requestId": self.request_id,
            "instanceId": "",
            "durationMs": max(0, self.end_time - self.started_time) if self.end_time else 0,
            "qualifier": self.qualifier,
            "serviceName": self.service,
            "functionName": self.function,
            "events": list(self.events),
            "dueTime": self.due_time,
        }


@dataclass
class RunResult:
    """What a sync run produced."""

    body: bytes
    error_type: str | None = None
    log: str = ""


def encode_result(value: Any) -> bytes:
    """bytes as is, str as UTF-8, None as empty, anything else as JSON."""
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value, default=str).encode()


def error_payload(error: BaseException) -> dict[str, Any]:
    """The UNCONFIRMED body of an unhandled invocation error."""
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "stackTrace": [line.rstrip("\n") for line in traceback.format_exception(error)][-20:],
    }


class _ThreadLog(logging.Handler):
    """Collects the log records emitted by one thread (the Tail log of a sync invocation)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.thread = threading.get_ident()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.lines.append(f"{record.levelname} {record.getMessage()}")


class FcBackend:
    """Functions, invocations and the async worker pool of one emulator."""

    def __init__(self, state: State, region: str = DEFAULT_REGION, workers: int = 8) -> None:
        self.state = state
        self.region = region
        self.functions: dict[tuple[str, str], FunctionSpec] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fc-async")
        self.reset()

    # --- registry ------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every invocation (registered functions stay: they are code, not state)."""
        with self._lock:
            self.invocations: dict[tuple[str, str, str], Invocation] = {}
            # (due epoch, sequence, spec, invocation, credentials) of delayed async invocations
            self._delayed: list[tuple[float, int, FunctionSpec, Invocation, tuple[str, str, str]]] = []
            self._sequence = 0

    def register(
        self, service: str, function: str, runner: Runner, timeout: int = 60, handler: str = "", memory: int = 512
    ) -> FunctionSpec:
        """Register (or replace) ``service/function`` run by ``runner``."""
        spec = FunctionSpec(service, function, runner, timeout, handler or f"{function}.handler", memory)
        self.functions[(service, function)] = spec
        return spec

    def lookup(self, service: str, function: str) -> FunctionSpec:
        """Return the function or raise ``ServiceNotFound`` / ``FunctionNotFound``."""
        spec = self.functions.get((service, function))
        if spec is not None:
            return spec
        if not any(s == service for s, _ in self.functions):
            raise exc.ServiceNotFoundError(service)
        raise exc.FunctionNotFoundError(service, function)

    def find(self, function: str) -> FunctionSpec | None:
        """The first registered function named ``function`` in any service (router fallback)."""
        return next((s for (_, name), s in self.functions.items() if name == function), None)

    def default_credentials(self) -> tuple[str, str, str]:
        """The first AccessKey of the emulator (router deliveries run with it)."""
        key_id, secret = next(iter(self.state.access_keys.items()))
        return key_id, secret, ""

    # --- running -------------------------------------------------------------------------------------

    def context(
        self, spec: FunctionSpec, request_id: str, credentials: tuple[str, str, str], qualifier: str,
        invocation_type: str, attempt: int = 0,
    ) -> dict[str, Any]:
        """The FC-like context dict handed to the runner."""
        key_id, secret, token = credentials
        return {
            "request_id": request_id,
            "credentials": {"access_key_id": key_id, "access_key_secret": secret, "security_token": token},
            "function": {"name": spec.name, "handler": spec.handler, "memory": spec.memory, "timeout": spec.timeout},
            "service": {"name": spec.service, "qualifier": qualifier},
            "region": self.region,
            "account_id": self.state.account_id,
            "invocation_type": invocation_type,
            "attempt": attempt,
        }

    def run_sync(
        self, spec: FunctionSpec, body: bytes, request_id: str, credentials: tuple[str, str, str], qualifier: str,
        tail: bool = False,
    ) -> RunResult:
        """Run the function in the calling thread (never with the state lock held)."""
        ctx = self.context(spec, request_id, credentials, qualifier, "Sync")
        capture = _ThreadLog() if tail else None
        if capture is not None:
            logging.getLogger().addHandler(capture)
        try:
            result = RunResult(encode_result(spec.runner(body, ctx)))
        except Exception as error:  # the function's own failure: an UnhandledInvocationError
            result = RunResult(json.dumps(error_payload(error)).encode(), "UnhandledInvocationError")
        finally:
            if capture is not None:
                logging.getLogger().removeHandler(capture)
        if capture is not None:
            lines = [f"FC Invoke Start RequestId: {request_id}", *capture.lines, f"FC Invoke End RequestId: {request_id}"]
            raw = ("\n".join(lines) + "\n").encode()[-LOG_TAIL_BYTES:]
            result.log = base64.b64encode(raw).decode()
        return result

    def submit_async(
        self, spec: FunctionSpec, body: bytes, request_id: str, credentials: tuple[str, str, str], qualifier: str,
        stateful_id: str | None = None, delay: float = 0.0,
    ) -> Invocation:
        """Record an async invocation (409 on a duplicate stateful id) and queue it on a worker thread, or,
        with a ``delay`` in seconds, keep it until the virtual clock reaches its due time (``fire_due``)."""
        invocation_id = stateful_id or request_id
        key = (spec.service, spec.name, invocation_id)
        with self._lock:
            if stateful_id is not None and key in self.invocations:
                raise exc.StatefulAsyncInvocationAlreadyExistsError(stateful_id)
            inv = Invocation(invocation_id, request_id, spec.service, spec.name, qualifier, body, stateful_id is not None)
            inv.events.append(self._event("Enqueued"))
            self.invocations[key] = inv
            if delay > 0:
                due = self.state.clock.now() + delay
                inv.due_time = int(due * 1000)
                self._sequence += 1
                heapq.heappush(self._delayed, (due, self._sequence, spec, inv, credentials))
                return inv
            self._pending += 1
        self._start(spec, inv, credentials)
        return inv

    def next_due(self) -> float | None:
        """The virtual epoch at which the next delayed invocation is due, or None."""
        with self._lock:
            return self._delayed[0][0] if self._delayed else None

    def fire_due(self, now: float) -> int:
        """Hand every delayed invocation due at ``now`` to a worker, oldest first; return how many."""
        due = []
        with self._lock:
            while self._delayed and self._delayed[0][0] <= now:
                due.append(heapq.heappop(self._delayed))
            self._pending += len(due)
        for _, _, spec, inv, credentials in due:
            self._start(spec, inv, credentials)
        return len(due)

    def _start(self, spec: FunctionSpec, inv: Invocation, credentials: tuple[str, str, str]) -> None:
        try:
            self._pool.submit(self._run_async, spec, inv, credentials)
        except RuntimeError:  # pool shut down
            with self._lock:
                self._pending -= 1
                self._idle.notify_all()
            raise

    def _event(self, status: str, detail: str = "") -> dict[str, Any]:
        return {"eventId": 0, "status": status, "timestamp": self._ms(), "eventDetail": detail}

    def _ms(self) -> int:
        return int(self.state.clock.now() * 1000)

    def _run_async(self, spec: FunctionSpec, inv: Invocation, credentials: tuple[str, str, str]) -> None:
        """Run with retries: Running → Succeeded | Retrying → … → Failed."""
        try:
            retries = self.state.config.fc_async_retries
            attempt = 0
            while True:
                with self._lock:
                    inv.status = "Running"
                    if not inv.started_time:
                        inv.started_time = self._ms()
                    inv.events.append(self._event("Started" if attempt == 0 else "Retried"))
                ctx = self.context(spec, inv.request_id, credentials, inv.qualifier, "Async", attempt)
                try:
                    value = encode_result(spec.runner(inv.payload, ctx))
                except Exception as error:  # retried like FC's function errors
                    with self._lock:
                        inv.error_message = f"UnhandledInvocationError: {error}"
                        if attempt < retries:
                            attempt += 1
                            inv.already_retried = attempt
                            inv.status = "Retrying"
                            inv.events.append(self._event("Retrying", str(error)))
                            continue
                        inv.status = "Failed"
                        inv.end_time = self._ms()
                        inv.events.append(self._event("Failed", str(error)))
                    return
                with self._lock:
                    inv.status = "Succeeded"
                    inv.return_payload = value.decode("utf-8", "replace")
                    inv.end_time = self._ms()
                    inv.events.append(self._event("Succeeded"))
                return
        finally:
            with self._lock:
                self._pending -= 1
                self._idle.notify_all()

    def get_invocation(self, service: str, function: str, invocation_id: str) -> Invocation:
        """A stateful invocation or ``StatefulAsyncInvocationNotFound``."""
        with self._lock:
            inv = self.invocations.get((service, function, invocation_id))
        if inv is None or not inv.stateful:
            raise exc.StatefulAsyncInvocationNotFoundError(invocation_id)
        return inv

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no async invocation is queued or running; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    @property
    def pending(self) -> int:
        """Async invocations queued or running."""
        return self._pending

    def shutdown(self) -> None:
        """Stop accepting async work (running invocations finish)."""
        self._pool.shutdown(wait=False)
