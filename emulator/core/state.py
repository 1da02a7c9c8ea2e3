"""Shared emulator state: virtual clock, fault plan, request log, account and tunables.

Everything here sits behind one ``RLock`` (``State.lock``): the server is threaded and tests fire concurrent
requests, so every API call and control call runs with the lock held (except injected latency).

UNCONFIRMED defaults recorded here:

* account id ``1234567890123456`` (the *home* account); AccessKey pair ``test-ak``/``test-secret``. Partner
  accounts, their roles, KMS keys and STS sessions live in ``registry`` (``emulator.core.accounts``); during an
  API call ``caller`` is the account the request acts as (``current_account``), else the home account.
* the virtual clock starts at the wall-clock time of the last reset, truncated to whole seconds, and moves
  only on ``POST /_emulator/clock`` (or ``speed`` × wall time when started with ``--speed``).
* tunables: ``copy_slots`` 5 per destination region (alibaba-api.md §2.4), ``copy_gib_per_minute`` 20,
  ``image_quota`` 100 custom images per region (§2.4 says the number is UNCONFIRMED), ``export_slots`` 2
  ExportImage tasks Processing per region, ``export_gib_per_minute`` 10, ``acr_sync_seconds`` 60 per CR sync
  task, ``acr_error_rate`` 0 (share of CR sync tasks that end ERROR, drawn from the faults seed),
  ``snapshot_gib_per_minute`` 20 (CopySnapshot speed), ``create_image_seconds`` 120 (CreateImage from
  snapshots: Creating → Available), ``create_image_fail_rate`` 0 (share of CreateImage images that end
  ``CreateFailed``, drawn from the faults seed), ``fc_async_retries`` 3 (FC's default
  ``maxAsyncRetryAttempts``: a failed async invocation runs at most 1 + 3 times), ``duplicates`` 0 (the FC
  event router delivers every event 1 + N times, to prove the handlers idempotent),
  ``image_pipeline_stage_seconds`` 120 (each stage of an Image Builder build task).
* events: services ``publish`` CloudEvents (ECS ActionTrail ApiCall, CR PushCompleted) to the listeners
  ``subscribe``d on the state (the FC event router). Listeners run with the lock held and must only enqueue;
  they survive ``reset``.
* faults draw one number per API call from ``random.Random(seed)`` (default seed 0): below
  ``throttle_rate`` → ``Throttling.User`` 400; below ``throttle_rate + error_rate`` → 503
  ``ServiceUnavailable`` or 500 ``InternalError`` (a second draw, 50/50). ``lost_response_rate`` draws
  once more after a *successful* action: the action's effect stays and the client sees 503.
  ``actions`` (optional list of action names) limits throttle/error/lost-response faults to those actions;
  other actions draw nothing from the RNG. Latency applies to every API call.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from pydantic import Field

from emulator.core.accounts import AccountRegistry, SeedAccount, StrictModel
from emulator.core.errors import (
    EmulatorError,
    InternalServerError,
    ServiceUnavailableError,
    ThrottlingUserError,
)
from emulator.core.regions import CATALOG

DEFAULT_ACCOUNT_ID = "1234567890123456"
DEFAULT_ACCESS_KEYS: dict[str, str] = {"test-ak": "test-secret"}
DEFAULT_REGIONS: tuple[str, ...] = tuple(CATALOG)


class EmulatorConfig(StrictModel):
    """Tunables set with ``POST /_emulator/config`` (partial updates)."""

    copy_slots: int = Field(default=5, ge=1)
    copy_gib_per_minute: float = Field(default=20.0, gt=0)
    image_quota: int = Field(default=100, ge=0)
    export_slots: int = Field(default=2, ge=1)
    export_gib_per_minute: float = Field(default=10.0, gt=0)
    acr_sync_seconds: float = Field(default=60.0, gt=0)
    acr_error_rate: float = Field(default=0.0, ge=0, le=1)
    snapshot_gib_per_minute: float = Field(default=20.0, gt=0)
    create_image_seconds: float = Field(default=120.0, ge=0)
    create_image_fail_rate: float = Field(default=0.0, ge=0, le=1)
    fc_async_retries: int = Field(default=3, ge=0, le=8)
    duplicates: int = Field(default=0, ge=0, le=10)
    image_pipeline_stage_seconds: float = Field(default=120.0, gt=0)


class FaultConfig(StrictModel):
    """Fault plan set with ``POST /_emulator/faults``; ``{}`` clears it."""

    throttle_rate: float = Field(default=0.0, ge=0, le=1)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    lost_response_rate: float = Field(default=0.0, ge=0, le=1)
    latency_ms: int = Field(default=0, ge=0)
    seed: int = 0
    actions: list[str] | None = None


class SeedAccessKey(StrictModel):
    """An extra AccessKey pair accepted by the signature checkers."""

    id: str = Field(min_length=1)
    secret: str = Field(min_length=1)


class CoreSeed(StrictModel):
    """Seed keys owned by the core; services add their own keys by contributing a base model."""

    account_id: str | None = None
    regions: list[str] | None = None
    access_keys: list[SeedAccessKey] = Field(default_factory=list)
    accounts: list[SeedAccount] = Field(default_factory=list)


def iso_z(epoch: float) -> str:
    """Format an epoch as ECS does: ``2024-01-01T08:00:00Z``."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> float:
    """Parse ``2024-01-01T08:00:00Z`` / ``2024-01-01T08:00Z`` / any ISO-8601 string into an epoch."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


class VirtualClock:
    """Virtual time: moves on ``advance()`` only, or ``speed`` × wall time when speed > 0."""

    def __init__(self, speed: float = 0.0) -> None:
        self.speed = speed
        self.reset()

    def reset(self) -> None:
        """Restart at the current wall time (whole seconds)."""
        self._base = float(int(time.time()))
        self._wall0 = time.monotonic()

    def now(self) -> float:
        """Return the current virtual epoch."""
        return self._base + self.speed * (time.monotonic() - self._wall0)

    def advance(self, seconds: float) -> float:
        """Move virtual time forward by ``seconds`` and return the new epoch."""
        self._base += seconds
        return self.now()


class FaultInjector:
    """Deterministic fault draws for API calls (seeded RNG)."""

    def __init__(self) -> None:
        self.configure(FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        """Replace the fault plan and reseed the RNG."""
        self.config = config
        self._rng = random.Random(config.seed)

    def applies_to(self, action: str) -> bool:
        """Return True when the plan targets ``action`` (no ``actions`` list = every action)."""
        return self.config.actions is None or action in self.config.actions

    def before_action(self, action: str) -> EmulatorError | None:
        """Return the error to answer instead of running the action, if any."""
        c = self.config
        if (c.throttle_rate == 0 and c.error_rate == 0) or not self.applies_to(action):
            return None
        draw = self._rng.random()
        if draw < c.throttle_rate:
            return ThrottlingUserError()
        if draw < c.throttle_rate + c.error_rate:
            return ServiceUnavailableError() if self._rng.random() < 0.5 else InternalServerError()
        return None

    def lose_response(self, action: str) -> bool:
        """Return True when a successful action's response should be replaced by a 503."""
        if self.config.lost_response_rate == 0 or not self.applies_to(action):
            return False
        return self._rng.random() < self.config.lost_response_rate


class State:
    """Core state shared by all services; services keep their own resources."""

    def __init__(self, speed: float = 0.0) -> None:
        self.lock = threading.RLock()
        self.clock = VirtualClock(speed)
        self.faults = FaultInjector()
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self.registry = AccountRegistry()
        self.caller: str | None = None
        self.caller_key: str | None = None
        self.reset()

    def subscribe(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Receive every published CloudEvent (kept across ``reset``)."""
        self.listeners.append(listener)

    def publish(self, event: dict[str, Any]) -> None:
        """Hand a CloudEvent to every listener (lock held; listeners only enqueue)."""
        for listener in list(self.listeners):
            listener(event)

    def reset(self) -> None:
        """Back to defaults: account, keys, regions, config, faults, clock, log."""
        self.account_id = DEFAULT_ACCOUNT_ID
        self.access_keys: dict[str, str] = dict(DEFAULT_ACCESS_KEYS)
        self.regions: list[str] = list(DEFAULT_REGIONS)
        self.config = EmulatorConfig()
        self.faults.configure(FaultConfig())
        self.clock.reset()
        self.requests: list[dict[str, Any]] = []
        self.registry.reset()
        self.caller = self.caller_key = None

    @property
    def current_account(self) -> str:
        """The account the running API call acts as (``caller``), else the home account (``account_id``)."""
        return self.caller or self.account_id

    def secrets(self) -> dict[str, str]:
        """Every AccessKey the RPC signature checkers accept: static pairs, partners' pairs, STS sessions."""
        return {**self.access_keys, **self.registry.session_secrets()}

    def kms_key_exists(self, account_id: str, region: str, key_id: str) -> bool:
        """True when a seeded partner account owns ``key_id`` in ``region`` (home keys live in ECS)."""
        return self.registry.kms_key_exists(account_id, region, key_id)

    def apply_core_seed(self, seed: CoreSeed) -> None:
        """Apply the core part of a seed (account, enabled regions, extra AccessKeys)."""
        if seed.account_id is not None:
            self.account_id = seed.account_id
        if seed.regions is not None:
            self.regions = list(dict.fromkeys(seed.regions))
        for key in seed.access_keys:
            self.access_keys[key.id] = key.secret
        self.access_keys.update(self.registry.apply(seed.accounts))

    def region_enabled(self, region_id: str) -> bool:
        """Return True when ``region_id`` is in the enabled set."""
        return region_id in self.regions
