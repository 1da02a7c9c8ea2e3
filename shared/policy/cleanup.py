"""The cleanup section of the policy (``Policy.cleanup``): what the daily cleanup may delete.

Re-exported by ``shared.policy`` (one module per section). ``load_policy``
turns every problem into a ``ConfigError`` whose ``field`` is the dotted path, e.g.
``cleanup.retention.keep_newest``.

Example
-------
>>> from shared.policy import load_policy
>>> policy = load_policy('''
... copy_rules:
...   - {name: web, source_regions: [cn-hangzhou], target_regions: [cn-beijing]}
... cleanup:
...   template_scratch: {min_age_hours: 24}
...   retention: {keep_newest: 3, grace_days: 7}
...   max_deletions: 20
...   max_share: 0.5
... ''')
>>> cleanup_regions(policy)
['cn-beijing', 'cn-hangzhou']
>>> policy.cleanup.retention.keep_newest, policy.cleanup.template_scratch.min_age_hours
(3, 24.0)

Without a ``cleanup`` section the cleanup function plans nothing and deletes nothing. Without
``template_scratch`` (or ``retention``) that rule is off: only what is named is cleaned. The leftovers of
failed Image Builder builds are reported by every run and released only with
``release_failed_build_instances: true`` (after ``failed_build_grace_hours``, default 24).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.policy.builds import BuildRule
from shared.policy.copies import CopyRule
from shared.values import check_region

__all__ = ["CleanupPolicy", "Retention", "TemplateScratch", "cleanup_regions"]


class TemplateScratch(BaseModel):
    """``TemplateScratch-`` images that instance cloning leaves behind (they are billed)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)

    #: A scratch image younger than this is left alone (the cloning that made it may still run).
    min_age_hours: float = Field(default=24, ge=1, le=24 * 365)
    #: The name prefix that marks a scratch image (ECS's own, from instance cloning).
    name_prefix: str = Field(default="TemplateScratch-", min_length=2, max_length=128)


class Retention(BaseModel):
    """Copies image-relay made, and build rules' template outputs: keep the newest ``keep_newest`` per lineage
    (per template and region for the outputs)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)

    keep_newest: int = Field(default=3, ge=1, le=1000)
    #: A copy younger than this is kept even when superseded (someone may be rolling it out).
    grace_days: float = Field(default=7, ge=0, le=3650)


class CleanupPolicy(BaseModel):
    """Scope, rules and blast-radius limits of the cleanup function."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)

    #: Regions to clean; None means every source and target region of ``copy_rules`` and every build rule's
    #: template region.
    regions: list[str] | None = None
    template_scratch: TemplateScratch | None = None
    retention: Retention | None = None
    #: Blast radius (Custodian's ``max-resources``): a plan with more deletions is refused whole.
    max_deletions: int = Field(default=20, ge=0, le=10_000)
    #: ...and so is a plan deleting more than this share of the images it considered...
    max_share: float = Field(default=0.5, ge=0, le=1)
    #: ...when it deletes more than this many: a first small run (2 of 3 scratch images) is not refused
    #: by the share alone (Custodian-style count floor beside the percentage).
    share_floor: int = Field(default=5, ge=0, le=10_000)
    #: Failed Image Builder builds' leftovers (intermediate instances kept by ``DeleteInstanceOnFailure``
    #: false, their temporary vSwitch and VPC) are always reported; released only when this is true. The
    #: same blast radius applies to releases, counted apart from image deletions.
    release_failed_build_instances: bool = False
    #: A leftover is released only once its build ended at least this long ago (someone may be debugging it).
    failed_build_grace_hours: float = Field(default=24, ge=1, le=24 * 365)

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("must name at least one region (omit it to use the copy rules' regions)")
        seen: set[str] = set()
        for region in value:
            check_region(region)
            if region in seen:
                raise ValueError(f"duplicate region {region!r}")
            seen.add(region)
        return value


class _Scope(Protocol):
    """What ``cleanup_regions`` reads of a ``Policy`` (this section does not refer to the loader that holds it)."""

    @property
    def cleanup(self) -> CleanupPolicy | None: ...

    @property
    def copy_rules(self) -> Sequence[CopyRule]: ...

    @property
    def build_rules(self) -> Sequence[BuildRule]: ...


def cleanup_regions(policy: _Scope) -> list[str]:
    """The regions a cleanup run scans: ``cleanup.regions``, else every copy rule's regions and every build
    rule's template region (where the built images are), sorted."""
    if policy.cleanup is not None and policy.cleanup.regions is not None:
        return sorted(policy.cleanup.regions)
    regions = {r for rule in policy.copy_rules for r in (*rule.source_regions, *rule.target_regions)}
    return sorted(regions | {rule.pipeline.region for rule in policy.build_rules})
