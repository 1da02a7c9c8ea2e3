"""The per-destination-region copy queue: admission order, windows, position and ETA (pure).

Order inside a region: higher rule priority first; at equal priority, round-robin across rules
(the n-th queued copy of every rule before the (n+1)-th of any), then oldest first, so one busy
rule cannot starve another and images of a rule go first-come first-served.
ETAs simulate the region's slots: running copies finish at their observed rate, then queued ones
take the earliest free slot in queue order. The rate is the region's observed GiB per minute over
recently finished copies, or the policy's `copy_limits.gib_per_minute` before any was seen.
"""
from __future__ import annotations

import datetime as dt
import heapq
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from shared.ledger.record import Record, State
from shared.policy import Policy
from shared.replication.targets import CopyTarget


@dataclass(frozen=True)
class QueueEntry:
    """Where a queued copy stands in its destination region."""

    key: str
    region: str
    position: int
    eta: dt.datetime | None
    waiting_for_window: str | None = None


def _target(record: Record) -> CopyTarget:
    return CopyTarget.of(record)


def window_closed(policy: Policy, rule_name: str, now: dt.datetime) -> str | None:
    """The name of the window an off-peak rule waits for, or None when it may start now."""
    rule = policy.copy_rule(rule_name)
    if rule is None or rule.schedule != "off-peak" or rule.window is None:
        return None
    return None if policy.window(rule.window).contains(now) else rule.window


def fairness_order(records: Iterable[Record], policy: Policy) -> list[Record]:
    """Queued records in the order they may start, per the module docstring."""
    by_group: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.created_at, r.key)):
        target = _target(record)
        by_group[(target.rule, target.target_region)].append(record)
    ranked = []
    for (rule_name, _), group in by_group.items():
        rule = policy.copy_rule(rule_name)
        priority = rule.priority if rule else 5
        ranked += [(-priority, rank, r.created_at, r.key, r) for rank, r in enumerate(group)]
    return [item[-1] for item in sorted(ranked, key=lambda x: x[:4])]


def observed_rate(records: Iterable[Record], region: str, default: float, recent: int = 20) -> float:
    """GiB per minute of the region's last `recent` finished copies (`started_at` → `done_at`)."""
    samples = []
    for record in records:
        data = record.data
        if record.state is State.DONE and data.get("started_at") and data.get("done_at"):
            target = _target(record)
            if target.target_region != region or not target.size_gib:
                continue
            minutes = (dt.datetime.fromisoformat(data["done_at"]) -
                       dt.datetime.fromisoformat(data["started_at"])).total_seconds() / 60
            if minutes > 0:
                samples.append((data["done_at"], target.size_gib / minutes))
    samples = sorted(samples)[-recent:]
    return sum(rate for _, rate in samples) / len(samples) if samples else default


def queue_view(records: Iterable[Record], policy: Policy, now: dt.datetime) -> dict[str, QueueEntry]:
    """Position and ETA of every queued (PENDING) copy, by destination region."""
    records = [r for r in records if r.key.startswith("copy/")]
    limit = policy.copy_limits.per_region
    out: dict[str, QueueEntry] = {}
    by_region: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        by_region[_target(record).target_region].append(record)
    for region, group in by_region.items():
        rate = observed_rate(group, region, policy.copy_limits.gib_per_minute)
        slots = []
        for record in group:
            if record.state is State.STARTED:
                target = _target(record)
                left = target.size_gib * (100 - int(record.data.get("progress") or 0)) / 100
                slots.append(now + dt.timedelta(minutes=left / rate))
        slots = sorted(slots)[:limit] + [now] * max(0, limit - len(slots))
        heapq.heapify(slots)
        queued = fairness_order([r for r in group if r.state is State.PENDING], policy)
        for position, record in enumerate(queued, start=1):
            target = _target(record)
            waiting = window_closed(policy, target.rule, now)
            start = heapq.heappop(slots)
            if waiting is not None:
                start = max(start, policy.window(waiting).next_start(now))
            eta = start + dt.timedelta(minutes=target.size_gib / rate)
            heapq.heappush(slots, eta)
            out[record.key] = QueueEntry(record.key, region, position, eta, waiting)
    return out
