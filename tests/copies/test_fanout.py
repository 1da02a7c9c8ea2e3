"""A reconcile tick above the fan-out threshold sweeps once and fans copy work out by region."""
from __future__ import annotations

import pytest

from scripts import sample_world as scene
from shared.errors import DuplicateInvocationError
from shared.fanout import LocalFanOut, partitions


def test_partitions_are_stable_and_cover_every_region():
    regions = [f"r{i}" for i in range(5)]
    groups = partitions(regions, 2)
    assert groups == [["r0", "r2", "r4"], ["r1", "r3"]]
    assert partitions(regions, 8) == [[r] for r in regions]
    assert partitions([], 3) == []


def test_local_fan_out_refuses_a_duplicate_invocation_id():
    ran = []
    fan = LocalFanOut(lambda fn, body: ran.append((fn, body)))
    fan.submit("reconcile", {"a": 1}, "reconcile-1-0")
    with pytest.raises(DuplicateInvocationError):
        fan.submit("reconcile", {"a": 1}, "reconcile-1-0")
    fan.wait()
    assert ran == [("reconcile", b'{"a": 1}')]


def test_a_fanned_out_tick_copies_exactly_once_per_region(world):
    world.monkeypatch.setenv("IMAGE_RELAY_FANOUT_THRESHOLD", "1")
    from shared.config import reset_settings

    reset_settings()
    world.invoke("image_created", world.event("m-bp1demoapi0002", "app-api-2026-11"))  # PENDING: source Creating
    world.emu.control.advance(301)
    first = world.tick()
    assert first["status"] == "fanned_out"
    assert sorted(first["partitions"]) == [1, 1]
    scopes = sorted(tuple(r["scope"]) for r in first["partition_results"])
    assert scopes == [("ap-southeast-1",), ("cn-beijing",)]
    for _ in range(20):
        world.emu.control.advance(120)
        summary = world.tick()
        if not {"PENDING", "STARTED"} & set(summary["records"]):
            break
    for region in scene.TARGETS:
        sources = [c.tags["image-relay:source-image"] for c in world.copies_in(region)]
        assert sorted(sources) == ["m-bp1demoapi0002", "m-bp1demoweb0001"]
