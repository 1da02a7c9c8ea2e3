"""Turn trigger bytes into the two inputs the functions act on: ``ImageCreated`` and ``TimerTick``.

Decision on other ApiCall events (e.g. ``DeleteDisk``): they raise ``EventValidationError``
with field ``data.eventName`` instead of returning an "ignored" result. The EventBridge rule
filters on eventName, so such an event means a misconfigured rule: failing loudly (with no
side effect) surfaces that, and one error type keeps handlers simple.

Where the new image id sits in ActionTrail is UNCONFIRMED (alibaba-api.md §4.3), so it is
looked up in order: ``responseElements.ImageId``, ``referencedResources["ACS::ECS::Image"]``,
``requestParameters.ImageId``. For CopyImage the new image lives in the destination region
(``requestParameters.DestinationRegionId``) when the response names it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from shared.errors import EventValidationError
from shared.events.envelopes import decode_json, envelope_kind, require_object, validate
from shared.events.models import (
    ACTIONTRAIL_API_CALL,
    IMAGE_CREATING_EVENTS,
    IMAGE_RESOURCE_TYPE,
    ActionTrailApiCall,
    CloudEvent,
    ImageCreated,
    ManualRequest,
    TimerPayload,
    TimerTick,
)
from shared.values import is_image_id, is_region

RawEvent = bytes | bytearray | str | dict[str, Any]
_DATETIME = TypeAdapter(dt.datetime)
P = TypeVar("P", bound=BaseModel)


def _check_region(value: str, field: str) -> str:
    if not is_region(value):
        raise EventValidationError(f"not a region id: {value[:80]!r}", field=field)
    return value


def _check_image_id(value: Any, field: str) -> str:
    if not isinstance(value, str) or not is_image_id(value):
        raise EventValidationError(f"not an image id (m-[a-z0-9]+): {str(value)[:80]!r}", field=field)
    return value


def _new_image(call: ActionTrailApiCall) -> tuple[str, str]:
    """(image id, dotted field it came from) for an image-creating ApiCall."""
    response = call.response_elements or {}
    if response.get("ImageId") is not None:
        return response["ImageId"], "data.responseElements.ImageId"
    images = (call.referenced_resources or {}).get(IMAGE_RESOURCE_TYPE) or []
    if images:
        field = f"data.referencedResources.{IMAGE_RESOURCE_TYPE}[0]"
        return images[0], field
    request = call.request_parameters or {}
    if call.event_name == "CreateImage" and request.get("ImageId") is not None:
        return request["ImageId"], "data.requestParameters.ImageId"
    raise EventValidationError(
        "no image id in responseElements, referencedResources or requestParameters",
        field="data.responseElements.ImageId",
    )


def _region_for(call: ActionTrailApiCall, envelope: CloudEvent, from_response: bool) -> tuple[str, str]:
    request = call.request_parameters or {}
    dest = request.get("DestinationRegionId")
    if call.event_name == "CopyImage" and from_response and isinstance(dest, str):
        return dest, "data.requestParameters.DestinationRegionId"
    if call.acs_region is not None:
        return call.acs_region, "data.acsRegion"
    if envelope.aliyunregionid is not None:
        return envelope.aliyunregionid, "aliyunregionid"
    raise EventValidationError("missing (and no aliyunregionid on the envelope)", field="data.acsRegion")


def _from_cloudevent(doc: dict[str, Any]) -> ImageCreated:
    envelope = validate(CloudEvent, doc)
    if envelope.type != ACTIONTRAIL_API_CALL:
        raise EventValidationError(f"expected {ACTIONTRAIL_API_CALL}, got {envelope.type[:80]!r}", field="type")
    call = validate(ActionTrailApiCall, envelope.data, prefix="data")
    if call.event_name not in IMAGE_CREATING_EVENTS:
        names = ", ".join(sorted(IMAGE_CREATING_EVENTS))
        raise EventValidationError(
            f"{call.event_name[:80]!r} does not create an image (expected one of {names})",
            field="data.eventName",
        )
    if call.error_code:
        # A failed call created nothing; acting on it would copy an image that does not exist.
        raise EventValidationError(f"the {call.event_name} call failed: {call.error_code[:80]}", field="data.errorCode")
    image_id, id_field = _new_image(call)
    region, region_field = _region_for(call, envelope, id_field.startswith("data.responseElements"))
    return ImageCreated(
        event_id=envelope.id,
        region=_check_region(region, region_field),
        image_id=_check_image_id(image_id, id_field),
        source="actiontrail",
        event_name=call.event_name,
        account_id=envelope.aliyunaccountid,
    )


def _from_manual(doc: dict[str, Any]) -> ImageCreated:
    request = validate(ManualRequest, doc)
    return ImageCreated(
        event_id=None,
        region=_check_region(request.region, "region"),
        image_id=_check_image_id(request.image_id, "image_id"),
        source="manual",
        event_name="replicate",
    )


def parse_image_event(raw: RawEvent) -> ImageCreated:
    """Parse an ActionTrail CloudEvent or a manual replicate request.

    Raises ``EventValidationError`` (and nothing else) naming the bad field.

    Examples
    --------
    >>> parse_image_event(b'{"action": "replicate", "region": "cn-hangzhou", "image_id": "m-abc"}').image_id
    'm-abc'
    """
    doc = require_object(decode_json(raw))
    kind = envelope_kind(doc)
    if kind == "manual":
        return _from_manual(doc)
    if kind == "empty":
        raise EventValidationError("empty event: expected a CloudEvent or a manual request", field="event")
    return _from_cloudevent(doc)


def _parse_time(value: str) -> dt.datetime:
    # pydantic's parser, not datetime.fromisoformat: Python 3.10's rejects "Z" and odd fractions.
    try:
        parsed = _DATETIME.validate_python(value)
    except ValidationError:
        raise EventValidationError(f"not an ISO 8601 time: {value[:80]!r}", field="triggerTime") from None
    if parsed.tzinfo is None:  # FC sends UTC with a Z; a naive value is taken as UTC
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def parse_timer_event(raw: RawEvent | None) -> TimerTick:
    """Parse an FC timer payload; empty bytes or ``{}`` (a manual run) give all-None fields.

    Examples
    --------
    >>> parse_timer_event(b'{"triggerTime": "2019-03-29T06:41:57Z", "triggerName": "t"}').trigger_time.year
    2019
    >>> parse_timer_event(b"") == TimerTick()
    True
    """
    doc = require_object(decode_json(raw))
    timer = validate(TimerPayload, doc)
    return TimerTick(
        trigger_time=_parse_time(timer.trigger_time) if timer.trigger_time else None,
        trigger_name=timer.trigger_name,
        payload=timer.payload,
    )


class StrictPayload(BaseModel):
    """Base of a timer's inner ``payload`` object: unknown keys and coercions are refused.

    Why strict: a payload that is not exactly understood must never be read as "the default"
    (``{"dry_run": "false"}`` is not false, ``[1]`` is not empty; issue #10, defect 10).
    """

    model_config = ConfigDict(defer_build=True, extra="forbid", strict=True, frozen=True)


def parse_timer_payload(text: str | None, model: type[P]) -> P | None:
    """The timer's inner ``payload`` string as ``model``; None when it is empty.

    Anything else (not JSON, nested too deeply, not an object, an unknown key, a wrong type) raises
    ``EventValidationError`` with field ``payload`` or ``payload.<key>``.

    Examples
    --------
    >>> parse_timer_payload("", ReconcileScope) is None
    True
    >>> parse_timer_payload('{"regions": ["cn-beijing"]}', ReconcileScope).regions
    ('cn-beijing',)
    """
    if text is None or not text.strip():
        return None
    try:
        doc = decode_json(text)
    except EventValidationError as exc:
        raise EventValidationError(exc.message, field="payload") from None
    return validate(model, require_object(doc, "payload"), prefix="payload")


class ReconcileScope(StrictPayload):
    """A reconcile partition's payload: the regions it drives (see shared/fanout.py). `feature` names what
    a wake-up follows there (shared/replication/wake.py): copies into those destination regions (the
    default, also every fanned-out partition), ACR sync tasks of those source regions, or builds of
    templates in those regions."""

    regions: tuple[str, ...] = Field(min_length=1, max_length=100)
    feature: Literal["copy", "acr", "build"] = "copy"

    @field_validator("regions", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        # JSON has lists, the model keeps a tuple; strict mode would refuse the list otherwise.
        return tuple(value) if isinstance(value, list) else value

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for i, region in enumerate(value):
            if not is_region(region):
                raise ValueError(f"regions[{i}] is not a region id: {region[:80]!r}")
        if len(set(value)) != len(value):
            raise ValueError("duplicate region")
        return value


def parse_reconcile_event(raw: RawEvent | None) -> tuple[TimerTick, ReconcileScope | None]:
    """A reconcile tick: the timer event, and its partition scope when the payload names one.

    Examples
    --------
    >>> import json
    >>> parse_reconcile_event(json.dumps({"payload": json.dumps({"regions": ["cn-beijing"]})}))[1].regions
    ('cn-beijing',)
    """
    tick = parse_timer_event(raw)
    return tick, parse_timer_payload(tick.payload, ReconcileScope)
