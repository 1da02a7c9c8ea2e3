"""One run against a shared emulator, and a suite of runs."""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from scripts.chaos.faults import (
    Crasher,
    FlakyStore,
    Patches,
    SimulatedCrash,
    _shifted_utcnow,
    explained_by_fault,
)
from scripts.chaos.invariants import check_invariants
from scripts.chaos.scenario import (
    ACR_SOURCE,
    ADAPTER_MODULES,
    EVENT_FUNCTIONS,
    FAULT_CODES,
    KEY_ID,
    KNOWN_ISSUE,
    KNOWN_ISSUE_ACTIONS,
    LEDGER_URL,
    LEFTOVER_PIPELINE,
    LEFTOVER_REGION,
    LOST_RESPONSE_ACTIONS,
    MAX_SETTLE_TICKS,
    PIPELINE_ID,
    PIPELINE_TO,
    PLATFORM_RETRIES,
    REGIONS,
    SETTLE_STEP_SECONDS,
    UTC,
    Scenario,
    draw,
    emulator_seed,
    image_event,
    policy_yaml,
    timer,
)

#: the executors whose `apply_all` a slow tick pauses in (every executor runs its actions through it)
# The kernel's loop, which every RecordExecutor (copies, exports, ACR syncs, builds) runs its actions through.
# The cleanup executor imports its own reference and is not paused, as before the kernel (issue #12).
EXECUTOR_MODULES = ("shared.apply",)
STALE_WAIT_SECONDS = 30.0


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
    oss_ledger: bool = False
    partner: bool = False
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
    stale: bool = False
    hostile: bool = False  # a payload that must be refused or treated conservatively: a refusal is no finding
    late: bool = False  # redelivered after the faults stopped: a cleanup timer this old is refused (skewed clock)


@dataclass
class StaleGate:
    """A slow tick: it plans, pauses before applying (`paused`), and applies its old plan once `release`d."""

    paused: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class Run:
    """One run against a shared emulator; `execute()` returns its `RunResult`."""

    def __init__(self, emu: Any, sc: Scenario, *, known_issues: bool = False) -> None:
        self.emu = emu
        self.sc = sc
        self.lost_actions = [*LOST_RESPONSE_ACTIONS, *(KNOWN_ISSUE_ACTIONS if known_issues else ())]
        self.rng = random.Random(sc.seed ^ 0x5EED)
        self.secret = f"chaosSecret{sc.seed:x}Zq9vX7doNotLog"
        self.result = RunResult(seed=sc.seed, oss_ledger=sc.oss_ledger, partner=sc.partner)
        self.logs = io.StringIO()
        self.outputs: list[str] = []
        self.crasher = Crasher()
        self.store: FlakyStore | None = None
        self.patches = Patches()
        self.lock = threading.Lock()
        self.failed_events: list[Delivery] = []
        self.bad_input_calls: list[str] = []
        self.stale_local = threading.local()
        self.setup_calls = 0
        # Wake-ups at the ETA (reconcile invokes itself, delayed, through the FC emulator): on unless
        # CHAOS_WAKEUPS=0.
        self.wakeups = os.environ.get("CHAOS_WAKEUPS", "1") != "0"

    # -- time ----------------------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(float(self.emu.control.clock()["epoch"]), tz=UTC)

    def _sync_clock(self) -> None:
        import shared.ledger.record as record_mod

        record_mod.CHAOS_CLOCK_OFFSET = float(self.emu.control.clock()["epoch"]) - time.time()  # type: ignore[attr-defined]

    def advance(self, seconds: float) -> None:
        self.emu.control.advance(seconds)
        self._sync_clock()
        if self.wakeups:
            self.emu.fc.backend.wait_idle(120)  # wake-ups due by now run (the FC emulator fired them)

    # -- set-up / tear-down ----------------------------------------------------------------------------
    def _fail_a_build(self) -> None:
        """Start the build that fails and keeps its instance (before any fault; it ends on the virtual clock)."""
        from shared.clouds.ecs_pipelines import ImageBuilderGateway
        from shared.config import Credentials

        self.emu.control.ecs_pipeline_outcome({"pipeline_id": LEFTOVER_PIPELINE, "outcome": "FAILED"})
        gateway = ImageBuilderGateway.connect(Credentials(access_key_id=KEY_ID, access_key_secret=self.secret),
                                              endpoint=self.emu.url)
        cast(ImageBuilderGateway, gateway).start_pipeline_execution(LEFTOVER_REGION, LEFTOVER_PIPELINE)
        self.setup_calls = len(self.emu.control.requests())  # the harness's calls, not an event's

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
        if self.sc.build_leftovers:
            self._fail_a_build()
        if self.sc.build_rule:  # the fate of the run's one build (PARTITION_SUCCESS: Shanghai fails)
            control.ecs_pipeline_outcome({"pipeline_id": PIPELINE_ID, "outcome": self.sc.build_outcome,
                                          "failed_regions": [PIPELINE_TO[-1]]})
        self.policy_path = os.path.join(self.tmp, "policy.yml")
        with open(self.policy_path, "w", encoding="utf-8") as fh:
            fh.write(policy_yaml(self.sc, start))
        env = {
            "IMAGE_RELAY_POLICY": self.policy_path,
            "IMAGE_RELAY_STATE": LEDGER_URL if self.sc.oss_ledger else "memory://",
            "IMAGE_RELAY_ENDPOINT": self.emu.url,
            "IMAGE_RELAY_RETRY_BASE_SECONDS": "0.001",
            "IMAGE_RELAY_RETRY_MAX_ATTEMPTS": "8",
            "IMAGE_RELAY_LOG_LEVEL": "DEBUG",
            "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": self.secret,
            "IMAGE_RELAY_WAKEUPS": "true" if self.wakeups else "false",
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
        for name in EXECUTOR_MODULES:
            with contextlib.suppress(ImportError):
                mod = importlib.import_module(name)
                if hasattr(mod, "apply_all"):
                    self.patches.set(mod, "apply_all", self._stale_apply(mod.apply_all))
        self._start_console_copies()
        if self.wakeups:  # the function a wake-up invokes: this run's reconcile, as local contexts name it
            self.emu.fc.backend.register("image-relay", "reconcile",
                                         lambda body, _ctx: self.invoke("reconcile", body), timeout=600)
        self._sync_clock()
        self._old_code = record_mod.utcnow.__code__
        record_mod.utcnow.__code__ = _shifted_utcnow.__code__

    def _start_console_copies(self) -> None:
        """Someone copies a scratch image from the console: a copy image-relay knows nothing of, still running."""
        from shared.clouds.ecs import EcsGateway
        from shared.clouds.ecs_types import CopyImageSpec
        from shared.config import Credentials

        sources = [s for s in self.sc.scratch if s.kind == "copy_source"]
        if not sources:
            return
        ecs = EcsGateway.connect(Credentials(access_key_id=KEY_ID, access_key_secret=self.secret),
                                 endpoint=self.emu.url)
        for s in sources:
            destination = next(r for r in REGIONS if r != s.region)
            ecs.copy_image(CopyImageSpec(source_region=s.region, image_id=s.image_id, destination_region=destination,
                                         name=f"console-copy-{s.image_id}", client_token=f"console-{s.image_id}"))
        self.setup_calls = len(self.emu.control.requests())

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
        from shared.errors import ConfigError, EventValidationError

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
            except (EventValidationError, ConfigError) as exc:
                with self.lock:
                    self.outputs.append(f"refused: {type(exc).__name__}: {exc}")
                    if not (d.hostile or d.late):
                        self.result.violations.append(f"{d.label}: a well-formed delivery was refused: {exc}")
                return
            except Exception as exc:  # noqa: BLE001 - a failed invocation: FC retries it
                with self.lock:
                    self.result.failed_invocations += 1
                    self.outputs.append(f"{type(exc).__name__}: {exc}")
                    if chaos and not explained_by_fault(exc):
                        self.result.violations.append(
                            f"{d.label}: uncaught {type(exc).__name__} no injected fault explains: {exc}")
                if not chaos:
                    with self.lock:
                        self.result.violations.append(
                            f"{d.label}: raised after the faults stopped: {type(exc).__name__}: {exc}")
                    return
            finally:
                self.crasher.arm(None)
        with self.lock:
            self.failed_events.append(d)

    def _stale_apply(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """`apply_all` that, on a slow tick's thread, fixes the plan, then waits while the world moves on."""
        def apply_all(actions: Any, apply_one: Any, outcomes: Any, deadline: Any, *, kind: str, **more: Any) -> Any:
            gate: StaleGate | None = getattr(self.stale_local, "gate", None)
            if gate is not None:
                self.stale_local.gate = None
                actions = list(actions)
                gate.paused.set()
                gate.release.wait(STALE_WAIT_SECONDS)
            return original(actions, apply_one, outcomes, deadline, kind=kind, **more)

        return apply_all

    def deliver_stale(self, d: Delivery) -> None:
        """A slow tick applies the plan it made before another tick (and virtual time) overtook it."""
        gate = StaleGate()

        def slow() -> None:
            self.stale_local.gate = gate
            try:
                self.deliver(d, chaos=True)
            finally:
                self.stale_local.gate = None
                gate.paused.set()

        thread = threading.Thread(target=slow)
        thread.start()
        gate.paused.wait(STALE_WAIT_SECONDS)
        self.advance(self.rng.choice((60, 300, 900)))
        self.deliver(self._stamp(Delivery("reconcile", b"", "reconcile tick overtaking a slow one")), chaos=True)
        gate.release.set()
        thread.join()

    def deliver_group(self, group: list[Delivery], *, chaos: bool) -> None:
        for d in [d for d in group if d.stale]:
            self.deliver_stale(self._stamp(d))
        # stamped only now: a slow tick above moved the clock on
        group = [self._stamp(d) for d in group if not d.stale]
        if not group:
            return
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
        if sc.skewed_clock:
            future = (self.now() + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
            groups.append([Delivery("cleanup", timer(self.now() + dt.timedelta(days=30), "cleanup-timer"),
                                    "cleanup tick from a clock 30 days ahead", hostile=True)])
            manual = {"action": "cleanup", "dry_run": False, "now": future}
            groups.append([Delivery("cleanup", json.dumps(manual).encode(), "manual cleanup 'now' 30 days ahead",
                                    hostile=True)])
        for _ in range(sc.stale_ticks):
            groups.append([Delivery("reconcile", b"", "stale reconcile tick", stale=True)])
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
            return Delivery(d.function, timer(self.now(), f"{d.function}-timer"), d.label, stale=d.stale)
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
                self.deliver_group(group, chaos=True)
                if self.rng.random() < 0.4:
                    self.advance(self.rng.choice((30, 120, 300)))
            self.set_faults(False)
            self._settle()
            if self.wakeups:
                self.emu.fc.backend.wait_idle(120)
            calls = self.emu.control.requests()
            self.result.api_calls = len(calls)
            self.result.faults = sum(1 for c in calls if c["code"] in FAULT_CODES)
            self.result.store_failures = self.store.failures if self.store else 0
            self.result.violations.extend(self.store.regressions if self.store else [])
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
        if len(self.emu.control.requests()) > self.setup_calls:
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
            d.late = True
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
              known_issues: bool = False, advance: Callable[..., None] | None = None) -> list[RunResult]:
    """Run every seed; print a failing run's seed and replay command as it happens; `advance()` after each."""
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
            if advance:
                advance(f"seed {seed}")
    return results


