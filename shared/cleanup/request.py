"""What the `cleanup` function accepts: a timer tick, or a person's request. Nothing else.

```json
{"triggerTime": "2026-11-21T18:00:00Z", "triggerName": "cleanup-daily", "payload": ""}   # applies
{"triggerTime": "…", "triggerName": "…", "payload": "{\\"dry_run\\": true}"}             # timer, dry run
{"action": "cleanup"}                                    # by hand: DRY RUN unless "dry_run": false
{"action": "cleanup", "dry_run": false, "now": "2026-11-21T18:00:00Z"}   # now optional
```
Only a real timer event (it carries `triggerTime` or `triggerName`, and only the three keys FC sends) with
an empty payload applies by default; anything else, an empty event included, is a dry run unless it says
`"dry_run": false` (peers.md §5: the default is dry-run plus a report).

Every input that is not exactly understood is refused with an `EventValidationError` naming the field,
never read as "apply" (issue #10, defect 5): unknown keys at any level (`{"dryRun": true}`, `"dryrun"`),
a timer payload that is not a JSON object (`dry_run`, `[{"dry_run": true}]`, `{garbage`), a `dry_run` that
is not a JSON boolean (`"false"`, `0`), an extra key beside the timer's three. A destructive default never
comes from a parse failure.

`now` (or the timer's `triggerTime`) is the caller's clock. It may only make a run more conservative:
`deletion_clock` accepts it only within `MAX_CLOCK_SKEW` of the real clock and then ages images by the
later of the two (issue #10, defect 4); a caller's time further off is refused before any API call.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, PrivateAttr, StrictBool

from shared.errors import EventValidationError
from shared.events.envelopes import decode_json, require_object, validate
from shared.events.parse import parse_timer_event
from shared.values import AwareDatetime

#: How far a caller's `now` / `triggerTime` may be from the real clock (FC delivers a tick within seconds).
MAX_CLOCK_SKEW = dt.timedelta(minutes=5)
TIMER_KEYS = frozenset({"triggerTime", "triggerName", "payload"})
TIMER_PAYLOAD_KEYS = frozenset({"dry_run"})


class CleanupRequest(BaseModel):
    """One cleanup run; `now` is the caller's clock (the timer's triggerTime, or given by hand)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    action: Literal["cleanup"] = "cleanup"
    dry_run: StrictBool = True
    now: AwareDatetime | None = None
    #: the field `now` came from, for error messages ("now" or "triggerTime")
    _now_field: str = PrivateAttr(default="now")

    @property
    def now_field(self) -> str:
        """The input field the caller's time came from."""
        return self._now_field

    def __eq__(self, other: object) -> bool:
        """Two requests are equal when they ask for the same run (where `now` came from is only for messages)."""
        return isinstance(other, CleanupRequest) and self.model_dump() == other.model_dump()

    def __hash__(self) -> int:
        return hash((self.action, self.dry_run, self.now))


def deletion_clock(real: dt.datetime, request: CleanupRequest, skew: dt.timedelta = MAX_CLOCK_SKEW) -> dt.datetime:
    """The clock a run ages images by: the real one, or the later of real and the caller's within `skew`.

    Examples
    --------
    >>> real = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)
    >>> deletion_clock(real, CleanupRequest(now=real + dt.timedelta(minutes=2))).minute
    2
    >>> deletion_clock(real, CleanupRequest(now=real - dt.timedelta(minutes=2))) == real
    True
    >>> deletion_clock(real, CleanupRequest(now=dt.datetime(2099, 1, 1, tzinfo=dt.timezone.utc)))
    Traceback (most recent call last):
    ...
    shared.errors.EventValidationError: now: 2099-01-01T00:00:00+00:00 is 26338 day(s) from the real clock (2026-11-21T12:00:00+00:00); a caller's time may differ from it by at most 0:05:00, and only makes a run more conservative
    """
    caller = request.now
    if caller is None:
        return real
    if abs(caller - real) > skew:
        days = abs(caller - real).days
        distance = f"{days} day(s)" if days else str(abs(caller - real)).split(".")[0]
        raise EventValidationError(
            f"{caller.isoformat()} is {distance} from the real clock ({real.replace(microsecond=0).isoformat()}); "
            "a caller's time may "
            f"differ from it by at most {skew}, and only makes a run more conservative", field=request.now_field)
    return max(real, caller)


def _timer_dry_run(payload: str | None) -> bool:
    """The timer payload: empty applies; otherwise exactly `{"dry_run": <bool>}` (or `{}`), else refused."""
    if payload is None or not payload.strip():
        return False
    try:
        doc: Any = json.loads(payload)
    except (ValueError, RecursionError):
        raise EventValidationError(
            'not JSON; a cleanup timer payload is empty or {"dry_run": true|false}', field="payload") from None
    if not isinstance(doc, dict):
        raise EventValidationError(
            f'expected a JSON object such as {{"dry_run": true}}, got {type(doc).__name__}', field="payload")
    unknown = sorted(set(doc) - TIMER_PAYLOAD_KEYS)
    if unknown:
        raise EventValidationError(f"unknown key {str(unknown[0])[:40]!r}; the only key is 'dry_run'",
                                   field=f"payload.{str(unknown[0])[:40]}")
    value = doc.get("dry_run", True)
    if not isinstance(value, bool):
        raise EventValidationError("must be true or false (a JSON boolean)", field="payload.dry_run")
    return value


def parse_cleanup_request(raw: bytes | bytearray | str | dict[str, Any] | None) -> CleanupRequest:
    """The request a `cleanup` invocation carries; EventValidationError names a bad field.

    Examples
    --------
    >>> parse_cleanup_request(b'{"action": "cleanup"}').dry_run
    True
    >>> parse_cleanup_request(b'{"triggerTime": "2026-11-21T18:00:00Z", "triggerName": "t"}').dry_run
    False
    >>> parse_cleanup_request(b'{"triggerTime": "2026-11-21T18:00:00Z", "payload": "dry_run"}')
    Traceback (most recent call last):
    ...
    shared.errors.EventValidationError: payload: not JSON; a cleanup timer payload is empty or {"dry_run": true|false}
    """
    doc = require_object(decode_json(raw))
    if "action" not in doc and ("triggerTime" in doc or "triggerName" in doc):
        unknown = sorted(set(doc) - TIMER_KEYS)
        if unknown:
            raise EventValidationError(f"unknown key {str(unknown[0])[:40]!r} in a timer event",
                                       field=str(unknown[0])[:40])
        tick = parse_timer_event(doc)
        request = CleanupRequest(dry_run=_timer_dry_run(tick.payload), now=tick.trigger_time)
        request._now_field = "triggerTime"
        return request
    if doc.get("action", "cleanup") != "cleanup":
        raise EventValidationError(f"unknown action {str(doc.get('action'))[:40]!r}; expected 'cleanup'",
                                   field="action")
    return validate(CleanupRequest, doc)
