"""The pure core of a cleanup run: (cleanup policy, inventory, in-flight records, now) → CleanupPlan.

No I/O: inputs are frozen values and time is an argument, so the same plan is applied or printed
(Chalice's planner, house-style §5). `plan_cleanup` also enforces the blast radius (Custodian's
`max-resources`): a plan deleting more than `max_deletions` images, or more than `max_share` of the
images it considered, raises `PlanLimitExceededError` before the executor makes a single call.

Scope: an image is considered only when a rule names it, i.e. its name starts with the scratch
prefix (`template_scratch`), or it carries image-relay's provenance tags, or a build rule's Image Builder
template made it (`retention`, per template and region: `shared.cleanup.builds`). Anything else in the
region is not looked at and gets no decision.

Example
-------
>>> import datetime as dt
>>> from shared.clouds.ecs_types import Image
>>> from shared.policy.cleanup import CleanupPolicy, TemplateScratch
>>> now = dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc)
>>> old = Image(region="cn-hangzhou", image_id="m-1", name="TemplateScratch-1", creation_time=now - dt.timedelta(days=2))
>>> policy = CleanupPolicy(template_scratch=TemplateScratch(min_age_hours=24), max_share=1.0)
>>> plan = plan_cleanup(policy, Inventory(("cn-hangzhou",), (ImageFacts(old),)), InFlight(), now, rules=set())
>>> [(d.image_id, d.action) for d in plan.decisions]
[('m-1', 'delete')]
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping

from shared.cleanup.model import CleanupPlan, Decision, ImageFacts, InFlight, Inventory
from shared.cleanup.rules import (
    IN_PROGRESS_STATUSES,
    age_of,
    blocker,
    is_managed,
    lineage_of,
    scratch_reason,
    unknown_lineage_reason,
)
from shared.clouds.pipeline_types import FINAL_STATUSES
from shared.errors import PlanLimitExceededError
from shared.policy.cleanup import CleanupPolicy, Retention
from shared.replication.provenance import TAG_RULE, TAG_SOURCE_IMAGE, TAG_SOURCE_REGION

DEFAULT_SCRATCH_PREFIX = "TemplateScratch-"
#: Build ends whose image counts among the newest a template output lineage keeps.
GOOD_BUILDS = ("SUCCESS", "PARTITION_SUCCESS")


def _busy(inventory: Inventory, in_flight: InFlight) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]:
    """(copies, exports): (region, image id) → what proves the image busy; ledger first, then the cloud."""
    copies = {(r, i): f"in-flight copy record {key}" for r, i, key in in_flight.copies}
    for facts in inventory.images:
        image = facts.image
        if image.status in IN_PROGRESS_STATUSES and TAG_SOURCE_IMAGE in image.tags:
            source = (image.tags.get(TAG_SOURCE_REGION, ""), image.tags[TAG_SOURCE_IMAGE])
            copies.setdefault(source, f"running copy {image.image_id} in {image.region}")
    exports = {(r, i): f"in-flight export record {key}" for r, i, key in in_flight.exports}
    for region, image_id, task_id in inventory.running_exports:
        exports.setdefault((region, image_id), f"running export task {task_id}")
    return copies, exports


def _decide(facts: ImageFacts, action: str, reason: str, rule: str) -> Decision:
    image = facts.image
    return Decision(region=image.region, image_id=image.image_id, name=image.name,
                    action="delete" if action == "delete" else "keep", reason=reason,
                    rule="retention" if rule == "retention" else "template_scratch")


def _retention(
    managed: list[ImageFacts],
    retention: Retention,
    rules: Collection[str],
    busy: tuple[Mapping[tuple[str, str], str], Mapping[tuple[str, str], str]],
    now: dt.datetime,
) -> list[Decision]:
    """Newest `keep_newest` Available copies per lineage stay; older ones go after the grace.

    A copy whose lineage cannot be known (its source image is gone or has no family) is kept: it is
    never counted as superseding, nor as superseded by, anything.
    """
    groups: dict[str, list[ImageFacts]] = defaultdict(list)
    decisions: list[Decision] = []
    for facts in managed:
        lineage = lineage_of(facts)
        if lineage is not None:
            groups[lineage].append(facts)
            continue
        rule = facts.image.tags.get(TAG_RULE, "")
        guard = blocker(facts, *busy)
        reason = (f"rule {rule!r} is no longer in the policy; outside every rule's scope" if rule not in rules
                  else guard or unknown_lineage_reason(facts))
        decisions.append(_decide(facts, "keep", reason, "retention"))

    def out_of_scope(facts: ImageFacts) -> str | None:
        rule = facts.image.tags.get(TAG_RULE, "")
        return None if rule in rules else f"rule {rule!r} is no longer in the policy; outside every rule's scope"

    for lineage, members in groups.items():
        decisions += _keep_newest(lineage, members, retention, busy, now, out_of_scope=out_of_scope)
    return decisions


def _build_retention(
    outputs: list[ImageFacts],
    retention: Retention,
    busy: tuple[Mapping[tuple[str, str], str], Mapping[tuple[str, str], str]],
    now: dt.datetime,
) -> list[Decision]:
    """A build rule's template outputs: newest `keep_newest` images of builds that ended SUCCESS or
    PARTITION_SUCCESS per (template, region) stay; a running build's image stays; a TEST_FAILED build's image
    counts for nothing and goes once `keep_newest` newer good builds supersede it."""
    groups: dict[str, list[ImageFacts]] = defaultdict(list)
    for facts in outputs:
        assert facts.build is not None
        groups[facts.build.lineage(facts.image.region)].append(facts)

    def held(facts: ImageFacts) -> str | None:
        build = facts.build
        if build is not None and build.status not in FINAL_STATUSES:
            return f"its build {build.execution_id} still runs ({build.status})"
        return None

    def counts(facts: ImageFacts) -> bool:
        return facts.build is not None and facts.build.status in GOOD_BUILDS

    decisions: list[Decision] = []
    for lineage, members in groups.items():
        decisions += _keep_newest(lineage, members, retention, busy, now, held=held, counts=counts,
                                  noun="builds' images")
    return decisions


def _keep_newest(
    lineage: str,
    members: list[ImageFacts],
    retention: Retention,
    busy: tuple[Mapping[tuple[str, str], str], Mapping[tuple[str, str], str]],
    now: dt.datetime,
    *,
    out_of_scope: Callable[[ImageFacts], str | None] = lambda _: None,
    held: Callable[[ImageFacts], str | None] = lambda _: None,
    counts: Callable[[ImageFacts], bool] = lambda _: True,
    noun: str = "copies",
) -> list[Decision]:
    """One lineage, newest first: the guards, then the newest `keep_newest` counted Available images stay,
    then the grace; the rest are superseded. An image that does not count (`counts`) keeps no place among
    the newest but is superseded like any other."""
    oldest = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    members = sorted(members, key=lambda f: (f.image.creation_time or oldest, f.image.image_id), reverse=True)
    grace = dt.timedelta(days=retention.grace_days)
    decisions: list[Decision] = []
    rank = 0
    for facts in members:
        available = facts.image.status == "Available"
        counted = available and counts(facts)
        position, rank = rank, rank + (1 if counted else 0)
        age = age_of(facts, now)
        reason = out_of_scope(facts) or blocker(facts, *busy) or held(facts)
        if reason is not None:
            pass
        elif not available:
            reason = f"status {facts.image.status}; only Available {noun} are retired"
        elif position < retention.keep_newest:
            reason = (f"newest {position + 1} of {retention.keep_newest} kept in lineage {lineage}" if counted
                      else f"not counted among the newest (build {_build_status(facts)}); {position} newer "
                           f"counted in lineage {lineage}, fewer than keep_newest {retention.keep_newest}")
        elif age is None:
            reason = "creation time unknown; kept to be safe"
        elif age < grace:
            reason = f"younger than grace_days {retention.grace_days:g}"
        else:
            decisions.append(_decide(facts, "delete", (
                f"superseded by {retention.keep_newest} newer {noun} in lineage {lineage}; "
                f"older than grace_days {retention.grace_days:g}"), "retention"))
            continue
        decisions.append(_decide(facts, "keep", reason, "retention"))
    return decisions


def _build_status(facts: ImageFacts) -> str:
    return f"{facts.build.execution_id} ended {facts.build.status}" if facts.build is not None else "unknown"


def build_plan(policy: CleanupPolicy, inventory: Inventory, in_flight: InFlight, now: dt.datetime, *,
               rules: Collection[str]) -> CleanupPlan:
    """Every decision, without the blast-radius check; `rules` are the copy rules still in the policy."""
    busy = _busy(inventory, in_flight)
    scoped = [f for f in inventory.images if f.image.region in inventory.regions]
    managed = [f for f in scoped if is_managed(f)] if policy.retention is not None else []
    decisions = _retention(managed, policy.retention, rules, busy, now) if policy.retention else []
    if policy.retention is not None:
        outputs = [f for f in scoped if f.build is not None and not is_managed(f)]
        decisions += _build_retention(outputs, policy.retention, busy, now)
    scratch = policy.template_scratch
    if scratch is not None:
        for facts in scoped:
            if is_managed(facts) or facts.build is not None or not facts.image.name.startswith(scratch.name_prefix):
                continue
            guard = blocker(facts, *busy)
            if guard is not None:
                decisions.append(_decide(facts, "keep", guard, "template_scratch"))
                continue
            delete, reason = scratch_reason(facts, now, scratch.min_age_hours)
            decisions.append(_decide(facts, "delete" if delete else "keep", reason, "template_scratch"))
    return CleanupPlan(decisions=tuple(sorted(decisions, key=lambda d: (d.region, d.image_id))))


def check_limits(plan: CleanupPlan, policy: CleanupPolicy) -> None:
    """Raise `PlanLimitExceededError` when the plan deletes beyond the blast radius.

    Examples
    --------
    >>> plan = CleanupPlan((Decision("cn-hangzhou", "m-1", "a", "delete", "old"),
    ...                     Decision("cn-hangzhou", "m-2", "b", "keep", "in use")))
    >>> check_limits(plan, CleanupPolicy(max_deletions=1, max_share=0.5))
    >>> check_limits(plan, CleanupPolicy(max_deletions=1, max_share=0.1))  # 1 deletion: within share_floor
    >>> check_limits(plan, CleanupPolicy(max_deletions=0))
    Traceback (most recent call last):
    ...
    shared.errors.PlanLimitExceededError: cleanup would delete 1 image(s), above max_deletions 0; nothing was deleted
    """
    blast_radius(len(plan.deletions), plan.candidates, policy, what=("delete", "image(s)", "considered image(s)"),
                 tail="nothing was deleted")


def blast_radius(count: int, considered: int, policy: CleanupPolicy, *, what: tuple[str, str, str], tail: str) -> None:
    """Raise `PlanLimitExceededError` when `count` acts of `considered` exceed `max_deletions`, or `max_share`
    above `share_floor`; `what` is (verb, noun, noun of the considered) for the message."""
    verb, noun, population = what
    if count > policy.max_deletions:
        raise PlanLimitExceededError(
            f"cleanup would {verb} {count} {noun}, above max_deletions {policy.max_deletions}; {tail}")
    # max_share protects a large estate; a first small run (at most share_floor of them) goes through
    if considered and count > policy.share_floor and count / considered > policy.max_share:
        raise PlanLimitExceededError(
            f"cleanup would {verb} {count} of {considered} {population} ({count / considered:.0%}), "
            f"above max_share {policy.max_share:.0%}; {tail}")


def plan_cleanup(policy: CleanupPolicy, inventory: Inventory, in_flight: InFlight, now: dt.datetime, *,
                 rules: Collection[str]) -> CleanupPlan:
    """The plan of one run; raises `PlanLimitExceededError` when it exceeds the blast radius."""
    plan = build_plan(policy, inventory, in_flight, now, rules=rules)
    check_limits(plan, policy)
    return plan
