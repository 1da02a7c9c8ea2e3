"""The ACR use cases against injected adapters: a push, a reconcile step, a backfill, one tag by hand."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from shared.acr.executor import SyncExecutor, new_sync_record
from shared.acr.planner import DEFAULT_START_BUDGET, StartSync, plan_acr, repo_of, target_of
from shared.acr.targets import SyncTarget, TagRef, targets_for
from shared.apply import Backoff
from shared.clouds.acr_types import AcrInstance, AcrRepo, AcrTag, SyncTask, SyncTaskSpec
from shared.context import FeatureContext
from shared.errors import CloudError, ConfigError, LedgerConflictError, ResourceNotFoundError
from shared.events.acr import BackfillRequest, ReplicateTag, TagPushed
from shared.ledger.record import Record, State, event_key
from shared.logs import get_logger
from shared.patterns import bounded
from shared.wakeups import Waker, plan_wake, region_woken, remembered_rate, task_eta

log = get_logger(__name__)


class AcrApi(Protocol):
    """The slice of `AcrGateway` the use cases need."""

    calls: int

    def get_instance(self, region: str, instance_id: str) -> AcrInstance: ...

    def get_repository(self, region: str, instance_id: str, namespace: str, name: str) -> AcrRepo: ...

    def iter_repositories(self, region: str, instance_id: str, namespace: str | None = None) -> Iterator[AcrRepo]: ...

    def iter_tags(self, region: str, instance_id: str, repo_id: str) -> Iterator[AcrTag]: ...

    def create_sync_task(self, spec: SyncTaskSpec) -> str: ...

    def iter_sync_tasks(self, region: str, instance_id: str, *, namespace: str | None = None,
                        repository: str | None = None, tag: str | None = None) -> Iterator[SyncTask]: ...


@dataclass(kw_only=True)
class AcrContext(FeatureContext):
    """Everything an ACR use case needs, injected."""

    adapters: ClassVar[dict[str, str]] = {"cr": "cr"}

    cr: AcrApi
    backoff: Backoff = dataclasses.field(default_factory=lambda: Backoff(base_seconds=60, max_attempts=4))
    budget: int = DEFAULT_START_BUDGET
    source_account: str | None = None  # the account the functions run in, when known (guards account targets)
    waker: Waker | None = None  # wake-ups at the expected end of sync tasks (shared/replication/wake.py)

    def executor(self) -> SyncExecutor:
        return SyncExecutor(self.cr, self.ledger, now=self.now, deadline=self.deadline,
                            source_account=self.source_account)


def _view(record: Record) -> dict[str, Any]:
    target = target_of(record)
    return {"key": record.key, "rule": target.rule, "target_account": target.target_account,
            "target_instance": target.target_instance,
            "target_region": target.target_region,
            "target": f"{target.target_namespace}/{target.target_repository}:{target.source.tag}",
            "state": record.state.value, "sync_task_id": record.cloud_id, "status": record.data.get("status"),
            "reason": record.reason}


def _confirm(ctx: AcrContext, region: str, instance: str, namespace: str, repository: str,
             tag: str) -> TagRef | None:
    """The tag as ListRepoTag reports it (the event's keys are inferred; the API is the truth)."""
    try:
        repo = ctx.cr.get_repository(region, instance, namespace, repository)
    except ResourceNotFoundError:
        return None
    for item in ctx.cr.iter_tags(region, instance, repo.repo_id):
        if item.tag == tag:
            return TagRef(region=region, instance_id=instance, namespace=namespace, repository=repository,
                          repo_id=repo.repo_id, tag=tag, digest=item.digest)
    return None


def _replicate(ctx: AcrContext, ref: TagRef) -> list[Record]:
    executor, records = ctx.executor(), []
    for target in targets_for(ctx.policy, ref):
        record, _ = ctx.ledger.ensure(new_sync_record(target, ctx.now()))
        if record.state is State.PENDING:
            try:
                record = executor.start(record, target)
            except LedgerConflictError:
                record = ctx.ledger.get(record.key) or record
            except CloudError as exc:
                log.warning("acr.deferred", extra={"key": record.key, **exc.log_fields()})
        records.append(record)
    return records


def handle_push(event: TagPushed, ctx: AcrContext) -> dict[str, Any]:
    """One sync task per matching target of a pushed tag; a redelivered event is a no-op."""
    summary: dict[str, Any] = {"event_id": event.event_id, "instance_id": event.instance_id,
                               "image": f"{event.namespace}/{event.repository}:{event.tag}"}
    if event.event_id and ctx.ledger.get(event_key(event.event_id)) is not None:
        return {**summary, "status": "duplicate", "targets": []}
    rules = ctx.policy.acr_rules_for(event.instance_id, event.namespace, event.repository, event.tag)
    if not [r for r in rules if r.source.region == event.region]:
        # Outside the policy (or from a region its instance is not in): no call and no write, not even
        # the event id (issue #10, defect 12).
        return {**summary, "status": "no_matching_rule", "targets": []}
    ref = _confirm(ctx, event.region, event.instance_id, event.namespace, event.repository, event.tag)
    if ref is None:
        return {**summary, "status": "tag_not_found", "targets": []}  # not remembered: a redelivery may find it
    records = _replicate(ctx, ref)
    if event.event_id:
        ctx.ledger.remember_event(event.event_id)
    log.info("acr.push_accepted", extra={**summary, "targets": len(records)})
    return {**summary, "status": "accepted", "digest": ref.digest, "targets": [_view(r) for r in records]}


def replicate_tag(request: ReplicateTag, ctx: AcrContext) -> dict[str, Any]:
    """A person asks to replicate one tag now (a final failure is re-opened)."""
    rules = [r for r in ctx.policy.acr_rules if r.source.instance_id == request.instance_id]
    if not rules:
        return {"status": "no_matching_rule", "targets": []}
    ref = _confirm(ctx, rules[0].source.region, request.instance_id, request.namespace, request.repository,
                   request.tag)
    if ref is None:
        return {"status": "tag_not_found", "targets": []}
    for target in targets_for(ctx.policy, ref):
        record = ctx.ledger.get(target.key)
        if record is not None and record.state is State.FAILED:
            ctx.ledger.transition(record.key, record, state=State.PENDING, force=True, reason=None)
    return {"status": "accepted", "targets": [_view(r) for r in _replicate(ctx, ref)]}


def _age_ok(item: AcrTag, cutoff: dt.datetime | None) -> bool:
    if cutoff is None or not item.updated:
        return True
    text = item.updated
    try:
        when = (dt.datetime.fromtimestamp(int(text) / 1000, dt.timezone.utc) if text.isdigit()
                else dt.datetime.fromisoformat(text.replace(" ", "T")).replace(tzinfo=dt.timezone.utc))
    except ValueError:
        return True
    return when >= cutoff


def backfill(request: BackfillRequest, ctx: AcrContext) -> dict[str, Any]:
    """Replicate tags pushed before a rule existed; starts at most the budget now, reconcile paces the rest."""
    rule = next((r for r in ctx.policy.acr_rules if r.name == request.rule), None)
    if rule is None:
        raise ConfigError(f"no acr rule named {request.rule!r}", field="rule")
    extra = bounded(request.tag_regex) if request.tag_regex else None
    cutoff = ctx.now() - dt.timedelta(days=request.max_age_days) if request.max_age_days else None
    calls_before = ctx.cr.calls
    src = rule.source
    wanted: list[SyncTarget] = []
    namespaces: list[str | None] = list(rule.namespaces) if rule.namespaces else [None]
    for namespace in namespaces:
        for repo in ctx.cr.iter_repositories(src.region, src.instance_id, namespace):
            if rule.repositories and repo.name not in rule.repositories:
                continue
            for item in ctx.cr.iter_tags(src.region, src.instance_id, repo.repo_id):
                if (extra and not extra.search(item.tag)) or not _age_ok(item, cutoff):
                    continue
                ref = TagRef(region=src.region, instance_id=src.instance_id, namespace=repo.namespace,
                             repository=repo.name, repo_id=repo.repo_id, tag=item.tag, digest=item.digest)
                wanted += [t for t in targets_for(ctx.policy, ref) if t.rule == rule.name]
                if request.max_tags and len({t.source.tag + t.source.repository for t in wanted}) >= request.max_tags:
                    break
    known = {t.key for t in wanted if ctx.ledger.get(t.key) is not None}
    new = [t for t in wanted if t.key not in known]
    summary: dict[str, Any] = {"rule": rule.name, "dry_run": request.dry_run, "tags_in_scope": len(wanted),
                               "already_recorded": len(known), "to_replicate": len(new)}
    if request.dry_run:
        return {**summary, "status": "planned", "api_calls": ctx.cr.calls - calls_before,
                "plan": [{"key": t.key, "target_instance": t.target_instance,
                          "target": f"{t.target_namespace}/{t.target_repository}:{t.source.tag}"} for t in new]}
    for target in new:
        ctx.ledger.ensure(new_sync_record(target, ctx.now()))
    starts = [StartSync(t.key, t) for t in new[: ctx.budget]]
    outcomes = ctx.executor().apply(starts)
    return {**summary, "status": "accepted", "started_now": outcomes.get("started", 0) + outcomes.get("adopted", 0),
            "queued_for_reconcile": max(0, len(new) - len(starts)), "actions": dict(sorted(outcomes.items())),
            "api_calls": ctx.cr.calls - calls_before}


def follow_syncs(ctx: AcrContext, regions: set[str] | None = None) -> dict[str, Any]:
    """One reconcile step: one listing per repository in flight, requeue due retries, start queued intents.

    `regions` (a wake-up of those source regions) lists only their repositories. With `ctx.waker`, a
    plain tick leaves a region whose wake is still ahead to that wake (its tasks are not listed; queued
    intents and due retries still start), and every region with tasks in flight gets one wake at its
    earliest expected end (shared/replication/wake.py)."""
    now = ctx.now()
    records = list(ctx.ledger.scan("acr/"))
    in_flight = {repo_of(r) for r in records if r.state is State.STARTED and r.cloud_id}
    skipped: set[str] = set()
    if regions is not None:
        in_flight = {repo for repo in in_flight if repo[0] in regions}
    elif ctx.waker is not None:
        skipped = {repo[0] for repo in in_flight if region_woken(ctx.ledger, repo[0], "acr", now)}
        in_flight = {repo for repo in in_flight if repo[0] not in skipped}
    tasks: dict[tuple[str, str, str, str], dict[str, SyncTask]] = defaultdict(dict)
    for region, instance, namespace, repository in sorted(in_flight):
        try:
            for task in ctx.cr.iter_sync_tasks(region, instance, namespace=namespace, repository=repository):
                tasks[(region, instance, namespace, repository)][task.sync_task_id] = task
        except CloudError as exc:
            log.warning("acr.scan_failed", extra={"instance_id": instance, **exc.log_fields()})
    executor = ctx.executor()
    outcomes = executor.apply(plan_acr(records, tasks, now, ctx.backoff, ctx.budget))
    after = list(ctx.ledger.scan("acr/"))
    states = Counter(r.state.value for r in after)
    result: dict[str, Any] = {"actions": dict(sorted(outcomes.items())), "records": dict(sorted(states.items()))}
    if ctx.waker is not None:
        result["skipped"] = sorted(skipped)
        result["wakes"] = _schedule_sync_wakes(ctx, after, tasks, now, skipped)
    return result


def _schedule_sync_wakes(ctx: AcrContext, records: list[Record],
                         tasks: dict[tuple[str, str, str, str], dict[str, SyncTask]], now: dt.datetime,
                         skipped: set[str]) -> list[str]:
    """One wake per source region with sync tasks in flight, at the earliest expected end: the start plus the
    region's last measured duration (from the tasks this tick saw finished), else the task's age doubled."""
    assert ctx.waker is not None
    durations: dict[str, list[float]] = defaultdict(list)
    for (region, *_), listed in tasks.items():
        for task in listed.values():
            if task.status == "SUCCESS" and task.modified_ms > task.created_ms > 0:
                durations[region].append((task.modified_ms - task.created_ms) / 1000)
    running: dict[str, list[dt.datetime]] = defaultdict(list)
    for record in records:
        if record.state is State.STARTED and record.cloud_id:
            region = repo_of(record)[0]
            seen = tasks.get(repo_of(record), {}).get(record.cloud_id)
            started = (dt.datetime.fromtimestamp(seen.created_ms / 1000, dt.timezone.utc)
                       if seen is not None and seen.created_ms else record.updated_at)
            running[region].append(started)
    scheduled = []
    for region, starts in sorted(running.items()):
        if region in skipped:
            continue
        measured = max(durations[region]) if durations.get(region) else None
        known = measured or remembered_rate(ctx.ledger, region, "acr", "seconds")
        end = min(task_eta(started, now, known) for started in starts)
        if plan_wake(ctx.ledger, ctx.waker, region, end, now, measured, name="seconds"):
            scheduled.append(region)
    return scheduled
