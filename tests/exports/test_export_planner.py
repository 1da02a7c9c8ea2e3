"""The pure export planner: windows, limits, refusals, the OSS guard and following tasks."""
from __future__ import annotations

import datetime as dt

from scripts import sample_world as scene
from shared.clouds.ecs_types import Disk, ExportTask, Image
from shared.exports.executor import new_export_record
from shared.exports.planner import (
    CLAIM_LEASE,
    ConcludeExport,
    FailExport,
    RecordExport,
    RecoverExport,
    StartExport,
    TrackExport,
    open_rules,
    plan_batch,
    plan_follow,
)
from shared.exports.targets import refusal, targets_for
from shared.ledger.keys import export_key
from shared.ledger.record import State
from shared.policy import load_policy

POLICY = load_policy(scene.EXPORT_RULES_YAML)  # the export rules alone: no copy rule in the way
INSIDE = dt.datetime(2026, 11, 21, 18, 30, tzinfo=dt.timezone.utc)   # 02:30 in Shanghai
OUTSIDE = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)   # 20:00 in Shanghai


def image(n: int, **kw) -> Image:
    fields = {"region": "cn-hangzhou", "image_id": f"m-bp1{n:05d}", "name": f"app-{n}", "size_gib": 40,
              "disks": (Disk(device="/dev/xvda", type="system", size_gib=40),)}
    return Image(**{**fields, **kw})


def records_for(actions):
    return [new_export_record(a, INSIDE) for a in actions if isinstance(a, RecordExport)]


def test_window_decides_which_rules_run():
    assert open_rules(POLICY, INSIDE) == ["archive"]
    assert open_rules(POLICY, OUTSIDE) == []
    assert plan_batch(POLICY, [], [image(1)], {}, OUTSIDE) == []


def test_batch_records_every_match_but_starts_only_up_to_the_limit():
    images = [image(n) for n in range(5)] + [image(9, name="db-9")]
    actions = plan_batch(POLICY, [], images, {}, INSIDE)
    recorded = [a for a in actions if isinstance(a, RecordExport)]
    started = [a for a in actions if isinstance(a, StartExport)]
    assert len(recorded) == 5 and all(a.skip_reason is None for a in recorded)
    assert [a.key for a in started] == [export_key("cn-hangzhou", f"m-bp1{n:05d}", "qcow2") for n in (0, 1)]


def test_in_flight_exports_use_up_the_limit():
    actions = plan_batch(POLICY, [], [image(n) for n in range(4)], {}, INSIDE)
    records = records_for(actions)
    records[0] = records[0].model_copy(update={"state": State.STARTED, "cloud_id": "t-1"})
    again = plan_batch(POLICY, records, [image(n) for n in range(4)], {}, INSIDE)
    assert [a.key for a in again if isinstance(a, StartExport)] == [records[1].key]
    full = [r.model_copy(update={"state": State.STARTED}) for r in records[:2]] + records[2:]
    assert [a for a in plan_batch(POLICY, full, [], {}, INSIDE) if isinstance(a, StartExport)] == []


def test_oldest_intent_starts_first():
    records = records_for(plan_batch(POLICY, [], [image(n) for n in range(3)], {}, INSIDE))
    records[2] = records[2].model_copy(update={"created_at": INSIDE - dt.timedelta(days=1)})
    starts = [a.key for a in plan_batch(POLICY, records, [], {}, INSIDE) if isinstance(a, StartExport)]
    assert starts == [records[2].key, records[0].key]


def test_refused_images_are_skipped_with_the_code_ecs_would_answer():
    cases = {
        "ImageNotSupported": image(1, disks=(Disk(type="system", size_gib=40, encrypted=True),)),
        "Windows": image(2, os_type="windows"),
        "Marketplace": image(3, product_code="cmjj012345"),
        # the export guide allows data disks up to 2,048 GiB (the 500 GiB here came from Terraform's docs, #17)
        "InvalidImage.DiskAmountOrSize": image(4, disks=(Disk(type="system", size_gib=40),
                                                         Disk(type="data", size_gib=2049))),
    }
    for expected, img in cases.items():
        reason = refusal(img)
        assert reason is not None and expected in reason, (expected, reason)
    actions = plan_batch(POLICY, [], list(cases.values()), {}, INSIDE)
    assert not [a for a in actions if isinstance(a, StartExport)]
    assert all(a.skip_reason for a in actions if isinstance(a, RecordExport))
    assert refusal(image(5, disks=tuple(Disk(type="data", size_gib=500) for _ in range(4)))) is None


def test_data_disks_up_to_2048_gib_and_any_count_are_planned_not_skipped():
    # Export guide: each data disk up to 2,048 GiB; no count is given, so ECS answers for the count (#17)
    big = image(6, disks=(Disk(type="system", size_gib=40), Disk(type="data", size_gib=1024)))
    many = image(7, disks=(Disk(type="system", size_gib=40), *(Disk(type="data", size_gib=2048) for _ in range(6))))
    assert refusal(big) is None and refusal(many) is None
    actions = plan_batch(POLICY, [], [big, many], {}, INSIDE)
    assert [a.skip_reason for a in actions if isinstance(a, RecordExport)] == [None, None]


def test_oss_manifest_found_means_already_exported():
    target = targets_for(POLICY, image(1))[0]
    found = {f"{target.bucket}/{target.object_prefix}": "archive_m-bp100001_t-9_manifest.json"}
    actions = plan_batch(POLICY, [], [image(1)], found, INSIDE)
    (record,) = actions
    assert isinstance(record, RecordExport) and record.manifest == "archive_m-bp100001_t-9_manifest.json"
    assert new_export_record(record, INSIDE).state is State.DONE


def test_images_not_available_wait():
    assert plan_batch(POLICY, [], [image(1, status="Creating")], {}, INSIDE) == []


def _started(task_id=None, claimed_at=INSIDE):
    (record,) = records_for(plan_batch(POLICY, [], [image(1)], {}, INSIDE)[:1])
    return record.model_copy(update={"state": State.STARTED, "cloud_id": task_id,
                                     "data": {**record.data, "claimed_at": claimed_at.isoformat()}})


def test_follow_tracks_concludes_and_fails():
    record = _started("t-1")
    regions = frozenset({"cn-hangzhou"})
    running = ExportTask(region="cn-hangzhou", task_id="t-1", status="Processing", process=40)
    assert plan_follow([record], {"t-1": running}, regions, INSIDE) == [TrackExport(record.key, 40)]
    done = running.model_copy(update={"status": "Finished", "process": 100})
    (conclude,) = plan_follow([record], {"t-1": done}, regions, INSIDE)
    assert isinstance(conclude, ConcludeExport) and conclude.task_id == "t-1"
    failed = running.model_copy(update={"status": "Failed"})
    assert isinstance(plan_follow([record], {"t-1": failed}, regions, INSIDE)[0], ConcludeExport)
    cancelled = running.model_copy(update={"status": "Cancelled"})
    assert plan_follow([record], {"t-1": cancelled}, regions, INSIDE)[0] == FailExport(
        record.key, "export task t-1 was cancelled", cancelled=True)
    (gone,) = plan_follow([record], {}, regions, INSIDE)
    assert isinstance(gone, FailExport) and not gone.cancelled
    assert plan_follow([record], {}, frozenset(), INSIDE) == []


def test_claim_without_task_is_recovered_only_after_its_lease():
    record = _started(None, claimed_at=INSIDE)
    regions = frozenset({"cn-hangzhou"})
    assert plan_follow([record], {}, regions, INSIDE + CLAIM_LEASE / 2) == []
    (recover,) = plan_follow([record], {}, regions, INSIDE + CLAIM_LEASE)
    assert isinstance(recover, RecoverExport)
