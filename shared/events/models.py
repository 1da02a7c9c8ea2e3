"""Shapes of the payloads image-relay receives (alibaba-api.md §4.1, §4.3, §4.4).

Why lenient here and strict in ``parse.py``: events grow new keys, so every model ignores
unknown keys; but the few keys we act on are type-checked (no int-to-str coercion surprises)
and region/image id formats are checked before anything touches the cloud (invariant 6).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.ledger.record import MAX_KEY_LENGTH, event_key

ACTIONTRAIL_API_CALL = "ecs:ActionTrail:ApiCall"
# ActionTrail events whose call leaves a new custom image behind.
IMAGE_CREATING_EVENTS = frozenset({"CreateImage", "CopyImage"})
IMAGE_RESOURCE_TYPE = "ACS::ECS::Image"


class _Lenient(BaseModel):
    """Unknown keys are ignored (events grow); values are validated strictly (no coercion)."""

    model_config = ConfigDict(defer_build=True, extra="ignore", strict=True, frozen=True, populate_by_name=True)


#: Longest CloudEvent id accepted. EventBridge ids are UUIDs; the id is remembered in the ledger, so an
#: id too long for a ledger key must be refused before the first call, not after it (issue #10, defect 9).
MAX_EVENT_ID_LENGTH = 256


class CloudEvent(_Lenient):
    """EventBridge CloudEvents 1.0 envelope as FC receives it (§4.1)."""

    id: str = Field(min_length=1, max_length=MAX_EVENT_ID_LENGTH)
    source: str
    type: str
    specversion: str | None = None
    subject: str | None = None
    time: str | None = None
    datacontenttype: str | None = None
    aliyunaccountid: str | None = None
    aliyunregionid: str | None = None
    aliyuneventbusname: str | None = None
    data: dict[str, Any]

    @field_validator("id")
    @classmethod
    def _fits_the_ledger(cls, value: str) -> str:
        if len(event_key(value)) > MAX_KEY_LENGTH:
            raise ValueError(f"too long once percent-encoded for the ledger (at most {MAX_KEY_LENGTH} characters)")
        return value


class ActionTrailApiCall(_Lenient):
    """The ``data`` of an ``ecs:ActionTrail:ApiCall`` event (§4.3); only the keys we read."""

    event_name: str = Field(alias="eventName", min_length=1)
    acs_region: str | None = Field(default=None, alias="acsRegion")
    event_id: str | None = Field(default=None, alias="eventId")
    event_time: str | None = Field(default=None, alias="eventTime")
    service_name: str | None = Field(default=None, alias="serviceName")
    error_code: str | None = Field(default=None, alias="errorCode")
    referenced_resources: dict[str, list[str]] | None = Field(default=None, alias="referencedResources")
    request_parameters: dict[str, Any] | None = Field(default=None, alias="requestParameters")
    response_elements: dict[str, Any] | None = Field(default=None, alias="responseElements")


class ManualRequest(_Lenient):
    """A person's request: ``{"action": "replicate", "region": "...", "image_id": "m-..."}``."""

    action: Literal["replicate"]
    region: str
    image_id: str


class TimerPayload(_Lenient):
    """FC timer trigger payload (§4.4); every key may be absent on a manual run."""

    trigger_time: str | None = Field(default=None, alias="triggerTime")
    trigger_name: str | None = Field(default=None, alias="triggerName")
    payload: str | None = None


class ImageCreated(BaseModel):
    """A custom image that now exists (or is being made) in ``region``: the planner's input."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    event_id: str | None
    region: str
    image_id: str
    source: Literal["actiontrail", "manual"]
    event_name: str
    #: The envelope's ``aliyunaccountid`` (None for a person's request): checked against the function's
    #: own account before any call (invariant 8).
    account_id: str | None = None


class TimerTick(BaseModel):
    """A timer invocation; all None for a manual run with an empty payload."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    trigger_time: dt.datetime | None = None
    trigger_name: str | None = None
    payload: str | None = None
