"""EventBridge (2020-04-01) PutEvents through the REAL SDK (`alibabacloud_eventbridge20200401`), region by host."""
from __future__ import annotations

import json

import pytest
from alibabacloud_eventbridge20200401 import models as eb_models
from alibabacloud_eventbridge20200401.client import Client as EbClient
from alibabacloud_tea_openapi import models as open_api_models

from emulator import Emulator, EmulatorControl

from .helpers import raises_code


@pytest.fixture
def eb(emulator: Emulator, control: EmulatorControl) -> EbClient:
    control.seed({"event_buses": [{"region": "cn-beijing", "name": "relay-alerts"}]})
    host = emulator.url.split("://", 1)[1]
    return EbClient(open_api_models.Config(access_key_id="test-ak", access_key_secret="test-secret",
                                           region_id="cn-beijing", endpoint="eventbridge.cn-beijing.aliyuncs.com",
                                           protocol="http", http_proxy=f"http://{host}"))


def _event(**kw: object) -> eb_models.PutEventsRequestEventList:
    return eb_models.PutEventsRequestEventList(**{"id": "e-1", "source": "image-relay", "type": "t:x",
                                                  "data": json.dumps({"a": 1}), **kw})


def test_put_events_accepts_events_and_logs_them(eb: EbClient, control: EmulatorControl) -> None:
    body = eb.put_events(eb_models.PutEventsRequest(event_bus_name="relay-alerts", event_list=[_event()])).body
    assert (body.code, body.success, body.data.failed_entry_count) == ("200", True, 0)
    assert [e.event_id for e in body.data.entry_list] == ["e-1"] and body.data.entry_list[0].trace_id
    assert control.eventbridge_events() == [{"region": "cn-beijing", "bus": "relay-alerts", "event": {
        "Id": "e-1", "Source": "image-relay", "Type": "t:x", "Data": {"a": 1}}}]
    call = control.requests()[-1]
    assert (call["service"], call["region"], call["action"], call["status"]) == (
        "eventbridge", "cn-beijing", "PutEvents", 200)


def test_an_event_without_source_is_a_failed_entry_beside_accepted_ones(eb: EbClient) -> None:
    request = eb_models.PutEventsRequest(event_bus_name="relay-alerts",
                                         event_list=[_event(), _event(id="e-2", source=None)])
    data = eb.put_events(request).body.data
    assert data.failed_entry_count == 1
    assert [(e.event_id, e.error_code) for e in data.entry_list] == [("e-1", ""), ("e-2", "InvalidArgument")]


def test_an_unknown_bus_is_event_bus_not_exist(eb: EbClient) -> None:
    with raises_code("EventBusNotExist", 404):
        eb.put_events(eb_models.PutEventsRequest(event_bus_name="nope", event_list=[_event()]))


def test_more_than_sixteen_events_is_invalid(eb: EbClient) -> None:
    with raises_code("InvalidArgument", 400):
        eb.put_events(eb_models.PutEventsRequest(event_bus_name="relay-alerts",
                                                 event_list=[_event(id=f"e-{i}") for i in range(17)]))
