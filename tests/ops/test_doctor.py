"""`image-relay doctor` against the emulator: each problem is named with its fix; a healthy account passes."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from scripts import sample_world as scene
from scripts.cli import app
from scripts.doctor import allowed

FUNCTION_ROLE = {"name": "image-relay-fc-role", "policies": [{"name": "image-relay-adapters", "document": {
    "Version": "1", "Statement": [{"Effect": "Allow", "Action": ["ecs:*", "cr:*", "oss:*", "ess:*", "fc:InvokeFunction",
                                              "eventbridge:PutEvents"],
                                   "Resource": "*"}]}}]}
EXPORT_ROLE = {"name": "AliyunECSImageExportDefaultRole"}


def doctor(*args: str) -> tuple[int, dict]:
    done = CliRunner().invoke(app, ["doctor", "--json", *args])
    return done.exit_code, json.loads(done.stdout)


def by_check(report: dict, check: str) -> list[dict]:
    return [c for c in report["checks"] if c["check"] == check]


def test_a_healthy_account_passes_every_check(world):
    world.set_policy(scene.EXPORT_POLICY_YAML + scene.ACR_POLICY_YAML)
    world.emu.control.seed({**scene.acr_seed(), "ram_roles": [FUNCTION_ROLE, EXPORT_ROLE]})
    code, report = doctor()
    assert code == 0, [c for c in report["checks"] if c["status"] == "problem"]
    assert report["ok"] is True
    assert {c["check"] for c in report["checks"]} >= {"policy", "ledger", "credentials", "region", "kms key",
                                                      "export role", "bucket", "acr source", "acr target",
                                                      "function role"}
    assert all(c["status"] in ("ok", "unchecked") for c in report["checks"])
    calls = {c["action"] for c in world.calls()}
    assert calls <= {"DescribeRegions", "DescribeKey", "GetRole", "ListPoliciesForRole", "GetPolicy",
                     "GetBucketLocation", "GetInstance"}  # read-only


def test_a_missing_kms_key_is_a_problem_with_its_fix(world):
    world.set_policy(scene.POLICY_YAML.replace("key-sg-1", "key-sg-missing"))
    world.emu.control.seed({"ram_roles": [FUNCTION_ROLE]})
    code, report = doctor()
    assert code == 5 and report["ok"] is False
    [kms] = [c for c in by_check(report, "kms key") if c["status"] == "problem"]
    assert kms["subject"] == "key-sg-missing in ap-southeast-1"
    assert kms["detail"] == "the key does not exist (copy_rules[0].encrypt)"
    assert kms["fix"] == ("create a KMS key in ap-southeast-1 and put its id in "
                          "copy_rules[0].encrypt.ap-southeast-1")


def test_a_region_typo_is_a_problem_with_its_fix(world):
    world.set_policy(scene.POLICY_YAML.replace("target_regions: [cn-beijing,", "target_regions: [cn-beijng,"))
    code, report = doctor()
    assert code == 5
    [typo] = [c for c in report["checks"] if c["status"] == "problem"]
    assert typo["check"] == "policy" and typo["subject"] == "copy_rules[0].target_regions[0]"
    assert typo["detail"] == "unknown region 'cn-beijng'; did you mean cn-beijing?"
    assert typo["fix"].startswith("write cn-beijing instead of cn-beijng (line ")
    assert world.calls() == []  # an invalid policy makes no call


def test_a_region_the_account_cannot_use_is_a_problem(world):
    world.set_policy(scene.POLICY_YAML.replace("target_regions: [cn-beijing,", "target_regions: [eu-west-1,")
                     .replace("cn-beijing: key-bj-1", "eu-west-1: key-bj-1"))
    world.emu.control.seed({"regions": ["cn-hangzhou", "cn-beijing", "ap-southeast-1"], "ram_roles": [FUNCTION_ROLE]})
    code, report = doctor()
    assert code == 5
    [region] = [c for c in by_check(report, "region") if c["status"] == "problem"]
    assert region["subject"] == "eu-west-1" and "not a region this account can use" in region["detail"]


def test_a_missing_export_role_and_a_bucket_elsewhere_are_problems_with_fixes(world):
    world.set_policy(scene.EXPORT_POLICY_YAML)
    world.emu.control.seed({"ram_roles": [FUNCTION_ROLE],
                            "buckets": [{"region": "cn-beijing", "name": "relay-exports-hz"}]})
    code, report = doctor()
    assert code == 5
    [role] = by_check(report, "export role")
    assert (role["subject"], role["status"]) == ("AliyunECSImageExportDefaultRole", "problem")
    assert role["fix"].startswith("authorize ECS once: RAM console > Roles > create AliyunECSImageExportDefaultRole")
    [bucket] = by_check(report, "bucket")
    assert bucket["status"] == "problem" and bucket["fix"] == "use a bucket in cn-hangzhou"
    assert "is in cn-beijing" in bucket["detail"]


def test_the_function_role_must_allow_every_action_the_code_calls(world):
    narrow = {"name": "image-relay-fc-role", "policies": [{"name": "p", "document": {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": ["ecs:Describe*", "cr:*", "oss:*"], "Resource": "*"}]}}]}
    world.emu.control.seed({"ram_roles": [narrow]})
    code, report = doctor()
    assert code == 5
    [role] = by_check(report, "function role")
    assert role["status"] == "problem" and "ecs:CopyImage" in role["detail"] and "ecs:DescribeImages" not in role["detail"]
    missing_role = doctor("--role", "nope")[1]
    assert by_check(missing_role, "function role")[0]["detail"] == "the role does not exist"


def test_allowed_reads_wildcards_and_deny():
    docs = [{"Statement": [{"Effect": "Allow", "Action": "ecs:*"}, {"Effect": "Deny", "Action": ["ecs:DeleteImage"]}]}]
    assert allowed(docs, "ecs:CopyImage") and not allowed(docs, "ecs:DeleteImage") and not allowed(docs, "cr:GetInstance")


def test_doctor_prints_problems_and_fixes_for_people(world):
    world.set_policy(scene.POLICY_YAML.replace("key-sg-1", "key-sg-missing"))
    done = CliRunner().invoke(app, ["doctor"])
    assert done.exit_code == 5
    assert "PROBLEM  kms key key-sg-missing in ap-southeast-1: the key does not exist" in done.stdout
    assert "fix: create a KMS key in ap-southeast-1" in done.stdout
