"""The two use cases of cross-region copy, written against injected adapters.

`handle_image_created` answers one event; `reconcile_tick` drives every record one step on.
Handlers only decode, wire and encode around these, so tests, the demo and the CLI call them too.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from shared.apply import Backoff
from shared.clouds.ecs_types import CopyImageSpec, Image, ImageFromSnapshotsSpec, Snapshot, SnapshotCopySpec
from shared.context import FeatureContext
from shared.errors import CloudError, EventValidationError, LedgerConflictError
from shared.events.models import ImageCreated
from shared.ledger.keys import COPY, event_key, prefix
from shared.ledger.record import Record, State
from shared.logs import get_logger
from shared.replication.executor import CopyExecutor, new_record
from shared.replication.planner import (
    Observed,
    RecordIntent,
    Retry,
    order_starts,
    plan_record,
    plan_tick,
    regions_to_scan,
)
from shared.replication.provenance import MANAGED_FILTER
from shared.replication.queue import window_closed
from shared.replication.targets import CopyTarget, targets_for
from shared.replication.wake import (
    UNMEASURED_HORIZON,
    Waker,
    copying_snapshots,
    earliest_end,
    plan_wake,
    progress_rate,
    region_is_due,
    remembered_rate,
    scheduled_wake,
)

if TYPE_CHECKING:  # a person's requests: their models load with the request, not with every tick
    from shared.events.copy_requests import CancelCopy, RetryFailed

log = get_logger(__name__)


class EcsApi(Protocol):
    """The slice of `shared.clouds.ecs.EcsGateway` the use cases need."""

    calls: int

    def get_image(self, region: str, image_id: str) -> Image | None: ...

    def list_images(self, region: str, **filters: Any) -> list[Image]: ...

    def copy_image(self, spec: CopyImageSpec) -> str: ...

    def cancel_copy(self, destination_region: str, image_id: str) -> None: ...

    def copy_snapshot(self, spec: SnapshotCopySpec) -> str: ...

    def iter_snapshots(self, region: str, *, tags: dict[str, str] | None = None) -> Iterator[Snapshot]: ...

    def create_image_from_snapshots(self, spec: ImageFromSnapshotsSpec) -> str: ...

    def delete_snapshot(self, region: str, snapshot_id: str) -> None: ...

    def delete_image(self, region: str, image_id: str, *, force: bool = False) -> None: ...

    def share_image(self, region: str, image_id: str, *, add: list[str] | None = None,
                    remove: list[str] | None = None) -> None: ...


@dataclass(kw_only=True)
class CopyContext(FeatureContext):
    """Everything a use case needs, injected (real adapters in FC, the same against the emulator)."""

    adapters: ClassVar[dict[str, str]] = {"ecs": "ecs"}

    ecs: EcsApi
    backoff: Backoff = Backoff()
    waker: Waker | None = None  # wake-ups at the ETA (shared/replication/wake.py); None: the timer only

    def executor(self) -> CopyExecutor:
        return CopyExecutor(self.ecs, self.ledger, now=self.now, backoff=self.backoff, deadline=self.deadline,
                            limits=self.policy.copy_limits)


def _target_view(record: Record) -> dict[str, Any]:
    target = CopyTarget.of(record)
    return {
        "key": record.key,
        "rule": target.rule,
        "target_region": target.target_region,
        "name": target.name,
        "encrypted": target.encrypted,
        "state": record.state.value,
        "copy_image_id": record.cloud_id,
        "reason": record.reason,
    }


def handle_image_created(event: ImageCreated, ctx: CopyContext) -> dict[str, Any]:
    """Record one intent per target region of every matching rule; start copies if the source is ready.

    A redelivered event (same CloudEvent id) is a no-op. The event id is remembered only after the
    intents are written, so a crash in between loses nothing: the redelivery redoes the same
    idempotent writes.
    """
    summary: dict[str, Any] = {"event_id": event.event_id, "region": event.region, "image_id": event.image_id}
    if not any(event.region in rule.source_regions for rule in ctx.policy.copy_rules):
        # Outside the policy: no call, no write, not even the event id (issue #10, defect 12). A person
        # naming such a region made a mistake: bad input, not a cloud error.
        if event.source == "manual":
            raise EventValidationError(f"no copy rule has source region {event.region!r}", field="region")
        log.info("image.ignored", extra={**summary, "status": "no_matching_rule"})
        return {**summary, "status": "no_matching_rule", "targets": []}
    if event.event_id and ctx.ledger.get(event_key(event.event_id)) is not None:
        return {**summary, "status": "duplicate", "targets": []}
    image = ctx.ecs.get_image(event.region, event.image_id)
    if image is None:
        # Not remembered: a redelivery may find it, and the reconcile sweep will.
        return {**summary, "status": "source_not_found", "targets": []}
    summary["source_status"] = image.status
    if image.owner_alias not in ("self", ""):
        # ECS copies only the account's own images across regions (alibaba-api.md §1.1).
        return {**summary, "status": "not_owned", "owner_alias": image.owner_alias, "targets": []}
    executor = ctx.executor()
    records = []
    for target in targets_for(ctx.policy, image):
        record, _ = ctx.ledger.ensure(new_record(target, ctx.now(), image.status))
        if event.source == "manual" and record.state is State.FAILED:
            # A person asked again: re-open the failure, removing a failed copy first.
            executor.apply([Retry(record.key, record.data.get("failed_copy"), by_person=True, version=record.version)])
            record = ctx.ledger.get(record.key) or record
        if record.state is State.PENDING and image.status == "Available" and (
                window_closed(ctx.policy, target.rule, ctx.now()) is None):
            try:
                executor.start(record, target, record.attempt + 1)
            except LedgerConflictError:
                pass  # a concurrent delivery claimed it first
            except CloudError as exc:
                log.warning("copy.deferred", extra={"key": record.key, **exc.log_fields()})
        records.append(ctx.ledger.get(record.key) or record)
    accounts: list[dict[str, Any]] = []
    if any(rule.accounts for rule in ctx.policy.copy_rules):  # issue #13: the partners' hops
        from shared.accounts.service import record_account_intents  # loaded only with account targets

        accounts = record_account_intents(ctx.ledger, ctx.policy, image, ctx.now())
    if event.event_id:
        ctx.ledger.remember_event(event.event_id)
    status = "accepted" if records or accounts else "no_matching_rule"
    log.info("image.accepted", extra={**summary, "status": status, "targets": len(records)})
    result = {**summary, "status": status, "targets": [_target_view(r) for r in records]}
    return {**result, "accounts": accounts} if accounts else result


def observe(ctx: CopyContext, sources: set[str], destinations: set[str],
            snapshot_regions: set[str] | None = None, *, sources_required: bool = True,
            copy_ids: dict[str, list[str]] | None = None) -> Observed:
    """Paged region scans: one listing per source region, one per destination region, and one snapshot
    listing per region where the snapshot path is copying disks.

    A destination region in `copy_ids` is described by those ImageIds (100 a call) instead of by the
    managed-copy tag: the tag listing grows with every copy ever made there, the running ones do not."""
    seen: dict[tuple[str, str], Image] = {}
    scanned: set[str] = set()
    for region in sorted(sources):
        try:
            for image in ctx.ecs.list_images(region):
                seen[(region, image.image_id)] = image
            scanned.add(region)
        except CloudError as exc:
            log.warning("scan.failed", extra={"region": region, **exc.log_fields()})
    copies: dict[str, dict[str, Image]] = {}
    for region in sorted(destinations):
        try:
            ids = (copy_ids or {}).get(region)
            if ids is None:
                copies[region] = {i.image_id: i for i in ctx.ecs.list_images(region, tags=MANAGED_FILTER)}
            else:
                copies[region] = {i.image_id: i for n in range(0, len(ids), ID_BATCH)
                                  for i in ctx.ecs.list_images(region, image_id=",".join(ids[n:n + ID_BATCH]),
                                                               owner_alias=None)}
        except CloudError as exc:
            log.warning("scan.failed", extra={"region": region, **exc.log_fields()})
    snapshots: dict[str, dict[str, Snapshot]] = {}
    for region in sorted(snapshot_regions or ()):
        try:
            snapshots[region] = {s.snapshot_id: s for s in ctx.ecs.iter_snapshots(region, tags=MANAGED_FILTER)}
        except CloudError as exc:
            log.warning("scan.failed", extra={"region": region, **exc.log_fields()})
    return Observed(sources=seen, scanned_sources=frozenset(scanned), copies=copies, snapshots=snapshots,
                    sources_required=sources_required)


ID_BATCH = 100  # DescribeImages takes up to 100 comma-separated ImageIds (the PageSize maximum)


def _running_copy_ids(records: list[Record], destinations: set[str]) -> dict[str, list[str]]:
    """The ImageIds of the running copies per destination region, for regions where they are all known.

    A region with a copy started but not yet given an ImageId (a crash between the claim and CopyImage's
    answer) keeps the tag listing: that is how such a copy is found and adopted."""
    ids: dict[str, list[str]] = {}
    unknown: set[str] = set()
    for record in records:
        region = CopyTarget.of(record).target_region
        if region not in destinations or record.state is not State.STARTED:
            continue
        if record.cloud_id:
            ids.setdefault(region, []).append(record.cloud_id)
        elif not record.data.get("snapshots"):
            unknown.add(region)
    return {region: sorted(found) for region, found in ids.items() if region not in unknown}


def active_destinations(records: list[Record]) -> list[str]:
    """Destination regions with copy work left (queued, running or due for a retry), read from the keys
    (``copy/<src>/<image>/<dst>``): the fan-out's parent need not validate 10,000 payloads to group them."""
    return sorted({r.key.rsplit("/", 1)[-1] for r in records
                   if r.is_active or (r.state is State.FAILED and r.retryable)})


def reconcile_tick(ctx: CopyContext, scope: set[str] | None = None, *, sweep_sources: bool = True,
                   active: tuple[list[Record], dict[str, State]] | None = None,
                   known_keys: set[str] | None = None) -> dict[str, Any]:
    """Drive every copy record one step, and sweep for matching images that never sent an event.

    `scope` limits the tick to copies into those destination regions (a fanned-out partition or a
    wake-up); `sweep_sources=False` skips the sweep (the parent tick sweeps once for all partitions) and
    lists a source region only for queued copies whose source was not seen Available.
    With `ctx.waker`, a plain tick skips destination regions whose wake is still ahead and that have
    nothing else to do, and every scanned region gets one wake at its earliest expected copy end.
    `known_keys`: keys of records outside the scope that exist (the fan-out's sweep), so the sweep leaves
    them alone.
    """
    calls_before = ctx.ecs.calls
    now = ctx.now()
    # A tick reads the active records once (`active`: the caller's read) and never the finished ones: on
    # OSS those are known from the listing alone (Ledger.finished_states), for the sweep and the summary.
    if scope is None:
        records, finished = active if active is not None else ctx.ledger.active_and_finished("copy/")
    else:  # copy keys end with the destination region: read only the scope's records
        records, finished = list(ctx.ledger.scan_active("copy/", lambda key: key.rsplit("/", 1)[-1] in scope)), {}
    sources, destinations = regions_to_scan(records, ctx.policy)
    if not sweep_sources:
        sources = {CopyTarget.of(r).source_region for r in records
                   if r.state is State.PENDING and r.data.get("source_status") != "Available"}
    by_region: dict[str, list[Record]] = {}
    for record in records:
        by_region.setdefault(CopyTarget.of(record).target_region, []).append(record)
    skipped: list[str] = []
    if ctx.waker is not None and scope is None:
        limit = ctx.policy.copy_limits.per_region
        skipped = sorted(r for r in destinations
                         if not region_is_due(by_region.get(r, []), scheduled_wake(ctx.ledger, r), now, limit))
        destinations -= set(skipped)
    building = {CopyTarget.of(r).target_region for r in records
                if r.state is State.STARTED and r.cloud_id is None and r.data.get("snapshots")} - set(skipped)
    observed = observe(ctx, sources, destinations, building, sources_required=sweep_sources,
                       copy_ids=_running_copy_ids(records, destinations))
    # A skipped region is not in `observed.copies`: its running copies wait for the wake (plan_record).
    actions = plan_tick(records, observed, ctx.policy, now, ctx.backoff, sweep_sources=sweep_sources,
                        known_keys=set(finished) | (known_keys or set()))
    executor = ctx.executor()
    outcomes = executor.apply(actions)
    # Intents the sweep just wrote can start in this same tick.
    new_keys = [a.key for a in actions if isinstance(a, RecordIntent)]
    fresh = [r for r in (ctx.ledger.get(k) for k in new_keys) if r is not None and r.state is State.PENDING]
    follow_up = order_starts([(r, plan_record(r, observed, now, ctx.backoff)) for r in fresh], ctx.policy, now)
    outcomes = executor.apply(follow_up)
    # The records as this tick left them: re-read only the ones its actions touched (a second scan of the
    # whole prefix would read every record twice, and on OSS each read is a request).
    touched = executor.written
    current = {r.key: r for r in records if r.key not in touched}
    current.update({r.key: r for r in (ctx.ledger.get(k) for k in sorted(touched)) if r is not None})
    after = [current[k] for k in sorted(current)]
    executor.heal_slots([r for r in after
                         if scope is None or CopyTarget.of(r).target_region in scope])
    wakes = _schedule_wakes(ctx, after, observed, now, scope, set(skipped)) if ctx.waker is not None else []
    states = Counter(r.state.value for r in after) + Counter(v.value for k, v in finished.items() if k not in current)
    summary = {
        "status": "ok",
        "scope": sorted(scope) if scope is not None else None,
        "scanned": {"sources": sorted(observed.scanned_sources), "destinations": sorted(observed.copies)},
        "actions": dict(sorted(outcomes.items())),
        "records": dict(sorted(states.items())),
        "api_calls": ctx.ecs.calls - calls_before,
    }
    if ctx.waker is not None:
        summary["skipped"] = skipped
        summary["wakes"] = wakes
    log.info("reconcile.finished", extra=summary)
    return summary


def _schedule_wakes(ctx: CopyContext, records: list[Record], observed: Observed, now: dt.datetime,
                    scope: set[str] | None, skipped: set[str]) -> list[str]:
    """One wake per destination region this tick looked at or started copies in, at its earliest expected
    copy end; returns the regions scheduled."""
    assert ctx.waker is not None
    by_region: dict[str, list[Record]] = {}
    for record in records:
        by_region.setdefault(CopyTarget.of(record).target_region, []).append(record)
    scheduled = []
    for region, mine in sorted(by_region.items()):
        if region in skipped or (scope is not None and region not in scope):
            continue
        if not any(r.state is State.STARTED and (r.cloud_id or copying_snapshots(r)) for r in mine):
            continue
        copies = dict(observed.copies.get(region, {}))
        seen = progress_rate(mine, copies, now)
        measured = seen or remembered_rate(ctx.ledger, region)
        end = earliest_end(mine, copies, now, measured or ctx.policy.copy_limits.gib_per_minute,
                           dict(observed.snapshots.get(region, {})))
        if measured is None and end is not None:
            end = min(end, now + UNMEASURED_HORIZON)  # a guessed rate: look again soon, with Progress to go by
        if plan_wake(ctx.ledger, ctx.waker, region, end, now, seen):
            scheduled.append(region)
    return scheduled


def cancel_copies(request: CancelCopy, ctx: CopyContext) -> dict[str, Any]:
    """CancelCopyImage for the image's running copies, a ledger mark for queued ones."""
    executor, views = ctx.executor(), []
    for record in ctx.ledger.scan(prefix(COPY, request.region, request.image_id)):
        target = CopyTarget.of(record)
        if not record.is_active or request.target_region not in (None, target.target_region):
            continue
        if record.state is State.STARTED and record.cloud_id:
            try:
                ctx.ecs.cancel_copy(target.target_region, record.cloud_id)
            except CloudError as exc:
                if exc.retryable:
                    raise
                views.append({**_target_view(record), "note": f"not cancelled: {exc.message}"})
                continue  # it finished meanwhile: reconcile records it DONE
        record = executor.cancel(record)
        views.append(_target_view(record))
    return {"action": "cancel_copy", "image_id": request.image_id,
            "status": "cancelled" if views else "nothing_to_cancel", "targets": views}


def retry_failed(request: RetryFailed, ctx: CopyContext) -> dict[str, Any]:
    """Re-open only the FAILED targets of an image (with `include_cancelled` the CANCELLED ones too);
    reconcile (or this call, if the source is ready) starts them."""
    executor, views = ctx.executor(), []
    reopen = {State.FAILED, State.CANCELLED} if request.include_cancelled else {State.FAILED}
    for record in ctx.ledger.scan(prefix(COPY, request.region, request.image_id)):
        target_region = CopyTarget.of(record).target_region
        if record.state not in reopen or request.target_region not in (None, target_region):
            continue
        executor.apply([Retry(record.key, record.data.get("failed_copy"), by_person=True, version=record.version)])
        views.append(_target_view(ctx.ledger.get(record.key) or record))
    return {"action": "retry_failed", "image_id": request.image_id,
            "status": "requeued" if views else "nothing_failed", "targets": views}


def plan_reconcile(ctx: CopyContext) -> dict[str, Any]:
    """What the next reconcile tick would do, without doing it (the scans are real, nothing is written)."""
    from shared.render import render_action
    from shared.replication.queue import queue_view

    records = list(ctx.ledger.scan("copy/"))
    sources, destinations = regions_to_scan(records, ctx.policy)
    building = {CopyTarget.of(r).target_region for r in records
                if r.state is State.STARTED and r.cloud_id is None and r.data.get("snapshots")}
    now = ctx.now()
    observed = observe(ctx, sources, destinations, building)
    actions = plan_tick(records, observed, ctx.policy, now, ctx.backoff)
    queue = queue_view(records, ctx.policy, now)
    return {"status": "planned", "actions": [render_action(a) for a in actions],
            "queue": [{"key": e.key, "region": e.region, "position": e.position,
                       "eta": e.eta.isoformat() if e.eta else None, "waiting_for_window": e.waiting_for_window}
                      for e in sorted(queue.values(), key=lambda e: (e.region, e.position))]}


def plan_image_event(event: ImageCreated, ctx: CopyContext) -> dict[str, Any]:
    """What `image_created` would do with this event, without doing it."""
    image = ctx.ecs.get_image(event.region, event.image_id)
    if image is None:
        return {"status": "source_not_found", "targets": []}
    targets = []
    for target in targets_for(ctx.policy, image):
        record = ctx.ledger.get(target.key)
        if record is not None:
            would = f"nothing: already {record.state.value}"
        elif image.status != "Available":
            would = f"record the intent; copy once the source is Available (now {image.status})"
        elif (window := window_closed(ctx.policy, target.rule, ctx.now())) is not None:
            would = f"record the intent; copy inside window {window}"
        else:
            would = "record the intent and start the copy (if the region has a free slot)"
        targets.append({**target.model_dump(mode="json", include={"key", "rule", "target_region", "name",
                                                                   "encrypted", "kms_key_id"}), "would": would})
    return {"status": "planned", "source_status": image.status, "targets": targets}
