"""The pure core of export batches and of following exports: values in, actions out.

The batch runs only for rules whose window is open at the tick's "now" (the timer's triggerTime),
so the same event gives the same decision. Per (rule, region) at most `max_concurrent` exports are
in flight: in-flight is counted from the ledger (STARTED records), the oldest intents start first,
and concurrent ticks claiming the same records by compare-and-set cannot both win one.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.apply import CLAIM_LEASE, Step, at_version
from shared.clouds.ecs_types import ExportTask, Image
from shared.exports.targets import ExportTarget, refusal, targets_for
from shared.ledger.record import Record, State
from shared.policy import Policy


@dataclass(frozen=True)
class RecordExport(Step):
    """A matching image has no export record: write the intent (PENDING), or a final skip."""

    target: ExportTarget
    skip_reason: str | None = None
    manifest: str | None = None


@dataclass(frozen=True)
class StartExport(Step):
    """Claim PENDING → STARTED and call ExportImage."""

    target: ExportTarget


@dataclass(frozen=True)
class RecoverExport(Step):
    """STARTED without a TaskId past its lease: adopt the image's running export, or requeue."""

    target: ExportTarget


@dataclass(frozen=True)
class TrackExport(Step):
    """The task is still running: remember its progress."""

    process: int


@dataclass(frozen=True)
class ConcludeExport(Step):
    """The task ended (Finished or Failed): read its attribute; success writes the manifest (DONE),
    failure records the task's error code (FAILED)."""

    target: ExportTarget
    task_id: str


@dataclass(frozen=True)
class FailExport(Step):
    """The task failed, was cancelled, or vanished; `cancelled` ends CANCELLED instead of FAILED."""

    reason: str
    cancelled: bool = False


ExportAction = RecordExport | StartExport | RecoverExport | TrackExport | ConcludeExport | FailExport


def target_of(record: Record) -> ExportTarget:
    """The export target a record was written for."""
    return ExportTarget.of(record)


def open_rules(policy: Policy, now: dt.datetime) -> list[str]:
    """Names of export rules whose window is open at `now` (a rule without a window is always open)."""
    return [r.name for r in policy.export_rules if r.window is None or policy.window(r.window).contains(now)]


def plan_batch(
    policy: Policy,
    records: Iterable[Record],
    images: Iterable[Image],
    exported: Mapping[str, str],
    now: dt.datetime,
) -> list[ExportAction]:
    """One batch tick: intents for new images, then starts up to each (rule, region)'s limit.

    `images` are the scanned source images; `exported` maps an image id to the manifest key found in
    its bucket (the second guard, for a ledger that lost its records).
    """
    rules = set(open_rules(policy, now))
    records = list(records)
    known = {r.key for r in records}
    actions: list[ExportAction] = []
    for image in sorted(images, key=lambda i: (i.region, i.image_id)):
        if image.status != "Available":
            continue
        for target in targets_for(policy, image):
            if target.rule not in rules or target.key in known:
                continue
            known.add(target.key)
            manifest = exported.get(f"{target.bucket}/{target.object_prefix}")
            actions.append(RecordExport(target.key, target, skip_reason=refusal(image), manifest=manifest))
    pending: list[tuple[dt.datetime, str, ExportTarget, int | None]] = [
        (r.created_at, r.key, target_of(r), r.version) for r in records if r.state is State.PENDING]
    # an intent written by this same plan is at version 1 once RecordExport has created it
    pending += [(now, a.key, a.target, 1) for a in actions
                if isinstance(a, RecordExport) and a.skip_reason is None and a.manifest is None]
    in_flight = Counter((target_of(r).rule, target_of(r).region) for r in records if r.state is State.STARTED)
    for _, key, target, version in sorted(pending, key=lambda p: (p[0], p[1])):
        slot = (target.rule, target.region)
        if target.rule in rules and in_flight[slot] < target.max_concurrent:
            in_flight[slot] += 1
            actions.append(StartExport(key, target, version=version))
    return actions


def plan_follow(records: Iterable[Record], tasks: Mapping[str, ExportTask], scanned: frozenset[str],
                now: dt.datetime) -> list[ExportAction]:
    """Follow STARTED exports from one DescribeTasks listing per region (`tasks` by TaskId)."""
    actions: list[ExportAction] = []
    for record in records:
        action = _follow(record, tasks, scanned, now)
        if action is not None:
            actions.append(at_version(action, record))
    return actions


def _follow(record: Record, tasks: Mapping[str, ExportTask], scanned: frozenset[str],
            now: dt.datetime) -> ExportAction | None:
    """The one next step for a STARTED export, or None."""
    if record.state is not State.STARTED:
        return None
    target = target_of(record)
    if target.region not in scanned:
        return None
    if record.cloud_id is None:
        claimed = dt.datetime.fromisoformat(record.data.get("claimed_at") or now.isoformat())
        return RecoverExport(record.key, target) if now - claimed >= CLAIM_LEASE else None
    task = tasks.get(record.cloud_id)
    if task is None:
        return FailExport(record.key, f"export task {record.cloud_id} is no longer listed in "
                                      f"{target.region}; export the image again by hand")
    if task.running:
        return TrackExport(record.key, task.process) if task.process != record.data.get("process") else None
    if task.status in ("Cancelled", "Canceled"):
        return FailExport(record.key, f"export task {task.task_id} was cancelled", cancelled=True)
    return ConcludeExport(record.key, target, task.task_id)
