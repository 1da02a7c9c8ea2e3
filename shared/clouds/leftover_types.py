"""Typed leftovers of Image Builder builds (intermediate instances, temporary vSwitches and VPCs), free of any
SDK import so the pure cleanup planner can use them.

Field names follow ECS DescribeInstances / DescribeVSwitches / DescribeVpcs (2014-05-26). Times are parsed
from ECS's ``yyyy-MM-ddTHH:mmZ`` (minutes) or full ISO 8601; an unreadable time is None, and the planner
keeps what it cannot date.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Image Builder's marks (UNCONFIRMED names, chosen in the emulator's ``models_pipelines`` docstring).
TAG_BUILDER_EXECUTION = "acs:ecs:image-builder:execution-id"
TAG_BUILDER_PIPELINE = "acs:ecs:image-builder:pipeline-id"
#: What Image Builder names its resources: ``ImageBuilder_<Build|Repair|Test>_<ExecutionId>`` for instances,
#: ``ImageBuilder_<ExecutionId>`` for the temporary vSwitch and VPC (UNCONFIRMED).
NAME_PREFIX = "ImageBuilder_"
INSTANCE_KINDS = ("Build", "Repair", "Test")


def parse_time(value: Any) -> dt.datetime | None:
    """An ECS time (``2026-11-21T12:00Z`` or with seconds) as an aware datetime, None when absent or unreadable.

    >>> parse_time("2026-11-21T12:00Z").isoformat()
    '2026-11-21T12:00:00+00:00'
    >>> parse_time("soon") is None
    True
    """
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


class BuilderInstance(BaseModel):
    """An instance that carries Image Builder's tags or its name pattern (DescribeInstances)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    region: str
    instance_id: str
    name: str = ""
    status: str = ""
    instance_type: str = ""
    charge_type: str = ""
    creation_time: dt.datetime | None = None
    vpc_id: str = ""
    vswitch_id: str = ""
    tags: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_wire(cls, region: str, raw: dict[str, Any]) -> BuilderInstance:
        """Build from one ``Instances.Instance[]`` entry."""
        vpc = raw.get("VpcAttributes") or {}
        tags = {t.get("TagKey", ""): t.get("TagValue", "") for t in (raw.get("Tags") or {}).get("Tag") or []}
        return cls(region=region, instance_id=raw["InstanceId"], name=raw.get("InstanceName") or "",
                   status=raw.get("Status") or "", instance_type=raw.get("InstanceType") or "",
                   charge_type=raw.get("InstanceChargeType") or "", creation_time=parse_time(raw.get("CreationTime")),
                   vpc_id=vpc.get("VpcId") or "", vswitch_id=vpc.get("VSwitchId") or "", tags=tags)


class Network(BaseModel):
    """A vSwitch or a VPC of a region (DescribeVSwitches / DescribeVpcs; ECS shows no tags on them)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    region: str
    kind: Literal["vswitch", "vpc"]
    resource_id: str
    name: str = ""
    vpc_id: str = ""
    creation_time: dt.datetime | None = None

    @classmethod
    def vswitch(cls, region: str, raw: dict[str, Any]) -> Network:
        """From one ``VSwitches.VSwitch[]`` entry."""
        return cls(region=region, kind="vswitch", resource_id=raw["VSwitchId"], name=raw.get("VSwitchName") or "",
                   vpc_id=raw.get("VpcId") or "", creation_time=parse_time(raw.get("CreationTime")))

    @classmethod
    def vpc(cls, region: str, raw: dict[str, Any]) -> Network:
        """From one ``Vpcs.Vpc[]`` entry."""
        return cls(region=region, kind="vpc", resource_id=raw["VpcId"], name=raw.get("VpcName") or "",
                   vpc_id=raw["VpcId"], creation_time=parse_time(raw.get("CreationTime")))
