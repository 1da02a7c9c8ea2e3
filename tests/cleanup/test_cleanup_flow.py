"""Cleanup through the handler: real ECS SDK → emulator; every kept image says exactly why.

Each test seeds its own images (ids unique per test) on top of the sample world (scripts/sample_world.py), pins `now`, and
checks both the report and the emulator's request log (no DeleteImage where none is allowed).
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from scripts import sample_world as scene
from shared.clouds.ecs_types import CopyImageSpec
from shared.ledger.record import Record, State, copy_key
from shared.replication.provenance import provenance_tags

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)
HZ, BJ = "cn-hangzhou", "cn-beijing"
OTHER_ACCOUNT = "9999888877776666"
DELETED = "TemplateScratch image older than 24h, unused, not shared, not being copied"


@pytest.fixture(autouse=True)
def _real_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The function's own clock reads NOW: a caller's `now` is only accepted close to the real clock."""
    monkeypatch.setattr("shared.wiring.utcnow", lambda: NOW)


def cleanup_policy(max_deletions: int = 20, max_share: float = 1.0, keep_newest: int = 3,
                   share_floor: int = 0) -> str:
    return scene.POLICY_YAML + f"""\
cleanup:
  template_scratch: {{min_age_hours: 24}}
  retention: {{keep_newest: {keep_newest}, grace_days: 7}}
  max_deletions: {max_deletions}
  max_share: {max_share}
  share_floor: {share_floor}
"""


def ago(**delta: float) -> str:
    return (NOW - dt.timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def scratch(image_id: str, region: str = HZ, hours_old: float = 48, **extra: Any) -> dict[str, Any]:
    return {"region": region, "image_id": image_id, "name": f"TemplateScratch-{image_id}",
            "creation_time": ago(hours=hours_old), **extra}


def run(world: Any, dry_run: bool | None = False, now: str | None = None, **policy: Any) -> dict[str, Any]:
    world.set_policy(cleanup_policy(**policy))
    request: dict[str, Any] = {"action": "cleanup", "now": now or NOW.isoformat()}
    if dry_run is not None:
        request["dry_run"] = dry_run
    return world.invoke("cleanup", json.dumps(request).encode())


def decision(report: dict[str, Any], image_id: str) -> dict[str, Any]:
    found = [d for d in report["decisions"] if d["image_id"] == image_id]
    assert len(found) == 1, report["decisions"]
    return found[0]


def deletes(world: Any) -> list[str]:
    return [c["params"]["ImageId"] for c in world.calls("DeleteImage")]


def exists(world: Any, region: str, image_id: str) -> bool:
    return world.ecs().get_image(region, image_id) is not None


def test_an_old_unused_scratch_image_is_deleted_and_recorded(world):
    # GIVEN a TemplateScratch image two days old, used by nothing
    world.emu.control.seed({"images": [scratch("m-bp1scratch0001")]})
    # WHEN the cleanup runs for real
    report = run(world)
    # THEN it is deleted without Force, with its reason, and the ledger remembers why
    assert decision(report, "m-bp1scratch0001") == {
        "region": HZ, "image_id": "m-bp1scratch0001", "name": "TemplateScratch-m-bp1scratch0001",
        "rule": "template_scratch", "action": "delete", "reason": DELETED, "outcome": "deleted"}
    assert report["status"] == "ok" and report["counts"]["deleted"] == 1
    calls = world.calls("DeleteImage")
    assert [c["params"]["ImageId"] for c in calls] == ["m-bp1scratch0001"]
    assert "Force" not in calls[0]["params"] or calls[0]["params"]["Force"] in ("false", False)
    assert not exists(world, HZ, "m-bp1scratch0001")
    record = world.ledger().get(f"cleanup/{HZ}/m-bp1scratch0001")
    assert (record.state, record.reason, record.data["outcome"]) == (State.DONE, DELETED, "deleted")


def test_a_timer_run_applies(world):
    world.emu.control.seed({"images": [scratch("m-bp1scratch0002")]})
    world.set_policy(cleanup_policy())
    timer = json.dumps({"triggerTime": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), "triggerName": "cleanup-daily",
                        "payload": ""}).encode()
    report = world.invoke("cleanup", timer)
    assert (report["dry_run"], report["status"]) == (False, "ok")
    assert deletes(world) == ["m-bp1scratch0002"]


def test_an_image_in_use_by_an_instance_is_never_deleted(world):
    world.emu.control.seed({"images": [scratch("m-bp1scratchuse1")],
                            "instances": [{"region": HZ, "instance_id": "i-bp1cleanuse01",
                                           "image_id": "m-bp1scratchuse1"}]})
    report = run(world)
    assert decision(report, "m-bp1scratchuse1")["action"] == "keep"
    assert decision(report, "m-bp1scratchuse1")["reason"] == "in use by instance(s) i-bp1cleanuse01"
    assert deletes(world) == [] and exists(world, HZ, "m-bp1scratchuse1")


def test_a_young_scratch_image_is_never_deleted(world):
    world.emu.control.seed({"images": [scratch("m-bp1scratchnew1", hours_old=2)]})
    report = run(world)
    assert decision(report, "m-bp1scratchnew1")["reason"] == "younger than min_age_hours 24h"
    assert deletes(world) == [] and exists(world, HZ, "m-bp1scratchnew1")


def test_an_image_with_a_copy_in_flight_in_the_ledger_is_never_deleted(world):
    world.emu.control.seed({"images": [scratch("m-bp1scratchcpy1")]})
    key = copy_key(HZ, "m-bp1scratchcpy1", BJ)
    world.ledger().ensure(Record(key=key, kind="copy", state=State.STARTED))
    report = run(world)
    assert decision(report, "m-bp1scratchcpy1")["reason"] == f"being copied: in-flight copy record {key}"
    assert deletes(world) == [] and exists(world, HZ, "m-bp1scratchcpy1")


def test_an_image_with_a_running_copy_in_the_cloud_is_never_deleted(world):
    # GIVEN a copy started outside the ledger (its record write was lost) but carrying provenance tags
    world.emu.control.seed({"images": [scratch("m-bp1scratchcpy2")]})
    key = copy_key(HZ, "m-bp1scratchcpy2", BJ)
    copy_id = world.ecs().copy_image(CopyImageSpec(
        source_region=HZ, image_id="m-bp1scratchcpy2", destination_region=BJ, name="scratch-copy-bj",
        tags=provenance_tags(key, HZ, "m-bp1scratchcpy2", "web"), client_token="ir-test-cleanup-copy"))
    report = run(world)
    assert decision(report, "m-bp1scratchcpy2")["reason"] == f"being copied: running copy {copy_id} in {BJ}"
    copy = decision(report, copy_id)
    assert (copy["rule"], copy["action"]) == ("retention", "keep")
    assert copy["reason"] in ("being created or copied (status Waiting)", "being created or copied (status Creating)")
    assert deletes(world) == []


def test_an_image_still_creating_is_never_deleted(world):
    world.emu.control.seed({"images": [scratch("m-bp1scratchcrt1", status="Creating")]})
    report = run(world)
    assert decision(report, "m-bp1scratchcrt1")["reason"] == "being created or copied (status Creating)"
    assert deletes(world) == []


def test_a_shared_image_is_never_deleted(world):
    world.emu.control.seed({"images": [scratch("m-bp1scratchshr1", shared_with=["2222333344445555"])]})
    report = run(world)
    assert decision(report, "m-bp1scratchshr1")["reason"] == "shared with 2222333344445555"
    assert deletes(world) == [] and exists(world, HZ, "m-bp1scratchshr1")


def test_an_image_of_another_account_is_never_deleted(world):
    world.emu.control.seed({"images": [scratch("m-bp1scratchoth1", owner_alias="others", owner_id=OTHER_ACCOUNT)]})
    report = run(world)
    assert decision(report, "m-bp1scratchoth1")["reason"] == "owned by another account (ImageOwnerAlias=others)"
    assert deletes(world) == []


def test_the_deletion_limit_refuses_the_whole_run_before_any_delete(world):
    world.emu.control.seed({"images": [scratch(f"m-bp1scratchlim{i}") for i in range(3)]})
    report = run(world, max_deletions=2)
    assert report["status"] == "refused"
    assert report["error"]["error"] == "PlanLimitExceededError"
    assert report["error"]["message"] == (
        "cleanup would delete 3 image(s), above max_deletions 2; nothing was deleted")
    assert report["counts"]["planned_delete"] == 3
    assert world.calls("DeleteImage") == []
    assert all(exists(world, HZ, f"m-bp1scratchlim{i}") for i in range(3))


def test_the_share_limit_refuses_the_whole_run_before_any_delete(world):
    world.emu.control.seed({"images": [*(scratch(f"m-bp1scratchshl{i}") for i in range(3)),
                                       scratch("m-bp1scratchshl9", hours_old=1)]})
    report = run(world, max_share=0.5)
    assert report["status"] == "refused"
    assert report["error"]["message"] == (
        "cleanup would delete 3 of 4 considered image(s) (75%), above max_share 50%; nothing was deleted")
    assert world.calls("DeleteImage") == []


def test_a_manual_run_is_a_dry_run_by_default(world):
    world.emu.control.seed({"images": [scratch("m-bp1scratchdry1")]})
    report = run(world, dry_run=None)
    assert (report["dry_run"], report["status"]) == (True, "planned")
    assert decision(report, "m-bp1scratchdry1")["outcome"] == "would_delete"
    assert world.calls("DeleteImage") == [] and exists(world, HZ, "m-bp1scratchdry1")
    assert world.ledger().get(f"cleanup/{HZ}/m-bp1scratchdry1") is None


def test_a_timer_payload_can_ask_for_a_dry_run(world):
    world.emu.control.seed({"images": [scratch("m-bp1scratchdry2")]})
    world.set_policy(cleanup_policy())
    timer = json.dumps({"triggerTime": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), "triggerName": "cleanup-daily",
                        "payload": '{"dry_run": true}'}).encode()
    report = world.invoke("cleanup", timer)
    assert (report["dry_run"], report["status"]) == (True, "planned")
    assert world.calls("DeleteImage") == []


def _managed(image_id: str, name: str, days_old: float, source: str) -> dict[str, Any]:
    key = copy_key(HZ, source, BJ)
    return {"region": BJ, "image_id": image_id, "name": name, "creation_time": ago(days=days_old),
            "tags": provenance_tags(key, HZ, source, "web"), "is_copied": True}


def _source(image_id: str, family: str, days_old: float) -> dict[str, Any]:
    return {"region": HZ, "image_id": image_id, "name": f"src-{image_id}", "family": family,
            "creation_time": ago(days=days_old + 1)}


def test_retention_keeps_the_newest_copies_of_each_lineage(world):
    # GIVEN five monthly copies of app-web in Beijing (all past the grace) and one old app-api copy, each
    # made from a Hangzhou source image of family app-web / app-api
    images = [_managed(f"m-2zeweb0000{m}", f"app-web-2026-0{m}-cn-beijing", days_old=30 * (6 - m) + 10,
                       source=f"m-bp1web0000{m}") for m in range(1, 6)]
    images.append(_managed("m-2zeapi00001", "app-api-2026-01-cn-beijing", days_old=200, source="m-bp1api00001"))
    images += [_source(f"m-bp1web0000{m}", "app-web", 30 * (6 - m) + 10) for m in range(1, 6)]
    images.append(_source("m-bp1api00001", "app-api", 200))
    world.emu.control.seed({"images": images})
    # WHEN the cleanup runs with keep_newest 3
    report = run(world)
    # THEN the two oldest app-web copies go, the three newest and the lone app-api copy stay
    lineage = "cn-hangzhou/family:app-web/rule:web/cn-beijing"
    assert {d["image_id"]: d["reason"] for d in report["decisions"]} == {
        "m-2zeweb00005": f"newest 1 of 3 kept in lineage {lineage}",
        "m-2zeweb00004": f"newest 2 of 3 kept in lineage {lineage}",
        "m-2zeweb00003": f"newest 3 of 3 kept in lineage {lineage}",
        "m-2zeweb00002": f"superseded by 3 newer copies in lineage {lineage}; older than grace_days 7",
        "m-2zeweb00001": f"superseded by 3 newer copies in lineage {lineage}; older than grace_days 7",
        "m-2zeapi00001": "newest 1 of 3 kept in lineage cn-hangzhou/family:app-api/rule:web/cn-beijing",
    }
    assert sorted(deletes(world)) == ["m-2zeweb00001", "m-2zeweb00002"]
    assert exists(world, BJ, "m-2zeweb00003") and not exists(world, BJ, "m-2zeweb00001")


def test_without_a_cleanup_section_nothing_is_scanned_or_deleted(world):
    world.emu.control.seed({"images": [scratch("m-bp1scratchoff1")]})
    report = world.invoke("cleanup", b'{"action": "cleanup", "dry_run": false}')
    assert (report["status"], report["decisions"], report["api_calls"]) == ("disabled", [], 0)
    assert world.calls("DeleteImage") == [] and world.calls("DescribeImages") == []


def test_the_handler_import_loads_no_sdk_until_invoked():
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, functions.cleanup.handler; "
            "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith(('alibabacloud_', 'oss2'))}))")
    root = Path(__file__).resolve().parents[2]
    assert subprocess.check_output([sys.executable, "-c", code], cwd=root, text=True).strip() == "[]"


def test_a_delete_interrupted_before_its_record_ended_is_settled_by_the_next_run(world: Any) -> None:
    # found by the chaos suite: a crash between DeleteImage and DONE left the record STARTED forever
    gone = Record(key=f"cleanup/{HZ}/m-bp1gone000001", kind="cleanup", state=State.STARTED,
                  data={"region": HZ, "image_id": "m-bp1gone000001", "name": "TemplateScratch-gone"})
    world.emu.control.seed({"images": [scratch("m-bp1stays00001", hours_old=1)]})
    kept = Record(key=f"cleanup/{HZ}/m-bp1stays00001", kind="cleanup", state=State.STARTED,
                  data={"region": HZ, "image_id": "m-bp1stays00001", "name": "TemplateScratch-stays"})
    ledger = world.ledger()
    ledger.ensure(gone)
    ledger.ensure(kept)
    report = run(world)
    assert report["status"] == "ok"
    settled = ledger.get(gone.key)
    assert settled.state is State.DONE and settled.reason == "deleted (confirmed by a later run)"
    still = ledger.get(kept.key)
    assert still.state is State.DONE and still.reason.startswith("kept:")
    assert deletes(world) == []
