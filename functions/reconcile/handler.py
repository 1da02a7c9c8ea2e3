"""FC handler: the reconcile tick (timer trigger, every few minutes, or by hand).

It drives copies one step and follows running exports to completion. Its "now" is the timer event's
`triggerTime` when present, so a tick's decisions are reproducible. OSS is wired only when an export
is in flight, so a copy-only deployment never loads the OSS SDK.
"""
from __future__ import annotations

import json
from typing import Any

from shared.events.parse import parse_timer_event
from shared.exports.service import follow_exports
from shared.ledger.record import State
from shared.logs import bind_invocation
from shared.replication.service import reconcile_tick
from shared.wiring import copy_context, export_context


def handler(event: bytes, context: Any) -> str:
    """Entry point named in template.yml: `functions/reconcile/handler.handler`."""
    with bind_invocation(context):
        tick = parse_timer_event(event)
        ctx = copy_context(context, now=tick.trigger_time)
        result = reconcile_tick(ctx)
        if any(r.state is State.STARTED for r in ctx.ledger.scan("export/")):
            result["exports"] = follow_exports(export_context(context))
        return json.dumps(result, default=str)
