"""FC handler: the reconcile tick (timer trigger, every few minutes, or by hand).

It decodes the timer event (its `triggerTime` is the tick's "now", so decisions are reproducible) and
hands it to `shared.reconcile.reconcile`: copies one step (fanned out by destination region above
IMAGE_RELAY_FANOUT_THRESHOLD, each partition this same handler with `{"regions": [...]}`), running
exports, ACR syncs and Image Builder builds, each wired only when it has work.
"""
from __future__ import annotations

import json
from typing import Any

from shared.entry import fc_handler
from shared.events.parse import parse_reconcile_event
from shared.fanout import FanOut
from shared.reconcile import reconcile


@fc_handler
def handler(event: bytes, context: Any, fanout: FanOut | None = None) -> str:
    """Entry point named in template.yml: `functions/reconcile/handler.handler`.

    The timer's inner payload is empty, or exactly `{"regions": [...]}` (a partition); anything else is
    refused with `EventValidationError` before any call. Without `fanout`, partitions run in-process
    through this same handler."""
    tick, scope = parse_reconcile_event(event)
    result = reconcile(context, tick, scope, fanout=fanout, run_partition=lambda body: handler(body, context))
    return json.dumps(result, default=str)
