"""Copy rules (``Policy.copy_rules``) and the copy limits (``Policy.copy_limits``): which images are copied to
which regions, under what name, encrypted with which key, when, and how many at a time.

Re-exported by ``shared.policy``. Why the name templates are checked by a sample render: a template that
renders to a name ECS refuses (a digit first, a space, ``http://``) would fail every copy at run time;
rendering ``_SAMPLE`` when the policy is loaded fails the policy instead (invariant 6).

>>> from shared.policy import load_policy
>>> rule = load_policy('''
... copy_rules:
...   - {name: web, source_regions: [cn-hangzhou], target_regions: [cn-beijing], name_template: "{name}-{rule}"}
... ''').copy_rules[0]
>>> rule.render_name("app-1", "m-abc", "cn-hangzhou", "cn-beijing")
'app-1-web'
"""
from __future__ import annotations

import re
import string
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.policy.accounts import AccountTarget, check_account_targets
from shared.policy.match import ImageMatch
from shared.values import At, KmsKeys, RegionId, RuleName, unique

__all__ = ["CopyLimits", "CopyRule", "DESCRIPTION_MAX", "NAME_MAX", "PLACEHOLDERS"]

NAME_MAX = 128  # ECS image name: 2-128 characters
DESCRIPTION_MAX = 256  # ECS description: 2-256 characters
PLACEHOLDERS = frozenset({"name", "image_id", "source_region", "target_region", "rule"})
# ECS image names start with a letter (CJK included), may hold letters, digits, . : _ -,
# and must not start with http:// or https://.
_ECS_NAME = re.compile(r"^[^\W\d_][\w.:\-]*\Z")


def _placeholders(name: str, image_id: str, source_region: str, target_region: str, rule: str) -> dict[str, str]:
    """What a template's placeholders stand for (``PLACEHOLDERS``)."""
    return {"name": name, "image_id": image_id, "source_region": source_region, "target_region": target_region,
            "rule": rule}


_SAMPLE = _placeholders("app-sample", "m-sample0001", "cn-hangzhou", "ap-southeast-1", "sample-rule")


def _check_template(template: str, max_len: int, *, ecs_name: bool) -> str:
    """Placeholders must be known and bare; a sample render must obey the ECS rules."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"malformed template: {exc}") from None
    for _literal, field_name, spec, conversion in parts:
        if field_name is None:
            continue
        if field_name not in PLACEHOLDERS or spec or conversion:
            allowed = " ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))
            raise ValueError(f"unknown placeholder {{{field_name}}}; allowed: {allowed}")
    sample = template.format(**_SAMPLE)[:max_len]
    if len(sample) < 2:
        raise ValueError(f"renders to {sample!r}, shorter than 2 characters")
    if sample.lower().startswith(("http://", "https://")):
        raise ValueError("must not render to a name starting with http:// or https://")
    if ecs_name and not _ECS_NAME.match(sample):
        raise ValueError(
            f"renders to {sample!r}; ECS names start with a letter and hold only letters, digits, . : _ -"
        )
    return template


class CopyRule(BaseModel):
    """Copy images that match in ``source_regions`` to every ``target_regions`` entry."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)

    name: RuleName
    source_regions: Annotated[list[RegionId], Field(min_length=1), unique("source region")]
    match: ImageMatch = Field(default_factory=ImageMatch)
    target_regions: Annotated[list[RegionId], Field(min_length=1), unique("target region")]
    encrypt: KmsKeys = Field(default_factory=dict)
    name_template: str = "{name}-{target_region}"
    description_template: str | None = None
    window: str | None = None  # a Policy.windows name; with schedule off-peak, copies start only inside it
    schedule: Literal["immediate", "off-peak"] = "immediate"
    priority: int = Field(default=5, ge=1, le=10)  # higher starts first in a destination region's queue
    # the source's own tags go onto every copy beside the provenance tags (DLM's CopyTags), within
    # ECS's limits: reserved prefixes (aliyun, acs:) left out, at most 20 tags per image
    copy_tags: bool = True
    accounts: list[AccountTarget] = Field(default_factory=list)  # see shared/policy/accounts.py

    @model_validator(mode="after")
    def _off_peak_needs_window(self) -> CopyRule:
        if self.schedule == "off-peak" and self.window is None:
            raise At("schedule off-peak needs a window", "window")
        return self

    @field_validator("name_template")
    @classmethod
    def _name_template(cls, value: str) -> str:
        return _check_template(value, NAME_MAX, ecs_name=True)

    @field_validator("description_template")
    @classmethod
    def _description_template(cls, value: str | None) -> str | None:
        return None if value is None else _check_template(value, DESCRIPTION_MAX, ecs_name=False)

    @model_validator(mode="after")
    def _cross_checks(self) -> CopyRule:
        check_account_targets(self.accounts, self.source_regions)
        for region in self.encrypt:
            if region not in self.target_regions:
                raise At(f"{region!r} is not one of target_regions", "encrypt", region)
        for i, region in enumerate(self.target_regions):
            # ECS copies within one region only to encrypt the copy.
            if region in self.source_regions and region not in self.encrypt:
                raise At(
                    f"{region!r} is also a source region; a same-region copy needs an encrypt entry",
                    "target_regions",
                    i,
                )
        return self

    def render_name(self, name: str, image_id: str, source_region: str, target_region: str) -> str:
        """The copy's ECS image name, truncated to 128 characters."""
        values = _placeholders(name, image_id, source_region, target_region, self.name)
        return self.name_template.format(**values)[:NAME_MAX]

    def render_description(self, name: str, image_id: str, source_region: str, target_region: str) -> str | None:
        """The copy's description (None without a template), truncated to 256 characters."""
        if self.description_template is None:
            return None
        values = _placeholders(name, image_id, source_region, target_region, self.name)
        return self.description_template.format(**values)[:DESCRIPTION_MAX]


class CopyLimits(BaseModel):
    """Per destination region: copies in flight at most (ECS runs 5 at a time, alibaba-api.md §2.4),
    and a lower limit for images above `large_image_gib`. `gib_per_minute` seeds ETAs until copies
    have been observed."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)

    per_region: int = Field(default=5, ge=1, le=50)
    large_image_gib: int = Field(default=1024, ge=1)
    large_per_region: int = Field(default=1, ge=1, le=50)
    gib_per_minute: float = Field(default=20.0, gt=0)
