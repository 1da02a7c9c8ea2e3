"""Fuzzing (hypothesis): event parsers, manual-request models and the policy loader.

Any input ends in a valid result or a typed error that names a field (EventValidationError /
ConfigError), never another exception; and a handler given an input that fails validation makes no
API call (checked against a running emulator's request log).
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from scripts import sample_world as scene
from shared.cleanup.request import parse_cleanup_request
from shared.errors import ConfigError, EventValidationError, ImageRelayError
from shared.events.acr import parse_acr_request, parse_push_event
from shared.events.copy_requests import parse_copy_request
from shared.events.exports import parse_export_request
from shared.events.parse import parse_image_event, parse_timer_event
from shared.policy import load_policy

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PARSERS: dict[str, Callable[[Any], Any]] = {
    "image_event": parse_image_event,
    "timer": parse_timer_event,
    "export": parse_export_request,
    "acr": parse_acr_request,
    "push": parse_push_event,
    "copy": parse_copy_request,
    "cleanup": parse_cleanup_request,
}

KEYS = ["action", "region", "image_id", "target_region", "format", "rule", "dry_run", "now", "tag_regex",
        "max_age_days", "max_tags", "instance_id", "namespace", "repository", "tag", "triggerTime",
        "triggerName", "payload", "id", "type", "source", "specversion", "data", "eventName", "responseElements",
        "ImageId", "RegionId", "repoNamespaceName", "repoName", "tagName", "digest"]
ACTIONS = ["replicate", "cancel_copy", "retry_failed", "export", "cancel_export", "export_batch", "backfill",
           "replicate_tag", "cleanup", "", "REPLICATE", None]
scalars = (st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=True)
           | st.text(max_size=40) | st.sampled_from(["cn-hangzhou", "m-bp1abc", "cri-hzsrc01", "web", "v1.0.0",
                                                    "2026-11-21T17:00:00Z", "qcow2", "Bad!", "-1", "nan"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5),
                           max_leaves=20)
documents = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8).map(
    lambda d: d) | st.builds(lambda a, rest: {"action": a, **rest}, st.sampled_from(ACTIONS),
                            st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6))


def _encode(doc: Any) -> bytes:
    return json.dumps(doc, allow_nan=True).encode()


def _mutated_events() -> st.SearchStrategy[bytes]:
    """Real envelopes (ActionTrail, PushCompleted, timer) with one field replaced or deleted."""
    bases = [json.loads(scene.create_image_event("cn-hangzhou", "m-bp1abc", "app-x", event_id="e1")),
             json.loads(scene.timer_event("2026-11-21T17:00:00Z"))]

    @st.composite
    def mutate(draw: Any) -> bytes:
        doc = json.loads(json.dumps(draw(st.sampled_from(bases))))
        node = doc
        path = draw(st.lists(st.sampled_from(["data", "responseElements", "requestParameters", "referencedResources",
                                              "id", "type", "eventName", "ImageId", "triggerTime", "payload"]),
                             max_size=3))
        for key in path[:-1]:
            if isinstance(node, dict) and isinstance(node.get(key), dict):
                node = node[key]
        if path and isinstance(node, dict):
            if draw(st.booleans()):
                node.pop(path[-1], None)
            else:
                node[path[-1]] = draw(json_values)
        return _encode(doc)

    return mutate()


def _check(parser: Callable[[Any], Any], raw: Any) -> Any:
    try:
        return parser(raw)
    except (EventValidationError, ConfigError) as exc:
        assert exc.field is None or isinstance(exc.field, str)
        assert str(exc)
        return exc


@FAST
@given(name=st.sampled_from(sorted(PARSERS)), raw=st.binary(max_size=200))
def test_parsers_on_arbitrary_bytes(name: str, raw: bytes) -> None:
    _check(PARSERS[name], raw)


@FAST
@given(name=st.sampled_from(sorted(PARSERS)), doc=documents)
def test_parsers_on_json_documents(name: str, doc: dict[str, Any]) -> None:
    _check(PARSERS[name], _encode(doc))
    _check(PARSERS[name], json.dumps(doc, allow_nan=True))


@FAST
@given(name=st.sampled_from(sorted(PARSERS)), raw=_mutated_events())
def test_parsers_on_mutated_real_events(name: str, raw: bytes) -> None:
    _check(PARSERS[name], raw)


def test_a_typed_error_names_its_field() -> None:
    err = _check(parse_copy_request, b'{"action": "replicate", "region": "cn-hangzhou"}')
    assert isinstance(err, EventValidationError) and err.field == "image_id"


# -- the policy loader --------------------------------------------------------------------------------------

POLICY_DOCS = [yaml.safe_load(scene.POLICY_YAML), yaml.safe_load(scene.EXPORT_POLICY_YAML),
               yaml.safe_load(scene.ACR_POLICY_YAML)]


@st.composite
def mutated_policy(draw: Any) -> str:
    doc = json.loads(json.dumps(draw(st.sampled_from(POLICY_DOCS))))
    for _ in range(draw(st.integers(1, 3))):
        node: Any = doc
        while True:
            if isinstance(node, dict) and node:
                key = draw(st.sampled_from(sorted(node)))
            elif isinstance(node, list) and node:
                key = draw(st.integers(0, len(node) - 1))
            else:
                break
            if not isinstance(node[key], (dict, list)) or draw(st.booleans()):
                action = draw(st.sampled_from(["replace", "delete", "replace"]))
                if action == "delete" and isinstance(node, dict):
                    del node[key]
                else:
                    node[key] = draw(json_values)
                break
            node = node[key]
    return yaml.safe_dump(doc)


def _load(text: str) -> None:
    try:
        load_policy(text)
    except ConfigError as exc:
        assert str(exc)


@FAST
@given(text=st.text(max_size=300))
def test_policy_loader_on_arbitrary_text(text: str) -> None:
    if "\n" not in text and (text.endswith((".yml", ".yaml")) or os.path.exists(text)):
        text += "\n"  # a one-line text naming a file is read as a path: not what this test fuzzes
    _load(text)


@FAST
@given(text=mutated_policy())
def test_policy_loader_on_mutated_valid_policies(text: str) -> None:
    _load(text)


# -- handlers: an input that fails validation makes no API call ------------------------------------------------

@pytest.fixture(scope="module")
def handler_env(chaos_emu: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from shared.clouds._clients import reset_clients
    from shared.config import reset_settings
    from shared.wiring import reset_wiring

    tmp = tmp_path_factory.mktemp("fuzz")
    (tmp / "policy.yml").write_text(scene.EXPORT_POLICY_YAML + scene.ACR_POLICY_YAML)
    env = {"IMAGE_RELAY_POLICY": str(tmp / "policy.yml"), "IMAGE_RELAY_STATE": "memory://",
           "IMAGE_RELAY_ENDPOINT": chaos_emu.url, "IMAGE_RELAY_RETRY_MAX_ATTEMPTS": "1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    reset_settings(), reset_wiring(), reset_clients()
    chaos_emu.control.reset()
    yield chaos_emu
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    reset_settings(), reset_wiring(), reset_clients()


HANDLERS = ["image_created", "acr_push", "export_batch", "cleanup", "reconcile"]

#: Every `status` a handler documents (README "Events and requests"); anything else is a finding.
DOCUMENTED: dict[str, frozenset[str]] = {
    "image_created": frozenset({"accepted", "duplicate", "no_matching_rule", "not_owned", "source_not_found",
                                "cancelled", "nothing_to_cancel", "requeued", "nothing_failed"}),
    "export_batch": frozenset({"accepted", "cancelled", "nothing_to_cancel", "no_matching_rule", "ok",
                               "outside_window", "planned", "source_not_found"}),
    "acr_push": frozenset({"accepted", "duplicate", "no_matching_rule", "planned", "tag_not_found"}),
    "cleanup": frozenset({"disabled", "refused", "ok", "planned"}),
    "reconcile": frozenset({"ok", "fanned_out"}),
}
ACCOUNTS = [scene.ACCOUNT_ID, "9999888877776666", "123456789012****", "****************", "", "1234567890123456\n"]


def _timer_with(payload: str) -> bytes:
    return _encode({"triggerTime": "2026-11-21T17:30:00Z", "triggerName": "fuzz", "payload": payload})


_KINDS = {"image_created": ["actiontrail", "manual"], "acr_push": ["push", "manual"], "reconcile": ["timer"],
          "export_batch": ["timer", "manual"], "cleanup": ["timer", "manual"]}


@st.composite
def _hostile_events(draw: Any, function: str | None = None) -> bytes:
    """Shapes the parsers must refuse or handle exactly: timer payloads, accounts, ids, trailing newlines."""
    kind = draw(st.sampled_from(_KINDS[function] if function else ["timer", "actiontrail", "push", "manual"]))
    if kind == "timer":
        inner = draw(st.sampled_from(['{"regions": ["cn-beijing"]}', '{"dry_run": true}', '{"dry_run": "false"}',
                                      "[1]", "{garbage", "[" * 5000, "", '{"regions": []}']) | json_values.map(
            lambda v: json.dumps(v, allow_nan=True)) | st.text(max_size=30))
        return _timer_with(inner)
    # a valid event with at most one hostile field, so the accepted path is explored too
    if kind == "actiontrail":
        hostile = draw(st.sampled_from(["none", "region", "image", "id", "account"]))
        doc = json.loads(scene.create_image_event(
            draw(st.sampled_from(["eu-central-1", "cn-hangzhou\n"])) if hostile == "region" else "cn-hangzhou",
            draw(st.sampled_from(["m-abc\n", "m-nothere1"])) if hostile == "image" else "m-bp1demoweb0001",
            "app-x", event_id=draw(st.sampled_from(["e" * 300, "\u00e9" * 200])) if hostile == "id" else None))
        if hostile == "account":
            doc["aliyunaccountid"] = draw(st.sampled_from(ACCOUNTS[1:]))
        return _encode(doc)
    if kind == "push":
        hostile = draw(st.sampled_from(["none", "tag", "account"]))
        doc = {"id": draw(st.text(min_size=1, max_size=10)), "source": "acs.cr", "type": "cr:Artifact:PushCompleted",
               "aliyunregionid": "cn-hangzhou",
               "aliyunaccountid": draw(st.sampled_from(ACCOUNTS[1:])) if hostile == "account" else scene.ACCOUNT_ID,
               "data": {"InstanceId": scene.ACR_SOURCE, "RepoNamespaceName": "web", "RepoName": "frontend",
                        "Tag": draw(st.sampled_from(["v1.0.0\n", "latest", "v" + "1" * 40 + "-"]))
                        if hostile == "tag" else "v1.1.0"}}
        return _encode(doc)
    action = draw(st.sampled_from(["replicate", "retry_failed", "cancel_copy", "export", "cancel_export",
                                   "backfill", "replicate_tag", "export_batch", "cleanup"]))
    return _encode({"action": action, **draw(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=5))})


@pytest.fixture(scope="module")
def seeded_env(handler_env: Any) -> Any:
    handler_env.control.seed(scene.seed())
    handler_env.control.seed(scene.acr_seed())
    return handler_env


def _ledger_state() -> list[tuple[str, int]]:
    from shared.config import get_settings
    from shared.wiring import ledger_from

    return [(r.key, r.version) for r in ledger_from(get_settings()).scan("")]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(case=st.sampled_from(HANDLERS).flatmap(lambda f: st.tuples(st.just(f), _hostile_events(f) | _hostile_events(f)
                                                                  | st.binary(max_size=80) | documents.map(_encode)
                                                                  | _mutated_events() | _hostile_events())))
def test_every_handler_answers_exactly_or_refuses_without_side_effect(seeded_env: Any,
                                                                      case: tuple[str, bytes]) -> None:
    """For any bytes: a documented answer, or a refusal with no API call and no ledger write (issue #10)."""
    from scripts.invoke import invoke

    function, raw = case
    emu = seeded_env
    calls, ledger = len(emu.control.requests()), _ledger_state()
    try:
        answer = json.loads(invoke(function, raw))
    except (EventValidationError, ConfigError) as exc:
        assert isinstance(exc.field, str) and exc.field, f"{function}: a refusal must name its field: {exc!r}"
        assert len(emu.control.requests()) == calls, f"{function} made an API call before refusing {raw!r}"
        assert _ledger_state() == ledger, f"{function} wrote the ledger before refusing {raw!r}"
        event(f"{function}: refused")
        return
    except ImageRelayError as exc:  # a valid request met the world (a cloud error, a lost race): typed
        assert type(exc).__name__ != "UnexpectedError", f"{function} crashed on {raw!r}: {exc}"
        return
    assert isinstance(answer, dict) and answer.get("status") in DOCUMENTED[function], (function, raw, answer)
    _answered_only_what_is_understood(function, raw)
    event(f"{function}: {answer['status']}")


def _answered_only_what_is_understood(function: str, raw: bytes) -> None:
    """An answered input was exactly understood: an own-account event, a timer payload of a documented form."""
    from shared.events.accounts import same_account

    doc = json.loads(raw) if raw.strip() else {}
    if not isinstance(doc, dict):
        return
    if "type" in doc and "data" in doc and function in ("image_created", "acr_push"):
        account = doc.get("aliyunaccountid")
        assert isinstance(account, str) and same_account(account, scene.ACCOUNT_ID), f"{function} obeyed {raw!r}"
    payload = doc.get("payload") if "action" not in doc else None
    if isinstance(payload, str) and payload.strip() and function in ("reconcile", "export_batch"):
        inner = json.loads(payload)
        allowed = {"reconcile": {"regions"}, "export_batch": {"dry_run"}}[function]
        assert isinstance(inner, dict) and set(inner) <= allowed, f"{function} ran with payload {payload!r}"
        assert all(isinstance(inner[k], list if k == "regions" else bool) for k in inner), payload
