"""From a source image and the policy to the copies it should have: one `CopyTarget` per region.

Two rules that send the same image to the same region share one business key
(`copy/<src>/<image>/<dst>`, design.md), so the first matching rule in policy order wins there and
the others are listed in `also_matched`; an image is never copied twice into one region.
"""
from __future__ import annotations

from pydantic import ConfigDict, Field

from shared.apply import client_token
from shared.clouds.ecs_types import CopyImageSpec, Image
from shared.context import Payload
from shared.ledger.record import copy_key
from shared.policy import Policy
from shared.replication.provenance import copy_tags, is_managed_copy, provenance_tags


class CopyTarget(Payload):
    """One desired copy; stored as the ledger record's `data`, so it survives policy edits."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    key: str
    rule: str
    source_region: str
    image_id: str
    source_name: str
    target_region: str
    name: str
    description: str
    encrypted: bool = False
    kms_key_id: str | None = None
    also_matched: tuple[str, ...] = ()
    size_gib: int = 0
    tags: dict[str, str] = Field(default_factory=dict)
    # Accounts the copy is shared with once Available, before its record is DONE (a PARTITION_SUCCESS build's
    # retried distribution: Image Builder would have shared its own copy there with the template's AddAccounts).
    share_accounts: tuple[str, ...] = ()

    def spec(self, attempt: int) -> CopyImageSpec:
        """The CopyImage call for this target and attempt."""
        return CopyImageSpec(
            source_region=self.source_region,
            image_id=self.image_id,
            destination_region=self.target_region,
            name=self.name,
            description=self.description,
            encrypted=self.encrypted,
            kms_key_id=self.kms_key_id,
            tags=self.tags,
            client_token=client_token(self.key, attempt),
        )


def targets_for(policy: Policy, image: Image, *, known: set[str] | frozenset[str] = frozenset()) -> list[CopyTarget]:
    """Every copy `image` should have under `policy`, first rule winning per target region; none whose key is
    in `known` (the sweep's existing records: a 10,000-copy tick would build 10,000 targets to drop them)."""
    if is_managed_copy(image.tags):
        return []
    chosen: dict[str, CopyTarget] = {}
    skipped: set[str] = set()
    for rule in policy.rules_for(image.region, image.name, image.tags):
        for region in rule.target_regions:
            if region in skipped:
                continue
            if region in chosen:
                first = chosen[region]
                chosen[region] = first.model_copy(update={"also_matched": (*first.also_matched, rule.name)})
                continue
            key = copy_key(image.region, image.image_id, region)
            if key in known:
                skipped.add(region)
                continue
            kms = rule.encrypt.get(region)
            chosen[region] = CopyTarget(
                key=key,
                rule=rule.name,
                source_region=image.region,
                image_id=image.image_id,
                source_name=image.name,
                target_region=region,
                name=rule.render_name(image.name, image.image_id, image.region, region),
                description=f"image-relay copy of {image.region}/{image.image_id} ({image.name}) by rule {rule.name}"[:256],
                encrypted=kms is not None,
                kms_key_id=kms,
                size_gib=image.size_gib,
                tags=_tags(rule.copy_tags, image.tags, provenance_tags(key, image.region, image.image_id, rule.name)),
            )
    return list(chosen.values())


def _tags(copy_source: bool, source: dict[str, str], provenance: dict[str, str]) -> dict[str, str]:
    return copy_tags(source, provenance) if copy_source else provenance


def refresh(target: CopyTarget, policy: Policy) -> CopyTarget:
    """The target as the current policy would make it (a queued or retried copy follows policy fixes,
    e.g. a corrected KMS key); unchanged when its rule is gone or no longer sends to that region."""
    rule = policy.copy_rule(target.rule)
    if rule is None or target.target_region not in rule.target_regions:
        return target
    kms = rule.encrypt.get(target.target_region)
    name = rule.render_name(target.source_name, target.image_id, target.source_region, target.target_region)
    if (target.encrypted, target.kms_key_id, target.name) == (kms is not None, kms, name):
        return target  # the usual case, 9,000 times a tick at 10,000 copies: no copy of an unchanged target
    return target.model_copy(update={"encrypted": kms is not None, "kms_key_id": kms, "name": name})
