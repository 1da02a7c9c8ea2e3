"""Frozen values the cleanup planner reads (snapshots) and writes (decisions, the plan).

Nothing here does I/O: `shared.cleanup.service` fills the snapshots from paged region scans and
the ledger, `shared.cleanup.planner` turns them into a `CleanupPlan`, and the executor applies it
or the renderer prints it (design.md "Data flow").
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from shared.clouds.ecs_types import Image, Instance
from shared.clouds.pipeline_types import ImagePipeline
from shared.ledger.keys import COPY, EXPORT, XCOPY, XSHARE, parse_key
from shared.ledger.record import Record, State

Action = Literal["delete", "keep"]
RuleName = Literal["template_scratch", "retention"]


@dataclass(frozen=True)
class BuildOutput:
    """What ties an image to the Image Builder build that made it: the build-region image (the execution's
    ``ImageId``) or a copy the template's own distribution made (``shared.cleanup.builds`` finds both).

    `status` is the build task's: only images of builds that ended SUCCESS or PARTITION_SUCCESS count as
    the newest ones retention keeps; a TEST_FAILED build's image never counts, and a running build's stays.
    """

    pipeline_region: str
    pipeline_id: str
    execution_id: str
    status: str

    def lineage(self, region: str) -> str:
        """``<template region>/pipeline:<template id>/<image region>``: the (pipeline, region) group.

        >>> BuildOutput("cn-hangzhou", "ip-1", "exec-1", "SUCCESS").lineage("cn-beijing")
        'cn-hangzhou/pipeline:ip-1/cn-beijing'
        """
        return f"{self.pipeline_region}/pipeline:{self.pipeline_id}/{region}"


@dataclass(frozen=True)
class ImageFacts:
    """One image and everything that says whether it may go.

    `share_accounts` is None when DescribeImageSharePermission could not be read (`share_error`
    says why): the planner then keeps the image, since "unknown" must never read as "unshared".
    `build` names the Image Builder build an image came out of (the template's own output, not a copy
    image-relay made). `references` are the reasons something other than an instance names the image (launch template
    versions, scaling configurations, the newest image of a family, a copy in progress it may be the
    source of; `shared.cleanup.references`). `source_family` is the ImageFamily of a managed copy's
    source image, the provenance its retention lineage comes from: None when the source could not be
    read, "" when the source has no family (either way the lineage is unknown and the copy is kept).
    """

    image: Image
    instances: tuple[str, ...] = ()
    listed_in_use: bool = False  # DescribeImages Usage=instance returned it
    share_accounts: tuple[str, ...] | None = ()
    share_error: str | None = None
    references: tuple[str, ...] = ()
    source_family: str | None = None
    #: the build that made this image, when it is a build rule's template output (None: not one)
    build: BuildOutput | None = None

    @property
    def key(self) -> tuple[str, str]:
        """(region, image id)."""
        return self.image.region, self.image.image_id


@dataclass(frozen=True)
class Inventory:
    """What the scans of one run saw: the images in scope and the running export tasks."""

    regions: tuple[str, ...]
    images: tuple[ImageFacts, ...] = ()
    #: (region, image id) → task id of each running ExportImage task.
    running_exports: tuple[tuple[str, str, str], ...] = ()
    #: every instance and Image Builder template the scans saw (failed builds' leftovers are judged by them)
    instances: tuple[Instance, ...] = ()
    pipelines: tuple[ImagePipeline, ...] = ()


@dataclass(frozen=True)
class InFlight:
    """Ledger records still working on an image: (region, image id) → the record's key."""

    copies: tuple[tuple[str, str, str], ...] = ()
    exports: tuple[tuple[str, str, str], ...] = ()

    @classmethod
    def from_records(cls, records: Iterable[Record]) -> InFlight:
        """Copy sources of PENDING/STARTED (or retryable FAILED) copies, and images of active exports.

        An account target (issue #13) counts as a copy of its source image while its share is open or its
        partner's first copy (the one that reads the shared image, in the source region) is active: an image
        shared with a partner is never deleted while a partner copy reading it runs.

        Examples
        --------
        >>> r = Record(key="copy/cn-hangzhou/m-1/cn-beijing", kind="copy", state=State.STARTED)
        >>> InFlight.from_records([r]).copies
        (('cn-hangzhou', 'm-1', 'copy/cn-hangzhou/m-1/cn-beijing'),)
        """
        copies: list[tuple[str, str, str]] = []
        exports: list[tuple[str, str, str]] = []
        for record in records:
            working = record.is_active or (record.state is State.FAILED and record.retryable)
            kind, parts = parse_key(record.key)
            if working and (kind == XSHARE or (kind == XCOPY and len(parts) == 4 and parts[3] == parts[0])):
                copies.append((parts[0], parts[1], record.key))
                continue
            if not working or len(parts) != 3:
                continue
            if kind == COPY:
                copies.append((parts[0], parts[1], record.key))
            elif kind == EXPORT:
                exports.append((parts[0], parts[1], record.key))
        return cls(copies=tuple(sorted(copies)), exports=tuple(sorted(exports)))


@dataclass(frozen=True)
class Decision:
    """What the plan does with one image, and why (kept images get a reason too)."""

    region: str
    image_id: str
    name: str
    action: Action
    reason: str
    rule: RuleName = "template_scratch"
    #: Version of the image's `cleanup/` ledger record when the run read the ledger (0: no record), so a
    #: delete applies only to the record state it was planned from (invariant 7); None: not checked.
    record_version: int | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for reports."""
        return {"region": self.region, "image_id": self.image_id, "name": self.name, "rule": self.rule,
                "action": self.action, "reason": self.reason}


@dataclass(frozen=True)
class CleanupPlan:
    """Every decision of one run, in (region, image id) order."""

    decisions: tuple[Decision, ...] = field(default_factory=tuple)

    def at_versions(self, versions: Mapping[str, int]) -> CleanupPlan:
        """This plan with each delete bound to its cleanup record's version (`versions` by key, 0 if absent)."""
        return CleanupPlan(decisions=tuple(
            replace(d, record_version=versions.get(f"cleanup/{d.region}/{d.image_id}", 0)) if d.action == "delete"
            else d for d in self.decisions))

    @property
    def deletions(self) -> tuple[Decision, ...]:
        """The decisions that delete."""
        return tuple(d for d in self.decisions if d.action == "delete")

    @property
    def candidates(self) -> int:
        """How many images the run considered (the population the share limit is taken of)."""
        return len(self.decisions)
