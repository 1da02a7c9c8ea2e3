"""Policy acr_rules: the example loads; every invalid case names its exact field and the rule(s)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from shared.errors import ConfigError
from shared.policy import AcrInstanceRef, AcrRule, AcrTarget, Policy, TagFilter, load_policy

EXAMPLE = r"""
windows:
  - {name: night, start: "01:00", end: "05:00", timezone: Asia/Shanghai}
acr_rules:
  - name: web
    source: {instance_id: cri-hzsrc01, region: cn-hangzhou}
    namespaces: [web]                 # optional: every namespace when absent
    repositories: [frontend]          # optional: every repository when absent
    tags: {include: '^v\d+\.\d+\.\d+$', exclude: '-rc'}   # both optional
    targets:
      - {instance_id: cri-bjtgt01, region: cn-beijing}
      - {instance_id: cri-sgtgt01, region: ap-southeast-1, namespace: mirror}
    override: false
"""


def _doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(EXAMPLE)
    return doc


def _load(doc: dict[str, Any]) -> Policy:
    return load_policy(yaml.safe_dump(doc))


def _rule(**changes: object) -> dict[str, Any]:
    doc = _doc()
    doc["acr_rules"][0].update(changes)
    return doc


def _second(**changes: object) -> dict[str, Any]:
    """The example plus a second, valid rule ``api`` (own source and target), then ``changes``."""
    doc = _doc()
    doc["acr_rules"].append(
        {"name": "api", "source": {"instance_id": "cri-hzapi01", "region": "cn-hangzhou"},
         "targets": [{"instance_id": "cri-shtgt01", "region": "cn-shanghai"}]}
    )
    doc["acr_rules"][1].update(changes)
    return doc


def _error(doc: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        _load(doc)
    return err.value


def test_example_loads() -> None:
    policy = load_policy(EXAMPLE)
    assert policy.acr_rules == [
        AcrRule(
            name="web",
            source=AcrInstanceRef(instance_id="cri-hzsrc01", region="cn-hangzhou"),
            namespaces=["web"],
            repositories=["frontend"],
            tags=TagFilter(include=r"^v\d+\.\d+\.\d+$", exclude="-rc"),
            targets=[
                AcrTarget(instance_id="cri-bjtgt01", region="cn-beijing"),
                AcrTarget(instance_id="cri-sgtgt01", region="ap-southeast-1", namespace="mirror"),
            ],
        )
    ]
    rule = policy.acr_rules[0]
    assert rule.override is False and rule.window is None
    assert policy.copy_rules == [] and policy.export_rules == []
    assert policy.acr_rules_for("cri-hzsrc01", "web", "frontend", "v1.2.3") == [rule]


def test_minimal_rule_defaults() -> None:
    doc = {"acr_rules": [{"name": "all", "source": {"instance_id": "cri-a1", "region": "cn-hangzhou"},
                          "targets": [{"instance_id": "cri-b1", "region": "cn-hangzhou"}]}]}
    rule = _load(doc).acr_rules[0]  # same region, other instance: allowed
    assert (rule.namespaces, rule.repositories, rule.tags, rule.override, rule.window) == (
        None, None, TagFilter(), False, None)
    assert rule.matches("cri-a1", "any", "thing", "latest")
    assert not rule.matches("cri-b1", "any", "thing", "latest")


def test_empty_policy_has_no_acr_rules() -> None:
    assert load_policy("").acr_rules == []
    assert load_policy("acr_rules: []").acr_rules_for("cri-a1", "ns", "repo", "v1") == []


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("v1.2.3", True), ("v10.20.30", True), ("v1.2.3-rc1", False), ("v1.2.3-rc", False),
     ("1.2.3", False), ("v1.2", False), ("latest", False), ("v1.2.3.4", False)],
)
def test_tag_filter_semver_included_rc_excluded(tag: str, expected: bool) -> None:
    rule = load_policy(EXAMPLE).acr_rules[0]
    assert rule.tags.matches(tag) is expected
    assert rule.matches("cri-hzsrc01", "web", "frontend", tag) is expected


def test_tag_filter_each_side_alone_and_search_semantics() -> None:
    assert TagFilter().matches("anything")
    assert TagFilter(include="rc").matches("v1-rc2")  # re.search: anywhere in the tag
    assert not TagFilter(include="^rc").matches("v1-rc2")
    assert TagFilter(exclude="-rc").matches("v1.0.0")
    assert not TagFilter(exclude="-rc").matches("v1.0.0-rc.1")
    assert not TagFilter(include="^v", exclude="-rc").matches("v1-rc1")


def test_tag_filter_compiled_once() -> None:
    f = TagFilter(include="^v", exclude="-rc")
    assert f._include is not None and f._include.pattern == "^v"
    assert f._exclude is not None and f._exclude.pattern == "-rc"
    assert f._include is f._include  # kept, not recompiled per call
    assert TagFilter(include="^v") == TagFilter(include="^v")


def test_matches_filters_instance_namespace_repository() -> None:
    rule = load_policy(EXAMPLE).acr_rules[0]
    assert not rule.matches("cri-other01", "web", "frontend", "v1.2.3")
    assert not rule.matches("cri-hzsrc01", "api", "frontend", "v1.2.3")
    assert not rule.matches("cri-hzsrc01", "web", "backend", "v1.2.3")
    every_repo = _load(_rule(repositories=None, targets=[{"instance_id": "cri-bjtgt01", "region": "cn-beijing"}]))
    assert every_repo.acr_rules_for("cri-hzsrc01", "web", "backend", "v2.0.0") == every_repo.acr_rules


def test_acr_rules_for_keeps_order_and_several_rules_share_a_source() -> None:
    doc = _second(source={"instance_id": "cri-hzsrc01", "region": "cn-hangzhou"}, tags={"include": "^v"})
    policy = _load(doc)
    assert [r.name for r in policy.acr_rules_for("cri-hzsrc01", "web", "frontend", "v1.2.3")] == ["web", "api"]
    assert [r.name for r in policy.acr_rules_for("cri-hzsrc01", "other", "repo", "v9")] == ["api"]


def test_target_names_applies_renames() -> None:
    rule = load_policy(EXAMPLE).acr_rules[0]
    beijing, singapore = rule.targets
    assert rule.target_names("web", "frontend", beijing) == ("web", "frontend")
    assert rule.target_names("web", "frontend", singapore) == ("mirror", "frontend")
    doc = _rule(targets=[{"instance_id": "cri-bjtgt01", "region": "cn-beijing",
                          "namespace": "mirror", "repository": "fe"}])
    renamed = _load(doc).acr_rules[0]
    assert renamed.target_names("web", "frontend", renamed.targets[0]) == ("mirror", "fe")
    with pytest.raises(ValueError, match="not a target of acr rule 'web'"):
        rule.target_names("web", "frontend", AcrTarget(instance_id="cri-zz01", region="cn-beijing"))


def test_window_reference() -> None:
    assert _load(_rule(window="night")).acr_rules[0].window == "night"
    err = _error(_rule(window="day"))
    assert err.field == "acr_rules[0].window"
    assert "unknown window 'day'" in err.message and "'web'" in err.message


def test_public_api_importable_from_shared_policy() -> None:
    from shared import policy

    for name in ("Policy", "AcrRule", "load_policy", "AcrTarget", "AcrInstanceRef", "TagFilter"):
        assert name in policy.__all__


_T0 = "acr_rules[0].targets[0]"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        # a target in the source's own instance
        ({"targets": [{"instance_id": "cri-hzsrc01", "region": "cn-hangzhou"}]}, f"{_T0}.instance_id",
         "source instance itself"),
        # the same target twice in one rule
        ({"targets": [{"instance_id": "cri-bjtgt01", "region": "cn-beijing"},
                      {"instance_id": "cri-bjtgt01", "region": "cn-beijing"}]},
         "acr_rules[0].targets[1].instance_id", "listed twice"),
        # public region into finance / government regions
        ({"targets": [{"instance_id": "cri-fin01", "region": "cn-shanghai-finance-1"}]}, f"{_T0}.region",
         "finance/government"),
        ({"targets": [{"instance_id": "cri-gov01", "region": "cn-north-2-gov-1"}]}, f"{_T0}.region",
         "finance/government"),
        # renames that would merge repositories
        ({"namespaces": None}, "acr_rules[0].targets[1].namespace", "exactly one source namespace"),
        ({"namespaces": ["web", "api"]}, "acr_rules[0].targets[1].namespace", "exactly one source namespace"),
        ({"repositories": None, "targets": [{"instance_id": "cri-bjtgt01", "region": "cn-beijing",
                                             "repository": "fe"}]},
         f"{_T0}.repository", "exactly one source repository"),
        # names, ids, regions, regexes
        ({"name": "Web_1"}, "acr_rules[0].name", "must match"),
        ({"source": {"instance_id": "i-hzsrc01", "region": "cn-hangzhou"}}, "acr_rules[0].source.instance_id",
         "not an ACR instance id"),
        ({"source": {"instance_id": "cri-hzsrc01", "region": "Hangzhou"}}, "acr_rules[0].source.region",
         "not a region id"),
        ({"targets": [{"instance_id": "CRI-X", "region": "cn-beijing"}]}, f"{_T0}.instance_id",
         "not an ACR instance id"),
        ({"targets": [{"instance_id": "cri-bjtgt01", "region": "beijing"}]}, f"{_T0}.region", "not a region id"),
        ({"targets": [{"instance_id": "cri-bjtgt01", "region": "cn-beijing", "namespace": "Mirror/x"}]},
         f"{_T0}.namespace", "not a namespace/repository name"),
        ({"tags": {"include": "("}}, "acr_rules[0].tags.include", "invalid regular expression"),
        ({"tags": {"exclude": "[a-"}}, "acr_rules[0].tags.exclude", "invalid regular expression"),
        ({"tags": {"include": "a" * 257}}, "acr_rules[0].tags.include", "at most 256"),
        ({"namespaces": ["web", "web"]}, "acr_rules[0].namespaces[1]", "duplicate namespace 'web'"),
        ({"repositories": ["a", "b", "a"]}, "acr_rules[0].repositories[2]", "duplicate repository 'a'"),
        ({"repositories": []}, "acr_rules[0].repositories", "at least 1"),
        ({"namespaces": ["BAD NS"]}, "acr_rules[0].namespaces[0]", "not a namespace/repository name"),
        # structure
        ({"targets": []}, "acr_rules[0].targets", "at least 1"),
        ({"target": []}, "acr_rules[0].target", "unknown key 'target'"),
        ({"source": {"instance_id": "cri-hzsrc01", "region": "cn-hangzhou", "namespace": "x"}},
         "acr_rules[0].source.namespace", "unknown key 'namespace'"),
        ({"tags": {"include": "^v", "excludes": "-rc"}}, "acr_rules[0].tags.excludes", "unknown key"),
        ({"override": "yes"}, "acr_rules[0].override", "valid boolean"),
        ({"namespaces": "web"}, "acr_rules[0].namespaces", "valid list"),
    ],
)
def test_invalid_rule_names_field_and_rule(changes: dict[str, Any], field: str, words: str) -> None:
    doc = _rule(**changes)
    for key, value in changes.items():
        if value is None:
            del doc["acr_rules"][0][key]
    err = _error(doc)
    assert err.field == field
    assert words in err.message
    label = "'Web_1'" if changes.get("name") == "Web_1" else "'web'"
    assert label in err.message, err.message


def test_missing_keys_name_field_and_rule() -> None:
    for key in ("name", "source", "targets"):
        doc = _doc()
        del doc["acr_rules"][0][key]
        err = _error(doc)
        assert err.field == f"acr_rules[0].{key}"
        assert ("'web'" if key != "name" else "#0") in err.message


def test_finance_to_finance_is_allowed() -> None:
    doc = _rule(source={"instance_id": "cri-hzsrc01", "region": "cn-shanghai-finance-1"},
                targets=[{"instance_id": "cri-szfin01", "region": "cn-shenzhen-finance-1"}])
    assert _load(doc).acr_rules[0].targets[0].region == "cn-shenzhen-finance-1"


def test_same_region_other_instance_is_allowed() -> None:
    doc = _rule(targets=[{"instance_id": "cri-hzdr01", "region": "cn-hangzhou"}])
    assert _load(doc).acr_rules[0].targets[0].instance_id == "cri-hzdr01"


def test_duplicate_rule_names() -> None:
    err = _error(_second(name="web"))
    assert err.field == "acr_rules[1].name"
    assert "duplicate rule name 'web'" in err.message


def test_destination_is_a_source_in_another_rule() -> None:
    # web replicates to cri-bjtgt01; api uses cri-bjtgt01 as its source
    err = _error(_second(source={"instance_id": "cri-bjtgt01", "region": "cn-beijing"}))
    assert err.field == "acr_rules[0].targets[0].instance_id"
    assert "'web'" in err.message and "'api'" in err.message and "source" in err.message


def test_destination_is_a_source_in_an_earlier_rule() -> None:
    # api (second) replicates into cri-hzsrc01, the source of web (first)
    err = _error(_second(targets=[{"instance_id": "cri-hzsrc01", "region": "cn-hangzhou"}]))
    assert err.field == "acr_rules[1].targets[0].instance_id"
    assert "'web'" in err.message and "'api'" in err.message


def test_destination_is_a_destination_in_another_rule() -> None:
    doc = _second(targets=[{"instance_id": "cri-shtgt01", "region": "cn-shanghai"},
                           {"instance_id": "cri-sgtgt01", "region": "ap-southeast-1"}])
    err = _error(doc)
    assert err.field == "acr_rules[1].targets[1].instance_id"
    assert "'web'" in err.message and "'api'" in err.message and "destination elsewhere" in err.message


def test_one_source_instance_in_two_regions() -> None:
    err = _error(_second(source={"instance_id": "cri-hzsrc01", "region": "cn-shanghai"}))
    assert err.field == "acr_rules[1].source.region"
    assert "'web'" in err.message and "'api'" in err.message


def test_error_in_second_rule_names_that_rule() -> None:
    err = _error(_second(tags={"include": "("}))
    assert err.field == "acr_rules[1].tags.include"
    assert "'api'" in err.message


def test_acr_rules_must_be_a_list() -> None:
    err = _error({"acr_rules": {"name": "web"}})
    assert err.field == "acr_rules"


def test_models_are_frozen() -> None:
    rule = load_policy(EXAMPLE).acr_rules[0]
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance ValidationError
        rule.override = True  # type: ignore[misc]


def test_example_is_not_mutated_by_helpers() -> None:
    before = copy.deepcopy(_doc())
    _rule(name="x")
    assert _doc() == before
