"""One-off timers and reminders asked for by voice, in the same job store as the daily sessions.

A timer ("ice timer 15 minutes") and a reminder ("remind me to ice in 30 minutes") are DateTrigger
jobs with a payload like every other entry, so they survive a restart of ``serve`` and show in
``voice-coach schedule list``. Their end time is stored in UTC (APScheduler's next run time) and
the start in the payload, which is what the ice rules need after a restart: ice at most
:data:`ICE_MAX_MINUTES` at a time and rounds at least :data:`ICE_MIN_SPACING` apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.date import DateTrigger

from voice_coach.schedule.jobs import REMIND_REF
from voice_coach.schedule.parse import minutes_words
from voice_coach.schedule.plans import ICE_MAX_MINUTES, ICE_MIN_SPACING, IntervalPlan
from voice_coach.schedule.store import ROUND_GRACE_S, SESSION_GRACE_S, _new_id

KINDS = ("timer", "reminder")


@dataclass(frozen=True)
class Timer:
    id: str
    kind: str  # timer | reminder
    what: str  # "ice", "rolling", ... or "" for a plain timer
    seconds: float  # as asked (before any time scale)
    started: datetime
    due: datetime

    @classmethod
    def of_job(cls, job) -> Timer:
        p = job.kwargs
        return cls(job.id, p["kind"], p.get("what", ""), float(p.get("seconds", 0)),
                   datetime.fromisoformat(p["started"]), job.next_run_time)


def add(scheduler: BaseScheduler, kind: str, what: str, seconds: float, *, now: datetime | None = None,
        time_scale: float = 1.0, tz: str = "UTC") -> Timer:
    """Store a timer or reminder due ``seconds`` (times ``time_scale``) from ``now``."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    now = now or datetime.now(timezone.utc)
    due = now + timedelta(seconds=seconds * time_scale)
    label = f"{what} {kind}".strip() if kind == "timer" else f"reminder to {what}"
    payload = {"kind": kind, "what": what, "seconds": seconds, "started": now.isoformat(), "tz": tz,
               "routine": None, "when": f"{label}, {minutes_words(seconds / 60)} from {now:%H:%M}"}
    grace = ROUND_GRACE_S if kind == "timer" else SESSION_GRACE_S
    job = scheduler.add_job(REMIND_REF, DateTrigger(run_date=due), id=_new_id(kind), kwargs=payload,
                            name=label, misfire_grace_time=grace)
    return Timer.of_job(scheduler.get_job(job.id))


def pending(scheduler: BaseScheduler, kind: str | None = None) -> list[Timer]:
    """The timers and reminders still to come, soonest first."""
    jobs = [j for j in scheduler.get_jobs() if j.kwargs.get("kind") in KINDS and j.next_run_time is not None]
    out = [Timer.of_job(j) for j in jobs if kind is None or j.kwargs["kind"] == kind]
    return sorted(out, key=lambda t: t.due)


def ice_problem(start: datetime, seconds: float, *, other_starts: list[datetime], plans: list[IntervalPlan],
                spacing: timedelta = ICE_MIN_SPACING) -> str | None:
    """Why ice starting at ``start`` for ``seconds`` breaks a care rule (spoken), or None if it is fine."""
    if seconds > ICE_MAX_MINUTES * 60:
        return (f"Ice for at most {minutes_words(ICE_MAX_MINUTES)} at a time; longer cold can harm the skin "
                "and nerves.")
    starts = list(other_starts) + [r for p in plans for r in p.rounds()]
    for other in starts:
        apart = abs(start - other)
        if apart < spacing:
            when = "after" if start >= other else "before"
            gap = minutes_words(apart.total_seconds() / 60) if apart >= timedelta(minutes=1) else "moments"
            return (f"That is only {gap} {when} another time with ice. "
                    f"Ice at most about once an hour, so the skin can warm up in between.")
    return None
