"""Build rules: when image-relay starts an Image Builder build, and who receives the image it builds.

Why a rule names its template by ``region`` plus ``id`` or ``name``: the Image Builder APIs are regional
(RegionId is required), ids are what the API takes, and names are what people remember; exactly one of
the two must be given. When to build is ``cron`` (5 fields, in ``timezone``), or ``window`` (one build per
occurrence of a ``Policy.windows`` entry, started when it opens), or neither: on demand only
(``image-relay build <rule>``). What happens to the result: the ``copy_rules`` and ``export_rules`` named
receive the built image as if its CreateImage event had arrived, and so do the account targets named in
``accounts`` (account ids of account targets defined on copy rules: the partner's role, regions and keys
are written once, there). ``distribute_test_failed`` (default false)
and ``distribute_partition_success`` (default true) say whether an image whose test failed, or whose own
distribution partly failed, is handed on. ``Policy`` checks every name against the policy.

Example
-------
>>> from shared.policy import load_policy
>>> policy = load_policy('''
... windows:
...   - {name: night, start: "01:00", end: "05:00", timezone: Asia/Shanghai}
... copy_rules:
...   - {name: golden-copy, source_regions: [cn-hangzhou], target_regions: [cn-beijing]}
... build_rules:
...   - name: golden
...     pipeline: {region: cn-hangzhou, name: golden-base}
...     window: night
...     copy_rules: [golden-copy]
... ''')
>>> rule = policy.build_rules[0]
>>> rule.schedule, rule.pipeline.ref, rule.distribute_test_failed, rule.distribute_partition_success
('window', 'name:golden-base', False, True)
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.values import At, RegionId, RuleName, TimeZone, matching, unique, zone

__all__ = ["BuildRule", "PipelineRef"]

_PIPELINE_ID = re.compile(r"^ip-[A-Za-z0-9]{1,64}\Z")
# CreateImagePipeline Name: 2-128 characters, starts with a letter; letters, digits, ':', '_', '.', '-'.
_PIPELINE_NAME = re.compile(r"^[^\W\d_][\w.:\-]{1,127}\Z")


class PipelineRef(BaseModel):
    """An existing image template: ``region`` and exactly one of ``id`` or ``name``."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)

    region: RegionId
    id: Annotated[str, matching(_PIPELINE_ID, "not an image template id: {value!r} (ip-…)", cut=80)] | None = None
    name: Annotated[str, matching(_PIPELINE_NAME, "an image template name has 2-128 characters, starts with a "
                                                  "letter and holds letters, digits, ':', '_', '.', '-'")] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> PipelineRef:
        if (self.id is None) == (self.name is None):
            raise At("give exactly one of id or name", "id")
        return self

    @property
    def ref(self) -> str:
        """The template as a ledger key part: its id, or ``name:<name>``."""
        return self.id if self.id is not None else f"name:{self.name}"


class BuildRule(BaseModel):
    """Start builds of one template on a schedule (or on demand) and hand their image to named rules."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)

    name: RuleName
    pipeline: PipelineRef
    cron: str | None = None
    timezone: TimeZone = "UTC"
    window: str | None = None
    copy_rules: Annotated[list[str], unique("rule name")] = Field(default_factory=list)
    export_rules: Annotated[list[str], unique("rule name")] = Field(default_factory=list)
    accounts: Annotated[list[str], unique("account")] = Field(default_factory=list)
    distribute_test_failed: bool = False
    distribute_partition_success: bool = True

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if len(value.split()) != 5:
            raise ValueError(f"a cron expression has 5 fields (minute hour day month weekday), got {value!r}")
        from cronsim import CronSim, CronSimError  # loaded only by a policy with build rules

        try:
            CronSim(value, datetime(2024, 1, 1, tzinfo=timezone.utc))
        except CronSimError as exc:
            raise ValueError(f"invalid cron expression {value!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _one_schedule(self) -> BuildRule:
        if self.cron is not None and self.window is not None:
            raise At("give cron or window, not both (neither: on demand)", "window")
        return self

    @property
    def schedule(self) -> Literal["cron", "window", "on-demand"]:
        """How builds start: on a cron, when a window opens, or only when asked."""
        return "cron" if self.cron is not None else "window" if self.window is not None else "on-demand"

    def last_cron_slot(self, now: datetime) -> datetime | None:
        """The latest cron time at or before ``now`` (aware, UTC), or None for other schedules."""
        if self.cron is None:
            return None
        # cronsim's reverse iteration yields times strictly before its start: start one minute after now.
        local = now.astimezone(zone(self.timezone)).replace(second=0, microsecond=0) + timedelta(minutes=1)
        from cronsim import CronSim

        slot: datetime = next(CronSim(self.cron, local, reverse=True))
        return slot.astimezone(timezone.utc)
