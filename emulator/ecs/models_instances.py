"""Releasing instances and networks: DeleteInstance, DeleteInstances, DeleteVSwitch, DeleteVpc.

What image-relay's cleanup needs to release the billed leftovers of failed Image Builder builds. Facts from
the API references (error codes in ``exceptions_instances``):

* DeleteInstance takes no RegionId: the instance is found by id; ``Force`` releases a Running instance, without
  it only a Stopped one is released (403 ``IncorrectInstanceStatus``); a Pending instance cannot be released
  (403 ``IncorrectInstanceStatus.Initializing``); an unknown id is 404 ``InvalidInstanceId.NotFound``;
  ``DryRun`` answers ``DryRunOperation`` after every check;
* DeleteInstances releases 1–100 ``InstanceId.N`` of ``RegionId`` with the same rules, all or nothing;
* a vSwitch with an instance in it → 400 ``DependencyViolation``; a VPC with a vSwitch → 400
  ``DependencyViolation.VSwitch``, with an instance → 400 ``DependencyViolation.Instance``.

Choices where the docs are silent (UNCONFIRMED): a release is immediate (ECS passes through Stopping, VPC
through Pending, and a DescribeInstances right after may still list the instance); DeleteInstances checks
every id before releasing any; the deprecated ECS twins of DeleteVSwitch / DeleteVpc (what the ECS SDK calls)
answer like VPC's own; a missing id is not idempotent (404, like the tables say), so callers treat 404 as
"already released".
"""

from __future__ import annotations

from emulator.core.errors import DryRunOperationError
from emulator.ecs import exceptions_instances as iexc
from emulator.ecs.models_base import Instance
from emulator.ecs.models_builds import BuildResourcesMixin

#: Statuses a release needs ``Force`` for (only Stopped is released without it).
NEEDS_FORCE = ("Running", "Starting", "Stopping")


class InstancesMixin(BuildResourcesMixin):
    """DeleteInstance(s), DeleteVSwitch, DeleteVpc."""

    def _releasable(self, instance: Instance | None, force: bool) -> Instance:
        if instance is None:
            raise iexc.InvalidInstanceIdNotFoundError()
        if instance.status == "Pending":
            raise iexc.InstanceInitializingError()
        if instance.status in NEEDS_FORCE and not force:
            raise iexc.IncorrectInstanceStatusError()
        return instance

    def delete_instance(self, instance_id: str, *, force: bool, dry_run: bool) -> None:
        """Release one instance (found by id in any region)."""
        instance = self._releasable(self.instances.get(instance_id), force)
        if dry_run:
            raise DryRunOperationError()
        del self.instances[instance.instance_id]

    def delete_instances(self, region: str, instance_ids: list[str], *, force: bool, dry_run: bool) -> None:
        """Release 1–100 instances of ``region``; every one is checked before any is released."""
        self.check_region(region)
        ids = list(dict.fromkeys(instance_ids))
        if not 1 <= len(ids) <= 100:
            raise iexc.InstanceIdSizeError()
        for instance_id in ids:
            found = self.instances.get(instance_id)
            self._releasable(found if found is not None and found.region == region else None, force)
        if dry_run:
            raise DryRunOperationError()
        for instance_id in ids:
            del self.instances[instance_id]

    def delete_vswitch(self, region: str, vswitch_id: str) -> None:
        """Delete a vSwitch that no instance uses."""
        self.check_region(region)
        vsw = self.vswitches.get(vswitch_id)
        if vsw is None or vsw.region != region:
            raise iexc.VSwitchNotFoundError()
        if any(i.vswitch_id == vswitch_id for i in self.instances.values()):
            raise iexc.VSwitchDependencyError()
        del self.vswitches[vswitch_id]

    def delete_vpc(self, region: str, vpc_id: str) -> None:
        """Delete a VPC without vSwitches or instances."""
        self.check_region(region)
        vpc = self.vpcs.get(vpc_id)
        if vpc is None or vpc.region != region:
            raise iexc.VpcNotFoundError()
        if any(s.vpc_id == vpc_id for s in self.vswitches.values()):
            raise iexc.VpcVSwitchDependencyError()
        if any(i.vpc_id == vpc_id for i in self.instances.values()):
            raise iexc.VpcInstanceDependencyError()
        del self.vpcs[vpc_id]
