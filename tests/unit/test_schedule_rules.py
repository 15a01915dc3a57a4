"""Pure schedule rules: parsing what people type, and the ice/rolling safety limits."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from voice_coach.errors import UserError
from voice_coach.schedule.parse import minutes_words, parse_clock, parse_days, parse_span, parse_zone
from voice_coach.schedule.plans import IntervalPlan, check_no_clash, check_plan

BERLIN = ZoneInfo("Europe/Berlin")


def plan(kind="ice", start="2026-06-01T10:00", every=60, span=240, minutes=10, region="lower back"):
    return IntervalPlan(kind=kind, start=datetime.fromisoformat(start).replace(tzinfo=BERLIN),
                        every=timedelta(minutes=every), span=timedelta(minutes=span), minutes=minutes, region=region)


def test_clock_times():
    assert parse_clock("20:00") == time(20, 0)
    assert parse_clock("7:05") == time(7, 5)
    for bad in ("24:00", "20:60", "8pm", "", "20"):
        with pytest.raises(UserError, match="HH:MM"):
            parse_clock(bad)


def test_spans_need_a_unit():
    assert parse_span("60m") == timedelta(minutes=60)
    assert parse_span("1h30m") == timedelta(minutes=90)
    with pytest.raises(UserError, match="needs a unit"):
        parse_span("60")
    with pytest.raises(UserError, match="not a duration"):
        parse_span("soon")


def test_days():
    assert parse_days("mon,wed,fri") == ("mon", "wed", "fri")
    assert parse_days("Friday, monday") == ("mon", "fri")
    assert parse_days("weekends") == ("sat", "sun")
    assert parse_days(None) == ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    with pytest.raises(UserError, match="not a day"):
        parse_days("mon,funday")


def test_zones():
    assert parse_zone("America/New_York").key == "America/New_York"
    assert parse_zone(None).key  # the machine's zone, whatever it is
    with pytest.raises(UserError, match="unknown time zone"):
        parse_zone("Mars/Olympus")


def test_minutes_spoken_as_words():
    assert minutes_words(10) == "ten minutes"
    assert minutes_words(1) == "one minute"


def test_rounds_end_inside_the_plan():
    # every hour for 4 h, 10-minute rounds: 10:00, 11:00, 12:00, 13:00 (a 14:00 round would end after 14:00)
    assert [r.strftime("%H:%M") for r in plan().rounds()] == ["10:00", "11:00", "12:00", "13:00"]
    check_plan(plan())


@pytest.mark.parametrize("kwargs, reason", [
    ({"every": 30}, "at most about once an hour"),
    ({"every": 59}, "at most about once an hour"),
    ({"minutes": 25}, "10 to 20 minutes"),
    ({"minutes": 5}, "10 to 20 minutes"),
    ({"span": 5}, "shorter than one"),
    ({"span": 60 * 30}, "too long"),
    ({"kind": "roll", "minutes": 5, "region": "lower back"}, "lower spine"),
    ({"kind": "roll", "minutes": 10, "every": 10, "region": "calves"}, "run into each other"),
])
def test_unsafe_plans_are_refused_with_the_reason(kwargs, reason):
    with pytest.raises(UserError, match=reason):
        check_plan(plan(**kwargs))


def test_rolling_plan_is_fine_off_the_spine():
    check_plan(plan(kind="roll", every=120, span=480, minutes=5, region="upper back"))


def test_ice_plans_must_stay_an_hour_apart_across_plans():
    first = plan(start="2026-06-01T10:00", span=70)  # rounds 10:00 and 11:00
    # starts 11:10: windows do not overlap, but rounds 11:00 and 11:10 are 10 minutes apart
    with pytest.raises(UserError, match="overlaps an existing ice plan"):
        check_no_clash(plan(start="2026-06-01T11:10"), [first])
    check_no_clash(plan(start="2026-06-01T12:00"), [first])  # an hour after the last round: fine
    check_no_clash(plan(kind="roll", start="2026-06-01T11:10", region="calves"), [first])  # other kinds don't clash


def test_payload_round_trip():
    p = plan()
    assert IntervalPlan.from_payload(p.to_payload()) == p
