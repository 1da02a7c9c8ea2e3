"""`image-relay build`, `cancel --build` and `status` for builds (issue #14), through the CLI, the official ECS SDK
and the emulator: a dry run starts nothing; a repeated build of the same slot starts one build; a cancel ends
the running build CANCELLED; bad input exits 2 naming the field and calls nothing."""
from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from scripts import sample_world as scene
from scripts.cli import app

runner = CliRunner()
R = scene.SOURCE
POLICY = """
build_rules:
  - name: golden
    pipeline: {region: cn-hangzhou, name: golden-base}
"""


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def error_of(result: Any) -> dict[str, Any]:
    return json.loads(result.stderr.strip().splitlines()[-1])


@pytest.fixture
def bworld(world: Any) -> Any:
    world.emu.control.seed({"image_pipelines": [
        {"region": R, "pipeline_id": "ip-gold", "name": "golden-base", "base_image": "m-bp1demoweb0001",
         "image_name": "golden"}]})
    world.set_policy(POLICY)
    world.ledger().get("build/x")  # the ledger file exists, as a deployment's does
    return world


def starts(world: Any) -> list[dict[str, Any]]:
    return world.calls("StartImagePipelineExecution", 200)


def test_a_dry_run_says_what_would_start_and_starts_nothing(bworld: Any) -> None:
    done = cli("build", "golden", "--dry-run", "--slot", "2026-11-25T02:00Z", "--json")
    assert done.exit_code == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["would"] == "record the slot and start a build (StartImagePipelineExecution)"
    assert (shown["pipeline_id"], shown["key"]) == ("ip-gold", "build/cn-hangzhou/name:golden-base/2026-11-25T02:00Z")
    assert starts(bworld) == [] and list(bworld.ledger().scan("build/")) == []


def test_the_same_slot_twice_starts_one_build_and_status_shows_its_stage(bworld: Any) -> None:
    first = cli("build", "golden", "--slot", "2026-11-25T02:00Z", "--json")
    again = cli("build", "golden", "--slot", "2026-11-25T02:00Z", "--json")
    assert first.exit_code == 0 and again.exit_code == 0, (first.stderr, again.stderr)
    assert json.loads(first.stdout)["build"]["state"] == "STARTED"
    assert len(starts(bworld)) == 1
    [record] = bworld.ledger().scan("build/")
    assert json.loads(again.stdout)["build"]["execution_id"] == record.cloud_id
    # a dry run of the same slot now says it is recorded; another slot waits for the busy template
    assert json.loads(cli("build", "golden", "--dry-run", "--slot", "2026-11-25T02:00Z", "--json").stdout)[
        "would"] == "nothing: this slot is already recorded (STARTED)"
    busy = json.loads(cli("build", "golden", "--dry-run", "--slot", "2026-11-25T03:00Z", "--json").stdout)
    assert busy["would"].startswith("record the slot and wait: the template is busy") and busy["busy_with"] == [
        record.cloud_id]
    status = json.loads(cli("status", "--json").stdout)
    [row] = status["builds"]
    assert (row["rule"], row["stage"], row["state"], row["execution_id"]) == (
        "golden", "PREPARING", "running", record.cloud_id)


def test_cancel_ends_the_running_build_cancelled(bworld: Any) -> None:
    cli("build", "golden", "--slot", "2026-11-25T02:00Z")
    done = cli("cancel", "--build", "golden", "--json")
    assert done.exit_code == 0, done.stderr
    [record] = bworld.ledger().scan("build/")
    assert json.loads(done.stdout)["builds"][0]["stage"] == "CANCELLING"
    assert [c["params"]["ExecutionId"] for c in bworld.calls("CancelImagePipelineExecution", 200)] == [
        record.cloud_id]
    bworld.emu.control.advance(120)
    bworld.tick()
    [record] = bworld.ledger().scan("build/")
    assert (record.state.value, record.data["stage"]) == ("CANCELLED", "CANCELLED")
    assert record.reason == "CANCELLED: the build was cancelled; nothing handed on"


@pytest.mark.parametrize(
    "args, field, fragment",
    [
        (("build", "nightly"), "rule", "no build rule named 'nightly' (known: golden)"),
        (("build", "golden", "--slot", "yesterday"), "--slot", "not an ISO 8601 time"),
        (("cancel", "--build", "nightly"), "--build", "no build rule named 'nightly'"),
        (("cancel", "--build", "golden"), "--build", "no running or waiting build of 'golden'"),
        (("cancel", "--build", "exec-../x"), "--build", "not an execution id"),
        (("cancel", "cn-hangzhou", "--build", "golden"), "--build", "give no REGION"),
        (("cancel",), "region", "give REGION and IMAGE_ID"),
    ],
)
def test_bad_input_exits_2_naming_the_field_and_calls_nothing(bworld: Any, args: tuple[str, ...], field: str,
                                                               fragment: str) -> None:
    before = len(bworld.calls())
    done = cli(*args)
    assert done.exit_code == 2, (done.stdout, done.stderr)
    error = error_of(done)
    assert error["field"] == field and fragment in error["message"]
    assert len(bworld.calls()) == before and list(bworld.ledger().scan("build/")) == []
