"""Scale figures for `make bench`: copy makespan under the per-region limit, and planning time.

Makespan: 500 images copied to 10 regions with `copy_limits.per_region` 5, reconcile every 5 virtual
minutes, against the lower bound: the largest total copy time any one region must carry at that
limit (sum of sizes / (rate x limit); every region receives every image here).
Planning: the pure planner over 10,000 tracked copies in 20 destination regions (no I/O).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import tempfile
import time
from pathlib import Path

from emulator import Emulator
from scripts import demo_scene as scene
from scripts.invoke import invoke

REGIONS = ["cn-beijing", "cn-shanghai", "cn-shenzhen", "cn-zhangjiakou", "cn-hongkong", "ap-southeast-1",
           "ap-southeast-5", "ap-northeast-1", "eu-central-1", "us-west-1"]


def makespan(n_images: int = 500, limit: int = 5, gib_per_minute: float = 20.0, tick_minutes: int = 5,
             reset: object = None) -> dict[str, float]:
    """Virtual minutes until every copy is Available, and the lower bound."""
    rng = random.Random(7)
    sizes = [rng.choice((20, 40, 40, 80, 100, 200)) for _ in range(n_images)]
    work = Path(tempfile.mkdtemp(prefix="image-relay-bench-ms-"))
    policy = ("copy_rules:\n  - name: fleet\n    source_regions: [cn-hangzhou]\n"
              f"    target_regions: [{', '.join(REGIONS)}]\ncopy_limits: {{per_region: {limit}}}\n")
    (work / "policy.yml").write_text(policy)
    with Emulator(port=0) as emu:
        os.environ.update({"IMAGE_RELAY_POLICY": str(work / "policy.yml"), "IMAGE_RELAY_ENDPOINT": emu.url,
                           "IMAGE_RELAY_STATE": f"sqlite:///{work / 'ms.db'}"})
        if callable(reset):
            reset()
        emu.control.seed({"regions": ["cn-hangzhou", *REGIONS], "images": [
            {"region": "cn-hangzhou", "image_id": f"m-bp1ms{i:06d}", "name": f"img-{i:06d}", "size_gib": size}
            for i, size in enumerate(sizes)]})
        emu.control.configure(copy_slots=limit, copy_gib_per_minute=gib_per_minute, image_quota=100000)
        minutes, started = 0, time.perf_counter()
        while True:
            summary = json.loads(invoke("reconcile", scene.timer_event()))
            if summary["records"] and set(summary["records"]) == {"DONE"}:
                break
            emu.control.advance(tick_minutes * 60)
            minutes += tick_minutes
            if minutes > 100 * 24 * 60:
                raise SystemExit("bench: makespan did not converge")
        wall = time.perf_counter() - started
    bound = sum(sizes) / gib_per_minute / limit
    return {"images": n_images, "regions": len(REGIONS), "makespan_min": minutes, "bound_min": bound,
            "ratio": minutes / bound, "wall_s": wall}


def planning_time(n_copies: int = 10_000, n_regions: int = 20) -> dict[str, float]:
    """Seconds the pure planner needs for one tick over `n_copies` tracked copies."""
    from shared.clouds.ecs_types import Image
    from shared.ledger.record import Record, State
    from shared.policy import load_policy
    from shared.replication.executor import new_record
    from shared.replication.planner import Observed, plan_tick
    from shared.replication.queue import queue_view
    from shared.replication.targets import targets_for

    regions = [f"xx-region-{i}" for i in range(n_regions)]
    policy = load_policy("copy_rules:\n  - name: fleet\n    source_regions: [cn-hangzhou]\n"
                         f"    target_regions: [{', '.join(regions)}]\n")
    now = dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc)
    images = [Image(region="cn-hangzhou", image_id=f"m-bp1p{i:07d}", name=f"img-{i}", size_gib=40)
              for i in range(n_copies // n_regions)]
    records: list[Record] = []
    copies: dict[str, dict[str, Image]] = {r: {} for r in regions}
    for n, image in enumerate(images):
        for target in targets_for(policy, image):
            record = new_record(target, now)
            if n % 3 == 0:
                copy_id = f"m-c{n:07d}{target.target_region[-2:]}"
                record = record.model_copy(update={"state": State.STARTED, "cloud_id": copy_id, "attempt": 1})
                copies[target.target_region][copy_id] = Image(region=target.target_region, image_id=copy_id,
                                                              status="Creating", progress=50,
                                                              tags=target.tags)
            records.append(record)
    observed = Observed(sources={(i.region, i.image_id): i for i in images}, scanned_sources=frozenset({"cn-hangzhou"}),
                        copies=copies)
    started = time.perf_counter()
    actions = plan_tick(records, observed, policy, now)
    plan_s = time.perf_counter() - started
    started = time.perf_counter()
    queue = queue_view(records, policy, now)
    queue_s = time.perf_counter() - started
    return {"copies": len(records), "regions": n_regions, "actions": len(actions), "plan_s": plan_s,
            "queued": len(queue), "queue_view_s": queue_s}


def tick_time(n_images: int = 500, n_regions: int = 20, ticks: int = 3, reset: object = None) -> dict[str, float]:
    """Wall seconds of whole reconcile ticks (scans, planning, ledger, API calls) over
    n_images x n_regions tracked copies against the emulator, beside FC's 600 s function timeout."""
    from emulator.core.regions import CATALOG

    regions = [r for r in CATALOG if r != "cn-hangzhou"][:n_regions]
    work = Path(tempfile.mkdtemp(prefix="image-relay-bench-tick-"))
    policy = ("copy_rules:\n  - name: fleet\n    source_regions: [cn-hangzhou]\n"
              f"    target_regions: [{', '.join(regions)}]\n")
    (work / "policy.yml").write_text(policy)
    times = []
    with Emulator(port=0) as emu:
        os.environ.update({"IMAGE_RELAY_POLICY": str(work / "policy.yml"), "IMAGE_RELAY_ENDPOINT": emu.url,
                           "IMAGE_RELAY_STATE": f"sqlite:///{work / 'tick.db'}"})
        if callable(reset):
            reset()
        emu.control.seed({"images": [{"region": "cn-hangzhou", "image_id": f"m-bp1tk{i:06d}",
                                      "name": f"img-{i:06d}", "size_gib": 40} for i in range(n_images)]})
        emu.control.configure(image_quota=100000)
        for _ in range(ticks):
            started = time.perf_counter()
            summary = json.loads(invoke("reconcile", scene.timer_event()))
            times.append(time.perf_counter() - started)
            emu.control.advance(300)
    return {"copies": n_images * len(regions), "regions": len(regions), "first_tick_s": times[0],
            "steady_tick_s": max(times[1:]) if len(times) > 1 else times[0],
            "records": sum(summary["records"].values())}
