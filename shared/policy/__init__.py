"""The policy file: its loader and the copy/export rules; each other section is a module of this package
(``acr``, ``cleanup``, ``builds``, ``windows``, ``alerts``; ``errors`` turns validation errors into problems
with line numbers). YAML validated by pydantic, every error naming its dotted field.

Why so strict (``extra="forbid"``, checks across fields): a typo such as ``target_region:``
or an ``encrypt`` entry for a region that is not a target would otherwise silently copy
nothing, or copy unencrypted. Invariant 6: a bad policy fails fast, before any cloud call,
with a message like ``copy_rules[0].target_regions[1]: not a region id``.

Example
-------
>>> policy = load_policy('''
... copy_rules:
...   - name: web
...     source_regions: [cn-hangzhou]
...     match: {name_regex: "^app-", tags: {team: web}}
...     target_regions: [cn-beijing, ap-southeast-1]
...     encrypt: {cn-beijing: key-bj-1}
... ''')
>>> [r.name for r in policy.rules_for("cn-hangzhou", "app-1", {"team": "web"})]
['web']
>>> policy.copy_rules[0].render_name("app-1", "m-abc", "cn-hangzhou", "cn-beijing")
'app-1-cn-beijing'

Export rules (ExportImage to OSS) may be limited to a named window:

>>> policy = load_policy('''
... windows:
...   - {name: night, start: "01:00", end: "05:00", timezone: Asia/Shanghai}
... export_rules:
...   - name: archive
...     source_regions: [cn-hangzhou]
...     match: {name_regex: "^app-"}
...     bucket: {cn-hangzhou: relay-exports-hz}
...     oss_prefix: archive
...     format: QCOW2
...     window: night
... ''')
>>> rule = policy.export_rules_for("cn-hangzhou", "app-1", {})[0]
>>> rule.format, rule.max_concurrent, policy.window(rule.window).end
('qcow2', 1, '05:00')
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from shared.errors import ConfigError
from shared.patterns import bounded, check_pattern
from shared.policy.accounts import AccountTarget, check_account_targets
from shared.policy.acr import (
    AcrInstanceRef,
    AcrRule,
    AcrTarget,
    TagFilter,
    check_acr_graph,
)
from shared.policy.alerts import AlertsPolicy
from shared.policy.builds import BuildRule, PipelineRef
from shared.policy.cleanup import CleanupPolicy
from shared.policy.errors import Problem, problems, yaml_problem
from shared.policy.windows import Window
from shared.values import MAX_REGEX_LENGTH, At, RegionId, check_rule_name, check_unique

__all__ = ["AcrInstanceRef", "AcrRule", "AcrTarget", "BuildRule", "CleanupPolicy", "PipelineRef", "CopyRule", "ExportFormat", "ExportRule",
           "ImageMatch", "Policy", "TagFilter", "Window", "load_policy"]

NAME_MAX = 128  # ECS image name: 2-128 characters
DESCRIPTION_MAX = 256  # ECS description: 2-256 characters
PLACEHOLDERS = frozenset({"name", "image_id", "source_region", "target_region", "rule"})
# OSS bucket names: 3-63 characters, lowercase letters, digits and hyphens, no hyphen at either end.
_OSS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]\Z")
# ExportImage OSSPrefix: 1-30 letters or digits (alibaba-api.md section 1.5).
_OSS_PREFIX = re.compile(r"^[A-Za-z0-9]{1,30}\Z")
# RAM role names: 1-64 letters, digits, '.' and '-'.
_RAM_ROLE = re.compile(r"^[A-Za-z0-9.-]{1,64}\Z")
DEFAULT_EXPORT_ROLE = "AliyunECSImageExportDefaultRole"
ExportFormat = Literal["raw", "vhd", "qcow2", "vdi", "vmdk"]
# ECS image names start with a letter (CJK included), may hold letters, digits, . : _ -,
# and must not start with http:// or https://.
_ECS_NAME = re.compile(r"^[^\W\d_][\w.:\-]*\Z")
_SAMPLE = {
    "name": "app-sample",
    "image_id": "m-sample0001",
    "source_region": "cn-hangzhou",
    "target_region": "ap-southeast-1",
    "rule": "sample-rule",
}


Region = RegionId


class ImageMatch(BaseModel):
    """Which source images a rule takes; every given condition must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name_regex: str | None = Field(default=None, max_length=MAX_REGEX_LENGTH)
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("name_regex")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        return check_pattern(value)

    def matches(self, name: str, tags: Mapping[str, str]) -> bool:
        """True when the name matches ``name_regex`` (search, RE2: bounded time) and every tag is equal."""
        if self.name_regex is not None and not bounded(self.name_regex).search(name):
            return False
        return all(tags.get(key) == value for key, value in self.tags.items())


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


def _unique_rule_names(rules: list[Any]) -> None:
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if rule.name in seen:
            raise At(f"duplicate rule name {rule.name!r}", i, "name")
        seen.add(rule.name)


class CopyRule(BaseModel):
    """Copy images that match in ``source_regions`` to every ``target_regions`` entry."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str
    source_regions: list[Region] = Field(min_length=1)
    match: ImageMatch = Field(default_factory=ImageMatch)
    target_regions: list[Region] = Field(min_length=1)
    encrypt: dict[str, str] = Field(default_factory=dict)
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

    @field_validator("name")
    @classmethod
    def _rule_name(cls, value: str) -> str:
        return check_rule_name(value)

    @field_validator("source_regions")
    @classmethod
    def _unique_sources(cls, value: list[str]) -> list[str]:
        return check_unique(value, "source region")

    @field_validator("target_regions")
    @classmethod
    def _unique_targets(cls, value: list[str]) -> list[str]:
        return check_unique(value, "target region")

    @field_validator("encrypt")
    @classmethod
    def _kms_ids(cls, value: dict[str, str]) -> dict[str, str]:
        for region, key_id in value.items():
            if not key_id.strip():
                raise At("KMS key id must not be empty", region)
        return value

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

    def _values(self, name: str, image_id: str, source_region: str, target_region: str) -> dict[str, str]:
        return {
            "name": name,
            "image_id": image_id,
            "source_region": source_region,
            "target_region": target_region,
            "rule": self.name,
        }

    def render_name(self, name: str, image_id: str, source_region: str, target_region: str) -> str:
        """The copy's ECS image name, truncated to 128 characters."""
        return self.name_template.format(**self._values(name, image_id, source_region, target_region))[:NAME_MAX]

    def render_description(self, name: str, image_id: str, source_region: str, target_region: str) -> str | None:
        """The copy's description (None without a template), truncated to 256 characters."""
        if self.description_template is None:
            return None
        values = self._values(name, image_id, source_region, target_region)
        return self.description_template.format(**values)[:DESCRIPTION_MAX]


class ExportRule(BaseModel):
    """Export images that match in ``source_regions`` to OSS (ExportImage), one bucket per region.

    ``bucket`` maps each source region to a bucket in that same region (ExportImage writes only
    to a bucket in the image's region). ``window`` names a ``Policy.windows`` entry (None: any
    time); ``max_concurrent`` caps exports in flight per region.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str
    source_regions: list[Region] = Field(min_length=1)
    match: ImageMatch = Field(default_factory=ImageMatch)
    bucket: dict[str, str]
    oss_prefix: str
    format: ExportFormat = "raw"
    window: str | None = None
    max_concurrent: int = Field(default=1, ge=1, le=10)
    role_name: str = DEFAULT_EXPORT_ROLE

    @field_validator("name")
    @classmethod
    def _rule_name(cls, value: str) -> str:
        return check_rule_name(value)

    @field_validator("source_regions")
    @classmethod
    def _unique_sources(cls, value: list[str]) -> list[str]:
        return check_unique(value, "source region")

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

    @field_validator("oss_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not _OSS_PREFIX.match(value):
            raise ValueError(f"ExportImage OSSPrefix must be 1-30 letters or digits, got {value!r}")
        return value

    @field_validator("format", mode="before")
    @classmethod
    def _lower_format(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("role_name")
    @classmethod
    def _role(cls, value: str) -> str:
        if not _RAM_ROLE.match(value):
            raise ValueError(f"not a RAM role name: {value!r} (1-64 letters, digits, '.', '-')")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> ExportRule:
        for region in self.bucket:
            if region not in self.source_regions:
                raise At(f"{region!r} is not one of source_regions", "bucket", region)
        missing = [region for region in self.source_regions if region not in self.bucket]
        if missing:
            raise At(f"no bucket for source region(s) {', '.join(missing)}", "bucket")
        return self


class CopyLimits(BaseModel):
    """Per destination region: copies in flight at most (ECS runs 5 at a time, alibaba-api.md §2.4),
    and a lower limit for images above `large_image_gib`. `gib_per_minute` seeds ETAs until copies
    have been observed."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    per_region: int = Field(default=5, ge=1, le=50)
    large_image_gib: int = Field(default=1024, ge=1)
    large_per_region: int = Field(default=1, ge=1, le=50)
    gib_per_minute: float = Field(default=20.0, gt=0)


class Policy(BaseModel):
    """All rules; an empty policy (no rules) is valid and copies nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    copy_rules: list[CopyRule] = Field(default_factory=list)
    copy_limits: CopyLimits = Field(default_factory=CopyLimits)
    windows: list[Window] = Field(default_factory=list)
    export_rules: list[ExportRule] = Field(default_factory=list)
    acr_rules: list[AcrRule] = Field(default_factory=list)  # see shared/policy/acr.py
    cleanup: CleanupPolicy | None = None  # see shared/policy/cleanup.py
    build_rules: list[BuildRule] = Field(default_factory=list)  # see shared/policy/builds.py
    alerts: AlertsPolicy | None = None  # see shared/policy/alerts.py

    @field_validator("copy_rules", "export_rules", "acr_rules", "build_rules")
    @classmethod
    def _unique_names(cls, rules: list[Any]) -> list[Any]:
        _unique_rule_names(rules)
        return rules

    @field_validator("acr_rules")
    @classmethod
    def _acr_graph(cls, rules: list[AcrRule]) -> list[AcrRule]:
        return check_acr_graph(rules)

    @field_validator("windows")
    @classmethod
    def _unique_windows(cls, windows: list[Window]) -> list[Window]:
        seen: set[str] = set()
        for i, window in enumerate(windows):
            if window.name in seen:
                raise At(f"duplicate window name {window.name!r}", i, "name")
            seen.add(window.name)
        return windows

    @model_validator(mode="after")
    def _window_refs(self) -> Policy:
        defined = {w.name for w in self.windows}
        refs = [("copy_rules", i, r.window) for i, r in enumerate(self.copy_rules)]
        refs += [("export_rules", i, r.window) for i, r in enumerate(self.export_rules)]
        refs += [("acr_rules", i, r.window) for i, r in enumerate(self.acr_rules)]
        refs += [("build_rules", i, r.window) for i, r in enumerate(self.build_rules)]
        for key, i, window in refs:
            if window is not None and window not in defined:
                known = ", ".join(sorted(defined)) or "none"
                raise At(f"unknown window {window!r} (defined: {known})", key, i, "window")
        return self

    @model_validator(mode="after")
    def _build_rule_refs(self) -> Policy:
        """Every copy/export rule a build rule hands its image to must exist."""
        for i, rule in enumerate(self.build_rules):
            for key, defined in (("copy_rules", self.copy_rules), ("export_rules", self.export_rules)):
                names = {r.name for r in defined}
                for j, name in enumerate(getattr(rule, key)):
                    if name not in names:
                        known = ", ".join(sorted(names)) or "none"
                        raise At(f"unknown {key[:-1].replace('_', ' ')} {name!r} (defined: {known})",
                                  "build_rules", i, key, j)
        return self

    def build_rule(self, name: str) -> BuildRule | None:
        """The build rule called ``name``, or None."""
        return next((r for r in self.build_rules if r.name == name), None)

    def window(self, name: str) -> Window:
        """The window called ``name``; ``KeyError`` if there is none."""
        for window in self.windows:
            if window.name == name:
                return window
        raise KeyError(f"no window named {name!r}")

    def copy_rule(self, name: str) -> CopyRule | None:
        """The copy rule called ``name``, or None (a record may outlive its rule)."""
        return next((r for r in self.copy_rules if r.name == name), None)

    def rules_for(self, region: str, name: str, tags: Mapping[str, str]) -> list[CopyRule]:
        """Rules whose source regions include ``region`` and whose match accepts the image, in order."""
        return [r for r in self.copy_rules if region in r.source_regions and r.match.matches(name, tags)]

    def export_rules_for(self, region: str, name: str, tags: Mapping[str, str]) -> list[ExportRule]:
        """Export rules whose source regions include ``region`` and whose match accepts the image, in order."""
        return [r for r in self.export_rules if region in r.source_regions and r.match.matches(name, tags)]

    def acr_rules_for(self, instance_id: str, namespace: str, repo: str, tag: str) -> list[AcrRule]:
        """ACR rules whose source is ``instance_id`` and whose filters accept the tag, in order."""
        return [r for r in self.acr_rules if r.matches(instance_id, namespace, repo, tag)]


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys: YAML would silently keep the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read(path_or_text: str | os.PathLike[str]) -> str:
    if isinstance(path_or_text, os.PathLike):
        path = Path(path_or_text)
    elif "\n" not in path_or_text and (
        path_or_text.endswith((".yml", ".yaml")) or os.path.isfile(path_or_text)
    ):
        path = Path(path_or_text)
    else:
        return path_or_text
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read policy file {str(path)!r}: {exc}", field="IMAGE_RELAY_POLICY") from None


def check_policy(path_or_text: str | os.PathLike[str]) -> tuple[Policy | None, list[Problem]]:
    """The policy and no problems, or None and every problem (field path, line, column, message)."""
    text = _read(path_or_text)
    try:
        doc = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        return None, [yaml_problem(exc)]
    if doc is None:
        return Policy(), []
    if not isinstance(doc, dict):
        return None, [Problem("", f"the policy must be a mapping with copy_rules, got {type(doc).__name__}", 1, 1)]
    try:
        return Policy.model_validate(doc), []
    except ValidationError as exc:
        return None, problems(exc, doc, text)


def load_policy(path_or_text: str | os.PathLike[str]) -> Policy:
    """Load a policy from a YAML file path or YAML text; the first problem is a ``ConfigError``
    carrying its YAML line and column (`image-relay validate-policy` lists every problem)."""
    policy, found = check_policy(path_or_text)
    if policy is not None:
        return policy
    first = found[0]
    if first.message.startswith("invalid YAML: "):
        where = f"line {first.line}, column {first.column}: " if first.line is not None else ""
        raise ConfigError(f"invalid YAML at {where}{first.message[len('invalid YAML: '):]}")
    more = f" (and {len(found) - 1} more error{'s' if len(found) > 2 else ''})" if len(found) > 1 else ""
    raise ConfigError(f"{first.message}{more}", field=first.field or None, line=first.line, column=first.column)
