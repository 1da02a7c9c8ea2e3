"""Policy windows and export_rules: the example loads; every invalid case names its exact field."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from shared.errors import ConfigError
from shared.policy import ExportRule, ImageMatch, Policy, Window, load_policy

EXAMPLE = """
windows:
  - {name: night, start: "01:00", end: "05:00", timezone: Asia/Shanghai}   # a window may wrap past midnight
export_rules:
  - name: archive
    source_regions: [cn-hangzhou]
    match: {name_regex: "^app-"}
    bucket: {cn-hangzhou: relay-exports-hz}   # region -> bucket in that region
    oss_prefix: archive                      # validated against ExportImage's OSSPrefix rules
    format: qcow2
    window: night
    max_concurrent: 2                        # exports in flight per region
"""


def _doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(EXAMPLE)
    return doc


def _load(doc: dict[str, Any]) -> Policy:
    return load_policy(yaml.safe_dump(doc))


def _export(**changes: object) -> dict[str, Any]:
    doc = _doc()
    doc["export_rules"][0].update(changes)
    return doc


def test_example_loads() -> None:
    policy = load_policy(EXAMPLE)
    assert policy.windows == [Window(name="night", start="01:00", end="05:00", timezone="Asia/Shanghai")]
    assert policy.export_rules == [
        ExportRule(
            name="archive",
            source_regions=["cn-hangzhou"],
            match=ImageMatch(name_regex="^app-"),
            bucket={"cn-hangzhou": "relay-exports-hz"},
            oss_prefix="archive",
            format="qcow2",
            window="night",
            max_concurrent=2,
        )
    ]
    rule = policy.export_rules[0]
    assert rule.role_name == "AliyunECSImageExportDefaultRole"
    assert policy.window("night") is policy.windows[0]
    assert policy.copy_rules == []
    assert policy.rules_for("cn-hangzhou", "app-1", {}) == []


def test_defaults_and_format_case() -> None:
    doc = _export(format="VMDK")
    del doc["export_rules"][0]["window"], doc["export_rules"][0]["max_concurrent"]
    rule = _load(doc).export_rules[0]
    assert (rule.format, rule.window, rule.max_concurrent) == ("vmdk", None, 1)
    doc = _export()
    del doc["export_rules"][0]["format"]
    assert _load(doc).export_rules[0].format == "raw"


def test_export_rules_for() -> None:
    doc = _export(source_regions=["cn-hangzhou", "cn-beijing"], bucket={"cn-hangzhou": "hz-b", "cn-beijing": "bj-b"})
    doc["export_rules"].append(
        {"name": "tagged", "source_regions": ["cn-beijing"], "match": {"tags": {"export": "yes"}},
         "bucket": {"cn-beijing": "bj-b"}, "oss_prefix": "t1"}
    )
    policy = _load(doc)
    assert [r.name for r in policy.export_rules_for("cn-beijing", "app-1", {"export": "yes"})] == ["archive", "tagged"]
    assert [r.name for r in policy.export_rules_for("cn-beijing", "db-1", {"export": "yes"})] == ["tagged"]
    assert [r.name for r in policy.export_rules_for("cn-hangzhou", "app-1", {"export": "yes"})] == ["archive"]
    assert policy.export_rules_for("cn-shanghai", "app-1", {"export": "yes"}) == []


def test_window_lookup_unknown() -> None:
    with pytest.raises(KeyError):
        load_policy(EXAMPLE).window("day")


def test_copy_rule_window_reference() -> None:
    doc = _doc()
    doc["copy_rules"] = [
        {"name": "web", "source_regions": ["cn-hangzhou"], "target_regions": ["cn-beijing"], "window": "night"}
    ]
    assert _load(doc).copy_rules[0].window == "night"
    doc["copy_rules"][0]["window"] = "day"
    with pytest.raises(ConfigError) as err:
        _load(doc)
    assert err.value.field == "copy_rules[0].window"
    assert "'day'" in err.value.message and "night" in err.value.message
    # without windows every reference is unknown; a copy rule without one stays valid
    with pytest.raises(ConfigError) as err:
        load_policy("copy_rules: [{name: a, source_regions: [cn-hangzhou], target_regions: [cn-beijing], window: x}]")
    assert err.value.field == "copy_rules[0].window"
    assert load_policy("copy_rules: [{name: a, source_regions: [cn-hangzhou], target_regions: [cn-beijing]}]")


def test_unquoted_time_explained() -> None:
    with pytest.raises(ConfigError) as err:
        load_policy("windows: [{name: n, start: 22:00, end: '05:00', timezone: UTC}]")
    assert err.value.field == "windows[0].start"
    assert "quoted" in err.value.message


def _window(**changes: object) -> dict[str, Any]:
    doc = _doc()
    doc["windows"][0].update(changes)
    return doc


@pytest.mark.parametrize(
    ("doc", "field", "fragment"),
    [
        # windows
        (_window(timezone="Asia/Shanghia"), "windows[0].timezone",
         "unknown IANA time zone 'Asia/Shanghia' (e.g. Asia/Shanghai, UTC)"),
        (_window(timezone=""), "windows[0].timezone", "unknown IANA time zone '' (e.g. Asia/Shanghai, UTC)"),
        (_window(start="1:00"), "windows[0].start", "HH:MM"),
        (_window(start="25:00"), "windows[0].start", "HH:MM"),
        (_window(end="05:5"), "windows[0].end", "HH:MM"),
        (_window(days=["mon", "someday"]), "windows[0].days[1]", "mon"),
        (_window(days=[]), "windows[0].days", "at least 1"),
        (_window(name="Night"), "windows[0].name", "[a-z0-9]"),
        (_window(stop="05:00"), "windows[0].stop", "unknown key"),
        ({**_doc(), "windows": _doc()["windows"] * 2}, "windows[1].name", "duplicate window"),
        # export rules
        (_export(window="day"), "export_rules[0].window", "unknown window 'day'"),
        ({"export_rules": _doc()["export_rules"]}, "export_rules[0].window", "unknown window"),
        (_export(name="Archive"), "export_rules[0].name", "[a-z0-9]"),
        (_export(name="a" * 64), "export_rules[0].name", "[a-z0-9]"),
        (_export(source_regions=[]), "export_rules[0].source_regions", "at least 1"),
        (_export(source_regions=["cn-hangzhou", "cn_beijing"]), "export_rules[0].source_regions[1]", "not a region"),
        (_export(source_regions=["cn-hangzhou", "cn-hangzhou"]), "export_rules[0].source_regions[1]", "duplicate"),
        (_export(source_regions=["cn-hangzhou", "cn-beijing"]), "export_rules[0].bucket", "cn-beijing"),
        (_export(bucket={}), "export_rules[0].bucket", "no bucket"),
        (_export(bucket={"cn-hangzhou": "b-hz", "cn-beijing": "b-bj"}), "export_rules[0].bucket.cn-beijing", "not one of source_regions"),
        (_export(bucket={"cn-hangzhou": "ab"}), "export_rules[0].bucket.cn-hangzhou", "OSS bucket"),
        (_export(bucket={"cn-hangzhou": "a" * 64}), "export_rules[0].bucket.cn-hangzhou", "OSS bucket"),
        (_export(bucket={"cn-hangzhou": "Relay-Exports"}), "export_rules[0].bucket.cn-hangzhou", "OSS bucket"),
        (_export(bucket={"cn-hangzhou": "-relay"}), "export_rules[0].bucket.cn-hangzhou", "OSS bucket"),
        (_export(bucket={"cn-hangzhou": "relay-"}), "export_rules[0].bucket.cn-hangzhou", "OSS bucket"),
        (_export(bucket={"cn-hangzhou": "relay_x"}), "export_rules[0].bucket.cn-hangzhou", "OSS bucket"),
        (_export(bucket="relay-exports-hz"), "export_rules[0].bucket", "dictionary"),
        (_export(oss_prefix=""), "export_rules[0].oss_prefix", "OSSPrefix"),
        (_export(oss_prefix="a" * 31), "export_rules[0].oss_prefix", "1-30"),
        (_export(oss_prefix="arch-ive"), "export_rules[0].oss_prefix", "letters or digits"),
        (_export(oss_prefix="archive/"), "export_rules[0].oss_prefix", "letters or digits"),
        (_export(format="vhdx"), "export_rules[0].format", "qcow2"),
        (_export(max_concurrent=0), "export_rules[0].max_concurrent", "greater than or equal to 1"),
        (_export(max_concurrent=11), "export_rules[0].max_concurrent", "less than or equal to 10"),
        (_export(max_concurrent="2"), "export_rules[0].max_concurrent", "integer"),
        (_export(role_name=""), "export_rules[0].role_name", "RAM role"),
        (_export(role_name="my role"), "export_rules[0].role_name", "RAM role"),
        (_export(match={"name_regex": "("}), "export_rules[0].match.name_regex", "invalid regular expression"),
        (_export(buckets={"cn-hangzhou": "x-y"}), "export_rules[0].buckets", "unknown key"),
        ({**_doc(), "export_rules": _doc()["export_rules"] * 2}, "export_rules[1].name", "duplicate rule name"),
    ],
)
def test_invalid_case_names_exact_field(doc: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(doc)
    assert err.value.field == field
    assert fragment in err.value.message
    assert str(err.value).startswith(field)


def test_missing_oss_prefix_and_bucket() -> None:
    doc = _export()
    del doc["export_rules"][0]["oss_prefix"]
    with pytest.raises(ConfigError) as err:
        _load(doc)
    assert err.value.field == "export_rules[0].oss_prefix"
    assert "required" in err.value.message.lower()


def test_copy_and_export_names_are_separate_namespaces() -> None:
    doc = _doc()
    doc["copy_rules"] = [{"name": "archive", "source_regions": ["cn-hangzhou"], "target_regions": ["cn-beijing"]}]
    policy = _load(doc)
    assert policy.copy_rules[0].name == policy.export_rules[0].name == "archive"
