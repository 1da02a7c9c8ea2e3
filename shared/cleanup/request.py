"""What the `cleanup` function accepts: a timer tick, or a person's request.

```json
{"triggerTime": "2026-11-21T18:00:00Z", "triggerName": "cleanup-daily", "payload": ""}   # applies
{"triggerTime": "…", "triggerName": "…", "payload": "{\\"dry_run\\": true}"}             # timer, dry run
{"action": "cleanup"}                                    # by hand: DRY RUN unless "dry_run": false
{"action": "cleanup", "dry_run": false, "now": "2026-11-21T18:00:00Z"}   # now optional
```
Only a real timer event (it carries `triggerTime` or `triggerName`) applies by default; anything
else, an empty event included, is a dry run unless it says `"dry_run": false` (peers.md §5: the
default is dry-run plus a report). Unknown keys are refused for manual requests, so a typo such
as `"dryrun": false` cannot turn a dry run into a real one.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from shared.errors import EventValidationError
from shared.events.envelopes import decode_json, require_object, validate
from shared.events.parse import parse_timer_event


class CleanupRequest(BaseModel):
    """One cleanup run; `now` pins the clock (the timer's triggerTime, or given by hand)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Literal["cleanup"] = "cleanup"
    dry_run: bool = True
    now: dt.datetime | None = None

    @field_validator("now")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must carry a timezone, e.g. 2026-11-21T18:00:00Z")
        return value


def _timer_dry_run(payload: str | None) -> bool:
    if not payload or not payload.strip().startswith("{"):
        return False
    try:
        doc: Any = json.loads(payload)
    except ValueError:
        raise EventValidationError("not JSON", field="payload") from None
    value = require_object(doc, "payload").get("dry_run", False)
    if not isinstance(value, bool):
        raise EventValidationError("dry_run must be true or false", field="payload.dry_run")
    return value


def parse_cleanup_request(raw: bytes | bytearray | str | dict[str, Any] | None) -> CleanupRequest:
    """The request a `cleanup` invocation carries; EventValidationError names a bad field.

    Examples
    --------
    >>> parse_cleanup_request(b'{"action": "cleanup"}').dry_run
    True
    >>> parse_cleanup_request(b'{"triggerTime": "2026-11-21T18:00:00Z", "triggerName": "t"}').dry_run
    False
    """
    doc = require_object(decode_json(raw))
    if "action" not in doc and ("triggerTime" in doc or "triggerName" in doc):
        tick = parse_timer_event(doc)
        return CleanupRequest(dry_run=_timer_dry_run(tick.payload), now=tick.trigger_time)
    if doc.get("action", "cleanup") != "cleanup":
        raise EventValidationError(f"unknown action {str(doc.get('action'))[:40]!r}; expected 'cleanup'",
                                   field="action")
    return validate(CleanupRequest, doc)
