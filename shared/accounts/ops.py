"""A person's operations on one account target (issue #13): cancel it, or retry what of it failed.

Cancel: the partner's running copies are cancelled (CancelCopyImage in the partner account, through its role);
queued hops are marked CANCELLED; once nothing of the target runs any more, the share is closed at once
(RemoveAccount: no share is left behind). A copy that finished meanwhile is left for the tick to record DONE.

Retry: the target's FAILED hops (and CANCELLED ones with ``include_cancelled``) go back to PENDING with a fresh
attempt (so a fresh ClientToken). A partner copy in the source region is made from the *shared* image, so when
that first copy is re-opened the share is re-opened too (and closed again after it, as always); onward copies
are made from the partner's own first copy and need no share.
"""
from __future__ import annotations

from typing import Any

from shared.accounts.hops import Hop, hop_of
from shared.accounts.service import AccountContext, view
from shared.errors import CloudError
from shared.events.copy_requests import CancelCopy, RetryFailed
from shared.ledger import keys
from shared.ledger.record import Record, State
from shared.logs import get_logger
from shared.replication.provenance import TAG_KEY

log = get_logger(__name__)

CANCELLED_REASON = "cancelled by a person"


def account_request(request: CancelCopy | RetryFailed, ctx: AccountContext) -> dict[str, Any]:
    """A person's `cancel_copy` / `retry_failed` naming an ``account_id``: act on that account target."""
    if request.account_id is None:
        raise ValueError("an account operation needs account_id")
    if isinstance(request, CancelCopy):
        return cancel_account_target(ctx, request.region, request.image_id, request.account_id,
                                     request.target_region)
    return retry_account_target(ctx, request.region, request.image_id, request.account_id, request.target_region,
                                request.include_cancelled)


def target_records(ctx: AccountContext, region: str, image_id: str, account_id: str) -> tuple[Record | None,
                                                                                               list[Record]]:
    """The share record and the copy records of one (source image, account) target."""
    share = ctx.ledger.get(keys.xshare_key(region, image_id, account_id))
    copies = list(ctx.ledger.scan(keys.prefix(keys.XCOPY, region, image_id, account_id)))
    return share, copies


def cancel_account_target(ctx: AccountContext, region: str, image_id: str, account_id: str,
                          target_region: str | None = None) -> dict[str, Any]:
    """Cancel the target's running and queued hops (``target_region``: only the copy into that region)."""
    share, copies = target_records(ctx, region, image_id, account_id)
    views: list[dict[str, Any]] = []
    for record in copies:
        hop = hop_of(record)
        if not record.is_active or target_region not in (None, hop.region):
            continue
        note = _cancel_partner_copy(ctx, record, hop)
        if note is not None:
            views.append({**view(record), "note": note})
            continue
        views.append(view(_cancelled(ctx, record)))
    if share is not None and share.is_active and target_region is None:
        _, copies = target_records(ctx, region, image_id, account_id)
        if not any(c.is_active for c in copies):
            views.append(view(_close_share(ctx, share)))
    return {"action": "cancel_copy", "image_id": image_id, "account_id": account_id,
            "status": "cancelled" if views else "nothing_to_cancel", "targets": views}


def _cancel_partner_copy(ctx: AccountContext, record: Record, hop: Hop) -> str | None:
    """CancelCopyImage for the partner's running copy (found by its tag when its id was never recorded);
    a note when ECS refuses (it finished meanwhile), else None."""
    if record.state is not State.STARTED:
        return None
    partner = ctx.sessions.ecs(hop.role_arn)
    image_id = record.cloud_id
    if image_id is None:
        found = partner.list_images(hop.region, tags={TAG_KEY: record.key})
        image_id = found[0].image_id if found else None
    if image_id is None:
        return None
    try:
        partner.cancel_copy(hop.region, image_id)
    except CloudError as exc:
        if exc.retryable:
            raise
        return f"not cancelled: {exc.message}"
    return None


def _cancelled(ctx: AccountContext, record: Record) -> Record:
    updated = ctx.ledger.transition(record.key, record, state=State.CANCELLED, reason=CANCELLED_REASON,
                                    updated_at=ctx.now())
    log.info("accounts.cancelled", extra={"key": record.key})
    return updated


def _close_share(ctx: AccountContext, share: Record) -> Record:
    """Remove the share (idempotent, also when the share may or may not have been made) and cancel the record."""
    hop = hop_of(share)
    if share.state is State.STARTED:
        ctx.ecs.share_image(hop.source_region, hop.image_id, remove=[hop.account_id])
    updated = ctx.ledger.transition(share.key, share, state=State.CANCELLED, reason=CANCELLED_REASON,
                                    updated_at=ctx.now(), data={**share.data, "shared": False,
                                                                "closed_at": ctx.now().isoformat()})
    log.info("accounts.share_closed", extra={"key": share.key, "unshared": share.state is State.STARTED})
    return updated


def retry_account_target(ctx: AccountContext, region: str, image_id: str, account_id: str,
                         target_region: str | None = None, include_cancelled: bool = False) -> dict[str, Any]:
    """Re-open the target's FAILED hops (and CANCELLED ones with ``include_cancelled``); reconcile drives them."""
    reopen = {State.FAILED, State.CANCELLED} if include_cancelled else {State.FAILED}
    share, copies = target_records(ctx, region, image_id, account_id)
    if share is None:
        return {"action": "retry_failed", "image_id": image_id, "account_id": account_id,
                "status": "nothing_failed", "targets": []}
    if share.state in reopen:  # the share failed, and every hop of the target with it: all go again
        chosen, needs_share = [c for c in copies if c.state in reopen], True
    else:
        chosen = [c for c in copies if c.state in reopen and target_region in (None, hop_of(c).region)]
        first = next((c for c in copies if hop_of(c).first), None)
        if chosen and first is not None and first.state in reopen and first not in chosen:
            chosen.append(first)  # onward copies are made from the first one: it goes again with them
        # the first copy is made from the shared image: re-opening it re-opens a share already closed
        needs_share = share.state is State.DONE and any(hop_of(c).first for c in chosen)
    views = []
    if needs_share:
        views.append(view(_reopen(ctx, share, shared=False)))
    for record in chosen:
        views.append(view(_reopen(ctx, record)))
    return {"action": "retry_failed", "image_id": image_id, "account_id": account_id,
            "status": "requeued" if views else "nothing_failed", "targets": views}


def _reopen(ctx: AccountContext, record: Record, **data: Any) -> Record:
    """Back to PENDING (a fresh attempt; only FAILED/CANCELLED hops, or a closed share, come here)."""
    updated = ctx.ledger.transition(record.key, record, force=True, state=State.PENDING, reason=None, cloud_id=None,
                                    retryable=False, next_attempt_at=None, updated_at=ctx.now(),
                                    data={**record.data, **data})
    log.info("accounts.requeued", extra={"key": record.key, "by_person": True})
    return updated
