"""Progress over the session history: weekly numbers, the trend, the spoken summary, the advice rule.

Pure functions over :class:`SessionRecord` lists (no clock reads: ``now`` is passed in), so tests can
check every number against an independent computation.

Conventions (documented because reports and the voice must agree):
- a session's *pain level* is its "before" rating: how the person arrives, i.e. their everyday pain;
  the "after" rating shows the session's short-term relief and is reported beside it;
- weeks in tables and charts are calendar weeks (Monday first) in the session's local time;
  the spoken summary compares the last 7 days up to now with the 7 days before and says so ("in
  the last 7 days"): calling them "this week" would clash with the calendar-week rows beside it;
- skipped ratings (``None``) are left out of averages, never counted as zero.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from voice_coach.history.records import SessionRecord
from voice_coach.wording import plural

# The advice rule (issue 7; NICE NG59: review when self-care has not helped after about four weeks).
ADVICE_WINDOW = timedelta(days=28)
ADVICE_MIN_RATED = 6  # rated sessions in the window ...
ADVICE_MIN_WEEKS = 3  # ... spread over at least 3 of its 4 weeks ("regular sessions")
ADVICE_MIN_IMPROVEMENT = 1.0  # a fitted drop smaller than this over the window is "not improving"
ADVICE_WORSE = 1.0  # a fitted rise of this much over the window is "getting worse"
ADVICE_FLAT_FLOOR = 3.0  # steady pain below this average is not a reason to send anyone to a clinic
#: the voice loop says the advice at most once in this period (see HistoryStore.advice_given_since)
ADVICE_QUIET_PERIOD = timedelta(days=28)

ADVICE_TEXT = (
    "Your pain ratings have not improved over the last few weeks of regular sessions. "
    "That is worth talking over with a pain-management clinician: they can look at this record "
    "with you, examine you, and suggest a plan that fits you. "
    "Your progress report, from voice-coach report, is a good thing to bring along."
)


@dataclass(frozen=True)
class WeekStats:
    start: date  # the Monday
    sessions: int
    completed: int
    minutes: float
    pain_before: float | None
    pain_after: float | None
    rated: int  # sessions with a "before" rating


@dataclass(frozen=True)
class DayStats:
    day: date
    sessions: int
    minutes: float
    pain_before: float | None
    pain_after: float | None


@dataclass(frozen=True)
class Trend:
    """A least-squares line through the "before" ratings: ``value(day)`` is the fitted pain."""

    origin: date
    slope_per_day: float
    intercept: float
    points: int

    @property
    def per_week(self) -> float:
        return self.slope_per_day * 7

    def value(self, day: date) -> float:
        return self.intercept + self.slope_per_day * (day - self.origin).days


def _mean(values: Iterable[int | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.fmean(vals) if vals else None


def local_day(record: SessionRecord) -> date:
    return record.started.date()


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly(records: Sequence[SessionRecord], fill: bool = False) -> list[WeekStats]:
    """Calendar weeks with sessions, oldest first (``fill`` adds empty weeks in the gaps)."""
    groups: dict[date, list[SessionRecord]] = {}
    for r in records:
        groups.setdefault(week_start(local_day(r)), []).append(r)
    if fill and groups:
        first, last = min(groups), max(groups)
        while first <= last:
            groups.setdefault(first, [])
            first += timedelta(days=7)
    return [
        WeekStats(
            start=w,
            sessions=len(rs),
            completed=sum(1 for r in rs if r.completed),
            minutes=sum(r.minutes for r in rs),
            pain_before=_mean(r.pain_before for r in rs),
            pain_after=_mean(r.pain_after for r in rs),
            rated=sum(1 for r in rs if r.pain_before is not None),
        )
        for w, rs in sorted(groups.items())
    ]


def daily(records: Sequence[SessionRecord]) -> list[DayStats]:
    groups: dict[date, list[SessionRecord]] = {}
    for r in records:
        groups.setdefault(local_day(r), []).append(r)
    return [
        DayStats(
            day=d,
            sessions=len(rs),
            minutes=sum(r.minutes for r in rs),
            pain_before=_mean(r.pain_before for r in rs),
            pain_after=_mean(r.pain_after for r in rs),
        )
        for d, rs in sorted(groups.items())
    ]


def trend(records: Sequence[SessionRecord]) -> Trend | None:
    """The fitted line through each session's "before" rating by day; None with under 3 ratings or one day."""
    rated = [(local_day(r), r.pain_before) for r in records if r.pain_before is not None]
    if len(rated) < 3:
        return None
    origin = min(d for d, _ in rated)
    xs = [(d - origin).days for d, _ in rated]
    if len(set(xs)) < 2:
        return None
    slope, intercept = statistics.linear_regression(xs, [float(v) for _, v in rated])
    return Trend(origin=origin, slope_per_day=slope, intercept=intercept, points=len(rated))


def _window(records: Sequence[SessionRecord], start: datetime, end: datetime) -> list[SessionRecord]:
    return [r for r in records if start < r.started <= end]


def _num(x: float) -> str:
    """Speakable number: 5, 4.5 (one decimal, no trailing .0)."""
    text = f"{round(x, 1):.1f}"
    return text[:-2] if text.endswith(".0") else text


def summary_sentence(records: Sequence[SessionRecord], now: datetime) -> str:
    """One sentence for "how am I doing?", e.g. "Your pain averaged 5 in the last 7 days, down from 6 in the 7 days before."."""
    if not records:
        return "There are no sessions in your history yet, so there is nothing to compare."
    this = _window(records, now - timedelta(days=7), now)
    last = _window(records, now - timedelta(days=14), now - timedelta(days=7))
    if not this:
        past = [r.started for r in records if r.started <= now]
        if not past:
            return "There are no sessions in your history yet, so there is nothing to compare."
        latest = max(past)
        return f"You had no sessions in the last 7 days; your last one was on {latest:%A}, {latest.day} {latest:%B}."
    avg_this = _mean(r.pain_before for r in this)
    avg_last = _mean(r.pain_before for r in last)
    minutes = round(sum(r.minutes for r in this))
    count = plural(len(this), "session")
    if avg_this is None:
        return f"You did {count} in the last 7 days, {minutes} minutes in all, with no pain ratings to compare yet."
    head = f"Your pain averaged {_num(avg_this)} in the last 7 days"
    if avg_last is None:
        return f"{head} over {count}; there are no ratings from the 7 days before to compare."
    a, b = round(avg_this, 1), round(avg_last, 1)
    if a < b:
        return f"{head}, down from {_num(avg_last)} in the 7 days before."
    if a > b:
        return f"{head}, up from {_num(avg_last)} in the 7 days before."
    return f"{head}, the same as in the 7 days before."


def advice_due(records: Sequence[SessionRecord], now: datetime) -> bool:
    """True when about four weeks of regular sessions show ratings not improving, or getting worse.

    Regular: at least ``ADVICE_MIN_RATED`` rated sessions in the last 28 days, in at least
    ``ADVICE_MIN_WEEKS`` of its four weeks. The change is the least-squares line's rise over the
    window, so one good or bad day does not decide it. Flat pain only counts when it is not mild.
    """
    start = now - ADVICE_WINDOW
    rated = [r for r in _window(records, start, now) if r.pain_before is not None]
    if len(rated) < ADVICE_MIN_RATED:
        return False
    if len({int((now - r.started) / timedelta(days=7)) for r in rated}) < ADVICE_MIN_WEEKS:
        return False
    xs = [(r.started - start) / timedelta(days=1) for r in rated]
    ys = [float(r.pain_before) for r in rated]  # type: ignore[arg-type]
    if len(set(xs)) < 2:
        return False
    slope, _ = statistics.linear_regression(xs, ys)
    change = slope * ADVICE_WINDOW.days
    if change >= ADVICE_WORSE:
        return True
    return change > -ADVICE_MIN_IMPROVEMENT and statistics.fmean(ys) >= ADVICE_FLAT_FLOOR


# ---- the report's words for the numbers (a reader should not need to know that plus is worse) ---

TREND_LEVEL = 0.1  # points per week; a fitted slope smaller than this is "about level"
COURSE_TURN = 1.0  # a weekly average this far below (above) both ends is a turn worth saying


def trend_words(t: Trend | None) -> str | None:
    """"pain rising 0.27 points a week (worse)"; None without a trend."""
    if t is None:
        return None
    step = abs(t.per_week)
    if step < TREND_LEVEL:
        return f"pain about level ({t.per_week:+.2f} points a week)"
    if t.per_week > 0:
        return f"pain rising {step:.2f} points a week (higher is worse)"
    return f"pain falling {step:.2f} points a week (lower is better)"


def course_sentence(weeks: Sequence[WeekStats]) -> str | None:
    """Say a turn that one straight line would hide: better then worse, or worse then better.

    Uses the weekly averages of the "before" ratings; a turn is a week at least ``COURSE_TURN``
    below (or above) both the first and the latest rated week.
    """
    rated = [w for w in weeks if w.pain_before is not None]
    if len(rated) < 3:
        return None
    first, last = rated[0], rated[-1]
    inner = rated[1:-1]
    best = min(inner, key=lambda w: w.pain_before)
    worst = max(inner, key=lambda w: w.pain_before)
    if first.pain_before - best.pain_before >= COURSE_TURN and last.pain_before - best.pain_before >= COURSE_TURN:
        return (f"Better, then worse: the weekly average fell from {first.pain_before:.1f} to "
                f"{best.pain_before:.1f} (week of {best.start.day} {best.start:%b}), then rose to "
                f"{last.pain_before:.1f} in the latest week.")
    if worst.pain_before - first.pain_before >= COURSE_TURN and worst.pain_before - last.pain_before >= COURSE_TURN:
        return (f"Worse, then better: the weekly average rose from {first.pain_before:.1f} to "
                f"{worst.pain_before:.1f} (week of {worst.start.day} {worst.start:%b}), then fell to "
                f"{last.pain_before:.1f} in the latest week.")
    return None
