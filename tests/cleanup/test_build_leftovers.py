"""Cleanup after failed Image Builder builds, through the cleanup handler: real ECS SDK → emulator.

A template with DeleteInstanceOnFailure false runs a build the emulator fails: its build instance stays Running
(pay-as-you-go) in a temporary vSwitch and VPC. Each test checks the report and the emulator's request log:
reported always, released only with `release_failed_build_instances: true`, never an instance without Image
Builder's marks, never before the build's end plus the grace, within the blast radius, exactly once.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from scripts import sample_world as scene
from shared.clouds.ecs_pipelines import ImageBuilderGateway
from shared.config import Credentials
from shared.ledger.record import State

HZ = "cn-hangzhou"
STAGE = 120  # the emulator's image_pipeline_stage_seconds
HOUR = 3600.0
TAG_EXECUTION = "acs:ecs:image-builder:execution-id"


@pytest.fixture(autouse=True)
def _emulator_clock(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The function's clock is the emulator's virtual clock (builds end on it)."""
    control = world.emu.control
    monkeypatch.setattr("shared.wiring.utcnow",
                        lambda: dt.datetime.fromtimestamp(control.clock()["epoch"], tz=dt.timezone.utc))


def policy(release: bool | None = None, max_deletions: int = 20, grace: float | None = None) -> str:
    lines = [f"  max_deletions: {max_deletions}", "  max_share: 1.0"]
    if release is not None:
        lines.append(f"  release_failed_build_instances: {str(release).lower()}")
    if grace is not None:
        lines.append(f"  failed_build_grace_hours: {grace}")
    return scene.POLICY_YAML + "cleanup:\n" + "\n".join(lines) + "\n"


def builder(world: Any) -> ImageBuilderGateway:
    return ImageBuilderGateway.connect(Credentials(access_key_id="test-ak", access_key_secret="test-secret"),
                                       endpoint=world.emu.url)


def failed_build(world: Any, pipeline_id: str, instance_type: str = "ecs.g6.large") -> str:
    """Seed a template without vSwitch that keeps its instances on failure, fail its next build; the ExecutionId."""
    world.emu.control.seed({"image_pipelines": [{
        "region": HZ, "pipeline_id": pipeline_id, "base_image_type": "IMAGE", "base_image": "",
        "delete_instance_on_failure": False, "instance_type": instance_type}]})
    world.emu.control.ecs_pipeline_outcome({"pipeline_id": pipeline_id, "outcome": "FAILED"})
    execution_id = builder(world).start_pipeline_execution(HZ, pipeline_id)
    world.emu.control.advance(2 * STAGE)  # PREPARING, BUILDING → FAILED
    [task] = builder(world).describe_pipeline_executions(HZ, execution_ids=[execution_id])
    assert task.status == "FAILED"
    return execution_id


def run(world: Any, text: str, dry_run: bool = False) -> dict[str, Any]:
    world.set_policy(text)
    return world.invoke("cleanup", json.dumps({"action": "cleanup", "dry_run": dry_run}).encode())


def rows(report: dict[str, Any], execution_id: str) -> dict[str, dict[str, Any]]:
    """The leftover rows of one build, by resource type."""
    found = {r["resource_type"]: r for r in report["leftovers"] if r["execution_id"] == execution_id}
    assert found, report["leftovers"]
    return found


def released(world: Any, action: str = "DeleteInstance") -> list[dict[str, Any]]:
    return [c["params"] for c in world.calls(action)]


def test_a_failed_builds_kept_instance_is_reported_with_its_cost_class_and_not_released(world):
    # GIVEN a failed build, a day and more ago, that kept its build instance and temporary network
    execution_id = failed_build(world, "ip-bp1leftover01")
    world.emu.control.advance(25 * HOUR)
    # WHEN the cleanup runs for real, without the opt-in
    report = run(world, policy())
    # THEN the instance is reported with its type and cost class, kept, and nothing is released
    found = rows(report, execution_id)
    instance = found["instance"]
    assert (instance["name"], instance["instance_type"], instance["cost_class"], instance["pipeline_id"],
            instance["action"], instance["outcome"]) == (
        f"ImageBuilder_Build_{execution_id}", "ecs.g6.large", "S (2 vCPU)", "ip-bp1leftover01", "keep", "kept")
    assert instance["reason"].endswith("reported only: release_failed_build_instances is off")
    assert found["vswitch"]["reason"] == f"{instance['resource_id']} still in it; released on a later run once gone"
    assert found["vpc"]["reason"].startswith(f"{instance['resource_id']}, vsw-")
    assert report["leftover_counts"] == {"found": 3, "planned_release": 0, "kept": 3}
    assert released(world) == [] and released(world, "DeleteVSwitch") == []


def test_the_dry_run_shows_what_the_opt_in_would_release(world):
    execution_id = failed_build(world, "ip-bp1leftover02")
    world.emu.control.advance(25 * HOUR)
    report = run(world, policy(release=True), dry_run=True)
    assert rows(report, execution_id)["instance"]["outcome"] == "would_release"
    assert report["status"] == "planned" and released(world) == []


def test_with_the_opt_in_the_instance_then_the_vswitch_then_the_vpc_go_each_exactly_once(world):
    execution_id = failed_build(world, "ip-bp1leftover03")
    world.emu.control.advance(25 * HOUR)
    # WHEN the cleanup runs with the opt-in, twice (a redelivered timer)
    first = run(world, policy(release=True))
    again = run(world, policy(release=True))
    # THEN the instance was released once, with Force (it is Running), and recorded
    instance = rows(first, execution_id)["instance"]
    assert (instance["action"], instance["outcome"]) == ("release", "released")
    assert [(p["InstanceId"], p["Force"].lower()) for p in released(world)] == [(instance["resource_id"], "true")]
    record = world.ledger().get(f"leftover/{HZ}/{instance['resource_id']}")
    assert (record.state, record.data["outcome"]) == (State.DONE, "released")
    # the second run no longer sees the instance, so the vSwitch goes; a third run takes the VPC
    assert rows(again, execution_id)["vswitch"]["outcome"] == "released"
    third = run(world, policy(release=True))
    assert rows(third, execution_id)["vpc"]["outcome"] == "released"
    run(world, policy(release=True))
    assert len(released(world)) == 1
    assert len(released(world, "DeleteVSwitch")) == 1 and len(released(world, "DeleteVpc")) == 1


def test_an_instance_without_image_builders_marks_is_never_released(world):
    # GIVEN old instances that look like Image Builder's: one with the name only, one tagged but misnamed
    execution_id = failed_build(world, "ip-bp1leftover04")
    old = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    world.emu.control.seed({"instances": [
        {"region": HZ, "instance_id": "i-bp1nameonly01", "image_id": "", "creation_time": old,
         "name": f"ImageBuilder_Build_{execution_id}"},
        {"region": HZ, "instance_id": "i-bp1tagonly001", "image_id": "", "creation_time": old,
         "name": "web-1", "tags": {TAG_EXECUTION: execution_id}},
        {"region": HZ, "instance_id": "i-bp1plain00001", "image_id": "", "creation_time": old, "name": "web-2"},
    ]})
    world.emu.control.advance(25 * HOUR)
    # WHEN the cleanup runs with the opt-in
    report = run(world, policy(release=True))
    # THEN only the build's own instance goes; the look-alikes are reported with why, the plain one not at all
    by_id = {r["resource_id"]: r for r in report["leftovers"]}
    assert by_id["i-bp1nameonly01"]["reason"] == (
        f"named like Image Builder's but without its tag {TAG_EXECUTION}; never released")
    assert by_id["i-bp1tagonly001"]["reason"] == (
        f"tagged by Image Builder but not named ImageBuilder_<Build|Repair|Test>_{execution_id}; never released")
    assert "i-bp1plain00001" not in by_id
    [own] = [r for r in report["leftovers"] if r["resource_type"] == "instance" and r["action"] == "release"]
    assert own["name"] == f"ImageBuilder_Build_{execution_id}" and own["resource_id"].startswith("i-")
    assert [p["InstanceId"] for p in released(world)] == [own["resource_id"]] and own["outcome"] == "released"


def test_a_leftover_younger_than_the_builds_end_plus_the_grace_is_not_released(world):
    execution_id = failed_build(world, "ip-bp1leftover05")
    world.emu.control.advance(5 * HOUR)
    report = run(world, policy(release=True, grace=6))
    instance = rows(report, execution_id)["instance"]
    assert instance["action"] == "keep" and instance["reason"].endswith("younger than failed_build_grace_hours 6h")
    world.emu.control.advance(1.5 * HOUR)
    assert rows(run(world, policy(release=True, grace=6)), execution_id)["instance"]["outcome"] == "released"
    assert len(released(world)) == 1


def test_releases_stay_within_the_blast_radius(world):
    # GIVEN two failed builds whose instances may both be released
    first, second = failed_build(world, "ip-bp1leftover06"), failed_build(world, "ip-bp1leftover07", "ecs.g7.4xlarge")
    world.emu.control.advance(25 * HOUR)
    # WHEN the limit allows one release
    report = run(world, policy(release=True, max_deletions=1))
    # THEN the run is refused whole: nothing released, both rows say so
    assert report["status"] == "refused"
    assert report["error"]["message"] == (
        "cleanup would release 2 failed-build leftover(s), above max_deletions 1; nothing was released or deleted")
    assert rows(report, second)["instance"]["cost_class"] == "L (16 vCPU)"
    assert {rows(report, e)["instance"]["outcome"] for e in (first, second)} == {"would_release"}
    assert released(world) == []


def test_a_running_build_keeps_its_instances(world):
    world.emu.control.seed({"image_pipelines": [{"region": HZ, "pipeline_id": "ip-bp1leftover08",
                                                 "delete_instance_on_failure": False}]})
    execution_id = builder(world).start_pipeline_execution(HZ, "ip-bp1leftover08")
    world.emu.control.advance(STAGE / 2)
    report = run(world, policy(release=True))
    assert rows(report, execution_id)["instance"]["reason"] == f"build task {execution_id} is still PREPARING"
    assert released(world) == []


def test_cleanup_dry_run_on_the_cli_lists_the_kept_instance_with_its_cost_class(world):
    from typer.testing import CliRunner

    from scripts.cli import app

    execution_id = failed_build(world, "ip-bp1leftover09")
    world.emu.control.advance(25 * HOUR)
    world.set_policy(policy())
    done = CliRunner().invoke(app, ["cleanup", "--dry-run"])
    assert done.exit_code == 0, done.output
    assert "failed-build leftovers: 3 found, 0 to release" in done.stdout
    assert "S (2 vCPU)" in done.stdout and "leftovers" in done.stdout
    assert (f"1 × leftover kept: Build instance of failed build {execution_id} (FAILED, ended "
            in done.stdout.replace("\n", " "))
    assert released(world) == []


@pytest.mark.parametrize(("value", "message"), [
    ('"yes"', "Input should be a valid boolean"),
    ("1", "Input should be a valid boolean"),
])
def test_a_bad_opt_in_is_refused_naming_the_field_and_line(world, tmp_path, value, message):
    from typer.testing import CliRunner

    from scripts.cli import app

    bad = tmp_path / "bad.yml"
    bad.write_text(scene.POLICY_YAML + f"cleanup:\n  max_deletions: 5\n  release_failed_build_instances: {value}\n")
    line = scene.POLICY_YAML.count("\n") + 3
    done = CliRunner().invoke(app, ["validate-policy", str(bad), "--json"])
    assert done.exit_code == 2
    [error] = json.loads(done.stdout)["errors"]
    assert (error["field"], error["message"], error["line"]) == ("cleanup.release_failed_build_instances", message, line)
    world.policy_path.write_text(bad.read_text())
    run_it = CliRunner().invoke(app, ["cleanup", "--apply"])
    assert run_it.exit_code == 2 and "cleanup.release_failed_build_instances" in run_it.stderr
    assert world.calls("DescribeInstances") == []


def test_the_demo_step_shows_a_failed_builds_kept_instance(world):
    from scripts.demo_leftovers import leftover_phase

    rows_, counts = leftover_phase(world.emu, world.tmp)
    assert [(r["resource_type"], r["outcome"], r["cost_class"]) for r in rows_] == [
        ("instance", "kept", "M (4 vCPU)"), ("vswitch", "kept", "n/a"), ("vpc", "kept", "n/a")]
    assert counts == {"found": 3, "planned_release": 0, "kept": 3}
    assert released(world) == []
