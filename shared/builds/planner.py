"""Plan one tick of Image Builder builds: a pure function of (policy, ledger records, observed builds, now).

Why it looks like this:
- A build start is a ledger record keyed by (template, scheduled slot), ``build/<region>/<template>/<slot>``,
  so a duplicated timer tick or a crash lands on the same record and never starts two builds; the
  start itself carries a ClientToken derived from (key, attempt).
- One build per template (an Image Builder rule): a slot whose template is busy waits PENDING with the
  reason written down, it does not fail; the oldest waiting slot of a template starts first.
- A cron slot is due from its time for ``CRON_GRACE`` only (a new or restored deployment does not build
  yesterday's slot); a window slot is due while its occurrence is open. On-demand rules have no slot here.
- A STARTED record without ExecutionId is resumed (the same StartImagePipelineExecution, same ClientToken)
  only once its claim is older than the kernel's ``CLAIM_LEASE``: until then the invocation that claimed it
  may still be calling, and a concurrent tick that read the claim milliseconds later must not call again.
- The end of a build is read from the observed executions (one paged listing per region, by the service):
  SUCCESS, PARTITION_SUCCESS and TEST_FAILED end DONE with the image named, and whether the rule hands it
  on (``distribute``, with the reason: a withheld image keeps it as the record's reason); FAILED ends FAILED
  and CANCELLED ends CANCELLED.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.apply import CLAIM_LEASE, Step, at_version
from shared.clouds.pipeline_types import PipelineExecution
from shared.ledger.keys import BUILD, build_key, prefix
from shared.ledger.record import Record, State
from shared.policy.builds import BuildRule
from shared.policy.windows import Window

BUILD_PREFIX = prefix(BUILD)
CRON_GRACE = dt.timedelta(hours=1)


def slot_id(at: dt.datetime) -> str:
    """A slot's id: its UTC minute, ``2026-11-25T02:00Z``."""
    return at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


@dataclass(frozen=True)
class RecordBuild(Step):
    """A slot is due and has no record yet: write it PENDING."""

    rule: str
    region: str
    pipeline: str
    slot: str


@dataclass(frozen=True)
class StartBuild(Step):
    """Claim the PENDING record (→ STARTED, ``attempt``) and call StartImagePipelineExecution."""

    attempt: int


@dataclass(frozen=True)
class ResumeStart(Step):
    """A STARTED record without ExecutionId (the start's answer was lost): call again with the same token."""

    attempt: int


@dataclass(frozen=True)
class Defer(Step):
    """A PENDING slot waits for its template; ``reason`` is written once."""

    reason: str


@dataclass(frozen=True)
class FollowBuild(Step):
    """A running build moved to another stage."""

    stage: str


@dataclass(frozen=True)
class FinishBuild(Step):
    """A build ended: DONE when it left an image, FAILED otherwise; ``distribute`` says if it is handed on."""

    status: str
    image_id: str
    ok: bool
    distribute: bool
    reason: str
    cancelled: bool = False


Action = RecordBuild | StartBuild | ResumeStart | Defer | FollowBuild | FinishBuild


def due_slot(rule: BuildRule, windows: Mapping[str, Window], now: dt.datetime) -> dt.datetime | None:
    """The slot of ``rule`` that is due at ``now``, or None."""
    if rule.cron is not None:
        slot = rule.last_cron_slot(now)
        return slot if slot is not None and now - slot < CRON_GRACE else None
    if rule.window is not None and rule.window in windows:
        return windows[rule.window].current_start(now)
    return None


def new_intents(rules: Iterable[BuildRule], windows: Mapping[str, Window], keys: set[str],
                now: dt.datetime) -> list[RecordBuild]:
    """A RecordBuild for each rule whose due slot has no record yet."""
    out: list[RecordBuild] = []
    for rule in rules:
        slot = due_slot(rule, windows, now)
        if slot is None:
            continue
        key = build_key(rule.pipeline.region, rule.pipeline.ref, slot_id(slot))
        if key not in keys:
            out.append(RecordBuild(key, rule.name, rule.pipeline.region, rule.pipeline.ref, slot_id(slot)))
    return out


def finish(record: Record, execution: PipelineExecution, rule: BuildRule | None) -> FinishBuild:
    """How an ended build is recorded, and whether (and why not) its image is handed to the rule's targets."""
    status = execution.status
    detail = execution.error_info or execution.error_code or execution.message
    if status == "CANCELLED":
        return FinishBuild(record.key, status, "", ok=False, distribute=False, cancelled=True,
                           reason="CANCELLED: the build was cancelled; nothing handed on")
    if not execution.built_image:
        why = execution.error_info or execution.error_code or f"the build ended {status}"
        return FinishBuild(record.key, status, "", ok=False, distribute=False, reason=f"{status}: {why}")
    image = execution.image_id
    if status == "TEST_FAILED":
        allowed = rule is not None and rule.distribute_test_failed
        reason = f"TEST_FAILED: image {image} was built but failed its test ({detail or 'no detail given'}); " + (
            "distribute_test_failed is true: handed on" if allowed
            else "distribute_test_failed is false: nothing handed on")
    elif status == "PARTITION_SUCCESS":
        allowed = rule is None or rule.distribute_partition_success
        reason = f"PARTITION_SUCCESS: the template's own distribution partly failed ({detail or 'no detail'}); " + (
            "distribute_partition_success is true: handed on, the failed regions and accounts retried"
            if allowed else "distribute_partition_success is false: nothing handed on")
    else:
        allowed, reason = True, "built"
    return FinishBuild(record.key, status, image, ok=True, distribute=allowed, reason=reason)


def claimed_at(record: Record) -> dt.datetime:
    """When the record was claimed (the executor writes ``started_at``; else its last update), aware."""
    raw = record.data.get("started_at")
    at = dt.datetime.fromisoformat(raw) if isinstance(raw, str) and raw else record.updated_at
    return at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)


def plan_builds(
    rules: list[BuildRule],
    windows: Mapping[str, Window],
    records: list[Record],
    executions: Mapping[str, PipelineExecution],
    now: dt.datetime,
) -> list[Action]:
    """Every action of one tick: new slots first, then per template its ended, running and waiting builds."""
    intents = new_intents(rules, windows, {r.key for r in records}, now)
    actions: list[Action] = list(intents)
    by_rule = {r.name: r for r in rules}
    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in records:
        if record.is_active:
            groups[(record.data.get("region", ""), record.data.get("pipeline", ""))].append(record)
    for group in groups.values():
        actions += _plan_template(sorted(group, key=lambda r: r.data.get("slot", "")), executions, by_rule, now)
    return actions


def _plan_template(records: list[Record], executions: Mapping[str, PipelineExecution],
                   rules: Mapping[str, BuildRule], now: dt.datetime) -> list[Action]:
    """One template: follow its running build; start its oldest waiting slot once it is free."""
    actions: list[Action] = []
    running: Record | None = None
    for record in (r for r in records if r.state is State.STARTED):
        execution = executions.get(record.cloud_id or "")
        if record.cloud_id is None:
            if now - claimed_at(record) >= CLAIM_LEASE:  # else the claimer may still be calling
                actions.append(at_version(ResumeStart(record.key, record.attempt), record))
            running = record
        elif execution is not None and execution.final:
            actions.append(at_version(finish(record, execution, rules.get(record.data.get("rule", ""))), record))
        else:
            if execution is not None and execution.status != record.data.get("stage"):
                actions.append(at_version(FollowBuild(record.key, execution.status), record))
            running = record
    waiting = [r for r in records if r.state is State.PENDING]
    for record in waiting:
        if running is not None:
            reason = f"waiting: the template runs {running.data.get('slot', running.key)} (one build per template)"
        elif record.next_attempt_at is not None and record.next_attempt_at > now:
            continue  # backing off after a busy answer; its reason is already written
        else:
            actions.append(at_version(StartBuild(record.key, record.attempt + 1), record))
            running = record
            continue
        if record.reason != reason:
            actions.append(at_version(Defer(record.key, reason), record))
    return actions
