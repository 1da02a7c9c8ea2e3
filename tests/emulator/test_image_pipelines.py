"""Image Builder through the real SDK: templates, build tasks on the virtual clock, the one-build-per-template
rule, cancel, injected outcomes (FAILED / TEST_FAILED / PARTITION_SUCCESS), the leftovers of failed builds
(DescribeInstances / DescribeVpcs / DescribeVSwitches), paging and the documented error codes."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client

from emulator import EmulatorControl
from emulator.client import EmulatorControlError
from emulator.ecs.models_builds import TAG_EXECUTION, TAG_PIPELINE

from .helpers import image, raises_code

R = "cn-hangzhou"
STAGE = 120.0  # image_pipeline_stage_seconds default


@pytest.fixture(autouse=True)
def _world(control: EmulatorControl) -> None:
    control.seed({"images": [image("m-base", name="base")], "vswitches": [{"region": R, "vswitch_id": "vsw-own"}]})


def create(client: Client, **fields: Any) -> str:
    args: dict[str, Any] = {"region_id": R, "base_image_type": "IMAGE", "base_image": "m-base"}
    args.update(fields)
    return client.create_image_pipeline(m.CreateImagePipelineRequest(**args)).body.image_pipeline_id


def start(client: Client, pipeline_id: str, token: str | None = None) -> str:
    req = m.StartImagePipelineExecutionRequest(region_id=R, image_pipeline_id=pipeline_id, client_token=token)
    return client.start_image_pipeline_execution(req).body.execution_id


def execution(client: Client, execution_id: str) -> m.DescribeImagePipelineExecutionsResponseBodyImagePipelineExecutionImagePipelineExecutionSet:
    req = m.DescribeImagePipelineExecutionsRequest(region_id=R, execution_id=execution_id)
    [found] = client.describe_image_pipeline_executions(req).body.image_pipeline_execution.image_pipeline_execution_set
    return found


def builder_instances(client: Client, execution_id: str, region: str = R) -> list[str]:
    req = m.DescribeInstancesRequest(
        region_id=region, tag=[m.DescribeInstancesRequestTag(key=TAG_EXECUTION, value=execution_id)]
    )
    return [i.instance_name for i in client.describe_instances(req).body.instances.instance]


def images_named(client: Client, region: str, name: str) -> list[m.DescribeImagesResponseBodyImagesImage]:
    req = m.DescribeImagesRequest(region_id=region, image_name=name, status="ALL")
    return client.describe_images(req).body.images.image


def test_a_build_runs_its_stages_distributes_shares_and_cleans_up(any_ecs: Client, control: EmulatorControl) -> None:
    # GIVEN a template without vSwitch, distributing to two regions and sharing with two accounts
    pid = create(any_ecs, name="golden", image_options=m.CreateImagePipelineRequestImageOptions(image_name="golden"),
                 to_region_id=["cn-beijing", "cn-shanghai"], add_account=[111, 222], tag=[
                     m.CreateImagePipelineRequestTag(key="team", value="ops")])
    # WHEN a build starts
    eid = start(any_ecs, pid)
    # THEN it prepares: a build instance and a temporary VPC/vSwitch, all marked
    first = execution(any_ecs, eid)
    assert (first.status, first.image_pipeline_id, first.image_id) == ("PREPARING", pid, "")
    assert first.message.startswith('Create transition vpc "vpc-')
    assert builder_instances(any_ecs, eid) == [f"ImageBuilder_Build_{eid}"]
    [inst] = any_ecs.describe_instances(m.DescribeInstancesRequest(region_id=R, instance_name="ImageBuilder_*")).body.instances.instance
    assert inst.instance_charge_type == "PostPaid" and inst.image_id == "m-base"
    assert {t.tag_key: t.tag_value for t in inst.tags.tag} == {TAG_EXECUTION: eid, TAG_PIPELINE: pid}
    vpcs = any_ecs.describe_vpcs(m.DescribeVpcsRequest(region_id=R)).body.vpcs.vpc
    temp = [v for v in vpcs if v.vpc_name == f"ImageBuilder_{eid}"]
    assert len(temp) == 1 and inst.vpc_attributes.vpc_id == temp[0].vpc_id
    vsws = any_ecs.describe_vswitches(m.DescribeVSwitchesRequest(region_id=R, vpc_id=temp[0].vpc_id)).body
    assert [s.v_switch_id for s in vsws.v_switches.v_switch] == [inst.vpc_attributes.v_switch_id]
    # and the stages follow on the virtual clock
    seen = []
    for _ in range(4):
        control.advance(STAGE)
        seen.append(execution(any_ecs, eid).status)
    assert seen == ["BUILDING", "DISTRIBUTING", "RELEASING", "SUCCESS"]
    done = execution(any_ecs, eid)
    # THEN the image is named <prefix>_<ExecutionId> in the region and both targets, shared with both accounts
    [built] = images_named(any_ecs, R, f"golden_{eid}")
    assert built.image_id == done.image_id and built.status == "Available" and not built.is_copied
    for region in ("cn-beijing", "cn-shanghai"):
        [copy] = images_named(any_ecs, region, f"golden_{eid}")
        assert copy.is_copied and copy.status == "Available"
        shared = any_ecs.describe_image_share_permission(
            m.DescribeImageSharePermissionRequest(region_id=region, image_id=copy.image_id)).body
        assert sorted(a.aliyun_id for a in shared.accounts.account) == ["111", "222"]
    # and nothing billed is left
    assert builder_instances(any_ecs, eid) == []
    assert [v for v in any_ecs.describe_vpcs(m.DescribeVpcsRequest(region_id=R)).body.vpcs.vpc
            if v.vpc_name == f"ImageBuilder_{eid}"] == []
    assert done.modified_time > done.creation_time and done.error_code == ""


def test_the_image_is_named_after_the_execution_without_a_prefix(ecs: Client, control: EmulatorControl) -> None:
    pid = create(ecs, v_switch_id="vsw-own")
    eid = start(ecs, pid)
    control.advance(STAGE * 4)
    assert execution(ecs, eid).status == "SUCCESS"
    assert [i.image_name for i in images_named(ecs, R, eid)] == [eid]


def test_describe_image_pipelines_shows_the_template(ecs: Client) -> None:
    pid = create(ecs, name="golden", description="nightly golden image", to_region_id=["cn-beijing"],
                 add_account=[111], delete_instance_on_failure=False, v_switch_id="vsw-own", system_disk_size=60,
                 image_options=m.CreateImagePipelineRequestImageOptions(
                     image_name="gold", image_tags=[m.CreateImagePipelineRequestImageOptionsImageTags(key="k", value="v")]))
    other = create(ecs, name="other")
    body = ecs.describe_image_pipelines(m.DescribeImagePipelinesRequest(region_id=R, image_pipeline_id=[pid])).body
    [p] = body.image_pipeline.image_pipeline_set
    assert (p.image_pipeline_id, p.name, p.description, p.base_image, p.base_image_type) == (
        pid, "golden", "nightly golden image", "m-base", "IMAGE")
    assert p.to_region_ids.to_region_id == ["cn-beijing"] and p.add_accounts.add_account == ["111"]
    assert (p.delete_instance_on_failure, p.v_switch_id, p.system_disk_size) == (False, "vsw-own", 60)
    assert p.image_options.image_name == "gold" and p.image_options.image_tags.image_tag[0].tag_key == "k"
    by_name = ecs.describe_image_pipelines(m.DescribeImagePipelinesRequest(region_id=R, name="other")).body
    assert [x.image_pipeline_id for x in by_name.image_pipeline.image_pipeline_set] == [other]
    first = ecs.describe_image_pipelines(m.DescribeImagePipelinesRequest(region_id=R, max_results=1)).body
    assert (first.total_count, first.max_results, len(first.image_pipeline.image_pipeline_set)) == (2, 1, 1)
    second = ecs.describe_image_pipelines(
        m.DescribeImagePipelinesRequest(region_id=R, max_results=1, next_token=first.next_token)).body
    ids = {first.image_pipeline.image_pipeline_set[0].image_pipeline_id, second.image_pipeline.image_pipeline_set[0].image_pipeline_id}
    assert ids == {pid, other} and second.next_token == ""
    with raises_code("InvalidImagePipelineIdSize.ExceededMaxNumber", 400):
        ecs.describe_image_pipelines(
            m.DescribeImagePipelinesRequest(region_id=R, image_pipeline_id=[f"ip-{n}" for n in range(21)]))


def test_one_build_per_template_and_cancel_touches_only_its_own(ecs: Client, control: EmulatorControl) -> None:
    # GIVEN two templates, each building
    a, b = create(ecs, name="tpl-a"), create(ecs, name="tpl-b")
    ea, eb = start(ecs, a), start(ecs, b)
    # THEN a second build of the same template is refused with ECS's code
    with raises_code("InvalidImagePipeline.HasRunningExecution", 403):
        start(ecs, a)
    # WHEN a's build is cancelled while BUILDING
    control.advance(STAGE)
    ecs.cancel_image_pipeline_execution(m.CancelImagePipelineExecutionRequest(region_id=R, execution_id=ea))
    assert (execution(ecs, ea).status, execution(ecs, eb).status) == ("CANCELLING", "BUILDING")
    with raises_code("InvalidImagePipeline.HasRunningExecution", 403):
        start(ecs, a)
    control.advance(STAGE)
    # THEN a is CANCELLED with nothing left and no image; b goes on
    assert (execution(ecs, ea).status, execution(ecs, eb).status) == ("CANCELLED", "DISTRIBUTING")
    assert builder_instances(ecs, ea) == [] and execution(ecs, ea).image_id == ""
    with raises_code("InvalidStatus.ImagePipelineExecution", 403):
        ecs.cancel_image_pipeline_execution(m.CancelImagePipelineExecutionRequest(region_id=R, execution_id=eb))
    with raises_code("InvalidStatus.CancelFailed", 400):
        ecs.cancel_image_pipeline_execution(m.CancelImagePipelineExecutionRequest(region_id=R, execution_id=ea))
    with raises_code("InvalidImagePipelineExecution.NotFound", 404):
        ecs.cancel_image_pipeline_execution(m.CancelImagePipelineExecutionRequest(region_id=R, execution_id="exec-x"))
    # and a's template builds again
    assert start(ecs, a) != ea


def test_client_token_replays_the_start_and_the_create(ecs: Client) -> None:
    pid = create(ecs, name="tpl-a", client_token="tok-create")
    assert create(ecs, name="tpl-a", client_token="tok-create") == pid
    with raises_code("IdempotentParameterMismatch", 400):
        create(ecs, name="tpl-b", client_token="tok-create")
    eid = start(ecs, pid, token="tok-1")
    assert start(ecs, pid, token="tok-1") == eid  # a lost answer retried: the same build, no 403
    with raises_code("InvalidImagePipeline.HasRunningExecution", 403):
        start(ecs, pid, token="tok-2")


@pytest.mark.parametrize("keep", [True, False])
def test_a_failed_build_keeps_its_instance_and_network_only_when_asked(
    ecs: Client, control: EmulatorControl, keep: bool
) -> None:
    pid = create(ecs, name="tpl-f", delete_instance_on_failure=not keep)
    control.ecs_pipeline_outcome({"pipeline_id": pid, "outcome": "FAILED"})
    eid = start(ecs, pid)
    control.advance(STAGE * 2)
    done = execution(ecs, eid)
    assert (done.status, done.image_id, done.error_code) == ("FAILED", "", "BuildFailed")
    assert builder_instances(ecs, eid) == ([f"ImageBuilder_Build_{eid}"] if keep else [])
    temp = [v for v in ecs.describe_vpcs(m.DescribeVpcsRequest(region_id=R)).body.vpcs.vpc
            if v.vpc_name == f"ImageBuilder_{eid}"]
    assert len(temp) == (1 if keep else 0)
    control.advance(STAGE * 10)  # kept resources stay until someone releases them
    assert len(builder_instances(ecs, eid)) == (1 if keep else 0)


def test_test_failed_builds_the_image_but_distributes_nothing(ecs: Client, control: EmulatorControl) -> None:
    pid = create(ecs, name="tpl-t", to_region_id=["cn-beijing"], delete_instance_on_failure=False,
                 image_options=m.CreateImagePipelineRequestImageOptions(image_name="tested"))
    control.ecs_pipeline_outcome({"pipeline_id": pid, "outcome": "TEST_FAILED"})
    eid = start(ecs, pid)
    statuses = []
    for _ in range(3):
        control.advance(STAGE)
        statuses.append(execution(ecs, eid).status)
    assert statuses == ["BUILDING", "TESTING", "TEST_FAILED"]
    done = execution(ecs, eid)
    assert done.image_id and [i.image_id for i in images_named(ecs, R, f"tested_{eid}")] == [done.image_id]
    assert images_named(ecs, "cn-beijing", f"tested_{eid}") == []
    assert builder_instances(ecs, eid) == [f"ImageBuilder_Test_{eid}"]


def test_partition_success_skips_the_failed_regions(ecs: Client, control: EmulatorControl) -> None:
    pid = create(ecs, name="tpl-p", to_region_id=["cn-beijing", "cn-shanghai", "cn-shenzhen"])
    control.ecs_pipeline_outcome({"pipeline_id": pid, "outcome": "PARTITION_SUCCESS", "failed_regions": ["cn-shanghai"]})
    eid = start(ecs, pid)
    control.advance(STAGE * 4)
    done = execution(ecs, eid)
    assert (done.status, done.error_code) == ("PARTITION_SUCCESS", "DistributeImageFailed")
    assert "cn-shanghai" in done.error_info
    assert [len(images_named(ecs, r, eid)) for r in ("cn-beijing", "cn-shanghai", "cn-shenzhen")] == [1, 0, 1]
    assert builder_instances(ecs, eid) == []


def test_partition_success_skips_the_failed_accounts(ecs: Client, control: EmulatorControl) -> None:
    pid = create(ecs, name="tpl-a", to_region_id=["cn-beijing"], add_account=[111, 222])
    control.ecs_pipeline_outcome({"pipeline_id": pid, "outcome": "PARTITION_SUCCESS", "failed_regions": [],
                                  "failed_accounts": ["222"]})
    eid = start(ecs, pid)
    control.advance(STAGE * 4)
    done = execution(ecs, eid)
    assert (done.status, done.error_code, done.error_info) == (
        "PARTITION_SUCCESS", "DistributeImageFailed", "Share image to 222 failed.")
    for region in (R, "cn-beijing"):
        [image] = images_named(ecs, region, eid)
        shared = ecs.describe_image_share_permission(
            m.DescribeImageSharePermissionRequest(region_id=region, image_id=image.image_id)).body
        assert [a.aliyun_id for a in shared.accounts.account] == ["111"]


def test_repair_and_test_stages_have_their_own_instances(ecs: Client, control: EmulatorControl) -> None:
    pid = create(ecs, name="rt", repair_mode="Standard", test_content="RUN true", v_switch_id="vsw-own")
    eid = start(ecs, pid)
    control.advance(STAGE)
    assert execution(ecs, eid).status == "REPAIRING"
    assert sorted(builder_instances(ecs, eid)) == [f"ImageBuilder_Build_{eid}", f"ImageBuilder_Repair_{eid}"]
    control.advance(STAGE * 2)
    now = execution(ecs, eid)
    assert now.status == "TESTING" and builder_instances(ecs, eid) == [f"ImageBuilder_Test_{eid}"]
    [test_instance] = ecs.describe_instances(m.DescribeInstancesRequest(region_id=R, instance_name=f"ImageBuilder_Test_{eid}")).body.instances.instance
    assert test_instance.image_id == now.image_id and test_instance.vpc_attributes.v_switch_id == "vsw-own"
    control.advance(STAGE * 3)
    assert execution(ecs, eid).status == "SUCCESS"


def test_describe_executions_filters_and_pages(ecs: Client, control: EmulatorControl) -> None:
    pid, other = create(ecs, name="tpl-a"), create(ecs, name="tpl-b")
    done = []
    for _ in range(3):
        done.append(start(ecs, pid))
        control.advance(STAGE * 4)
    running = start(ecs, pid)
    elsewhere = start(ecs, other)
    req = m.DescribeImagePipelineExecutionsRequest(region_id=R, image_pipeline_id=pid, max_results=2)
    body = ecs.describe_image_pipeline_executions(req).body
    assert (body.total_count, body.max_results) == (4, 2)
    page1 = [e.execution_id for e in body.image_pipeline_execution.image_pipeline_execution_set]
    req.next_token = body.next_token
    body2 = ecs.describe_image_pipeline_executions(req).body
    page2 = [e.execution_id for e in body2.image_pipeline_execution.image_pipeline_execution_set]
    assert page1 + page2 == [running, *reversed(done)] and body2.next_token == ""
    # Status filter (comma-separated) and a list of ExecutionIds across templates
    by_status = ecs.describe_image_pipeline_executions(m.DescribeImagePipelineExecutionsRequest(
        region_id=R, image_pipeline_id=pid, status="PREPARING,BUILDING")).body
    assert [e.execution_id for e in by_status.image_pipeline_execution.image_pipeline_execution_set] == [running]
    by_ids = ecs.describe_image_pipeline_executions(m.DescribeImagePipelineExecutionsRequest(
        region_id=R, execution_id=f"{running},{elsewhere},{done[0]}", status="PREPARING")).body
    assert {e.execution_id for e in by_ids.image_pipeline_execution.image_pipeline_execution_set} == {running, elsewhere}
    with raises_code("MissingParameter.ImagePipelineId", 400):
        ecs.describe_image_pipeline_executions(m.DescribeImagePipelineExecutionsRequest(region_id=R))
    with raises_code("InvalidParameter.Status", 400):
        ecs.describe_image_pipeline_executions(
            m.DescribeImagePipelineExecutionsRequest(region_id=R, image_pipeline_id=pid, status="RUNNING"))
    with raises_code("Invalid.NextToken", 403):
        ecs.describe_image_pipeline_executions(
            m.DescribeImagePipelineExecutionsRequest(region_id=R, image_pipeline_id=pid, next_token="bogus"))
    with raises_code("InvalidImagePipeline.NotFound", 404):
        ecs.describe_image_pipeline_executions(
            m.DescribeImagePipelineExecutionsRequest(region_id=R, image_pipeline_id="ip-missing"))
    with raises_code("InvalidExecutionId.SizeExceeded", 400):
        ecs.describe_image_pipeline_executions(m.DescribeImagePipelineExecutionsRequest(
            region_id=R, execution_id=",".join(f"exec-{n}" for n in range(101))))


def test_delete_refuses_a_running_template_then_takes_its_tasks(ecs: Client, control: EmulatorControl) -> None:
    pid = create(ecs, name="tpl-d")
    start(ecs, pid)
    with raises_code("InvalidImagePipeline.HasRunningExecution", 403):
        ecs.delete_image_pipeline(m.DeleteImagePipelineRequest(region_id=R, image_pipeline_id=pid))
    control.advance(STAGE * 4)
    ecs.delete_image_pipeline(m.DeleteImagePipelineRequest(region_id=R, image_pipeline_id=pid))
    with raises_code("InvalidImagePipeline.NotFound", 404):
        ecs.describe_image_pipeline_executions(
            m.DescribeImagePipelineExecutionsRequest(region_id=R, image_pipeline_id=pid))
    with raises_code("InvalidImagePipeline.NotFound", 404):
        ecs.delete_image_pipeline(m.DeleteImagePipelineRequest(region_id=R, image_pipeline_id=pid))
    with raises_code("InvalidImagePipeline.NotFound", 404):
        start(ecs, pid)


@pytest.mark.parametrize(
    "fields, code, status",
    [
        ({"base_image_type": "OSS"}, "InvalidBaseImageType.NotSupportedValue", 400),
        ({"name": "1bad"}, "InvalidName.Malformed", 400),
        ({"description": "x"}, "InvalidDescription.Malformed", 400),
        ({"image_name": "x"}, "InvalidImageName.Malformed", 400),
        ({"system_disk_size": 10}, "InvalidSystemDiskSize.NotSupportedValue", 400),
        ({"internet_max_bandwidth_out": 101}, "InvalidInternetMaxBandwidthOut.NotSupportedValue", 400),
        ({"add_account": list(range(1, 22))}, "InvalidAddAccountSize.ExceededMaxNumber", 400),
        ({"to_region_id": ["cn-beijing"] * 21}, "InvalidToRegionIdSize.ExceededMaxNumber", 400),
        ({"to_region_id": ["mars-1"]}, "InvalidRegionId.NotFound", 404),
        ({"repair_mode": "Deep"}, "InvalidParameter.RepairMode", 400),
        ({"build_content": "RUN x" * 4000}, "InvalidBuildContent.LengthExceeded", 400),
        ({"base_image": "m-missing"}, "InvalidImage.NotFound", 404),
        ({"v_switch_id": "vsw-missing"}, "InvalidVSwitchId.NotFound", 404),
        ({"region_id": "mars-1"}, "InvalidRegionId.NotFound", 404),
    ],
)
def test_create_image_pipeline_errors(ecs: Client, fields: dict[str, Any], code: str, status: int) -> None:
    with raises_code(code, status):
        create(ecs, **fields)
    assert ecs.describe_image_pipelines(m.DescribeImagePipelinesRequest(region_id=R)).body.total_count == 0


def test_seeded_templates_and_bad_seeds(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"image_pipelines": [{"region": R, "pipeline_id": "ip-seeded", "base_image": "m-base",
                                       "image_name": "seeded", "delete_instance_on_failure": False}]})
    [p] = ecs.describe_image_pipelines(m.DescribeImagePipelinesRequest(region_id=R)).body.image_pipeline.image_pipeline_set
    assert (p.image_pipeline_id, p.name, p.delete_instance_on_failure) == ("ip-seeded", "ip-seeded", False)
    eid = start(ecs, "ip-seeded")
    assert execution(ecs, eid).status == "PREPARING"
    with pytest.raises(EmulatorControlError) as info:
        control.seed({"image_pipelines": [{"region": R, "pipeline_id": "ip-2", "to_regions": ["mars-1"]}]})
    assert info.value.status == 400 and info.value.body["Errors"][0]["loc"] == "image_pipelines.0.to_regions.0"
    with pytest.raises(EmulatorControlError) as info:
        control.ecs_pipeline_outcome({"pipeline_id": "ip-missing", "outcome": "FAILED"})
    assert info.value.status == 400 and info.value.body["Errors"][0]["loc"] == "pipeline_id"


def test_a_running_build_can_be_told_to_fail(ecs: Client, control: EmulatorControl) -> None:
    pid = create(ecs, name="late", delete_instance_on_failure=False)
    eid = start(ecs, pid)
    control.ecs_pipeline_outcome({"execution_id": eid, "outcome": "FAILED"})
    control.advance(STAGE * 2)
    assert execution(ecs, eid).status == "FAILED" and len(builder_instances(ecs, eid)) == 1
