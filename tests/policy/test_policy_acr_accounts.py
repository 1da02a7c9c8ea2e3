"""Policy acr_rules[].accounts (issue #13): account targets of an ACR rule; each bad field is named."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from shared.errors import ConfigError
from shared.policy import load_policy
from shared.policy.acr import account_target_problems

PARTNER, OTHER = "2222222222222222", "3333333333333333"
BASE = f"""
acr_rules:
  - name: web
    source: {{instance_id: cri-hzsrc01, region: cn-hangzhou}}
    namespaces: [web]
    targets: [{{instance_id: cri-bjtgt01, region: cn-beijing}}]
    accounts:
      - account_id: "{PARTNER}"
        targets:
          - {{instance_id: cri-partner01, region: cn-shanghai}}
          - {{instance_id: cri-partner02, region: ap-southeast-1, namespace: mirror}}
"""


def _doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(BASE)
    return doc


def _error(doc: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        load_policy(yaml.safe_dump(doc))
    return err.value


def test_account_targets_load_in_policy_order() -> None:
    rule = load_policy(BASE).acr_rules[0]
    assert [(a, t.instance_id, t.region) for a, t in rule.all_targets()] == [
        (None, "cri-bjtgt01", "cn-beijing"), (PARTNER, "cri-partner01", "cn-shanghai"),
        (PARTNER, "cri-partner02", "ap-southeast-1")]
    assert rule.target_names("web", "frontend", rule.accounts[0].targets[1]) == ("mirror", "frontend")


def test_a_rule_may_have_only_account_targets() -> None:
    doc = _doc()
    del doc["acr_rules"][0]["targets"]
    assert [a for a, _ in load_policy(yaml.safe_dump(doc)).acr_rules[0].all_targets()] == [PARTNER, PARTNER]


_A0 = "acr_rules[0].accounts[0]"


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"account_id": 2222222222222222}, f"{_A0}.account_id", "valid string"),  # unquoted YAML number
    ({"account_id": "22222222"}, f"{_A0}.account_id", "16 digits"),
    ({"account_id": "222222222222222x"}, f"{_A0}.account_id", "16 digits"),
    ({"targets": []}, f"{_A0}.targets", "at least 1"),
    ({"targets": [{"instance_id": "cri-hzsrc01", "region": "cn-hangzhou"}]}, f"{_A0}.targets[0].instance_id",
     "source instance itself"),
    ({"targets": [{"instance_id": "cri-bjtgt01", "region": "cn-beijing"}]}, f"{_A0}.targets[0].instance_id",
     "listed twice"),
    ({"targets": [{"instance_id": "cri-fin01", "region": "cn-shanghai-finance-1"}]}, f"{_A0}.targets[0].region",
     "finance/government"),
    ({"targets": [{"instance_id": "cri-p", "region": "cn-shanghai", "repository": "x"}]},
     f"{_A0}.targets[0].repository", "exactly one source repository"),
    ({"role": "x"}, f"{_A0}.role", "unknown key"),
])
def test_each_bad_field_is_named(change: dict[str, Any], field: str, words: str) -> None:
    doc = _doc()
    doc["acr_rules"][0]["accounts"][0].update(change)
    err = _error(doc)
    assert err.field == field and words in err.message, (err.field, err.message)


def test_an_account_listed_twice_is_named() -> None:
    doc = _doc()
    doc["acr_rules"][0]["accounts"].append({"account_id": PARTNER,
                                            "targets": [{"instance_id": "cri-p3", "region": "cn-beijing"}]})
    err = _error(doc)
    assert (err.field, "listed twice" in err.message) == ("acr_rules[0].accounts[1].account_id", True)


def test_an_account_target_is_a_destination_for_the_graph_rules() -> None:
    doc = _doc()
    doc["acr_rules"].append({"name": "api", "source": {"instance_id": "cri-partner01", "region": "cn-shanghai"},
                             "targets": [{"instance_id": "cri-x", "region": "cn-beijing"}]})
    err = _error(doc)
    assert err.field == f"{_A0}.targets[0].instance_id" and "cannot be a source elsewhere" in err.message


def test_the_source_account_itself_is_never_a_target() -> None:
    rules = load_policy(BASE).acr_rules
    assert account_target_problems(rules, OTHER) == []
    (problem,) = account_target_problems(rules, PARTNER)
    assert problem.startswith(f"{_A0}.account_id: {PARTNER} is the source account itself")
