"""Wake-ups at the ETA, the part every feature shares: a delayed, stateful FC invocation per (region, second)
of the function that follows the work, remembered in the ledger so a plain timer tick can leave a region to
its wake. What is due when is each feature's own estimate; the copy feature's lives in
shared/replication/wake.py (its module docstring tells the whole design).

Why a module of its own: ACR syncs, builds and exports schedule wakes too, and must not load the copy
feature's models to do so (a cold start pays for what it imports).
"""
from __future__ import annotations

import datetime as dt
import json
import math
from typing import Protocol

from shared.errors import CloudError, LedgerConflictError
from shared.ledger import Ledger
from shared.ledger.record import Record, State
from shared.logs import get_logger

log = get_logger(__name__)

MAX_DELAY = 3600  # x-fc-async-delay's documented maximum (help.aliyun.com/document_detail/181866)
MARGIN = dt.timedelta(seconds=5)
# Until a region's copies have shown a rate, its wake is at most one timer period ahead: a guessed rate
# could otherwise put a completion an hour out of sight.
UNMEASURED_HORIZON = dt.timedelta(minutes=5)  # wake just after the expected end, not just before it
BUCKET_SECONDS = 1  # one stateful id per (region, second of the wake): a coarser bucket would
# refuse (409) the next wake a wake tick schedules within the same bucket
FIRST_LOOK = dt.timedelta(minutes=1)  # no duration known: the first look at a task, then its age doubled
#: Kinds whose wake is a reconcile partition (the export wake is a plain export_batch tick).
RECONCILE_KINDS = ("copy", "acr", "build")


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
    already reads (with `"feature"` for ACR syncs and builds); for exports, a plain timer tick of
    export_batch (it follows, then starts, exports)."""
    when = at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind in RECONCILE_KINDS:
        scope: dict[str, object] = {"regions": [region]} if kind == "copy" else {"regions": [region], "feature": kind}
        name = "reconcile-wake" if kind == "copy" else f"reconcile-{kind}-wake"
        return {"triggerTime": when, "triggerName": name, "payload": json.dumps(scope)}
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

def task_eta(started: dt.datetime, now: dt.datetime, seconds: float | None) -> dt.datetime:
    """When a task without Progress (an ACR sync, a build) should end: its start plus the region's last
    measured duration while that is ahead, else its age doubled (at least `FIRST_LOOK`), never more than
    `UNMEASURED_HORIZON` ahead. Too early costs one scan; the doubling bounds how many."""
    if seconds is not None and started + dt.timedelta(seconds=seconds) > now:
        return started + dt.timedelta(seconds=seconds) + MARGIN
    age = max(now - started, dt.timedelta(0))
    return min(started + max(FIRST_LOOK, 2 * age), now + UNMEASURED_HORIZON) + MARGIN

def scheduled_wake(ledger: Ledger, region: str, kind: str = "copy") -> dt.datetime | None:
    """The region's remembered wake time, or None."""
    record = ledger.get(wake_key(region, kind))
    return _when(record.data.get("at")) if record is not None else None

def region_woken(ledger: Ledger, region: str, kind: str, now: dt.datetime) -> bool:
    """True while the region's `kind` wake is still ahead: a plain timer tick leaves its tasks in flight to
    that wake (which scans them) instead of listing them now."""
    wake_at = scheduled_wake(ledger, region, kind)
    return wake_at is not None and wake_at > now


def remembered_rate(ledger: Ledger, region: str, kind: str = "copy", name: str = "gib_per_minute") -> float | None:
    """What a region's tasks showed last time (kept in its wake record): GiB/min for copies, seconds
    per export, sync task or build for the others."""
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
