"""Wake at the ETA for copies beyond tests/copies/test_wakeups.py (issue #16): snapshot copies (the >2 TiB path)
ending between timer ticks, and a plain tick that leaves a destination whose wake is ahead unlisted."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.wakeup_cloud import calls, clouds, fired, now_of, records, run_until, tick


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield from clouds(tmp_path, monkeypatch)


def test_snapshot_copies_ending_mid_tick_are_seen_before_the_next_timer_tick(local: Any) -> None:
    # a 3 TiB image takes the snapshot path; at 300 GiB/min its 2 TiB disk is copied in 6 min 50 s
    policy = ("copy_rules:\n  - name: fleet\n    source_regions: [cn-hangzhou]\n    target_regions: [cn-beijing]\n"
              "copy_limits: {per_region: 1}\n")
    cloud = local(policy, {"regions": ["cn-hangzhou", "cn-beijing"], "images": [{
        "region": "cn-hangzhou", "image_id": "m-bp1huge000001", "name": "app-huge-3t", "size_gib": 3072,
        "disks": [{"device": "/dev/xvda", "type": "system", "size_gib": 1024},
                  {"device": "/dev/xvdb", "type": "data", "size_gib": 2048}]}]}, snapshot_gib_per_minute=300)
    first = dt.datetime.fromtimestamp(cloud.advance_to_next_event(), tz=dt.timezone.utc)
    [record] = records(cloud, "copy/")
    assert record.data.get("path") == "snapshot"
    run_until(cloud, first + dt.timedelta(minutes=9))
    [build] = [c for c in cloud.emulator.control.requests() if c["action"] == "CreateImage" and c["status"] == 200]
    # the copies end at 6:50; the timer alone would see them at minute 10
    assert dt.timedelta(minutes=6, seconds=50) <= dt.timedelta(seconds=build["time"] - first.timestamp()) < \
        dt.timedelta(minutes=7, seconds=30)
    assert fired(cloud, "wake-cn-beijing-")


def test_a_plain_tick_does_not_list_a_destination_whose_copy_wake_is_ahead(local: Any) -> None:
    policy = ("copy_rules:\n  - name: fleet\n    source_regions: [cn-hangzhou]\n    target_regions: [cn-beijing]\n"
              "copy_limits: {per_region: 1}\n")
    cloud = local(policy, {"regions": ["cn-hangzhou", "cn-beijing"], "images": [
        {"region": "cn-hangzhou", "image_id": "m-bp1skip00001", "name": "a", "size_gib": 140}]})
    now = now_of(cloud).replace(microsecond=0)
    assert tick(now)["wakes"] == ["cn-beijing"]
    before = calls(cloud, "DescribeImages", "cn-beijing")
    later = tick(now + dt.timedelta(seconds=30))
    assert later["skipped"] == ["cn-beijing"] and later["scanned"]["destinations"] == []
    assert calls(cloud, "DescribeImages", "cn-beijing") == before
    # once the wake is due, the region is scanned again
    due = tick(now + dt.timedelta(minutes=10))
    assert due["skipped"] == [] and due["scanned"]["destinations"] == ["cn-beijing"]
