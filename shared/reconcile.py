"""The reconcile tick across features: copies (swept, maybe fanned out by destination region), then running
exports, active ACR syncs, Image Builder builds and account targets' hops, each wired only when it has work.

Why here and not in the handler: the handler only decodes, wires and encodes (house-style §6.1); the
scans that decide which feature has work and the fan-out are use-case logic, called by the handler, the
CLI and the tests alike. OSS is wired only when an export is in flight, CR only when a sync is active and
Image Builder only with build rules or a build in flight, so a copy-only deployment loads just the ECS SDK.

With more active copies than IMAGE_RELAY_FANOUT_THRESHOLD, the tick sweeps once and fans the copy work out
by destination region: each partition is the same handler with a timer payload ``{"regions": [...]}`` and
a stateful invocation id ``reconcile-<tick>-<n>`` (see shared/fanout.py).
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shared.config import get_settings
from shared.events.models import TimerTick
from shared.events.parse import ReconcileScope
from shared.fanout import FanOut, LocalFanOut, partitions
from shared.ledger import keys
from shared.ledger.record import State
from shared.replication.service import active_destinations, reconcile_tick
from shared.wiring import (
    account_context,
    acr_context,
    alert_outcomes,
    builds_context,
    copy_context,
    export_context,
)

if TYPE_CHECKING:
    from shared.ledger.record import Record
    from shared.replication.service import CopyContext

PARTITIONS = 8


def reconcile(context: Any, tick: TimerTick, scope: ReconcileScope | None, *, run_partition: Callable[[bytes], Any],
              fanout: FanOut | None = None) -> dict[str, Any]:
    """One reconcile invocation: a partition's copies, or the whole tick (copies, exports, ACR syncs).

    ``run_partition`` runs a partition's timer body in-process when no ``fanout`` is given.
    """
    # each feature's use cases are imported when it has work: a cold start loads only what its tick needs
    if scope is not None and scope.feature == "acr":  # a wake-up at sync tasks' expected end
        from shared.acr.service import follow_syncs

        return {"acr": follow_syncs(acr_context(context, now=tick.trigger_time, wake=True), set(scope.regions))}
    if scope is not None and scope.feature == "build":  # a wake-up at builds' expected end
        from shared.builds.service import follow_builds

        return {"builds": follow_builds(builds_context(context, now=tick.trigger_time, wake=True),
                                        set(scope.regions))}
    ctx = copy_context(context, now=tick.trigger_time, wake=True)
    if scope is not None:
        return reconcile_tick(ctx, set(scope.regions), sweep_sources=False)
    # the active records, read once; finished ones are not read at all (Ledger.active_and_finished)
    records, finished = ctx.ledger.active_and_finished(keys.prefix(keys.COPY))
    active = sum(1 for r in records if r.is_active)
    if active > get_settings().fanout_threshold:
        runner = fanout or LocalFanOut(lambda _fn, body: run_partition(body))
        result = fan_out(ctx, tick.trigger_time, str(getattr(context, "request_id", "")), runner, wait=fanout is None,
                         known=(records, finished))
    else:
        result = reconcile_tick(ctx, active=(records, finished))
    if any(r.state is State.STARTED for r in ctx.ledger.scan_active(keys.prefix(keys.EXPORT))):
        from shared.exports.service import follow_exports

        result["exports"] = follow_exports(export_context(context), leave_woken=get_settings().wakeups)
    if any(r.is_active or (r.state is State.FAILED and r.retryable)
           for r in ctx.ledger.scan_active(keys.prefix(keys.ACR))):
        from shared.acr.service import follow_syncs

        result["acr"] = follow_syncs(acr_context(context, now=tick.trigger_time, wake=True))
    # the gates read active records only (Ledger.scan_active): on OSS a finished record costs no request
    if any(rule.accounts for rule in ctx.policy.copy_rules) and any(
            r.is_active for kind in (keys.XSHARE, keys.XCOPY) for r in ctx.ledger.scan_active(keys.prefix(kind))):
        from shared.accounts.service import account_tick

        result["accounts"] = account_tick(account_context(context, now=tick.trigger_time))  # issue #13
    if ctx.policy.build_rules or any(r.is_active for r in ctx.ledger.scan_active(keys.prefix(keys.BUILD))):
        from shared.builds.service import follow_builds

        result["builds"] = follow_builds(builds_context(context, now=tick.trigger_time, wake=True))
    alerts = alert_outcomes(context, now=tick.trigger_time)  # None unless an alerts sink is configured
    if alerts is not None:
        result["alerts"] = alerts
    return result


def fan_out(ctx: CopyContext, trigger_time: dt.datetime | None, request_id: str, runner: FanOut, *,
            wait: bool, known: tuple[list[Record], dict[str, State]] | None = None) -> dict[str, Any]:
    """Sweep here, then one partition per group of destination regions (``wait``: for in-process ones).

    ``known``: the caller's read of the copy records (active ones, finished keys). The sweep must know every
    key, or it would record again (and re-read) every intent that exists; after it, only the keys it added
    are read, for their destination regions."""
    records, finished = known if known is not None else ctx.ledger.active_and_finished(keys.prefix(keys.COPY))
    seen = {r.key for r in records} | set(finished)
    # an empty scope: the sweep and nothing else
    swept = reconcile_tick(ctx, set(), sweep_sources=True, known_keys=seen)
    added = list(ctx.ledger.scan_where(keys.prefix(keys.COPY), lambda key: key not in seen))
    groups = partitions(active_destinations(records + added), PARTITIONS)
    tick_id = trigger_time.strftime("%Y%m%dT%H%M%S") if trigger_time else request_id
    for n, group in enumerate(groups):
        payload = {"triggerTime": trigger_time.strftime("%Y-%m-%dT%H:%M:%SZ") if trigger_time else None,
                   "triggerName": "reconcile-partition", "payload": json.dumps({"regions": group})}
        runner.submit("reconcile", payload, f"reconcile-{tick_id}-{n}")
    results = runner.wait() if wait and isinstance(runner, LocalFanOut) else []
    return {"status": "fanned_out", "partitions": [len(g) for g in groups], "swept": swept["actions"],
            "records": swept["records"], "partition_results": [json.loads(r) for r in results]}
