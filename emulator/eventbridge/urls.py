"""EventBridge (API version 2020-04-01): PutEvents to a custom event bus, and ListEventBuses.

Wire shape (official `alibabacloud_eventbridge20200401` 8.x, `put_events_with_options`; doc
https://www.alibabacloud.com/help/en/eventbridge/developer-reference/api-eventbridge-2020-04-01-putevents):
RPC, POST, form body `EventBusName` and `EventList` (a JSON *string*: a list of CloudEvents with
`Id`, `Source`, `Type` required, `Data`, `DataContentType`, `DataSchema`, `SpecVersion`, `Subject`,
`Time` optional). Answer `{"RequestId", "Code": "200", "Success": true, "Message": "success",
"Data": {"FailedEntryCount", "EntryList": [{"EventId", "TraceId", "ErrorCode", "ErrorMessage"}]}}`.
The region is the endpoint host `eventbridge.<region>.aliyuncs.com` (proxy mode, like CR).

Choices where the docs are silent (UNCONFIRMED): an unknown bus answers 404 `EventBusNotExist`
("The event bus [name] not existed!"); an entry without `Id`, `Source` or `Type` is a failed entry
(`ErrorCode` `InvalidArgument`) while the others are accepted; at most 16 entries per call
(`InvalidArgument`, 400, above). ListEventBuses answers `Data.EventBuses[{EventBusName, Description,
CreateTimestamp}]`.

Seed: `event_buses: [{"region", "name"}]`. Control: `GET /_emulator/eventbridge/events` lists every
accepted event `{region, bus, event}` (the CloudEvent as sent, `data` parsed when JSON).
"""
from __future__ import annotations

import json
import re
import uuid
from typing import Any

from pydantic import BaseModel, Field

from emulator.core.dispatch import HttpRequest, HttpResponse
from emulator.core.errors import (
    EmulatorError,
    InvalidActionError,
    InvalidParameterError,
    MissingParameterError,
)
from emulator.core.params import Params
from emulator.core.state import State, StrictModel

VERSION = "2020-04-01"
MAX_ENTRIES = 16
_HOST = re.compile(r"^eventbridge(?:-vpc)?\.([a-z0-9-]+)\.aliyuncs\.com(?::\d+)?$", re.I)


class SeedBus(StrictModel):
    """A custom event bus."""

    region: str
    name: str = Field(min_length=1, max_length=127)


class EventBridgeSeed(StrictModel):
    """The EventBridge part of a seed."""

    event_buses: list[SeedBus] = Field(default_factory=list)


def _region(request: HttpRequest) -> str | None:
    host = next((v for k, v in request.headers.items() if k.lower() == "host"), "")
    match = _HOST.match(host.strip())
    return match.group(1).lower() if match else None


class EventBridgeService:
    """The EventBridge plug-in (HostRoutedService: the region is the endpoint host)."""

    name = "eventbridge"
    version = VERSION
    host_id = "eventbridge.aliyuncs.com"
    seed_model: type[BaseModel] = EventBridgeSeed

    def __init__(self, state: State) -> None:
        self.state = state
        self.buses: dict[tuple[str, str], float] = {}
        self.events: list[dict[str, Any]] = []

    def reset(self) -> None:
        self.buses.clear()
        self.events.clear()

    def validate_seed(self, seed: BaseModel, regions: list[str]) -> None:
        return None

    def apply_seed(self, seed: BaseModel) -> None:
        for bus in getattr(seed, "event_buses", []) or []:
            self.buses[(bus.region, bus.name)] = self.state.clock.now()

    def settle(self, now: float) -> None:
        return None

    def call(self, action: str, params: Params) -> dict[str, Any]:
        return self.call_in_region(action, params, None)

    def request_region(self, request: HttpRequest, params: Params) -> str | None:
        return _region(request)

    def handle_request(self, request: HttpRequest, action: str, params: Params) -> dict[str, Any]:
        return self.call_in_region(action, params, _region(request))

    def call_in_region(self, action: str, params: Params, region: str | None) -> dict[str, Any]:
        if action == "PutEvents":
            return self._put_events(params, region or "cn-hangzhou")
        if action == "ListEventBuses":
            buses = [{"EventBusName": name, "Description": "", "CreateTimestamp": int(created * 1000)}
                     for (r, name), created in sorted(self.buses.items()) if r == (region or "cn-hangzhou")]
            return {"Code": "200", "Success": True, "Message": "success",
                    "Data": {"EventBuses": buses, "Total": len(buses), "NextToken": ""}}
        raise InvalidActionError()

    def _put_events(self, params: Params, region: str) -> dict[str, Any]:
        bus = params.get_str("EventBusName")
        if not bus:
            raise MissingParameterError("EventBusName")
        raw = params.get_str("EventList")
        if not raw:
            raise MissingParameterError("EventList")
        try:
            events = json.loads(raw)
        except ValueError:
            raise InvalidParameterError("EventList", "is not a JSON list", code="InvalidArgument") from None
        if not isinstance(events, list) or not events or len(events) > MAX_ENTRIES:
            raise InvalidParameterError("EventList", f"must hold 1-{MAX_ENTRIES} events", code="InvalidArgument")
        if (region, bus) not in self.buses:
            raise EmulatorError("EventBusNotExist", 404, f"The event bus [{bus}] not existed!")
        entries = []
        for event in events:
            missing = [k for k in ("Id", "Source", "Type") if not (isinstance(event, dict) and event.get(k))]
            if missing:
                entries.append({"EventId": event.get("Id") if isinstance(event, dict) else None,
                                "TraceId": None, "ErrorCode": "InvalidArgument",
                                "ErrorMessage": f"missing {', '.join(missing)}"})
                continue
            data = event.get("Data")
            if isinstance(data, str):
                try:
                    data = json.loads(data)
                except ValueError:
                    pass
            self.events.append({"region": region, "bus": bus, "event": {**event, "Data": data}})
            entries.append({"EventId": event["Id"], "TraceId": uuid.uuid4().hex, "ErrorCode": "",
                            "ErrorMessage": ""})
        failed = sum(1 for e in entries if e["ErrorCode"])
        return {"Code": "200", "Success": True, "Message": "success",
                "Data": {"FailedEntryCount": failed, "EntryList": entries}}

    def handle_control(self, method: str, name: str, payload: Any) -> HttpResponse | None:
        if (method, name) == ("GET", "eventbridge/events"):
            return HttpResponse(200, list(self.events))
        return None
