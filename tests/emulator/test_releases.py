"""Releasing a failed build's leftovers through the real SDK: DeleteInstance(s), DeleteVSwitch, DeleteVpc with
the documented error codes (IncorrectInstanceStatus without Force, InvalidInstanceId.NotFound, DependencyViolation
while something is still inside)."""

from __future__ import annotations

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client

from emulator import EmulatorControl
from emulator.ecs.models_builds import TAG_EXECUTION

from .helpers import image, raises_code
from .test_image_pipelines import STAGE, create, start

R = "cn-hangzhou"


@pytest.fixture(autouse=True)
def _world(control: EmulatorControl) -> None:
    control.seed({
        "images": [image("m-base", name="base")],
        "instances": [
            {"region": R, "instance_id": "i-running", "image_id": "m-base"},
            {"region": R, "instance_id": "i-stopped", "image_id": "m-base", "status": "Stopped"},
            {"region": R, "instance_id": "i-pending", "image_id": "m-base", "status": "Pending"},
        ],
    })


def instance_ids(client: Client, region: str = R) -> list[str]:
    req = m.DescribeInstancesRequest(region_id=region, max_results=100)
    return [i.instance_id for i in client.describe_instances(req).body.instances.instance]


def failed_build(ecs: Client, control: EmulatorControl) -> tuple[str, m.DescribeInstancesResponseBodyInstancesInstance]:
    """A template without vSwitch whose build failed and kept its build instance and temporary network."""
    pid = create(ecs, name="leftover", delete_instance_on_failure=False)
    control.ecs_pipeline_outcome({"pipeline_id": pid, "outcome": "FAILED"})
    eid = start(ecs, pid)
    control.advance(STAGE * 2)
    req = m.DescribeInstancesRequest(region_id=R, tag=[m.DescribeInstancesRequestTag(key=TAG_EXECUTION)])
    [kept] = ecs.describe_instances(req).body.instances.instance
    return eid, kept


def test_a_running_instance_is_released_only_with_force(any_ecs: Client) -> None:
    with raises_code("IncorrectInstanceStatus", 403):
        any_ecs.delete_instance(m.DeleteInstanceRequest(instance_id="i-running"))
    assert "i-running" in instance_ids(any_ecs)
    any_ecs.delete_instance(m.DeleteInstanceRequest(instance_id="i-running", force=True))
    assert "i-running" not in instance_ids(any_ecs)


def test_a_stopped_instance_is_released_without_force_and_a_second_release_is_not_found(ecs: Client) -> None:
    ecs.delete_instance(m.DeleteInstanceRequest(instance_id="i-stopped"))
    assert "i-stopped" not in instance_ids(ecs)
    with raises_code("InvalidInstanceId.NotFound", 404):
        ecs.delete_instance(m.DeleteInstanceRequest(instance_id="i-stopped"))


def test_a_pending_instance_cannot_be_released_even_with_force(ecs: Client) -> None:
    with raises_code("IncorrectInstanceStatus.Initializing", 403):
        ecs.delete_instance(m.DeleteInstanceRequest(instance_id="i-pending", force=True))


def test_a_dry_run_checks_and_releases_nothing(ecs: Client) -> None:
    with raises_code("DryRunOperation", 400):
        ecs.delete_instance(m.DeleteInstanceRequest(instance_id="i-running", force=True, dry_run=True))
    assert "i-running" in instance_ids(ecs)


def test_delete_instances_is_all_or_nothing(ecs: Client) -> None:
    with raises_code("IncorrectInstanceStatus", 403):
        ecs.delete_instances(m.DeleteInstancesRequest(region_id=R, instance_id=["i-stopped", "i-running"]))
    assert {"i-stopped", "i-running"} <= set(instance_ids(ecs))
    with raises_code("InvalidInstanceId.NotFound", 404):
        ecs.delete_instances(m.DeleteInstancesRequest(region_id=R, instance_id=["i-stopped", "i-nope"], force=True))
    ecs.delete_instances(m.DeleteInstancesRequest(region_id=R, instance_id=["i-stopped", "i-running"], force=True))
    assert instance_ids(ecs) == ["i-pending"]


def test_a_failed_builds_network_goes_only_after_its_instance(ecs: Client, control: EmulatorControl) -> None:
    # GIVEN a failed build that kept its build instance in a temporary vSwitch and VPC
    eid, kept = failed_build(ecs, control)
    vsw_id, vpc_id = kept.vpc_attributes.v_switch_id, kept.vpc_attributes.vpc_id
    assert kept.instance_name == f"ImageBuilder_Build_{eid}" and kept.instance_charge_type == "PostPaid"
    [vsw] = ecs.describe_vswitches(m.DescribeVSwitchesRequest(region_id=R, v_switch_id=vsw_id)).body.v_switches.v_switch
    assert vsw.v_switch_name == f"ImageBuilder_{eid}" and vsw.vpc_id == vpc_id
    # THEN neither the VPC nor the vSwitch can go while something is inside
    with raises_code("DependencyViolation.VSwitch", 400):
        ecs.delete_vpc(m.DeleteVpcRequest(region_id=R, vpc_id=vpc_id))
    with raises_code("DependencyViolation", 400):
        ecs.delete_vswitch(m.DeleteVSwitchRequest(region_id=R, v_switch_id=vsw_id))
    # WHEN the instance is released, the vSwitch can go, then the VPC
    ecs.delete_instance(m.DeleteInstanceRequest(instance_id=kept.instance_id, force=True))
    ecs.delete_vswitch(m.DeleteVSwitchRequest(region_id=R, v_switch_id=vsw_id))
    ecs.delete_vpc(m.DeleteVpcRequest(region_id=R, vpc_id=vpc_id))
    assert ecs.describe_vpcs(m.DescribeVpcsRequest(region_id=R, vpc_id=vpc_id)).body.vpcs.vpc == []
    with raises_code("InvalidVSwitchId.NotFound", 404):
        ecs.delete_vswitch(m.DeleteVSwitchRequest(region_id=R, v_switch_id=vsw_id))
    with raises_code("InvalidVpcId.NotFound", 404):
        ecs.delete_vpc(m.DeleteVpcRequest(region_id=R, vpc_id=vpc_id))


def test_a_vpc_with_an_instance_but_no_vswitch_is_refused(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"vswitches": [{"region": R, "vswitch_id": "vsw-gone", "vpc_id": "vpc-busy"}],
                  "instances": [{"region": R, "instance_id": "i-invpc", "image_id": "m-base", "vpc_id": "vpc-busy"}]})
    ecs.delete_vswitch(m.DeleteVSwitchRequest(region_id=R, v_switch_id="vsw-gone"))
    with raises_code("DependencyViolation.Instance", 400):
        ecs.delete_vpc(m.DeleteVpcRequest(region_id=R, vpc_id="vpc-busy"))
