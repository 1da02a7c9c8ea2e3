"""ACR PushCompleted events and manual ACR requests: fixtures parse; every bad key names its field."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import EventValidationError
from shared.events.acr import BackfillRequest, ReplicateTag, TagPushed, parse_acr_request, parse_push_event
from tests.events import load_event

DIGEST = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def _push() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(load_event("acr_push_completed"))
    return doc


def _error(raw: Any, parser: Any = parse_push_event) -> EventValidationError:
    with pytest.raises(EventValidationError) as err:
        parser(raw)
    return err.value


def test_push_completed_fixture() -> None:
    pushed = parse_push_event(load_event("acr_push_completed"))
    assert pushed == TagPushed(
        event_id="2f1c7a9e-4b1d-4c7e-9a55-acr0push0001",
        region="cn-hangzhou",
        instance_id="cri-hzsrc01",
        instance_name="acr-hz",
        namespace="web",
        repository="frontend",
        tag="v1.2.3",
        digest=DIGEST,
        repo_id="crr-hzfrontend01",
        account_id="123456789098****",
    )
    assert parse_acr_request(load_event("acr_push_completed")) == pushed


def test_camel_case_fixture() -> None:
    pushed = parse_push_event(load_event("acr_push_completed_camel"))
    assert (pushed.instance_id, pushed.namespace, pushed.repository, pushed.tag) == (
        "cri-hzsrc01", "web", "frontend", "v1.2.4")
    assert pushed.region == "cn-hangzhou"  # no regionId in data: from the envelope
    assert pushed.repo_id == "crr-hzfrontend01" and pushed.instance_name == "acr-hz"
    assert pushed.digest is not None and pushed.digest.startswith("sha256:")
    assert pushed.account_id == "123456789098****"


def test_repo_namespace_name_camel_spelling() -> None:
    doc = _push()
    data = doc["data"]
    data["repoNamespaceName"] = data.pop("RepoNamespaceName")
    assert parse_push_event(doc).namespace == "web"


def test_inputs_bytes_str_dict_and_unknown_keys_ignored() -> None:
    doc = _push()
    doc["data"]["SomethingNew"] = {"nested": [1, 2]}
    doc["extension"] = "x"
    for raw in (json.dumps(doc).encode(), json.dumps(doc), doc):
        assert parse_push_event(raw).tag == "v1.2.3"


def test_optional_keys_absent_or_null() -> None:
    doc = _push()
    for key in ("InstanceName", "RepoId", "Digest"):
        del doc["data"][key]
    doc["data"]["RegionId"] = None  # null counts as absent: the envelope's region is used
    del doc["aliyunaccountid"]
    pushed = parse_push_event(doc)
    assert (pushed.instance_name, pushed.repo_id, pushed.digest, pushed.account_id) == (None, None, None, None)
    assert pushed.region == "cn-hangzhou"


def test_region_prefers_data_over_envelope() -> None:
    doc = _push()
    doc["data"]["RegionId"] = "cn-beijing"
    assert parse_push_event(doc).region == "cn-beijing"


@pytest.mark.parametrize("account", ["123456789098****", "1234567890981234", "1****"])
def test_account_ids_stay_strings(account: str) -> None:
    doc = _push()
    doc["aliyunaccountid"] = account
    assert parse_push_event(doc).account_id == account


def _set(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("type",), "cr:Artifact:SynchronizationCompleted", "type"),
        (("type",), 7, "type"),
        (("source",), "acs.ecs", "source"),
        (("id",), _DELETE, "id"),
        (("id",), "", "id"),
        (("data",), _DELETE, "data"),
        (("data",), [], "data"),
        (("aliyunaccountid",), 123456789098, "aliyunaccountid"),
        (("aliyunaccountid",), "12345abc", "aliyunaccountid"),
        (("data", "InstanceId"), _DELETE, "data.InstanceId"),
        (("data", "InstanceId"), "i-abc", "data.InstanceId"),
        (("data", "InstanceId"), 42, "data.InstanceId"),
        (("data", "InstanceId"), "", "data.InstanceId"),
        (("data", "RepoNamespaceName"), _DELETE, "data.RepoNamespaceName"),
        (("data", "RepoNamespaceName"), "Web/x", "data.RepoNamespaceName"),
        (("data", "RepoName"), _DELETE, "data.RepoName"),
        (("data", "RepoName"), ["frontend"], "data.RepoName"),
        (("data", "Tag"), _DELETE, "data.Tag"),
        (("data", "Tag"), None, "data.Tag"),
        (("data", "Tag"), "-bad", "data.Tag"),
        (("data", "Tag"), "v" * 129, "data.Tag"),
        (("data", "Digest"), "sha256:xyz", "data.Digest"),
        (("data", "Digest"), 5, "data.Digest"),
        (("data", "RepoId"), "repo-1", "data.RepoId"),
        (("data", "RegionId"), "Hangzhou", "data.RegionId"),
        (("data", "InstanceName"), {"a": 1}, "data.InstanceName"),
        (("data", "InstanceName"), "n" * 300, "data.InstanceName"),
    ],
)
def test_malformed_push_names_field(path: tuple[str, ...], value: Any, field: str) -> None:
    doc = _set(_push(), path, value)
    err = _error(doc)
    assert err.field == field, (err.field, err.message)
    assert err.message


def test_missing_region_everywhere() -> None:
    doc = _push()
    del doc["data"]["RegionId"], doc["aliyunregionid"]
    assert _error(doc).field == "data.RegionId"
    doc["aliyunregionid"] = "Hangzhou!"
    assert _error(doc).field == "aliyunregionid"


def test_missing_key_message_lists_camel_spellings() -> None:
    doc = _push()
    del doc["data"]["RepoNamespaceName"]
    err = _error(doc)
    assert err.field == "data.RepoNamespaceName"
    assert "data.repoNamespaceName" in err.message and "data.namespace" in err.message


def test_conflicting_spellings_are_refused() -> None:
    doc = _push()
    doc["data"]["tag"] = "v9.9.9"
    err = _error(doc)
    assert err.field == "data.Tag" and "data.tag" in err.message
    doc["data"]["tag"] = "v1.2.3"  # the same value twice is fine
    assert parse_push_event(doc).tag == "v1.2.3"


@pytest.mark.parametrize(("raw", "field"), [(b"", "event"), (b"{}", "event"), (b"[]", "event"),
                                            (b"\xff", "event"), (b"{not json", "event"), (b'{"x": 1}', "event"),
                                            (b'{"action": "backfill", "rule": "web"}', "action")])
def test_push_parser_refuses_non_events(raw: bytes, field: str) -> None:
    assert _error(raw).field == field


# --- manual requests ------------------------------------------------------------------------


def test_manual_fixtures() -> None:
    assert parse_acr_request(load_event("acr_manual_backfill")) == BackfillRequest(
        action="backfill", rule="web", tag_regex=r"^v1\.", max_age_days=30, dry_run=True, max_tags=500)
    assert parse_acr_request(load_event("acr_manual_replicate_tag")) == ReplicateTag(
        action="replicate_tag", instance_id="cri-hzsrc01", namespace="web", repository="frontend", tag="v1.2.3")


def test_backfill_defaults() -> None:
    request = parse_acr_request({"action": "backfill", "rule": "web"})
    assert request == BackfillRequest(action="backfill", rule="web")
    assert isinstance(request, BackfillRequest)
    assert (request.tag_regex, request.max_age_days, request.dry_run, request.max_tags) == (None, None, False, 500)


_BACKFILL: dict[str, Any] = json.loads(load_event("acr_manual_backfill"))
_REPLICATE: dict[str, Any] = json.loads(load_event("acr_manual_replicate_tag"))


@pytest.mark.parametrize(
    ("base", "changes", "field"),
    [
        (_BACKFILL, {"dryrun": False}, "dryrun"),  # a typo cannot turn a dry run into a real one
        (_BACKFILL, {"dry_run": "false"}, "dry_run"),
        (_BACKFILL, {"dry_run": 0}, "dry_run"),
        (_BACKFILL, {"rule": None}, "rule"),
        (_BACKFILL, {"rule": "Web!"}, "rule"),
        (_BACKFILL, {"tag_regex": "("}, "tag_regex"),
        (_BACKFILL, {"tag_regex": "a" * 257}, "tag_regex"),
        (_BACKFILL, {"max_age_days": 0}, "max_age_days"),
        (_BACKFILL, {"max_age_days": "30"}, "max_age_days"),
        (_BACKFILL, {"max_tags": 0}, "max_tags"),
        (_BACKFILL, {"max_tags": 10_001}, "max_tags"),
        (_BACKFILL, {"max_tags": 5.5}, "max_tags"),
        (_REPLICATE, {"instance_id": "i-1"}, "instance_id"),
        (_REPLICATE, {"namespace": "Web"}, "namespace"),
        (_REPLICATE, {"repository": ""}, "repository"),
        (_REPLICATE, {"tag": ".x"}, "tag"),
        (_REPLICATE, {"tag": 1}, "tag"),
        (_REPLICATE, {"region": "cn-hangzhou"}, "region"),
        (_REPLICATE, {"action": "replicate"}, "action"),
        (_REPLICATE, {"action": None}, "action"),
    ],
)
def test_malformed_manual_request_names_field(base: dict[str, Any], changes: dict[str, Any], field: str) -> None:
    doc = {**base, **changes}
    if changes.get("rule", "") is None:
        del doc["rule"]
    err = _error(doc, parse_acr_request)
    assert err.field == field, (err.field, err.message)


@pytest.mark.parametrize("key", ["instance_id", "namespace", "repository", "tag"])
def test_replicate_tag_missing_key(key: str) -> None:
    doc = dict(_REPLICATE)
    del doc[key]
    assert _error(doc, parse_acr_request).field == key


def test_empty_request_is_event_field() -> None:
    assert _error(b"", parse_acr_request).field == "event"
    assert _error({}, parse_acr_request).field == "event"


# --- property: nothing but EventValidationError ---------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
_keys = st.sampled_from([
    "id", "type", "source", "data", "specversion", "aliyunregionid", "aliyunaccountid", "action", "rule",
    "tag_regex", "max_age_days", "dry_run", "max_tags", "instance_id", "namespace", "repository", "tag",
    "InstanceId", "instanceId", "InstanceName", "RegionId", "regionId", "RepoId", "RepoNamespaceName",
    "repoNamespaceName", "RepoName", "repoName", "Tag", "Digest", "digest",
])
_values = _json | st.sampled_from([
    "cr:Artifact:PushCompleted", "acs.cr", "backfill", "replicate_tag", "cri-hzsrc01", "cn-hangzhou",
    "web", "v1.2.3", "123456789098****", DIGEST, "crr-abc", "(", "^v",
])
_eventish = st.recursive(_values, lambda children: st.dictionaries(_keys, children, max_size=8), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(_eventish)
def test_arbitrary_json_only_raises_event_validation_error(doc: Any) -> None:
    for raw in (json.dumps(doc).encode(), doc if isinstance(doc, dict) else json.dumps(doc)):
        for parser in (parse_acr_request, parse_push_event):
            try:
                result = parser(raw)
            except EventValidationError as exc:
                assert exc.field
            else:
                assert isinstance(result, (TagPushed, BackfillRequest, ReplicateTag))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_only_raise_event_validation_error(raw: bytes) -> None:
    for parser in (parse_acr_request, parse_push_event):
        try:
            parser(raw)
        except EventValidationError as exc:
            assert exc.field


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=8))
def test_arbitrary_push_data_only_raises_event_validation_error(data: dict[str, Any]) -> None:
    doc = _push()
    doc["data"] = data
    try:
        pushed = parse_push_event(doc)
    except EventValidationError as exc:
        assert exc.field
    else:
        assert pushed.instance_id.startswith("cri-")
