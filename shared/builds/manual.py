"""Builds by hand (issue #14): ``image-relay build <rule>`` and ``image-relay cancel --build <rule|execution>``.

Why a manual build is a slot like a scheduled one: its ledger record is keyed by (template, slot), the slot
being the minute asked for (``--slot``, default: the current minute), so repeating the command after a lost
answer or a double start lands on the same record and never starts a second build; the start carries the
same ClientToken. The one-build-per-template rule holds: a busy template makes the slot wait (PENDING, with
the reason) and the reconcile tick starts it once the template is free. A dry run reads the ledger, the
template and its running builds, and writes nothing.

A cancel calls CancelImagePipelineExecution for the rule's running build (PREPARING, REPAIRING or BUILDING:
ECS refuses later stages) and marks its waiting slots CANCELLED; the tick records CANCELLED when ECS ends it.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from shared.builds.executor import BuildExecutor
from shared.builds.planner import BUILD_PREFIX, RecordBuild, plan_builds, slot_id
from shared.builds.service import BuildsContext, observe
from shared.clouds.pipeline_types import RUNNING_STATUSES
from shared.errors import ConfigError, EventValidationError
from shared.ledger.keys import build_key
from shared.ledger.record import Record, State
from shared.policy.builds import BuildRule

_EXECUTION_ID = re.compile(r"^exec-[A-Za-z0-9]{1,64}\Z")


def _rule(ctx: BuildsContext, name: str) -> BuildRule:
    rule = ctx.policy.build_rule(name)
    if rule is None:
        known = ", ".join(r.name for r in ctx.policy.build_rules) or "none"
        raise ConfigError(f"no build rule named {name[:80]!r} (known: {known})", field="rule")
    return rule


def _same_template(rule: BuildRule, record: Record) -> bool:
    return (record.data.get("region"), record.data.get("pipeline")) == (rule.pipeline.region, rule.pipeline.ref)


def view(record: Record) -> dict[str, Any]:
    """One build record as the CLI shows it."""
    return {"key": record.key, "rule": record.data.get("rule"), "region": record.data.get("region"),
            "slot": record.data.get("slot"), "state": record.state.value, "stage": record.data.get("stage") or None,
            "execution_id": record.cloud_id, "image_id": record.data.get("image_id") or None, "reason": record.reason}


def start_build(ctx: BuildsContext, rule_name: str, *, slot: dt.datetime | None = None,
                dry_run: bool = False) -> dict[str, Any]:
    """Record the slot of ``rule_name`` (idempotent) and start it when its template is free; or, with
    ``dry_run``, say what that would do."""
    rule = _rule(ctx, rule_name)
    at = (slot or ctx.now()).astimezone(dt.timezone.utc).replace(second=0, microsecond=0)
    key = build_key(rule.pipeline.region, rule.pipeline.ref, slot_id(at))
    summary: dict[str, Any] = {"action": "build", "rule": rule.name, "region": rule.pipeline.region,
                               "pipeline": rule.pipeline.ref, "slot": slot_id(at), "key": key, "dry_run": dry_run}
    if dry_run:
        return {**summary, **_would(ctx, rule, key)}
    executor = BuildExecutor(ctx.ledger, ctx.api, now=ctx.now, deadline=ctx.deadline, policy=ctx.policy)
    if ctx.ledger.get(key) is None:
        executor.apply([RecordBuild(key, rule.name, rule.pipeline.region, rule.pipeline.ref, slot_id(at))])
    group = [r for r in ctx.ledger.scan(BUILD_PREFIX) if r.is_active and _same_template(rule, r)]
    windows = {w.name: w for w in ctx.policy.windows}
    actions = [a for a in plan_builds(ctx.policy.build_rules, windows, group, observe(ctx.api, group), ctx.now())
               if not isinstance(a, RecordBuild)]  # this template only; no scheduled slot is recorded here
    outcomes = executor.apply(actions)
    record = ctx.ledger.get(key)
    return {**summary, "outcomes": dict(outcomes), "build": view(record) if record else None}


def _would(ctx: BuildsContext, rule: BuildRule, key: str) -> dict[str, Any]:
    """What a real run would do, from the ledger, the template and its running builds (reads only)."""
    existing = ctx.ledger.get(key)
    if existing is not None:
        return {"would": f"nothing: this slot is already recorded ({existing.state.value})", "build": view(existing)}
    ref = rule.pipeline
    found = ctx.api.describe_pipelines(ref.region, pipeline_ids=[ref.id] if ref.id else None, name=ref.name)
    if len(found) != 1:
        return {"would": f"record the slot, then fail: {len(found)} image templates match {ref.ref!r} in {ref.region}",
                "pipeline_id": None}
    pipeline_id = found[0].pipeline_id
    running = ctx.api.describe_pipeline_executions(ref.region, pipeline_id=pipeline_id, statuses=RUNNING_STATUSES)
    recorded = [r for r in ctx.ledger.scan(BUILD_PREFIX) if r.is_active and _same_template(rule, r)]
    busy = [e.execution_id for e in running] + [r.key for r in recorded if not any(
        r.cloud_id == e.execution_id for e in running)]
    would = (f"record the slot and wait: the template is busy ({', '.join(busy)}; one build per template)"
             if busy else "record the slot and start a build (StartImagePipelineExecution)")
    return {"would": would, "pipeline_id": pipeline_id, "busy_with": busy}


def cancel_build(ctx: BuildsContext, target: str) -> dict[str, Any]:
    """Cancel the running build of a rule (or the build with that ExecutionId) and its waiting slots."""
    if target.startswith("exec-"):
        if not _EXECUTION_ID.match(target):
            raise EventValidationError(f"not an execution id: {target[:80]!r}", field="--build")
        chosen = [r for r in ctx.ledger.scan(BUILD_PREFIX) if r.cloud_id == target]
    else:
        chosen = [r for r in ctx.ledger.scan(BUILD_PREFIX) if r.data.get("rule") == target]
        if not chosen and ctx.policy.build_rule(target) is None:
            known = ", ".join(r.name for r in ctx.policy.build_rules) or "none"
            raise EventValidationError(f"no build rule named {target[:80]!r} (known: {known}) and no such "
                                       "execution id (exec-…)", field="--build")
    active = [r for r in chosen if r.is_active]
    if not active:
        raise EventValidationError(f"no running or waiting build of {target[:80]!r} is recorded in the ledger",
                                   field="--build")
    views = []
    for record in active:
        if record.state is State.PENDING:
            record = ctx.ledger.transition(record.key, record, state=State.CANCELLED, reason="cancelled by request",
                                           updated_at=ctx.now())
        elif record.cloud_id is None:
            views.append({**view(record), "note": "being started right now; cancel again in a minute"})
            continue
        else:
            ctx.api.cancel_pipeline_execution(record.data["region"], record.cloud_id)
            record = ctx.ledger.transition(record.key, record, reason="cancelled by request", updated_at=ctx.now(),
                                           data={**record.data, "stage": "CANCELLING"})
        views.append(view(record))
    return {"action": "cancel_build", "build": target, "status": "cancelled", "builds": views}
