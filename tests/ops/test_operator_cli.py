"""The operator's day (issue 15), in the CLI's own words: exit codes, messages and `--json` shapes."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scripts import sample_world as scene
from scripts.cli import app

runner = CliRunner()
WEB = "m-bp1demoweb0001"
FAILING_POLICY = scene.POLICY_YAML.replace("key-sg-1", "key-sg-missing")  # the Singapore copy fails for good


def cli(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


def error_of(result) -> dict:
    return json.loads(result.stderr.strip().splitlines()[-1])


def failed_world(world):
    world.set_policy(FAILING_POLICY)
    world.invoke("image_created", world.event(WEB))
    return world


def test_version():
    done = cli("--version")
    assert done.exit_code == 0
    assert done.stdout.startswith("image-relay ") and done.stdout.split()[1][0].isdigit()


@pytest.mark.parametrize("relative", ["tour.db", "nonexistent/dir/x.db"])
def test_status_on_a_missing_ledger_exits_2_and_creates_nothing(world, tmp_path, monkeypatch, relative):
    target = tmp_path / "elsewhere" / relative
    for state in (f"sqlite:///{target}", str(target)):
        monkeypatch.setenv("IMAGE_RELAY_STATE", state)
        done = cli("status")
        assert done.exit_code == 2, done.output
        error = error_of(done)
        assert error["field"] == "IMAGE_RELAY_STATE"
        assert error["message"].startswith(f"no ledger at {target}: the ")
        assert not (tmp_path / "elsewhere").exists()


def test_state_and_policy_flags_override_the_environment(world, tmp_path, monkeypatch):
    failed_world(world)
    monkeypatch.setenv("IMAGE_RELAY_STATE", f"sqlite:///{tmp_path / 'not-here.db'}")
    monkeypatch.setenv("IMAGE_RELAY_POLICY", str(tmp_path / "not-here.yml"))
    done = cli("status", "--json", "--state", world.state_url, "--policy", str(world.policy_path))
    assert done.exit_code == 5, done.output
    assert {r["region"] for r in json.loads(done.stdout)["copies"]} == set(scene.TARGETS)
    # the flags also work before the command
    again = cli("--state", world.state_url, "status", "--json")
    assert again.exit_code == 5 and json.loads(again.stdout)["failed"] == 1
    assert not (tmp_path / "not-here.db").exists()


def test_status_shows_a_failure_in_full_with_its_retry_command_and_exits_5(world):
    failed_world(world)
    done = cli("status", "--json")
    assert done.exit_code == 5
    shown = json.loads(done.stdout)
    assert set(shown) == {"copies", "exports", "acr", "accounts", "builds", "failed", "filters"}
    failed = [r for r in shown["copies"] if r["ledger_state"] == "FAILED"]
    assert len(failed) == 1 and shown["failed"] == 1
    row = failed[0]
    assert row["region"] == "ap-southeast-1" and row["state"] == "failed"
    assert "key-sg-missing" in row["reason"] and "will retry" not in row["reason"]
    assert row["detail"] == "will not retry by itself" and row["retries_at"] is None
    assert row["retry_command"] == f"image-relay retry cn-hangzhou {WEB} --target-region ap-southeast-1"
    text = cli("status")
    assert text.exit_code == 5
    assert "needs attention (1)" in text.stdout
    assert f"retry: image-relay retry cn-hangzhou {WEB} --target-region ap-southeast-1" in text.stdout
    assert row["reason"] in " ".join(text.stdout.split())  # the whole reason, never cut
    # the printed command works as written
    world.set_policy(scene.POLICY_YAML)
    retried = cli(*row["retry_command"].split()[1:], "--json")
    assert retried.exit_code == 0, retried.output
    assert [t["target_region"] for t in json.loads(retried.stdout)["targets"]] == ["ap-southeast-1"]
    assert cli("status").exit_code == 0


def test_status_filters(world):
    failed_world(world)
    by_region = json.loads(cli("status", "--json", "--region", "cn-beijing").stdout)
    assert [r["region"] for r in by_region["copies"]] == ["cn-beijing"] and by_region["failed"] == 0
    assert cli("status", "--region", "cn-beijing").exit_code == 0  # nothing failed among what is shown
    only_failed = json.loads(cli("status", "--json", "--failed").stdout)
    assert [r["region"] for r in only_failed["copies"]] == ["ap-southeast-1"]
    running = json.loads(cli("status", "--json", "--state", "running").stdout)
    assert [r["state"] for r in running["copies"]] == ["running"]
    assert json.loads(cli("status", "--json", "--rule", "nope").stdout)["copies"] == []
    bad = cli("status", "--state", "broken", "--state", "/tmp/a.db", "--state", "/tmp/b.db")
    assert bad.exit_code == 2 and error_of(bad)["field"] == "--state"


def test_retry_and_cancel_of_unknown_things_exit_2_naming_them(world):
    failed_world(world)
    unknown_image = cli("retry", "cn-hangzhou", "m-doesnotexist")
    assert unknown_image.exit_code == 2
    assert error_of(unknown_image) | {} == {**error_of(unknown_image), "field": "image_id"}
    assert "m-doesnotexist" in error_of(unknown_image)["message"]
    unknown_region = cli("cancel", "cn-nowhere", "m-nope")
    assert unknown_region.exit_code == 2
    assert error_of(unknown_region)["field"] == "region"
    assert error_of(unknown_region)["message"].startswith("unknown region 'cn-nowhere'")
    typo = cli("retry", "cn-hangzou", WEB)
    assert typo.exit_code == 2 and "did you mean cn-hangzhou?" in error_of(typo)["message"]
    no_target = cli("cancel", "cn-hangzhou", WEB, "--target-region", "cn-shanghai")
    assert no_target.exit_code == 2
    assert error_of(no_target) == {**error_of(no_target), "field": "--target-region",
                                   "message": f"image {WEB} has no copy into cn-shanghai; its targets: "
                                              "ap-southeast-1, cn-beijing"}
    assert world.calls("CancelCopyImage") == []


def test_retry_failed_can_be_widened_to_cancelled_targets(world):
    failed_world(world)
    assert cli("cancel", "cn-hangzhou", WEB, "--target-region", "cn-beijing").exit_code == 0
    only_failed = json.loads(cli("retry", "cn-hangzhou", WEB, "--failed", "--json").stdout)
    assert [t["target_region"] for t in only_failed["targets"]] == ["ap-southeast-1"]
    both = json.loads(cli("retry", "cn-hangzhou", WEB, "--also-cancelled", "--json").stdout)
    assert [t["target_region"] for t in both["targets"]] == ["cn-beijing"]  # the failed one was re-opened above
    assert both["targets"][0]["state"] in ("PENDING", "STARTED")


def test_plan_export_without_export_rules_says_so(world):
    done = cli("plan", "export")
    assert done.exit_code == 0
    assert "no export rules in the policy" in done.stdout
    assert json.loads(cli("plan", "export", "--json").stdout)["status"] == "no_export_rules"
    assert world.calls("ExportImage") == [] and world.calls("DescribeImages") == []


def test_invoke_on_a_terminal_says_what_it_waits_for(world, monkeypatch):
    import sys

    class Tty:
        buffer = type("B", (), {"read": staticmethod(lambda: b"{}")})()

        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty())
    from scripts import cli as module

    said: list[str] = []
    monkeypatch.setattr(module.typer, "echo", lambda text="", err=False, **kw: said.append(f"{err}:{text}"))
    module._read_event("-", "reconcile")
    assert said == ['True:reconcile: reading a timer event such as {"triggerTime": "2026-11-25T01:00:00Z"} or {} '
                    "from stdin; end with Ctrl-D (or pass --event FILE)"]


def test_cleanup_explains_disabled_and_refused(world):
    off = cli("cleanup")
    assert off.exit_code == 0
    assert "cleanup is off: the policy has no cleanup: section" in off.stdout
    world.set_policy(scene.POLICY_YAML + "cleanup: {template_scratch: {min_age_hours: 1}, max_deletions: 1}\n")
    world.emu.control.seed({"images": [
        {"region": "cn-hangzhou", "image_id": f"m-bp1scratch{i}", "name": f"TemplateScratch-{i}",
         "creation_time": "2020-01-01T00:00:00Z"} for i in range(3)]})
    refused = cli("cleanup")
    assert refused.exit_code == 4
    lines = refused.stdout.splitlines()
    assert lines[0] == "REFUSED: cleanup would delete 3 image(s), above max_deletions 1; nothing was deleted"
    assert lines[1].startswith("  would delete 3 of ")
    assert "would_delete" not in refused.stdout and refused.stdout.count("refused") >= 3
    assert world.calls("DeleteImage") == []


def test_a_small_first_cleanup_run_is_not_refused_by_the_share(world):
    world.set_policy(scene.POLICY_YAML + "cleanup: {template_scratch: {min_age_hours: 1}}\n")  # default limits
    world.emu.control.seed({"images": [
        {"region": "cn-hangzhou", "image_id": f"m-bp1scratch{i}", "name": f"TemplateScratch-{i}",
         "creation_time": "2020-01-01T00:00:00Z"} for i in range(2)]})
    done = cli("cleanup", "--json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert result["status"] == "planned" and result["counts"]["planned_delete"] == 2


@pytest.mark.parametrize("args", [
    ("status",), ("plan", "reconcile"), ("plan", "export"), ("cleanup",), ("validate-policy",), ("schema",),
    ("retry", "cn-hangzhou", WEB), ("cancel", "cn-hangzhou", WEB), ("invoke", "reconcile"),
])
def test_every_command_has_json(world, args):
    failed_world(world)
    done = cli(*args, "--json", stdin="{}")
    assert done.exit_code in (0, 5), done.output
    assert isinstance(json.loads(done.stdout), dict)


def test_schema_describes_the_policy(world):
    schema = json.loads(cli("schema").stdout)
    assert schema["$schema"].endswith("2020-12/schema")
    assert set(schema["properties"]) >= {"copy_rules", "export_rules", "acr_rules", "cleanup", "windows"}


def test_validate_policy_lists_every_problem_with_its_position(world, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("copy_rules:\n  - name: web\n    source_regions: [cn-hangzhou]\n"
                   "    target_regions: [cn-beijng, ap-southeast-1]\n    priority: 99\n    colour: blue\n")
    done = cli("validate-policy", str(bad), "--json")
    assert done.exit_code == 2
    assert json.loads(done.stdout)["errors"] == [
        {"field": "copy_rules[0].target_regions[0]", "message": "unknown region 'cn-beijng'; did you mean cn-beijing?",
         "line": 4, "column": 22},
        {"field": "copy_rules[0].priority", "message": "Input should be less than or equal to 10", "line": 5,
         "column": 15},
        {"field": "copy_rules[0].colour", "message": "unknown key 'colour'", "line": 6, "column": 13},
    ]
    text = cli("validate-policy", str(bad))
    assert f"{bad}:4:22: copy_rules[0].target_regions[0]: unknown region 'cn-beijng'; did you mean cn-beijing?" \
        in text.stdout
    assert "Value error" not in text.output and "3 problem(s)" in text.stdout
    # the flag works in place of the argument
    assert cli("validate-policy", "--policy", str(world.policy_path)).exit_code == 0


def test_missing_credentials_name_every_place_looked_at(tmp_path, monkeypatch):
    from shared.clouds.credentials import resolve_credentials
    from shared.errors import ConfigError

    monkeypatch.setenv("HOME", str(tmp_path))
    env = {"ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"}
    with pytest.raises(ConfigError) as info:
        resolve_credentials(None, env=env)
    assert info.value.field == "credentials"
    message = info.value.message
    assert message.startswith("no Alibaba Cloud credentials found. Looked for: inside a function: FC's context")
    for words in ("ALIBABA_CLOUD_ACCESS_KEY_ID", f"{tmp_path}/.aliyun/config.json", "aliyun configure",
                  "--profile or ALIBABA_CLOUD_PROFILE"):
        assert words in message


def test_an_aliyun_cli_profile_signs_real_calls(world, tmp_path, monkeypatch):
    from shared.clouds.credentials import resolve_credentials
    from shared.clouds.ecs import EcsGateway

    (tmp_path / ".aliyun").mkdir()
    (tmp_path / ".aliyun" / "config.json").write_text(json.dumps({"current": "default", "profiles": [
        {"name": "default", "mode": "AK", "access_key_id": "wrong", "access_key_secret": "wrong"},
        {"name": "emu", "mode": "AK", "access_key_id": "test-ak", "access_key_secret": "test-secret"}]}))
    monkeypatch.setenv("HOME", str(tmp_path))
    env = {"ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"}
    assert resolve_credentials(None, env=env).access_key_id == "wrong"  # the file's current profile
    chosen = resolve_credentials(None, env={**env, "ALIBABA_CLOUD_PROFILE": "emu"})
    assert chosen.access_key_id == "test-ak"
    assert resolve_credentials(None, profile="emu", env=env).access_key_id == "test-ak"  # --profile
    images = EcsGateway.connect(chosen, endpoint=world.emu.url).list_images("cn-hangzhou")
    assert WEB in {i.image_id for i in images}
    # FC's context comes first inside a function
    from shared.runtime import FCCredentials, make_local_context

    ctx = make_local_context("reconcile", credentials=FCCredentials("fc-ak", "fc-secret", "fc-token"))
    assert resolve_credentials(ctx, profile="emu", env=env).access_key_id == "fc-ak"
    assert os.environ.get("ALIBABA_CLOUD_PROFILE") is None or Path.home() == tmp_path
