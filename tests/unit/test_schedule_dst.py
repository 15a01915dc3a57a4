"""Daily schedules across daylight-saving changes, computed by the real triggers after a round trip
through the real SQLite job store (what serve actually runs).

Expected wall-clock times (documented in voice_coach.schedule.triggers):
- spring forward: 02:30 does not exist; it runs at 03:30 summer time that day, 02:30 again after;
- fall back: 02:30 (Berlin) / 01:30 (New York) happens twice; it runs once, at the first one;
- 20:00 stays 20:00 local, with the new UTC offset.
"""

from __future__ import annotations

from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from voice_coach.schedule.store import ScheduleBook

CASES = [
    # zone, the day before the change, HH:MM, expected next three runs (local ISO with offset)
    ("Europe/Berlin", "2026-03-28", "02:30", ["2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"]),
    ("Europe/Berlin", "2026-10-24", "02:30", ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00", "2026-10-27T02:30:00+01:00"]),
    ("Europe/Berlin", "2026-03-28", "20:00", ["2026-03-28T20:00:00+01:00", "2026-03-29T20:00:00+02:00", "2026-03-30T20:00:00+02:00"]),
    ("Europe/Berlin", "2026-10-24", "20:00", ["2026-10-24T20:00:00+02:00", "2026-10-25T20:00:00+01:00", "2026-10-26T20:00:00+01:00"]),
    ("America/New_York", "2026-03-07", "02:30", ["2026-03-08T03:30:00-04:00", "2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00"]),
    ("America/New_York", "2026-10-31", "02:30", ["2026-11-01T02:30:00-05:00", "2026-11-02T02:30:00-05:00", "2026-11-03T02:30:00-05:00"]),
    ("America/New_York", "2026-10-31", "01:30", ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00", "2026-11-03T01:30:00-05:00"]),
    ("America/New_York", "2026-03-07", "20:00", ["2026-03-07T20:00:00-05:00", "2026-03-08T20:00:00-04:00", "2026-03-09T20:00:00-04:00"]),
    ("America/New_York", "2026-10-31", "20:00", ["2026-10-31T20:00:00-04:00", "2026-11-01T20:00:00-05:00", "2026-11-02T20:00:00-05:00"]),
]


@pytest.mark.parametrize("zone, day, at, expected", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_daily_runs_across_dst(tmp_path, zone, day, at, expected):
    tz = ZoneInfo(zone)
    hh, mm = map(int, at.split(":"))
    with ScheduleBook(tmp_path / "schedule.sqlite3") as book:
        entry = book.add_session("evening-back-relief", time(hh, mm), zone=tz)
    with ScheduleBook(tmp_path / "schedule.sqlite3") as book:  # a fresh process's view: unpickled from SQLite
        trigger = book.scheduler.get_job(entry.id).trigger
    now = datetime.fromisoformat(f"{day}T12:00").replace(tzinfo=tz)
    prev, runs = None, []
    for _ in range(3):
        nxt = trigger.get_next_fire_time(prev, now)
        runs.append(nxt.isoformat())
        prev = now = nxt
    assert runs == expected


def test_no_day_is_skipped_or_doubled_over_a_year(tmp_path):
    """365 consecutive runs of a 02:30 job in Berlin: one per calendar day, every day."""
    tz = ZoneInfo("Europe/Berlin")
    with ScheduleBook(tmp_path / "s.sqlite3") as book:
        trigger = book.scheduler.get_job(book.add_session("x", time(2, 30), zone=tz).id).trigger
    now, prev, days = datetime(2026, 1, 1, 12, tzinfo=timezone.utc), None, []
    for _ in range(365):
        prev = now = trigger.get_next_fire_time(prev, now)
        days.append(prev.astimezone(tz).date())
    assert len(set(days)) == 365
    assert all((b - a).days == 1 for a, b in zip(days, days[1:]))


def test_weekday_schedule_keeps_its_days_across_dst(tmp_path):
    tz = ZoneInfo("America/New_York")
    with ScheduleBook(tmp_path / "s.sqlite3") as book:
        trigger = book.scheduler.get_job(book.add_session("x", time(20, 0), zone=tz, days=("mon", "wed", "fri")).id).trigger
    now, prev, runs = datetime(2026, 3, 6, 21, tzinfo=tz), None, []
    for _ in range(4):
        prev = now = trigger.get_next_fire_time(prev, now)
        runs.append(prev.strftime("%a %H:%M %z"))
    assert runs == ["Mon 20:00 -0400", "Wed 20:00 -0400", "Fri 20:00 -0400", "Mon 20:00 -0400"]
