"""Hand a finished build's image to the copy rules, export rules and account targets its build rule names, as
if its CreateImage event had arrived, with the build's lineage (pipeline, execution) in every copy's
provenance tags and every export's manifest.

Why the named rules take the image whatever their ``match`` and ``source_regions``: the build rule names
them on purpose, and a built image's name (``<prefix>_<ExecutionId>``) rarely matches a pattern written for
hand-made images. A target in the build's own region is skipped unless the rule encrypts it there (ECS
copies within a region only to encrypt), and so is an unencrypted target in a region the template distributes
to itself (the executor drops it: it would be a second, identical image there; an encrypted one is what the
template cannot make). The intents are ordinary ``copy/…``, ``export/…``, ``xshare/…`` and
``xcopy/…`` records: the copy tick, the export batch and the account tick start, follow and retry them like
any other, and their keys (source image, target) keep one copy per region, one export per format and one
share per account even if two rules or two ticks hand the same image on.

PARTITION_SUCCESS (issue #14): DescribeImagePipelineExecutions reports no per-target result (its execution
carries ``ErrorCode`` / ``ErrorInfo`` / ``Message`` text only, whose wording is not documented), so the
failed part of the template's own distribution is *observed*, not parsed: a ToRegionId where no image of
the built image's name exists (ECS names every distributed copy like the image) is retried by a copy
intent, and an AddAccount that the built image, or the template's copy in one of its regions, is not shared
with is shared again on that image (Image Builder shares the image and every copy it makes). Only those: the
regions, images and accounts the template did reach are left alone. A copy image-relay makes into a missed
region carries the AddAccounts (``CopyTarget.share_accounts``): the copy feature shares it with them once it
is Available, before its record is DONE, so a partner sees the image there as Image Builder would have shown
it. (A copy rule's encrypted copy into a missed region stands in for the retry and is not shared: it is the
rule's copy, not the template's.)
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.accounts.hops import Hop, target_hops
from shared.accounts.hops import new_record as new_hop_record
from shared.clouds.ecs_types import Image
from shared.clouds.pipeline_types import ImagePipeline
from shared.exports.executor import new_export_record
from shared.exports.planner import RecordExport
from shared.exports.targets import ExportTarget, refusal
from shared.exports.targets import targets_for as export_targets_for
from shared.ledger import Ledger
from shared.ledger.record import copy_key
from shared.policy import ImageMatch, Policy
from shared.policy.builds import BuildRule
from shared.replication.executor import new_record
from shared.replication.provenance import TAG_PIPELINE, provenance_tags
from shared.replication.targets import CopyTarget, targets_for

TAG_EXECUTION = "image-relay:execution"
#: Image statuses that count as "the template's distribution reached this region".
REACHED = ("Available", "Creating", "Waiting")


def lineage(pipeline_id: str, execution_id: str) -> dict[str, str]:
    """The provenance tags naming the build an image came from."""
    return {TAG_PIPELINE: pipeline_id, TAG_EXECUTION: execution_id}


@dataclass(frozen=True)
class HandOff:
    """Every intent a finished build hands on: copies, exports, account hops and shares to repeat."""

    copies: list[CopyTarget] = field(default_factory=list)
    exports: list[ExportTarget] = field(default_factory=list)
    hops: list[Hop] = field(default_factory=list)
    retried_regions: list[str] = field(default_factory=list)
    retried_accounts: list[str] = field(default_factory=list)


def _taking(policy: Policy, rule: BuildRule, image: Image) -> Policy:
    """The build rule's named copy and export rules, made to take ``image`` whatever their match."""
    force: dict[str, Any] = {"source_regions": [image.region], "match": ImageMatch()}
    copies = [r.model_copy(update=force) for r in (policy.copy_rule(n) for n in rule.copy_rules) if r is not None]
    exports = [r.model_copy(update=force) for r in policy.export_rules if r.name in rule.export_rules]
    return Policy(copy_rules=copies, export_rules=exports, windows=policy.windows)


def copy_targets(policy: Policy, rule: BuildRule, image: Image, tags: dict[str, str]) -> list[CopyTarget]:
    """The copies of ``image`` the build rule's copy rules ask for, each tagged with the build's lineage."""
    return [
        t.model_copy(update={"tags": {**t.tags, **tags}})
        for t in targets_for(_taking(policy, rule, image), image)
        if t.target_region != image.region or t.encrypted
    ]


def export_targets(policy: Policy, rule: BuildRule, image: Image, tags: dict[str, str]) -> list[ExportTarget]:
    """The exports of ``image`` the build rule's export rules ask for, with the lineage for the manifest."""
    return [t.model_copy(update={"lineage": tags}) for t in export_targets_for(_taking(policy, rule, image), image)]


def account_hops(policy: Policy, rule: BuildRule, image: Image, tags: dict[str, str]) -> list[Hop]:
    """The hops of the account targets of the named copy rules and of ``rule.accounts`` (one set per account)."""
    chosen: dict[str, tuple[str, Any]] = {}
    for copy_rule in (policy.copy_rule(n) for n in rule.copy_rules):
        for target in copy_rule.accounts if copy_rule is not None else []:
            chosen.setdefault(target.account_id, (copy_rule.name, target))  # type: ignore[union-attr]
    for account in rule.accounts:
        found = policy.account_target(account)
        if found is not None:
            chosen.setdefault(account, found)
    return [h.model_copy(update={"lineage": tags}) for name, target in chosen.values()
            for h in target_hops(name, target, image)]


class DistributionApi(Protocol):
    """What finding the template's failed distribution needs (ECS reads)."""

    def list_images(self, region: str, **filters: Any) -> list[Image]: ...

    def image_share_accounts(self, region: str, image_id: str) -> list[str]: ...


def distributed(api: DistributionApi, pipeline: ImagePipeline, image: Image) -> dict[str, Image | None]:
    """Each of the template's ToRegionIds (but the image's own) → the template's copy there, an image named
    exactly like the built one (None: its distribution missed that region); one listing per region."""
    reached: dict[str, Image | None] = {}
    for region in pipeline.to_regions:
        if region == image.region:
            continue
        found = api.list_images(region, name=image.name)  # ECS's ImageName is a fuzzy match: compare exactly
        reached[region] = next((i for i in found if i.name == image.name and i.status in REACHED), None)
    return reached


def missed_regions(reached: dict[str, Image | None]) -> list[str]:
    """The ToRegionIds the template's distribution missed (see `distributed`)."""
    return [region for region, found in reached.items() if found is None]


def missed_shares(api: DistributionApi, pipeline: ImagePipeline, images: Iterable[Image]) -> dict[tuple[str, str], list[str]]:
    """(region, image id) → the template's AddAccounts that image is not shared with, for each Available image
    of the build (the built one, the template's copies): Image Builder shares every one of them, so a failed
    share may have missed any. Images missing nothing are left out (one DescribeImageSharePermission each)."""
    if not pipeline.add_accounts:
        return {}
    missed: dict[tuple[str, str], list[str]] = {}
    for image in images:
        if image.status != "Available":
            continue  # ModifyImageSharePermission needs an Available image; a copy still in progress waits
        shared = set(api.image_share_accounts(image.region, image.image_id))
        accounts = [a for a in pipeline.add_accounts if a not in shared]
        if accounts:
            missed[(image.region, image.image_id)] = accounts
    return missed


def retry_targets(rule: BuildRule, image: Image, regions: Iterable[str], tags: dict[str, str],
                  share_accounts: Iterable[str] = ()) -> list[CopyTarget]:
    """Copies into the template's failed regions, named as the template's distribution names them and shared,
    once Available, with ``share_accounts`` (the template's AddAccounts, as Image Builder shares its copies)."""
    out = []
    for region in regions:
        key = copy_key(image.region, image.image_id, region)
        out.append(CopyTarget(
            key=key, rule=f"build:{rule.name}", source_region=image.region, image_id=image.image_id,
            source_name=image.name, target_region=region, name=image.name,
            description=f"image-relay: the distribution of {image.image_id} that build rule {rule.name} retried"[:256],
            size_gib=image.size_gib, share_accounts=tuple(share_accounts),
            tags={**provenance_tags(key, image.region, image.image_id, f"build:{rule.name}"), **tags}))
    return out


def record(ledger: Ledger, handoff: HandOff, image: Image, now: dt.datetime) -> Counter[str]:
    """Write every intent (idempotent: an existing key is kept); count the new ones by kind."""
    written: Counter[str] = Counter()
    for target in handoff.copies:
        written["copies"] += ledger.ensure(new_record(target, now, image.status))[1]
    skip = refusal(image)
    for export in handoff.exports:
        written["exports"] += ledger.ensure(new_export_record(RecordExport(export.key, export, skip_reason=skip),
                                                              now))[1]
    for hop in handoff.hops:
        written["hops"] += ledger.ensure(new_hop_record(hop, now))[1]
    return written
