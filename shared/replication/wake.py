"""Wake at the ETA: one delayed reconcile per region at the earliest expected end of its work in flight.

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
- The same holds for the other work reconcile follows (kinds, one wake record each: `wake/<kind>/<region>`):
  snapshot copies (the copy wake; Progress and RemainTime of DescribeSnapshots), ACR sync tasks (`acr`, by
  source region: ListRepoSyncTask gives no progress, so the region's last measured duration, from a
  finished task's CreateTime to its ModifiedTime) and Image Builder builds (`build`, by template region:
  the last measured duration from CreationTime to ModifiedTime). Without a measured duration the wake
  doubles the task's age (`task_eta`: a first look after a minute, then 2, 4, 8...), within one timer period.
  Their wakes are reconcile partitions too: `{"regions": [r], "feature": "acr"|"build"}`.
- A wrong estimate costs one extra scan (too early: the wake tick estimates again from fresher
  Progress) or some latency (too late, or a lost wake: the 5-minute timer still scans a region whose
  wake is overdue); never a missed completion.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from shared.clouds.ecs_types import Image, Snapshot
from shared.ledger.record import Record, State
from shared.replication.targets import CopyTarget
from shared.wakeups import (  # noqa: F401 - the shared part, re-exported for the copy feature's callers
    BUCKET_SECONDS,
    FIRST_LOOK,
    MARGIN,
    MAX_DELAY,
    RECONCILE_KINDS,
    UNMEASURED_HORIZON,
    FcWaker,
    Waker,
    _when,
    delay_seconds,
    invocation_id,
    plan_wake,
    region_woken,
    remembered_rate,
    scheduled_wake,
    task_eta,
    wake_event,
    wake_key,
)


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


def snapshot_eta(record: Record, snapshots: dict[str, Snapshot], now: dt.datetime,
                 gib_per_minute: float) -> dt.datetime:
    """When the snapshot copies of `record` (the >2 TiB path) should all be accomplished: the latest of
    each copy's RemainTime, else its Progress over the time since the record's start, else its size at
    the region's rate (at most `UNMEASURED_HORIZON` ahead: a guessed rate)."""
    started = _when(record.data.get("started_at"))
    ends = []
    for item in record.data.get("snapshots") or []:
        snapshot = snapshots.get(str(item.get("copy") or ""))
        if snapshot is not None and snapshot.status == "accomplished":
            continue
        if snapshot is not None and snapshot.remain_seconds > 0:
            ends.append(now + dt.timedelta(seconds=snapshot.remain_seconds))
        elif snapshot is not None and started is not None and started < now and 0 < snapshot.progress < 100:
            ends.append(started + (now - started) * (100 / snapshot.progress))
        else:
            minutes = float(item.get("size_gib") or 1) / gib_per_minute
            ends.append(min(now + dt.timedelta(minutes=minutes), now + UNMEASURED_HORIZON))
    return (max(ends) if ends else now) + MARGIN

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


def copying_snapshots(record: Record) -> bool:
    """A started copy on the snapshot path whose snapshot copies all have ids (what a wake can follow)."""
    items = record.data.get("snapshots") or []
    return (record.state is State.STARTED and record.cloud_id is None and bool(items)
            and all(item.get("copy") for item in items))


def earliest_end(records: Iterable[Record], copies: dict[str, Image], now: dt.datetime,
                 gib_per_minute: float, snapshots: dict[str, Snapshot] | None = None) -> dt.datetime | None:
    """The earliest expected end among the region's running copies and snapshot copies (None: nothing
    running that ends)."""
    ends = []
    for r in records:
        if r.state is State.STARTED and r.cloud_id:
            ends.append(copy_eta(r, copies.get(r.cloud_id), now, gib_per_minute))
        elif copying_snapshots(r):
            ends.append(snapshot_eta(r, snapshots or {}, now, gib_per_minute))
    return min(ends) if ends else None

def region_is_due(records: list[Record], wake_at: dt.datetime | None, now: dt.datetime, per_region: int) -> bool:
    """Must a plain timer tick scan this destination region? No only when its wake is still ahead and
    nothing else can happen there before it: no copy to resume or build, no retry due, no free slot for a
    queued copy."""
    if wake_at is None or wake_at <= now:
        return True
    started = 0
    for record in records:
        if record.state is State.STARTED:
            if record.cloud_id is None and not copying_snapshots(record):
                return True
            started += 1
        elif record.state is State.FAILED and record.retryable:
            if record.next_attempt_at is None or record.next_attempt_at <= now:
                return True
    queued = any(r.state is State.PENDING for r in records)
    return queued and started < per_region

