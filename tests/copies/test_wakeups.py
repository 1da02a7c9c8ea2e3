"""Wake at the ETA (issue #16): reconcile invokes itself, delayed, at a region's expected copy end.

Everything runs on the emulator's virtual clock through `LocalCloud` (FC functions, the template's
5-minute timers, delayed invocations); nothing here measures wall time.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.local import LocalCloud
from shared.ledger import Ledger, open_store
from shared.ledger.record import Record, State

REGION = "cn-beijing"


def _policy(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "policy.yml"
    path.write_text("copy_rules:\n  - name: fleet\n    source_regions: [cn-hangzhou]\n"
                    f"    target_regions: [{REGION}]\ncopy_limits: {{per_region: 1{extra}}}\n")
    return path


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    clouds: list[LocalCloud] = []

    def build(images: list[tuple[str, int]], *, wakeups: bool = True, extra: str = "") -> LocalCloud:
        monkeypatch.setenv("IMAGE_RELAY_WAKEUPS", "true" if wakeups else "false")
        cloud = LocalCloud(policy=_policy(tmp_path, extra), state=f"sqlite:///{tmp_path / 'ledger.db'}").start()
        clouds.append(cloud)
        cloud.emulator.control.seed({"regions": ["cn-hangzhou", REGION], "images": [
            {"region": "cn-hangzhou", "image_id": image_id, "name": image_id, "size_gib": size}
            for image_id, size in images]})
        cloud.emulator.control.configure(copy_slots=1, copy_gib_per_minute=20)
        return cloud

    yield build
    for cloud in clouds:
        cloud.stop()


def _records(cloud: LocalCloud) -> dict[str, Record]:
    ledger = Ledger(open_store(cloud.state_url))
    return {r.data["target"]["image_id"]: r for r in ledger.scan("copy/")}


def _at(record: Record, name: str) -> dt.datetime:
    return dt.datetime.fromisoformat(record.data[name])


def _run_until(cloud: LocalCloud, minutes: float) -> float:
    """Step from event to event (timers, wake-ups) until `minutes` after the first timer tick; returns it."""
    first = cloud.advance_to_next_event()
    while cloud.advance_to_next_event(horizon=300) < first + minutes * 60:
        pass
    return first


def _wakes(cloud: LocalCloud) -> list[dict[str, Any]]:
    return [i for i in cloud.emulator.control.fc_invocations() if i["invocationId"].startswith(f"wake-{REGION}-")]


def test_a_copy_ending_at_minute_7_is_seen_and_its_slot_refilled_before_minute_8(local: Any) -> None:
    # 140 GiB at 20 GiB/min: 7 minutes; one slot, so the 20 GiB image waits for it
    cloud = local([("m-bp1wake00001", 140), ("m-bp1wake00002", 20)])
    first = dt.datetime.fromtimestamp(_run_until(cloud, 9), tz=dt.timezone.utc)
    records = _records(cloud)
    big, small = records["m-bp1wake00001"], records["m-bp1wake00002"]
    assert _at(big, "started_at") == first
    assert big.state is State.DONE
    assert dt.timedelta(minutes=7) <= _at(big, "done_at") - first < dt.timedelta(minutes=8)
    assert small.state in (State.STARTED, State.DONE)
    assert _at(small, "started_at") - first < dt.timedelta(minutes=8)
    assert _wakes(cloud), "the refill came from a wake-up, not from a timer tick"


def test_without_wakeups_the_slot_waits_for_the_next_timer_tick(local: Any) -> None:
    # the twin of the test above: the 5-minute timer alone sees the end, and refills the slot, at minute 10
    cloud = local([("m-bp1wake00001", 140), ("m-bp1wake00002", 20)], wakeups=False)
    first = dt.datetime.fromtimestamp(_run_until(cloud, 9), tz=dt.timezone.utc)
    records = _records(cloud)
    assert _at(records["m-bp1wake00001"], "done_at") - first == dt.timedelta(minutes=10)
    assert _at(records["m-bp1wake00002"], "started_at") - first == dt.timedelta(minutes=10)
    assert _wakes(cloud) == []


def test_duplicated_wakeups_schedule_one_invocation(local: Any) -> None:
    from shared.clouds.fc import FcGateway
    from shared.config import Credentials
    from shared.replication.wake import FcWaker

    cloud = local([("m-bp1wake00001", 140)])
    fc = FcGateway.connect(Credentials(access_key_id="test-ak", access_key_secret="test-secret"),
                           region="cn-hangzhou", account_id="local", endpoint=cloud.emulator.url)
    now = dt.datetime.fromtimestamp(cloud.emulator.state.clock.now(), tz=dt.timezone.utc).replace(microsecond=0)
    at = now + dt.timedelta(seconds=90)
    first, second = FcWaker(fc, "image-relay"), FcWaker(fc, "image-relay")
    assert first.schedule(REGION, at, now) is True
    assert second.schedule(REGION, at, now) is False  # 409 StatefulAsyncInvocationAlreadyExists
    wakes = _wakes(cloud)
    assert len(wakes) == 1 and wakes[0]["status"] == "Enqueued"
    assert wakes[0]["dueTime"] == int(now.timestamp() + 90) * 1000


def test_a_redelivered_tick_schedules_no_second_wakeup(local: Any) -> None:
    import json

    from scripts.invoke import invoke

    cloud = local([("m-bp1wake00001", 140)])
    now = dt.datetime.fromtimestamp(cloud.emulator.state.clock.now(), tz=dt.timezone.utc)
    tick = json.dumps({"triggerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "triggerName": "t", "payload": ""})
    for _ in range(3):  # the same timer event delivered three times (EventBridge/FC deliver at least once)
        invoke("reconcile", tick.encode())
    assert len(_wakes(cloud)) == 1


@pytest.mark.parametrize(("guessed_rate", "size_gib"), [(200, 100), (2, 120)])
def test_a_wrong_estimate_costs_one_extra_scan_and_misses_nothing(local: Any, guessed_rate: int,
                                                                 size_gib: int) -> None:
    # the policy's rate is 10x too fast (an early wake) or 10x too slow (a late one); the copy runs at 20
    cloud = local([("m-bp1wake00001", size_gib)], extra=f", gib_per_minute: {guessed_rate}")
    _run_until(cloud, size_gib / 20 + 2)
    record = _records(cloud)["m-bp1wake00001"]
    assert record.state is State.DONE
    took = _at(record, "done_at") - _at(record, "started_at")
    assert dt.timedelta(minutes=size_gib / 20) <= took < dt.timedelta(minutes=size_gib / 20, seconds=30)
    fired = [w for w in _wakes(cloud) if w["status"] == "Succeeded"]
    assert len(fired) == 2, [w["invocationId"] for w in fired]  # one to learn the rate, one at the end


def test_a_delay_outside_fcs_range_is_refused() -> None:
    from emulator.core.errors import EmulatorError
    from emulator.fc.invoke import async_delay as _delay
    from shared.clouds.fc import FcGateway

    assert _delay("") == 0 and _delay("3600") == 3600
    for bad in ("3601", "-1", "1.5", "soon"):
        with pytest.raises(EmulatorError) as raised:
            _delay(bad)
        assert raised.value.code == "InvalidArgument"
    with pytest.raises(ValueError, match="delay_seconds"):
        FcGateway(object()).invoke("image-relay", "reconcile", b"{}", asynchronous=True, delay_seconds=3601)


def test_an_export_ending_mid_tick_frees_its_slot_before_the_next_timer_tick(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from scripts import sample_world as scene

    policy = tmp_path / "policy.yml"
    policy.write_text("copy_rules: []\nexport_rules:\n  - name: archive\n    source_regions: [cn-hangzhou]\n"
                      "    match: {name_regex: '^app-'}\n    bucket: {cn-hangzhou: relay-exports-hz}\n"
                      "    oss_prefix: archive\n    format: qcow2\n    max_concurrent: 1\n")
    monkeypatch.setenv("IMAGE_RELAY_WAKEUPS", "true")
    cloud = LocalCloud(policy=policy, state=f"sqlite:///{tmp_path / 'ledger.db'}").start()
    try:
        cloud.emulator.control.seed({**scene.seed(), "images": [
            {"region": "cn-hangzhou", "image_id": f"m-bp1wakex000{i}", "name": f"app-x-{i}", "size_gib": 40}
            for i in (1, 2)]})
        cloud.emulator.control.configure(export_gib_per_minute=10)  # 4 minutes each, one at a time
        first = dt.datetime.fromtimestamp(_run_until(cloud, 6), tz=dt.timezone.utc)
        records = {r.data["target"]["image_id"]: r for r in Ledger(open_store(cloud.state_url)).scan("export/")}
        assert records["m-bp1wakex0001"].state is State.DONE
        second = _at(records["m-bp1wakex0002"], "started_at") - first
        assert dt.timedelta(minutes=4) <= second < dt.timedelta(minutes=5)  # the timer alone: minute 5
        wakes = [i for i in cloud.emulator.control.fc_invocations() if i["invocationId"].startswith("wake-export-")]
        assert wakes and all(i["functionName"] == "export_batch" for i in wakes)
    finally:
        cloud.stop()
