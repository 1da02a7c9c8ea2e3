"""Cleanup's own fuzz property (issue #10): for any payload, no deletion unless the payload is a well-formed,
explicit apply.

`explicit_apply` is an oracle written here from the documented forms, independently of the parser:
a manual `{"action": "cleanup"?, "dry_run": false, "now"?: <aware ISO time>}` with no other key, or an FC timer
event (only `triggerTime` / `triggerName` / `payload`, one of the first two present) whose payload is empty or
exactly `{"dry_run": false}`. Two layers, fixed budgets so they run in `make test`:
- the parser on many generated inputs: whatever it returns with `dry_run` False, the oracle must agree;
- the handler on fewer inputs against the emulator, with an old unused scratch image that an apply run would
  delete: a DeleteImage call happens only when the oracle says apply.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scripts import sample_world as scene
from shared.cleanup.request import parse_cleanup_request
from shared.errors import EventValidationError, ImageRelayError

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)
STAMP = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")


def _aware_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


def explicit_apply(raw: bytes) -> bool:
    """True only for the documented forms that apply (see the module docstring)."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    if not isinstance(doc, dict):
        return False
    if "action" not in doc and ("triggerTime" in doc or "triggerName" in doc):
        if set(doc) - {"triggerTime", "triggerName", "payload"}:
            return False
        payload = doc.get("payload")
        if payload is None or (isinstance(payload, str) and not payload.strip()):
            return True
        try:
            return isinstance(payload, str) and json.loads(payload) == {"dry_run": False} \
                and json.loads(payload)["dry_run"] is False
        except (ValueError, RecursionError):
            return False
    return (set(doc) <= {"action", "dry_run", "now"} and doc.get("action", "cleanup") == "cleanup"
            and doc.get("dry_run") is False and ("now" not in doc or doc["now"] is None or _aware_time(doc["now"])))


KEYS = ["action", "dry_run", "dryRun", "dryrun", "DryRun", "now", "triggerTime", "triggerName", "payload", "apply"]
scalars = (st.none() | st.booleans() | st.integers(-2, 2) | st.sampled_from(
    ["", " ", "cleanup", "false", "true", "0", "dry_run", STAMP, "2099-01-01T00:00:00Z", "2026-11-21T12:00:00"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3), max_leaves=8)
payloads = st.sampled_from(["", "  ", "dry_run", "{garbage", "[]", "null", '{"dry_run": true}', '{"dry_run": false}',
                            '{"dryRun": true}', '[{"dry_run": true}]', '{"dry_run": "false"}', '{"dry_run": 0}',
                            '{"dry_run": false, "x": 1}', '{}', '{"dry_run": false}\n']) | values.map(json.dumps)
timers = st.fixed_dictionaries({"triggerTime": st.just(STAMP)}, optional={
    "triggerName": st.just("cleanup-daily"), "payload": payloads, "dry_run": scalars, "action": scalars})
manuals = st.dictionaries(st.sampled_from(["action", "dry_run", "now", "dryRun", "payload"]), values, max_size=4)
inputs = (st.binary(max_size=60) | timers.map(lambda d: json.dumps(d).encode())
          | manuals.map(lambda d: json.dumps(d).encode()) | values.map(lambda d: json.dumps(d).encode()))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=inputs)
def test_the_parser_applies_only_an_explicit_apply(raw: bytes) -> None:
    try:
        request = parse_cleanup_request(raw)
    except EventValidationError as exc:
        assert str(exc)
        return
    assert request.dry_run or explicit_apply(raw), f"apply from {raw!r}"


@pytest.fixture(scope="module")
def cleanup_env(chaos_emu: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from shared.clouds._clients import reset_clients
    from shared.config import reset_settings
    from shared.wiring import reset_wiring

    tmp = tmp_path_factory.mktemp("fuzz-cleanup")
    (tmp / "policy.yml").write_text(scene.POLICY_YAML + "cleanup:\n  template_scratch: {min_age_hours: 24}\n"
                                    "  max_deletions: 5\n  max_share: 1.0\n")
    env = {"IMAGE_RELAY_POLICY": str(tmp / "policy.yml"), "IMAGE_RELAY_STATE": "memory://",
           "IMAGE_RELAY_ENDPOINT": chaos_emu.url, "IMAGE_RELAY_RETRY_MAX_ATTEMPTS": "1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    reset_settings(), reset_wiring(), reset_clients()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("shared.wiring.utcnow", lambda: NOW)
        yield chaos_emu
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    reset_settings(), reset_wiring(), reset_clients()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(raw=inputs)
def test_the_handler_deletes_only_on_an_explicit_apply(cleanup_env: Any, raw: bytes) -> None:
    from scripts.invoke import invoke

    emu = cleanup_env
    emu.control.reset()
    emu.control.seed({"images": [{"region": "cn-hangzhou", "image_id": "m-bp1fuzzscratch1",
                                  "name": "TemplateScratch-fuzz", "creation_time": "2026-11-19T12:00:00Z"}]})
    try:
        invoke("cleanup", raw)
    except ImageRelayError:
        pass
    deletes = [c for c in emu.control.requests() if c["action"] == "DeleteImage"]
    assert not deletes or explicit_apply(raw), f"DeleteImage after {raw!r}"
