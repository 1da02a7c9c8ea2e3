"""Wake at the ETA for Image Builder builds (issue #16): reconcile wakes itself at a template region's expected
build end, and a plain timer tick does not list a region whose wake is still ahead. Virtual clock only."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.ledger.record import State
from tests.wakeup_cloud import calls, clouds, fired, now_of, records, run_until, tick


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield from clouds(tmp_path, monkeypatch)


BUILD_POLICY = """copy_rules: []
build_rules:
  - name: golden
    pipeline: {region: cn-hangzhou, name: golden-base}
    cron: "0 * * * *"
"""


def test_a_build_ending_mid_tick_is_seen_before_the_next_timer_tick(local: Any) -> None:
    # a build of 4 stages x 100 s ends at minute 6:40 after the timer tick that starts it
    cloud = local(BUILD_POLICY, {"images": [{"region": "cn-hangzhou", "image_id": "m-base"}], "image_pipelines": [
        {"region": "cn-hangzhou", "pipeline_id": "ip-gold", "name": "golden-base", "base_image": "m-base"}]},
        image_pipeline_stage_seconds=100)
    start = dt.datetime.fromtimestamp(cloud.advance_to_next_event(), tz=dt.timezone.utc)
    [first] = records(cloud, "build/")
    assert first.state is State.STARTED
    run_until(cloud, start + dt.timedelta(minutes=9))
    # (the next hour's slot may come due meanwhile: follow the first build by its key)
    [record] = [r for r in records(cloud, "build/") if r.key == first.key]
    assert record.state is State.DONE
    assert dt.timedelta(minutes=6, seconds=40) <= record.updated_at - start < dt.timedelta(minutes=10)
    assert fired(cloud, "wake-build-cn-hangzhou-")


def test_a_plain_tick_does_not_list_a_region_whose_build_wake_is_ahead(local: Any) -> None:
    cloud = local(BUILD_POLICY, {"images": [{"region": "cn-hangzhou", "image_id": "m-base"}], "image_pipelines": [
        {"region": "cn-hangzhou", "pipeline_id": "ip-gold", "name": "golden-base", "base_image": "m-base"}]})
    now = now_of(cloud).replace(microsecond=0)
    assert tick(now)["builds"]["outcomes"]["woken_regions"] == 1
    before = calls(cloud, "DescribeImagePipelineExecutions", "cn-hangzhou")
    tick(now + dt.timedelta(seconds=30))  # the wake is at minute 1
    assert calls(cloud, "DescribeImagePipelineExecutions", "cn-hangzhou") == before
    tick(now + dt.timedelta(minutes=2))
    assert calls(cloud, "DescribeImagePipelineExecutions", "cn-hangzhou") == before + 1
