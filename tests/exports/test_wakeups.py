"""Exports and wake-ups (issue #16): a plain reconcile tick leaves running exports to export_batch's wake."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts import sample_world as scene
from scripts.invoke import invoke
from tests.wakeup_cloud import calls, clouds, now_of, tick

#: One export rule, no window, one export at a time: the batch starts the image's export and wakes for it.
ONE_AT_A_TIME = ("copy_rules: []\nexport_rules:\n  - name: archive\n    source_regions: [cn-hangzhou]\n"
                 "    match: {name_regex: '^app-'}\n    bucket: {cn-hangzhou: relay-exports-hz}\n"
                 "    oss_prefix: archive\n    format: qcow2\n    max_concurrent: 1\n")


def _one_image_exporting(local: Any, image_id: str, name: str) -> Any:
    """The sample world with one app- image in Hangzhou, under ``ONE_AT_A_TIME``."""
    return local(ONE_AT_A_TIME, {**scene.seed(), "images": [
        {"region": "cn-hangzhou", "image_id": image_id, "name": name, "size_gib": 40}]})


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield from clouds(tmp_path, monkeypatch)


def test_a_plain_reconcile_tick_leaves_running_exports_to_their_wake(local: Any) -> None:
    cloud = _one_image_exporting(local, "m-bp1skipx0001", "app-x-1")
    now = now_of(cloud).replace(microsecond=0)
    batch = json.loads(invoke("export_batch", scene.timer_event(now.strftime("%Y-%m-%dT%H:%M:%SZ"))))
    assert batch["wakes"] == ["cn-hangzhou"]
    before = calls(cloud, "DescribeTasks", "cn-hangzhou")
    tick(now + dt.timedelta(seconds=30))
    assert calls(cloud, "DescribeTasks", "cn-hangzhou") == before



def test_export_batchs_own_timer_leaves_running_exports_to_their_wake_until_it_is_due(local: Any) -> None:
    cloud = _one_image_exporting(local, "m-bp1skipy0001", "app-y-1")
    now = now_of(cloud).replace(microsecond=0)

    def batch(at: dt.datetime) -> dict[str, Any]:
        return json.loads(invoke("export_batch", scene.timer_event(at.strftime("%Y-%m-%dT%H:%M:%SZ"))))

    assert batch(now)["wakes"] == ["cn-hangzhou"]
    before = calls(cloud, "DescribeTasks", "cn-hangzhou")
    # the next timer tick falls before the wake: the region's running export is the wake's to follow
    assert batch(now + dt.timedelta(seconds=60))["followed"] == {}
    assert calls(cloud, "DescribeTasks", "cn-hangzhou") == before
    # a tick at or after the wake's time follows it (a wrong ETA costs a scan, never a missed completion)
    batch(now + dt.timedelta(hours=2))
    assert calls(cloud, "DescribeTasks", "cn-hangzhou") == before + 1
