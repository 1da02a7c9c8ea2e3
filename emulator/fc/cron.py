"""FC timer cron expressions: the project's ONE parser, over cronsim (issue #11).

Used by the FC emulator's router to fire timers and by ``scripts/ram.py`` / ``tests/deploy/test_template.py`` to
check template.yml, so the expression the template is checked with is the one the local timers fire on.
It lives in the emulator because the emulator may not import the project (``shared/``); scripts may import
the emulator. Why cronsim: a small, maintained, pure-Python evaluator already in the project (the policy's
build schedules), whose six-field form is seconds FIRST, as FC's is; croniter's sixth field is seconds
LAST.

FC's grammar, as this module reads it (FC time-trigger docs, alibabacloud.com doc-detail/171746; the
console's "interval" mode is ``@every``):

* ``second minute hour day-of-month month day-of-week``: exactly six fields (a five-field Unix expression
  is refused: FC would read its first field as seconds); ``*``, ``a,b``, ``a-b``, ``*/n``, ``a-b/n``,
  ``a/n``; month names ``JAN``–``DEC``, day names ``SUN``–``SAT`` (numeric 0–6, 0 = Sunday; 7 = Sunday
  too: UNCONFIRMED for FC); ``?`` only in the two day fields, meaning "no constraint";
* ``L``, ``W`` and ``#`` are not in FC's documented grammar and are refused (cronsim would accept them);
* when both day fields are restricted, a day matching EITHER fires (classic cron; cronsim's rule:
  AND as soon as one of them is ``*``/``?``). UNCONFIRMED for FC;
* times are UTC; a ``CRON_TZ=<IANA zone> `` prefix evaluates the fields in that zone (documented);
* ``@every <N>h<N>m`` (positive): fires at multiples of the interval. FC counts from the trigger's
  creation; here from the epoch (or ``anchor``), UNCONFIRMED alignment.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

_EVERY = re.compile(r"^@every\s+(?:(\d+)h)?(?:(\d+)m)?$", re.IGNORECASE)
_TZ = re.compile(r"^CRON_TZ=(\S+)\s+(.*)$")
_NAMES = re.compile("JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|SUN|MON|TUE|WED|THU|FRI|SAT")
_FIELDS = ("second", "minute", "hour", "day-of-month", "month", "day-of-week")
#: The lookback of one ``fire_times`` call (a huge clock jump fires the last 31 days only).
MAX_LOOKBACK_SECONDS = 31 * 86400


class CronError(ValueError):
    """A cron expression FC would not accept (as far as this grammar knows); names the field."""


@dataclass(frozen=True)
class Cron:
    """A parsed expression: cronsim fields in a zone, or a fixed ``every`` period in seconds."""

    expression: str
    fields: str = ""
    zone: str = "UTC"
    every: int = 0
    anchor: float = 0.0

    @classmethod
    def parse(cls, expression: str) -> Cron:
        """Parse or raise ``CronError`` naming the problem.

        Examples
        --------
        >>> Cron.parse("@every 1h30m").every
        5400
        >>> Cron.parse("0 30 20 ? * MON-FRI").fields
        '0 30 20 * * MON-FRI'
        """
        text = expression.strip()
        every = _EVERY.match(text)
        if text.lower().startswith("@every"):
            seconds = 3600 * int(every.group(1) or 0) + 60 * int(every.group(2) or 0) if every else 0
            if seconds <= 0:
                raise CronError(f"@every needs a positive interval like '@every 5m' or '@every 1h30m': {expression!r}")
            return cls(expression, every=seconds)
        zone = "UTC"
        tz = _TZ.match(text)
        if tz:
            zone, text = tz.group(1), tz.group(2)
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise CronError(f"unknown time zone {zone!r} in CRON_TZ") from None
        parts = text.split()
        if len(parts) != 6:
            raise CronError(f"expected 6 fields (seconds first) or '@every Nm', got {len(parts)}: {expression!r}")
        for name, part in zip(_FIELDS, parts, strict=True):
            if "?" in part and (part != "?" or not name.startswith("day")):
                raise CronError(f"'?' is allowed alone in the day-of-month and day-of-week fields only, not in the {name} field")
            if any(c in _NAMES.sub("", part.upper()) for c in "LW#"):
                raise CronError(f"L, W and # are not in FC's cron grammar ({part!r} in the {name} field)")
        fields = " ".join("*" if p == "?" else p for p in parts)
        try:
            CronSim(fields, datetime(2026, 1, 1, tzinfo=timezone.utc))
        except CronSimError as exc:
            raise CronError(f"{str(exc).lower()} field in {expression!r}") from None
        return cls(expression, fields=fields, zone=zone)

    def firings(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Firing times in ``[start, end)``, as UTC datetimes."""
        start = start.astimezone(timezone.utc).replace(microsecond=0)
        if self.every:
            first = start.timestamp() + (-(start.timestamp() - self.anchor)) % self.every
            t = datetime.fromtimestamp(first, tz=timezone.utc)
            while t < end:
                yield t
                t += timedelta(seconds=self.every)
            return
        zone = timezone.utc if self.zone == "UTC" else ZoneInfo(self.zone)
        for fire in CronSim(self.fields, (start - timedelta(seconds=1)).astimezone(zone)):
            fire_utc = fire.astimezone(timezone.utc)
            if fire_utc >= end:
                return
            yield fire_utc

    def fire_times(self, after: float, until: float) -> list[float]:
        """Every matching epoch ``t`` with ``after < t <= until`` (whole seconds)."""
        if until <= after:
            return []
        after = max(after, until - MAX_LOOKBACK_SECONDS)
        start = datetime.fromtimestamp(int(after) + 1, tz=timezone.utc)
        end = datetime.fromtimestamp(int(until) + 1, tz=timezone.utc)
        return [t.timestamp() for t in self.firings(start, end)]


def parse_cron(expression: str) -> Cron:
    """``Cron.parse`` (the name the template checks use)."""
    return Cron.parse(expression)
