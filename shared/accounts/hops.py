"""The ledger records of an account target: one per hop, keyed by source image, target account and region.

Why one record per hop: every hop is a cloud task of its own (a share, a copy in the partner's source region,
one copy per partner target region), and the ledger follows cloud tasks (design.md "The ledger"). Keys::

    xshare/<source region>/<image id>/<account id>                 the share (and, later, the unshare)
    xcopy/<source region>/<image id>/<account id>/<region>         a copy in the partner account

The copy whose region is the source region is the first hop: it copies the image *shared with* the partner
(same region only, CopyImage's rule) and makes it the partner's own; the others copy that one onwards. A
duplicate event lands on the same keys, so it finds the work already recorded.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.apply import client_token
from shared.clouds.ecs_types import CopyImageSpec, Image
from shared.ledger import keys
from shared.ledger.record import Record
from shared.policy import Policy
from shared.policy.accounts import AccountTarget
from shared.replication.provenance import is_managed_copy, provenance_tags

SHARE_PREFIX = keys.prefix(keys.XSHARE)
COPY_PREFIX = keys.prefix(keys.XCOPY)
TAG_SOURCE_ACCOUNT = "image-relay:source-account"


share_key = keys.xshare_key
copy_key = keys.xcopy_key


class Hop(BaseModel):
    """What one record is for (stored under ``data["hop"]``)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    kind: Literal["share", "copy"]
    rule: str
    account_id: str
    role_arn: str
    source_region: str
    image_id: str
    name: str
    mode: Literal["share", "copy"] = "copy"
    keep_shared: bool = False
    region: str = ""  # a copy's partner region ("" for the share)
    kms_key_id: str | None = None
    lineage: dict[str, str] = Field(default_factory=dict)  # a built image's (pipeline, execution) tags

    @property
    def key(self) -> str:
        if self.kind == "share":
            return share_key(self.source_region, self.image_id, self.account_id)
        return copy_key(self.source_region, self.image_id, self.account_id, self.region)

    @property
    def first(self) -> bool:
        """The copy in the source region, made from the shared image."""
        return self.kind == "copy" and self.region == self.source_region

    def spec(self, from_image: str, attempt: int, source_account: str) -> CopyImageSpec:
        """The partner's CopyImage: from the shared image (first hop) or from the partner's first copy.

        The first hop is a same-region copy, which ECS makes only in copy-and-encrypt mode (the image copy
        guide): it is always encrypted, with the partner's key when one is named, else its service key.
        """
        tags = {**provenance_tags(self.key, self.source_region, self.image_id, self.rule),
                TAG_SOURCE_ACCOUNT: source_account, **self.lineage}
        return CopyImageSpec(
            source_region=self.source_region, image_id=from_image, destination_region=self.region,
            name=f"{self.name}-{self.region}"[:128],
            description=f"image-relay: {self.image_id} of account {source_account} ({self.source_region})"[:256],
            encrypted=self.first or self.kms_key_id is not None, kms_key_id=self.kms_key_id, tags=tags,
            client_token=client_token(self.key, attempt))


def hops_for(policy: Policy, image: Image) -> list[Hop]:
    """Every hop of every account target of the rules that take ``image`` (none for a managed copy)."""
    if is_managed_copy(image.tags):
        return []
    hops: list[Hop] = []
    for rule in policy.rules_for(image.region, image.name, image.tags):
        for target in rule.accounts:
            hops += target_hops(rule.name, target, image)
    return hops


def target_hops(rule: str, target: AccountTarget, image: Image) -> list[Hop]:
    """The share and copies of one account target for ``image`` (the share alone in ``share`` mode)."""
    share = Hop(kind="share", rule=rule, account_id=target.account_id, role_arn=target.role_arn,
                source_region=image.region, image_id=image.image_id, name=image.name or image.image_id,
                mode=target.mode, keep_shared=target.keep_shared)
    if target.mode == "share":
        return [share]
    regions = [image.region] + [r for r in target.target_regions if r != image.region]
    return [share] + [share.model_copy(update={"kind": "copy", "region": r, "kms_key_id": target.kms_key(r)})
                      for r in regions]


def new_record(hop: Hop, now: dt.datetime) -> Record:
    """The PENDING intent of one hop."""
    return Record(key=hop.key, kind=f"x{hop.kind}", created_at=now, updated_at=now,
                  data={"hop": hop.model_dump(mode="json")})


def hop_of(record: Record) -> Hop:
    """The hop a record is for."""
    return Hop.model_validate(record.data["hop"])
