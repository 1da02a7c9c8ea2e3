"""The guards and the two cleanup rules, as pure functions returning a reason.

Invariant 3 (design.md): cleanup never deletes an image that is in use, being copied or exported,
younger than its minimum age, or outside its rule's scope. `blocker` checks the guards in a fixed
order and returns the first that holds, so every kept image carries exactly one reason a person
can act on. The order puts what a person can least change first (ownership, a running task)
and age last, so an old image that is also in use says "in use".

Guards use every signal we have, not one: an image counts as in use when DescribeInstances names
an instance running it OR DescribeImages lists it under `Usage=instance` (peers.md §1.D: cleanup
tools that trusted one source deleted images in use, Custodian #6554), and as referenced when a launch
template version, a scaling configuration, an image family or a running copy names it
(`shared.cleanup.references`).

Lineage (which copies supersede one another) comes from provenance only: the copy's provenance tags
(source region, rule) plus the ImageFamily of its source image, in the copy's region; for the copy of a
build's image, its pipeline (provenance set by the build hand-off) instead of the family. Never from a name
pattern: `base-ubuntu22-2026-01` and `base-ubuntu24-2026-02` look alike and are different images.
Where the lineage cannot be known, the copy is kept.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from shared.cleanup.model import ImageFacts
from shared.replication.provenance import (
    TAG_MANAGED,
    TAG_PIPELINE,
    TAG_RULE,
    TAG_SOURCE_IMAGE,
    TAG_SOURCE_REGION,
)

#: Statuses of an image that is still being created or copied into (DeleteImage refuses it anyway).
IN_PROGRESS_STATUSES = frozenset({"Creating", "Waiting"})
SELF = "self"


def is_managed(facts: ImageFacts) -> bool:
    """An image image-relay made: it carries the provenance tags of a copy."""
    tags = facts.image.tags
    return tags.get(TAG_MANAGED) == "true" and TAG_SOURCE_IMAGE in tags and TAG_RULE in tags


def age_of(facts: ImageFacts, now: dt.datetime) -> dt.timedelta | None:
    """How old the image is, or None when ECS gave no creation time."""
    created = facts.image.creation_time
    if created is None:
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.timezone.utc)
    return now - created


def _hours(value: float) -> str:
    return f"{value:g}h"


def blocker(
    facts: ImageFacts,
    copies: Mapping[tuple[str, str], str],
    exports: Mapping[tuple[str, str], str],
) -> str | None:
    """The first guard that keeps this image, or None when no guard applies.

    `copies` and `exports` map (region, image id) to what proves the image busy (a ledger key,
    a running copy or a task id).
    """
    image = facts.image
    if image.owner_alias != SELF:
        return f"owned by another account (ImageOwnerAlias={image.owner_alias or 'unknown'})"
    if image.status in IN_PROGRESS_STATUSES:
        return f"being created or copied (status {image.status})"
    if facts.key in copies:
        return f"being copied: {copies[facts.key]}"
    if facts.key in exports:
        return f"being exported: {exports[facts.key]}"
    if facts.instances:
        return f"in use by instance(s) {', '.join(sorted(facts.instances))}"
    if facts.listed_in_use or image.usage == "instance":
        return "in use (DescribeImages Usage=instance)"
    if facts.references:
        return facts.references[0]
    if facts.share_accounts is None:
        return f"share permissions unknown ({facts.share_error or 'not read'}); kept to be safe"
    if facts.share_accounts:
        return f"shared with {', '.join(sorted(facts.share_accounts))}"
    return None


def scratch_reason(facts: ImageFacts, now: dt.datetime, min_age_hours: float) -> tuple[bool, str]:
    """(delete?, reason) for an unguarded `TemplateScratch-` image: only its age decides."""
    age = age_of(facts, now)
    if age is None:
        return False, "creation time unknown; kept to be safe"
    if age < dt.timedelta(hours=min_age_hours):
        return False, f"younger than min_age_hours {_hours(min_age_hours)}"
    return True, f"TemplateScratch image older than {_hours(min_age_hours)}, unused, not shared, not being copied"


def lineage_of(facts: ImageFacts) -> str | None:
    """`<source region>/family:<source family>/rule:<rule>/<copy region>`, or None when it cannot be known.

    A copy of a build's image carries its pipeline in its provenance (``image-relay:pipeline``, set by the
    build hand-off at the copy's birth): its lineage is the pipeline's, `<source region>/pipeline:<id>/rule:
    <rule>/<copy region>`, whatever its source's family, so superseded builds' copies fall under the same
    retention (keep N per pipeline and region).

    Examples
    --------
    >>> from shared.clouds.ecs_types import Image
    >>> tags = {TAG_SOURCE_REGION: "cn-hangzhou", TAG_RULE: "web", TAG_SOURCE_IMAGE: "m-src"}
    >>> copy = Image(region="cn-beijing", image_id="m-1", name="app-web-2026-11", tags=tags)
    >>> lineage_of(ImageFacts(copy, source_family="app-web"))
    'cn-hangzhou/family:app-web/rule:web/cn-beijing'
    >>> lineage_of(ImageFacts(copy, source_family="")) is None
    True
    >>> built = Image(region="cn-beijing", image_id="m-2", name="gold_exec-1", tags={**tags, TAG_PIPELINE: "ip-1"})
    >>> lineage_of(ImageFacts(built, source_family=""))
    'cn-hangzhou/pipeline:ip-1/rule:web/cn-beijing'
    """
    tags = facts.image.tags
    if tags.get(TAG_PIPELINE) and tags.get(TAG_SOURCE_REGION) and tags.get(TAG_RULE):
        return f"{tags[TAG_SOURCE_REGION]}/pipeline:{tags[TAG_PIPELINE]}/rule:{tags[TAG_RULE]}/{facts.image.region}"
    if not facts.source_family or not tags.get(TAG_SOURCE_REGION) or not tags.get(TAG_RULE):
        return None
    return f"{tags[TAG_SOURCE_REGION]}/family:{facts.source_family}/rule:{tags[TAG_RULE]}/{facts.image.region}"


def unknown_lineage_reason(facts: ImageFacts) -> str:
    """Why `lineage_of` is None, as a keep reason."""
    source = facts.image.tags.get(TAG_SOURCE_IMAGE, "?")
    if facts.source_family is None:
        return f"lineage unknown: source image {source} could not be read; kept to be safe"
    return f"lineage unknown: source image {source} has no image family; kept to be safe"
