"""Policy loading: the documented example loads; every invalid case names its exact field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shared.errors import ConfigError
from shared.policy import CopyRule, ImageMatch, Policy, load_policy

EXAMPLE = """
copy_rules:
  - name: web
    source_regions: [cn-hangzhou]
    match: {name_regex: "^app-", tags: {team: web}}   # every given condition must hold
    target_regions: [cn-beijing, ap-southeast-1]
    encrypt: {cn-beijing: key-bj-1}                  # target region -> KMS key id
    name_template: "{name}-{target_region}"          # optional
"""


def _rule(**changes: object) -> dict[str, object]:
    base: dict[str, object] = yaml.safe_load(EXAMPLE)["copy_rules"][0]
    base.update(changes)
    return base


def _load_rules(*rules: dict[str, object]) -> Policy:
    return load_policy(yaml.safe_dump({"copy_rules": list(rules)}))


def test_example_loads_from_text_and_file(tmp_path: Path) -> None:
    policy = load_policy(EXAMPLE)
    rule = policy.copy_rules[0]
    assert rule == CopyRule(
        name="web",
        source_regions=["cn-hangzhou"],
        match=ImageMatch(name_regex="^app-", tags={"team": "web"}),
        target_regions=["cn-beijing", "ap-southeast-1"],
        encrypt={"cn-beijing": "key-bj-1"},
    )
    path = tmp_path / "policy.yaml"
    path.write_text(EXAMPLE)
    assert load_policy(str(path)) == policy
    assert load_policy(path) == policy


def test_rules_for_requires_every_condition() -> None:
    policy = load_policy(EXAMPLE)
    assert [r.name for r in policy.rules_for("cn-hangzhou", "app-1", {"team": "web", "x": "y"})] == ["web"]
    assert policy.rules_for("cn-hangzhou", "db-1", {"team": "web"}) == []
    assert policy.rules_for("cn-hangzhou", "app-1", {"team": "db"}) == []
    assert policy.rules_for("cn-hangzhou", "app-1", {}) == []
    assert policy.rules_for("cn-shanghai", "app-1", {"team": "web"}) == []


def test_empty_match_takes_every_image_in_source_region() -> None:
    policy = _load_rules(_rule(match={}))
    assert len(policy.rules_for("cn-hangzhou", "anything", {})) == 1


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n", "copy_rules: []"])
def test_empty_policy_is_allowed(text: str) -> None:
    assert load_policy(text) == Policy(copy_rules=[])


def test_render_name_and_truncation() -> None:
    rule = load_policy(EXAMPLE).copy_rules[0]
    assert rule.render_name("app-1", "m-abc", "cn-hangzhou", "cn-beijing") == "app-1-cn-beijing"
    long = rule.render_name("a" * 200, "m-abc", "cn-hangzhou", "cn-beijing")
    assert len(long) == 128 and long == "a" * 128
    custom = _load_rules(_rule(name_template="{rule}.{image_id}:{source_region}", description_template="copy of {name}"))
    r = custom.copy_rules[0]
    assert r.render_name("x", "m-1", "cn-hangzhou", "cn-beijing") == "web.m-1:cn-hangzhou"
    assert r.render_description("app-1", "m-1", "cn-hangzhou", "cn-beijing") == "copy of app-1"
    assert load_policy(EXAMPLE).copy_rules[0].render_description("a", "m", "s", "t") is None


def test_same_region_target_allowed_only_when_encrypted() -> None:
    policy = _load_rules(_rule(target_regions=["cn-hangzhou"], encrypt={"cn-hangzhou": "key-hz"}))
    assert policy.copy_rules[0].target_regions == ["cn-hangzhou"]
    with pytest.raises(ConfigError) as err:
        _load_rules(_rule(target_regions=["cn-beijing", "cn-hangzhou"]))
    assert err.value.field == "copy_rules[0].target_regions[1]"
    assert "encrypt" in err.value.message


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"name": "Web"}, "copy_rules[0].name", "[a-z0-9]"),
        ({"name": "-web"}, "copy_rules[0].name", "[a-z0-9]"),
        ({"name": "a" * 64}, "copy_rules[0].name", "[a-z0-9]"),
        ({"source_regions": []}, "copy_rules[0].source_regions", "at least 1"),
        ({"source_regions": ["cn-hangzhou", "Bad_Region"]}, "copy_rules[0].source_regions[1]", "not a region"),
        ({"target_regions": []}, "copy_rules[0].target_regions", "at least 1"),
        ({"target_regions": ["cn-beijing", "cn_beijing"]}, "copy_rules[0].target_regions[1]", "not a region"),
        ({"target_regions": ["cn-beijing", "cn-beijing"]}, "copy_rules[0].target_regions[1]", "duplicate"),
        ({"target_regions": "cn-beijing"}, "copy_rules[0].target_regions", "list"),
        ({"encrypt": {"cn-shanghai": "k"}}, "copy_rules[0].encrypt.cn-shanghai", "not one of target_regions"),
        ({"encrypt": {"cn-beijing": " "}}, "copy_rules[0].encrypt.cn-beijing", "empty"),
        ({"match": {"name_regex": "(unclosed"}}, "copy_rules[0].match.name_regex", "invalid regular expression"),
        ({"match": {"name_regex": "a" * 257}}, "copy_rules[0].match.name_regex", "256"),
        ({"match": {"tags": {"team": 5}}}, "copy_rules[0].match.tags.team", "string"),
        ({"match": {"name_rgx": "^a"}}, "copy_rules[0].match.name_rgx", "unknown key"),
        ({"target_region": ["cn-beijing"]}, "copy_rules[0].target_region", "unknown key"),
        ({"name_template": "{name}-{zone}"}, "copy_rules[0].name_template", "{zone}"),
        ({"name_template": "{name!r}"}, "copy_rules[0].name_template", "placeholder"),
        ({"name_template": "{name.upper}"}, "copy_rules[0].name_template", "placeholder"),
        ({"name_template": "1-{name}"}, "copy_rules[0].name_template", "start with a letter"),
        ({"name_template": "{name} copy"}, "copy_rules[0].name_template", "letters, digits"),
        ({"name_template": "x"}, "copy_rules[0].name_template", "shorter than 2"),
        ({"name_template": "{name"}, "copy_rules[0].name_template", "malformed"),
        ({"description_template": "http://{name}"}, "copy_rules[0].description_template", "http"),
    ],
)
def test_invalid_rule_names_exact_field(changes: dict[str, object], field: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load_rules(_rule(**changes))
    assert err.value.field == field
    assert fragment in err.value.message
    assert str(err.value).startswith(field)


def test_duplicate_rule_names() -> None:
    with pytest.raises(ConfigError) as err:
        _load_rules(_rule(), _rule(target_regions=["eu-central-1"], encrypt={}))
    assert err.value.field == "copy_rules[1].name"
    assert "duplicate" in err.value.message


def test_unknown_top_level_key() -> None:
    with pytest.raises(ConfigError) as err:
        load_policy("copy_rule: []")
    assert err.value.field == "copy_rule"


def test_second_rule_error_index() -> None:
    with pytest.raises(ConfigError) as err:
        _load_rules(_rule(), _rule(name="db", target_regions=["cn-beijing", "nope"]))
    assert err.value.field == "copy_rules[1].target_regions[1]"


def test_yaml_syntax_error_has_line_and_column() -> None:
    with pytest.raises(ConfigError) as err:
        load_policy("copy_rules:\n  - name: web\n    source_regions: [cn-hangzhou\n")
    assert err.value.field is None
    assert "line 4" in err.value.message and "column" in err.value.message


def test_yaml_duplicate_key_rejected() -> None:
    with pytest.raises(ConfigError) as err:
        load_policy("copy_rules: []\ncopy_rules: []\n")
    assert "duplicate key 'copy_rules'" in err.value.message and "line 2" in err.value.message


def test_non_mapping_policy() -> None:
    with pytest.raises(ConfigError) as err:
        load_policy("- a\n- b\n")
    assert "mapping" in err.value.message


def test_missing_file_names_env_var(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_policy(str(tmp_path / "missing.yaml"))
    assert err.value.field == "IMAGE_RELAY_POLICY"
