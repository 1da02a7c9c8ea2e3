"""FC handler: the reconcile tick (timer trigger, every few minutes, or by hand).

It drives copies one step, follows running exports to completion, follows ACR sync tasks
(retrying ERROR with backoff, pacing queued backfill intents), and starts and follows the Image Builder
builds of the policy's build_rules (one paged listing per region, shared/builds/). Its "now" is the timer
event's `triggerTime` when present, so a tick's decisions are reproducible. OSS is wired only when an
export is in flight, CR only when a sync is active and Image Builder only with build rules or a build in
flight, so a copy-only deployment loads just the ECS SDK.

With more active copies than IMAGE_RELAY_FANOUT_THRESHOLD, the tick sweeps once and fans the copy
work out by destination region: each partition is this same handler with a timer payload
`{"regions": [...]}` and a stateful invocation id `reconcile-<tick>-<n>` (see shared/fanout.py).
"""
from __future__ import annotations

import json
from typing import Any

from shared.acr.service import follow_syncs
from shared.builds.service import follow_builds
from shared.config import get_settings
from shared.entry import fc_handler
from shared.events.parse import parse_reconcile_event
from shared.exports.service import follow_exports
from shared.fanout import FanOut, LocalFanOut, partitions
from shared.ledger.record import State
from shared.replication.service import active_destinations, reconcile_tick
from shared.wiring import acr_context, alert_outcomes, builds_context, copy_context, export_context

PARTITIONS = 8


@fc_handler
def handler(event: bytes, context: Any, fanout: FanOut | None = None) -> str:
    """Entry point named in template.yml: `functions/reconcile/handler.handler`.

    The timer's inner payload is empty, or exactly `{"regions": [...]}` (a partition); anything else is
    refused with `EventValidationError` before any call."""
    tick, scope = parse_reconcile_event(event)
    ctx = copy_context(context, now=tick.trigger_time, wake=True)
    if scope is not None:
        return json.dumps(reconcile_tick(ctx, set(scope.regions), sweep_sources=False), default=str)
    records = list(ctx.ledger.scan("copy/"))
    active = sum(1 for r in records if r.is_active)
    if active > get_settings().fanout_threshold:
        result = _fan_out(ctx, records, tick.trigger_time, context, fanout)
    else:
        result = reconcile_tick(ctx)
    if any(r.state is State.STARTED for r in ctx.ledger.scan("export/")):
        result["exports"] = follow_exports(export_context(context))
    if any(r.is_active or (r.state is State.FAILED and r.retryable) for r in ctx.ledger.scan("acr/")):
        result["acr"] = follow_syncs(acr_context(context, now=tick.trigger_time))
    if ctx.policy.build_rules or any(r.is_active for r in ctx.ledger.scan("build/")):
        result["builds"] = follow_builds(builds_context(context, now=tick.trigger_time))
    alerts = alert_outcomes(context, now=tick.trigger_time)  # None unless an alerts sink is configured
    if alerts is not None:
        result["alerts"] = alerts
    return json.dumps(result, default=str)


def _fan_out(ctx: Any, records: list[Any], trigger_time: Any, context: Any, fanout: FanOut | None) -> dict[str, Any]:
    """Sweep here, then one partition per group of destination regions."""
    swept = reconcile_tick(ctx, set(), sweep_sources=True)  # an empty scope: the sweep and nothing else
    groups = partitions(active_destinations(list(ctx.ledger.scan("copy/"))), PARTITIONS)
    local = fanout is None
    runner = fanout or LocalFanOut(lambda _fn, body: handler(body, context))
    tick_id = (trigger_time.strftime("%Y%m%dT%H%M%S") if trigger_time else str(getattr(context, "request_id", "")))
    for n, group in enumerate(groups):
        payload = {"triggerTime": trigger_time.strftime("%Y-%m-%dT%H:%M:%SZ") if trigger_time else None,
                   "triggerName": "reconcile-partition", "payload": json.dumps({"regions": group})}
        runner.submit("reconcile", payload, f"reconcile-{tick_id}-{n}")
    results = runner.wait() if local and isinstance(runner, LocalFanOut) else []
    return {"status": "fanned_out", "partitions": [len(g) for g in groups], "swept": swept["actions"],
            "records": swept["records"],
            "partition_results": [json.loads(r) for r in results]}
