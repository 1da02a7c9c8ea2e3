"""What the cleanup needs to find and release a failed Image Builder build's leftovers (`ImageBuilderGateway`
inherits it): its intermediate instances, its temporary vSwitch and VPC.

Why it looks like this:
- Instances are found by Image Builder's tag (DescribeInstances ``Tag.1.Key`` without value: every build)
  AND by its name pattern (``InstanceName`` with a ``*`` wildcard), so an instance that carries only the
  name shows up in the report too, as kept: the planner releases only what carries both marks.
- ECS's DescribeVSwitches / DescribeVpcs take no name or tag filter and show no tags: the region's networks
  are listed (50 a page) and the planner picks the ones named after a build task it can confirm.
- An instance is released with ``Force``: a failed build leaves it Running, and DeleteInstance without
  Force refuses a Running instance (403 ``IncorrectInstanceStatus``); a StopInstance first would only add a
  call and a wait for an instance whose disk nobody keeps. 404 ``InvalidInstanceId.NotFound`` (released
  already) reaches the caller as `ResourceNotFoundError`: the executor counts it as done.
- DeleteVSwitch / DeleteVpc are the ECS (2014-05-26) twins of VPC's actions: deprecated but served, and the
  ECS SDK the function already ships calls them (RAM: ``ecs:DeleteVSwitch`` / ``ecs:DeleteVpc``, as the
  AliyunCSManagedKubernetesRole policy lists them beside VPC's own ``vpc:`` actions).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient

from shared.clouds.leftover_types import NAME_PREFIX, TAG_BUILDER_EXECUTION, BuilderInstance, Network

#: The SDK client `_call` dispatches to; scripts/ram.py reads the RAM actions from it.
SDK_CLIENT: type[EcsClient] = EcsClient
INSTANCE_PAGE = 100
NETWORK_PAGE = 50


class BuildLeftoversMixin:
    """Finding and releasing Image Builder's leftovers; mixed into `ImageBuilderGateway` (which has `_call`)."""

    _call: Callable[..., dict[str, Any]]
    _paged: Callable[..., Iterator[dict[str, Any]]]  # `RpcGateway`'s listings
    _token_pages: Callable[..., Iterator[dict[str, Any]]]

    def iter_builder_instances(self, region: str) -> Iterator[BuilderInstance]:
        """Instances tagged by Image Builder, then those only named like its instances (each id once)."""
        seen: set[str] = set()
        tagged = [ecs_models.DescribeInstancesRequestTag(key=TAG_BUILDER_EXECUTION)]
        for tag, name in ((tagged, None), (None, NAME_PREFIX + "*")):
            for instance in self._instances(region, tag, name):
                if instance.instance_id not in seen:
                    seen.add(instance.instance_id)
                    yield instance

    def _instances(self, region: str, tag: list[Any] | None, name: str | None) -> Iterator[BuilderInstance]:
        def request(token: str | None) -> Any:
            return ecs_models.DescribeInstancesRequest(region_id=region, tag=tag, instance_name=name,
                                                       max_results=INSTANCE_PAGE, next_token=token)

        for raw in self._token_pages(region, "describe_instances", ("Instances", "Instance"), request):
            yield BuilderInstance.from_wire(region, raw)

    def iter_networks(self, region: str) -> Iterator[Network]:
        """Every vSwitch, then every VPC, of `region` (PageNumber/PageSize, 50 a page)."""
        vswitches = self._paged(region, "describe_vswitches", ("VSwitches", "VSwitch"),
                                lambda page: ecs_models.DescribeVSwitchesRequest(
                                    region_id=region, page_number=page, page_size=NETWORK_PAGE), size=NETWORK_PAGE)
        yield from (Network.vswitch(region, raw) for raw in vswitches)
        vpcs = self._paged(region, "describe_vpcs", ("Vpcs", "Vpc"), lambda page: ecs_models.DescribeVpcsRequest(
            region_id=region, page_number=page, page_size=NETWORK_PAGE), size=NETWORK_PAGE)
        yield from (Network.vpc(region, raw) for raw in vpcs)

    def release_instance(self, region: str, instance_id: str) -> None:
        """DeleteInstance with Force (see the module docstring); `ResourceNotFoundError` when already gone."""
        self._call(region, "delete_instance", ecs_models.DeleteInstanceRequest(instance_id=instance_id, force=True))

    def delete_vswitch(self, region: str, vswitch_id: str) -> None:
        """DeleteVSwitch; `InvalidCloudRequestError` (DependencyViolation) while an instance is in it."""
        self._call(region, "delete_vswitch", ecs_models.DeleteVSwitchRequest(region_id=region, v_switch_id=vswitch_id))

    def delete_vpc(self, region: str, vpc_id: str) -> None:
        """DeleteVpc; refused (DependencyViolation.*) while it holds a vSwitch or an instance."""
        self._call(region, "delete_vpc", ecs_models.DeleteVpcRequest(region_id=region, vpc_id=vpc_id))

