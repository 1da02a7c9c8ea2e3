"""The pure half of cleaning up after failed builds: superseded builds' copies under retention (keep N per
pipeline and region), and the leftover guards (marks, build task, grace, charge type, own network)."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from shared.builds.handoff import TAG_EXECUTION, TAG_PIPELINE
from shared.cleanup.leftovers import LeftoverScan, plan_leftovers
from shared.cleanup.model import ImageFacts, InFlight, Inventory
from shared.cleanup.planner import build_plan
from shared.clouds.ecs_types import Image, Instance
from shared.clouds.leftover_types import TAG_BUILDER_EXECUTION, TAG_BUILDER_PIPELINE, BuilderInstance, Network
from shared.clouds.pipeline_types import ImagePipeline, PipelineExecution
from shared.policy.cleanup import CleanupPolicy, Retention
from shared.replication.provenance import provenance_tags

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)
HZ, BJ = "cn-hangzhou", "cn-beijing"
RELEASE = CleanupPolicy(release_failed_build_instances=True, failed_build_grace_hours=24)


# -- superseded builds' copies: retention per pipeline and region --------------------------------------------


def build_copy(n: int, *, pipeline: str = "ip-gold", days: float, region: str = BJ) -> ImageFacts:
    """The `region` copy of build n's image (built in HZ, its own source image, no family)."""
    source, execution = f"m-built{n}", f"exec-{n}"
    tags = {**provenance_tags(f"copy/{HZ}/{source}/{region}", HZ, source, "web"),
            TAG_PIPELINE: pipeline, TAG_EXECUTION: execution}
    image = Image(region=region, image_id=f"m-{pipeline}-{n}-{region}", name=f"gold_{execution}", tags=tags,
                  creation_time=NOW - dt.timedelta(days=days))
    return ImageFacts(image, source_family="")  # a built image has no family: the pipeline is the lineage


def test_superseded_builds_copies_fall_under_retention_per_pipeline_and_region():
    # GIVEN four builds of one pipeline copied to BJ, two builds copied to SG, and one build of another pipeline
    facts = [build_copy(n, days=40 - n) for n in range(4)]
    facts += [build_copy(n, days=40 - n, region="ap-southeast-1") for n in range(2)]
    facts.append(build_copy(9, pipeline="ip-other", days=60))
    policy = CleanupPolicy(retention=Retention(keep_newest=2, grace_days=7), max_deletions=100, max_share=1.0)
    inventory = Inventory(regions=(HZ, BJ, "ap-southeast-1"), images=tuple(facts))
    # WHEN the retention plans
    plan = build_plan(policy, inventory, InFlight(), NOW, rules={"web"})
    decisions = {d.image_id: (d.action, d.reason) for d in plan.decisions}
    # THEN the two oldest BJ copies of ip-gold go; the newest two of each (pipeline, region) stay
    lineage = f"{HZ}/pipeline:ip-gold/rule:web/{BJ}"
    assert decisions[f"m-ip-gold-0-{BJ}"] == ("delete", f"superseded by 2 newer copies in lineage {lineage}; "
                                                         "older than grace_days 7")
    assert [i for i, (action, _) in sorted(decisions.items()) if action == "delete"] == [
        f"m-ip-gold-0-{BJ}", f"m-ip-gold-1-{BJ}"]
    assert decisions[f"m-ip-gold-3-{BJ}"] == ("keep", f"newest 1 of 2 kept in lineage {lineage}")
    assert decisions["m-ip-other-9-cn-beijing"][1] == f"newest 1 of 2 kept in lineage {HZ}/pipeline:ip-other/rule:web/{BJ}"


# -- leftovers ---------------------------------------------------------------------------------------------


def task(status: str = "FAILED", hours_ago: float = 48, pipeline: str = "ip-1", execution: str = "exec-1"
         ) -> PipelineExecution:
    return PipelineExecution(region=HZ, execution_id=execution, pipeline_id=pipeline, status=status,
                             modified_time=NOW - dt.timedelta(hours=hours_ago))


def instance(**changes: Any) -> BuilderInstance:
    fields: dict[str, Any] = {
        "region": HZ, "instance_id": "i-1", "name": "ImageBuilder_Test_exec-1", "status": "Running",
        "instance_type": "ecs.gn6i-c4g1.xlarge", "charge_type": "PostPaid", "vswitch_id": "vsw-t", "vpc_id": "vpc-t",
        "creation_time": NOW - dt.timedelta(hours=49),
        "tags": {TAG_BUILDER_EXECUTION: "exec-1", TAG_BUILDER_PIPELINE: "ip-1"}}
    fields.update(changes)
    return BuilderInstance(**fields)


def decide(*, instances: tuple[BuilderInstance, ...] = (), networks: tuple[Network, ...] = (),
           executions: tuple[PipelineExecution, ...] = (task(),), policy: CleanupPolicy = RELEASE,
           pipelines: tuple[ImagePipeline, ...] = (ImagePipeline(region=HZ, pipeline_id="ip-1"),),
           all_instances: tuple[Instance, ...] = ()) -> dict[str, tuple[str, str]]:
    scan = LeftoverScan(regions=(HZ,), instances=instances, networks=networks, all_instances=all_instances,
                        executions={e.execution_id: e for e in executions},
                        pipelines={p.pipeline_id: p for p in pipelines})
    return {d.resource_id: (d.action, d.reason) for d in plan_leftovers(policy, scan, NOW)}


def test_a_test_failed_builds_gpu_test_instance_is_released_with_its_cost_class():
    scan = LeftoverScan(regions=(HZ,), instances=(instance(),), executions={"exec-1": task("TEST_FAILED")})
    [decision] = plan_leftovers(RELEASE, scan, NOW)
    assert (decision.action, decision.cost_class, decision.pipeline_id) == ("release", "GPU/FPGA (4 vCPU)", "ip-1")
    assert decision.reason == ("Test instance of failed build exec-1 (TEST_FAILED, ended 2026-11-19T12:00Z), "
                               "past failed_build_grace_hours 24h")


@pytest.mark.parametrize(("changes", "executions", "reason"), [
    ({}, (task("SUCCESS"),), "build task exec-1 ended SUCCESS: only failed builds' leftovers are released"),
    ({}, (task("CANCELLED"),), "build task exec-1 ended CANCELLED: only failed builds' leftovers are released"),
    ({}, (), "build task exec-1 not found (its template deleted?): its end is unknown; kept"),
    ({}, (task("TESTING"),), "build task exec-1 is still TESTING"),
    ({}, (task(hours_ago=23),), "build exec-1 ended 2026-11-20T13:00Z: younger than failed_build_grace_hours 24h"),
    ({"creation_time": NOW - dt.timedelta(hours=2)}, (task(),),
     "build exec-1 ended 2026-11-19T12:00Z: younger than failed_build_grace_hours 24h"),
    ({"charge_type": "PrePaid"}, (task(),),
     "not pay-as-you-go (InstanceChargeType PrePaid); Image Builder makes only PostPaid instances"),
    ({"tags": {TAG_BUILDER_EXECUTION: "exec-1", TAG_BUILDER_PIPELINE: "ip-9"}}, (task(),),
     "tag acs:ecs:image-builder:pipeline-id=ip-9 is not the build's template ip-1; never released"),
    ({"tags": {}}, (task(),),
     "named like Image Builder's but without its tag acs:ecs:image-builder:execution-id; never released"),
    ({"name": "ImageBuilder_Test_exec-2"}, (task(),),
     "tagged by Image Builder but not named ImageBuilder_<Build|Repair|Test>_exec-1; never released"),
])
def test_an_instance_is_kept_unless_every_guard_passes(changes, executions, reason):
    assert decide(instances=(instance(**changes),), executions=executions) == {"i-1": ("keep", reason)}


def test_the_templates_own_vswitch_and_an_occupied_network_stay():
    own = ImagePipeline(region=HZ, pipeline_id="ip-1", vswitch_id="vsw-own")
    networks = (Network(region=HZ, kind="vswitch", resource_id="vsw-own", name="ImageBuilder_exec-1", vpc_id="vpc-o"),
                Network(region=HZ, kind="vswitch", resource_id="vsw-t", name="ImageBuilder_exec-1", vpc_id="vpc-t"),
                Network(region=HZ, kind="vpc", resource_id="vpc-t", name="ImageBuilder_exec-1"),
                Network(region=HZ, kind="vpc", resource_id="vpc-mine", name="prod"))
    busy = (Instance(region=HZ, instance_id="i-web", vswitch_id="vsw-t", vpc_id="vpc-t"),)
    assert decide(networks=networks, pipelines=(own,), all_instances=busy) == {
        "vsw-own": ("keep", "the template's own network (vsw-own); never released"),
        "vsw-t": ("keep", "i-web still in it; released on a later run once gone"),
        "vpc-t": ("keep", "i-web, vsw-t still in it; released on a later run once gone"),
    }
    empty = decide(networks=networks[1:2])
    assert empty["vsw-t"][0] == "release"
    off = decide(networks=networks[1:2], policy=CleanupPolicy())
    assert off["vsw-t"] == ("keep", "temporary vSwitch of failed build exec-1 (FAILED, ended 2026-11-19T12:00Z); "
                                    "reported only: release_failed_build_instances is off")
