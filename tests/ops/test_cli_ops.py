"""Every operations command of the CLI, through typer's runner, against the emulator."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from scripts import sample_world as scene
from scripts.cli import app

runner = CliRunner()
WEB = "m-bp1demoweb0001"


def cli(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


def test_plan_reconcile_lists_actions_without_doing_them(world):
    done = cli("plan", "reconcile", "--json")
    assert done.exit_code == 0, done.output
    plan = json.loads(done.stdout)
    assert plan["status"] == "planned"
    assert {a["action"] for a in plan["actions"]} == {"RecordIntent"}
    assert world.calls("CopyImage") == [] and list(world.ledger().scan("copy/")) == []


def test_plan_event_says_what_would_happen(world, tmp_path):
    event = tmp_path / "event.json"
    event.write_bytes(world.event(WEB))
    done = cli("plan", "event", "--event", str(event), "--json")
    assert done.exit_code == 0, done.output
    plan = json.loads(done.stdout)
    assert {t["target_region"] for t in plan["targets"]} == set(scene.TARGETS)
    assert all("start the copy" in t["would"] for t in plan["targets"])
    assert world.calls("CopyImage") == []
    missing = cli("plan", "event")
    assert missing.exit_code == 2


def test_plan_export_is_a_dry_run(world):
    world.set_policy(scene.EXPORT_POLICY_YAML)
    done = cli("plan", "export", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["dry_run"] is True
    assert world.calls("ExportImage") == []


def test_cancel_and_retry_failed(world):
    world.set_policy(scene.POLICY_YAML.replace("key-sg-1", "key-sg-missing"))
    world.invoke("image_created", world.event(WEB))
    retry = cli("retry", "cn-hangzhou", WEB, "--failed", "--json")
    assert retry.exit_code == 0, retry.output
    assert [t["target_region"] for t in json.loads(retry.stdout)["targets"]] == ["ap-southeast-1"]
    cancel = cli("cancel", "cn-hangzhou", WEB, "--target-region", "cn-beijing")
    assert cancel.exit_code == 0, cancel.output
    assert "cancelled" in cancel.stdout
    assert len(world.calls("CancelCopyImage", 200)) == 1


def test_backfill_is_a_dry_run_by_default(world):
    world.set_policy(scene.ACR_POLICY_YAML)
    world.emu.control.seed(scene.acr_seed())
    done = cli("backfill", "web", "--json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert result["dry_run"] is True and result["to_replicate"] == 6
    assert world.calls("CreateRepoSyncTask") == []
    applied = cli("backfill", "web", "--apply", "--json")
    assert json.loads(applied.stdout)["started_now"] == 6


def test_cleanup_dry_run_by_default_and_refusal_exit_code(world):
    world.set_policy(scene.POLICY_YAML + "cleanup: {template_scratch: {min_age_hours: 1}, max_deletions: 1, "
                                         "max_share: 1.0}\n")
    world.emu.control.seed({"images": [
        {"region": "cn-hangzhou", "image_id": f"m-bp1scratch{i}", "name": f"TemplateScratch-{i}",
         "creation_time": "2020-01-01T00:00:00Z"} for i in range(3)]})
    done = cli("cleanup", "--json")
    assert done.exit_code == 4, done.output  # 3 deletions > max_deletions 1: refused before any call
    assert json.loads(done.stdout)["status"] == "refused"
    assert world.calls("DeleteImage") == []


def test_bad_input_exit_code_and_field(world):
    done = cli("cancel", "Hangzhou!", WEB)
    assert done.exit_code == 2
    assert json.loads(done.stderr if hasattr(done, "stderr") and done.stderr else done.output)["field"] == "region"
