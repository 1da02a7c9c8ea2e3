"""FC handler: the reconcile tick (timer trigger, every few minutes, or by hand).

It drives copies one step, follows running exports to completion, and follows ACR sync tasks
(retrying ERROR with backoff, pacing queued backfill intents). Its "now" is the timer event's
`triggerTime` when present, so a tick's decisions are reproducible. OSS is wired only when an export
is in flight and CR only when a sync is active, so a copy-only deployment loads just the ECS SDK.
"""
from __future__ import annotations

import json
from typing import Any

from shared.acr.service import follow_syncs
from shared.events.parse import parse_timer_event
from shared.exports.service import follow_exports
from shared.ledger.record import State
from shared.logs import bind_invocation
from shared.replication.service import reconcile_tick
from shared.wiring import acr_context, copy_context, export_context


def handler(event: bytes, context: Any) -> str:
    """Entry point named in template.yml: `functions/reconcile/handler.handler`."""
    with bind_invocation(context):
        tick = parse_timer_event(event)
        ctx = copy_context(context, now=tick.trigger_time)
        result = reconcile_tick(ctx)
        if any(r.state is State.STARTED for r in ctx.ledger.scan("export/")):
            result["exports"] = follow_exports(export_context(context))
        if any(r.is_active or (r.state is State.FAILED and r.retryable) for r in ctx.ledger.scan("acr/")):
            result["acr"] = follow_syncs(acr_context(context, now=tick.trigger_time))
        return json.dumps(result, default=str)
