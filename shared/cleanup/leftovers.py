"""The pure part of cleaning up after failed Image Builder builds: (scans, build tasks, policy, now) → decisions.

A failed build of a template with ``DeleteInstanceOnFailure`` false keeps its intermediate (pay-as-you-go)
instances, and, for a template without a vSwitch, its temporary vSwitch and VPC. They bill until released.
Every run reports them, with the instance's hourly cost class; a run releases them only when the policy says
``release_failed_build_instances: true``.

What may be released, and nothing else (the guards, in this order, each a reason a person can act on):

1. Image Builder's marks, all of them: an instance carries its execution tag AND is named
   ``ImageBuilder_<Build|Repair|Test>_<that ExecutionId>`` (a pipeline tag, when present, must name the task's
   template); a network is named ``ImageBuilder_<ExecutionId>`` and is not the template's own vSwitch.
   An instance with the name but not the tags (or the other way round) is reported and never released.
2. The build task it names exists (DescribeImagePipelineExecutions) and ended FAILED or TEST_FAILED. A
   running task still uses it; a task that succeeded or was cancelled releases its own; an unknown task (its
   template deleted) gives no end time to count from: kept.
3. The build ended at least ``failed_build_grace_hours`` ago (and the resource is at least that old).
4. An instance is pay-as-you-go (``PostPaid``): Image Builder makes no other kind.
5. A vSwitch holds no instance and a VPC no vSwitch and no instance any more, as this run's scans saw them:
   the network goes on a run after its instances (a release is not instantaneous, and DeleteVSwitch refuses
   a vSwitch still in use).

The blast radius of image deletions applies to releases, counted apart (``check_release_limits``).

Example
-------
>>> import datetime as dt
>>> from shared.clouds.leftover_types import BuilderInstance
>>> from shared.clouds.pipeline_types import PipelineExecution
>>> from shared.policy.cleanup import CleanupPolicy
>>> now = dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc)
>>> ended = now - dt.timedelta(days=2)
>>> kept = BuilderInstance(region="cn-hangzhou", instance_id="i-1", name="ImageBuilder_Build_exec-1",
...     charge_type="PostPaid", instance_type="ecs.g6.large", creation_time=ended,
...     tags={"acs:ecs:image-builder:execution-id": "exec-1"})
>>> task = PipelineExecution(region="cn-hangzhou", execution_id="exec-1", pipeline_id="ip-1", status="FAILED",
...     modified_time=ended)
>>> scan = LeftoverScan(regions=("cn-hangzhou",), instances=(kept,), executions={"exec-1": task})
>>> [(d.resource_id, d.action) for d in plan_leftovers(CleanupPolicy(), scan, now)]
[('i-1', 'keep')]
>>> [(d.resource_id, d.action) for d in plan_leftovers(CleanupPolicy(release_failed_build_instances=True), scan, now)]
[('i-1', 'release')]
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from shared.cleanup.cost import cost_class
from shared.cleanup.planner import blast_radius
from shared.clouds.ecs_types import Instance
from shared.clouds.leftover_types import (
    INSTANCE_KINDS,
    NAME_PREFIX,
    TAG_BUILDER_EXECUTION,
    TAG_BUILDER_PIPELINE,
    BuilderInstance,
    Network,
)
from shared.clouds.pipeline_types import ImagePipeline, PipelineExecution
from shared.ledger.keys import leftover_key
from shared.policy.cleanup import CleanupPolicy

ResourceType = Literal["instance", "vswitch", "vpc"]
#: Final statuses whose intermediate resources Image Builder may have kept (DeleteInstanceOnFailure false).
FAILED_STATUSES = ("FAILED", "TEST_FAILED")
#: ``ImageBuilder_<ExecutionId>``: the temporary network's name (UNCONFIRMED, see the emulator's docstring).
NETWORK_NAME = re.compile(r"\A" + NAME_PREFIX + r"(exec-[0-9A-Za-z]+)\Z")
INSTANCE_NAME = re.compile(r"\A" + NAME_PREFIX + "(" + "|".join(INSTANCE_KINDS) + r")_(exec-[0-9A-Za-z]+)\Z")


@dataclass(frozen=True)
class LeftoverScan:
    """What one run saw of failed builds' leftovers, in every cleanup region."""

    regions: tuple[str, ...]
    instances: tuple[BuilderInstance, ...] = ()
    networks: tuple[Network, ...] = ()
    #: every instance of the scanned regions (a network that still holds one stays)
    all_instances: tuple[Instance, ...] = ()
    #: the build tasks the marks name, by ExecutionId (absent: not found)
    executions: Mapping[str, PipelineExecution] = field(default_factory=dict)
    #: the templates of the scanned regions, by ImagePipelineId
    pipelines: Mapping[str, ImagePipeline] = field(default_factory=dict)


@dataclass(frozen=True)
class LeftoverDecision:
    """What the run does with one leftover (release or keep) and why; instances carry their cost class."""

    region: str
    resource_type: ResourceType
    resource_id: str
    name: str
    action: Literal["release", "keep"]
    reason: str
    execution_id: str = ""
    pipeline_id: str = ""
    instance_type: str = ""
    cost_class: str = ""
    #: version of the resource's `leftover/` record when the run read the ledger (0: none); None: not checked
    record_version: int | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """The ledger key of its release."""
        return leftover_key(self.region, self.resource_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for reports."""
        return {"region": self.region, "resource_type": self.resource_type, "resource_id": self.resource_id,
                "name": self.name, "execution_id": self.execution_id, "pipeline_id": self.pipeline_id,
                "instance_type": self.instance_type, "cost_class": self.cost_class, "action": self.action,
                "reason": self.reason}


def wanted_executions(instances: tuple[BuilderInstance, ...], networks: tuple[Network, ...]) -> dict[str, list[str]]:
    """Region → the ExecutionIds the scans' marks and names point at (what to ask DescribeImagePipelineExecutions)."""
    wanted: dict[str, set[str]] = {}
    for instance in instances:
        named = INSTANCE_NAME.match(instance.name)
        for execution_id in (instance.tags.get(TAG_BUILDER_EXECUTION), named.group(2) if named else None):
            if execution_id:
                wanted.setdefault(instance.region, set()).add(execution_id)
    for network in networks:
        named = NETWORK_NAME.match(network.name)
        if named:
            wanted.setdefault(network.region, set()).add(named.group(1))
    return {region: sorted(ids) for region, ids in sorted(wanted.items())}


def _at(when: dt.datetime | None) -> str:
    return when.strftime("%Y-%m-%dT%H:%MZ") if when else "?"


def _task_guard(task: PipelineExecution | None, execution_id: str, created: dt.datetime | None,
                policy: CleanupPolicy, now: dt.datetime) -> str | None:
    """Guards 2 and 3: why the build task does not (yet) allow a release, or None."""
    if task is None:
        return f"build task {execution_id} not found (its template deleted?): its end is unknown; kept"
    if task.running:
        return f"build task {execution_id} is still {task.status}"
    if task.status not in FAILED_STATUSES:
        return f"build task {execution_id} ended {task.status}: only failed builds' leftovers are released"
    grace = dt.timedelta(hours=policy.failed_build_grace_hours)
    if task.modified_time is None:
        return f"build task {execution_id}: end time unknown; kept to be safe"
    end = task.modified_time if task.modified_time.tzinfo else task.modified_time.replace(tzinfo=dt.timezone.utc)
    if now < end + grace or (created is not None and now < created + grace):
        return (f"build {execution_id} ended {_at(end)}: younger than failed_build_grace_hours "
                f"{policy.failed_build_grace_hours:g}h")
    return None


def _released_or_reported(policy: CleanupPolicy, task: PipelineExecution, what: str) -> tuple[str, str]:
    ended = f"{what} of failed build {task.execution_id} ({task.status}, ended {_at(task.modified_time)})"
    if not policy.release_failed_build_instances:
        return "keep", f"{ended}; reported only: release_failed_build_instances is off"
    return "release", f"{ended}, past failed_build_grace_hours {policy.failed_build_grace_hours:g}h"


def _instance(instance: BuilderInstance, scan: LeftoverScan, policy: CleanupPolicy, now: dt.datetime) -> LeftoverDecision:
    tagged = instance.tags.get(TAG_BUILDER_EXECUTION, "")
    named = INSTANCE_NAME.match(instance.name)
    execution_id = tagged or (named.group(2) if named else "")
    task = scan.executions.get(execution_id) if execution_id else None
    base = LeftoverDecision(
        region=instance.region, resource_type="instance", resource_id=instance.instance_id, name=instance.name,
        action="keep", reason="", execution_id=execution_id, pipeline_id=task.pipeline_id if task else "",
        instance_type=instance.instance_type, cost_class=cost_class(instance.instance_type))
    if not tagged:
        return replace(base, reason=f"named like Image Builder's but without its tag {TAG_BUILDER_EXECUTION}; "
                                    "never released")
    if named is None or named.group(2) != tagged:
        return replace(base, reason=f"tagged by Image Builder but not named {NAME_PREFIX}<Build|Repair|Test>_"
                                    f"{tagged}; never released")
    guard = _task_guard(task, execution_id, instance.creation_time, policy, now)
    if guard is not None or task is None:
        return replace(base, reason=guard or "")
    pipeline_tag = instance.tags.get(TAG_BUILDER_PIPELINE)
    if pipeline_tag is not None and pipeline_tag != task.pipeline_id:
        return replace(base, reason=f"tag {TAG_BUILDER_PIPELINE}={pipeline_tag} is not the build's template "
                                    f"{task.pipeline_id}; never released")
    if instance.charge_type != "PostPaid":
        return replace(base, reason=f"not pay-as-you-go (InstanceChargeType {instance.charge_type or '?'}); "
                                    "Image Builder makes only PostPaid instances")
    action, reason = _released_or_reported(policy, task, f"{named.group(1)} instance")
    return replace(base, action="release" if action == "release" else "keep", reason=reason)


def _network(network: Network, scan: LeftoverScan, policy: CleanupPolicy, now: dt.datetime) -> LeftoverDecision | None:
    named = NETWORK_NAME.match(network.name)
    if named is None:
        return None  # not Image Builder's: outside the cleanup's scope, no decision
    execution_id = named.group(1)
    task = scan.executions.get(execution_id)
    base = LeftoverDecision(region=network.region, resource_type=network.kind, resource_id=network.resource_id,
                            name=network.name, action="keep", reason="", execution_id=execution_id,
                            pipeline_id=task.pipeline_id if task else "", cost_class="n/a")
    guard = _task_guard(task, execution_id, network.creation_time, policy, now)
    if guard is not None or task is None:
        return replace(base, reason=guard or "")
    template = scan.pipelines.get(task.pipeline_id)
    if template is None:
        return replace(base, reason=f"template {task.pipeline_id} not found: cannot tell its own network; kept")
    if template.vswitch_id and template.vswitch_id in (network.resource_id, _vpc_of(scan, template.vswitch_id)):
        return replace(base, reason=f"the template's own network ({template.vswitch_id}); never released")
    inside = sorted(i.instance_id for i in scan.all_instances if i.region == network.region and (
        i.vswitch_id == network.resource_id if network.kind == "vswitch" else i.vpc_id == network.resource_id))
    if network.kind == "vpc":
        inside += sorted(n.resource_id for n in scan.networks
                         if n.kind == "vswitch" and n.region == network.region and n.vpc_id == network.resource_id)
    if inside:
        return replace(base, reason=f"{', '.join(inside)} still in it; released on a later run once gone")
    action, reason = _released_or_reported(policy, task, f"temporary {'vSwitch' if network.kind == 'vswitch' else 'VPC'}")
    return replace(base, action="release" if action == "release" else "keep", reason=reason)


def _vpc_of(scan: LeftoverScan, vswitch_id: str) -> str:
    return next((n.vpc_id for n in scan.networks if n.kind == "vswitch" and n.resource_id == vswitch_id), "")


def plan_leftovers(policy: CleanupPolicy, scan: LeftoverScan, now: dt.datetime) -> tuple[LeftoverDecision, ...]:
    """A decision for every Image Builder leftover the scans saw, in (region, type, id) order."""
    decisions = [_instance(i, scan, policy, now) for i in scan.instances if i.region in scan.regions]
    decisions += [d for n in scan.networks if n.region in scan.regions
                  if (d := _network(n, scan, policy, now)) is not None]
    order = {"instance": 0, "vswitch": 1, "vpc": 2}
    return tuple(sorted(decisions, key=lambda d: (d.region, order[d.resource_type], d.resource_id)))


def check_release_limits(decisions: tuple[LeftoverDecision, ...], policy: CleanupPolicy) -> None:
    """Raise `PlanLimitExceededError` when the run would release beyond the blast radius (counted apart from
    image deletions, with the same limits).

    >>> d = LeftoverDecision("cn-hangzhou", "instance", "i-1", "n", "release", "old")
    >>> check_release_limits((d,), CleanupPolicy(max_deletions=0))
    Traceback (most recent call last):
    ...
    shared.errors.PlanLimitExceededError: cleanup would release 1 failed-build leftover(s), above max_deletions 0; nothing was released or deleted
    """
    blast_radius(sum(1 for d in decisions if d.action == "release"), len(decisions), policy,
                 what=("release", "failed-build leftover(s)", "failed-build leftover(s)"),
                 tail="nothing was released or deleted")
