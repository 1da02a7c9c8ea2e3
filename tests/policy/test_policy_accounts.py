"""Account targets of copy rules (issue #13): the documented form loads with its defaults; each bad input names
its exact field (and line); the source account itself is reported as a target."""
from __future__ import annotations

from typing import Any

import pytest
import yaml

from shared.policy import check_policy, load_policy
from shared.policy.accounts import source_account_problems

PARTNER = "2222222222222222"
ROLE = f"acs:ram::{PARTNER}:role/relay-partner"
BASE = f"""
copy_rules:
  - name: partners
    source_regions: [cn-hangzhou]
    target_regions: [cn-beijing]
    accounts:
      - account_id: "{PARTNER}"
        role_arn: "{ROLE}"
        target_regions: [cn-shanghai, cn-beijing]
        kms_keys: {{cn-hangzhou: key-p-hz, cn-shanghai: key-p-sh}}
      - account_id: "3333333333333333"
        role_arn: "acs:ram::3333333333333333:role/viewer"
        mode: share
"""


def _with_target(**changes: Any) -> str:
    doc = yaml.safe_load(BASE)
    target = {**doc["copy_rules"][0]["accounts"][0], **changes}
    doc["copy_rules"][0]["accounts"] = [{k: v for k, v in target.items() if v is not None}]
    return yaml.safe_dump(doc)


def test_documented_form_and_defaults() -> None:
    rule = load_policy(BASE).copy_rules[0]
    copy, share = rule.accounts
    assert (copy.mode, copy.keep_shared, copy.role_name) == ("copy", False, "relay-partner")
    assert copy.target_regions == ["cn-shanghai", "cn-beijing"]
    assert (copy.kms_key("cn-hangzhou"), copy.kms_key("cn-shanghai"), copy.kms_key("cn-beijing")) == (
        "key-p-hz", "key-p-sh", None)
    assert (share.mode, share.target_regions, share.kms_keys) == ("share", [], {})
    assert load_policy("copy_rules: [{name: r, source_regions: [cn-hangzhou], target_regions: [cn-beijing]}]"
                       ).copy_rules[0].accounts == []


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"account_id": "12345"}, "copy_rules[0].accounts[0].account_id", "16 digits"),
        ({"account_id": 2222222222222222}, "copy_rules[0].accounts[0].account_id", "string"),
        ({"role_arn": "acs:ram::2222:role/x"}, "copy_rules[0].accounts[0].role_arn", "acs:ram::<16-digit"),
        ({"role_arn": "arn:aws:iam::123456789012:role/x"}, "copy_rules[0].accounts[0].role_arn", "role ARN"),
        ({"role_arn": "acs:ram::3333333333333333:role/x"}, "copy_rules[0].accounts[0].role_arn",
         "must be in account 2222222222222222"),
        ({"target_regions": ["cn-shanghai", "cn-shanghai"]}, "copy_rules[0].accounts[0].target_regions[1]", "duplicate"),
        ({"target_regions": ["mars-1"]}, "copy_rules[0].accounts[0].target_regions[0]", "region"),
        ({"kms_keys": {"cn-qingdao": "k"}}, "copy_rules[0].accounts[0].kms_keys.cn-qingdao", "neither a source"),
        ({"kms_keys": {"cn-shanghai": " "}}, "copy_rules[0].accounts[0].kms_keys.cn-shanghai", "empty"),
        ({"mode": "mirror"}, "copy_rules[0].accounts[0].mode", "share"),
        ({"mode": "share", "kms_keys": None}, "copy_rules[0].accounts[0].target_regions", "mode copy"),
        ({"mode": "share", "target_regions": None}, "copy_rules[0].accounts[0].kms_keys", "no KMS key"),
        ({"keep_shared": "yes"}, "copy_rules[0].accounts[0].keep_shared", "boolean"),
        ({"roles": "x"}, "copy_rules[0].accounts[0].roles", "unknown key"),
    ],
)
def test_each_bad_field_is_named(changes: dict[str, Any], field: str, fragment: str) -> None:
    policy, problems = check_policy(_with_target(**changes))
    assert policy is None
    assert problems[0].field == field, problems
    assert fragment in problems[0].message, problems[0].message
    assert problems[0].line is not None


def test_an_account_listed_twice_is_named() -> None:
    doc = yaml.safe_load(BASE)
    doc["copy_rules"][0]["accounts"][1] = dict(doc["copy_rules"][0]["accounts"][0])
    policy, problems = check_policy(yaml.safe_dump(doc))
    assert policy is None
    assert problems[0].field == "copy_rules[0].accounts[1].account_id" and "listed twice" in problems[0].message


def test_the_source_account_itself_is_never_a_target() -> None:
    policy = load_policy(BASE)
    rules = [(r.name, r.accounts) for r in policy.copy_rules]
    assert list(source_account_problems(rules, "1234567890123456")) == []
    (problem,) = source_account_problems(rules, PARTNER)
    assert problem.startswith("copy_rules[0].accounts[0].account_id: 2222222222222222 is the source account itself")
