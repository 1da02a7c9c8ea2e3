"""Build rules in the policy: the documented forms load; each invalid case names its exact field."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import yaml

from shared.errors import ConfigError
from shared.policy import check_policy, load_policy

BASE = """
windows:
  - {name: night, start: "01:00", end: "05:00", timezone: Asia/Shanghai}
copy_rules:
  - {name: golden-copy, source_regions: [cn-hangzhou], target_regions: [cn-beijing]}
export_rules:
  - {name: golden-export, source_regions: [cn-hangzhou], bucket: {cn-hangzhou: relay-exports}, oss_prefix: golden}
build_rules:
  - name: nightly
    pipeline: {region: cn-hangzhou, name: golden-base}
    window: night
    copy_rules: [golden-copy]
    export_rules: [golden-export]
  - name: hourly
    pipeline: {region: cn-hangzhou, id: ip-bp1abc}
    cron: "0 * * * *"
  - name: manual
    pipeline: {region: cn-beijing, id: ip-2zeabc}
"""


def _with_rule(**changes: Any) -> str:
    doc = yaml.safe_load(BASE)
    doc["build_rules"] = [{**doc["build_rules"][0], **changes}]
    return yaml.safe_dump(doc)


def test_the_three_schedules_and_the_defaults() -> None:
    policy = load_policy(BASE)
    nightly, hourly, manual = policy.build_rules
    assert (nightly.schedule, hourly.schedule, manual.schedule) == ("window", "cron", "on-demand")
    assert (nightly.pipeline.ref, hourly.pipeline.ref) == ("name:golden-base", "ip-bp1abc")
    assert (manual.distribute_test_failed, manual.distribute_partition_success) == (False, True)
    assert policy.build_rule("hourly") is hourly and policy.build_rule("nope") is None


def test_the_cron_slot_is_the_latest_time_at_or_before_now() -> None:
    rule = load_policy(_with_rule(window=None, cron="30 2 * * *", timezone="Asia/Shanghai")).build_rules[0]
    at = dt.datetime(2026, 11, 24, 18, 30, tzinfo=dt.timezone.utc)  # 02:30 in Shanghai
    assert rule.last_cron_slot(at) == at
    assert rule.last_cron_slot(at + dt.timedelta(seconds=59)) == at
    assert rule.last_cron_slot(at - dt.timedelta(seconds=1)) == at - dt.timedelta(days=1)


@pytest.mark.parametrize(
    "changes, field, fragment",
    [
        ({"pipeline": {"region": "cn-hangzhou"}}, "build_rules[0].pipeline.id", "exactly one of id or name"),
        ({"pipeline": {"region": "cn-hangzhou", "id": "ip-1", "name": "golden"}}, "build_rules[0].pipeline.id",
         "exactly one of id or name"),
        ({"pipeline": {"region": "cn-hangzhou", "id": "m-123"}}, "build_rules[0].pipeline.id", "not an image template id"),
        ({"pipeline": {"region": "cn-hangzhou", "name": "1x"}}, "build_rules[0].pipeline.name", "starts with a letter"),
        ({"pipeline": {"region": "mars", "id": "ip-1"}}, "build_rules[0].pipeline.region", "not a region id"),
        ({"cron": "0 2 * * *"}, "build_rules[0].window", "cron or window, not both"),
        ({"window": None, "cron": "0 2 * *"}, "build_rules[0].cron", "5 fields"),
        ({"window": None, "cron": "61 2 * * *"}, "build_rules[0].cron", "invalid cron expression"),
        ({"timezone": "Mars/Olympus"}, "build_rules[0].timezone",
         "unknown IANA time zone 'Mars/Olympus' (e.g. Asia/Shanghai, UTC)"),
        ({"window": "day"}, "build_rules[0].window", "unknown window 'day'"),
        ({"copy_rules": ["golden-copy", "other"]}, "build_rules[0].copy_rules[1]", "unknown copy rule 'other'"),
        ({"export_rules": ["nope"]}, "build_rules[0].export_rules[0]", "unknown export rule 'nope'"),
        ({"copy_rules": ["golden-copy", "golden-copy"]}, "build_rules[0].copy_rules[1]", "duplicate rule name"),
        ({"distribute_test_failed": "yes"}, "build_rules[0].distribute_test_failed", ""),
        ({"accounts": ["2222222222222222"]}, "build_rules[0].accounts[0]",
         "no copy rule has an account target '2222222222222222'"),
        ({"pipeline": {"region": "cn-beijing", "id": "ip-1"}}, "build_rules[0].export_rules[0]",
         "export rule 'golden-export' has no bucket in cn-beijing"),
        ({"name": "Nightly"}, "build_rules[0].name", "lowercase"),
        ({"when": "nightly"}, "build_rules[0].when", "unknown key"),
    ],
)
def test_each_bad_field_is_named(changes: dict[str, Any], field: str, fragment: str) -> None:
    policy, problems = check_policy(_with_rule(**changes))
    assert policy is None
    assert problems[0].field == field, problems
    assert fragment in problems[0].message


def test_duplicate_build_rule_names() -> None:
    doc = yaml.safe_load(BASE)
    doc["build_rules"][1]["name"] = "nightly"
    with pytest.raises(ConfigError) as info:
        load_policy(yaml.safe_dump(doc))
    assert info.value.field == "build_rules[1].name"
