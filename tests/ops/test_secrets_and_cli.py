"""No secret reaches a log line, an output or an error; the CLI's exit codes and outputs."""
from __future__ import annotations

import io
import json

import pytest

from scripts import sample_world as scene
from shared.logs import configure_logging
from shared.runtime import FCCredentials, make_local_context
from tests.cli import cli_env as _env
from tests.cli import run_cli as _cli

SECRET = "Zq9sEcReT-never-print-me-4d1f"
TOKEN = "CAIS-sts-token-never-print-me-8c2e"
WEB = "m-bp1demoweb0001"


def test_no_secret_in_any_log_line_output_or_error(world):
    # GIVEN the emulator knows an extra key pair and the FC context carries its STS triple
    world.emu.control.seed({**scene.seed(), "access_keys": [{"id": "STS.ops-ak", "secret": SECRET}]})
    buf = io.StringIO()
    configure_logging("DEBUG", stream=buf)
    try:
        ctx = make_local_context("image_created", credentials=FCCredentials("STS.ops-ak", SECRET, TOKEN))
        # WHEN a full lifecycle runs, including throttling and an error path
        out = [world.invoke("image_created", world.event(WEB), context=ctx)]
        world.emu.control.set_faults(throttle_rate=0.5, seed=1)
        ctx_r = make_local_context("reconcile", credentials=FCCredentials("STS.ops-ak", SECRET, TOKEN))
        for _ in range(3):
            out.append(world.invoke("reconcile", scene.timer_event(), context=ctx_r))
            world.emu.control.advance(120)
        world.emu.control.set_faults()
        bad = make_local_context("reconcile", credentials=FCCredentials("STS.ops-ak", "wrong-" + SECRET, TOKEN))
        with pytest.raises(Exception) as info:
            world.invoke("image_created", world.event(WEB, event_id="e-bad-key"), context=bad)
    finally:
        configure_logging("INFO")
    lines = [json.loads(line) for line in buf.getvalue().splitlines()]
    # THEN the run did log, and called the emulator with those credentials
    assert lines and any(line["message"] == "copy.started" for line in lines)
    assert any(c["action"] == "CopyImage" and c["status"] == 200 for c in world.calls())
    # AND neither secret nor token appears anywhere
    blob = buf.getvalue() + json.dumps(out) + str(info.value) + repr(info.value) + repr(ctx)
    assert SECRET not in blob and TOKEN not in blob
    assert info.value.code == "SignatureDoesNotMatch"


def test_cli_invoke_reads_an_event_file_and_prints_the_summary(world, tmp_path):
    event = tmp_path / "event.json"
    event.write_bytes(world.event(WEB))
    done = _cli("invoke", "image_created", "--event", str(event), env=_env(world))
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "accepted"
    assert len(summary["targets"]) == 2


def test_cli_invoke_reads_stdin_for_reconcile(world):
    done = _cli("invoke", "reconcile", "--event", "-", stdin=b"{}", env=_env(world))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "ok"


def test_cli_bad_event_exits_2_with_the_field(world):
    done = _cli("invoke", "image_created", "--event", "-", stdin=b'{"action": "replicate"}', env=_env(world))
    assert done.returncode == 2
    error = json.loads(done.stderr.decode().strip().splitlines()[-1])
    assert error["error"] == "EventValidationError"
    assert error["field"] == "region"
    assert world.calls() == []


def test_cli_unknown_function_exits_2(world):
    done = _cli("invoke", "nope", "--event", "-", stdin=b"{}", env=_env(world))
    assert done.returncode == 2
    assert json.loads(done.stderr)["field"] == "function"


def test_cli_validate_policy(world, tmp_path):
    ok = _cli("validate-policy", str(world.policy_path), "--json", env=_env(world))
    assert ok.returncode == 0 and json.loads(ok.stdout) == {
        "file": str(world.policy_path), "valid": True, "copy_rules": ["web"], "export_rules": [], "acr_rules": [],
        "cleanup": False}
    bad = tmp_path / "bad.yml"
    bad.write_text(scene.POLICY_YAML.replace("target_regions: [cn-beijing, ap-southeast-1]", "target_regions: []"))
    done = _cli("validate-policy", str(bad), env=_env(world))
    assert done.returncode == 2
    assert json.loads(done.stderr)["field"] == "copy_rules[0].target_regions"


def test_cli_validate_policy_warns_of_an_export_format_ecs_ignores(world, tmp_path):
    # ExportImage honours ImageFormat only in the regions its API reference lists; cn-hangzhou exports RAW
    policy = tmp_path / "exports.yml"
    policy.write_text(scene.EXPORT_POLICY_YAML)
    done = _cli("validate-policy", str(policy), "--json", env=_env(world))
    out = json.loads(done.stdout)
    assert done.returncode == 0 and out["valid"] is True
    warning = ("export_rules[0].format: qcow2 is not honoured by ExportImage in cn-hangzhou (rule 'archive'); "
               "ECS exports RAW there and the manifest will say raw")
    assert out["warnings"] == [warning]
    human = _cli("validate-policy", str(policy), env=_env(world))
    assert human.returncode == 0 and b"warning: export_rules[0].format: qcow2 is not honoured" in human.stdout


def test_cli_help_lists_commands():
    done = _cli("--help")
    assert done.returncode == 0
    assert b"invoke" in done.stdout and b"validate-policy" in done.stdout


def test_log_level_setting_is_applied(world):
    buf = io.StringIO()
    configure_logging("INFO", stream=buf)
    try:
        world.monkeypatch.setenv("IMAGE_RELAY_LOG_LEVEL", "WARNING")
        from shared.config import reset_settings

        reset_settings()
        world.invoke("image_created", world.event(WEB))
        assert "copy.started" not in buf.getvalue()
        world.monkeypatch.setenv("IMAGE_RELAY_LOG_LEVEL", "INFO")
        reset_settings()
        world.invoke("image_created", world.event("m-bp1demoapi0002"))
        assert "image.accepted" in buf.getvalue()
    finally:
        configure_logging("INFO")
