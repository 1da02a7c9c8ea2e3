"""The fault-injection suite: seeded runs that prove the design's invariants when things go wrong.

`python -m scripts.chaos --seed S --runs N` (or `make chaos` with CHAOS_SEED / CHAOS_RUNS). Each run
derives its own seed from (S, run index), draws a scenario from it (images in several source regions,
large and small, some still Creating; ACR pushes; an export rule with a window; TemplateScratch-
leftovers with a cleanup section), then delivers its events late, out of order, two or three times and
some concurrently, under throttling/5xx (up to 30 % each), latency, lost responses, function instances
that die after a random number of API calls (then the platform's retry) and ledger-store write failures.
Then the faults stop, ticks run until nothing changes, and `check_invariants` looks at the emulator
(request log, DescribeImages, DescribeTasks, ListRepoSyncTask) and the ledger. A failing run prints its
seed and a one-line replay command; the report is a table; the exit status is 1 on any violation.

Everything runs in-process: one shared `Emulator(port=0)` reset per run, a fresh `memory://` ledger per
run, the handlers called through `scripts.invoke` exactly as the functional tests do.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

UTC = dt.timezone.utc
ACCOUNT_ID = "1234567890123456"
OTHER_ACCOUNT = "9999888877776666"
SOURCES = ("cn-hangzhou", "cn-shanghai")
TARGETS = ("cn-beijing", "ap-southeast-1")
REGIONS = (*SOURCES, *TARGETS)
EXPORT_REGION = "cn-hangzhou"
EXPORT_BUCKET = "relay-chaos-hz"
ACR_SOURCE = "cri-hzsrc01"
ACR_TARGETS = (("cri-bjtgt01", "cn-beijing", "web"), ("cri-sgtgt01", "ap-southeast-1", "mirror"))
ACR_TAGS = ("v1.0.0", "v1.1.0", "v2.0.0", "v2.1.0-rc1", "latest", "v3.0.0")
ACR_INCLUDE = r"^v\d+\.\d+\.\d+"
ACR_EXCLUDE = "-rc"
KEY_ID = "LTAIchaosKeyId0001"
EVENT_FUNCTIONS = frozenset({"image_created", "acr_push"})
FAULT_CODES = frozenset({"Throttling.User", "ServiceUnavailable", "InternalError"})
#: actions whose lost response (the action ran, the caller saw a 503) the design says is healed: by a
#: ClientToken (CopyImage, CopySnapshot, CreateImage), by adopting the running task (ExportImage), or by
#: not retrying and looking up the task first (CreateRepoSyncTask; found by this suite, fixed).
LOST_RESPONSE_ACTIONS = ("CopyImage", "CopySnapshot", "CreateImage", "ExportImage", "CreateRepoSyncTask")
#: faults of bugs found but not yet fixed, injected only with --strict (none open today)
KNOWN_ISSUE_ACTIONS: tuple[str, ...] = ()
#: Prefix of a violation that is a known, still-open bug: reported, counted apart, fatal only with --strict.
KNOWN_ISSUE = "known issue:"
ADAPTER_MODULES = ("shared.clouds._retry", "shared.clouds._gateway", "shared.clouds.ecs", "shared.clouds.acr",
                   "shared.clouds.oss", "shared.clouds.fc")
SETTLE_STEP_SECONDS = 600
MAX_SETTLE_TICKS = 40
PLATFORM_RETRIES = 3


class SimulatedCrash(BaseException):  # noqa: N818 - it is not an error of ours, it is FC killing the instance
    """The function instance died mid-invocation (FC timeout, OOM, host loss): nothing below may catch it."""


# ---------------------------------------------------------------------------------------------------------
# Scenario
# ---------------------------------------------------------------------------------------------------------


@dataclass
class ImageSpec:
    """One source image of the scenario and what the policy should do with it."""

    region: str
    image_id: str
    name: str
    size_gib: int
    creating: bool = False
    ready_after: int = 0
    windows: bool = False

    @property
    def copied(self) -> bool:
        return self.name.startswith("app-")

    @property
    def large(self) -> bool:
        return self.size_gib > 2048

    @property
    def exported(self) -> bool:
        return self.region == EXPORT_REGION and self.name.startswith("app-web-")


@dataclass
class ScratchSpec:
    """A TemplateScratch- leftover; only `old` ones may ever be deleted."""

    region: str
    image_id: str
    kind: str  # old | in_use | young | shared | foreign | creating

    @property
    def deletable(self) -> bool:
        return self.kind == "old"


@dataclass
class Scenario:
    """Everything a run does, drawn from its seed (`draw`); tests may edit it before `run_scenario`."""

    seed: int
    images: list[ImageSpec]
    scratch: list[ScratchSpec]
    acr_tags: list[str]
    export_rule: bool
    throttle_rate: float
    error_rate: float
    latency_ms: int
    lost_response_rate: float
    crash_rate: float
    crash_max_calls: int
    store_fail_rate: float
    min_deliveries: int
    max_deliveries: int
    concurrency: float
    create_image_fail_rate: float
    ticks_during_chaos: int

    def knobs(self) -> dict[str, Any]:
        """The drawn numbers, for the report and for a person replaying a run."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in ("images", "scratch", "acr_tags")}


def run_seed(seed: int, index: int) -> int:
    """The seed of run `index` of a suite started with `seed` (stable across Python versions)."""
    digest = hashlib.sha256(f"image-relay-chaos/{seed}/{index}".encode()).digest()
    return int.from_bytes(digest[:6], "big")


def draw(seed: int) -> Scenario:
    """Draw a scenario from `seed`."""
    rng = random.Random(seed)
    images: list[ImageSpec] = []
    large = 0
    for i in range(rng.randint(2, 6)):
        region = rng.choice(SOURCES)
        roll = rng.random()
        if roll < 0.15:
            name, size = f"db-mysql-{i}", rng.randint(20, 200)          # matches no rule
        elif roll < 0.35 and large < 2:
            name, size = f"app-big-{i}", rng.randint(2100, 2600)        # the snapshot path
            large += 1
        else:
            name, size = f"app-web-{i}", rng.randint(20, 300)
        creating = rng.random() < 0.3
        images.append(ImageSpec(region=region, image_id=f"m-chaos{i:05d}", name=name, size_gib=size,
                                creating=creating, ready_after=rng.randint(60, 1500) if creating else 0,
                                windows=name.startswith("app-web-") and rng.random() < 0.15))
    kinds = ("old", "old", "in_use", "young", "shared", "foreign", "creating")
    scratch = [ScratchSpec(region=rng.choice(REGIONS), image_id=f"m-scratch{i:04d}", kind=rng.choice(kinds))
               for i in range(rng.randint(0, 5))]
    acr_tags = rng.sample(ACR_TAGS, rng.randint(0, 3)) if rng.random() < 0.7 else []
    return Scenario(
        seed=seed,
        images=images,
        scratch=scratch,
        acr_tags=acr_tags,
        export_rule=rng.random() < 0.6,
        throttle_rate=round(rng.uniform(0, 0.3), 3),
        error_rate=round(rng.uniform(0, 0.3), 3),
        latency_ms=rng.choice((0, 0, 1, 3)),
        lost_response_rate=round(rng.uniform(0, 0.3), 3),
        crash_rate=round(rng.uniform(0, 0.4), 3),
        crash_max_calls=rng.randint(1, 12),
        store_fail_rate=round(rng.uniform(0, 0.15), 3),
        min_deliveries=1,
        max_deliveries=rng.randint(2, 3),
        concurrency=round(rng.uniform(0, 0.5), 3),
        create_image_fail_rate=rng.choice((0.0, 0.0, 0.2)),
        ticks_during_chaos=rng.randint(1, 4),
    )


# ---------------------------------------------------------------------------------------------------------
# Policy, seed and events
# ---------------------------------------------------------------------------------------------------------


def policy_yaml(sc: Scenario, now: dt.datetime) -> str:
    """The run's policy; the export window opens 30 minutes before the run's start and lasts 12 hours."""
    start = (now - dt.timedelta(minutes=30)).strftime("%H:%M")
    end = (now + dt.timedelta(hours=11, minutes=30)).strftime("%H:%M")
    text = f"""\
copy_rules:
  - name: web
    source_regions: [{", ".join(SOURCES)}]
    match: {{name_regex: "^app-"}}
    target_regions: [{", ".join(TARGETS)}]
    encrypt: {{ap-southeast-1: key-sg-1}}
    name_template: "{{name}}-{{target_region}}"
copy_limits: {{per_region: 5, large_image_gib: 1024, large_per_region: 1, gib_per_minute: 100}}
windows:
  - {{name: chaos, start: "{start}", end: "{end}", timezone: UTC}}
cleanup:
  regions: [{", ".join(REGIONS)}]
  template_scratch: {{min_age_hours: 24}}
  retention: {{keep_newest: 3, grace_days: 7}}
  max_deletions: 20
  max_share: 1.0
"""
    if sc.export_rule:
        text += f"""\
export_rules:
  - name: archive
    source_regions: [{EXPORT_REGION}]
    match: {{name_regex: "^app-web-"}}
    bucket: {{{EXPORT_REGION}: {EXPORT_BUCKET}}}
    oss_prefix: archive
    format: qcow2
    window: chaos
    max_concurrent: 2
"""
    if sc.acr_tags:
        targets = "\n".join(
            f"      - {{instance_id: {inst}, region: {region}"
            + (f", namespace: {ns}" if ns != "web" else "") + "}"
            for inst, region, ns in ACR_TARGETS)
        text += f"""\
acr_rules:
  - name: web
    source: {{instance_id: {ACR_SOURCE}, region: cn-hangzhou}}
    namespaces: [web]
    repositories: [frontend]
    tags: {{include: '{ACR_INCLUDE}', exclude: '{ACR_EXCLUDE}'}}
    targets:
{targets}
    override: false
"""
    return text


def emulator_seed(sc: Scenario, now: dt.datetime, secret: str) -> dict[str, Any]:
    """The emulator world of the scenario."""
    def iso(at: dt.datetime) -> str:
        return at.strftime("%Y-%m-%dT%H:%M:%SZ")

    images: list[dict[str, Any]] = []
    for im in sc.images:
        entry: dict[str, Any] = {"region": im.region, "image_id": im.image_id, "name": im.name,
                                 "size_gib": im.size_gib, "tags": {"team": "web"}, "creation_time": iso(now)}
        if im.creating:
            entry.update(status="Creating", ready_after_seconds=im.ready_after)
        if im.windows:
            entry.update(os_type="windows", platform="Windows Server 2022")
        images.append(entry)
    instances: list[dict[str, Any]] = []
    for s in sc.scratch:
        entry = {"region": s.region, "image_id": s.image_id, "name": f"TemplateScratch-{s.image_id}",
                 "size_gib": 40, "creation_time": iso(now - dt.timedelta(hours=1 if s.kind == "young" else 72))}
        if s.kind == "in_use":
            instances.append({"region": s.region, "instance_id": f"i-chaos{s.image_id[-4:]}", "image_id": s.image_id})
        elif s.kind == "shared":
            entry["shared_with"] = ["2222333344445555"]
        elif s.kind == "foreign":
            entry.update(owner_alias="others", owner_id=OTHER_ACCOUNT)
        elif s.kind == "creating":
            entry.update(status="Creating", ready_after_seconds=30 * 86400)
        images.append(entry)
    seed: dict[str, Any] = {
        "account_id": ACCOUNT_ID,
        "regions": list(REGIONS),
        "access_keys": [{"id": KEY_ID, "secret": secret}],
        "images": images,
        "instances": instances,
        "kms_keys": [{"region": "ap-southeast-1", "key_id": "key-sg-1"}],
        "buckets": [{"region": EXPORT_REGION, "name": EXPORT_BUCKET}],
    }
    if sc.acr_tags:
        seed.update(
            acr_instances=[{"region": "cn-hangzhou", "instance_id": ACR_SOURCE, "name": "acr-hz",
                            "specification": "Enterprise_Advanced"},
                           *({"region": region, "instance_id": inst, "name": f"acr-{inst[4:6]}",
                              "specification": "Enterprise_Standard"} for inst, region, _ in ACR_TARGETS)],
            acr_namespaces=[{"instance_id": inst, "name": ns} for inst, _, ns in ACR_TARGETS],
            acr_repos=[{"instance_id": ACR_SOURCE, "namespace": "web", "name": "frontend"}],
        )
    return seed


def image_event(im: ImageSpec, event_id: str) -> bytes:
    """ActionTrail CreateImage through EventBridge."""
    from scripts.demo_scene import create_image_event

    return create_image_event(im.region, im.image_id, im.name, event_id=event_id)


def timer(at: dt.datetime, name: str, payload: str = "") -> bytes:
    return json.dumps({"triggerTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "triggerName": name,
                       "payload": payload}).encode()


# ---------------------------------------------------------------------------------------------------------
# Fault injection: crashes (around call_with_retry), ledger-store write failures, a virtual app clock
# ---------------------------------------------------------------------------------------------------------


class Crasher:
    """Wraps `call_with_retry`: an invocation given a budget of N calls dies at the (N+1)th, or right
    after the Nth returned (the call ran, its answer is lost with the instance)."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.lock = threading.Lock()
        self.crashes = 0

    def arm(self, budget: int | None, after: bool = False) -> None:
        self.local.budget = budget
        self.local.after = after

    def wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def call_with_retry(fn: Callable[[], Any], policy: Any, deadline: Any = None, **options: Any) -> Any:
            budget = getattr(self.local, "budget", None)
            if budget is None:
                return original(fn, policy, deadline, **options)
            if budget <= 0:
                self._die()
            self.local.budget = budget - 1
            result = original(fn, policy, deadline, **options)
            if budget == 1 and getattr(self.local, "after", False):
                self._die()
            return result

        return call_with_retry

    def _die(self) -> None:
        self.local.budget = None
        with self.lock:
            self.crashes += 1
        raise SimulatedCrash("function instance killed")


class FlakyStore:
    """A ledger store whose `create`/`replace` raise `LedgerStoreError` at `rate` (before writing)."""

    def __init__(self, inner: Any, seed: int) -> None:
        self.inner = inner
        self.rate = 0.0
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.failures = 0

    def _maybe_fail(self, what: str) -> None:
        from shared.errors import LedgerStoreError

        with self.lock:
            fail = self.rate > 0 and self.rng.random() < self.rate
            if fail:
                self.failures += 1
        if fail:
            raise LedgerStoreError(f"injected: ledger {what} failed")

    def create(self, record: Any) -> bool:
        self._maybe_fail("create")
        return bool(self.inner.create(record))

    def replace(self, record: Any, expected_version: int) -> Any:
        self._maybe_fail("replace")
        return self.inner.replace(record, expected_version)

    def get(self, key: str) -> Any:
        return self.inner.get(key)

    def scan(self, prefix: str) -> Iterator[Any]:
        return self.inner.scan(prefix)

    def close(self) -> None:
        self.inner.close()


class Patches:
    """setattr with undo, so one process can run many runs (and pytest's monkeypatch is not needed)."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []

    def set(self, target: Any, name: str, value: Any) -> None:
        self._undo.append((target, name, getattr(target, name)))
        setattr(target, name, value)

    def undo(self) -> None:
        while self._undo:
            target, name, value = self._undo.pop()
            setattr(target, name, value)


def _shifted_utcnow() -> dt.datetime:
    # Compiled here, run with shared.ledger.record's globals (its __code__ replaces utcnow's): the app's
    # clock follows the emulator's virtual clock, so leases and backoffs lapse in virtual time.
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=CHAOS_CLOCK_OFFSET)  # type: ignore[name-defined] # noqa: F821


# ---------------------------------------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    """What one run did and found."""

    seed: int
    events: int = 0
    deliveries: int = 0
    faults: int = 0
    store_failures: int = 0
    crashes: int = 0
    failed_invocations: int = 0
    api_calls: int = 0
    settle_ticks: int = 0
    seconds: float = 0.0
    violations: list[str] = field(default_factory=list)

    @property
    def known(self) -> list[str]:
        return [v for v in self.violations if v.startswith(KNOWN_ISSUE)]

    @property
    def new(self) -> list[str]:
        return [v for v in self.violations if not v.startswith(KNOWN_ISSUE)]


@dataclass
class Delivery:
    function: str
    body: bytes
    label: str
    ok: bool = False


class Run:
    """One run against a shared emulator; `execute()` returns its `RunResult`."""

    def __init__(self, emu: Any, sc: Scenario, *, known_issues: bool = False) -> None:
        self.emu = emu
        self.sc = sc
        self.lost_actions = [*LOST_RESPONSE_ACTIONS, *(KNOWN_ISSUE_ACTIONS if known_issues else ())]
        self.rng = random.Random(sc.seed ^ 0x5EED)
        self.secret = f"chaosSecret{sc.seed:x}Zq9vX7doNotLog"
        self.result = RunResult(seed=sc.seed)
        self.logs = io.StringIO()
        self.outputs: list[str] = []
        self.crasher = Crasher()
        self.store: FlakyStore | None = None
        self.patches = Patches()
        self.lock = threading.Lock()
        self.failed_events: list[Delivery] = []
        self.bad_input_calls: list[str] = []

    # -- time ----------------------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(float(self.emu.control.clock()["epoch"]), tz=UTC)

    def _sync_clock(self) -> None:
        import shared.ledger.record as record_mod

        record_mod.CHAOS_CLOCK_OFFSET = float(self.emu.control.clock()["epoch"]) - time.time()  # type: ignore[attr-defined]

    def advance(self, seconds: float) -> None:
        self.emu.control.advance(seconds)
        self._sync_clock()

    # -- set-up / tear-down ----------------------------------------------------------------------------
    def _setup(self) -> None:
        import importlib

        import shared.clouds._retry as retry_mod
        import shared.ledger.record as record_mod
        import shared.wiring as wiring_mod
        from shared.clouds._clients import reset_clients
        from shared.config import reset_settings
        from shared.logs import configure_logging

        control = self.emu.control
        control.reset()
        control.configure(copy_gib_per_minute=100, snapshot_gib_per_minute=300, export_gib_per_minute=100,
                          acr_sync_seconds=60, create_image_seconds=120,
                          create_image_fail_rate=self.sc.create_image_fail_rate)
        start = self.now()
        self.start = start
        control.seed(emulator_seed(self.sc, start, self.secret))
        self.policy_path = os.path.join(self.tmp, "policy.yml")
        with open(self.policy_path, "w", encoding="utf-8") as fh:
            fh.write(policy_yaml(self.sc, start))
        env = {
            "IMAGE_RELAY_POLICY": self.policy_path,
            "IMAGE_RELAY_STATE": "memory://",
            "IMAGE_RELAY_ENDPOINT": self.emu.url,
            "IMAGE_RELAY_RETRY_BASE_SECONDS": "0.001",
            "IMAGE_RELAY_RETRY_MAX_ATTEMPTS": "8",
            "IMAGE_RELAY_LOG_LEVEL": "DEBUG",
            "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": self.secret,
        }
        self._old_env = {k: os.environ.get(k) for k in [*env, "ALIBABA_CLOUD_SECURITY_TOKEN"]}
        os.environ.pop("ALIBABA_CLOUD_SECURITY_TOKEN", None)
        os.environ.update(env)
        reset_settings()
        wiring_mod.reset_wiring()
        reset_clients()
        configure_logging("DEBUG", stream=self.logs)
        wrapped = self.crasher.wrap(retry_mod.call_with_retry)
        for name in ADAPTER_MODULES:
            # every adapter imports call_with_retry by name: patch each module that holds it
            with contextlib.suppress(ImportError):
                mod = importlib.import_module(name)
                if hasattr(mod, "call_with_retry"):
                    self.patches.set(mod, "call_with_retry", wrapped)
        original_open = wiring_mod.open_store

        def open_store(url: str) -> Any:
            self.store = FlakyStore(original_open(url), self.sc.seed)
            return self.store

        self.patches.set(wiring_mod, "open_store", open_store)
        self._sync_clock()
        self._old_code = record_mod.utcnow.__code__
        record_mod.utcnow.__code__ = _shifted_utcnow.__code__

    def _teardown(self) -> None:
        import shared.ledger.record as record_mod
        import shared.wiring as wiring_mod
        from shared.clouds._clients import reset_clients
        from shared.config import reset_settings
        from shared.logs import configure_logging

        record_mod.utcnow.__code__ = self._old_code
        self.patches.undo()
        wiring_mod.reset_wiring()
        reset_clients()
        for key, value in self._old_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_settings()
        configure_logging("INFO")

    # -- invoking ----------------------------------------------------------------------------------------
    def invoke(self, function: str, body: bytes) -> dict[str, Any]:
        from scripts.invoke import invoke

        out = invoke(function, body)
        with self.lock:
            self.outputs.append(str(out))
        result: dict[str, Any] = json.loads(out)
        return result

    def deliver(self, d: Delivery, *, chaos: bool) -> None:
        """One delivery with the platform's retries; under chaos the instance may die mid-flight."""
        with self.lock:
            if d.function in EVENT_FUNCTIONS:
                self.result.deliveries += 1
            budget = None
            if chaos and self.rng.random() < self.sc.crash_rate:
                budget = self.rng.randint(1, self.sc.crash_max_calls)
            after = self.rng.random() < 0.5
        for attempt in range(PLATFORM_RETRIES + 1):
            self.crasher.arm(budget if attempt == 0 else None, after)
            try:
                self.invoke(d.function, d.body)
                d.ok = True
                return
            except SimulatedCrash:
                pass
            except Exception as exc:  # noqa: BLE001 - a failed invocation: FC retries it
                with self.lock:
                    self.result.failed_invocations += 1
                    self.outputs.append(f"{type(exc).__name__}: {exc}")
                if not chaos:
                    with self.lock:
                        self.result.violations.append(
                            f"{d.label}: raised after the faults stopped: {type(exc).__name__}: {exc}")
                    return
            finally:
                self.crasher.arm(None)
        with self.lock:
            self.failed_events.append(d)

    def deliver_group(self, group: list[Delivery], *, chaos: bool) -> None:
        if len(group) == 1:
            self.deliver(group[0], chaos=chaos)
            return
        barrier = threading.Barrier(len(group))

        def go(d: Delivery) -> None:
            barrier.wait()
            self.deliver(d, chaos=chaos)

        threads = [threading.Thread(target=go, args=(d,)) for d in group]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def set_faults(self, on: bool) -> None:
        if self.store is not None:
            self.store.rate = self.sc.store_fail_rate if on else 0.0
        if not on:
            self.emu.control.set_faults()
            return
        seed = self.rng.randrange(1 << 30)
        if self.rng.random() < 0.25 and self.sc.lost_response_rate:
            self.emu.control.set_faults(lost_response_rate=self.sc.lost_response_rate,
                                        actions=self.lost_actions, seed=seed)
        else:
            self.emu.control.set_faults(throttle_rate=self.sc.throttle_rate, error_rate=self.sc.error_rate,
                                        latency_ms=self.sc.latency_ms, seed=seed)

    # -- the plan of deliveries ----------------------------------------------------------------------------
    def plan(self) -> list[list[Delivery]]:
        """Groups of deliveries in delivery order; a group of several is delivered concurrently.

        Each event goes out `min_deliveries`..`max_deliveries` times (mostly the same CloudEvent id, sometimes
        republished under a new id); its copies are either delivered together (threads) or scattered among
        the other events and the timer ticks, so some arrive late and out of order.
        """
        rng, sc = self.rng, self.sc
        logical: list[list[Delivery]] = []
        for im in sc.images:
            event_id = f"evt-{sc.seed:x}-{im.image_id}"
            copies = [Delivery("image_created", image_event(im, event_id), f"CreateImage {im.image_id}")]
            for n in range(rng.randint(sc.min_deliveries, sc.max_deliveries) - 1):
                again = event_id if rng.random() < 0.7 else f"{event_id}-republished-{n}"
                copies.append(Delivery("image_created", image_event(im, again), f"CreateImage {im.image_id} again"))
            logical.append(copies)
        for tag in sc.acr_tags:
            digest = "sha256:" + hashlib.sha256(f"{sc.seed}/{tag}".encode()).hexdigest()
            event = self.emu.control.acr_push({"instance_id": ACR_SOURCE, "namespace": "web", "repo": "frontend",
                                               "tag": tag, "digest": digest})
            body = json.dumps(event).encode()
            n = rng.randint(sc.min_deliveries, sc.max_deliveries)
            logical.append([Delivery("acr_push", body, f"push {tag}") for _ in range(n)])
        self.result.events = len(logical)
        groups: list[list[Delivery]] = []
        for copies in logical:
            if len(copies) > 1 and rng.random() < sc.concurrency:
                groups.append(copies)                      # duplicates racing each other
            else:
                groups.extend([d] for d in copies)
        for _ in range(sc.ticks_during_chaos):
            groups.append([Delivery("reconcile", b"", "reconcile tick")])
            if sc.export_rule:
                groups.append([Delivery("export_batch", b"", "export tick")])
        groups.append([Delivery("cleanup", b"", "cleanup tick")])
        rng.shuffle(groups)
        packed: list[list[Delivery]] = []
        for group in groups:                                   # neighbours racing each other
            if packed and len(packed[-1]) < 3 and rng.random() < sc.concurrency / 2:
                packed[-1].extend(group)
            else:
                packed.append(list(group))
        return packed

    def _stamp(self, d: Delivery) -> Delivery:
        """Timer bodies carry the (virtual) now of their delivery."""
        if d.function in ("reconcile", "export_batch", "cleanup") and not d.body:
            return Delivery(d.function, timer(self.now(), f"{d.function}-timer"), d.label)
        return d

    # -- phases --------------------------------------------------------------------------------------------
    def execute(self, tmp: str) -> RunResult:
        self.tmp = tmp
        began = time.perf_counter()
        self._setup()
        try:
            self._bad_input_makes_no_call()
            groups = self.plan()
            for group in groups:
                self.set_faults(True)
                self.deliver_group([self._stamp(d) for d in group], chaos=True)
                if self.rng.random() < 0.4:
                    self.advance(self.rng.choice((30, 120, 300)))
            self.set_faults(False)
            self._settle()
            calls = self.emu.control.requests()
            self.result.api_calls = len(calls)
            self.result.faults = sum(1 for c in calls if c["code"] in FAULT_CODES)
            self.result.store_failures = self.store.failures if self.store else 0
            self.result.crashes = self.crasher.crashes
            self.result.violations.extend(check_invariants(self, calls))
        finally:
            self._teardown()
        self.result.seconds = time.perf_counter() - began
        return self.result

    def _bad_input_makes_no_call(self) -> None:
        """Invariant 6 inside every run: a malformed event fails typed, before any API call."""
        from shared.errors import ConfigError, EventValidationError

        # reconcile takes any JSON object as a tick (`{}` by hand), so only broken JSON is malformed there
        bodies = [(f, b) for f in ("image_created", "acr_push", "export_batch", "cleanup")
                  for b in (b"{not json", b'{"action": "replicate", "region": "Bad!", "image_id": "m-1"}')]
        bodies.append(("reconcile", b"{not json"))
        for function, body in self.rng.sample(bodies, 2):
            try:
                self.invoke(function, body)
            except (EventValidationError, ConfigError):
                pass
            except Exception as exc:  # noqa: BLE001
                self.result.violations.append(f"malformed {function} event raised {type(exc).__name__}: {exc}")
        if self.emu.control.requests():
            self.result.violations.append("a malformed event made an API call")

    def _ledger_fingerprint(self) -> tuple[Any, ...]:
        ledger = self.ledger()
        return tuple((r.key, r.state.value, r.version) for r in ledger.scan(""))

    def ledger(self) -> Any:
        from shared.config import get_settings
        from shared.wiring import ledger_from

        return ledger_from(get_settings())

    def _settle(self) -> None:
        """Faults off: redeliver what never got through, then tick until nothing changes."""
        for d in self.failed_events:
            self.deliver(d, chaos=False)
        self.failed_events.clear()
        self.deliver(Delivery("cleanup", timer(self.now(), "cleanup-timer"), "cleanup tick"), chaos=False)
        previous: tuple[Any, ...] | None = None
        for n in range(MAX_SETTLE_TICKS):
            self.advance(SETTLE_STEP_SECONDS)
            now = self.now()
            self.deliver(Delivery("reconcile", timer(now, "reconcile-timer"), "reconcile tick"), chaos=False)
            if self.sc.export_rule:
                self.deliver(Delivery("export_batch", timer(now, "export-timer"), "export tick"), chaos=False)
            if n % 5 == 4:
                self.deliver(Delivery("cleanup", timer(now, "cleanup-timer"), "cleanup tick"), chaos=False)
            self.result.settle_ticks = n + 1
            fingerprint = self._ledger_fingerprint()
            active = any(state in ("PENDING", "STARTED") for _, state, _ in fingerprint)
            if not active and fingerprint == previous:
                break
            previous = fingerprint
        self.deliver(Delivery("cleanup", timer(self.now(), "cleanup-timer"), "cleanup tick"), chaos=False)
        if self.now() - self.start > dt.timedelta(hours=11):
            self.result.violations.append("harness: the run outlived its export window and young-image margin")


# ---------------------------------------------------------------------------------------------------------
# Invariants, from the emulator's point of view and the ledger's
# ---------------------------------------------------------------------------------------------------------


def check_invariants(run: Run, calls: list[dict[str, Any]]) -> list[str]:
    """Every violation of the design's invariants this run left behind, one line each."""
    from shared.clouds.acr import AcrGateway
    from shared.clouds.ecs import EcsGateway
    from shared.config import Credentials

    sc = run.sc
    creds = Credentials(access_key_id=KEY_ID, access_key_secret=run.secret)
    ecs = EcsGateway.connect(creds, endpoint=run.emu.url)
    ledger = run.ledger()
    out: list[str] = []
    images = {region: {i.image_id: i for i in ecs.list_images(region)} for region in REGIONS}

    # 1. at most one copy per (image, region, rule): images carrying the provenance key, CreateFailed excluded
    by_key: dict[str, list[str]] = defaultdict(list)
    for region in TARGETS:
        for image in images[region].values():
            key = image.tags.get("image-relay:key")
            if key and image.status != "CreateFailed":
                by_key[key].append(image.image_id)
    for key, ids in sorted(by_key.items()):
        if len(ids) > 1:
            out.append(f"duplicate copy: {key} has {len(ids)} images {sorted(ids)}")

    # one sync task per (tag, target) alive
    if sc.acr_tags:
        cr = AcrGateway.connect(creds, endpoint=run.emu.url)
        alive: Counter[tuple[str, str, str]] = Counter()
        for task in cr.iter_sync_tasks("cn-hangzhou", ACR_SOURCE, namespace="web", repository="frontend"):
            if task.status.upper() not in ("ERROR", "CANCELED", "CANCELLED", "FAILED"):
                alive[(task.source.tag, task.target.instance_id, task.target.namespace)] += 1
        for (tag, target, namespace), n in sorted(alive.items()):
            if n > 1:
                out.append(f"duplicate sync task: {tag} -> {target}/{namespace} has {n} live tasks")

    # one export per (image, format) that succeeded (one rule, one format per run)
    if sc.export_rule:
        finished = Counter(t.image_id for t in ecs.iter_export_tasks(EXPORT_REGION) if t.status == "Finished")
        for image_id, n in sorted(finished.items()):
            if n > 1:
                out.append(f"duplicate export: {image_id} exported {n} times")

    # 2. every target DONE or FAILED with a reason; every expected target has a record
    for record in ledger.scan(""):
        if record.kind == "event" or record.key.startswith(("event/", "slots/")):
            continue
        state = record.state.value
        if state in ("PENDING", "STARTED"):
            _, region, image_id = (record.key.split("/") + ["", ""])[:3]
            if record.key.startswith("cleanup/") and ecs.get_image(region, image_id) is None:
                out.append(f"cleanup record left {state} after its image was deleted: {record.key}")
            else:
                out.append(f"not settled: {record.key} is {state}")
        elif state == "FAILED" and not (record.reason or "").strip():
            out.append(f"failed without a reason: {record.key}")
    from shared.ledger.record import copy_key

    for im in sc.images:
        if not im.copied:
            continue
        for region in TARGETS:
            key = copy_key(im.region, im.image_id, region)
            record = ledger.get(key)
            if record is None:
                out.append(f"missing target: no record for {key}")
            elif record.state.value == "DONE":
                copy = images[region].get(record.cloud_id or "")
                if copy is None or copy.status != "Available":
                    out.append(f"DONE without an Available copy: {key} -> {record.cloud_id}")
        if sc.export_rule and im.exported:
            found = list(ledger.scan(f"export/{im.region}/{im.image_id}/"))
            if len(found) != 1:
                out.append(f"missing export target: {im.image_id} has {len(found)} export records")
    if sc.acr_tags:
        import re

        from shared.acr.planner import target_of

        synced = {(target_of(r).source.tag, target_of(r).target_instance) for r in ledger.scan("acr/")}
        for tag in sc.acr_tags:
            if re.search(ACR_INCLUDE, tag) and not re.search(ACR_EXCLUDE, tag):
                for inst, _, _ in ACR_TARGETS:
                    if (tag, inst) not in synced:
                        out.append(f"missing sync target: {tag} -> {inst}")

    # 3. nothing deleted that was in use, young, being copied or exported, shared or foreign; never Force
    protected = {im.image_id for im in sc.images} | {s.image_id for s in sc.scratch if not s.deletable}
    for call in calls:
        if call["action"] != "DeleteImage":
            continue
        image_id = call["params"].get("ImageId")
        if str(call["params"].get("Force", "false")).lower() == "true":
            out.append(f"DeleteImage with Force on {image_id}")
        if image_id in protected:
            out.append(f"deleted a protected image: {image_id} ({_why_protected(sc, image_id)})")
    for s in sc.scratch:
        present = ecs.get_image(s.region, s.image_id) is not None
        if s.deletable and present:
            out.append(f"cleanup left an old unused scratch image: {s.image_id}")
        if not s.deletable and not present:
            out.append(f"a protected scratch image vanished: {s.image_id} ({s.kind})")

    # 4. no OSS object overwritten: at most one successful PutObject per key, ledger objects included
    puts = Counter((c["params"].get("bucket"), c["params"].get("key")) for c in calls
                   if c["service"] == "oss" and c["action"] == "PutObject" and c["status"] == 200)
    for (bucket, key), n in sorted(puts.items()):
        if n > 1:
            out.append(f"object overwritten: oss://{bucket}/{key} written {n} times")

    # 5. no secret in any log line, output or error
    for where, text in (("log", run.logs.getvalue()), ("output", "\n".join(run.outputs))):
        if run.secret in text:
            line = next(ln for ln in text.splitlines() if run.secret in ln)
            out.append(f"secret in a {where} line: {line.replace(run.secret, '<SECRET>')[:200]}")
    return out


def _why_protected(sc: Scenario, image_id: str) -> str:
    for s in sc.scratch:
        if s.image_id == image_id:
            return s.kind
    return "a source image"


# ---------------------------------------------------------------------------------------------------------
# Suite, report, CLI
# ---------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def emulator() -> Iterator[Any]:
    from emulator import Emulator

    with Emulator(port=0) as emu:
        yield emu


def run_scenario(emu: Any, sc: Scenario, *, known_issues: bool = False) -> RunResult:
    """Run one scenario against `emu` (reset first); the result lists its violations."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="chaos-") as tmpdir:
        return Run(emu, sc, known_issues=known_issues).execute(tmpdir)


def replay_command(seed: int) -> str:
    return f"python -m scripts.chaos --replay {seed}"


def run_suite(seeds: list[int], *, emu: Any = None, echo: Callable[[str], None] | None = None,
              known_issues: bool = False) -> list[RunResult]:
    """Run every seed; print a failing run's seed and replay command as it happens."""
    results: list[RunResult] = []
    with contextlib.ExitStack() as stack:
        if emu is None:
            emu = stack.enter_context(emulator())
        for n, seed in enumerate(seeds):
            result = run_scenario(emu, draw(seed), known_issues=known_issues)
            results.append(result)
            if echo and result.violations:
                what = "FAILED" if result.new else "hit a known issue"
                echo(f"run {n} (seed {seed}) {what}, replay: {replay_command(seed)}")
                for v in result.violations:
                    echo(f"  - {v}")
    return results


def report(results: list[RunResult], title: str) -> Any:
    """The rich table `make chaos` ends with."""
    from rich.table import Table

    table = Table(title=title)
    for column in ("runs", "events", "deliveries (dup)", "faults", "store failures", "crashes",
                   "failed invocations", "API calls", "s / run", "violations", "known issues"):
        table.add_column(column, justify="right")
    events = sum(r.events for r in results)
    deliveries = sum(r.deliveries for r in results)
    seconds = sum(r.seconds for r in results)
    table.add_row(
        str(len(results)), str(events), f"{deliveries} ({deliveries - events})",
        str(sum(r.faults for r in results)), str(sum(r.store_failures for r in results)),
        str(sum(r.crashes for r in results)), str(sum(r.failed_invocations for r in results)),
        str(sum(r.api_calls for r in results)), f"{seconds / max(1, len(results)):.2f}",
        str(sum(len(r.new) for r in results)), str(sum(len(r.known) for r in results)),
    )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CHAOS_SEED", "1")))
    parser.add_argument("--runs", type=int, default=int(os.environ.get("CHAOS_RUNS", "200")))
    parser.add_argument("--replay", type=int, default=None, help="run only this run seed (printed by a failure)")
    parser.add_argument("--show", action="store_true", help="print each run's knobs")
    parser.add_argument("--strict", action="store_true",
                        help="also inject the faults of known, still-open bugs and fail on them (see KNOWN_ISSUE)")
    args = parser.parse_args(argv)
    from rich.console import Console

    console = Console(width=max(140, Console().width))
    seeds = [args.replay] if args.replay is not None else [run_seed(args.seed, i) for i in range(args.runs)]
    if args.show:
        for seed in seeds:
            console.print(seed, draw(seed).knobs())
    results = run_suite(seeds, known_issues=args.strict, echo=lambda s: console.print(s, markup=False, highlight=False, soft_wrap=True))
    title = f"chaos: replay {args.replay}" if args.replay is not None else f"chaos: seed {args.seed}, {args.runs} runs"
    console.print(report(results, title))
    failed = [r for r in results if (r.violations if args.strict else r.new)]
    if failed:
        console.print(f"{len(failed)} run(s) violated an invariant; replay one with: "
                      f"{replay_command(failed[0].seed)}  (or CHAOS_SEED={args.seed} CHAOS_RUNS={args.runs} make chaos)",
                      markup=False, highlight=False, soft_wrap=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
