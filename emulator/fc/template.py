"""Reading a deployment template into the FC emulator's wiring: functions, timers and EventBridge rules.

One job only (issue #12): turn ``template.yml`` (ROS) or a Funcraft template, or one trigger created
through CreateTrigger, into a :class:`Wiring`; ``emulator.fc.router`` delivers what it describes.

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
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from emulator.fc.cron import Cron

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


def read_trigger(wiring: Wiring, name: str, service: str, function: str, kind: str, config: dict[str, Any]) -> None:
    """Add one trigger (created through CreateTrigger) to ``wiring``, read by the same rules as the template's."""
    reader = _Reader({})
    reader.wiring = wiring
    reader._add(name, service, function, kind, config)
