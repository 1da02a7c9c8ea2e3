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

from shared.clouds._clients import cached_client, loopback_endpoint, reveal
from shared.clouds._errors import business_error
from shared.clouds._gateway import RpcGateway
from shared.clouds._retry import RetryPolicy
from shared.config import Credentials
from shared.runtime import Deadline


def eventbridge_config(region: str, credentials: Credentials, endpoint: str | None) -> Any:
    """A tea-openapi Config for the EventBridge client of `region` (proxy mode against the emulator)."""
    from alibabacloud_tea_openapi.utils_models import Config

    host, _ = loopback_endpoint(endpoint)
    return Config(
        access_key_id=credentials.access_key_id,
        access_key_secret=reveal(credentials.access_key_secret),
        security_token=reveal(credentials.security_token),
        region_id=region,
        endpoint=f"eventbridge.{region}.aliyuncs.com",
        protocol="http" if endpoint else "https",
        http_proxy=f"http://{host}" if host else None,
        connect_timeout=5000,
        read_timeout=10000,
    )


class EventBridgeGateway(RpcGateway):
    """PutEvents for one set of credentials; `client_for(region)` is injectable."""

    @classmethod
    def connect(cls, credentials: Credentials, *, endpoint: str | None = None, retry: RetryPolicy | None = None,
                deadline: Deadline | None = None) -> EventBridgeGateway:
        """Real SDK clients, cached per region and credentials; `endpoint` sends them to the emulator."""

        def client_for(region: str) -> Any:
            return cached_client("eventbridge", region, credentials, endpoint,
                                 lambda: EbClient(eventbridge_config(region, credentials, endpoint)))

        return cls(client_for, retry=retry, deadline=deadline)

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
