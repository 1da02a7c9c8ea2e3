"""Deploy template.yml into the emulator from a code package, as ROS would create the stack (issue #11).

``deploy_stack(template, package, endpoint=…)`` is a small ROS for one template on loopback:

* parameters: the template's defaults, overridden by ``parameters``; the pseudo parameters
  ``ALIYUN::Region`` / ``ALIYUN::AccountId`` / ``ALIYUN::StackName``; ``LOCAL_PARAMETERS`` fills the
  parameters the template requires without a default (bucket and project names);
* ``Conditions`` (``Fn::Equals``, ``Fn::Not``, ``Fn::And``, ``Fn::Or``) decide which resources exist;
  values resolve ``Ref``, ``Fn::Sub``, ``Fn::GetAtt``, ``Fn::If`` and ``ALIYUN::NoValue``;
* the upload step users run by hand (``aliyun oss cp``) is done first: the zip goes to
  ``CodeBucket/CodeObject`` in the emulated OSS, through the project's OSS adapter (the real SDK);
* ``ALIYUN::OSS::Bucket`` → a bucket in the emulated OSS; ``ALIYUN::FC::Service`` / ``Function`` /
  ``Trigger`` → CreateService / CreateFunction (code from that OSS object) / CreateTrigger through the
  fc-open SDK (``shared/clouds/fc.py``); the emulator runs each function from the unpacked package in its
  own python3.10 (``emulator/fc/runtime.py``) and wires timers and EventBridge triggers into its router;
* RAM and SLS resources have no emulator: they are listed under ``skipped``.

One local override, the only difference from the cloud: every function also gets ``IMAGE_RELAY_ENDPOINT``
(the emulator's URL), because on FC the SDKs find the real endpoints by themselves.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.client import EmulatorControl
from shared.clouds.fc import FcGateway
from shared.clouds.oss import OssGateway
from shared.config import ENV_ENDPOINT, Credentials

NO_VALUE = "ALIYUN::NoValue"
#: Values for the template's parameters that have no default (names are free on the emulator).
LOCAL_PARAMETERS = {"CodeBucket": "relay-code", "StateBucketName": "relay-state", "LogProject": "relay-logs"}
_SUB = re.compile(r"\$\{([^}]+)\}")


class StackError(ValueError):
    """The template cannot be deployed (a missing parameter, an unknown function); names the resource."""


@dataclass
class Deployment:
    """What ``deploy_stack`` created."""

    parameters: dict[str, str]
    buckets: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class _Stack:
    """Resolves one template's values against its parameters, conditions and resources."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str], region: str, account_id: str) -> None:
        self.template = template
        self.resources: dict[str, Any] = template.get("Resources") or {}
        self.params: dict[str, str] = {"ALIYUN::Region": region, "ALIYUN::AccountId": account_id,
                                       "ALIYUN::StackName": "image-relay-local"}
        for name, spec in (template.get("Parameters") or {}).items():
            value = parameters.get(name, spec.get("Default", LOCAL_PARAMETERS.get(name)))
            if value is None:
                raise StackError(f"parameter {name} has no value and no default")
            self.params[name] = str(value)
        self.conditions = {n: self.condition(c) for n, c in (template.get("Conditions") or {}).items()}

    def condition(self, node: Any) -> bool:
        (name, args), = node.items()
        if name == "Fn::Equals":
            return bool(self.value(args[0]) == self.value(args[1]))
        if name == "Fn::Not":
            return not self.condition(args[0])
        if name == "Fn::And":
            return all(self.condition(a) for a in args)
        if name == "Fn::Or":
            return any(self.condition(a) for a in args)
        if name == "Condition":
            return self.conditions[args]
        raise StackError(f"condition function {name} is not supported locally")

    def exists(self, logical: str) -> bool:
        condition = self.resources[logical].get("Condition")
        return condition is None or self.conditions[condition]

    def name_of(self, logical: str) -> str:
        props = self.resources[logical].get("Properties") or {}
        for key in ("FunctionName", "ServiceName", "BucketName", "RoleName", "Name", "LogstoreName"):
            if key in props:
                return str(self.value(props[key]))
        return logical

    def value(self, node: Any) -> Any:
        """``node`` with every intrinsic function evaluated; ``NO_VALUE`` marks an absent property."""
        if isinstance(node, list):
            return [v for v in (self.value(i) for i in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (name, args), = node.items()
            if name == "Ref":
                if args == NO_VALUE:
                    return NO_VALUE
                return self.params[args] if args in self.params else self.name_of(args)
            if name == "Fn::Sub":
                return _SUB.sub(lambda m: str(self.value({"Ref": m.group(1)})), args)
            if name == "Fn::GetAtt":
                logical, attribute = args
                if attribute.lower() == "arn":
                    return f"acs:ram::{self.params['ALIYUN::AccountId']}:role/{self.name_of(logical)}"
                return self.name_of(logical)
            if name == "Fn::If":
                return self.value(args[1] if self.conditions[args[0]] else args[2])
        return {k: v for k, v in ((k, self.value(v)) for k, v in node.items()) if v is not NO_VALUE}

    def of_type(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [(logical, self.value(r.get("Properties") or {})) for logical, r in self.resources.items()
                if r.get("Type") == kind and self.exists(logical)]


def deploy_stack(template: dict[str, Any], package: Path, *, endpoint: str, credentials: Credentials,
                 parameters: dict[str, str] | None = None, region: str = "cn-hangzhou",
                 account_id: str = "1234567890123456") -> Deployment:
    """Create the template's stack in the emulator at ``endpoint`` with ``package`` as the code."""
    stack = _Stack(template, parameters or {}, region, account_id)
    done = Deployment(parameters={k: v for k, v in stack.params.items() if not k.startswith("ALIYUN::")})
    control = EmulatorControl(endpoint)
    code_bucket, code_object = stack.params["CodeBucket"], stack.params["CodeObject"]
    buckets = [code_bucket] + [str(p["BucketName"]) for _, p in stack.of_type("ALIYUN::OSS::Bucket")]
    control.seed({"buckets": [{"region": region, "name": b} for b in dict.fromkeys(buckets)]})
    done.buckets = list(dict.fromkeys(buckets))
    OssGateway.connect(credentials, endpoint=endpoint).put(region, code_bucket, code_object, package.read_bytes(),
                                                            content_type="application/zip")
    fc = FcGateway.connect(credentials, region=region, account_id=account_id, endpoint=endpoint)
    for _, props in stack.of_type("ALIYUN::FC::Service"):
        log = props.get("LogConfig") or {}
        fc.create_service(props["ServiceName"], description=props.get("Description", ""),
                          role=props.get("Role", ""), log_project=log.get("Project", ""),
                          log_store=log.get("Logstore", ""), internet_access=bool(props.get("InternetAccess", True)))
        done.services.append(props["ServiceName"])
    for _, props in stack.of_type("ALIYUN::FC::Function"):
        code = props["Code"]
        environment = {**{k: str(v) for k, v in (props.get("EnvironmentVariables") or {}).items()},
                       ENV_ENDPOINT: endpoint}
        fc.create_function(props["ServiceName"], props["FunctionName"], handler=props["Handler"],
                           runtime=props["Runtime"], timeout=int(props.get("Timeout", 3)),
                           memory=int(props.get("MemorySize", 128)), environment=environment,
                           oss_bucket=code["OssBucketName"], oss_object=code["OssObjectName"],
                           description=props.get("Description", ""),
                           instance_concurrency=int(props.get("InstanceConcurrency", 1)))
        done.functions.append(f"{props['ServiceName']}/{props['FunctionName']}")
    for _, props in stack.of_type("ALIYUN::FC::Trigger"):
        fc.create_trigger(props["ServiceName"], props["FunctionName"], props["TriggerName"], props["TriggerType"],
                          props["TriggerConfig"])
        done.triggers.append(f"{props['TriggerName']} ({props['TriggerType']}) -> {props['FunctionName']}")
    handled = {"ALIYUN::OSS::Bucket", "ALIYUN::FC::Service", "ALIYUN::FC::Function", "ALIYUN::FC::Trigger"}
    done.skipped = sorted(f"{logical} ({r['Type']})" for logical, r in stack.resources.items()
                          if r.get("Type") not in handled and stack.exists(logical))
    return done
