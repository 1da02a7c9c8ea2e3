"""Scale figures for `make bench`: copy makespan under the per-region limit, and planning time.

Makespan: 500 images copied to 10 regions with `copy_limits.per_region` 5, reconcile every 5 virtual
minutes, against the lower bound: the largest total copy time any one region must carry at that
limit (sum of sizes / (rate x limit); every region receives every image here).
Planning: the pure planner over 10,000 tracked copies in 20 destination regions (no I/O).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from emulator import Emulator
from scripts import sample_world as scene
from scripts.invoke import invoke

REGIONS = ["cn-beijing", "cn-shanghai", "cn-shenzhen", "cn-zhangjiakou", "cn-hongkong", "ap-southeast-1",
           "ap-southeast-5", "ap-northeast-1", "eu-central-1", "us-west-1"]


def makespan(n_images: int = 500, n_regions: int = 10, limit: int = 5, gib_per_minute: float = 20.0,
             wakeups: bool = True, reset: object = None) -> dict[str, float]:
    """Virtual minutes until every copy is Available, the lower bound, and the API calls of the run.

    The whole deployment runs on the emulator (`LocalCloud`: FC functions, template timers every 5 min);
    with `wakeups`, reconcile also wakes itself at each region's expected copy end. The driver moves the
    virtual clock straight to the next moment something fires (a timer or a delayed invocation) and
    waits for the invocations to finish, so the figure does not depend on the machine's speed."""
    from scripts.local import LocalCloud
    from shared.ledger import Ledger, open_store
    from shared.ledger.record import State

    rng = random.Random(7)
    sizes = [rng.choice((20, 40, 40, 80, 100, 200)) for _ in range(n_images)]
    regions = REGIONS[:n_regions]
    work = Path(tempfile.mkdtemp(prefix="image-relay-bench-ms-"))
    policy = ("copy_rules:\n  - name: fleet\n    source_regions: [cn-hangzhou]\n"
              f"    target_regions: [{', '.join(regions)}]\n"
              f"copy_limits: {{per_region: {limit}}}\n")
    (work / "policy.yml").write_text(policy)
    state = f"sqlite:///{work / 'ms.db'}"
    saved = os.environ.get("IMAGE_RELAY_WAKEUPS")
    os.environ["IMAGE_RELAY_WAKEUPS"] = "true" if wakeups else "false"
    started = time.perf_counter()
    try:
        with LocalCloud(policy=work / "policy.yml", state=state) as cloud:
            emu = cloud.emulator
            emu.control.seed({"regions": ["cn-hangzhou", *regions], "images": [
                {"region": "cn-hangzhou", "image_id": f"m-bp1ms{i:06d}", "name": f"img-{i:06d}", "size_gib": size}
                for i, size in enumerate(sizes)]})
            emu.control.configure(copy_slots=limit, copy_gib_per_minute=gib_per_minute, image_quota=100000)
            ledger = Ledger(open_store(state))
            first = cloud.advance_to_next_event()
            now = first
            while True:
                records = list(ledger.by_state("copy/"))
                if records and all(r.state is State.DONE for r in records):
                    break
                now = cloud.advance_to_next_event()
                if now - first > 100 * 24 * 3600:
                    raise SystemExit("bench: makespan did not converge")
            requests = list(emu.state.requests)
            invocations = sum(1 for r in requests if r["service"] == "fc" and r["action"] == "InvokeFunction")
            timers = len(cloud.router.deliveries) if cloud.router is not None else 0
    finally:
        if saved is None:
            os.environ.pop("IMAGE_RELAY_WAKEUPS", None)
        else:
            os.environ["IMAGE_RELAY_WAKEUPS"] = saved
        if callable(reset):
            reset()
    minutes = (now - first) / 60
    bound = max(sum(sizes) / gib_per_minute / limit, max(sizes) / gib_per_minute)
    return {"images": n_images, "regions": len(regions), "makespan_min": minutes, "bound_min": bound,
            "ratio": minutes / bound, "wall_s": time.perf_counter() - started, "wakes": invocations,
            "timer_deliveries": timers, "api_calls": sum(1 for r in requests if r["service"] == "ecs")}


def planning_time(n_copies: int = 10_000, n_regions: int = 20) -> dict[str, float]:
    """Seconds the pure planner needs for one tick over `n_copies` tracked copies."""
    from emulator.core.regions import CATALOG
    from shared.clouds.ecs_types import Image
    from shared.entry import collector_paused
    from shared.ledger.record import Record, State
    from shared.policy import load_policy
    from shared.replication.executor import new_record
    from shared.replication.planner import Observed, plan_tick
    from shared.replication.queue import queue_view
    from shared.replication.targets import targets_for

    regions = [r for r in CATALOG if r != "cn-hangzhou"][:n_regions]
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
    with collector_paused():  # as inside a function (shared/entry.py): the figure is the planner's, not the GC's
        started = time.perf_counter()
        actions = plan_tick(records, observed, policy, now)
        plan_s = time.perf_counter() - started
        started = time.perf_counter()
        queue = queue_view(records, policy, now)
        queue_s = time.perf_counter() - started
    return {"copies": len(records), "regions": n_regions, "actions": len(actions), "plan_s": plan_s,
            "queued": len(queue), "queue_view_s": queue_s}


def tick_time(n_images: int = 500, n_regions: int = 20, rounds: int = 3, reset: object = None) -> dict[str, Any]:
    """A steady reconcile tick over n_images x n_regions tracked copies, with the listing answers parsed once
    (issue #16, item 3) and with the SDK model round trip it replaced, measured alternately in one run.

    What is measured, and why so:
    - The emulator runs in its own process (`python -m emulator`): in-process, its server threads would
      share the function's interpreter lock and its work would count as the function's. Its CPU seconds
      per tick (from /proc, Linux) are reported beside the figures, never inside them.
    - "before" is the same code with the gateways' `RAW_METHODS` emptied: DescribeImages, DescribeSnapshots,
      DescribeTasks and ListRepoSyncTask answers built into the SDK's response models (`from_map`) and
      turned back into dicts (`to_map`), as before the change. Every other change is in both figures.
    - Both run on one seeded world: the first tick records the 10,000 intents and starts what the limits
      allow, a second one records the copies' Progress once; after it every tick does the same work (the
      copies' Progress stays put), so `rounds` pairs of ticks are taken in the order before/after,
      after/before, ... and each figure is the median of its ticks.
    - Per tick: wall seconds, the function process's CPU seconds (its threads included, the emulator's not:
      steadier than wall on a busy machine) and the listing calls' own client CPU seconds (`RpcGateway._call`
      of the raw methods, per thread), which is what the parse change can change.
    """
    from emulator.core.regions import CATALOG

    regions = [r for r in CATALOG if r != "cn-hangzhou"][:n_regions]
    work = Path(tempfile.mkdtemp(prefix="image-relay-bench-tick-"))
    # Every copy is tracked; per_region 50 (the policy's most) start and run slowly (their Progress stays put
    # between ticks), the rest stay queued: a steady tick reads every active record, lists the source region
    # (the sweep) and describes the running copies of each region by ImageId, and has nothing to write.
    policy = ("copy_rules:\n  - name: fleet\n    source_regions: [cn-hangzhou]\n"
              f"    target_regions: [{', '.join(regions)}]\ncopy_limits: {{per_region: {min(n_images, 50)}}}\n")
    (work / "policy.yml").write_text(policy)
    samples: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    with _emulator_process() as (url, server_cpu):
        from emulator import EmulatorControl

        control = EmulatorControl(url)
        os.environ.update({"IMAGE_RELAY_POLICY": str(work / "policy.yml"), "IMAGE_RELAY_ENDPOINT": url,
                           "IMAGE_RELAY_STATE": f"sqlite:///{work / 'tick.db'}"})
        if callable(reset):
            reset()
        control.seed({"images": [{"region": "cn-hangzhou", "image_id": f"m-bp1tk{i:06d}",
                                  "name": f"img-{i:06d}", "size_gib": 40} for i in range(n_images)]})
        control.configure(image_quota=100000, copy_slots=n_images, copy_gib_per_minute=0.01)
        first = _one_tick(control, server_cpu, one_parse=True)
        _one_tick(control, server_cpu, one_parse=True)  # records every copy's Progress once
        for n in range(rounds):
            for one_parse in ((False, True) if n % 2 == 0 else (True, False)):
                samples[one_parse].append(_one_tick(control, server_cpu, one_parse=one_parse))
    after, before = _medians(samples[True]), _medians(samples[False])
    return {"copies": n_images * len(regions), "regions": len(regions), "first_tick_s": first["wall_s"],
            "after": after, "before": before, "ticks": rounds}


def _one_tick(control: Any, server_cpu: Any, *, one_parse: bool) -> dict[str, float]:
    """One reconcile tick (the handler, a timer event in), then the virtual clock 5 minutes on."""
    from shared.clouds.acr import AcrGateway
    from shared.clouds.ecs import EcsGateway

    saved = EcsGateway.RAW_METHODS, AcrGateway.RAW_METHODS
    if not one_parse:
        EcsGateway.RAW_METHODS = AcrGateway.RAW_METHODS = frozenset()
    listing = _ListingClock(saved[0] | saved[1])
    try:
        with listing:
            server, cpu, wall = server_cpu(), time.process_time(), time.perf_counter()
            invoke("reconcile", scene.timer_event())
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            server = server_cpu() - server
    finally:
        EcsGateway.RAW_METHODS, AcrGateway.RAW_METHODS = saved
    control.advance(300)
    return {"wall_s": wall, "cpu_s": cpu, "server_cpu_s": server, "listing_cpu_s": listing.seconds,
            "listing_calls": listing.calls}


class _ListingClock:
    """Client CPU seconds (per thread) and count of the listing calls, `RpcGateway._call` wrapped while active."""

    def __init__(self, methods: frozenset[str]) -> None:
        self.methods, self.seconds, self.calls = methods, 0.0, 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        from shared.clouds._gateway import RpcGateway

        self._original = original = RpcGateway._call
        clock = self

        def timed(gateway: Any, region: str, method: str, request: Any, **kw: Any) -> dict[str, Any]:
            if method not in clock.methods:
                return original(gateway, region, method, request, **kw)
            started = time.thread_time()
            try:
                return original(gateway, region, method, request, **kw)
            finally:
                with clock._lock:
                    clock.seconds += time.thread_time() - started
                    clock.calls += 1

        setattr(RpcGateway, "_call", timed)  # noqa: B010 - a bench-only wrapper, undone on exit

    def __exit__(self, *exc: object) -> None:
        from shared.clouds._gateway import RpcGateway

        setattr(RpcGateway, "_call", self._original)  # noqa: B010


def _medians(samples: list[dict[str, float]]) -> dict[str, float]:
    return {name: statistics.median(s[name] for s in samples) for name in samples[0]}


@contextlib.contextmanager
def _emulator_process() -> Iterator[tuple[str, Callable[[], float]]]:
    """`python -m emulator --port 0` in its own process: (its URL, a reader of its CPU seconds so far; 0.0
    where /proc is missing)."""
    process = subprocess.Popen([sys.executable, "-m", "emulator", "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]  # "emulator listening on http://HOST:PORT"

        def cpu_seconds() -> float:
            try:
                fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return 0.0
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

        yield url, cpu_seconds
    finally:
        process.terminate()
        process.wait(10)


class _InProcessObjects:
    """The ledger store's four object calls straight on the emulator's OSS backend (seeding only:
    10,000 records through HTTP would take minutes and measure nothing)."""

    def __init__(self, emu: Emulator) -> None:
        from emulator.oss.urls import OssService

        self.backend = next(s for s in emu.services if isinstance(s, OssService)).backend

    def put_if_absent(self, region: str, bucket: str, key: str, body: bytes, content_type: str = "",
                      metadata: object = None) -> bool:
        if self.backend.exists(bucket, key):
            return False
        self.backend.put_object(bucket, key, body)
        return True

    def get(self, region: str, bucket: str, key: str) -> bytes | None:
        return self.backend.get(bucket, key).body if self.backend.exists(bucket, key) else None

    def delete(self, region: str, bucket: str, key: str) -> None:
        self.backend.delete(bucket, key)

    def iter_objects(self, region: str, bucket: str, prefix: str, delimiter: str = "") -> Iterator[Any]:
        from shared.clouds.oss_types import ObjectInfo, from_epoch

        listing = self.backend.list_objects(bucket, prefix, delimiter, "", 10**9)
        for obj in listing.objects:
            yield ObjectInfo(key=obj.key, size=obj.size, etag=obj.etag, last_modified=from_epoch(obj.last_modified))


def ledger_requests(n_finished: int = 10_000, n_active_images: int = 100, n_regions: int = 10,
                    reset: object = None) -> dict[str, Any]:
    """OSS requests of one steady reconcile tick on the OSS ledger: `n_finished` DONE copy records from
    the past, `n_active_images` x `n_regions` copies queued or running (per_region 5, sizes that keep them
    running). The first tick records and starts them; the second, a minute later, is measured."""
    from shared.ledger import Ledger
    from shared.ledger.record import Record, State, copy_key
    from shared.ledger.store.oss import OssStore

    regions = REGIONS[:n_regions]
    work = Path(tempfile.mkdtemp(prefix="image-relay-bench-ledger-"))
    policy = ("copy_rules:\n  - name: fleet\n    source_regions: [cn-hangzhou]\n"
              f"    target_regions: [{', '.join(regions)}]\ncopy_limits: {{per_region: 5}}\n")
    (work / "policy.yml").write_text(policy)
    bucket, prefix = "relay-ledger-bench", "ledger"
    with Emulator(port=0) as emu:
        os.environ.update({"IMAGE_RELAY_POLICY": str(work / "policy.yml"), "IMAGE_RELAY_ENDPOINT": emu.url,
                           "IMAGE_RELAY_STATE": f"oss://{bucket}/{prefix}?region=cn-hangzhou",
                           # the OSS store reads credentials from the environment, as on FC
                           "ALIBABA_CLOUD_ACCESS_KEY_ID": "test-ak", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "test-secret"})
        if callable(reset):
            reset()
        emu.control.seed({"regions": ["cn-hangzhou", *regions],
                          "buckets": [{"region": "cn-hangzhou", "name": bucket}],
                          "images": [{"region": "cn-hangzhou", "image_id": f"m-bp1la{i:06d}", "name": f"img-{i:06d}",
                                      "size_gib": 2000} for i in range(n_active_images)]})
        emu.control.configure(copy_slots=5, copy_gib_per_minute=1.0, image_quota=100000)
        seeder = Ledger(OssStore(_InProcessObjects(emu), bucket, prefix))
        for i in range(n_finished):
            key = copy_key("cn-hangzhou", f"m-bp1old{i:06d}", regions[i % len(regions)])
            target = {"key": key, "rule": "fleet", "source_region": "cn-hangzhou", "image_id": f"m-bp1old{i:06d}",
                      "source_name": f"old-{i:06d}", "target_region": regions[i % len(regions)],
                      "name": f"old-{i:06d}", "description": ""}
            record, _ = seeder.ensure(Record(key=key, kind="copy", data={"target": target}))
            record = seeder.transition(key, record, state=State.STARTED, cloud_id=f"m-old{i:06d}")
            seeder.transition(key, record, state=State.DONE)
        invoke("reconcile", scene.timer_event())
        emu.control.advance(60)
        before = len(emu.state.requests)
        summary = json.loads(invoke("reconcile", scene.timer_event()))
        tick = emu.state.requests[before:]
    for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"):
        os.environ.pop(name, None)
    oss = [r for r in tick if r["service"] == "oss"]
    by_action: dict[str, int] = {}
    for r in oss:
        by_action[str(r["action"])] = by_action.get(str(r["action"]), 0) + 1
    return {"finished": n_finished, "active": n_active_images * len(regions), "oss_requests": len(oss),
            "by_action": by_action, "ecs_calls": sum(1 for r in tick if r["service"] == "ecs"),
            "records": summary["records"]}
