"""The policy as a whole (``Policy``: every section, and the checks across sections) and its loader: YAML
read with duplicate keys refused, validated by pydantic, every problem with its dotted field, line and column.

Why the cross-section checks live here: a window, a copy rule or an export rule is named by another section
(``window: night``, a build rule's ``copy_rules``); only the whole policy can tell whether the name exists.
Each section is a module of this package (``copies``, ``exports``, ``accounts``, ``acr``, ``cleanup``,
``builds``, ``windows``, ``alerts``); ``errors`` turns validation errors into problems with line numbers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.errors import ConfigError
from shared.policy.accounts import AccountTarget
from shared.policy.acr import AcrRule, check_acr_graph
from shared.policy.alerts import AlertsPolicy
from shared.policy.builds import BuildRule
from shared.policy.cleanup import CleanupPolicy
from shared.policy.copies import CopyLimits, CopyRule
from shared.policy.errors import Problem, problems, yaml_problem
from shared.policy.exports import ExportRule
from shared.policy.windows import Window
from shared.values import At, check_unique

__all__ = ["Policy", "check_policy", "load_policy"]


class Policy(BaseModel):
    """All rules; an empty policy (no rules) is valid and copies nothing."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)

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
        check_unique([rule.name for rule in rules], "rule name", "name")
        return rules

    @field_validator("acr_rules")
    @classmethod
    def _acr_graph(cls, rules: list[AcrRule]) -> list[AcrRule]:
        return check_acr_graph(rules)

    @field_validator("windows")
    @classmethod
    def _unique_windows(cls, windows: list[Window]) -> list[Window]:
        check_unique([window.name for window in windows], "window name", "name")
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
            for j, name in enumerate(rule.export_rules):
                export = next(r for r in self.export_rules if r.name == name)
                if rule.pipeline.region not in export.bucket:
                    raise At(f"export rule {name!r} has no bucket in {rule.pipeline.region}, the region the "
                             "template builds in (ExportImage writes to a bucket of the image's region)",
                             "build_rules", i, "export_rules", j)
            targets = {t.account_id for r in self.copy_rules for t in r.accounts}
            for j, account in enumerate(rule.accounts):
                if account not in targets:
                    known = ", ".join(sorted(targets)) or "none"
                    raise At(f"no copy rule has an account target {account!r} (defined: {known})",
                             "build_rules", i, "accounts", j)
        return self

    def account_target(self, account_id: str) -> tuple[str, AccountTarget] | None:
        """The first copy rule (by policy order) with an account target for ``account_id``, and that target."""
        return next(((r.name, t) for r in self.copy_rules for t in r.accounts if t.account_id == account_id), None)

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
