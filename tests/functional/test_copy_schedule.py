"""Copy scheduling end to end: per-region limits, concurrency, off-peak windows with carry-over."""
from __future__ import annotations

import datetime as dt
import threading

from scripts import demo_scene as scene

UTC = dt.timezone.utc
LIMITED = scene.POLICY_YAML + "copy_limits: {per_region: 2}\n"


def _images(n: int, size: int = 100) -> list[dict]:
    return [{"region": "cn-hangzhou", "image_id": f"m-bp1q{i:05d}", "name": f"app-q-{i:05d}", "size_gib": size,
             "tags": {"team": "web"}} for i in range(n)]


def _running(world) -> dict[str, int]:
    return {r: sum(1 for c in world.copies_in(r) if c.status in ("Creating", "Waiting")) for r in scene.TARGETS}


def test_the_per_region_limit_holds_at_every_moment(world):
    world.set_policy(LIMITED)
    world.emu.control.seed({"images": _images(7)})
    peak = {r: 0 for r in scene.TARGETS}
    for _ in range(60):
        summary = world.tick()
        for region, n in _running(world).items():
            peak[region] = max(peak[region], n)
        if summary["records"] and not {"PENDING", "STARTED"} & set(summary["records"]):
            break
        for _ in range(3):  # look between ticks too: copies only start at ticks, but finish any time
            world.emu.control.advance(60)
            for region, n in _running(world).items():
                peak[region] = max(peak[region], n)
    assert peak == {r: 2 for r in scene.TARGETS}
    assert all(len([c for c in world.copies_in(r) if c.status == "Available"]) == 9 for r in scene.TARGETS)


def test_concurrent_events_cannot_overfill_a_region(world):
    world.set_policy(LIMITED)
    world.emu.control.seed({"images": _images(6)})
    barrier = threading.Barrier(6)

    def deliver(i: int) -> None:
        barrier.wait()
        world.invoke("image_created", world.event(f"m-bp1q{i:05d}", f"app-q-{i:05d}"))

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(_running(world).values()) <= 2
    starts = world.calls("CopyImage", 200)
    assert 0 < len(starts) <= 2 * len(scene.TARGETS)


def test_higher_priority_rule_goes_first_in_a_full_region(world):
    policy = """\
copy_rules:
  - {name: bulk, source_regions: [cn-hangzhou], match: {name_regex: "^bulk-"}, target_regions: [cn-beijing]}
  - {name: urgent, source_regions: [cn-hangzhou], match: {name_regex: "^hot-"}, target_regions: [cn-beijing],
     priority: 9}
copy_limits: {per_region: 1}
"""
    world.set_policy(policy)
    world.emu.control.seed({"images": [
        {"region": "cn-hangzhou", "image_id": f"m-bp1bulk{i}", "name": f"bulk-{i}"} for i in range(3)] + [
        {"region": "cn-hangzhou", "image_id": "m-bp1hot0", "name": "hot-0"}]})
    world.tick()
    (first,) = world.calls("CopyImage", 200)
    assert first["params"]["ImageId"] == "m-bp1hot0"


def test_off_peak_copies_start_only_inside_their_window_and_carry_over(world):
    policy = scene.POLICY_YAML.replace("    name_template:", "    schedule: off-peak\n    window: night\n    name_template:")
    policy += 'windows:\n  - {name: night, start: "01:00", end: "02:00", timezone: Asia/Shanghai}\n'
    policy += "copy_limits: {per_region: 1}\n"
    world.set_policy(policy)
    world.emu.control.seed({"images": _images(3, size=40)})   # 2 min per copy at 20 GiB/min
    noon = dt.datetime(2026, 11, 21, 4, 0, tzinfo=UTC)        # 12:00 Shanghai
    night = dt.datetime(2026, 11, 21, 17, 0, tzinfo=UTC)      # 01:00 Shanghai

    def tick(at: dt.datetime) -> dict:
        return world.invoke("reconcile", scene.timer_event(at.strftime("%Y-%m-%dT%H:%M:%SZ")))

    # an event outside the window records intents and starts nothing
    result = world.invoke("image_created", world.event("m-bp1q00000", "app-q-00000"))
    assert {t["state"] for t in result["targets"]} == {"PENDING"}
    tick(noon)
    assert world.calls("CopyImage") == []
    # inside the window: one copy per region per slot, then the rest as slots free
    at, started_in_window = night, 0
    while at < night + dt.timedelta(minutes=60):
        tick(at)
        world.emu.control.advance(1200)
        at += dt.timedelta(minutes=20)
    started_in_window = len(world.calls("CopyImage", 200))
    assert 0 < started_in_window < 5 * len(scene.TARGETS)  # the scene's 2 + 3 new images do not all fit
    # after the window: nothing new starts
    tick(night + dt.timedelta(hours=2))
    world.emu.control.advance(1200)
    tick(night + dt.timedelta(hours=3))
    assert len(world.calls("CopyImage", 200)) == started_in_window
    # the next night the rest carries over and finishes
    at = night + dt.timedelta(days=1)
    for _ in range(6):
        tick(at)
        world.emu.control.advance(1200)
        at += dt.timedelta(minutes=10)
    summary = tick(at)
    assert set(summary["records"]) == {"DONE"}
