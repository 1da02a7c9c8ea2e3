"""The EventBridge adapter: PutEvents to a custom bus through `alibabacloud_eventbridge20200401`.

Why this SDK: it is the official, maintained one (8.x) and shares tea-openapi with the other adapters;
the older data-plane package `alibabacloud-eventbridge` pins `alibabacloud-credentials<1`, which the
rest of the stack cannot take. PutEvents is RPC (form body, `EventList` a JSON string); the region is
the endpoint host `eventbridge.<region>.aliyuncs.com`, so against the emulator the client keeps that
host and goes through the emulator as its proxy (as the CR adapter does). A PutEvents answer may
report failed entries inside a 200: `put_events` raises for them.
"""
from __future__ import annotations

from typing import Any

from alibabacloud_eventbridge20200401 import models as eb_models
from alibabacloud_eventbridge20200401.client import Client as EbClient

from shared.clouds._clients import openapi_config
from shared.clouds._errors import business_error
from shared.clouds._gateway import RpcGateway
from shared.config import Credentials


class EventBridgeGateway(RpcGateway):
    """PutEvents for one set of credentials; `client_for(region)` is injectable."""

    SERVICE = "eventbridge"

    @classmethod
    def sdk_client(cls, region: str, credentials: Credentials, endpoint: str | None) -> Any:
        """The official SDK client of `region` (`connect`, inherited, caches one per region and credentials)."""
        return EbClient(openapi_config(region, credentials, endpoint, host=f"eventbridge.{region}.aliyuncs.com"))

    def put_events(self, region: str, bus: str, events: list[dict[str, Any]]) -> list[str]:
        """Send CloudEvents (`id, source, type, subject, time, data`) to `bus`; the accepted event ids.

        The event id makes a repeat harmless downstream (EventBridge consumers de-duplicate by it).
        """
        entries = [eb_models.PutEventsRequestEventList(
            id=e["id"], source=e["source"], type=e["type"], subject=e.get("subject"), time=e.get("time"),
            spec_version="1.0", data_content_type="application/json", data=e.get("data"))
            for e in events]
        body = self._call(region, "put_events", eb_models.PutEventsRequest(event_bus_name=bus, event_list=entries))
        data = body.get("Data") or {}
        failed = [e for e in data.get("EntryList") or [] if e.get("ErrorCode")]
        if failed or data.get("FailedEntryCount"):
            first = failed[0] if failed else {}
            raise business_error(str(first.get("ErrorCode") or "PutEventsFailed"),
                                 str(first.get("ErrorMessage") or "an event was not accepted"), body.get("RequestId"))
        return [str(e.get("EventId")) for e in data.get("EntryList") or []]
