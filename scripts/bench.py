"""`make bench`: the figures of issue #16 beside their goals, in one run.

Function logs go to a file (`--log`, default a temporary file named at the end), never to stdout.
Each section prints a short detail table; the run ends with one summary table
`figure | value | goal | ratio` whose rows say "makespan", "exports per window", "API calls per copied
pair", "tick time", "ledger requests per tick", "cold start <function>" and "backfill", and whose last
number is the row's ratio (for the calls row: the calls per pair). Nothing here asserts (tests never
time things); figures are virtual time and call counts wherever possible, so they hold on a busy machine.

`--quick` runs every section at small sizes: `make test` runs it (tests/test_bench.py), so a bench
that no longer runs fails CI.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from emulator import Emulator
from scripts import sample_world as scene
from scripts.invoke import FUNCTIONS, invoke
from scripts.progress import progress

console = Console(width=120)


@dataclass(frozen=True)
class Sizes:
    """Every section's size; `QUICK` keeps each section but runs in seconds."""

    cold_runs: int = 5
    makespan_images: int = 500
    makespan_regions: int = 10
    per_region: int = 5
    export_images: int = 200
    export_size_gib: int = 40
    backfill_tags: int = 500
    tick_images: int = 500
    tick_regions: int = 20
    tick_rounds: int = 3  # pairs of steady ticks (before, after) whose medians the tick row compares
    ledger_finished: int = 10_000
    ledger_active_images: int = 100  # x 10 regions = 1,000 active records
    running_builds: int = 250  # Image Builder builds running in one region, one per template


FULL = Sizes()
QUICK = Sizes(cold_runs=1, makespan_images=12, makespan_regions=3, per_region=2, export_images=16,
              export_size_gib=400, backfill_tags=12, tick_images=10, tick_regions=4, tick_rounds=1, ledger_finished=60,
              ledger_active_images=2, running_builds=5)


@dataclass(frozen=True)
class Row:
    """One line of the summary table."""

    figure: str
    value: str
    goal: str
    ratio: float


def _reset() -> None:
    from shared.clouds._clients import reset_clients
    from shared.config import reset_settings
    from shared.wiring import reset_wiring

    reset_settings()
    reset_wiring()
    reset_clients()


def _table(title: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(v) for v in row))
    console.print(table)


# -- cold start ---------------------------------------------------------------------------------------


def _cold(mode: str, arg: str, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.check_output([sys.executable, "-m", "scripts.bench_cold", mode, arg], text=True, env=env)
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def bench_cold_start(sizes: Sizes, work: Path, log: Path) -> list[Row]:
    """Per function, in fresh interpreters against the emulator: handler import + client build + first
    invocation, against the bare SDK(s) that invocation loaded: import + client build + one call.

    Both sides are timed from before their first import (scripts/bench_cold.py). The ratio is on the
    process's CPU seconds: the emulator's work is in this process, not theirs, and a shared machine moves
    wall time far more than CPU time; the wall medians are shown beside it."""
    policy = scene.EXPORT_POLICY_YAML + scene.ACR_POLICY_YAML
    (work / "cold-policy.yml").write_text(policy)
    rows, detail = [], []
    with Emulator(port=0) as emu:
        emu.control.seed({**scene.seed(), **scene.acr_seed()})
        env = {**os.environ, "IMAGE_RELAY_ENDPOINT": emu.url, "IMAGE_RELAY_POLICY": str(work / "cold-policy.yml"),
               "IMAGE_RELAY_BENCH_LOG": str(log)}
        for function in FUNCTIONS:
            handler, bare, sdk = [], [], []
            for n in range(sizes.cold_runs):
                env["IMAGE_RELAY_STATE"] = f"sqlite:///{work / f'cold-{function}-{n}.db'}"
                first = _cold("handler", function, env)
                sdk = first["sdk"]
                handler.append(first)
                bare.append(_cold("sdk", ",".join(sdk), env))
            h_cpu, b_cpu = (statistics.median(r["cpu_seconds"] for r in runs) for runs in (handler, bare))
            h_wall, b_wall = (statistics.median(r["seconds"] for r in runs) for runs in (handler, bare))
            detail.append((function, f"{h_cpu * 1000:.0f} ms ({h_wall * 1000:.0f})",
                           f"{b_cpu * 1000:.0f} ms ({b_wall * 1000:.0f})",
                           ", ".join(m.removeprefix("alibabacloud_") for m in sdk) or "-", f"{h_cpu / b_cpu:.2f}"))
            rows.append(Row(f"cold start {function}", f"{h_cpu * 1000:.0f} ms CPU ({h_wall * 1000:.0f} wall)",
                            f"<= 1.2 x SDK {b_cpu * 1000:.0f} ms CPU ({b_wall * 1000:.0f} wall)", h_cpu / b_cpu))
    _table(f"cold start: first invocation vs bare SDK import + one call, CPU (wall) medians of {sizes.cold_runs}",
           ("function", "handler import + first invocation", "SDK import + client + one call", "SDK loaded",
            "ratio (CPU)"), detail)
    return rows


# -- makespan and API calls per pair -------------------------------------------------------------------


def bench_makespan(sizes: Sizes) -> list[Row]:
    """500 images x 10 regions at 5 per region, with wake-ups; the API calls of the same run per copied pair."""
    from scripts.bench_scale import makespan

    ms = makespan(n_images=sizes.makespan_images, n_regions=sizes.makespan_regions, limit=sizes.per_region,
                  reset=_reset)
    pairs = ms["images"] * ms["regions"]
    _table(f"makespan: {ms['images']} images to {ms['regions']} regions, per_region {sizes.per_region}, "
           "timer every 5 min + wake-ups at the ETA",
           ("makespan (virtual min)", "lower bound (min)", "ratio", "FC invokes (wake-ups)", "timer deliveries",
            "ECS API calls", "pairs", "ECS calls per pair", "wall (s)"),
           [(f"{ms['makespan_min']:.1f}", f"{ms['bound_min']:.1f}", f"{ms['ratio']:.2f}", ms["wakes"],
             ms["timer_deliveries"], ms["api_calls"], pairs, f"{ms['api_calls'] / pairs:.2f}",
             f"{ms['wall_s']:.0f}")])
    return [Row("makespan (virtual min)", f"{ms['makespan_min']:.1f}", f"<= 1.05 x bound {ms['bound_min']:.1f}",
                ms["ratio"]),
            Row("API calls per copied pair (ECS)", f"{ms['api_calls']} calls / {pairs} pairs", "<= 2.5",
                ms["api_calls"] / pairs)]


# -- exports per window --------------------------------------------------------------------------------


def bench_exports(sizes: Sizes, work: Path, gib_per_minute: float = 10.0, tick_minutes: int = 5) -> list[Row]:
    """Exports completed in the first night window of a batch larger than a window holds: export_batch on
    its 5-minute timer, and woken by itself at its exports' expected end (FC delayed invocations)."""
    policy = scene.EXPORT_POLICY_YAML.replace(scene.POLICY_YAML, "copy_rules: []\n")
    (work / "export-policy.yml").write_text(policy)
    window_minutes, limit = 240, 2
    per_export = sizes.export_size_gib / gib_per_minute
    ceiling = limit * int(window_minutes // per_export)
    n_images = sizes.export_images
    saved = os.environ.get("IMAGE_RELAY_WAKEUPS")
    with Emulator(port=0) as emu:
        os.environ.update({"IMAGE_RELAY_POLICY": str(work / "export-policy.yml"), "IMAGE_RELAY_ENDPOINT": emu.url,
                           "IMAGE_RELAY_STATE": f"sqlite:///{work / 'exports.db'}", "IMAGE_RELAY_WAKEUPS": "true"})
        _reset()
        emu.control.seed({**scene.seed(), "images": [
            {"region": scene.SOURCE, "image_id": f"m-bp1bx{i:06d}", "name": f"app-bx-{i:06d}",
             "size_gib": sizes.export_size_gib} for i in range(n_images)]})
        emu.control.configure(export_gib_per_minute=gib_per_minute)
        emu.fc.backend.register("image-relay", "export_batch", lambda body, _ctx: invoke("export_batch", body),
                                timeout=600)
        night = dt.datetime(2026, 11, 21, 17, 0, tzinfo=dt.timezone.utc)  # 01:00 Asia/Shanghai
        start = emu.state.clock.now()
        offset = night.timestamp() - start
        end, next_tick = start + window_minutes * 60, start
        while (now := emu.state.clock.now()) < end:
            if now >= next_tick:
                at = dt.datetime.fromtimestamp(now + offset, tz=dt.timezone.utc)
                invoke("export_batch", scene.timer_event(at.strftime("%Y-%m-%dT%H:%M:%SZ")))
                next_tick += tick_minutes * 60
            due = emu.fc.backend.next_due()
            target = min(next_tick, end, due if due is not None and due > now else next_tick)
            emu.control.advance(target - now)
            emu.fc.backend.wait_idle(600)
        invoke("reconcile", scene.timer_event())  # the window closed: what ran inside it finishes
        calls = sum(1 for c in emu.state.requests if c["action"] == "ExportImage" and c["status"] == 200)
        wakes = sum(1 for c in emu.state.requests if c["action"] == "InvokeFunction")
        follows = sum(1 for c in emu.state.requests if c["action"] == "DescribeTasks")
    if saved is None:
        os.environ.pop("IMAGE_RELAY_WAKEUPS", None)
    else:
        os.environ["IMAGE_RELAY_WAKEUPS"] = saved
    finished = _finished_exports(work / "exports.db")
    _table(f"exports in one night window: {n_images} images x {sizes.export_size_gib} GiB at {gib_per_minute:g} "
           f"GiB/min, max_concurrent {limit}, export_batch every {tick_minutes} min + wake-ups",
           ("exports finished in the window", "ExportImage calls", "wake-ups", "DescribeTasks calls",
            "most the limit allows", "ratio"),
           [(finished, calls, wakes, follows, ceiling, f"{finished / ceiling:.2f}")])
    return [Row("exports per window", f"{finished}", f">= 0.95 x max {ceiling}", finished / ceiling)]


def _finished_exports(db: Path) -> int:
    from shared.ledger import Ledger, open_store
    from shared.ledger.record import State

    ledger = Ledger(open_store(f"sqlite:///{db}"))
    try:
        return sum(1 for r in ledger.scan("export/") if r.state is State.DONE)
    finally:
        ledger.close()


# -- backfill ------------------------------------------------------------------------------------------


def bench_backfill(sizes: Sizes, work: Path) -> list[Row]:
    """CR API calls of a backfill of n tags to 3 targets, against a bound derived from the design."""
    from shared.acr.planner import DEFAULT_START_BUDGET

    n_tags = sizes.backfill_tags
    targets = [("cri-bjtgt01", "cn-beijing"), ("cri-sgtgt01", "ap-southeast-1"), ("cri-shtgt01", "cn-shanghai")]
    policy = scene.ACR_POLICY_YAML.replace(
        "      - {instance_id: cri-sgtgt01, region: ap-southeast-1, namespace: mirror}\n",
        "      - {instance_id: cri-sgtgt01, region: ap-southeast-1, namespace: mirror}\n"
        "      - {instance_id: cri-shtgt01, region: cn-shanghai}\n")
    (work / "acr-policy.yml").write_text(policy)
    seed = scene.acr_seed(old_tags=n_tags)
    seed["acr_instances"].append({"region": "cn-shanghai", "instance_id": "cri-shtgt01", "name": "acr-sh",
                                  "specification": "Enterprise_Basic"})
    seed["acr_namespaces"].append({"instance_id": "cri-shtgt01", "name": "web"})
    ticks = 0
    with Emulator(port=0) as emu:
        os.environ.update({"IMAGE_RELAY_POLICY": str(work / "acr-policy.yml"), "IMAGE_RELAY_ENDPOINT": emu.url,
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
        calls = [c for c in emu.state.requests if c["service"] == "cr"]
    pairs = n_tags * len(targets)
    listing_pages = -(-pairs // 100)  # one paged ListRepoSyncTask listing per tick while work is in flight
    bound = pairs + n_tags + ticks * (listing_pages + 1) + 2 * (n_tags // 100 + 1) + 10
    _table(f"backfill: {n_tags} tags x {len(targets)} targets, paced {DEFAULT_START_BUDGET} starts per invocation",
           ("CR API calls", "per (tag, target)", "reconcile ticks", "bound"),
           [(len(calls), f"{len(calls) / pairs:.2f}", ticks, bound)])
    return [Row("backfill CR calls", f"{len(calls)}", f"<= bound {bound}", len(calls) / bound)]


# -- a tick at scale -----------------------------------------------------------------------------------


def bench_tick(sizes: Sizes) -> list[Row]:
    """A steady reconcile tick over n copies in 20 regions against the emulator, with one parse per listing
    answer and with the SDK model round trip it replaced (issue #16 item 3): same code, same world, ticks
    alternated, medians (scripts/bench_scale.tick_time says what is measured). The emulator runs in its own
    process; its CPU per tick is shown, never counted. The ratio is on the function process's CPU seconds
    (steadier than wall on a shared machine); both walls are shown beside it."""
    from scripts.bench_scale import planning_time, tick_time

    plan = planning_time(n_copies=sizes.tick_images * sizes.tick_regions, n_regions=sizes.tick_regions)
    tick = tick_time(n_images=sizes.tick_images, n_regions=sizes.tick_regions, rounds=sizes.tick_rounds,
                     reset=_reset)
    after, before = tick["after"], tick["before"]
    _table(f"a steady reconcile tick at scale (median of {tick['ticks']} each, alternated; emulator in its own "
           "process)", ("tracked copies", "regions", "pure planning (s)", "listing", "listing calls", "wall (s)",
                        "function CPU (s)", "listing client CPU (s)", "emulator CPU (s)"),
           [(tick["copies"], tick["regions"], f"{plan['plan_s']:.2f}", "one parse (after)",
             f"{after['listing_calls']:.0f}", f"{after['wall_s']:.2f}", f"{after['cpu_s']:.2f}",
             f"{after['listing_cpu_s']:.3f}", f"{after['server_cpu_s']:.2f}"),
            ("", "", "", "SDK models + to_map (before)", f"{before['listing_calls']:.0f}", f"{before['wall_s']:.2f}",
             f"{before['cpu_s']:.2f}", f"{before['listing_cpu_s']:.3f}", f"{before['server_cpu_s']:.2f}")])
    console.print(f"first tick (records {tick['copies']} intents, starts what the limits allow): "
                  f"{tick['first_tick_s']:.1f} s wall; FC timeout 600 s.")
    return [Row(f"tick time, {tick['copies']} copies (function CPU s)",
                f"{after['cpu_s']:.2f} ({after['wall_s']:.2f} wall)",
                f"<= 0.5 x before {before['cpu_s']:.2f} ({before['wall_s']:.2f} wall): same run, models + to_map",
                after["cpu_s"] / before["cpu_s"])]


# -- Image Builder builds ------------------------------------------------------------------------------


def bench_builds(sizes: Sizes, work: Path) -> list[Row]:
    """API calls of a reconcile tick (the handler, timer event in) that follows n running builds of one region
    (issue #14): one DescribeImagePipelineExecutions per 100 running builds (its ExecutionId list; 500 a page),
    never one call per build. The policy has only the n build rules, so every call of the tick is the builds'."""
    import math

    from shared.clouds.ecs_pipelines import EXECUTION_ID_BATCH

    n, region = sizes.running_builds, "cn-hangzhou"
    (work / "builds-policy.yml").write_text("build_rules:\n" + "".join(
        f"  - {{name: b{i}, pipeline: {{region: {region}, id: ip-{i}}}, cron: '* * * * *'}}\n" for i in range(n)))
    with Emulator(port=0) as emu:
        os.environ.update({"IMAGE_RELAY_POLICY": str(work / "builds-policy.yml"), "IMAGE_RELAY_ENDPOINT": emu.url,
                           "IMAGE_RELAY_STATE": f"sqlite:///{work / 'builds.db'}"})
        _reset()
        emu.control.seed({
            "images": [{"region": region, "image_id": "m-base"}],
            "image_pipelines": [{"region": region, "pipeline_id": f"ip-{i}", "name": f"tpl-{i}", "base_image": "m-base"}
                                for i in range(n)]})

        def tick() -> list[dict[str, Any]]:
            before = len(emu.control.requests())
            at = dt.datetime.fromtimestamp(emu.control.clock()["epoch"], tz=dt.timezone.utc)
            invoke("reconcile", scene.timer_event(at.strftime("%Y-%m-%dT%H:%M:%SZ")))
            return emu.control.requests()[before:]

        started = sum(1 for c in tick() if c["action"] == "StartImagePipelineExecution" and c["status"] == 200)
        emu.control.advance(130)  # every build moves to BUILDING; the next minute's slots wait (template busy)
        calls = tick()
    listings = sum(1 for c in calls if c["action"] == "DescribeImagePipelineExecutions")
    goal = math.ceil(n / EXECUTION_ID_BATCH)
    _table(f"reconcile following {n} running builds of one region", ("running builds", "API calls of the tick",
           "of which DescribeImagePipelineExecutions", "goal"), [(started, len(calls), listings, goal)])
    return [Row(f"reconcile API calls, {n} running builds in one region", str(len(calls)),
                f"<= {goal} (one listing per 100 builds)", len(calls) / goal)]


# -- the ledger on OSS ---------------------------------------------------------------------------------


def bench_ledger(sizes: Sizes, work: Path) -> list[Row]:
    """OSS requests of one steady reconcile tick with n finished and m active copy records."""
    from scripts.bench_scale import ledger_requests

    led = ledger_requests(n_finished=sizes.ledger_finished, n_active_images=sizes.ledger_active_images,
                          reset=_reset)
    const = 20
    goal = 1.2 * led["active"] + const
    _table(f"ledger on OSS: one steady reconcile tick, {led['finished']} finished + {led['active']} active records",
           ("OSS requests", "by action", "ECS calls", "goal"),
           [(led["oss_requests"], ", ".join(f"{k} {v}" for k, v in sorted(led["by_action"].items())),
             led["ecs_calls"], f"{goal:.0f}")])
    return [Row("ledger requests per tick (OSS)", f"{led['oss_requests']}",
                f"<= 1.2 x {led['active']} active + {const}", led["oss_requests"] / goal)]


# -- main ----------------------------------------------------------------------------------------------


def summary(rows: list[Row]) -> None:
    """The one table scripts read: figure | value | goal | ratio."""
    table = Table(title="image-relay bench: figures against goals", title_justify="left")
    for column in ("figure", "value", "goal", "ratio"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.figure, row.value, row.goal, f"{row.ratio:.2f}")
    console.print(table)


def main(argv: list[str] | None = None) -> None:
    from shared.logs import configure_logging

    parser = argparse.ArgumentParser(prog="python -m scripts.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, every section (run by make test)")
    parser.add_argument("--log", type=Path, help="where function logs go (default: a temporary file)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    work = Path(tempfile.mkdtemp(prefix="image-relay-bench-"))
    log = args.log or work / "bench.log"
    with open(log, "a", encoding="utf-8") as stream:
        configure_logging(stream=stream)
        rows: list[Row] = []
        sections: list[tuple[str, Callable[[], list[Row]]]] = [
            ("makespan", lambda: bench_makespan(sizes)),
            ("exports", lambda: bench_exports(sizes, work)),
            ("tick", lambda: bench_tick(sizes)),
            ("builds", lambda: bench_builds(sizes, work)),
            ("ledger", lambda: bench_ledger(sizes, work)),
            ("backfill", lambda: bench_backfill(sizes, work)),
            ("cold start", lambda: bench_cold_start(sizes, work, log)),
        ]
        # a bar on a terminal (issue #15): the full bench runs for minutes
        with progress("bench sections", total=len(sections)) as advance:
            for name, section in sections:
                rows += section()
                advance(name)
    console.print(f"function logs: {log}")
    summary(rows)


if __name__ == "__main__":
    main()
