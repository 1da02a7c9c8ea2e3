"""The export use cases against injected adapters: the batch, follow-up, export-now and cancel.

A batch first follows running exports (so slots freed since the last tick count), then plans, then
applies, or with `dry_run` renders the same plan and applies nothing. Outside every rule's window it
makes no API call at all.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from shared.clouds.ecs_types import ExportTask, Image
from shared.context import FeatureContext
from shared.errors import CloudError, ConfigError, EventValidationError, LedgerConflictError
from shared.events.exports import BatchRequest, CancelExport, ExportNow
from shared.exports.executor import ExportEcs, ExportExecutor, ExportOss, new_export_record
from shared.exports.manifest import MANIFEST_SUFFIX
from shared.exports.planner import (
    RecordExport,
    open_rules,
    plan_batch,
    plan_follow,
    target_of,
)
from shared.exports.targets import refusal, targets_for
from shared.ledger import Ledger, keys
from shared.ledger.record import Record, State
from shared.logs import get_logger
from shared.render import render_action
from shared.wakeups import UNMEASURED_HORIZON, Waker, plan_wake, region_woken, remembered_rate

log = get_logger(__name__)


class ExportEcsApi(ExportEcs, Protocol):
    """The slice of `EcsGateway` the export use cases need: the executor's, and finding images."""

    calls: int

    def list_images(self, region: str, **filters: Any) -> list[Image]: ...

    def get_image(self, region: str, image_id: str) -> Image | None: ...


class ExportOssApi(ExportOss, Protocol):
    """The slice of `OssGateway` the export use cases need: the executor's, counted."""

    calls: int


@dataclass(kw_only=True)
class ExportContext(FeatureContext):
    """Everything an export use case needs, injected; ``owner`` names the claiming invocation."""

    adapters: ClassVar[dict[str, str]] = {"ecs": "ecs", "oss": "oss"}

    ecs: ExportEcsApi
    oss: ExportOssApi
    owner: str = ""
    waker: Waker | None = None  # wake-ups at the expected export end (shared/replication/wake.py)

    def executor(self) -> ExportExecutor:
        return ExportExecutor(self.ecs, self.oss, self.ledger, now=self.now, owner=self.owner,
                              deadline=self.deadline)

    def calls(self) -> int:
        return self.ecs.calls + self.oss.calls


def _view(record: Record) -> dict[str, Any]:
    target = target_of(record)
    return {"key": record.key, "rule": target.rule, "image_id": target.image_id, "format": target.image_format,
            "bucket": target.bucket, "state": record.state.value, "task_id": record.cloud_id,
            "process": record.data.get("process"), "reason": record.reason,
            "manifest": record.data.get("manifest")}


def follow_exports(ctx: ExportContext, *, leave_woken: bool = False, now: dt.datetime | None = None) -> dict[str, Any]:
    """One DescribeTasks listing per region with running exports; conclude what ended.

    `leave_woken` (a plain tick, reconcile's or export_batch's own timer, with wake-ups on): a region whose
    export_batch wake is still ahead is left to that wake, which follows its exports at their expected end;
    `now` (default the context's clock) is the tick's time that wake is compared with."""
    started = [r for r in ctx.ledger.scan("export/") if r.state is State.STARTED]
    by_region: dict[str, list[str]] = defaultdict(list)
    for record in started:
        by_region[target_of(record).region].extend([record.cloud_id] if record.cloud_id else [])
    if leave_woken:
        now = now or ctx.now()
        for region in [r for r in by_region if region_woken(ctx.ledger, r, "export", now)]:
            del by_region[region]
            started = [r for r in started if target_of(r).region != region]
    tasks: dict[str, ExportTask] = {}
    scanned: set[str] = set()
    for region, task_ids in sorted(by_region.items()):
        try:
            if task_ids:
                tasks.update({t.task_id: t for t in ctx.ecs.iter_export_tasks(region, task_ids=task_ids)})
            scanned.add(region)
        except CloudError as exc:
            log.warning("export.scan_failed", extra={"region": region, **exc.log_fields()})
    outcomes = ctx.executor().apply(plan_follow(started, tasks, frozenset(scanned), ctx.now()))
    return dict(sorted(outcomes.items()))


def _manifests(ctx: ExportContext, candidates: list[RecordExport]) -> dict[str, str]:
    """Second guard: `bucket/<prefix>_<image>_` → manifest key, for images the ledger does not know."""
    found: dict[str, str] = {}
    listings = {(a.target.region, a.target.bucket, a.target.oss_prefix) for a in candidates}
    for region, bucket, prefix in sorted(listings):
        for obj in ctx.oss.iter_objects(region, bucket, f"{prefix}_"):
            if obj.key.endswith(MANIFEST_SUFFIX):
                image_id = obj.key[len(prefix) + 1:].split("_", 1)[0]
                found[f"{bucket}/{prefix}_{image_id}_"] = obj.key
    return found


def run_batch(ctx: ExportContext, request: BatchRequest) -> dict[str, Any]:
    """One off-peak batch tick (timer, or by hand with `dry_run`)."""
    now = request.now or ctx.now()
    calls_before = ctx.calls()
    rules = open_rules(ctx.policy, now)
    summary: dict[str, Any] = {"now": now.isoformat(), "dry_run": request.dry_run, "open_rules": rules}
    if not rules:
        return {**summary, "status": "outside_window", "api_calls": 0}
    # with wake-ups, a region whose wake is still ahead is left to it (the wake runs this batch at the exports'
    # expected end): the timer's cost follows the regions with something due, not every region exporting
    followed = {} if request.dry_run else follow_exports(ctx, leave_woken=ctx.waker is not None, now=now)
    regions = sorted({r for rule in ctx.policy.export_rules if rule.name in rules for r in rule.source_regions})
    images = [i for region in regions for i in ctx.ecs.list_images(region, statuses=("Available",))]
    records = list(ctx.ledger.scan("export/"))
    first = plan_batch(ctx.policy, records, images, {}, now)
    new = [a for a in first if isinstance(a, RecordExport) and a.skip_reason is None]
    actions = plan_batch(ctx.policy, records, images, _manifests(ctx, new), now) if new else first
    if request.dry_run:
        return {**summary, "status": "planned", "plan": [render_action(a) for a in actions],
                "api_calls": ctx.calls() - calls_before}
    # the batch's clock is its trigger time, so a start and the wake that follows it share one clock
    outcomes = dataclasses.replace(ctx, now=lambda: now).executor().apply(actions)
    after = list(ctx.ledger.scan("export/"))
    states = Counter(r.state.value for r in after)
    result = {**summary, "status": "ok", "followed": followed, "actions": dict(sorted(outcomes.items())),
              "records": dict(sorted(states.items())), "api_calls": ctx.calls() - calls_before}
    if ctx.waker is not None:
        result["wakes"] = schedule_export_wakes(ctx.ledger, ctx.waker, after, now)
    log.info("export_batch.finished", extra=result)
    return result


def export_now(ctx: ExportContext, request: ExportNow) -> dict[str, Any]:
    """Export one image now, outside its window and its rule's limit (ECS's own quota still applies)."""
    summary: dict[str, Any] = {"action": "export", "region": request.region, "image_id": request.image_id}
    rules = [r for r in ctx.policy.export_rules if request.rule in (None, r.name)]
    if request.rule is not None and not rules:
        raise ConfigError(f"no export rule named {request.rule!r} (known: "
                          f"{', '.join(r.name for r in ctx.policy.export_rules) or 'none'})", field="rule")
    if not any(request.region in r.source_regions for r in rules):
        # Checked before any call (issue #10, defect 12): a region no rule exports from is bad input.
        raise EventValidationError(f"no export rule{' ' + repr(request.rule) if request.rule else ''} has "
                                   f"source region {request.region!r}", field="region")
    image = ctx.ecs.get_image(request.region, request.image_id)
    if image is None:
        return {**summary, "status": "source_not_found", "exports": []}
    targets = [t for t in targets_for(ctx.policy, image) if request.rule in (None, t.rule)]
    if not targets:
        return {**summary, "status": "no_matching_rule", "exports": []}
    executor, reason = ctx.executor(), refusal(image)
    views = []
    for target in targets:
        record, _ = ctx.ledger.ensure(new_export_record(RecordExport(target.key, target, skip_reason=reason),
                                                        ctx.now()))
        if record.state is State.FAILED and not record.data.get("skipped"):
            record = ctx.ledger.transition(record.key, record, state=State.PENDING, force=True, reason=None)
        if record.state is State.PENDING and image.status == "Available":
            try:
                record = executor.start(record, target)
            except LedgerConflictError:
                record = ctx.ledger.get(record.key) or record
        views.append(_view(record))
    return {**summary, "status": "accepted", "exports": views}


def cancel_export(ctx: ExportContext, request: CancelExport) -> dict[str, Any]:
    """Cancel the image's exports: CancelTask for running ones, a ledger mark for queued ones."""
    prefix = keys.prefix(keys.EXPORT, request.region, request.image_id)
    views = []
    for record in ctx.ledger.scan(prefix):
        if request.format not in (None, target_of(record).image_format) or not record.is_active:
            continue
        if record.state is State.STARTED:
            if record.cloud_id is None:
                views.append({**_view(record), "note": "being started right now; cancel again in a minute"})
                continue
            ctx.ecs.cancel_task(request.region, record.cloud_id)
        record = ctx.ledger.transition(record.key, record, state=State.CANCELLED, reason="cancelled by request")
        views.append(_view(record))
    return {"action": "cancel_export", "region": request.region, "image_id": request.image_id,
            "status": "cancelled" if views else "nothing_to_cancel", "exports": views}


EXPORT_FIRST_LOOK = dt.timedelta(minutes=1)  # no duration known yet: look once early, to read its Progress


def schedule_export_wakes(ledger: Ledger, waker: Waker, records: list[Record], now: dt.datetime) -> list[str]:
    """One wake of export_batch per source region at its earliest expected export end: from the task's
    Progress over its elapsed time, else the region's last measured duration, else a first look in a
    minute (and, past a guess, within `UNMEASURED_HORIZON`). A wrong guess costs one extra batch tick."""
    by_region: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        if record.state is State.STARTED and record.cloud_id and record.data.get("started_at"):
            by_region[target_of(record).region].append(record)
    scheduled = []
    for region, running in sorted(by_region.items()):
        known = remembered_rate(ledger, region, "export", "seconds")
        ends, samples = [], []
        for record in running:
            started = dt.datetime.fromisoformat(str(record.data["started_at"]))
            started = started if started.tzinfo else started.replace(tzinfo=dt.timezone.utc)
            elapsed = (now - started).total_seconds()
            process = int(record.data.get("process") or 0)
            if 0 < process < 100 and elapsed > 0:
                seconds = elapsed * 100 / (process + 0.5)  # Progress is a whole percent, rounded down
                samples.append(seconds)
                ends.append(started + dt.timedelta(seconds=seconds))
            elif known is not None and started + dt.timedelta(seconds=known) > now:
                ends.append(started + dt.timedelta(seconds=known))
            elif known is None and elapsed < EXPORT_FIRST_LOOK.total_seconds():
                ends.append(started + EXPORT_FIRST_LOOK)  # one early look per export, to read its Progress
            else:
                ends.append(now + UNMEASURED_HORIZON)  # no Progress to go by: the timer's own pace
        measured = sum(samples) / len(samples) if samples else None
        end = min(ends) + dt.timedelta(seconds=5)
        if plan_wake(ledger, waker, region, end, now, measured, name="seconds"):
            scheduled.append(region)
    return scheduled
