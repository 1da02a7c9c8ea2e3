"""Window.contains / current_end / next_start: plain, wrapping, whole-day, days filter, zones, DST."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.policy.windows import Window

UTC = timezone.utc


def _w(start: str, end: str, tz: str = "UTC", days: list[str] | None = None) -> Window:
    return Window(name="w", start=start, end=end, timezone=tz, days=days)  # type: ignore[arg-type]


def _at(day: int, hour: int, minute: int = 0, month: int = 5) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


def test_plain_window() -> None:
    w = _w("01:00", "05:00")
    assert not w.contains(_at(1, 0, 59))
    assert w.current_end(_at(1, 0, 59)) is None
    assert w.next_start(_at(1, 0, 59)) == _at(1, 1)
    assert w.contains(_at(1, 1))  # start inclusive
    assert w.current_end(_at(1, 1)) == _at(1, 5)
    assert w.contains(_at(1, 4, 59))
    assert not w.contains(_at(1, 5))  # end exclusive
    assert w.next_start(_at(1, 5)) == _at(2, 1)
    assert w.next_start(_at(1, 3)) == _at(2, 1)  # inside: the next occurrence


@pytest.mark.parametrize(
    ("now", "inside", "end", "next_start"),
    [
        (_at(1, 21, 59), False, None, _at(1, 22)),
        (_at(1, 22, 0), True, _at(2, 2), _at(2, 22)),
        (_at(2, 0, 0), True, _at(2, 2), _at(2, 22)),
        (_at(2, 1, 59), True, _at(2, 2), _at(2, 22)),
        (_at(2, 2, 0), False, None, _at(2, 22)),
    ],
)
def test_wrapping_window(now: datetime, inside: bool, end: datetime | None, next_start: datetime) -> None:
    w = _w("22:00", "02:00")
    assert w.contains(now) is inside
    assert w.current_end(now) == end
    assert w.next_start(now) == next_start


def test_shanghai_offsets() -> None:
    # Asia/Shanghai is UTC+8 all year: 01:00-05:00 local is 17:00-21:00 UTC the previous day.
    w = _w("01:00", "05:00", "Asia/Shanghai")
    assert not w.contains(_at(1, 16, 59))
    assert w.contains(_at(1, 17))
    assert w.current_end(_at(1, 17)) == _at(1, 21)
    assert not w.contains(_at(1, 21))
    assert w.next_start(_at(1, 21)) == _at(2, 17)
    assert not w.contains(_at(1, 2))  # 02:00 UTC is 10:00 in Shanghai
    # the same wall times in UTC are a different window
    assert _w("01:00", "05:00").contains(_at(1, 2))
    # a non-UTC aware "now" is accepted; results are UTC
    shanghai_now = datetime(2024, 5, 2, 2, 0, tzinfo=timezone(timedelta(hours=8)))
    assert w.current_end(shanghai_now) == _at(1, 21)
    assert w.current_end(shanghai_now).tzinfo == UTC  # type: ignore[union-attr]


def test_days_filter_applies_to_the_start_day() -> None:
    # 2024-05-03 is a Friday. In Shanghai, Fri 22:00 - Sat 02:00 local = Fri 14:00 - Fri 18:00 UTC.
    w = _w("22:00", "02:00", "Asia/Shanghai", days=["Fri"])
    assert w.days == ["fri"]
    assert w.contains(_at(3, 14))
    assert w.contains(_at(3, 17, 59))  # Saturday 01:59 local: still Friday's occurrence
    assert w.current_end(_at(3, 17)) == _at(3, 18)
    assert not w.contains(_at(2, 14))  # Thursday
    assert w.next_start(_at(2, 14)) == _at(3, 14)
    assert w.next_start(_at(3, 15)) == _at(10, 14)  # a week later
    assert not w.contains(_at(4, 14))  # Saturday 22:00 local


def test_whole_day_window() -> None:
    always = _w("00:00", "00:00")
    assert always.whole_day
    assert always.contains(_at(1, 0)) and always.contains(_at(1, 23, 59))
    assert always.current_end(_at(1, 13)) == _at(2, 0)
    assert always.next_start(_at(1, 13)) == _at(2, 0)
    weekend = _w("06:00", "06:00", days=["sat", "sun"])  # Sat 06:00 - Mon 06:00
    assert weekend.contains(_at(4, 6)) and weekend.contains(_at(6, 5, 59))  # Sat .. Mon 05:59
    assert not weekend.contains(_at(6, 6)) and not weekend.contains(_at(4, 5, 59))
    assert weekend.current_end(_at(4, 12)) == _at(5, 6)  # back-to-back occurrences are not merged
    assert weekend.next_start(_at(6, 6)) == _at(11, 6)


def test_dst_gap_and_fold() -> None:
    # Europe/Berlin springs forward 2024-03-31 02:00 CET -> 03:00 CEST, falls back 2024-10-27 03:00 -> 02:00.
    gap = _w("02:30", "04:00", "Europe/Berlin")
    # 02:30 does not exist that night: resolved with the pre-gap offset, i.e. 03:30 CEST = 01:30 UTC.
    assert gap.next_start(_at(31, 0, month=3)) == _at(31, 1, 30, month=3)
    assert gap.current_end(_at(31, 1, 30, month=3)) == _at(31, 2, month=3)
    assert not gap.contains(_at(31, 1, 29, month=3))
    # usual days: 02:30 CET = 01:30 UTC before, 02:30 CEST = 00:30 UTC after
    assert gap.next_start(_at(30, 0, month=3)) == _at(30, 1, 30, month=3)
    assert gap.next_start(_at(31, 3, month=3)) == _at(1, 0, 30, month=4)
    # an occurrence that the gap empties (02:30 -> 03:00 both resolve to 01:xx UTC, end first) is skipped
    empty = _w("02:30", "03:00", "Europe/Berlin")
    night = [_at(31, 0, month=3) + timedelta(minutes=m) for m in range(0, 180, 5)]
    assert not any(empty.contains(t) for t in night)
    assert empty.next_start(_at(30, 23, month=3)) == _at(1, 0, 30, month=4)
    # fold: 02:30 happens twice on 2024-10-27; the first (CEST, 00:30 UTC) is used
    fold = _w("02:30", "05:00", "Europe/Berlin")
    assert fold.next_start(_at(26, 23, month=10)) == _at(27, 0, 30, month=10)
    assert fold.current_end(_at(27, 1, month=10)) == _at(27, 4, month=10)  # 05:00 CET


def test_naive_datetime_rejected() -> None:
    w = _w("01:00", "05:00")
    naive = datetime(2024, 5, 1, 2, 0)
    for method in (w.contains, w.current_end, w.next_start):
        with pytest.raises(ValueError, match="aware"):
            method(naive)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"start": "1:00"}, "start"),
        ({"start": "24:00"}, "start"),
        ({"end": "05:60"}, "end"),
        ({"start": 60}, "start"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "/etc/passwd"}, "timezone"),
        ({"days": ["mon", "funday"]}, "days"),
        ({"days": []}, "days"),
        ({"days": ["mon", "Mon"]}, "days"),
        ({"name": "Night"}, "name"),
        ({"until": "05:00"}, "until"),
    ],
)
def test_invalid_window(changes: dict[str, object], field: str) -> None:
    data: dict[str, object] = {"name": "night", "start": "01:00", "end": "05:00", "timezone": "UTC"}
    data.update(changes)
    with pytest.raises(ValidationError) as err:
        Window.model_validate(data)
    assert err.value.errors()[0]["loc"][0] == field


_TIMES = st.sampled_from(["00:00", "01:00", "02:30", "05:00", "12:15", "22:00", "23:59"])
_ZONES = st.sampled_from(["UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])
_DAYS = st.none() | st.lists(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), min_size=1, max_size=7, unique=True)
_NOW = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC))


@settings(max_examples=400, deadline=None)
@given(start=_TIMES, end=_TIMES, tz=_ZONES, days=_DAYS, now=_NOW)
def test_properties(start: str, end: str, tz: str, days: list[str] | None, now: datetime) -> None:
    w = _w(start, end, tz, days)
    end_at = w.current_end(now)
    assert w.contains(now) is (end_at is not None)
    following = w.next_start(now)
    assert following > now and following.tzinfo == UTC
    if end_at is None:
        assert w.contains(following)
    else:
        assert end_at > now and end_at.tzinfo == UTC
        assert w.contains(end_at - timedelta(microseconds=1))
        assert end_at - now <= timedelta(hours=25)
        assert following >= end_at
