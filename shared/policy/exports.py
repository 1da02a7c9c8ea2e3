"""Export rules (``Policy.export_rules``): which images ExportImage writes to OSS, into which bucket and
prefix, in which format, in which window and how many at a time.

Re-exported by ``shared.policy``. The checks are ExportImage's own (alibaba-api.md section 1.5): the bucket
must be in the image's region (so one bucket per source region), OSSPrefix is 1-30 letters or digits, the
role is a RAM role name; checking them when the policy is loaded turns a refusal at 3 a.m. into an error now.

>>> from shared.policy import load_policy
>>> rule = load_policy('''
... export_rules:
...   - {name: archive, source_regions: [cn-hangzhou], bucket: {cn-hangzhou: relay-hz}, oss_prefix: a1, format: VHD}
... ''').export_rules[0]
>>> rule.format, rule.role_name
('vhd', 'AliyunECSImageExportDefaultRole')
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.policy.match import ImageMatch
from shared.values import At, RegionId, RuleName, matching, unique

__all__ = ["DEFAULT_EXPORT_ROLE", "ExportFormat", "ExportRule"]

# OSS bucket names: 3-63 characters, lowercase letters, digits and hyphens, no hyphen at either end.
_OSS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]\Z")
# ExportImage OSSPrefix: 1-30 letters or digits (alibaba-api.md section 1.5).
_OSS_PREFIX = re.compile(r"^[A-Za-z0-9]{1,30}\Z")
# RAM role names: 1-64 letters, digits, '.' and '-'.
_RAM_ROLE = re.compile(r"^[A-Za-z0-9.-]{1,64}\Z")
DEFAULT_EXPORT_ROLE = "AliyunECSImageExportDefaultRole"
ExportFormat = Literal["raw", "vhd", "qcow2", "vdi", "vmdk"]


class ExportRule(BaseModel):
    """Export images that match in ``source_regions`` to OSS (ExportImage), one bucket per region.

    ``bucket`` maps each source region to a bucket in that same region (ExportImage writes only
    to a bucket in the image's region). ``window`` names a ``Policy.windows`` entry (None: any
    time); ``max_concurrent`` caps exports in flight per region.
    """

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)

    name: RuleName
    source_regions: Annotated[list[RegionId], Field(min_length=1), unique("source region")]
    match: ImageMatch = Field(default_factory=ImageMatch)
    bucket: dict[str, str]
    oss_prefix: Annotated[str, matching(_OSS_PREFIX, "ExportImage OSSPrefix must be 1-30 letters or digits, got "
                                                     "{value!r}")]
    format: ExportFormat = "raw"
    window: str | None = None
    max_concurrent: int = Field(default=1, ge=1, le=10)
    role_name: Annotated[str, matching(_RAM_ROLE, "not a RAM role name: {value!r} (1-64 letters, digits, '.', "
                                                  "'-')")] = DEFAULT_EXPORT_ROLE

    @field_validator("bucket")
    @classmethod
    def _bucket_names(cls, value: dict[str, str]) -> dict[str, str]:
        for region, bucket in value.items():
            if not _OSS_BUCKET.match(bucket):
                raise At(
                    f"not an OSS bucket name: {bucket!r} (3-63 lowercase letters, digits, hyphens; "
                    "no hyphen at either end)",
                    region,
                )
        return value

    @field_validator("format", mode="before")
    @classmethod
    def _lower_format(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _cross_checks(self) -> ExportRule:
        for region in self.bucket:
            if region not in self.source_regions:
                raise At(f"{region!r} is not one of source_regions", "bucket", region)
        missing = [region for region in self.source_regions if region not in self.bucket]
        if missing:
            raise At(f"no bucket for source region(s) {', '.join(missing)}", "bucket")
        return self
