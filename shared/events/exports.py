"""What `export_batch` accepts: a timer tick, or a person's request (export now, cancel, dry-run).

```json
{"triggerTime": "2026-11-21T18:00:00Z", "triggerName": "export-night", "payload": ""}
{"action": "export", "region": "cn-hangzhou", "image_id": "m-…", "rule": "archive"}   # rule optional
{"action": "cancel_export", "region": "cn-hangzhou", "image_id": "m-…", "format": "qcow2"}   # format optional
{"action": "export_batch", "dry_run": true, "now": "2026-11-21T18:00:00Z"}   # now optional
```
A timer's payload may itself be `{"dry_run": true}`; any other non-empty payload (`[1]`,
`{"dry_run": "false"}`, `{"dryRun": true}`) is refused. Unknown keys are refused for manual requests
too (a typo must not silently turn a dry run into a real one).
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, StrictBool

from shared.errors import EventValidationError
from shared.events.envelopes import decode_json, require_object, validate
from shared.events.models import TimerTick
from shared.events.parse import StrictPayload, parse_timer_event, parse_timer_payload
from shared.values import AwareDatetime, ImageId, WellFormedRegionId

FORMATS = ("raw", "vhd", "qcow2", "vdi", "vmdk")


class _Manual(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")


class ImageRef(_Manual):
    """A person's request naming one image: region and image id, both checked, no other keys."""

    region: WellFormedRegionId
    image_id: ImageId


class ExportNow(ImageRef):
    """Export one image now, outside any window; `rule` picks one export rule by name."""

    action: Literal["export"]
    rule: str | None = None


class CancelExport(ImageRef):
    """Cancel the image's running export(s); `format` narrows to one."""

    action: Literal["cancel_export"]
    format: Literal["raw", "vhd", "qcow2", "vdi", "vmdk"] | None = None


class BatchRequest(_Manual):
    """A batch run by hand; `dry_run` prints the plan, `now` pins the window decision."""

    action: Literal["export_batch"]
    dry_run: StrictBool = False  # "false" is not false: a string never decides whether a batch acts
    now: AwareDatetime | None = None


ExportRequest = ExportNow | CancelExport | BatchRequest

_ACTIONS: dict[str, type[_Manual]] = {"export": ExportNow, "cancel_export": CancelExport,
                                      "export_batch": BatchRequest}


class ExportTimerPayload(StrictPayload):
    """A batch timer's inner payload: empty, or exactly ``{"dry_run": true|false}``."""

    dry_run: bool = False


def _from_timer(tick: TimerTick) -> BatchRequest:
    payload = parse_timer_payload(tick.payload, ExportTimerPayload)
    return BatchRequest(action="export_batch", dry_run=payload.dry_run if payload else False, now=tick.trigger_time)


def parse_export_request(raw: bytes | bytearray | str | dict[str, Any] | None) -> ExportRequest:
    """The request an `export_batch` invocation carries; EventValidationError names a bad field."""
    doc = require_object(decode_json(raw))
    action = doc.get("action")
    if action is None:
        return _from_timer(parse_timer_event(doc))
    model = _ACTIONS.get(action) if isinstance(action, str) else None
    if model is None:
        raise EventValidationError(f"unknown action {str(action)[:40]!r}; expected one of {sorted(_ACTIONS)}",
                                   field="action")
    return validate(model, doc)  # type: ignore[return-value]
