"""`make bench`: cold-start import cost and API calls per copied (image, region) pair.

Prints figures and ratios; nothing here asserts (tests never time things).
1. For each function, the import time of its handler module against the import time of the SDK it
   needs (each measured in a fresh interpreter, median of several runs). The handler defers the SDK
   import to the first invocation's wiring, so the two add up to the real cold start.
2. API calls per copied (image, region) pair over a full copy lifecycle with reconcile ticks (paged
   region scans), against a naive baseline that describes each copy on each tick.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from emulator import Emulator
from scripts import demo_scene as scene
from scripts.invoke import FUNCTIONS, invoke
from shared.acr.planner import DEFAULT_START_BUDGET

console = Console(width=120)
RUNS = 5
SDK_FOR = {"image_created": "alibabacloud_ecs20140526.client", "reconcile": "alibabacloud_ecs20140526.client",
           "export_batch": "alibabacloud_ecs20140526.client, oss2", "acr_push": "alibabacloud_cr20181201.client"}


def import_seconds(module: str, runs: int = RUNS) -> float:
    """Median wall time of `import module` in a fresh interpreter."""
    code = f"import time; t=time.perf_counter(); import {module}; print(time.perf_counter()-t)"
    times = [float(subprocess.check_output([sys.executable, "-c", code], text=True)) for _ in range(runs)]
    return statistics.median(times)


def bench_imports() -> None:
    table = Table(title=f"cold start: import time (median of {RUNS} fresh interpreters)", title_justify="left")
    for column in ("function", "handler module", "SDK it needs", "handler / SDK"):
        table.add_column(column)
    for function, (module, _) in FUNCTIONS.items():
        handler_s = import_seconds(module)
        sdk_s = import_seconds(SDK_FOR[function])
        table.add_row(function, f"{handler_s * 1000:.0f} ms", f"{sdk_s * 1000:.0f} ms ({SDK_FOR[function]})",
                      f"{handler_s / sdk_s:.2f}")
    console.print(table)


def _scene(n_images: int) -> dict[str, Any]:
    seed = scene.seed()
    seed["images"] = [
        {"region": scene.SOURCE, "image_id": f"m-bp1bench{i:05d}", "name": f"app-bench-{i:05d}",
         "size_gib": 20 + (i % 7) * 20, "tags": {"team": "web"}}
        for i in range(n_images)
    ]
    seed["instances"] = []
    return seed


def run_relay(emu: Emulator, n_images: int, work: Path) -> tuple[int, int, int]:
    """image-relay's way: events, then reconcile ticks. Returns (api calls, pairs, ticks)."""
    emu.control.reset()
    emu.control.seed(_scene(n_images))
    os.environ["IMAGE_RELAY_STATE"] = f"sqlite:///{work / 'relay.db'}"
    _reset()
    for i in range(n_images):
        invoke("image_created", scene.create_image_event(scene.SOURCE, f"m-bp1bench{i:05d}", "app"))
    ticks = 0
    while True:
        summary = json.loads(invoke("reconcile", scene.timer_event()))
        ticks += 1
        if not {"PENDING", "STARTED"} & set(summary["records"]):
            break
        emu.control.advance(60)
    return len(emu.control.requests()), n_images * len(scene.TARGETS), ticks


def run_naive(emu: Emulator, n_images: int, work: Path) -> tuple[int, int, int]:
    """Baseline: the same events, then each tick describes every unfinished copy by its ImageId."""
    from shared.clouds.ecs import EcsGateway
    from shared.config import Credentials

    emu.control.reset()
    emu.control.seed(_scene(n_images))
    os.environ["IMAGE_RELAY_STATE"] = f"sqlite:///{work / 'naive.db'}"
    _reset()
    pending: list[tuple[str, str]] = []
    for i in range(n_images):
        result = json.loads(invoke("image_created", scene.create_image_event(scene.SOURCE, f"m-bp1bench{i:05d}", "app")))
        pending += [(t["target_region"], t["copy_image_id"]) for t in result["targets"]]
    ecs = EcsGateway.connect(Credentials(access_key_id="test-ak", access_key_secret="test-secret"), endpoint=emu.url)
    ticks = 0
    while pending:
        ticks += 1
        still = []
        for region, image_id in pending:
            image = ecs.get_image(region, image_id)
            if image is None or image.status != "Available":
                still.append((region, image_id))
        pending = still
        if pending:
            emu.control.advance(60)
    return len(emu.control.requests()), n_images * len(scene.TARGETS), ticks


def _reset() -> None:
    from shared.clouds._clients import reset_clients
    from shared.config import reset_settings
    from shared.wiring import reset_wiring

    reset_settings()
    reset_wiring()
    reset_clients()


def bench_calls(n_images: int = 50) -> None:
    work = Path(tempfile.mkdtemp(prefix="image-relay-bench-"))
    (work / "policy.yml").write_text(scene.POLICY_YAML)
    with Emulator(port=0) as emu:
        os.environ.update({"IMAGE_RELAY_POLICY": str(work / "policy.yml"), "IMAGE_RELAY_ENDPOINT": emu.url})
        relay = run_relay(emu, n_images, work)
        naive = run_naive(emu, n_images, work)
    table = Table(title=f"API calls per copied (image, region) pair: {n_images} images x {len(scene.TARGETS)} regions",
                  title_justify="left")
    for column in ("strategy", "API calls", "pairs", "ticks", "calls per pair"):
        table.add_column(column)
    for name, (calls, pairs, ticks) in (("image-relay (region scans)", relay), ("naive (describe each copy)", naive)):
        table.add_row(name, str(calls), str(pairs), str(ticks), f"{calls / pairs:.2f}")
    console.print(table)
    console.print(f"ratio naive / image-relay: {naive[0] / relay[0]:.1f}x fewer calls with region scans")


def bench_exports(n_images: int = 200, size_gib: int = 40, gib_per_minute: float = 10.0,
                  tick_minutes: int = 5) -> None:
    """Exports completed per night window for a large batch, against what the limit allows at most."""
    import datetime as dt

    work = Path(tempfile.mkdtemp(prefix="image-relay-bench-x-"))
    policy = scene.EXPORT_POLICY_YAML.replace(scene.POLICY_YAML, "copy_rules: []\n")
    (work / "policy.yml").write_text(policy)
    window_minutes, limit = 240, 2
    per_export = size_gib / gib_per_minute
    ceiling = limit * int(window_minutes // per_export)
    rows = []
    with Emulator(port=0) as emu:
        os.environ.update({"IMAGE_RELAY_POLICY": str(work / "policy.yml"), "IMAGE_RELAY_ENDPOINT": emu.url,
                           "IMAGE_RELAY_STATE": f"sqlite:///{work / 'exports.db'}"})
        _reset()
        emu.control.seed({**scene.seed(), "images": [
            {"region": scene.SOURCE, "image_id": f"m-bp1bx{i:06d}", "name": f"app-bx-{i:06d}", "size_gib": size_gib}
            for i in range(n_images)]})
        emu.control.configure(export_gib_per_minute=gib_per_minute)
        night = dt.datetime(2026, 11, 21, 17, 0, tzinfo=dt.timezone.utc)  # 01:00 Asia/Shanghai
        done_before = 0
        for window in range(1, 10):
            at = night + dt.timedelta(days=window - 1)
            for _ in range(window_minutes // tick_minutes):
                invoke("export_batch", scene.timer_event(at.strftime("%Y-%m-%dT%H:%M:%SZ")))
                emu.control.advance(tick_minutes * 60)
                at += dt.timedelta(minutes=tick_minutes)
            invoke("reconcile", scene.timer_event())  # the window closed; finish what still runs
            emu.control.advance(3600)
            invoke("reconcile", scene.timer_event())
            done = sum(1 for c in emu.control.requests() if c["action"] == "ExportImage" and c["status"] == 200)
            finished = _finished_exports(work)
            rows.append((window, finished - done_before, done))
            done_before = finished
            if finished >= n_images:
                break
            emu.control.advance(20 * 3600 - 3600)
    table = Table(title=f"exports per night window: {n_images} images x {size_gib} GiB at {gib_per_minute:g} GiB/min, "
                        f"max_concurrent {limit}, ticks every {tick_minutes} min", title_justify="left")
    for column in ("window", "exports completed", "ExportImage calls so far", "most the limit allows",
                   "completed / most"):
        table.add_column(column)
    for window, completed, calls in rows:
        table.add_row(str(window), str(completed), str(calls), str(ceiling), f"{completed / ceiling:.2f}")
    console.print(table)


def _finished_exports(work: Path) -> int:
    from shared.ledger import Ledger, open_store
    from shared.ledger.record import State

    ledger = Ledger(open_store(f"sqlite:///{work / 'exports.db'}"))
    try:
        return sum(1 for r in ledger.scan("export/") if r.state is State.DONE)
    finally:
        ledger.close()


def bench_backfill(n_tags: int = 500) -> None:
    """CR API calls of a backfill of `n_tags` tags to 3 targets, against a bound derived from the design."""
    work = Path(tempfile.mkdtemp(prefix="image-relay-bench-acr-"))
    targets = [("cri-bjtgt01", "cn-beijing"), ("cri-sgtgt01", "ap-southeast-1"), ("cri-shtgt01", "cn-shanghai")]
    policy = scene.ACR_POLICY_YAML.replace(
        "      - {instance_id: cri-sgtgt01, region: ap-southeast-1, namespace: mirror}\n",
        "      - {instance_id: cri-sgtgt01, region: ap-southeast-1, namespace: mirror}\n"
        "      - {instance_id: cri-shtgt01, region: cn-shanghai}\n")
    (work / "policy.yml").write_text(policy)
    seed = scene.acr_seed(old_tags=n_tags)
    seed["acr_instances"].append({"region": "cn-shanghai", "instance_id": "cri-shtgt01", "name": "acr-sh",
                                  "specification": "Enterprise_Basic"})
    seed["acr_namespaces"].append({"instance_id": "cri-shtgt01", "name": "web"})
    ticks = 0
    with Emulator(port=0) as emu:
        os.environ.update({"IMAGE_RELAY_POLICY": str(work / "policy.yml"), "IMAGE_RELAY_ENDPOINT": emu.url,
                           "IMAGE_RELAY_STATE": f"sqlite:///{work / 'acr.db'}"})
        _reset()
        emu.control.seed({**scene.seed(), "regions": [scene.SOURCE, "cn-beijing", "ap-southeast-1", "cn-shanghai"],
                          **seed})
        invoke("acr_push", json.dumps({"action": "backfill", "rule": "web"}).encode())
        while ticks < 200:
            ticks += 1
            emu.control.advance(300)
            summary = json.loads(invoke("reconcile", scene.timer_event()))
            records = summary.get("acr", {}).get("records", {})
            if records and not {"PENDING", "STARTED"} & set(records):
                break
        calls = [c for c in emu.control.requests() if c["service"] == "cr"]
    pairs = n_tags * len(targets)
    by_action: dict[str, int] = {}
    for call in calls:
        by_action[call["action"]] = by_action.get(call["action"], 0) + 1
    listing_pages = -(-pairs // 100)  # one paged ListRepoSyncTask listing per tick while work is in flight
    bound = pairs + n_tags + ticks * (listing_pages + 1) + 2 * (n_tags // 100 + 1) + 10
    table = Table(title=f"backfill: {n_tags} tags x {len(targets)} targets, paced {DEFAULT_START_BUDGET} starts per invocation",
                  title_justify="left")
    for column in ("CR API calls", "per (tag, target)", "reconcile ticks", "bound", "within bound", "by action"):
        table.add_column(column)
    table.add_row(str(len(calls)), f"{len(calls) / pairs:.2f}", str(ticks), str(bound),
                  "yes" if len(calls) <= bound else "NO",
                  ", ".join(f"{k} {v}" for k, v in sorted(by_action.items())))
    console.print(table)
    if len(calls) > bound:
        raise SystemExit(f"bench: backfill made {len(calls)} CR calls, above its bound {bound}")


def bench_scale() -> None:
    """Makespan under the per-region limit, planning time, and whole-tick time at 10,000 copies."""
    from scripts.bench_scale import makespan, planning_time, tick_time

    ms = makespan(reset=_reset)
    table = Table(title=f"makespan: {ms['images']} images to {ms['regions']} regions, per_region 5, "
                        "reconcile every 5 min", title_justify="left")
    for column in ("makespan (virtual min)", "lower bound (min)", "makespan / bound", "wall time (s)"):
        table.add_column(column)
    table.add_row(str(ms["makespan_min"]), f"{ms['bound_min']:.0f}", f"{ms['ratio']:.2f}", f"{ms['wall_s']:.0f}")
    console.print(table)
    plan = planning_time()
    tick = tick_time(reset=_reset)
    table = Table(title="a reconcile tick at scale", title_justify="left")
    for column in ("tracked copies", "regions", "pure planning (s)", "queue view (s)", "first tick (s)",
                   "steady tick (s)", "FC timeout (s)"):
        table.add_column(column)
    table.add_row(str(plan["copies"]), str(plan["regions"]), f"{plan['plan_s']:.2f}", f"{plan['queue_view_s']:.2f}",
                  f"{tick['first_tick_s']:.1f}", f"{tick['steady_tick_s']:.1f}", "600")
    console.print(table)


def main() -> None:
    bench_imports()
    bench_calls()
    bench_exports()
    bench_backfill()
    bench_scale()


if __name__ == "__main__":
    main()
