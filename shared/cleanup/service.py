"""The cleanup use case against injected adapters: scan, plan, then apply or render.

Scans per region (all paged): our images in every status; other accounts' `TemplateScratch-` images
(so the report says why they stay); DescribeImages `Usage=instance`; DescribeInstances; running
ExportImage tasks; every launch template version; the ESS scaling configurations; the Image Builder
templates; the newest image of each family our images (or a scaling configuration, or a template) name;
and, in every other region of the account, the copies in progress (a console copy may go anywhere). Copies in progress of every scanned region
protect their possible sources in any region (`shared.cleanup.references`). Then one
DescribeImageSharePermission per image in scope that is ours and not still being created: ECS has no
listing of share permissions, and a daily run over a bounded set of images can afford it. A managed
copy's lineage needs its source image's family: read from the scans, else one DescribeImages per
source outside them. With a retention rule and build rules, one paged DescribeImagePipelineExecutions per
build rule's template ties the template's own images to their builds (`shared.cleanup.builds`). A failed share or source lookup keeps that image (unknown is not "unshared", nor
"same lineage"); any other scan failure aborts the run before it deletes anything.

The blast-radius check runs on the plan before the executor exists, so a refused run makes no
DeleteImage call; the dry-run report shows the same refusal.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Protocol

from shared.cleanup.builds import rule_templates, template_outputs
from shared.cleanup.executor import CleanupExecutor, render
from shared.cleanup.leftovers import (
    LeftoverDecision,
    LeftoverScan,
    check_release_limits,
    plan_leftovers,
    wanted_executions,
)
from shared.cleanup.model import BuildOutput, CleanupPlan, ImageFacts, InFlight, Inventory
from shared.cleanup.planner import build_plan, check_limits
from shared.cleanup.references import (
    References,
    ScalingReader,
    copies_elsewhere,
    image_references,
    merge,
    read_region,
)
from shared.cleanup.release import ReleaseExecutor, render_leftovers
from shared.cleanup.request import CleanupRequest, deletion_clock
from shared.cleanup.rules import IN_PROGRESS_STATUSES, is_managed
from shared.clouds.ecs_types import ExportTask, Image, Instance, LaunchTemplateVersion
from shared.clouds.leftover_types import BuilderInstance, Network
from shared.clouds.pipeline_types import ImagePipeline, PipelineExecution
from shared.context import FeatureContext
from shared.errors import CloudError, LedgerConflictError, PlanLimitExceededError
from shared.ledger.record import State
from shared.logs import get_logger
from shared.policy.cleanup import CleanupPolicy, cleanup_regions
from shared.replication.provenance import TAG_SOURCE_IMAGE, TAG_SOURCE_REGION

log = get_logger(__name__)


class CleanupEcsApi(Protocol):
    """The slice of `EcsGateway` the cleanup needs."""

    calls: int

    def regions(self, region: str = ...) -> list[str]: ...

    def list_images(self, region: str, **filters: Any) -> list[Image]: ...

    def iter_instances(self, region: str, *, image_id: str | None = None) -> Iterator[Instance]: ...

    def iter_export_tasks(self, region: str, *, task_ids: list[str] | None = None,
                          image_id: str | None = None) -> Iterator[ExportTask]: ...

    def image_share_accounts(self, region: str, image_id: str) -> list[str]: ...

    def get_image(self, region: str, image_id: str) -> Image | None: ...

    def delete_image(self, region: str, image_id: str, *, force: bool = False) -> None: ...

    def iter_launch_template_versions(self, region: str) -> Iterator[LaunchTemplateVersion]: ...

    def image_from_family(self, region: str, family: str) -> Image | None: ...

    def iter_pipelines(self, region: str) -> Iterator[ImagePipeline]: ...

    def iter_builder_instances(self, region: str) -> Iterator[BuilderInstance]: ...

    def iter_networks(self, region: str) -> Iterator[Network]: ...

    def describe_pipeline_executions(self, region: str, *, pipeline_id: str | None = None,
                                     execution_ids: list[str] | None = None) -> list[PipelineExecution]: ...

    def release_instance(self, region: str, instance_id: str) -> None: ...

    def delete_vswitch(self, region: str, vswitch_id: str) -> None: ...

    def delete_vpc(self, region: str, vpc_id: str) -> None: ...


@dataclass(kw_only=True)
class CleanupContext(FeatureContext):
    """Everything a cleanup run needs, injected; without `ess` every image counts as referenced."""

    adapters: ClassVar[dict[str, str]] = {"ecs": "image_builder", "ess": "ess"}

    ecs: CleanupEcsApi
    ess: ScalingReader | None = None


def _in_scope(image: Image, policy: CleanupPolicy) -> bool:
    scratch = policy.template_scratch
    if scratch is not None and image.name.startswith(scratch.name_prefix):
        return True
    return policy.retention is not None and is_managed(ImageFacts(image))


def _share(ecs: CleanupEcsApi, image: Image) -> tuple[tuple[str, ...] | None, str | None]:
    if image.owner_alias != "self" or image.status in IN_PROGRESS_STATUSES:
        return (), None  # a guard keeps it anyway; no call needed
    try:
        return tuple(ecs.image_share_accounts(image.region, image.image_id)), None
    except CloudError as exc:
        log.warning("cleanup.share_lookup_failed", extra={"image_id": image.image_id, **exc.log_fields()})
        return None, exc.code


@dataclass
class RegionScan:
    """What one region's scans saw."""

    in_scope: list[Image]
    owned: list[Image]
    listed_in_use: set[str]
    exports: list[tuple[str, str, str]]
    references: References


def scan_region(ecs: CleanupEcsApi, ess: ScalingReader | None, region: str, policy: CleanupPolicy) -> RegionScan:
    """Images in scope, our images, Usage=instance, running exports and every reference of one region."""
    owned = ecs.list_images(region, owner_alias="self")
    images = [i for i in owned if _in_scope(i, policy)]
    if policy.template_scratch is not None:
        prefix = policy.template_scratch.name_prefix
        images += [i for i in ecs.list_images(region, owner_alias="others", name=prefix) if _in_scope(i, policy)]
    listed_in_use = {i.image_id for i in ecs.list_images(region, owner_alias="self", usage="instance")}
    instances = list(ecs.iter_instances(region))
    exports = [(region, t.image_id, t.task_id) for t in ecs.iter_export_tasks(region) if t.running]
    refs = read_region(ecs, ess, region, owned, instances)
    return RegionScan(images, owned, listed_in_use, exports, refs)


def _source_family(ecs: CleanupEcsApi, image: Image, known: dict[tuple[str, str], Image | None]) -> str | None:
    """The ImageFamily of a managed copy's source ("" none), or None when the source cannot be read."""
    source = (image.tags.get(TAG_SOURCE_REGION, ""), image.tags.get(TAG_SOURCE_IMAGE, ""))
    if not all(source):
        return None
    if source not in known:
        try:
            known[source] = ecs.get_image(*source)
        except CloudError as exc:
            log.warning("cleanup.source_lookup_failed", extra={"image_id": source[1], **exc.log_fields()})
            known[source] = None
    found = known[source]
    return None if found is None else found.family


def build_outputs(ctx: CleanupContext, policy: CleanupPolicy, pipelines: tuple[ImagePipeline, ...],
                  owned: list[Image]) -> dict[tuple[str, str], BuildOutput]:
    """The build rules' templates' own images among `owned`, with their builds: one paged
    DescribeImagePipelineExecutions per template (by ImagePipelineId). Only with a retention rule."""
    if policy.retention is None or not ctx.policy.build_rules:
        return {}
    templates = rule_templates(ctx.policy.build_rules, pipelines)
    tasks = {t.pipeline_id: ctx.ecs.describe_pipeline_executions(t.region, pipeline_id=t.pipeline_id)
             for t in templates}
    return template_outputs(templates, tasks, owned)


def take_inventory(ctx: CleanupContext, policy: CleanupPolicy) -> Inventory:
    """Scan every cleanup region, then judge each image in scope against all regions' references."""
    regions = tuple(cleanup_regions(ctx.policy))
    scans = [scan_region(ctx.ecs, ctx.ess, region, policy) for region in regions]
    refs = merge([*(scan.references for scan in scans), copies_elsewhere(ctx.ecs, regions)])
    known: dict[tuple[str, str], Image | None] = {(i.region, i.image_id): i for s in scans for i in s.owned}
    outputs = build_outputs(ctx, policy, refs.pipelines, [i for s in scans for i in s.owned])
    facts: list[ImageFacts] = []
    for scan in scans:
        scoped = {i.image_id for i in scan.in_scope}
        for image in scan.in_scope + [i for i in scan.owned if i.image_id not in scoped
                                      and (i.region, i.image_id) in outputs]:
            accounts, error = _share(ctx.ecs, image)
            users = tuple(sorted(i.instance_id for i in refs.instances
                                 if (i.region, i.image_id) == (image.region, image.image_id)))
            facts.append(ImageFacts(
                image=image, instances=users, listed_in_use=image.image_id in scan.listed_in_use,
                share_accounts=accounts, share_error=error, references=image_references(image, refs),
                source_family=_source_family(ctx.ecs, image, known) if is_managed(ImageFacts(image)) else None,
                build=outputs.get((image.region, image.image_id))))
    exports = [e for scan in scans for e in scan.exports]
    return Inventory(regions=regions, images=tuple(facts), running_exports=tuple(sorted(exports)),
                     instances=tuple(i for i in refs.instances if i.region in regions),
                     pipelines=tuple(p for p in refs.pipelines if p.region in regions))


def take_leftovers(ctx: CleanupContext, inventory: Inventory) -> LeftoverScan:
    """Image Builder's instances and networks of every cleanup region, and the build tasks they name (one
    DescribeImagePipelineExecutions per region and 100 ids). A failed listing aborts the run, like any scan."""
    instances = tuple(i for region in inventory.regions for i in ctx.ecs.iter_builder_instances(region))
    networks = tuple(n for region in inventory.regions for n in ctx.ecs.iter_networks(region))
    executions = {e.execution_id: e for region, ids in wanted_executions(instances, networks).items()
                  for e in ctx.ecs.describe_pipeline_executions(region, execution_ids=ids)}
    return LeftoverScan(regions=inventory.regions, instances=instances, networks=networks,
                        all_instances=inventory.instances, executions=executions,
                        pipelines={p.pipeline_id: p for p in inventory.pipelines})


def _counts(rows: list[dict[str, Any]], plan: CleanupPlan) -> dict[str, int]:
    outcomes = Counter(str(r.get("outcome")) for r in rows)
    return {"considered": plan.candidates, "planned_delete": len(plan.deletions),
            "planned_keep": plan.candidates - len(plan.deletions), **dict(sorted(outcomes.items()))}


def run_cleanup(ctx: CleanupContext, request: CleanupRequest) -> dict[str, Any]:
    """One cleanup run: the JSON report (status planned | ok | refused | disabled, counts, decisions).

    A caller's `now` far from the real clock raises `EventValidationError` before any API call.
    """
    now = deletion_clock(ctx.now(), request)
    calls_before = ctx.ecs.calls
    summary: dict[str, Any] = {"action": "cleanup", "now": now.isoformat(), "dry_run": request.dry_run,
                               "regions": cleanup_regions(ctx.policy)}
    policy = ctx.policy.cleanup
    if policy is None:
        return {**summary, "status": "disabled", "reason": "the policy has no cleanup: section", "counts": {},
                "decisions": [], "leftovers": [], "leftover_counts": {}, "api_calls": 0}
    versions = {r.key: r.version for r in ctx.ledger.scan("cleanup/")}  # read before the scans: see at_versions
    leftover_versions = {r.key: r.version for r in ctx.ledger.scan("leftover/")}
    inventory = take_inventory(ctx, policy)
    in_flight = InFlight.from_records([*ctx.ledger.scan("copy/"), *ctx.ledger.scan("export/"),
                                       *ctx.ledger.scan("xshare/"), *ctx.ledger.scan("xcopy/")])
    plan = build_plan(policy, inventory, in_flight, now, rules={r.name for r in ctx.policy.copy_rules})
    plan = plan.at_versions(versions)
    scan = take_leftovers(ctx, inventory)
    leftovers = tuple(replace(d, record_version=leftover_versions.get(d.key, 0)) if d.action == "release" else d
                      for d in plan_leftovers(policy, scan, now))
    limits = {"max_deletions": policy.max_deletions, "max_share": policy.max_share,
              "share_floor": policy.share_floor}
    try:
        check_limits(plan, policy)
        check_release_limits(leftovers, policy)
    except PlanLimitExceededError as exc:
        rows, leftover_rows = render(plan), render_leftovers(leftovers)
        log.error("cleanup.refused", extra={**exc.log_fields(), "planned_delete": len(plan.deletions),
                                            "planned_release": _releases(leftovers)})
        return {**summary, "status": "refused", "error": exc.to_dict(), "limits": limits,
                "counts": _counts(rows, plan), "decisions": rows, **_leftover_part(leftover_rows, leftovers),
                "api_calls": ctx.ecs.calls - calls_before}
    if request.dry_run:
        rows, leftover_rows = render(plan), render_leftovers(leftovers)
        status = "planned"
    else:
        executor = CleanupExecutor(ctx.ecs, ctx.ledger, now=ctx.now, deadline=ctx.deadline)
        _settle_interrupted(ctx, executor, plan)
        rows = executor.apply(plan)
        releaser = ReleaseExecutor(ctx.ecs, ctx.ledger, now=ctx.now, deadline=ctx.deadline)
        seen = ({i.instance_id for i in scan.instances} | {i.instance_id for i in scan.all_instances}
                | {n.resource_id for n in scan.networks})
        releaser.settle_interrupted(leftovers, seen)
        leftover_rows = releaser.apply(leftovers)
        status = "ok"
    result = {**summary, "status": status, "limits": limits, "counts": _counts(rows, plan), "decisions": rows,
              **_leftover_part(leftover_rows, leftovers), "api_calls": ctx.ecs.calls - calls_before}
    log.info("cleanup.finished", extra={k: result[k] for k in ("dry_run", "status", "counts", "leftover_counts",
                                                               "api_calls")})
    return result


def _releases(leftovers: tuple[LeftoverDecision, ...]) -> int:
    return sum(1 for d in leftovers if d.action == "release")


def _leftover_part(rows: list[dict[str, Any]], leftovers: tuple[LeftoverDecision, ...]) -> dict[str, Any]:
    """The report's failed-build leftovers: one row each (with its cost class) and their counts."""
    outcomes = Counter(str(r.get("outcome")) for r in rows)
    counts = {"found": len(leftovers), "planned_release": _releases(leftovers), **dict(sorted(outcomes.items()))}
    return {"leftovers": rows, "leftover_counts": counts}


def _settle_interrupted(ctx: CleanupContext, executor: CleanupExecutor, plan: Any) -> None:
    """Finish records an earlier run left PENDING or STARTED (a crash, or a failed ledger write,
    between DeleteImage and the record's end): the image is gone, so no plan would name it again.

    A record this run deletes again is left to the executor; for the others one DescribeImages
    call tells whether the delete happened.
    """
    planned = {(d.region, d.image_id): d for d in plan.decisions}
    for record in ctx.ledger.scan("cleanup/"):
        if record.state not in (State.PENDING, State.STARTED):
            continue
        region, image_id = record.data.get("region", ""), record.data.get("image_id", "")
        decision = planned.get((region, image_id))
        if decision is not None and decision.action == "delete":
            continue
        try:
            if ctx.ecs.get_image(region, image_id) is None:
                executor.finish(record, State.DONE, "deleted", "deleted (confirmed by a later run)")
            else:
                why = decision.reason if decision is not None else "no longer a cleanup candidate"
                executor.finish(record, State.DONE, "kept", f"kept: {why}")
        except (CloudError, LedgerConflictError) as exc:
            log.warning("cleanup.settle_failed", extra={"key": record.key, "error": type(exc).__name__})
