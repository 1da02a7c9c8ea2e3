"""Issue #10, defects 6-13: stale ticks, regex bombs, hostile and careless input, leaks at the exits.

Each test goes through the handlers, the official SDKs and the emulator, and failed on the code before
the fix. "No side effect" is checked on the emulator's request log and on the ledger's keys and versions.
"""
from __future__ import annotations

import io
import json
import traceback
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from scripts import sample_world as scene
from shared.errors import ConfigError, EventValidationError
from shared.ledger.record import State

WEB = "m-bp1demoweb0001"
BEIJING = f"copy/cn-hangzhou/{WEB}/cn-beijing"
OTHER_ACCOUNT = "9999888877776666"


def _ledger_snapshot(world) -> list[tuple[str, int, str]]:
    return [(r.key, r.version, r.state.value) for r in world.ledger().scan("")]


def _no_side_effect(world, before_calls: int, before_ledger: list) -> None:
    assert len(world.emu.control.requests()) == before_calls, world.emu.control.requests()[before_calls:]
    assert _ledger_snapshot(world) == before_ledger


def _refused(world, function: str, event: bytes, error: type, field: str) -> Any:
    before_calls, before_ledger = len(world.emu.control.requests()), _ledger_snapshot(world)
    with pytest.raises(error) as info:
        world.invoke(function, event)
    assert info.value.field == field, info.value
    _no_side_effect(world, before_calls, before_ledger)
    return info.value


# -- defect 6: a stale tick never undoes a finished copy ------------------------------------------------------

def _failed_retryable_beijing_copy(world) -> None:
    """GIVEN the Beijing copy of WEB failed once, retryable now (its failed copy already gone)."""
    from shared.policy import load_policy
    from shared.replication.executor import new_record
    from shared.replication.targets import targets_for

    image = world.ecs().get_image("cn-hangzhou", WEB)
    (target,) = [t for t in targets_for(load_policy(str(world.policy_path)), image)
                 if t.target_region == "cn-beijing"]
    ledger = world.ledger()
    record, _ = ledger.ensure(new_record(target, scene_now()))
    ledger.transition(record.key, record, state=State.FAILED, reason="copy ended CreateFailed; retrying",
                      retryable=True, attempt=1)


def scene_now():
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc)


def _slow_tick(world, monkeypatch, meanwhile) -> dict[str, Any]:
    """A reconcile tick that plans, then (while it is slow) lets `meanwhile` run, then applies its old plan."""
    import shared.replication.service as service

    real = service.plan_tick
    state = {"outer": True}

    def slow_plan(*args: Any, **kwargs: Any) -> Any:
        plan = real(*args, **kwargs)
        if state["outer"]:
            state["outer"] = False
            meanwhile()
        return plan

    monkeypatch.setattr(service, "plan_tick", slow_plan)
    try:
        return world.tick()
    finally:
        monkeypatch.setattr(service, "plan_tick", real)


def test_a_stale_retry_never_sends_a_running_copy_back_to_pending(world, monkeypatch):
    _failed_retryable_beijing_copy(world)

    # WHEN a slow tick plans "retry" for the failed copy, and meanwhile two quick ticks retry and start it
    def two_quick_ticks() -> None:
        world.tick()
        world.tick()

    running: dict[str, Any] = {}

    def meanwhile() -> None:
        two_quick_ticks()
        running["record"] = world.ledger().get(BEIJING)

    summary = _slow_tick(world, monkeypatch, meanwhile)
    # THEN the running copy is left as it is: same ImageId, still STARTED, and the stale step is counted
    assert running["record"].state is State.STARTED and running["record"].cloud_id
    after = world.ledger().get(BEIJING)
    assert (after.state, after.cloud_id, after.attempt) == (State.STARTED, running["record"].cloud_id,
                                                            running["record"].attempt)
    assert summary["actions"].get("stale", 0) >= 1
    # AND it finishes DONE with that one copy: no second CopyImage into Beijing, no FAILED advice
    world.run_until_settled()
    done = world.ledger().get(BEIJING)
    assert (done.state, done.cloud_id) == (State.DONE, running["record"].cloud_id)
    beijing_calls = [c for c in world.calls("CopyImage") if c["params"]["DestinationRegionId"] == "cn-beijing"
                     and c["params"]["ImageId"] == WEB]
    assert len(beijing_calls) == 1, beijing_calls
    assert [c.image_id for c in world.copies_in("cn-beijing")
            if c.tags["image-relay:source-image"] == WEB] == [done.cloud_id]


def test_two_ticks_completing_one_copy_do_not_crash_the_second(world, monkeypatch):
    # GIVEN copies running for WEB, ready to complete
    world.invoke("image_created", world.event(WEB))
    world.emu.control.advance(3600)

    # WHEN a slow tick plans "complete" and meanwhile another tick completes them
    summary = _slow_tick(world, monkeypatch, world.tick)
    # THEN the slow tick ends normally, its stale steps skipped, and the records are DONE once
    assert summary["status"] == "ok"
    assert summary["actions"].get("stale", 0) == 2
    assert {r.state for r in world.ledger().scan(f"copy/cn-hangzhou/{WEB}/")} == {State.DONE}


def test_reaching_the_state_a_record_has_is_a_no_op():
    from shared.ledger import Ledger, Record, open_store

    ledger = Ledger(open_store("memory://"))
    record, _ = ledger.ensure(Record(key="copy/cn-hangzhou/m-1/cn-beijing", kind="copy"))
    done = ledger.transition(record.key, record, state=State.DONE, cloud_id="m-2")
    again = ledger.transition(done.key, done, state=State.DONE, cloud_id="m-2")
    assert again == done and ledger.get(done.key).version == done.version


def test_a_running_copy_never_goes_back_to_pending_even_by_force():
    from shared.errors import LedgerTransitionError
    from shared.ledger import Ledger, Record, open_store

    ledger = Ledger(open_store("memory://"))
    record, _ = ledger.ensure(Record(key="copy/cn-hangzhou/m-1/cn-beijing", kind="copy"))
    started = ledger.transition(record.key, record, state=State.STARTED, cloud_id="m-2")
    with pytest.raises(LedgerTransitionError, match="would restart a running task"):
        ledger.transition(started.key, started, state=State.PENDING, force=True)
    claim = ledger.transition(started.key, started, cloud_id=None)  # a claim without a task may be requeued
    assert ledger.transition(claim.key, claim, state=State.PENDING).state is State.PENDING


# -- defect 7: regex bombs ----------------------------------------------------------------------------------

BOMB_POLICY = scene.POLICY_YAML.replace('name_regex: "^app-"', 'name_regex: "(a+)+$"')


def test_a_catastrophic_name_regex_does_not_hold_a_tick_hostage(world):
    # GIVEN a rule whose name_regex backtracks exponentially in `re`, and a 43-character name that trips it
    world.set_policy(BOMB_POLICY)
    world.emu.control.seed({"images": [{"region": "cn-hangzhou", "image_id": "m-bp1bomb000001",
                                        "name": "a" * 42 + "-", "size_gib": 20, "tags": {"team": "web"}}]})
    # WHEN a tick sweeps the source region THEN it finishes and copies nothing for that name
    summary = world.tick()
    assert summary["status"] == "ok"
    assert not [k for k in (r.key for r in world.ledger().scan("copy/")) if "m-bp1bomb000001" in k]


def test_a_catastrophic_backfill_tag_regex_runs_in_bounded_time(world):
    world.set_policy(scene.ACR_POLICY_YAML)
    world.emu.control.seed(scene.acr_seed())
    world.emu.control.acr_push({"instance_id": scene.ACR_SOURCE, "namespace": "web", "repo": "frontend",
                                "tag": "v" + "1" * 40 + "-", "digest": "sha256:" + "cd" * 32})
    request = {"action": "backfill", "rule": "web", "tag_regex": r"^(\w+\.?)+$", "dry_run": True}
    result = world.invoke("acr_push", json.dumps(request).encode())
    assert result["dry_run"] is True and result["to_replicate"] == 6  # 3 release tags x 2 targets, not the bomb


def test_patterns_outside_the_bounded_engine_are_refused_naming_the_field(world):
    bad = {"action": "backfill", "rule": "web", "tag_regex": r"(a)\1", "dry_run": True}
    world.set_policy(scene.ACR_POLICY_YAML)
    err = _refused(world, "acr_push", json.dumps(bad).encode(), EventValidationError, "tag_regex")
    assert "invalid regular expression" in err.message
    world.set_policy(scene.POLICY_YAML.replace('name_regex: "^app-"', r'name_regex: "^(?=app)"'))
    with pytest.raises(ConfigError) as info:
        world.tick()
    assert info.value.field == "copy_rules[0].match.name_regex"


# -- defect 9: all of an event is validated before any call ------------------------------------------------

def test_an_overlong_event_id_is_refused_before_any_copy(world):
    err = _refused(world, "image_created", world.event(WEB, event_id="e" * 1200), EventValidationError, "id")
    assert "256" in err.message


def test_an_event_id_too_long_for_a_ledger_key_once_encoded_is_refused(world):
    _refused(world, "image_created", world.event(WEB, event_id="\u00e9" * 200), EventValidationError, "id")


# -- defect 10: crashes become refusals ----------------------------------------------------------------------

def _timer(payload: str) -> bytes:
    return json.dumps({"triggerTime": "2026-11-21T17:00:00Z", "triggerName": "t", "payload": payload}).encode()


@pytest.mark.parametrize(("payload", "field"), [
    ("{garbage", "payload"),
    ("[" * 100_000, "payload"),
    ('{"regions": "cn-beijing"}', "payload.regions"),
    ('{"regions": ["cn-beijing", "cn-beijing"]}', "payload.regions"),
    ('{"regions": ["Beijing!"]}', "payload.regions"),
    ('{"regions": []}', "payload.regions"),
    ('{"region": ["cn-beijing"]}', "payload.regions"),
    ("[1]", "payload"),
])
def test_a_malformed_reconcile_payload_is_refused(world, payload, field):
    _refused(world, "reconcile", _timer(payload), EventValidationError, field)


@pytest.mark.parametrize(("payload", "field"), [
    ("[1]", "payload"),
    ('{"dry_run": "false"}', "payload.dry_run"),
    ('{"dryRun": true}', "payload.dryRun"),
    ("dry_run", "payload"),
])
def test_a_malformed_export_timer_payload_is_refused(world, payload, field):
    world.set_policy(scene.EXPORT_POLICY_YAML)
    _refused(world, "export_batch", _timer(payload), EventValidationError, field)


def test_a_garbage_reconcile_payload_exits_2_from_the_cli(world):
    from tests.cli import cli_env as _env
    from tests.cli import run_cli as _cli

    done = _cli("invoke", "reconcile", "--event", "-", stdin=_timer("{garbage"), env=_env(world))
    assert done.returncode == 2, done.stderr
    assert json.loads(done.stderr.decode().strip().splitlines()[-1])["field"] == "payload"
    assert b"Traceback" not in done.stderr


# -- defect 11: foreign-account events -----------------------------------------------------------------------

def test_an_actiontrail_event_from_another_account_is_refused_and_logged(world):
    from shared.logs import configure_logging

    doc = json.loads(world.event(WEB))
    doc["aliyunaccountid"] = OTHER_ACCOUNT
    buf = io.StringIO()
    configure_logging("INFO", stream=buf)
    try:
        err = _refused(world, "image_created", json.dumps(doc).encode(), EventValidationError, "aliyunaccountid")
    finally:
        configure_logging("INFO")
    assert OTHER_ACCOUNT in err.message and type(err).__name__ == "ForeignAccountError"
    lines = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert any(line["message"] == "event.refused_foreign_account" and line["event_account"] == OTHER_ACCOUNT
               for line in lines)


def test_an_event_without_an_account_is_refused(world):
    doc = json.loads(world.event(WEB))
    del doc["aliyunaccountid"]
    _refused(world, "image_created", json.dumps(doc).encode(), EventValidationError, "aliyunaccountid")


def test_an_acr_push_from_another_account_creates_no_sync_task(world):
    world.set_policy(scene.ACR_POLICY_YAML)
    world.emu.control.seed(scene.acr_seed())
    event = world.emu.control.acr_push({"instance_id": scene.ACR_SOURCE, "namespace": "web", "repo": "frontend",
                                        "tag": "v9.0.0", "digest": "sha256:" + "ef" * 32})
    event["aliyunaccountid"] = "999988887777****"
    _refused(world, "acr_push", json.dumps(event).encode(), EventValidationError, "aliyunaccountid")
    assert not world.calls("CreateRepoSyncTask")


def test_the_account_setting_names_the_own_account_for_the_cli(world):
    doc = json.loads(world.event(WEB))
    doc["aliyunaccountid"] = OTHER_ACCOUNT
    world.monkeypatch.setenv("IMAGE_RELAY_ACCOUNT_ID", OTHER_ACCOUNT)
    from shared.config import reset_settings

    reset_settings()
    assert world.invoke("image_created", json.dumps(doc).encode())["status"] == "accepted"


# -- defect 12: validation leaks -----------------------------------------------------------------------------

@pytest.mark.parametrize(("request_", "field"), [
    ({"action": "replicate", "region": "cn-hangzhou", "image_id": "m-abc\n"}, "image_id"),
    ({"action": "replicate", "region": "cn-hangzhou\n", "image_id": "m-abc"}, "region"),
    ({"action": "retry_failed", "region": "cn-hangzhou\n", "image_id": "m-abc"}, "region"),
])
def test_a_trailing_newline_is_not_a_valid_id(world, request_, field):
    _refused(world, "image_created", json.dumps(request_).encode(), EventValidationError, field)


def test_a_tag_with_a_trailing_newline_is_refused(world):
    world.set_policy(scene.ACR_POLICY_YAML)
    request = {"action": "replicate_tag", "instance_id": scene.ACR_SOURCE, "namespace": "web",
               "repository": "frontend", "tag": "v1.0.0\n"}
    _refused(world, "acr_push", json.dumps(request).encode(), EventValidationError, "tag")


def test_an_event_for_a_region_outside_the_policy_makes_no_call_and_no_record(world):
    event = scene.create_image_event("eu-central-1", "m-gw8outside0001", "app-x", event_id="e-outside")
    before_calls, before_ledger = len(world.emu.control.requests()), _ledger_snapshot(world)
    assert world.invoke("image_created", event)["status"] == "no_matching_rule"
    _no_side_effect(world, before_calls, before_ledger)


def test_a_manual_request_for_an_unknown_region_exits_2(world):
    from tests.cli import cli_env as _env
    from tests.cli import run_cli as _cli

    request = json.dumps({"action": "replicate", "region": "cn-atlantis", "image_id": "m-abc"}).encode()
    done = _cli("invoke", "image_created", "--event", "-", stdin=request, env=_env(world))
    assert done.returncode == 2, done.stderr
    assert json.loads(done.stderr.decode().strip().splitlines()[-1])["field"] == "region"
    assert not world.calls()


def test_an_unknown_export_rule_is_a_config_error_before_any_call(world):
    world.set_policy(scene.EXPORT_POLICY_YAML)
    request = {"action": "export", "region": "cn-hangzhou", "image_id": WEB, "rule": "no-such-rule"}
    err = _refused(world, "export_batch", json.dumps(request).encode(), ConfigError, "rule")
    assert "archive" in err.message


# -- defect 13: redaction at every exit -----------------------------------------------------------------------

SECRET = "Zq9sEcReT/never+print=me-4d1f"
TOKEN = "CAIS+sts/token==never-print-me-8c2e"


def _every_form(value: str) -> list[str]:
    return [value, quote(value, safe=""), quote_plus(value), quote(value)]


def test_an_exception_escaping_a_handler_is_redacted(world, monkeypatch):
    import shared.replication.service as module  # the use case, which shared.dispatch imports when called
    from shared.logs import configure_logging
    from shared.runtime import FCCredentials, make_local_context

    # GIVEN a bug deep in the use case whose message carries the STS token, raw and URL-encoded
    def buggy(*_args: Any) -> Any:
        raise RuntimeError(f"GET /?SecurityToken={quote(TOKEN, safe='')}&raw={TOKEN}&s={quote_plus(SECRET)}")

    monkeypatch.setattr(module, "handle_image_created", buggy)
    buf = io.StringIO()
    configure_logging("INFO", stream=buf)
    ctx = make_local_context("image_created", credentials=FCCredentials("STS.ops-ak", SECRET, TOKEN))
    try:
        with pytest.raises(Exception) as info:
            world.invoke("image_created", world.event(WEB), context=ctx)
    finally:
        configure_logging("INFO")
    # THEN what escapes (as FC's runtime would print it) and what is logged hold neither value in any form
    printed = "".join(traceback.format_exception(info.value)) + repr(info.value) + buf.getvalue()
    assert "RuntimeError" in printed and "SecurityToken=***" in printed
    for form in _every_form(TOKEN) + _every_form(SECRET):
        assert form not in printed


def test_cli_errors_are_redacted(world, tmp_path):
    from tests.cli import cli_env as _env
    from tests.cli import run_cli as _cli

    env = {**_env(world), "ALIBABA_CLOUD_ACCESS_KEY_ID": "test-ak", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET}
    # a person pastes the secret where a file name goes
    done = _cli("invoke", "image_created", "--event", str(tmp_path / quote(SECRET, safe="")), env=env)
    assert done.returncode == 2
    out = done.stdout + done.stderr
    assert b"no such event file" in out
    for form in _every_form(SECRET):
        assert form.encode() not in out


def test_a_stale_cleanup_run_does_not_act_on_what_another_run_settled(world, monkeypatch):
    import shared.cleanup.service as service
    from tests.cleanup.test_cleanup_flow import NOW, decision, run, scratch

    monkeypatch.setattr("shared.wiring.utcnow", lambda: NOW)
    world.emu.control.seed({"images": [scratch("m-bp1stale000001")]})
    real = service.build_plan
    state = {"outer": True}

    def slow_plan(*args: Any, **kwargs: Any) -> Any:
        plan = real(*args, **kwargs)
        if state["outer"]:
            state["outer"] = False
            request = {"action": "cleanup", "now": NOW.isoformat(), "dry_run": False}
            inner["report"] = world.invoke("cleanup", json.dumps(request).encode())  # meanwhile a quick run
        return plan

    inner: dict[str, Any] = {}
    monkeypatch.setattr(service, "build_plan", slow_plan)
    # WHEN a slow run planned the same delete before the quick run settled it
    report = run(world)
    # THEN the quick run deleted it once; the slow run's step is stale: no second DeleteImage, record stays DONE
    assert decision(inner["report"], "m-bp1stale000001")["outcome"] == "deleted"
    assert decision(report, "m-bp1stale000001")["outcome"] == "stale"
    assert [c["params"]["ImageId"] for c in world.calls("DeleteImage")] == ["m-bp1stale000001"]
    record = world.ledger().get("cleanup/cn-hangzhou/m-bp1stale000001")
    assert (record.state, record.reason) == (State.DONE, decision(inner["report"], "m-bp1stale000001")["reason"])


def test_a_handler_answer_quoting_a_secret_is_redacted(world, monkeypatch):
    import shared.replication.service as module  # the use case, which shared.dispatch imports when called
    from shared.runtime import FCCredentials, make_local_context

    # GIVEN a use case whose answer quotes a cloud error that echoed the token (URL-encoded)
    monkeypatch.setattr(module, "handle_image_created", lambda *_a: {
        "status": "accepted", "targets": [{"reason": f"refused: ...&SecurityToken={quote(TOKEN, safe='')}"}]})
    ctx = make_local_context("image_created", credentials=FCCredentials("STS.ops-ak", SECRET, TOKEN))
    answer = world.invoke("image_created", world.event(WEB), context=ctx)
    assert answer["targets"][0]["reason"] == "refused: ...&SecurityToken=***"


def test_no_validation_pattern_of_ours_ends_with_a_dollar():
    """`$` also matches before a final newline in `re`: "m-abc\\n" would pass. Our patterns end with `\\Z`."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    leaks = [f"{path.relative_to(root)}:{n}" for folder in ("shared", "functions")
             for path in (root / folder).rglob("*.py")
             for n, line in enumerate(path.read_text().splitlines(), 1)
             if re.search(r"re\.(compile|match|fullmatch|search)\(r?\"\^[^\"]*\$\"", line)]
    assert not leaks, leaks


def test_every_handler_goes_through_the_one_redacting_wrapper():
    import importlib

    from functions.entrypoint import function_names

    for name in function_names():
        handler = importlib.import_module(f"functions.{name}.handler").handler
        assert handler.__module__ == f"functions.{name}.handler" and hasattr(handler, "__wrapped__"), name
        assert handler.__code__.co_filename.endswith("shared/entry.py"), name


def test_an_alert_quoting_a_secret_is_sent_redacted():
    import datetime as dt

    from shared.alerts.outcomes import Alert
    from shared.alerts.service import send_once
    from shared.ledger import Ledger, open_store
    from shared.logs import register_secret

    register_secret(TOKEN)
    sent: list[Alert] = []

    class Sink:
        name = "test"

        def send(self, alert: Alert, now: dt.datetime) -> None:
            sent.append(alert)

    alert = Alert(key="alert/copy/x", type="image-relay:Copy:Failed", subject="copy/x",
                  title=f"failed with {TOKEN}", data={"reason": f"GET ?SecurityToken={quote(TOKEN, safe='')}"})
    assert send_once(Ledger(open_store("memory://")), [Sink()], alert, dt.datetime.now(dt.timezone.utc))
    blob = json.dumps([a.title for a in sent]) + json.dumps([a.data for a in sent])
    assert sent and "***" in blob and not any(form in blob for form in _every_form(TOKEN))


def test_a_manual_export_batch_with_a_string_dry_run_is_refused(world):
    world.set_policy(scene.EXPORT_POLICY_YAML)
    request = {"action": "export_batch", "dry_run": "false", "now": "2026-11-21T17:30:00Z"}
    _refused(world, "export_batch", json.dumps(request).encode(), EventValidationError, "dry_run")


@pytest.mark.parametrize("function, action", [("export_batch", "export_batch"), ("cleanup", "cleanup")])
def test_a_manual_run_at_a_time_without_zone_is_refused(world, function, action):
    """A naive `now` would be read in the machine's zone: both runs that take one refuse it (values.AwareDatetime)."""
    world.set_policy(scene.EXPORT_POLICY_YAML)
    request = {"action": action, "dry_run": True, "now": "2026-11-21T17:30:00"}
    error = _refused(world, function, json.dumps(request).encode(), EventValidationError, "now")
    assert "must carry a timezone, e.g. 2026-11-21T18:00:00Z" in error.message
