"""Wake at the ETA for ACR sync tasks (issue #16): reconcile wakes itself at a source region's expected sync end
(the region's last measured duration, else the task's age doubled), and a plain timer tick does not list a
region whose wake is still ahead. Virtual clock only (tests/wakeup_cloud.py)."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts import sample_world as scene
from scripts.invoke import invoke
from scripts.local import LocalCloud
from shared.ledger.record import State
from tests.wakeup_cloud import calls, clouds, fired, now_of, records, run_until


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield from clouds(tmp_path, monkeypatch)


def _acr(local: Any, *, wakeups: bool = True) -> LocalCloud:
    return local("copy_rules: []\n" + scene.ACR_POLICY_YAML, {**scene.seed(), **scene.acr_seed(old_tags=2)},
                 wakeups=wakeups, acr_sync_seconds=420)


def _backfill(max_tags: int | None = None) -> None:
    body: dict[str, Any] = {"action": "backfill", "rule": "web"}
    if max_tags is not None:
        body["max_tags"] = max_tags
    invoke("acr_push", json.dumps(body).encode())


def test_a_sync_task_ending_mid_tick_is_seen_before_the_next_timer_tick(local: Any) -> None:
    # sync tasks take 7 minutes; the first tag's tasks teach the region that duration
    cloud = _acr(local)
    first = dt.datetime.fromtimestamp(cloud.advance_to_next_event(), tz=dt.timezone.utc)
    _backfill(max_tags=1)
    run_until(cloud, first + dt.timedelta(minutes=10, seconds=30))
    assert {r.state for r in records(cloud, "acr/")} == {State.DONE}
    # the second tag, queued right after a timer tick: the next timer tick (minute 5) sees its tasks in
    # flight and wakes the region at their end (minute 7), not at the timer after it (minute 10)
    second = dt.datetime.fromtimestamp(cloud.advance_to_next_event(), tz=dt.timezone.utc)
    _backfill()
    run_until(cloud, second + dt.timedelta(minutes=9))
    late = [r for r in records(cloud, "acr/") if r.created_at >= second]
    assert late and all(r.state is State.DONE for r in late)
    for record in late:
        assert dt.timedelta(minutes=7) <= record.updated_at - second < dt.timedelta(minutes=8)
    assert fired(cloud, "wake-acr-cn-hangzhou-")


def test_without_wakeups_a_sync_task_waits_for_the_timer(local: Any) -> None:
    # the twin of the test above, without wake-ups: the 5-minute timer sees the 7-minute tasks at minute 10
    cloud = _acr(local, wakeups=False)
    first = dt.datetime.fromtimestamp(cloud.advance_to_next_event(), tz=dt.timezone.utc)
    _backfill(max_tags=1)
    run_until(cloud, first + dt.timedelta(minutes=9))  # runs the first event past minute 9: the timer at 10
    synced = records(cloud, "acr/")
    assert synced and all(r.state is State.DONE for r in synced)
    assert {r.updated_at - first for r in synced} == {dt.timedelta(minutes=10)}
    assert not fired(cloud, "wake-acr-")


def test_a_redelivered_tick_schedules_one_sync_wakeup(local: Any) -> None:
    cloud = _acr(local)
    _backfill(max_tags=1)
    tick = scene.timer_event(now_of(cloud).strftime("%Y-%m-%dT%H:%M:%SZ"))
    for _ in range(3):  # the same timer event delivered three times
        invoke("reconcile", tick)
    wakes = [i for i in cloud.emulator.control.fc_invocations() if i["invocationId"].startswith("wake-acr-")]
    assert len(wakes) == 1
    assert json.loads(json.loads(wakes[0]["invocationPayload"])["payload"]) == {"regions": ["cn-hangzhou"], "feature": "acr"}


def test_a_plain_tick_does_not_list_a_region_whose_sync_wake_is_ahead(local: Any) -> None:
    cloud = _acr(local)
    _backfill(max_tags=1)
    now = now_of(cloud)
    first = json.loads(invoke("reconcile", scene.timer_event(now.strftime("%Y-%m-%dT%H:%M:%SZ"))))
    assert first["acr"]["wakes"] == ["cn-hangzhou"]
    before = calls(cloud, "ListRepoSyncTask")
    later = (now + dt.timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    second = json.loads(invoke("reconcile", scene.timer_event(later)))
    assert second["acr"]["skipped"] == ["cn-hangzhou"]
    assert calls(cloud, "ListRepoSyncTask") == before  # the wake, a minute out, will look
