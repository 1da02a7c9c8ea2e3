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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scripts import demo_scene as scene
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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(function=st.sampled_from(HANDLERS),
       raw=st.binary(max_size=80) | documents.map(_encode) | _mutated_events())
def test_a_handler_given_invalid_input_makes_no_api_call(handler_env: Any, function: str, raw: bytes) -> None:
    from scripts.invoke import invoke

    emu = handler_env
    before = len(emu.control.requests())
    try:
        invoke(function, raw)
    except (EventValidationError, ConfigError):
        assert len(emu.control.requests()) == before, f"{function} made an API call before refusing {raw!r}"
    except ImageRelayError:  # a valid request met an empty world (a cloud error, a ledger conflict): typed
        pass
