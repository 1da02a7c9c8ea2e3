"""Regression tests for issue #10, defects 1-5: cleanup through the handler, real SDKs → emulator.

1. "in use" meant instances only: an image named only by a launch template version, a scaling configuration,
   or being the newest image of its family was deleted;
2. retention lineage came from name patterns: three newer ubuntu24 copies retired the only ubuntu22 copy;
3. the source of a copy someone else started (console) was deleted;
4. a caller's `now` / `triggerTime` far in the future bypassed the minimum age;
5. a mistyped timer payload (`{"dryRun": true}`, `dry_run`, `[{"dry_run": true}]`, non-JSON) ran for real.
Each test fails on the code before the fix (the image is deleted) and passes after (kept, with its reason,
and no DeleteImage call for it at all: the planner refuses, ECS's own refusal is only the second guard; a
refused request makes no API call at all).
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from shared.clouds.ecs_types import CopyImageSpec
from shared.errors import ImageRelayError

from .test_cleanup_flow import (  # noqa: F401 - _real_clock is an autouse fixture
    BJ,
    HZ,
    NOW,
    _managed,
    _real_clock,
    _source,
    cleanup_policy,
    decision,
    deletes,
    exists,
    run,
    scratch,
)


def test_an_image_named_only_by_an_old_launch_template_version_is_kept(world: Any) -> None:
    # GIVEN an old unused scratch image that only version 1 (not the default) of a launch template names
    world.emu.control.seed({
        "images": [scratch("m-bp1guardlt001"), scratch("m-bp1guardlt002")],
        "launch_templates": [{"region": HZ, "launch_template_id": "lt-bp1guard01", "default_version": 2,
                              "versions": [{"version_number": 1, "image_id": "m-bp1guardlt001"},
                                           {"version_number": 2, "image_id": "m-bp1other0001"}]}]})
    report = run(world)
    assert decision(report, "m-bp1guardlt001")["reason"] == "named by launch template lt-bp1guard01 version(s) 1"
    # the unreferenced one still goes: the guard is specific, not a blanket refusal
    assert deletes(world) == ["m-bp1guardlt002"]
    assert exists(world, HZ, "m-bp1guardlt001")


def test_an_image_named_by_a_scaling_configuration_is_kept(world: Any) -> None:
    world.emu.control.seed({
        "images": [scratch("m-bp1guardsc001")],
        "scaling_configurations": [{"region": HZ, "scaling_configuration_id": "scc-bp1guard01",
                                    "image_id": "m-bp1guardsc001", "lifecycle_state": "Inactive"}]})
    report = run(world)
    assert decision(report, "m-bp1guardsc001")["reason"] == "named by scaling configuration scc-bp1guard01 (Inactive)"
    assert deletes(world) == [] and exists(world, HZ, "m-bp1guardsc001")


def test_the_newest_image_of_a_family_is_kept_and_an_older_member_goes(world: Any) -> None:
    world.emu.control.seed({"images": [scratch("m-bp1guardfm001", hours_old=72, family="tpl-family"),
                                       scratch("m-bp1guardfm002", hours_old=48, family="tpl-family")]})
    report = run(world)
    assert decision(report, "m-bp1guardfm002")["reason"] == (
        "newest image of family tpl-family (what DescribeImageFromFamily launches)")
    assert deletes(world) == ["m-bp1guardfm001"]
    assert exists(world, HZ, "m-bp1guardfm002")


def test_the_base_image_of_an_image_builder_template_is_kept(world: Any) -> None:
    world.emu.control.seed({
        "images": [scratch("m-bp1guardip001"), scratch("m-bp1guardip002", family="golden"),
                   scratch("m-bp1guardip003", hours_old=72, family="golden")],
        "image_pipelines": [
            {"region": HZ, "pipeline_id": "ip-bp1guard01", "base_image_type": "IMAGE", "base_image": "m-bp1guardip001"},
            {"region": HZ, "pipeline_id": "ip-bp1guard02", "base_image_type": "IMAGE_FAMILY", "base_image": "golden"}]})
    report = run(world)
    assert decision(report, "m-bp1guardip001")["reason"] == "base image of Image Builder template ip-bp1guard01"
    assert decision(report, "m-bp1guardip002")["reason"] == (
        "newest image of family golden (what DescribeImageFromFamily launches)")
    assert deletes(world) == ["m-bp1guardip003"]


def test_a_superseded_copy_named_by_a_launch_template_is_kept(world: Any) -> None:
    images = [_managed(f"m-2zeguardcp0{m}", f"app-web-2026-0{m}-cn-beijing", days_old=30 * (6 - m) + 10,
                       source=f"m-bp1guardsr0{m}") for m in range(1, 6)]
    images += [_source(f"m-bp1guardsr0{m}", "app-web", 30 * (6 - m) + 10) for m in range(1, 6)]
    world.emu.control.seed({"images": images, "launch_templates": [
        {"region": BJ, "launch_template_id": "lt-2zeguard01", "versions": [
            {"version_number": 1, "image_id": "m-2zeguardcp01"}]}]})
    report = run(world)
    assert decision(report, "m-2zeguardcp01")["reason"] == "named by launch template lt-2zeguard01 version(s) 1"
    assert deletes(world) == ["m-2zeguardcp02"]


def test_retention_never_merges_lineages_by_name(world: Any) -> None:
    # GIVEN one ubuntu22 copy and four newer ubuntu24 copies whose names differ only in digits
    images = [_managed("m-2zeu22000001", "base-ubuntu22-2026-01", days_old=200, source="m-bp1u22src001"),
              _source("m-bp1u22src001", "base-ubuntu22", 200)]
    for m in range(2, 6):
        images += [_managed(f"m-2zeu2400000{m}", f"base-ubuntu24-2026-0{m}", days_old=30 * (6 - m) + 10,
                            source=f"m-bp1u24src00{m}"),
                   _source(f"m-bp1u24src00{m}", "base-ubuntu24", 30 * (6 - m) + 10)]
    world.emu.control.seed({"images": images})
    report = run(world)
    assert decision(report, "m-2zeu22000001")["reason"] == (
        "newest 1 of 3 kept in lineage cn-hangzhou/family:base-ubuntu22/rule:web/cn-beijing")
    assert deletes(world) == ["m-2zeu24000002"]
    assert exists(world, BJ, "m-2zeu22000001")


def test_a_copy_whose_source_has_no_family_is_kept(world: Any) -> None:
    images = [_managed(f"m-2zenofam0000{m}", f"app-2026-0{m}", days_old=30 * (6 - m) + 10,
                       source=f"m-bp1nofam0000{m}") for m in range(1, 6)]
    images += [{"region": HZ, "image_id": f"m-bp1nofam0000{m}"} for m in range(1, 6)]
    world.emu.control.seed({"images": images})
    report = run(world)
    assert decision(report, "m-2zenofam00001")["reason"] == (
        "lineage unknown: source image m-bp1nofam00001 has no image family; kept to be safe")
    assert deletes(world) == []


def test_the_source_of_a_console_copy_in_progress_is_never_deleted(world: Any) -> None:
    # GIVEN an old unused scratch image that someone copies from the console (no provenance tags, no record)
    world.emu.control.seed({"images": [scratch("m-bp1guardcc001", size_gib=77)]})
    copy_id = world.ecs().copy_image(CopyImageSpec(source_region=HZ, image_id="m-bp1guardcc001",
                                                   destination_region=BJ, name="console-copy",
                                                   client_token="console-1"))
    report = run(world)
    assert decision(report, "m-bp1guardcc001")["reason"] == (
        f"possibly the source of copy {copy_id} in progress in {BJ} (started outside image-relay)")
    assert deletes(world) == [] and exists(world, HZ, "m-bp1guardcc001")
    # once the copy is done, the image is an ordinary old scratch image again
    world.emu.control.advance(24 * 3600)
    run(world)
    assert deletes(world) == ["m-bp1guardcc001"]


def test_a_console_copy_to_a_region_outside_the_cleanup_still_protects_its_source(world: Any) -> None:
    # cn-shanghai is enabled but in no rule: the cleanup does not scan it, except for copies in progress
    world.emu.control.seed({"regions": [HZ, BJ, "ap-southeast-1", "cn-shanghai"],
                            "images": [scratch("m-bp1guardcc002", size_gib=78)]})
    copy_id = world.ecs().copy_image(CopyImageSpec(source_region=HZ, image_id="m-bp1guardcc002",
                                                   destination_region="cn-shanghai", name="console-copy-sh",
                                                   client_token="console-2"))
    report = run(world)
    assert decision(report, "m-bp1guardcc002")["reason"] == (
        f"possibly the source of copy {copy_id} in progress in cn-shanghai (started outside image-relay)")
    assert deletes(world) == [] and exists(world, HZ, "m-bp1guardcc002")


# --- defects 4 and 5: refusals before any API call -----------------------------------------------------------


def refusal(world: Any, body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(error class, field) of a refused invocation, whether the handler raises or answers the error."""
    try:
        result = world.invoke("cleanup", json.dumps(body).encode())
    except ImageRelayError as exc:
        return type(exc).__name__, getattr(exc, "field", None)
    error = result.get("error") or {}
    return error.get("error"), error.get("field")


def timer(payload: str, at: dt.datetime = NOW, **extra: Any) -> dict[str, Any]:
    return {"triggerTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "triggerName": "cleanup-daily", "payload": payload,
            **extra}


@pytest.mark.parametrize(("body", "field"), [
    ({"action": "cleanup", "dry_run": False, "now": "2099-01-01T00:00:00Z"}, "now"),
    ({"action": "cleanup", "dry_run": False, "now": "2026-11-20T12:00:00Z"}, "now"),
    (timer("", at=dt.datetime(2099, 1, 1, tzinfo=dt.timezone.utc)), "triggerTime"),
])
def test_a_caller_time_far_from_the_real_clock_is_refused(world: Any, body: dict[str, Any], field: str) -> None:
    # GIVEN a scratch image ten minutes old
    world.emu.control.seed({"images": [scratch("m-bp1guardage01", hours_old=1 / 6)]})
    world.set_policy(cleanup_policy())
    before = len(world.calls())
    # WHEN someone claims it is 2099 (or yesterday) THEN the run is refused before any API call
    assert refusal(world, body) == ("EventValidationError", field)
    assert len(world.calls()) == before and exists(world, HZ, "m-bp1guardage01")


def test_a_caller_time_within_the_skew_ages_by_the_later_clock(world: Any) -> None:
    # 23h59m old by the real clock, just over 24h by a caller two minutes ahead: only within the skew
    world.emu.control.seed({"images": [scratch("m-bp1guardage02", hours_old=24 - 1 / 60)]})
    ahead = (NOW + dt.timedelta(minutes=2)).isoformat()
    report = run(world, now=ahead)
    assert decision(report, "m-bp1guardage02")["action"] == "delete"
    assert report["now"] == ahead


@pytest.mark.parametrize(("body", "field"), [
    (timer('{"dryRun": true}'), "payload.dryRun"),
    (timer("dry_run"), "payload"),
    (timer('[{"dry_run": true}]'), "payload"),
    (timer("{garbage"), "payload"),
    (timer('{"dry_run": "true"}'), "payload.dry_run"),
    (timer('{"dry_run": 1}'), "payload.dry_run"),
    (timer("", dry_run=True), "dry_run"),
    ({"action": "cleanup", "dry_run": "false"}, "dry_run"),
    ({"action": "cleanup", "dryRun": False}, "dryRun"),
])
def test_a_payload_not_exactly_understood_is_refused(world: Any, body: dict[str, Any], field: str) -> None:
    world.emu.control.seed({"images": [scratch("m-bp1guardpay01")]})
    world.set_policy(cleanup_policy())
    before = len(world.calls())
    assert refusal(world, body) == ("EventValidationError", field)
    assert len(world.calls()) == before and exists(world, HZ, "m-bp1guardpay01")
