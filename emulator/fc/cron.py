"""FC timer cron expressions, parsed here (croniter is not a dependency).

Accepted (alibaba-api.md §4.4): six fields ``second minute hour day-of-month month day-of-week``
(a five-field expression gets second ``0``), each ``*``, ``?``, ``N``, ``A-B``, ``*/S``, ``A-B/S``, ``N/S`` or a
comma list of those; month names ``JAN``–``DEC`` and day names ``SUN``–``SAT``; day-of-week ``0``–``7`` with 0 and
7 both Sunday (UNCONFIRMED: FC's own numbering); when both day fields are restricted a day matching either
fires (classic cron). Also ``@every <N>h<N>m<N>s`` (fires at multiples of the interval since the epoch) and
``@hourly``/``@daily``. Times are UTC (UNCONFIRMED for FC 2.0 timers: FC documents UTC cron).
Not supported (``ValueError``): ``L``, ``W``, ``#``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone

_MONTHS = {m: i + 1 for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}
_DAYS = {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}
_EVERY = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
#: The lookback of one ``fire_times`` call (a huge clock jump fires the last 31 days only).
MAX_LOOKBACK_SECONDS = 31 * 86400


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    out: set[int] = set()
    for part in text.upper().split(","):
        if not part:
            raise ValueError(f"empty cron list item in {text!r}")
        if any(c in part for c in "LW#"):
            raise ValueError(f"unsupported cron token {part!r}")
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"bad cron step in {part!r}")
        if base in ("*", "?"):
            start, end = low, high
        else:
            a, _, b = base.partition("-")
            start = _value(a, names)
            end = _value(b, names) if b else (high if step_text else start)
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise ValueError(f"cron value out of range {low}-{high} in {part!r}")
        out.update(range(start, end + 1, step))
    return frozenset(out)


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text in names:
        return names[text]
    if not text.isdigit():
        raise ValueError(f"bad cron value {text!r}")
    return int(text)


@dataclass(frozen=True)
class Cron:
    """A parsed expression; ``fire_times(after, until)`` lists the epochs in ``(after, until]``."""

    expression: str
    every: int = 0
    seconds: frozenset[int] = frozenset()
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    weekdays: frozenset[int] = frozenset()
    days_any: bool = True
    weekdays_any: bool = True

    @classmethod
    def parse(cls, expression: str) -> Cron:
        """Parse or raise ``ValueError`` naming the problem."""
        text = expression.strip()
        macros = {"@hourly": "0 0 * * * *", "@daily": "0 0 0 * * *", "@midnight": "0 0 0 * * *"}
        text = macros.get(text.lower(), text)
        if text.lower().startswith("@every"):
            m = _EVERY.match(text[len("@every"):].strip().lower())
            seconds = 0 if m is None else 3600 * int(m.group(1) or 0) + 60 * int(m.group(2) or 0) + int(m.group(3) or 0)
            if seconds <= 0:
                raise ValueError(f"bad @every interval in {expression!r}")
            return cls(expression, every=seconds)
        parts = text.split()
        if len(parts) == 5:
            parts = ["0", *parts]
        if len(parts) != 6:
            raise ValueError(f"cron needs 6 fields (second minute hour day month weekday): {expression!r}")
        weekdays = frozenset(d % 7 for d in _field(parts[5], 0, 7, _DAYS))
        return cls(
            expression,
            seconds=_field(parts[0], 0, 59),
            minutes=_field(parts[1], 0, 59),
            hours=_field(parts[2], 0, 23),
            days=_field(parts[3], 1, 31),
            months=_field(parts[4], 1, 12, _MONTHS),
            weekdays=weekdays,
            days_any=parts[3] in ("*", "?"),
            weekdays_any=parts[5] in ("*", "?"),
        )

    def _day_ok(self, moment: datetime) -> bool:
        day = moment.day in self.days
        weekday = (moment.isoweekday() % 7) in self.weekdays
        if not self.days_any and not self.weekdays_any:
            return day or weekday
        return day and weekday

    def fire_times(self, after: float, until: float) -> list[float]:
        """Every matching epoch ``t`` with ``after < t <= until`` (whole seconds)."""
        if until <= after:
            return []
        after = max(after, until - MAX_LOOKBACK_SECONDS)
        if self.every:
            first = math.floor(after / self.every) * self.every + self.every
            return [float(t) for t in range(int(first), int(until) + 1, self.every)]
        out: list[float] = []
        minute = math.floor(after / 60) * 60
        while minute <= until:
            moment = datetime.fromtimestamp(minute, tz=timezone.utc)
            if (moment.minute in self.minutes and moment.hour in self.hours and moment.month in self.months
                    and self._day_ok(moment)):
                out.extend(float(minute + s) for s in sorted(self.seconds) if after < minute + s <= until)
            minute += 60
        return out
