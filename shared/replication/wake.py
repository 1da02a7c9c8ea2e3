"""Wake at the ETA: one delayed reconcile per destination region at the earliest expected copy end.

Why: ECS publishes no event when a copy ends, so the only way to notice is to look. Looking every
5 minutes leaves a freed slot idle for 2.5 minutes on average and scans regions where nothing can
have changed. Looking when the copy is expected to end is both faster and cheaper.

- The estimate (`copy_eta`) is the copy's size over the region's GiB/min from its start. The rate is
  the one the region's running copies show (Progress x size over elapsed time), else the last one seen
  there (kept in the wake record), else the policy's `copy_limits.gib_per_minute`, and then the wake is
  at most 5 minutes ahead (`UNMEASURED_HORIZON`). A small margin puts the wake just after the end.
- The wake is an FC async InvokeFunction of `reconcile` itself with `x-fc-async-delay` (at most
  3600 s: a later end gets an earlier wake that simply estimates again) and a stateful invocation id
  per (region, second of the wake): two ticks that see the same copies schedule it once (409).
- The region's wake is remembered in the ledger (`wake/copy/<region>`): a plain timer tick does not
  scan a region whose wake is still ahead and which has nothing else to do (`region_is_due`).
- A wrong estimate costs one extra scan (too early: the wake tick estimates again from fresher
  Progress) or some latency (too late, or a lost wake: the 5-minute timer still scans a region whose
  wake is overdue); never a missed completion.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable
from typing import Protocol

from shared.clouds.ecs_types import Image
from shared.errors import CloudError, LedgerConflictError
from shared.ledger import Ledger
from shared.ledger.record import Record, State
from shared.logs import get_logger
from shared.replication.targets import CopyTarget

log = get_logger(__name__)

MAX_DELAY = 3600  # x-fc-async-delay's documented maximum (help.aliyun.com/document_detail/181866)
MARGIN = dt.timedelta(seconds=5)
# Until a region's copies have shown a rate, its wake is at most one timer period ahead: a guessed rate
# could otherwise put a completion an hour out of sight.
UNMEASURED_HORIZON = dt.timedelta(minutes=5)  # wake just after the expected end, not just before it
BUCKET_SECONDS = 1  # one stateful id per (region, second of the wake): a coarser bucket would
# refuse (409) the next wake a wake tick schedules within the same bucket


class Waker(Protocol):
    """Schedules `reconcile` for `region` at `at`; False when it was already scheduled or could not be."""

    def schedule(self, region: str, at: dt.datetime, now: dt.datetime) -> bool: ...


def wake_key(region: str, kind: str = "copy") -> str:
    """The ledger record remembering a region's next wake (`kind`: copy or export)."""
    return f"wake/{kind}/{region}"


def invocation_id(region: str, at: dt.datetime, kind: str = "copy") -> str:
    """The stateful invocation id of the wake of `region` at `at` (FC's `^[A-Za-z_][A-Za-z0-9_-]{0,127}$`)."""
    stem = f"wake-{region}" if kind == "copy" else f"wake-{kind}-{region}"
    return f"{stem}-{int(at.timestamp()) // BUCKET_SECONDS}"


def wake_event(region: str, at: dt.datetime, kind: str = "copy") -> dict[str, object]:
    """The timer-shaped payload of a wake: for copies, the partition form `{"regions": [...]}` reconcile
    already reads; for exports, a plain timer tick of export_batch (it follows, then starts, exports)."""
    when = at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == "copy":
        return {"triggerTime": when, "triggerName": "reconcile-wake", "payload": json.dumps({"regions": [region]})}
    return {"triggerTime": when, "triggerName": f"{kind}-wake", "payload": ""}


def delay_seconds(at: dt.datetime, now: dt.datetime) -> int:
    """Whole seconds from `now` to `at`, within FC's [1, 3600]."""
    return max(1, min(MAX_DELAY, math.ceil((at - now).total_seconds())))


def _when(raw: object) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None
    return value.replace(tzinfo=dt.timezone.utc) if value is not None and value.tzinfo is None else value


def copy_eta(record: Record, image: Image | None, now: dt.datetime, gib_per_minute: float) -> dt.datetime:
    """When the running copy of `record` should be Available (see the module docstring)."""
    target = CopyTarget.of(record)
    size = target.size_gib or (image.size_gib if image is not None else 0) or 1
    started = _when(record.data.get("started_at"))
    if started is not None and started <= now:
        eta = started + dt.timedelta(minutes=size / gib_per_minute)
        if eta > now:
            return eta + MARGIN
        progress = image.progress if image is not None else int(record.data.get("progress") or 0)
        if 0 < progress < 100:  # slower than the region's rate: extrapolate its own Progress
            elapsed = now - started
            return started + elapsed * (100 / progress) + MARGIN
    return now + dt.timedelta(minutes=size / gib_per_minute) + MARGIN


def progress_rate(records: Iterable[Record], copies: dict[str, Image], now: dt.datetime) -> float | None:
    """GiB per minute the region's running copies show (Progress x size over time since their start), or
    None without a copy in progress. Taken while copies run, it carries no lag from when a finished copy
    happened to be noticed (a rate from finished copies would, and each wake would then come later)."""
    gib = minutes = 0.0
    for record in records:
        image = copies.get(record.cloud_id or "")
        started = _when(record.data.get("started_at"))
        if record.state is not State.STARTED or image is None or started is None or not 0 < image.progress < 100:
            continue
        elapsed = (now - started).total_seconds() / 60
        size = CopyTarget.of(record).size_gib or image.size_gib
        if elapsed > 0 and size:
            gib += size * (image.progress + 0.5) / 100  # Progress is a whole percent, rounded down
            minutes += elapsed
    return gib / minutes if minutes > 0 and gib > 0 else None


def earliest_end(records: Iterable[Record], copies: dict[str, Image], now: dt.datetime,
                 gib_per_minute: float) -> dt.datetime | None:
    """The earliest expected end among the region's running copies (None: nothing running that ends)."""
    ends = [copy_eta(r, copies.get(r.cloud_id or ""), now, gib_per_minute) for r in records
            if r.state is State.STARTED and r.cloud_id]
    return min(ends) if ends else None


def scheduled_wake(ledger: Ledger, region: str) -> dt.datetime | None:
    """The region's remembered wake time, or None."""
    record = ledger.get(wake_key(region))
    return _when(record.data.get("at")) if record is not None else None


def region_is_due(records: list[Record], wake_at: dt.datetime | None, now: dt.datetime, per_region: int) -> bool:
    """Must a plain timer tick scan this destination region? No only when its wake is still ahead and
    nothing else can happen there before it: no copy to resume or build, no retry due, no free slot for a
    queued copy."""
    if wake_at is None or wake_at <= now:
        return True
    started = 0
    for record in records:
        if record.state is State.STARTED:
            if record.cloud_id is None:
                return True
            started += 1
        elif record.state is State.FAILED and record.retryable:
            if record.next_attempt_at is None or record.next_attempt_at <= now:
                return True
    queued = any(r.state is State.PENDING for r in records)
    return queued and started < per_region


def remembered_rate(ledger: Ledger, region: str, kind: str = "copy", name: str = "gib_per_minute") -> float | None:
    """What a region's tasks showed last time (kept in its wake record): GiB/min for copies, seconds
    per export for exports."""
    record = ledger.get(wake_key(region, kind))
    rate = record.data.get(name) if record is not None else None
    return float(rate) if isinstance(rate, (int, float)) and rate > 0 else None


def plan_wake(ledger: Ledger, waker: Waker, region: str, end: dt.datetime | None, now: dt.datetime,
              rate: float | None = None, *, name: str = "gib_per_minute") -> bool:
    """Schedule the region's wake at `end` unless one at least as early is already ahead; True if scheduled."""
    if end is None:
        return False
    at = now + dt.timedelta(seconds=delay_seconds(end, now))  # whole seconds, as FC delays
    kind = getattr(waker, "kind", "copy")
    record = ledger.get(wake_key(region, kind))
    current = _when(record.data.get("at")) if record is not None else None
    if current is not None and now + dt.timedelta(seconds=1) < current <= at + MARGIN:
        return False  # a wake no later than this one is already ahead
    scheduled = waker.schedule(region, at, now)
    data: dict[str, object] = {"at": at.isoformat(), "id": invocation_id(region, at, kind)}
    if rate is not None:
        data[name] = round(rate, 4)
    try:
        if record is None:
            ledger.ensure(Record(key=wake_key(region, kind), kind="wake", state=State.PENDING, created_at=now,
                                 updated_at=now, data=data))
        else:
            ledger.transition(record.key, record, data=data, updated_at=now)
    except (LedgerConflictError, CloudError):
        pass  # a concurrent tick wrote its own wake: either is fine, the timer is the safety net
    return scheduled


class FcWaker:
    """Schedules wakes as delayed, stateful async invocations of this same function through `FcGateway`."""

    def __init__(self, fc: object, service: str, function: str = "reconcile", kind: str = "copy") -> None:
        self.fc = fc
        self.kind = kind
        self.service = service
        self.function = function
        self.scheduled: list[tuple[str, dt.datetime]] = []

    def schedule(self, region: str, at: dt.datetime, now: dt.datetime) -> bool:
        payload = json.dumps(wake_event(region, at, self.kind)).encode()
        try:
            self.fc.invoke(self.service, self.function, payload, asynchronous=True,  # type: ignore[attr-defined]
                           invocation_id=invocation_id(region, at, self.kind), delay_seconds=delay_seconds(at, now))
        except CloudError as exc:
            if exc.code == "StatefulAsyncInvocationAlreadyExists":
                return False  # another tick scheduled this very wake
            log.warning("wake.not_scheduled", extra={"region": region, "at": at.isoformat(), **exc.log_fields()})
            return False
        self.scheduled.append((region, at))
        log.info("wake.scheduled", extra={"region": region, "at": at.isoformat(), "delay_s": delay_seconds(at, now)})
        return True
