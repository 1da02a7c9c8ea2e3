"""FC handler: the reconcile tick (timer trigger, every few minutes, or by hand).

Its "now" is the timer event's `triggerTime` when present, so a tick's decisions are reproducible.
"""
from __future__ import annotations

import json
from typing import Any

from shared.events.parse import parse_timer_event
from shared.logs import bind_invocation, get_logger
from shared.replication.service import reconcile_tick
from shared.wiring import copy_context

log = get_logger(__name__)


def handler(event: bytes, context: Any) -> str:
    """Entry point named in template.yml: `functions/reconcile/handler.handler`."""
    with bind_invocation(context):
        tick = parse_timer_event(event)
        result = reconcile_tick(copy_context(context, now=tick.trigger_time))
        return json.dumps(result, default=str)
