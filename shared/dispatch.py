"""What each event-driven function does with a validated request: the account check, the wiring, the use case.

The handlers in functions/ stay thin (decode, call one function here, encode); this module is where a request
kind meets its use case, so a reader finds every function's branches in one place. An ActionTrail or CR
CloudEvent from another account is refused here before any adapter is wired, so it makes no call and no write;
a person's request (cancel, retry, backfill, export now) has no envelope and no account to check.

Each function imports its own feature's request types and use cases when called: a cold start of
image_created does not load the ACR, export or account features, nor their request models (issue #16, cold
start).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.events.accounts import require_own_account
from shared.wiring import account_context, acr_context, alert_outcomes, copy_context, export_context

if TYPE_CHECKING:
    from shared.events.acr import AcrRequest
    from shared.events.copy_requests import CopyRequest
    from shared.events.exports import ExportRequest


def answer_copy_request(request: CopyRequest, context: Any) -> dict[str, Any]:
    """image_created: a CreateImage event or a manual replicate plans copies; cancel and retry act on records
    (with `account_id`, on the hops of that account target)."""
    from shared.events.copy_requests import CancelCopy, RetryFailed

    if not isinstance(request, (CancelCopy, RetryFailed)) and request.source == "actiontrail":
        require_own_account(request.account_id, context, kind="image_created")
    if isinstance(request, (CancelCopy, RetryFailed)) and request.account_id is not None:
        from shared.accounts.ops import account_request

        return account_request(request, account_context(context))  # one account target (issue #13)
    from shared.replication.service import cancel_copies, handle_image_created, retry_failed

    ctx = copy_context(context)
    if isinstance(request, CancelCopy):
        return cancel_copies(request, ctx)
    if isinstance(request, RetryFailed):
        return retry_failed(request, ctx)
    return handle_image_created(request, ctx)


def answer_acr_request(request: AcrRequest, context: Any) -> dict[str, Any]:
    """acr_push: a PushCompleted event plans syncs; a backfill or one tag's replication is a person's request."""
    from shared.events.acr import BackfillRequest, ReplicateTag

    if not isinstance(request, (BackfillRequest, ReplicateTag)):
        require_own_account(request.account_id, context, kind="acr_push")
    from shared.acr.service import backfill, handle_push, replicate_tag

    ctx = acr_context(context)
    if isinstance(request, BackfillRequest):
        return backfill(request, ctx)
    if isinstance(request, ReplicateTag):
        return replicate_tag(request, ctx)
    return handle_push(request, ctx)


def answer_export_request(request: ExportRequest, context: Any) -> dict[str, Any]:
    """export_batch: the window's batch (with the alerts its skipped exports raise), export now, or cancel."""
    from shared.events.exports import BatchRequest, CancelExport, ExportNow
    from shared.exports.service import cancel_export, export_now, run_batch

    ctx = export_context(context, wake=True)
    if isinstance(request, ExportNow):
        return export_now(ctx, request)
    if isinstance(request, CancelExport):
        return cancel_export(ctx, request)
    assert isinstance(request, BatchRequest)
    result = run_batch(ctx, request)
    if not request.dry_run:
        alerts = alert_outcomes(context, now=request.now)
        if alerts is not None:
            result["alerts"] = alerts
    return result
