"""Progress numbers, the spoken summary and the advice rule, checked against independent sums."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from test_history_data import SUMMER, expected_weeks, generate

from voice_coach.history import progress
from voice_coach.history.records import SessionRecord

NOW = datetime(2024, 6, 30, 21, 0, tzinfo=SUMMER)


def rec(started: datetime, before: int | None = None, after: int | None = None, minutes: float = 10.0,
        reason: str = "finished", i: int = 0) -> SessionRecord:
    return SessionRecord(
        id=i, routine="massager-back", title="Massager", started=started, ended=started + timedelta(minutes=minutes),
        end_reason=reason, steps_done=5, steps_skipped=0, steps_total=5, current_index=4, current_step_id="e",
        pain_before=before, pain_after=after, minutes=minutes,
    )


def from_plan(plan) -> list[SessionRecord]:
    return [rec(p.started, p.pain_before, p.pain_after, p.active_minutes, p.end_reason, i) for i, p in enumerate(plan)]


def history(levels: list[float], days: int = 28, every: int = 2, seed: int = 3) -> list[SessionRecord]:
    """A session every ``every`` days over the last ``days``, pain interpolated through ``levels``."""
    rng = random.Random(seed)
    out = []
    for k, d in enumerate(range(days - 1, -1, -every)):
        frac = 1 - d / (days - 1)
        level = np.interp(frac, np.linspace(0, 1, len(levels)), levels)
        out.append(rec(NOW - timedelta(days=d, hours=2), before=int(round(level + rng.choice((-0.4, 0, 0.4)))), i=k))
    return out


def test_weekly_matches_an_independent_sum():
    plan = generate(NOW.date(), months=4)
    records = from_plan(plan)
    expected = expected_weeks(plan)
    weeks = progress.weekly(records)
    assert len(weeks) == len(expected)
    for w in weeks:
        assert w.start.weekday() == 0
        iso = w.start.isocalendar()
        e = expected[(iso.year, iso.week)]
        assert w.sessions == e["sessions"]
        assert w.minutes == pytest.approx(e["minutes"])
        assert w.pain_before == pytest.approx(e["before"]) if e["before"] is not None else w.pain_before is None
        assert w.pain_after == pytest.approx(e["after"]) if e["after"] is not None else w.pain_after is None


def test_weekly_fill_covers_the_gap_with_empty_weeks():
    plan = generate(NOW.date(), months=4)
    weeks = progress.weekly(from_plan(plan), fill=True)
    starts = [w.start for w in weeks]
    assert all(b - a == timedelta(days=7) for a, b in zip(starts, starts[1:]))
    assert any(w.sessions == 0 for w in weeks)  # the generator leaves a two-week gap


def test_daily_and_trend_match_numpy():
    records = from_plan(generate(NOW.date(), months=3))
    days = progress.daily(records)
    assert sum(d.sessions for d in days) == len(records)
    rated = [(r.started.date(), r.pain_before) for r in records if r.pain_before is not None]
    origin = min(d for d, _ in rated)
    slope, intercept = np.polyfit([(d - origin).days for d, _ in rated], [v for _, v in rated], 1)
    t = progress.trend(records)
    assert t is not None and t.points == len(rated)
    assert t.slope_per_day == pytest.approx(slope)
    assert t.value(origin) == pytest.approx(intercept)


def test_trend_needs_enough_ratings():
    assert progress.trend([]) is None
    assert progress.trend([rec(NOW, 5), rec(NOW - timedelta(days=1), 6)]) is None
    assert progress.trend([rec(NOW, 5), rec(NOW, 6), rec(NOW, 7)]) is None  # all on one day


@pytest.mark.parametrize(
    ("this", "last", "expected"),
    [
        ([5, 5, 5], [6, 6], "Your pain averaged 5 in the last 7 days, down from 6 in the 7 days before."),
        ([5, 6], [4, 4, 4], "Your pain averaged 5.5 in the last 7 days, up from 4 in the 7 days before."),
        ([4, 4], [4], "Your pain averaged 4 in the last 7 days, the same as in the 7 days before."),
    ],
)
def test_summary_sentence_compares_this_week_with_last(this, last, expected):
    records = [rec(NOW - timedelta(days=1 + k), v) for k, v in enumerate(this)]
    records += [rec(NOW - timedelta(days=8 + k), v) for k, v in enumerate(last)]
    assert progress.summary_sentence(records, NOW) == expected


def test_summary_sentence_leaves_out_skipped_ratings():
    records = [rec(NOW - timedelta(days=1), 4), rec(NOW - timedelta(days=2), None), rec(NOW - timedelta(days=9), 6)]
    assert progress.summary_sentence(records, NOW) == "Your pain averaged 4 in the last 7 days, down from 6 in the 7 days before."


def test_summary_sentence_with_little_data():
    assert "no sessions" in progress.summary_sentence([], NOW)
    only_this = [rec(NOW - timedelta(days=1), 5), rec(NOW - timedelta(days=2), 6)]
    assert progress.summary_sentence(only_this, NOW).startswith("Your pain averaged 5.5 in the last 7 days over 2 sessions")
    unrated = [rec(NOW - timedelta(days=1), None, minutes=12), rec(NOW - timedelta(days=3), None, minutes=8)]
    assert progress.summary_sentence(unrated, NOW) == (
        "You did 2 sessions in the last 7 days, 20 minutes in all, with no pain ratings to compare yet."
    )
    old = [rec(datetime(2024, 6, 3, 9, 0, tzinfo=SUMMER), 5)]
    assert progress.summary_sentence(old, NOW) == (
        "You had no sessions in the last 7 days; your last one was on Monday, 3 June."
    )


def test_advice_fires_on_a_worsening_history():
    assert progress.advice_due(history([4, 7]), NOW)
    assert progress.advice_due(history([1, 3]), NOW)  # worse, even from mild pain


def test_advice_fires_on_a_flat_history():
    assert progress.advice_due(history([6, 6]), NOW)


def test_advice_fires_on_a_slightly_improving_history():
    assert progress.advice_due(history([6, 5.6]), NOW)  # under one point better over four weeks


def test_advice_stays_quiet_on_an_improving_history():
    assert not progress.advice_due(history([7, 4]), NOW)
    assert not progress.advice_due(history([6, 3, 2]), NOW)


def test_advice_stays_quiet_on_steady_mild_pain():
    assert not progress.advice_due(history([2, 2]), NOW)


def test_advice_needs_about_four_weeks_of_regular_sessions():
    assert not progress.advice_due(history([6, 6], days=28, every=7), NOW)  # four sessions only
    assert not progress.advice_due(history([6, 7], days=10, every=1), NOW)  # all in the last 10 days
    worse = history([4, 7])
    gappy = [r for r in worse if (NOW - r.started).days < 7 or (NOW - r.started).days >= 21]
    assert not progress.advice_due(gappy, NOW)  # two of the four weeks empty


def test_advice_ignores_unrated_sessions_and_older_history():
    flat = history([6, 6])
    unrated = [rec(r.started, None) for r in flat]
    assert not progress.advice_due(unrated, NOW)
    # improving over the last four weeks, even though months before were flat and high
    old = [rec(NOW - timedelta(days=40 + k), 8) for k in range(30)]
    assert not progress.advice_due(old + history([7, 4]), NOW)


def test_advice_text_is_plain_and_does_not_diagnose():
    text = progress.ADVICE_TEXT.lower()
    assert "pain-management clinician" in text
    for word in ("diagnos", "you have", "disease", "condition", "serious"):
        assert word not in text


def test_week_start_is_monday():
    assert progress.week_start(date(2024, 6, 30)) == date(2024, 6, 24)


def test_advice_is_given_once_per_quiet_period(tmp_path):
    from test_history_data import write

    from voice_coach.history import HistoryStore
    from voice_coach.history.advice import advice_to_give, how_am_i_doing

    plan = generate(NOW.date() - timedelta(days=1), months=2, level=lambda i, n: 6.0)  # flat at 6
    with HistoryStore.open(tmp_path / "h.sqlite3") as s:
        write(s, plan)
        assert advice_to_give(s, NOW) == progress.ADVICE_TEXT
        assert advice_to_give(s, NOW + timedelta(days=1)) is None  # said yesterday
        assert advice_to_give(s, NOW + progress.ADVICE_QUIET_PERIOD + timedelta(days=1)) is None  # no new sessions
        assert how_am_i_doing(s, NOW).startswith("Your pain averaged")
