"""Time windows: a daily local-time span (optionally on some weekdays) in an IANA time zone.

A window is pure data plus pure methods; every method takes an *aware* datetime (normally
``datetime.now(timezone.utc)``) and returns aware UTC datetimes, so callers never handle
local time. Naive datetimes raise ``ValueError``.

Semantics
---------
* An *occurrence* starts at ``start`` local time on a day and ends at the next ``end``
  local time: the same day when ``end > start``, the next day when ``end < start`` (the
  window wraps past midnight, e.g. 22:00-02:00), and exactly one local day later when
  ``end == start`` (the whole day: ``00:00``-``00:00`` is always open without ``days``).
  The start is inclusive, the end exclusive.
* ``days`` (``mon`` .. ``sun``) filters on the local day on which an occurrence *starts*:
  ``{start: "22:00", end: "02:00", days: [fri]}`` is open Friday 22:00 to Saturday 02:00.
  ``None`` means every day. Back-to-back occurrences (whole-day windows) are not merged:
  ``current_end`` is the end of the one occurrence containing ``now``.
* DST: local times are resolved with ``zoneinfo`` (PEP 495, ``fold=0``). A time that falls
  into a spring-forward gap resolves with the offset in force before the gap, i.e. it lands
  the gap's length later (02:30 on the spring-forward night in Europe/Berlin is 03:30
  CEST); an ambiguous time in a fall-back fold is its first (earlier) instant. An
  occurrence that this resolution makes empty (end not after start) is skipped by every
  method. Asia/Shanghai has no DST, so none of this applies there.

Example
-------
>>> from datetime import datetime, timezone
>>> night = Window(name="night", start="01:00", end="05:00", timezone="Asia/Shanghai")
>>> now = datetime(2024, 5, 1, 18, 30, tzinfo=timezone.utc)   # 02:30 in Shanghai
>>> night.contains(now), night.current_end(now)
(True, datetime.datetime(2024, 5, 1, 21, 0, tzinfo=datetime.timezone.utc))
>>> night.next_start(now)
datetime.datetime(2024, 5, 2, 17, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.values import RuleName, TimeZone, zone

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)\Z")
# Any occurrence containing an instant starts at most two local days before it (one day of
# length plus slack for a DST fold at midnight); a day filter skips at most six days.
_LOOKBACK_DAYS = 2
_LOOKAHEAD_DAYS = 9


def _parse_hhmm(value: str) -> time:
    match = _HHMM.match(value)
    if match is None:
        raise ValueError(f"not a 24-hour HH:MM time: {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None or now.tzinfo.utcoffset(now) is None:
        raise ValueError("now must be an aware datetime (e.g. datetime.now(timezone.utc))")
    return now.astimezone(timezone.utc)


class Window(BaseModel):
    """A named daily span ``[start, end)`` in ``timezone``, optionally only on ``days``."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)

    name: RuleName  # a window's name has a rule name's form
    start: str
    end: str
    timezone: TimeZone
    days: list[Day] | None = Field(default=None, min_length=1)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _valid_time(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            # YAML 1.1 reads an unquoted 22:00 as the base-60 integer 1320 (01:00 stays a string).
            raise ValueError('HH:MM must be a quoted string (write "22:00"; YAML reads unquoted 22:00 as a number)')
        if isinstance(value, str):
            _parse_hhmm(value)
        return value

    @field_validator("days", mode="before")
    @classmethod
    def _lower_days(cls, value: Any) -> Any:
        if isinstance(value, list):
            value = [v.lower() if isinstance(v, str) else v for v in value]
            for i, day in enumerate(value):
                if day in value[:i]:
                    raise ValueError(f"duplicate day {day!r}")
        return value

    # -- derived -------------------------------------------------------------------------

    @property
    def tzinfo(self) -> ZoneInfo:
        """The window's zone."""
        return zone(self.timezone)

    @property
    def start_time(self) -> time:
        return _parse_hhmm(self.start)

    @property
    def end_time(self) -> time:
        return _parse_hhmm(self.end)

    @property
    def whole_day(self) -> bool:
        """``start == end``: each occurrence lasts one full local day."""
        return self.start == self.end

    def _occurrence(self, day: date) -> tuple[datetime, datetime] | None:
        """The occurrence starting on local ``day`` as UTC ``(start, end)``; None if filtered or empty."""
        if self.days is not None and DAYS[day.weekday()] not in self.days:
            return None
        start_t, end_t = self.start_time, self.end_time
        end_day = day if end_t > start_t else day + timedelta(days=1)
        tz = self.tzinfo
        start = datetime.combine(day, start_t, tzinfo=tz).astimezone(timezone.utc)
        end = datetime.combine(end_day, end_t, tzinfo=tz).astimezone(timezone.utc)
        return (start, end) if end > start else None

    def _occurrences(self, now_utc: datetime, back: int, ahead: int) -> Iterator[tuple[datetime, datetime]]:
        today = now_utc.astimezone(self.tzinfo).date()
        for offset in range(-back, ahead + 1):
            occurrence = self._occurrence(today + timedelta(days=offset))
            if occurrence is not None:
                yield occurrence

    # -- queries -------------------------------------------------------------------------

    def contains(self, now: datetime) -> bool:
        """True when ``now`` (aware) lies in an occurrence: start inclusive, end exclusive."""
        return self.current_end(now) is not None

    def current_occurrence(self, now: datetime) -> tuple[datetime, datetime] | None:
        """UTC ``(start, end)`` of the occurrence containing ``now``; None when ``now`` is outside the window."""
        now_utc = _utc(now)
        for start, end in self._occurrences(now_utc, _LOOKBACK_DAYS, 0):
            if start <= now_utc < end:
                return start, end
        return None

    def current_end(self, now: datetime) -> datetime | None:
        """End (UTC) of the occurrence containing ``now``; None when ``now`` is outside the window."""
        occurrence = self.current_occurrence(now)
        return occurrence[1] if occurrence else None

    def current_start(self, now: datetime) -> datetime | None:
        """Start (UTC) of the occurrence containing ``now``; None outside the window (a build slot's id)."""
        occurrence = self.current_occurrence(now)
        return occurrence[0] if occurrence else None

    def next_start(self, now: datetime) -> datetime:
        """Start (UTC) of the next occurrence strictly after ``now``.

        Outside the window this is when it next opens (always ``> now``); inside it, the
        start of the occurrence after the current one (for a whole-day window without
        ``days`` that equals ``current_end(now)``).
        """
        now_utc = _utc(now)
        for start, _end in self._occurrences(now_utc, _LOOKBACK_DAYS, _LOOKAHEAD_DAYS):
            if start > now_utc:
                return start
        raise AssertionError("unreachable: a window with at least one day opens within a week")
