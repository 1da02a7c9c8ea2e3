"""Account targets of a copy rule (issue #13): deliver a matching image into other Alibaba Cloud accounts.

Why the shape: ECS shares a custom image only within its region, and an image shared with an account can be
copied by that account only within the same region (CopyImage's notes). So a partner is reached in two
hops: share the image, let the partner copy it in the source region (its own image from then on; the image
copy guide's copy-and-encrypt mode), then copy on to the partner's ``target_regions``. ``mode: share`` stops
after the share (the partner uses the image in the source region). The partner's side is driven through a RAM
role in the partner account that trusts this account (``role_arn``, assumed with STS).

Fields of one target (under a copy rule's ``accounts``):

* ``account_id``: the partner's 16-digit account id; never the source account itself;
* ``role_arn``: ``acs:ram::<account_id>:role/<name>`` -- the role must live in ``account_id``;
* ``target_regions``: the partner's regions to copy on to (``mode: copy`` only; the source-region copy is
  always made in copy mode);
* ``kms_keys``: per region, an optional KMS key id of the *partner's* account (a source region or one of
  ``target_regions``); without one the partner's copy uses the partner's service key;
* ``mode``: ``copy`` (default) or ``share``;
* ``keep_shared``: keep the source image shared once the partner's first copy is Available (default false:
  unshare then). In ``share`` mode the share is the delivery, so it always stays.

Example
-------
>>> from shared.policy import load_policy
>>> policy = load_policy('''
... copy_rules:
...   - name: partners
...     source_regions: [cn-hangzhou]
...     target_regions: [cn-beijing]
...     accounts:
...       - account_id: "2222222222222222"
...         role_arn: "acs:ram::2222222222222222:role/relay-partner"
...         target_regions: [cn-shanghai, cn-beijing]
...         kms_keys: {cn-shanghai: key-p-sh}
... ''')
>>> target = policy.copy_rules[0].accounts[0]
>>> target.mode, target.keep_shared, target.role_name
('copy', False, 'relay-partner')
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Annotated, Literal, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.values import At, KmsKeys, RegionId, check_region, matching, unique

__all__ = ["AccountId", "AccountTarget", "check_account_id", "check_account_targets", "source_account_problems"]

ACCOUNT_ID = re.compile(r"^[0-9]{16}\Z")
ROLE_ARN = re.compile(r"^acs:ram::([0-9]{16}):role/([A-Za-z0-9.\-]{1,64})\Z")


def check_account_id(value: str) -> str:
    """``value`` when it is a 16-digit Alibaba Cloud account id (ECS and ACR account targets alike)."""
    if not ACCOUNT_ID.match(value):
        raise ValueError(f"an account id is 16 digits (quote it in YAML), got {value!r}")
    return value


#: A partner's account id (ECS and ACR account targets alike).
AccountId = Annotated[str, AfterValidator(check_account_id)]


class AccountTarget(BaseModel):
    """One partner account a copy rule delivers to."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)

    account_id: AccountId
    role_arn: Annotated[str, matching(ROLE_ARN, "a role ARN is acs:ram::<16-digit account id>:role/<role name>, "
                                                "got {value!r}")]
    target_regions: Annotated[list[RegionId], unique("target region")] = Field(default_factory=list)
    kms_keys: KmsKeys = Field(default_factory=dict)
    mode: Literal["share", "copy"] = "copy"
    keep_shared: bool = False

    @field_validator("kms_keys")
    @classmethod
    def _kms_key_regions(cls, value: dict[str, str]) -> dict[str, str]:
        for region in value:
            try:
                check_region(region)
            except ValueError as exc:
                raise At(str(exc), region) from exc
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AccountTarget:
        match = ROLE_ARN.match(self.role_arn)
        if match is not None and match.group(1) != self.account_id:
            raise At(f"the role must be in account {self.account_id}, this ARN names {match.group(1)}",
                            "role_arn")
        if self.mode == "share":
            if self.target_regions:
                raise At("mode share delivers in the source region only; target_regions needs mode copy",
                                "target_regions")
            if self.kms_keys:
                raise At("mode share makes no copy, so it takes no KMS key", "kms_keys")
        return self

    @property
    def role_name(self) -> str:
        """The role's name (the ARN's last part)."""
        return self.role_arn.rsplit("/", 1)[1]

    def kms_key(self, region: str) -> str | None:
        """The partner's KMS key for a copy into ``region``, or None (the partner's service key)."""
        return self.kms_keys.get(region)


def check_account_targets(targets: list[AccountTarget], source_regions: Iterable[str]) -> None:
    """Cross-checks against the rule: one target per account, KMS keys only where the partner copies."""
    sources = set(source_regions)
    seen: set[str] = set()
    for i, target in enumerate(targets):
        if target.account_id in seen:
            raise At(f"account {target.account_id} is listed twice", "accounts", i, "account_id")
        seen.add(target.account_id)
        for region in target.kms_keys:
            if region not in sources and region not in target.target_regions:
                raise At(f"{region!r} is neither a source region nor one of this target's target_regions",
                                "accounts", i, "kms_keys", region)


class HasAccount(Protocol):
    """Any account target: a copy rule's (`AccountTarget`) or an ACR rule's (`shared.policy.acr`)."""

    @property
    def account_id(self) -> str: ...


def source_account_problems(rules: Iterable[tuple[str, Sequence[HasAccount]]], source_account: str,
                            section: str = "copy_rules") -> Iterator[str]:
    """``<section>[i].accounts[j].account_id: …`` for every target that is the source account itself.

    The policy cannot know which account runs it; the functions do (FC's context), so they call this before
    acting on account targets."""
    for i, (_name, targets) in enumerate(rules):
        for j, target in enumerate(targets):
            if target.account_id == source_account:
                yield (f"{section}[{i}].accounts[{j}].account_id: {source_account} is the source account itself; "
                       "an account target must be another account")
