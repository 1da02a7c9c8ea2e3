"""Event parsing: fixtures parse, malformed variants fail with the exact field."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import EventValidationError
from shared.events import ImageCreated, TimerTick, parse_image_event, parse_timer_event
from tests.events import load_event


def _doc(name: str) -> dict[str, Any]:
    return json.loads(load_event(name))


def test_create_image_with_response_elements() -> None:
    got = parse_image_event(load_event("actiontrail_create_image.json"))
    assert got == ImageCreated(
        event_id="7adc8c1a-645d-4476-bdef-5d6fb57f****",
        region="cn-hangzhou",
        image_id="m-bp1a2b3c4d5e6f7g8h9i",
        source="actiontrail",
        event_name="CreateImage",
        account_id="123456789098****",
    )


def test_create_image_with_referenced_resources_only_uses_envelope_region() -> None:
    got = parse_image_event(load_event("actiontrail_create_image_referenced"))
    assert (got.region, got.image_id) == ("ap-southeast-1", "m-t4nreferenced01")


def test_copy_image_points_at_destination_region() -> None:
    got = parse_image_event(load_event("actiontrail_copy_image"))
    assert (got.region, got.image_id, got.event_name) == ("cn-beijing", "m-2zecopy0001", "CopyImage")


def test_image_id_from_request_parameters() -> None:
    doc = _doc("actiontrail_create_image")
    del doc["data"]["responseElements"]
    doc["data"]["requestParameters"]["ImageId"] = "m-fromrequest1"
    assert parse_image_event(doc).image_id == "m-fromrequest1"


def test_manual_request_and_str_and_dict_inputs() -> None:
    raw = load_event("manual_replicate")
    expected = ImageCreated(
        event_id=None, region="cn-hangzhou", image_id="m-bp1manual0001", source="manual", event_name="replicate"
    )
    assert parse_image_event(raw) == expected
    assert parse_image_event(raw.decode()) == expected
    assert parse_image_event(json.loads(raw)) == expected


def test_unknown_keys_are_ignored() -> None:
    doc = _doc("actiontrail_create_image")
    doc["brandNewKey"] = {"x": 1}
    doc["data"]["anotherNewKey"] = [1, 2]
    assert parse_image_event(doc).image_id == "m-bp1a2b3c4d5e6f7g8h9i"


def _mutate(path: tuple[str, ...], value: Any, fixture: str = "actiontrail_create_image") -> dict[str, Any]:
    doc = copy.deepcopy(_doc(fixture))
    target = doc
    for part in path[:-1]:
        target = target[part]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("data", "eventName"), "DeleteDisk", "data.eventName"),
        (("data", "eventName"), 7, "data.eventName"),
        (("data", "eventName"), _DELETE, "data.eventName"),
        (("data", "acsRegion"), "Hangzhou!", "data.acsRegion"),
        (("data", "acsRegion"), 1, "data.acsRegion"),
        (("data", "responseElements", "ImageId"), "img-123", "data.responseElements.ImageId"),
        (("data", "responseElements", "ImageId"), 42, "data.responseElements.ImageId"),
        (("data", "referencedResources"), {"ACS::ECS::Image": "m-x"}, "data.referencedResources.ACS::ECS::Image"),
        (("data", "errorCode"), "QuotaExceed.Image", "data.errorCode"),
        (("data",), "not-an-object", "data"),
        (("data",), _DELETE, "data"),
        (("id",), _DELETE, "id"),
        (("id",), 12, "id"),
        (("type",), "ecs:Disk:Created", "type"),
    ],
)
def test_malformed_cloudevent_names_field(path: tuple[str, ...], value: Any, field: str) -> None:
    with pytest.raises(EventValidationError) as err:
        parse_image_event(_mutate(path, value))
    assert err.value.field == field
    assert str(err.value).startswith(field)


def test_missing_image_id_everywhere() -> None:
    doc = _mutate(("data", "responseElements"), _DELETE)
    with pytest.raises(EventValidationError) as err:
        parse_image_event(doc)
    assert err.value.field == "data.responseElements.ImageId"


def test_bad_referenced_image_id_names_index() -> None:
    doc = _mutate(("data", "referencedResources", "ACS::ECS::Image"), ["M-UPPER"], "actiontrail_create_image_referenced")
    with pytest.raises(EventValidationError) as err:
        parse_image_event(doc)
    assert err.value.field == "data.referencedResources.ACS::ECS::Image[0]"


def test_missing_region_everywhere() -> None:
    doc = _mutate(("aliyunregionid",), _DELETE, "actiontrail_create_image_referenced")
    with pytest.raises(EventValidationError) as err:
        parse_image_event(doc)
    assert err.value.field == "data.acsRegion"


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"action": "replicate", "region": "cn-hangzhou"}, "image_id"),
        ({"action": "replicate", "region": "cn-hangzhou", "image_id": "m-BAD"}, "image_id"),
        ({"action": "replicate", "region": "CN", "image_id": "m-ok1"}, "region"),
        ({"action": "delete", "region": "cn-hangzhou", "image_id": "m-ok1"}, "action"),
        ({"action": "replicate", "region": 5, "image_id": "m-ok1"}, "region"),
    ],
)
def test_malformed_manual_request_names_field(doc: dict[str, Any], field: str) -> None:
    with pytest.raises(EventValidationError) as err:
        parse_image_event(doc)
    assert err.value.field == field


@pytest.mark.parametrize("raw", [b"", b"{", b"[1, 2]", b"\xff\xfe", b"null", b'{"hello": 1}', b"{}"])
def test_undecodable_or_unrecognised_is_event_field(raw: bytes) -> None:
    with pytest.raises(EventValidationError) as err:
        parse_image_event(raw)
    assert err.value.field == "event"


def test_timer_fixture() -> None:
    tick = parse_timer_event(load_event("timer"))
    assert tick == TimerTick(
        trigger_time=dt.datetime(2019, 3, 29, 6, 41, 57, tzinfo=dt.timezone.utc),
        trigger_name="timer-fc-trigger",
        payload="some-custom-payload",
    )
    assert tick.trigger_time is not None and tick.trigger_time.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("raw", [b"", b"   ", b"{}", None])
def test_timer_empty_is_all_none(raw: bytes | None) -> None:
    assert parse_timer_event(raw) == TimerTick(trigger_time=None, trigger_name=None, payload=None)


def test_timer_offset_converted_to_utc() -> None:
    tick = parse_timer_event({"triggerTime": "2024-01-01T08:00:00+08:00"})
    assert tick.trigger_time == dt.datetime(2024, 1, 1, 0, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"triggerTime": "yesterday"}, "triggerTime"),
        ({"triggerTime": 1700000000}, "triggerTime"),
        ({"triggerName": ["x"]}, "triggerName"),
        ({"payload": {"a": 1}}, "payload"),
    ],
)
def test_timer_bad_types_name_field(doc: dict[str, Any], field: str) -> None:
    with pytest.raises(EventValidationError) as err:
        parse_timer_event(doc)
    assert err.value.field == field


def test_timer_non_object_is_event_field() -> None:
    with pytest.raises(EventValidationError) as err:
        parse_timer_event(b"[]")
    assert err.value.field == "event"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
_keys = st.sampled_from(["id", "type", "source", "data", "action", "region", "image_id", "specversion",
                         "eventName", "acsRegion", "responseElements", "referencedResources", "aliyunregionid"])
_eventish = st.recursive(
    _json,
    lambda children: st.dictionaries(_keys, children, max_size=6),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_only_raise_event_validation_error(raw: bytes) -> None:
    try:
        parse_image_event(raw)
    except EventValidationError:
        pass
    try:
        parse_timer_event(raw)
    except EventValidationError:
        pass


@settings(max_examples=300, deadline=None)
@given(_eventish)
def test_arbitrary_json_only_raises_event_validation_error(doc: Any) -> None:
    for raw in (json.dumps(doc).encode(), doc if isinstance(doc, dict) else json.dumps(doc)):
        try:
            result = parse_image_event(raw)
        except EventValidationError as exc:
            assert exc.field
        else:
            assert result.image_id.startswith("m-")
