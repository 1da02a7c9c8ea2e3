"""Account targets, the use cases: record the hops of an image, and drive every target one step per tick.

The planner (``plan``) decides from one target's records; the executor (``executor``, on the kernel's
``RecordExecutor``) applies the steps: claims, ClientTokens, provenance tags and the reasons a person can act on.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.accounts.executor import AccountExecutor, HomeEcs, PartnerEcs, Sessions
from shared.accounts.hops import COPY_PREFIX, SHARE_PREFIX, hop_of, hops_for, new_record
from shared.accounts.plan import plan_target
from shared.apply import Step
from shared.clouds.ecs_types import Image
from shared.errors import CloudError
from shared.ledger import Ledger
from shared.ledger.record import Record, State
from shared.logs import get_logger
from shared.policy import Policy
from shared.runtime import Deadline

log = get_logger(__name__)

__all__ = ["AccountContext", "HomeEcs", "PartnerEcs", "Sessions", "account_tick", "has_account_targets",
           "record_account_intents", "view"]


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
    """Ensure the PENDING record of every hop of every account target that takes ``image`` (idempotent).

    The share record is written last: a tick acts on a target only once its share is recorded, so an invocation
    that dies between these writes leaves copies waiting for the redelivery, never a share without its copies."""
    views = []
    for hop in sorted(hops_for(policy, image), key=lambda h: h.kind == "share"):
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
    executor = AccountExecutor(ctx.ecs, ctx.sessions, ctx.ledger, now=ctx.now, source_account=ctx.source_account,
                               deadline=ctx.deadline)
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
        executor.apply(steps)
    states = Counter(r.state.value for p in (SHARE_PREFIX, COPY_PREFIX) for r in ctx.ledger.scan(p))
    summary = {"actions": dict(sorted(executor.outcomes.items())), "records": dict(sorted(states.items()))}
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
