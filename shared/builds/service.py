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

log = get_logger(__name__)


class BuildsApi(PipelineApi, Protocol):
    """What the tick needs of `ImageBuilderGateway`: the executor's calls plus the paged listing."""

    def describe_pipeline_executions(
        self, region: str, *, pipeline_id: str | None = None, execution_ids: list[str] | None = None,
        statuses: tuple[str, ...] | None = None,
    ) -> list[PipelineExecution]: ...


def observe(api: BuildsApi, records: list[Record]) -> dict[str, PipelineExecution]:
    """The executions of every STARTED record that has one, one paged listing per region.

    A region whose listing fails is left out: its builds are followed on the next tick.
    """
    by_region: dict[str, list[str]] = defaultdict(list)
    for record in records:
        if record.state is State.STARTED and record.cloud_id:
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
         backoff: Backoff | None = None, deadline: Deadline | None = None) -> Counter[str]:
    """One tick of every build rule: record due slots, follow running builds, start free templates."""
    records = list(ledger.scan(BUILD_PREFIX))
    executions = observe(api, records)
    windows = {w.name: w for w in policy.windows}
    actions = plan_builds(policy.build_rules, windows, records, executions, now())
    executor = BuildExecutor(ledger, api, now=now, backoff=backoff, deadline=deadline, policy=policy)
    outcomes = executor.apply(actions)
    # A slot recorded in this tick starts in this tick when its template is free.
    if any(isinstance(a, RecordBuild) for a in actions):
        again = plan_builds(policy.build_rules, windows, list(ledger.scan(BUILD_PREFIX)), executions, now())
        executor.apply(a for a in again if isinstance(a, (StartBuild, Defer)))
    return outcomes


@dataclass(kw_only=True)
class BuildsContext(FeatureContext):
    """What a build tick needs, wired by `shared.wiring.wire` (tests build it directly)."""

    adapters: ClassVar[dict[str, str]] = {"api": "image_builder"}

    api: BuildsApi


def follow_builds(ctx: BuildsContext) -> dict[str, Any]:
    """The reconcile tick's build part: its outcomes, the records by state and the running builds' stages."""
    outcomes = tick(ctx.policy, ctx.ledger, ctx.api, now=ctx.now, deadline=ctx.deadline)
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
