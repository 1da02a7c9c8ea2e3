"""Account targets, the use cases: record the hops of an image, and drive every target one step per tick.

Exactly once, as the copy feature does it (shared/replication/executor.py): every cloud call is preceded by a
compare-and-set claim on the hop's record (of N racers one calls); the partner's CopyImage carries a
ClientToken derived from (key, attempt), so a repeat after a lost answer returns the same ImageId; and each
partner copy is born with provenance tags (the key, the source image and account), so a copy whose ledger
write was lost is found by its tag and adopted instead of copied twice. A share is idempotent in ECS (adding
an account already shared changes nothing), and the unshare is the last write of the share record.

A failure carries the reason a person can act on: the role that cannot be assumed, the image encrypted with a
key that cannot be shared, the partner's missing KMS key in a region.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from shared.accounts.hops import COPY_PREFIX, SHARE_PREFIX, Hop, hop_of, hops_for, new_record
from shared.accounts.plan import CloseShare, Complete, Fail, Heal, Share, StartCopy, plan_target
from shared.apply import Step, apply_all, planned_record
from shared.clouds.ecs_types import CopyImageSpec, Image
from shared.errors import CloudError
from shared.ledger import Ledger
from shared.ledger.record import Record, State
from shared.logs import get_logger
from shared.policy import Policy
from shared.replication.provenance import TAG_KEY
from shared.runtime import Deadline

log = get_logger(__name__)

_SHARE_REFUSALS = {
    "OperationDenied.EncryptedByServiceKey":
        "image {image} is encrypted with a key that cannot be shared (the ECS service key): re-encrypt it "
        "with a KMS key (a same-region encrypted copy) before it can go to account {account}",
    "QuotaExceed.ShareImageUser": "image {image} is already shared with the most accounts ECS allows (50)",
}
_COPY_REFUSALS = {
    "InvalidParameter.KMSKeyId.NotFound": "partner account {account} lacks KMS key {kms} in region {region}",
    "InvalidParameter.KMSKeyId.KMSUnauthorized":
        "ECS in partner account {account} may not use KMS key {kms} in region {region}",
}


class HomeEcs(Protocol):
    """What the flow needs of the source account's ECS adapter."""

    def get_image(self, region: str, image_id: str) -> Image | None: ...

    def share_image(self, region: str, image_id: str, *, add: list[str] | None = None,
                    remove: list[str] | None = None) -> None: ...


class PartnerEcs(Protocol):
    """What the flow needs of a partner account's ECS adapter."""

    def get_image(self, region: str, image_id: str) -> Image | None: ...

    def list_images(self, region: str, **filters: Any) -> list[Image]: ...

    def copy_image(self, spec: CopyImageSpec) -> str: ...


class Sessions(Protocol):
    """`shared.clouds.sts.AccountSessions`: credentials per role, and the partner's ECS built from them."""

    def credentials(self, role_arn: str) -> Any: ...

    def ecs(self, role_arn: str) -> Any: ...


@dataclass
class AccountContext:
    """Everything the account flow needs, injected."""

    policy: Policy
    ledger: Ledger
    ecs: HomeEcs
    sessions: Sessions
    now: Callable[[], dt.datetime]
    source_account: str | None = None  # the account the functions run in (FC's context), when known
    deadline: Deadline | None = None


def has_account_targets(policy: Policy) -> bool:
    """True when some copy rule names an account target."""
    return any(rule.accounts for rule in policy.copy_rules)


def record_account_intents(ledger: Ledger, policy: Policy, image: Image, now: dt.datetime) -> list[dict[str, Any]]:
    """Ensure the PENDING record of every hop of every account target that takes ``image`` (idempotent)."""
    views = []
    for hop in hops_for(policy, image):
        record, _ = ledger.ensure(new_record(hop, now))
        views.append(view(record))
    return views


def view(record: Record) -> dict[str, Any]:
    """One hop as status shows it."""
    hop = hop_of(record)
    return {"key": record.key, "hop": hop.kind, "account_id": hop.account_id, "region": hop.region or None,
            "state": record.state.value, "image_id": record.cloud_id, "reason": record.reason}


def account_tick(ctx: AccountContext) -> dict[str, Any]:
    """Drive every account target one step (two passes: a finished hop lets the next one start at once)."""
    outcomes: Counter[str] = Counter()
    for _ in range(2):
        groups = _groups(ctx.ledger)
        steps: list[Step] = []
        for (source_region, image_id, _account), (share, copies) in sorted(groups.items()):
            if share is None or (share.is_final and all(not c.is_active for c in copies)):
                continue
            source = _source(ctx, source_region, image_id, share)
            steps += plan_target(share, copies, source, _observe(ctx, copies))
        if not steps:
            break
        apply_all(steps, lambda step: _apply(ctx, step, outcomes), outcomes, ctx.deadline, kind="account")
    states = Counter(r.state.value for p in (SHARE_PREFIX, COPY_PREFIX) for r in ctx.ledger.scan(p))
    summary = {"actions": dict(sorted(outcomes.items())), "records": dict(sorted(states.items()))}
    log.info("accounts.finished", extra=summary)
    return summary


def _groups(ledger: Ledger) -> dict[tuple[str, str, str], tuple[Record | None, list[Record]]]:
    shares = {(h.source_region, h.image_id, h.account_id): r for r in ledger.scan(SHARE_PREFIX)
              for h in [hop_of(r)]}
    copies: dict[tuple[str, str, str], list[Record]] = defaultdict(list)
    for record in ledger.scan(COPY_PREFIX):
        h = hop_of(record)
        copies[(h.source_region, h.image_id, h.account_id)].append(record)
    return {k: (shares.get(k), copies.get(k, [])) for k in set(shares) | set(copies)}


def _source(ctx: AccountContext, region: str, image_id: str, share: Record) -> Image | None:
    """The source image, read only while the share still has to be made."""
    if share.state is State.PENDING or (share.state is State.STARTED and not share.data.get("shared")):
        return ctx.ecs.get_image(region, image_id)
    return None


def _observe(ctx: AccountContext, copies: list[Record]) -> dict[str, Image | None]:
    """The partner's image behind each running copy (by id, in the copy's region)."""
    seen: dict[str, Image | None] = {}
    for record in copies:
        if record.state is State.STARTED and record.cloud_id:
            hop = hop_of(record)
            try:
                seen[record.key] = ctx.sessions.ecs(hop.role_arn).get_image(hop.region, record.cloud_id)
            except CloudError as exc:
                log.warning("accounts.observe_failed", extra={"key": record.key, **exc.log_fields()})
    return seen


def _apply(ctx: AccountContext, step: Step, outcomes: Counter[str]) -> None:
    record = planned_record(ctx.ledger, step)  # StaleStepError when the record moved on
    if record is None:
        return
    hop = hop_of(record)

    def move(outcome: str, **changes: Any) -> Record:
        data = {**record.data, **changes.pop("data", {})}
        outcomes[outcome] += 1
        return ctx.ledger.transition(record.key, record, data=data, updated_at=ctx.now(), **changes)

    if isinstance(step, Share):
        _share(ctx, record, hop, move)
    elif isinstance(step, StartCopy):
        _start_copy(ctx, record, hop, step.from_image, move, outcomes)
    elif isinstance(step, Heal):
        found = ctx.sessions.ecs(hop.role_arn).list_images(hop.region, tags={TAG_KEY: record.key})
        if found:
            move("adopted", cloud_id=found[0].image_id)
        else:
            move("requeued", state=State.PENDING)
    elif isinstance(step, Complete):
        move("done", state=State.DONE, cloud_id=step.image_id, data={"done_at": ctx.now().isoformat()})
    elif isinstance(step, Fail):
        move("failed", state=State.FAILED, reason=step.reason)
    elif isinstance(step, CloseShare):
        if step.unshare:
            ctx.ecs.share_image(hop.source_region, hop.image_id, remove=[hop.account_id])
        move("unshared" if step.unshare else "kept_shared", state=State.DONE,
             data={"shared": not step.unshare, "closed_at": ctx.now().isoformat()})
        log.info("accounts.share_closed", extra={"key": record.key, "unshared": step.unshare})


def _share(ctx: AccountContext, record: Record, hop: Hop, move: Callable[..., Record]) -> None:
    """The role must be assumable before anything is shared: a refusal leaves no share behind."""
    from shared.clouds.sts import RoleAssumeError

    if ctx.source_account is not None and ctx.source_account == hop.account_id:
        move("failed", state=State.FAILED, reason=f"account {hop.account_id} is the source account itself; "
                                                   f"fix copy rule {hop.rule}")
        return
    try:
        ctx.sessions.credentials(hop.role_arn)
    except RoleAssumeError as exc:
        move("failed", state=State.FAILED,
             reason=f"role {hop.role_arn} cannot be assumed ({exc.code}): the role must exist in account "
                    f"{hop.account_id} and trust this account")
        return
    claimed = record if record.state is State.STARTED else move("claimed", state=State.STARTED,
                                                                  attempt=record.attempt + 1)
    try:
        ctx.ecs.share_image(hop.source_region, hop.image_id, add=[hop.account_id])
    except CloudError as exc:
        if exc.retryable:
            raise  # STARTED without "shared": the next tick repeats the (idempotent) share
        template = _SHARE_REFUSALS.get(exc.code or "", "ModifyImageSharePermission refused ({code}): {message}")
        reason = template.format(image=hop.image_id, account=hop.account_id, code=exc.code, message=exc.message)
        ctx.ledger.transition(record.key, claimed, state=State.FAILED, reason=reason, updated_at=ctx.now())
        return
    ctx.ledger.transition(record.key, claimed, data={**claimed.data, "shared": True,
                                                     "shared_at": ctx.now().isoformat()}, updated_at=ctx.now())
    log.info("accounts.shared", extra={"key": record.key, "account_id": hop.account_id})


def _start_copy(ctx: AccountContext, record: Record, hop: Hop, from_image: str, move: Callable[..., Record],
                outcomes: Counter[str]) -> None:
    from shared.clouds.sts import RoleAssumeError

    attempt = record.attempt + 1
    claimed = move("claimed", state=State.STARTED, attempt=attempt, cloud_id=None)
    try:
        image_id = ctx.sessions.ecs(hop.role_arn).copy_image(hop.spec(from_image, attempt, ctx.source_account or ""))
    except RoleAssumeError as exc:
        reason = f"role {hop.role_arn} cannot be assumed ({exc.code})"
        ctx.ledger.transition(record.key, claimed, state=State.FAILED, reason=reason, updated_at=ctx.now())
        return
    except CloudError as exc:
        if exc.retryable:
            raise  # STARTED without an ImageId: Heal finds the copy by its tag, or re-queues it
        template = _COPY_REFUSALS.get(exc.code or "", "CopyImage in account {account} refused ({code}): {message}")
        reason = template.format(account=hop.account_id, kms=hop.kms_key_id, region=hop.region, code=exc.code,
                                 message=exc.message)
        ctx.ledger.transition(record.key, claimed, state=State.FAILED, reason=reason, updated_at=ctx.now())
        outcomes["failed"] += 1
        return
    ctx.ledger.transition(record.key, claimed, cloud_id=image_id, updated_at=ctx.now())
    outcomes["started"] += 1
    log.info("accounts.copy_started", extra={"key": record.key, "copy_image_id": image_id})
