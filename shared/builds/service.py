"""The build tick, written against injected adapters: read the ledger, look at the running builds once per
region, plan, apply.

Following N running builds of a region costs one DescribeImagePipelineExecutions per 100 of them (the
ExecutionId list), never one call per build. Handlers and the CLI only wire and encode around `tick`.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from shared.apply import Backoff
from shared.builds.executor import BuildExecutor, PipelineApi
from shared.builds.planner import BUILD_PREFIX, Defer, RecordBuild, StartBuild, plan_builds
from shared.clouds.pipeline_types import RUNNING_STATUSES, PipelineExecution
from shared.context import FeatureContext
from shared.errors import CloudError
from shared.ledger import Ledger
from shared.ledger.record import Record, State
from shared.logs import get_logger
from shared.policy import Policy
from shared.runtime import Deadline
from shared.wakeups import Waker, plan_wake, region_woken, remembered_rate, task_eta

log = get_logger(__name__)


class BuildsApi(PipelineApi, Protocol):
    """What the tick needs of `ImageBuilderGateway`: the executor's calls plus the paged listing."""

    def describe_pipeline_executions(
        self, region: str, *, pipeline_id: str | None = None, execution_ids: list[str] | None = None,
        statuses: tuple[str, ...] | None = None,
    ) -> list[PipelineExecution]: ...

    def cancel_pipeline_execution(self, region: str, execution_id: str) -> None: ...


def observe(api: BuildsApi, records: list[Record], skip: set[str] | None = None) -> dict[str, PipelineExecution]:
    """The executions of every STARTED record that has one, one paged listing per region (but `skip`).

    A region whose listing fails (or is skipped) is left out: its builds are followed on a later tick;
    the planner takes a build it did not see as still running.
    """
    by_region: dict[str, list[str]] = defaultdict(list)
    for record in records:
        if record.state is State.STARTED and record.cloud_id and record.data["region"] not in (skip or ()):
            by_region[record.data["region"]].append(record.cloud_id)
    found: dict[str, PipelineExecution] = {}
    for region, ids in sorted(by_region.items()):
        try:
            for execution in api.describe_pipeline_executions(region, execution_ids=ids):
                found[execution.execution_id] = execution
        except CloudError as exc:
            log.warning("build.observe_failed", extra={"region": region, **exc.log_fields()})
    return found


def tick(policy: Policy, ledger: Ledger, api: BuildsApi, *, now: Callable[[], dt.datetime],
         backoff: Backoff | None = None, deadline: Deadline | None = None, waker: Waker | None = None,
         regions: set[str] | None = None) -> Counter[str]:
    """One tick of every build rule: record due slots, follow running builds, start free templates.

    `regions` (a wake-up of those template regions) lists only their builds. With `waker`, a plain tick
    does not list a region whose wake is still ahead, and each region with builds running gets one wake at
    the earliest expected end (shared/replication/wake.py); its outcomes count them as `woken_regions`."""
    records = list(ledger.scan(BUILD_PREFIX))
    running = {r.data["region"] for r in records if r.state is State.STARTED and r.cloud_id}
    if regions is not None:
        skip = running - regions
    elif waker is not None:
        skip = {region for region in running if region_woken(ledger, region, "build", now())}
    else:
        skip = set()
    executions = observe(api, records, skip)
    windows = {w.name: w for w in policy.windows}
    actions = plan_builds(policy.build_rules, windows, records, executions, now())
    executor = BuildExecutor(ledger, api, now=now, backoff=backoff, deadline=deadline, policy=policy)
    outcomes = executor.apply(actions)
    # A slot recorded in this tick starts in this tick when its template is free.
    if any(isinstance(a, RecordBuild) for a in actions):
        again = plan_builds(policy.build_rules, windows, list(ledger.scan(BUILD_PREFIX)), executions, now())
        executor.apply(a for a in again if isinstance(a, (StartBuild, Defer)))
    if waker is not None:
        woken = schedule_build_wakes(ledger, waker, list(ledger.scan(BUILD_PREFIX)), executions, now(), skip)
        outcomes["woken_regions"] += len(woken)
    return outcomes


def schedule_build_wakes(ledger: Ledger, waker: Waker, records: list[Record],
                         executions: dict[str, PipelineExecution], now: dt.datetime, skipped: set[str]) -> list[str]:
    """One wake per template region with builds running, at the earliest expected end: the build's creation
    plus the region's last measured duration (CreationTime to ModifiedTime of a build seen ended), else
    its age doubled (`task_eta`)."""
    durations: dict[str, list[float]] = defaultdict(list)
    for execution in executions.values():
        if execution.final and execution.creation_time and execution.modified_time:
            seconds = (execution.modified_time - execution.creation_time).total_seconds()
            if seconds > 0:
                durations[execution.region].append(seconds)
    running: dict[str, list[dt.datetime]] = defaultdict(list)
    for record in records:
        if record.state is State.STARTED and record.cloud_id:
            seen = executions.get(record.cloud_id)
            created = seen.creation_time if seen is not None and seen.creation_time else None
            started = created or record.updated_at
            running[record.data["region"]].append(started if started.tzinfo else started.replace(tzinfo=dt.timezone.utc))
    scheduled = []
    for region, starts in sorted(running.items()):
        if region in skipped:
            continue
        measured = max(durations[region]) if durations.get(region) else None
        known = measured or remembered_rate(ledger, region, "build", "seconds")
        end = min(task_eta(started, now, known) for started in starts)
        if plan_wake(ledger, waker, region, end, now, measured, name="seconds"):
            scheduled.append(region)
    return scheduled


@dataclass(kw_only=True)
class BuildsContext(FeatureContext):
    """What a build tick needs, wired by `shared.wiring.wire` (tests build it directly)."""

    adapters: ClassVar[dict[str, str]] = {"api": "image_builder"}

    api: BuildsApi
    waker: Waker | None = None  # wake-ups at the expected end of builds (shared/replication/wake.py)


def follow_builds(ctx: BuildsContext, regions: set[str] | None = None) -> dict[str, Any]:
    """The reconcile tick's build part: its outcomes, the records by state and the running builds' stages."""
    outcomes = tick(ctx.policy, ctx.ledger, ctx.api, now=ctx.now, deadline=ctx.deadline, waker=ctx.waker,
                    regions=regions)
    rows = stages(ctx.ledger)
    return {"outcomes": dict(outcomes), "records": dict(Counter(r["state"] for r in rows)),
            "active": [r for r in rows if r["state"] in (State.PENDING.value, State.STARTED.value)]}


def stages(ledger: Ledger) -> list[dict[str, str]]:
    """Each build record's stage for `status`: key, state, stage, execution and reason."""
    return [
        {"key": r.key, "state": r.state.value, "stage": str(r.data.get("stage") or ""), "execution": r.cloud_id or "",
         "running": str(str(r.data.get("stage")) in RUNNING_STATUSES).lower(), "reason": r.reason or ""}
        for r in ledger.scan(BUILD_PREFIX)
    ]
