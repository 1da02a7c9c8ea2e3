"""The event router: delivers emulator events to FC functions as the deployed triggers would.

``EventRouter(fc_service, template)`` reads a deployment template (a dict: ``scripts/local.py`` passes the
parsed ``template.yml``), subscribes to the events the emulator publishes (``State.publish``) and fires timers
on the virtual clock. Every delivery is an **async** invocation (at least once; ``fc_async_retries`` applies),
repeated ``1 + duplicates`` times (tunable ``duplicates``, default 0) to prove the handlers idempotent.

Template reading rules (tolerant; ``describe()`` / ``GET /_emulator/fc/triggers`` shows what was read):

* resources are ``template["Resources"]`` (or the top level when there is no ``Resources``); a resource type is
  compared case-insensitively;
* ``ALIYUN::FC::Service``: service name = ``Properties.ServiceName`` or the logical id;
* ``ALIYUN::FC::Function``: function name = ``FunctionName`` or the logical id; service = ``ServiceName``
  (resolved) or the template's only/first service or ``image-relay``; ``Handler``, ``Timeout`` (default 60),
  ``MemorySize`` (default 512);
* ``ALIYUN::FC::Trigger``: ``FunctionName`` / ``ServiceName`` / ``TriggerName`` (default the logical id),
  ``TriggerType`` (case-insensitive ``timer`` or ``eventbridge``; others are listed as ignored) and
  ``TriggerConfig`` (a mapping or a JSON string);
* a name may be a plain string, a logical id, ``{"Ref": id}``, ``{"Fn::GetAtt": [id, attr]}`` (or
  ``"id.attr"``), resolved to that resource's FunctionName/ServiceName, or ``{"Ref": parameter}`` resolved to
  the parameter's ``Default``; a string naming no resource is the
  name itself; ``{"Fn::Sub"|"Fn::Join": …}`` and other functions are not evaluated (the trigger is ignored
  with a reason when its function cannot be named);
* timer: the first key (searched recursively in TriggerConfig, case-insensitive) containing ``cron`` is the
  cron expression (``emulator.fc.cron``); ``payload`` (a non-string payload is sent as JSON); ``enable`` /
  ``triggerEnable`` false disables it (default enabled);
* eventbridge: the first key containing ``pattern`` (``eventRuleFilterPattern``, ``FilterPattern``…), a JSON
  string or a mapping, is the EventBridge filter; ``triggerEnable``/``enable`` false disables it. The
  ``asyncInvocationType`` flag is ignored: deliveries are always async (UNCONFIRMED local simplification);
* Funcraft templates are read too: ``Aliyun::Serverless::Service`` resources holding
  ``Aliyun::Serverless::Function`` members whose ``Events`` have ``Type: Timer`` (``CronExpression``,
  ``Payload``, ``Enable``) or ``Type: EventBridge`` (a ``…Pattern`` key).

Event patterns (EventBridge subset): a mapping of keys to a list of allowed values or a nested mapping; an
event value that is a list matches when any element is allowed; list entries may also be
``{"prefix": s}``, ``{"suffix": s}``, ``{"anything-but": v|[v…]}``, ``{"exists": bool}``; anything else in
a pattern never matches (UNCONFIRMED subset of the EventBridge syntax).

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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from emulator.fc.cron import Cron

if TYPE_CHECKING:
    from emulator.fc.models import FunctionSpec
    from emulator.fc.urls import FcService

DEFAULT_SERVICE = "image-relay"


@dataclass
class FunctionDef:
    """A function the template declares."""

    service: str
    name: str
    handler: str = ""
    timeout: int = 60
    memory: int = 512


@dataclass
class Timer:
    """A timer trigger."""

    name: str
    service: str
    function: str
    cron: Cron
    payload: str = ""


@dataclass
class Rule:
    """An EventBridge trigger."""

    name: str
    service: str
    function: str
    pattern: dict[str, Any]


@dataclass
class Wiring:
    """What the template declares; ``ignored`` lists triggers that were not understood, with the reason."""

    functions: dict[str, FunctionDef] = field(default_factory=dict)
    timers: list[Timer] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    ignored: list[dict[str, str]] = field(default_factory=list)


# --- template reading ---------------------------------------------------------------------------------------


def _ci(mapping: Any, *names: str) -> Any:
    """Case-insensitive key lookup in a mapping (first of ``names`` present)."""
    if not isinstance(mapping, dict):
        return None
    lowered = {str(k).lower(): v for k, v in mapping.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _find_key(node: Any, needle: str) -> Any:
    """The value of the first key containing ``needle`` (case-insensitive), searched depth-first."""
    if isinstance(node, dict):
        for key, value in node.items():
            if needle in str(key).lower():
                return value
        for value in node.values():
            found = _find_key(value, needle)
            if found is not None:
                return found
    return None


def _as_mapping(value: Any) -> dict[str, Any]:
    """A mapping, or a JSON string holding one; else ``{}``."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _enabled(config: dict[str, Any]) -> bool:
    flag = _ci(config, "enable", "triggerEnable", "enabled")
    return not (flag is False or (isinstance(flag, str) and flag.lower() == "false"))


class _Reader:
    """Reads one template into a :class:`Wiring`."""

    def __init__(self, template: dict[str, Any]) -> None:
        resources = _ci(template, "Resources")
        self.resources: dict[str, Any] = resources if isinstance(resources, dict) else dict(template)
        parameters = _ci(template, "Parameters")
        self.parameters: dict[str, Any] = parameters if isinstance(parameters, dict) else {}
        self.wiring = Wiring()

    def _type(self, resource: Any) -> str:
        return str(_ci(resource, "Type") or "").lower()

    def _props(self, resource: Any) -> dict[str, Any]:
        props = _ci(resource, "Properties")
        return props if isinstance(props, dict) else {}

    def _name_of(self, logical_id: str, key: str, depth: int) -> str:
        """The FunctionName/ServiceName of a logical id (the id itself when it names no such resource)."""
        resource = self.resources.get(logical_id)
        if isinstance(resource, dict):
            value = _ci(self._props(resource), key)
            resolved = self.resolve(value, key, depth + 1) if value is not None else None
            if resolved is not None:
                return resolved
        return logical_id

    def resolve(self, value: Any, key: str, depth: int = 0) -> str | None:
        """A literal, a logical id, ``Ref`` (to a resource or a parameter's ``Default``), ``Fn::GetAtt`` or
        ``"id.attr"`` → the name."""
        if depth > 8:
            return None
        if isinstance(value, str):
            head = value.split(".", 1)[0]
            if head in self.resources:
                return self._name_of(head, key, depth)
            return value
        if isinstance(value, dict):
            if "Ref" in value:
                ref = value["Ref"]
                param = self.parameters.get(ref) if isinstance(ref, str) else None
                if isinstance(param, dict) and isinstance(_ci(param, "Default"), str):
                    return str(_ci(param, "Default"))
                return self.resolve(ref, key, depth + 1)
            target = value.get("Fn::GetAtt")
            if isinstance(target, list) and target:
                return self._name_of(str(target[0]), key, depth)
            if isinstance(target, str):
                return self._name_of(target.split(".", 1)[0], key, depth)
        return None

    def default_service(self) -> str:
        for logical_id, resource in self.resources.items():
            if self._type(resource) in ("aliyun::fc::service", "aliyun::serverless::service"):
                return self._name_of(logical_id, "ServiceName", 0)
        return DEFAULT_SERVICE

    def read(self) -> Wiring:
        service = self.default_service()
        for logical_id, resource in self.resources.items():
            kind = self._type(resource)
            props = self._props(resource)
            if kind == "aliyun::fc::function":
                name = self.resolve(_ci(props, "FunctionName"), "FunctionName") or logical_id
                svc = self.resolve(_ci(props, "ServiceName"), "ServiceName") or service
                self._function(svc, name, props)
            elif kind == "aliyun::serverless::service":
                svc = _ci(props, "ServiceName") or logical_id
                for member_id, member in resource.items():
                    if isinstance(member, dict) and self._type(member) == "aliyun::serverless::function":
                        self._funcraft_function(str(svc), member_id, member)
        for logical_id, resource in self.resources.items():
            if self._type(resource) == "aliyun::fc::trigger":
                self._trigger(logical_id, self._props(resource), service)
        return self.wiring

    def _function(self, service: str, name: str, props: dict[str, Any]) -> None:
        self.wiring.functions[name] = FunctionDef(
            service=service, name=name, handler=str(_ci(props, "Handler") or ""),
            timeout=int(_ci(props, "Timeout") or 60), memory=int(_ci(props, "MemorySize") or 512),
        )

    def _trigger(self, logical_id: str, props: dict[str, Any], service: str) -> None:
        raw_fn = _ci(props, "FunctionName")
        function = self.resolve(raw_fn, "FunctionName") if raw_fn is not None else None
        name = str(_ci(props, "TriggerName") or logical_id)
        if function is None:
            self.wiring.ignored.append({"trigger": name, "reason": "no resolvable FunctionName"})
            return
        svc = self.resolve(_ci(props, "ServiceName"), "ServiceName") or (
            self.wiring.functions[function].service if function in self.wiring.functions else service)
        kind = str(_ci(props, "TriggerType") or "").lower()
        config = _as_mapping(_ci(props, "TriggerConfig"))
        self._add(name, svc, function, kind, config)

    def _funcraft_function(self, service: str, name: str, member: dict[str, Any]) -> None:
        props = self._props(member)
        self._function(service, name, props)
        events = _ci(member, "Events")
        for event_name, event in (events or {}).items() if isinstance(events, dict) else ():
            self._add(str(event_name), service, name, str(_ci(event, "Type") or "").lower(), self._props(event))

    def _add(self, name: str, service: str, function: str, kind: str, config: dict[str, Any]) -> None:
        if not _enabled(config):
            self.wiring.ignored.append({"trigger": name, "reason": "disabled"})
            return
        if kind == "timer":
            cron = _find_key(config, "cron")
            if not isinstance(cron, str):
                self.wiring.ignored.append({"trigger": name, "reason": "timer without a cron expression"})
                return
            try:
                parsed = Cron.parse(cron)
            except ValueError as error:
                self.wiring.ignored.append({"trigger": name, "reason": f"bad cron: {error}"})
                return
            payload = _ci(config, "payload")
            text = payload if isinstance(payload, str) else ("" if payload is None else json.dumps(payload))
            self.wiring.timers.append(Timer(name, service, function, parsed, text))
        elif kind in ("eventbridge", "event_bridge", "eventbridgetrigger"):
            pattern = _as_mapping(_find_key(config, "pattern"))
            if not pattern:
                self.wiring.ignored.append({"trigger": name, "reason": "eventbridge without a filter pattern"})
                return
            self.wiring.rules.append(Rule(name, service, function, pattern))
        else:
            self.wiring.ignored.append({"trigger": name, "reason": f"trigger type {kind or '?'!r} not routed"})


def read_template(template: dict[str, Any]) -> Wiring:
    """Read functions, timers and event rules from a parsed template (see the module rules)."""
    return _Reader(template).read()


# --- event patterns ------------------------------------------------------------------------------------------


def _value_matches(allowed: Any, value: Any, present: bool) -> bool:
    if isinstance(allowed, dict):
        if "exists" in allowed:
            return bool(allowed["exists"]) == present
        if not present:
            return False
        if "prefix" in allowed:
            return isinstance(value, str) and value.startswith(str(allowed["prefix"]))
        if "suffix" in allowed:
            return isinstance(value, str) and value.endswith(str(allowed["suffix"]))
        if "anything-but" in allowed:
            but = allowed["anything-but"]
            return value not in (but if isinstance(but, list) else [but])
        return False
    return present and value == allowed


def pattern_matches(pattern: dict[str, Any], event: Any) -> bool:
    """True when ``event`` satisfies the EventBridge filter ``pattern`` (module docstring subset)."""
    if not isinstance(event, dict):
        return False
    for key, allowed in pattern.items():
        present = key in event
        value = event.get(key)
        if isinstance(allowed, dict) and not ({"exists", "prefix", "suffix", "anything-but"} & set(allowed)):
            if not pattern_matches(allowed, value if present else None):
                return False
            continue
        options = allowed if isinstance(allowed, list) else [allowed]
        values = value if isinstance(value, list) else [value]
        if not any(_value_matches(a, v, present) for a in options for v in values):
            return False
    return True


# --- the router ---------------------------------------------------------------------------------------------


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventRouter:
    """Routes published events and timer ticks to FC functions (see the module docstring)."""

    def __init__(self, fc: FcService, template: dict[str, Any]) -> None:
        self.fc = fc
        self.state = fc.state
        self.wiring = read_template(template)
        self.deliveries: list[dict[str, Any]] = []
        self.undelivered = 0
        self._last = self.state.clock.now()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        fc.router = self
        self.state.subscribe(self.on_event)

    def add_trigger(self, name: str, service: str, function: str, kind: str, config: dict[str, Any]) -> None:
        """Wire one trigger created through the API (CreateTrigger), read by the template rules (lock held)."""
        reader = _Reader({})
        reader.wiring = self.wiring
        reader._add(name, service, function, kind, config)

    def reset(self) -> None:
        """Restart the timer watermark at the (reset) virtual now."""
        self._last = self.state.clock.now()
        self.deliveries = []
        self.undelivered = 0

    def _spec(self, service: str, function: str) -> FunctionSpec | None:
        spec = self.fc.backend.functions.get((service, function)) or self.fc.backend.find(function)
        if spec is None:
            self.undelivered += 1
        return spec

    def deliver(self, service: str, function: str, body: bytes, cause: str) -> int:
        """Start ``1 + duplicates`` async invocations of ``function``; return how many were started."""
        spec = self._spec(service, function)
        if spec is None:
            return 0
        copies = 1 + self.state.config.duplicates
        credentials = self.fc.backend.default_credentials()
        for _ in range(copies):
            request_id = str(uuid.uuid4())
            self.fc.backend.submit_async(spec, body, request_id, credentials, "LATEST")
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
                self.fc.settle(self.state.clock.now())  # delayed invocations, then timers

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
