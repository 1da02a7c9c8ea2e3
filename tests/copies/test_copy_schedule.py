"""Copy scheduling end to end: per-region limits, concurrency, off-peak windows with carry-over."""
from __future__ import annotations

import datetime as dt
import threading

from scripts import sample_world as scene

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


def test_off_peak_copies_start_only_inside_their_window_and_carry_over(world, monkeypatch):
    policy = scene.POLICY_YAML.replace("    name_template:", "    schedule: off-peak\n    window: night\n    name_template:")
    policy += 'windows:\n  - {name: night, start: "01:00", end: "02:00", timezone: Asia/Shanghai}\n'
    policy += "copy_limits: {per_region: 1}\n"
    world.set_policy(policy)
    world.emu.control.seed({"images": _images(3, size=40)})   # 2 min per copy at 20 GiB/min
    noon = dt.datetime(2026, 11, 21, 4, 0, tzinfo=UTC)        # 12:00 Shanghai
    night = dt.datetime(2026, 11, 21, 17, 0, tzinfo=UTC)      # 01:00 Shanghai

    def tick(at: dt.datetime) -> dict:
        return world.invoke("reconcile", scene.timer_event(at.strftime("%Y-%m-%dT%H:%M:%SZ")))

    # an event outside the window records intents and starts nothing (the function's clock reads noon: the
    # wall clock may itself be inside the window, 17:00-18:00 UTC)
    with monkeypatch.context() as clock:
        clock.setattr("shared.wiring.utcnow", lambda: noon)
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


def test_cancel_a_running_copy_and_a_queued_one(world):
    world.set_policy(scene.POLICY_YAML + "copy_limits: {per_region: 1}\n")
    world.emu.control.seed({"images": _images(2)})
    world.tick()  # per region: one copy running, the others queued
    image = "m-bp1demoweb0001"
    result = world.invoke("image_created", f'{{"action": "cancel_copy", "region": "cn-hangzhou", '
                                           f'"image_id": "{image}"}}'.encode())
    assert result["status"] == "cancelled"
    states = {r.key.rsplit("/", 1)[1]: r.state.value for r in world.ledger().scan(f"copy/cn-hangzhou/{image}/")}
    assert states == {"cn-beijing": "CANCELLED", "ap-southeast-1": "CANCELLED"}
    cancelled = world.calls("CancelCopyImage", 200)
    assert {c["region"] for c in cancelled} <= set(scene.TARGETS)
    assert all(c.tags.get("image-relay:source-image") != image for r in scene.TARGETS for c in world.copies_in(r))
    world.run_until_settled()
    assert {r.state.value for r in world.ledger().scan(f"copy/cn-hangzhou/{image}/")} == {"CANCELLED"}


def test_retry_failed_reopens_only_the_failed_targets(world):
    world.set_policy(scene.POLICY_YAML.replace("key-sg-1", "key-sg-missing"))
    image = "m-bp1demoweb0001"
    world.invoke("image_created", world.event(image))
    world.run_until_settled()
    world.set_policy(scene.POLICY_YAML)
    copies_before = len(world.calls("CopyImage", 200))
    result = world.invoke("image_created", f'{{"action": "retry_failed", "region": "cn-hangzhou", '
                                           f'"image_id": "{image}"}}'.encode())
    assert result["status"] == "requeued"
    assert [t["target_region"] for t in result["targets"]] == ["ap-southeast-1"]
    world.run_until_settled()
    new_calls = world.calls("CopyImage", 200)[copies_before:]
    assert [c["params"]["DestinationRegionId"] for c in new_calls if c["params"]["ImageId"] == image] == [
        "ap-southeast-1"]
    assert {r.state.value for r in world.ledger().scan(f"copy/cn-hangzhou/{image}/")} == {"DONE"}


def test_status_shows_progress_queue_position_eta_and_failures(world):
    import json as _json
    import os
    import subprocess
    import sys

    world.set_policy(scene.POLICY_YAML.replace("key-sg-1", "key-sg-missing") + "copy_limits: {per_region: 1}\n")
    world.emu.control.seed({"images": _images(2)})
    world.tick()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    done = subprocess.run([sys.executable, "-m", "scripts.cli", "status", "--json"], capture_output=True,
                          env=env, timeout=60)
    assert done.returncode == 5, done.stderr  # something FAILED: status says so in its exit code
    rows = _json.loads(done.stdout)["copies"]
    assert sorted({r["region"] for r in rows}) == ["ap-southeast-1", "cn-beijing"]
    beijing = [r for r in rows if r["region"] == "cn-beijing"]
    assert [r["ledger_state"] for r in beijing].count("STARTED") == 1
    queued = sorted((r for r in beijing if r["ledger_state"] == "PENDING"), key=lambda r: r["queue_position"])
    assert [r["queue_position"] for r in queued] == [1, 2, 3]
    assert all(r["eta"] for r in queued) and queued[0]["eta"] < queued[-1]["eta"]
    assert all(r["state"] == "queued" and r["detail"].startswith(f"#{r['queue_position']} eta ") for r in queued)
    failed = [r for r in rows if r["region"] == "ap-southeast-1" and r["ledger_state"] == "FAILED"]
    assert failed and all("key-sg-missing" in r["reason"] and r["retry_command"].startswith(
        f"image-relay retry cn-hangzhou {r['image_id']} --target-region ap-southeast-1") for r in failed)
    table = subprocess.run([sys.executable, "-m", "scripts.cli", "status"], capture_output=True, env=env, timeout=60)
    assert table.returncode == 5 and b"#1 eta" in table.stdout and b"retry: image-relay retry" in table.stdout
