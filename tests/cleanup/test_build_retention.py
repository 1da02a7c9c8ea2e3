"""Superseded builds' images fall under retention (keep N per template and region), through the cleanup handler:
real ECS SDK → emulator.

A build rule's template builds in Hangzhou and distributes to Beijing itself; four builds run on the virtual
clock. With `keep_newest: 2`, the two oldest builds' images (the build-region image and the template's own copy
in Beijing) are planned in a dry run and deleted only by a real run; the newest two never; an image still in use
is kept with its reason.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from scripts import sample_world as scene
from shared.clouds.ecs_pipelines import ImageBuilderGateway
from shared.config import Credentials

HZ, BJ = "cn-hangzhou", "cn-beijing"
PIPELINE = "ip-bp1retain01"
STAGE = 120  # the emulator's image_pipeline_stage_seconds
DAY = 86400.0


@pytest.fixture(autouse=True)
def _emulator_clock(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The function's clock is the emulator's virtual clock (builds and image ages run on it)."""
    control = world.emu.control
    monkeypatch.setattr("shared.wiring.utcnow",
                        lambda: dt.datetime.fromtimestamp(control.clock()["epoch"], tz=dt.timezone.utc))


def policy(keep_newest: int = 2) -> str:
    return scene.POLICY_YAML + f"""\
build_rules:
  - name: golden
    pipeline: {{region: {HZ}, id: {PIPELINE}}}
cleanup:
  retention: {{keep_newest: {keep_newest}, grace_days: 1}}
  max_deletions: 20
  max_share: 1.0
"""


def builder(world: Any) -> ImageBuilderGateway:
    gateway = ImageBuilderGateway.connect(Credentials(access_key_id="test-ak", access_key_secret="test-secret"),
                                          endpoint=world.emu.url)
    assert isinstance(gateway, ImageBuilderGateway)
    return gateway


def builds(world: Any, count: int, **template: Any) -> list[dict[str, str]]:
    """Seed the template, run `count` builds to SUCCESS one after the other; oldest first, each build's
    execution id and image ids by region (the template's own copy in Beijing found by its exact name)."""
    world.emu.control.seed({"image_pipelines": [{
        "region": HZ, "pipeline_id": PIPELINE, "name": "golden-base", "base_image": "m-bp1demoweb0001",
        "image_name": "golden", "to_regions": [BJ], **template}]})
    gateway = builder(world)
    made = []
    for _ in range(count):
        execution_id = gateway.start_pipeline_execution(HZ, PIPELINE)
        world.emu.control.advance(4 * STAGE + 60)  # PREPARING, BUILDING, DISTRIBUTING, RELEASING
        [task] = gateway.describe_pipeline_executions(HZ, execution_ids=[execution_id])
        assert task.status == "SUCCESS"
        [copy] = [i for i in gateway.list_images(BJ, name=f"golden_{execution_id}") if i.name == f"golden_{execution_id}"]
        made.append({"execution": execution_id, HZ: task.image_id, BJ: copy.image_id})
    world.emu.control.advance(2 * DAY)  # past grace_days
    return made


def run(world: Any, text: str, dry_run: bool) -> dict[str, Any]:
    world.set_policy(text)
    return world.invoke("cleanup", json.dumps({"action": "cleanup", "dry_run": dry_run}).encode())


def outcomes(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """image id → (outcome, reason) of every retention decision."""
    return {d["image_id"]: (d["outcome"], d["reason"]) for d in report["decisions"] if d["rule"] == "retention"}


def deleted(world: Any) -> list[str]:
    return sorted(c["params"]["ImageId"] for c in world.calls("DeleteImage", 200))


def test_the_two_oldest_builds_images_are_planned_then_deleted_and_the_newest_two_never(world):
    # GIVEN four builds of the template (keep_newest 2), each with its image in Hangzhou and its copy in Beijing
    made = builds(world, 4)
    old = sorted(b[r] for b in made[:2] for r in (HZ, BJ))
    new = sorted(b[r] for b in made[2:] for r in (HZ, BJ))
    # WHEN the cleanup runs dry
    report = run(world, policy(), dry_run=True)
    # THEN the two oldest builds' images in both regions would go, grouped per template and region, and nothing
    # was deleted
    found = outcomes(report)
    assert sorted(i for i, (outcome, _) in found.items() if outcome == "would_delete") == old
    for region in (HZ, BJ):
        assert found[made[0][region]][1] == (f"superseded by 2 newer builds' images in lineage {HZ}/pipeline:"
                                             f"{PIPELINE}/{region}; older than grace_days 1")
    assert found[made[3][BJ]] == ("kept", f"newest 1 of 2 kept in lineage {HZ}/pipeline:{PIPELINE}/{BJ}")
    assert found[made[2][HZ]] == ("kept", f"newest 2 of 2 kept in lineage {HZ}/pipeline:{PIPELINE}/{HZ}")
    assert report["status"] == "planned" and deleted(world) == []
    # WHEN it runs for real
    report = run(world, policy(), dry_run=False)
    # THEN exactly those four images are deleted, once each; the newest two builds' images stay
    assert report["status"] == "ok" and deleted(world) == old
    assert sorted(i for i, (outcome, _) in outcomes(report).items() if outcome == "deleted") == old
    ecs = world.ecs()
    assert all(ecs.get_image(r, b[r]) is None for b in made[:2] for r in (HZ, BJ))
    assert all(ecs.get_image(r, b[r]) is not None for b in made[2:] for r in (HZ, BJ))
    # and a second run deletes nothing more: the newest two are never superseded by themselves
    again = run(world, policy(), dry_run=False)
    assert deleted(world) == old and sorted(outcomes(again)) == new


def test_a_built_image_still_in_use_is_kept_with_its_reason(world):
    # GIVEN four builds, and an instance still running the oldest build's image in Hangzhou
    made = builds(world, 4)
    oldest = made[0][HZ]
    world.emu.control.seed({"instances": [{"region": HZ, "instance_id": "i-bp1golden01", "image_id": oldest}]})
    # WHEN the cleanup runs for real
    report = run(world, policy(), dry_run=False)
    # THEN that image is kept, saying which instance uses it; its Beijing copy and the second build's go
    found = outcomes(report)
    assert found[oldest] == ("kept", "in use by instance(s) i-bp1golden01")
    assert deleted(world) == sorted([made[0][BJ], made[1][HZ], made[1][BJ]])
    assert world.ecs().get_image(HZ, oldest) is not None


def test_images_of_a_template_shared_with_accounts_are_kept_while_shared(world):
    # GIVEN a template that shares every build with an account (AddAccounts), four builds
    made = builds(world, 4, add_accounts=["3333333333333333"])
    # WHEN the cleanup runs for real
    report = run(world, policy(), dry_run=False)
    # THEN nothing of the template is deleted: an image with an open share never is
    assert deleted(world) == []
    assert outcomes(report)[made[0][BJ]] == ("kept", "shared with 3333333333333333")


def test_images_of_a_template_no_build_rule_names_are_not_looked_at(world):
    # GIVEN four builds of a template, and a policy whose build rule names another template
    made = builds(world, 4)
    text = policy().replace(f"id: {PIPELINE}", "id: ip-bp1another01")
    # WHEN the cleanup runs for real
    report = run(world, text, dry_run=False)
    # THEN the template's images get no decision at all, and none is deleted
    assert not {b[r] for b in made for r in (HZ, BJ)} & set(outcomes(report)) and deleted(world) == []


def test_what_ties_an_image_to_its_build_is_the_task_image_id_or_the_distributed_name():
    from shared.cleanup.builds import rule_templates, template_outputs
    from shared.clouds.ecs_types import Image
    from shared.clouds.pipeline_types import ImagePipeline, PipelineExecution
    from shared.policy import load_policy
    from shared.replication.provenance import provenance_tags

    template = ImagePipeline(region=HZ, pipeline_id=PIPELINE, name="golden-base", to_regions=(BJ, "cn-shanghai"))
    other = ImagePipeline(region=HZ, pipeline_id="ip-other", name="golden-base")
    [rule] = load_policy(policy()).build_rules
    assert rule_templates([rule], [template, other]) == [template]
    by_name = rule.model_copy(update={"pipeline": rule.pipeline.model_copy(update={"id": None, "name": "golden-base"})})
    assert rule_templates([by_name], [template, other]) == []  # two templates of that name: none is chosen

    def task(n: int, image_id: str) -> PipelineExecution:
        return PipelineExecution(region=HZ, execution_id=f"exec-{n}", pipeline_id=PIPELINE, status="SUCCESS",
                                 image_id=image_id)

    def image(region: str, image_id: str, name: str, **fields: Any) -> Image:
        return Image(region=region, image_id=image_id, name=name, **{"owner_alias": "self", **fields})

    images = [
        image(HZ, "m-1", "golden_exec-1"), image(BJ, "m-1bj", "golden_exec-1", is_copied=True),
        image(BJ, "m-1x", "golden_exec-1"),                                   # not a copy: someone's own image
        image("ap-southeast-1", "m-1sg", "golden_exec-1", is_copied=True),    # not a ToRegionId of the template
        image(BJ, "m-1r", "golden_exec-1", is_copied=True,                    # image-relay's copy: its own lineage
              tags=provenance_tags(f"copy/{HZ}/m-1/{BJ}", HZ, "m-1", "build:golden")),
        image(BJ, "m-1o", "golden_exec-1", is_copied=True, owner_alias="others"),
        # build 2's image in Hangzhou is gone: its copy is known by the ExecutionId ending its name
        image("cn-shanghai", "m-2sh", "renamed_exec-2", is_copied=True),
        image(BJ, "m-3bj", "golden_exec-3x", is_copied=True),                 # another id that starts alike
    ]
    found = template_outputs([template], {PIPELINE: [task(1, "m-1"), task(2, "m-2"), task(3, "m-3")]}, images)
    assert sorted(found) == [(BJ, "m-1bj"), (HZ, "m-1"), ("cn-shanghai", "m-2sh")]
    assert found[(BJ, "m-1bj")].execution_id == "exec-1" and found[("cn-shanghai", "m-2sh")].execution_id == "exec-2"
