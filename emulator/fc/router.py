"""The event router: delivers emulator events to FC functions as the deployed triggers would.

``EventRouter(fc, template)`` (``fc``: the FC service, or its ``RouterSlot``) reads a deployment template (a dict: ``scripts/local.py`` passes the
parsed ``template.yml``), subscribes to the events the emulator publishes (``State.publish``) and fires timers
on the virtual clock. Every delivery is an **async** invocation (at least once; ``fc_async_retries`` applies),
repeated ``1 + duplicates`` times (tunable ``duplicates``, default 0) to prove the handlers idempotent.

What is read from the template is ``emulator.fc.template``'s job, the matching of events
``emulator.fc.patterns``'; this module only delivers (issue #12).

Timers: on every settle (each API call, each ``POST /_emulator/clock``), every timer fires once for each
matching moment in ``(last settle, now]`` of virtual time with ``{"triggerTime": <that moment, UTC Z>,
"triggerName", "payload"}`` (alibaba-api.md §4.4), oldest first. With ``speed`` > 0, ``start()`` runs a
wall-time ticker (every 0.5 s) so timers fire with no API traffic. Fires of one settle run concurrently
(a 1-day clock jump starts 288 five-minute ticks at once: advance in steps to serialise them).

Events: ``ecs:ActionTrail:ApiCall`` (``emulator.ecs.events``) and ``cr:Artifact:PushCompleted``
(``emulator.acr``) are delivered to every eventbridge trigger whose pattern matches. A function named by a
trigger but not registered is skipped and counted in ``describe()["undelivered"]``.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from emulator.fc.patterns import pattern_matches
from emulator.fc.template import read_template, read_trigger

if TYPE_CHECKING:
    from emulator.core.state import State
    from emulator.fc.models import FcBackend, FunctionSpec


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class FcHost(Protocol):
    """What a router is built from: the backend it delivers to, the state it follows, and where it is attached
    (the FC service, or its ``RouterSlot``; the router keeps none of them but the backend and the state)."""

    backend: FcBackend
    state: State

    def attach(self, router: EventRouter) -> None: ...


class RouterSlot:
    """The one event router of an FC emulator, if any, where the service (settle, reset, describe) and the
    management calls (CreateTrigger wires a router on first use) both find it, so neither holds the other."""

    def __init__(self, backend: FcBackend, state: State) -> None:
        self.backend = backend
        self.state = state
        self.router: EventRouter | None = None

    def attach(self, router: EventRouter) -> None:
        """``router`` is this FC's router from now on."""
        self.router = router


class EventRouter:
    """Routes published events and timer ticks to FC functions (see the module docstring)."""

    def __init__(self, fc: FcHost, template: dict[str, Any]) -> None:
        # The router holds the backend it delivers to, never the FC service: the service holds the router
        # (``attach``) to settle its timers, so the two do not refer to each other.
        self.backend: FcBackend = fc.backend
        self.state = fc.state
        self.wiring = read_template(template)
        self.deliveries: list[dict[str, Any]] = []
        self.undelivered = 0
        self._last = self.state.clock.now()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        fc.attach(self)
        self.state.subscribe(self.on_event)

    def add_trigger(self, name: str, service: str, function: str, kind: str, config: dict[str, Any]) -> None:
        """Wire one trigger created through the API (CreateTrigger), read by the template rules (lock held)."""
        read_trigger(self.wiring, name, service, function, kind, config)

    def reset(self) -> None:
        """Restart the timer watermark at the (reset) virtual now."""
        self._last = self.state.clock.now()
        self.deliveries = []
        self.undelivered = 0

    def _spec(self, service: str, function: str) -> FunctionSpec | None:
        spec = self.backend.functions.get((service, function)) or self.backend.find(function)
        if spec is None:
            self.undelivered += 1
        return spec

    def deliver(self, service: str, function: str, body: bytes, cause: str) -> int:
        """Start ``1 + duplicates`` async invocations of ``function``; return how many were started."""
        spec = self._spec(service, function)
        if spec is None:
            return 0
        copies = 1 + self.state.config.duplicates
        credentials = self.backend.default_credentials()
        for _ in range(copies):
            request_id = str(uuid.uuid4())
            self.backend.submit_async(spec, body, request_id, credentials, "LATEST")
        self.deliveries.append({"function": function, "cause": cause, "copies": copies,
                                "time": _utc(self.state.clock.now())})
        return copies

    def on_event(self, event: dict[str, Any]) -> None:
        """A published CloudEvent: deliver it to every matching rule's function (lock held)."""
        body = json.dumps(event).encode()
        for rule in self.wiring.rules:
            if pattern_matches(rule.pattern, event):
                self.deliver(rule.service, rule.function, body, f"{rule.name}:{event.get('type')}:{event.get('id')}")

    def on_time(self, now: float) -> None:
        """Fire every timer moment in ``(last, now]`` (lock held), oldest first."""
        last, self._last = self._last, max(self._last, now)
        if now <= last:
            return
        fires = sorted((t, n, timer) for n, timer in enumerate(self.wiring.timers) for t in timer.cron.fire_times(last, now))
        for moment, _, timer in fires:
            body = json.dumps({"triggerTime": _utc(moment), "triggerName": timer.name, "payload": timer.payload})
            self.deliver(timer.service, timer.function, body.encode(), f"{timer.name}@{_utc(moment)}")

    def start(self) -> EventRouter:
        """With a running clock (speed > 0), fire timers on wall time too (a 0.5 s ticker thread)."""
        if self.state.clock.speed > 0 and self._ticker is None:
            self._stop.clear()
            self._ticker = threading.Thread(target=self._tick, name="fc-timers", daemon=True)
            self._ticker.start()
        return self

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            with self.state.lock:
                now = self.state.clock.now()
                self.backend.fire_due(now)  # delayed invocations, then timers (as FcService.settle)
                self.on_time(now)

    def stop(self) -> None:
        """Stop the ticker thread."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(2)
            self._ticker = None

    def describe(self) -> dict[str, Any]:
        """What was wired (functions, timers, rules, ignored triggers) and the delivery counters."""
        w = self.wiring
        return {
            "functions": [{"service": f.service, "name": f.name, "handler": f.handler, "timeout": f.timeout}
                          for f in w.functions.values()],
            "timers": [{"name": t.name, "function": t.function, "cron": t.cron.expression, "payload": t.payload}
                       for t in w.timers],
            "rules": [{"name": r.name, "function": r.function, "pattern": r.pattern} for r in w.rules],
            "ignored": list(w.ignored),
            "deliveries": len(self.deliveries),
            "undelivered": self.undelivered,
        }
